/* libFuzzer target: the duration parser. What it accepts must be a
 * finite, non-negative number of seconds. */
#include "corun.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char buf[256];
  if (size >= sizeof buf)
    size = sizeof buf - 1;
  memcpy(buf, data, size);
  buf[size] = '\0';
  double s = -1;
  if (corun_duration_parse(buf, &s) == 0 && !(isfinite(s) && s >= 0))
    abort();
  return 0;
}
