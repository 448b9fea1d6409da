/* libFuzzer target: the line splitter. The input is cut into chunks at
 * places the input itself chooses; what comes out must be the input again:
 * every byte in order, newlines only where lines ended, no piece longer
 * than line_max. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  char *out;
  size_t len;
  size_t line_max;
} sink_t;

static void on_line(void *ctx, const char *line, size_t len) {
  sink_t *s = ctx;
  if (len > s->line_max || memchr(line, '\n', len) != NULL)
    abort();
  memcpy(s->out + s->len, line, len);
  s->len += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t line_max = 1 + data[0] % 64;
  unsigned step = 1 + data[1];
  data += 2;
  size -= 2;
  sink_t s = {malloc(size + 1), 0, line_max};
  corun__carry_t c = {0};
  for (size_t off = 0; off < size;) {
    size_t n = size - off < step ? size - off : step;
    corun__lines_feed(&c, line_max, (const char *)data + off, n, on_line, &s);
    off += n;
    step = 1 + (step * 31 + 7) % 97;
  }
  corun__lines_flush(&c, on_line, &s);
  /* The input less its newlines is exactly what came out. */
  size_t k = 0;
  for (size_t i = 0; i < size; i++)
    if (data[i] != '\n' && (k >= s.len || s.out[k++] != (char)data[i]))
      abort();
  if (k != s.len)
    abort();
  corun__carry_free(&c);
  free(s.out);
  return 0;
}
