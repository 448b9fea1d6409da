/*
 * The line splitter behind on_line and every line-based output. Whole
 * lines are handed on straight from the caller's buffer; only a partial
 * last line is copied, to be joined with the next chunk. The carry never
 * holds more than line_max bytes: a longer line is handed on in pieces of
 * line_max. One memchr per line, no allocation once the carry has grown.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int carry_add(corun__carry_t *c, const char *b, size_t n) {
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 256;
    while (cap < c->len + n)
      cap *= 2;
    char *nb = realloc(c->buf, cap);
    if (nb == NULL)
      return -1;
    c->buf = nb;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, b, n);
  c->len += n;
  return 0;
}

/* Hand on the carry; it is emptied first, as the callback may re-enter. */
static void emit_carry(corun__carry_t *c, corun__line_fn fn, void *ctx) {
  size_t len = c->len;
  c->len = 0;
  fn(ctx, c->buf, len);
}

void corun__lines_feed(corun__carry_t *c, size_t line_max, const char *b,
                       size_t n, corun__line_fn fn, void *ctx) {
  while (n > 0) {
    const char *nl = memchr(b, '\n', n);
    size_t k = nl ? (size_t)(nl - b) : n;
    if (c->len + k > line_max) {
      size_t take = line_max - c->len;
      if (c->len > 0) {
        if (carry_add(c, b, take) != 0)
          take = 0; /* out of memory: the carry goes out as it is */
        emit_carry(c, fn, ctx);
      } else {
        fn(ctx, b, take);
      }
      b += take;
      n -= take;
      continue;
    }
    if (nl == NULL) {
      if (carry_add(c, b, n) != 0)
        fn(ctx, b, n);
      return;
    }
    if (c->len > 0) {
      if (carry_add(c, b, k) != 0) {
        emit_carry(c, fn, ctx);
        fn(ctx, b, k);
      } else {
        emit_carry(c, fn, ctx);
      }
    } else {
      fn(ctx, b, k);
    }
    b += k + 1;
    n -= k + 1;
  }
}

void corun__lines_flush(corun__carry_t *c, corun__line_fn fn, void *ctx) {
  if (c->len > 0)
    emit_carry(c, fn, ctx);
}

void corun__carry_free(corun__carry_t *c) {
  free(c->buf);
  c->buf = NULL;
  c->len = c->cap = 0;
}
