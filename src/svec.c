/*
 * A vector whose elements never move: blocks of 64, 128, 256, ...
 * elements, so that a pointer to an element stays valid while the vector
 * grows. Jobs are kept this way (in the plan, the scheduler, the run and
 * the sinks) because an open run takes new jobs from inside callbacks
 * while pointers to earlier jobs are still held up the stack, and results
 * handed to the embedder must live as long as the run.
 */
#include "internal.h"

#include <stdlib.h>

int corun__svec_reserve(corun__svec_t *v, size_t n) {
  while (v->cap < n) {
    unsigned b = 0;
    while (b < CORUN__SVEC_BLOCKS && v->blocks[b] != NULL)
      b++;
    if (b == CORUN__SVEC_BLOCKS)
      return UV_ENOMEM;
    size_t len = (size_t)CORUN__SVEC_FIRST << b;
    v->blocks[b] = calloc(len, v->size);
    if (v->blocks[b] == NULL)
      return UV_ENOMEM;
    v->cap += len;
  }
  return 0;
}

void corun__svec_free(corun__svec_t *v) {
  for (unsigned b = 0; b < CORUN__SVEC_BLOCKS; b++) {
    free(v->blocks[b]);
    v->blocks[b] = NULL;
  }
  v->cap = 0;
}
