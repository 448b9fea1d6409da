/* The one UTF-8 validator: the loader checks job files with it, and every
 * writer (JSON, XML) replaces what it rejects with U+FFFD. */
#include "internal.h"

#include <stdio.h>

size_t corun__utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4, min = 0x10000;
  else
    return 0; /* a continuation byte, C0/C1 (overlong), or F5..FF */
  if (n < len)
    return 0;
  unsigned cp = c & (0xFFu >> (len + 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

unsigned corun__utf8_decode(const unsigned char *s, size_t len) {
  if (len == 1)
    return s[0];
  unsigned cp = s[0] & (0xFFu >> (len + 1));
  for (size_t i = 1; i < len; i++)
    cp = (cp << 6) | (s[i] & 0x3F);
  return cp;
}

size_t corun__utf8_check(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = corun__utf8_len(s + i, len - i);
    if (k == 0)
      return i;
    i += k;
  }
  return len;
}

void corun__utf8_write(FILE *f, const char *str, size_t n,
                       const unsigned char plain[128], corun__escape_fn esc) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    /* Copy the longest run that needs nothing done in one call. */
    size_t j = i;
    while (j < n && s[j] < 0x80 && plain[s[j]])
      j++;
    if (j > i) {
      fwrite(s + i, 1, j - i, f);
      i = j;
      continue;
    }
    size_t k = s[i] < 0x80 ? 1 : corun__utf8_len(s + i, n - i);
    long cp = k == 0 ? -1 : (long)corun__utf8_decode(s + i, k);
    esc(f, cp, s + i, k);
    i += k ? k : 1;
  }
}
