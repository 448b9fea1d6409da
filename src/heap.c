/* A min-heap of job indexes: the plan's topological order and the
 * scheduler's ready queues both keep job-file order with it. */
#include "internal.h"

void corun__heap_push(corun__heap_t *h, size_t v) {
  size_t i = h->n++;
  while (i > 0 && h->v[(i - 1) / 2] > v) {
    h->v[i] = h->v[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h->v[i] = v;
}

size_t corun__heap_pop(corun__heap_t *h) {
  size_t top = h->v[0], v = h->v[--h->n], i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && h->v[c + 1] < h->v[c])
      c++;
    if (h->v[c] >= v)
      break;
    h->v[i] = h->v[c];
    i = c;
  }
  h->v[i] = v;
  return top;
}
