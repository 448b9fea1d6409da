/* The one growable byte buffer: messages and JSON paths in the loader,
 * partial lines in the splitter, text built before it is written. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `n` more bytes and a NUL after them. */
static int reserve(corun__buf_t *b, size_t n) {
  if (b->failed)
    return UV_ENOMEM;
  if (b->len + n + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *g = realloc(b->data, cap);
  if (g == NULL) {
    b->failed = true;
    return UV_ENOMEM;
  }
  b->data = g;
  b->cap = cap;
  return 0;
}

int corun__buf_add(corun__buf_t *b, const void *p, size_t n) {
  if (reserve(b, n) != 0)
    return UV_ENOMEM;
  if (n > 0)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int corun__buf_str(corun__buf_t *b, const char *s) {
  return corun__buf_add(b, s, strlen(s));
}

int corun__buf_printf(corun__buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || reserve(b, (size_t)n) != 0)
    return UV_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void corun__buf_cut(corun__buf_t *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->data[len] = '\0';
  }
}

const char *corun__buf_cstr(const corun__buf_t *b) {
  return b->data != NULL && !b->failed ? b->data : "";
}

void corun__buf_free(corun__buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}
