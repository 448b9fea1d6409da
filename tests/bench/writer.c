/*
 * bench_writer — write BYTES bytes to stdout as fast as a loop of write(2)
 * calls can, so that output benchmarks are bound by the reader.
 *
 *   bench_writer BYTES [LINE]
 *
 * Without LINE the bytes are 'x' in 64 KiB writes. With LINE they are lines
 * of LINE bytes (LINE-1 printable characters and a newline), in writes of
 * whole lines just under 64 KiB; the last line may be cut short to make
 * exactly BYTES. Exits 0, or 1 when a write fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 16];

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: bench_writer BYTES [LINE]\n");
    return 2;
  }
  unsigned long long left = strtoull(argv[1], NULL, 10);
  size_t chunk = sizeof buf;
  if (argc == 3) {
    size_t line = (size_t)strtoul(argv[2], NULL, 10);
    if (line < 2 || line > sizeof buf) {
      fprintf(stderr, "bench_writer: LINE must be 2..%zu\n", sizeof buf);
      return 2;
    }
    chunk = sizeof buf / line * line;
    for (size_t i = 0; i < chunk; i++)
      buf[i] = (i % line == line - 1) ? '\n' : (char)('a' + (i % line) % 26);
  } else {
    memset(buf, 'x', sizeof buf);
  }
  size_t off = 0; /* where in buf the next write starts */
  while (left > 0) {
    size_t want = chunk - off;
    if (want > left)
      want = (size_t)left;
    ssize_t k = write(1, buf + off, want);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      perror("bench_writer: write");
      return 1;
    }
    left -= (unsigned long long)k;
    off = (off + (size_t)k) % chunk;
  }
  return 0;
}
