/* The one string hash (FNV-1a, 64 bits) behind every name table. */
#include "internal.h"

uint64_t corun__hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}
