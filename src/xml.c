/* Writing XML text that every parser accepts, whatever bytes the jobs
 * wrote: JUnit and the SVG timeline go through here. XML 1.0 holds only
 * tab, newline, carriage return and the characters from U+0020 on, less
 * the surrogates and U+FFFE/U+FFFF; anything else, and every byte that is
 * not well-formed UTF-8, is written as U+FFFD. */
#include "internal.h"

#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

void corun__xml_text(FILE *f, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    /* Copy the longest run that needs nothing done in one call. */
    size_t j = i;
    while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '<' &&
           s[j] != '>' && s[j] != '&' && s[j] != '"' && s[j] != '\'')
      j++;
    if (j > i) {
      fwrite(s + i, 1, j - i, f);
      i = j;
      continue;
    }
    unsigned c = s[i];
    if (c >= 0x80) {
      size_t k = corun__utf8_len(s + i, n - i);
      unsigned cp = k ? corun__utf8_decode(s + i, k) : 0;
      if (k == 0 || cp == 0xFFFE || cp == 0xFFFF) {
        fputs(REPLACEMENT, f);
        i += k ? k : 1;
      } else {
        fwrite(s + i, 1, k, f);
        i += k;
      }
      continue;
    }
    switch (c) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    case '\n': case '\t': putc((int)c, f); break;
    /* A parser would turn a bare CR into a newline. */
    case '\r': fputs("&#13;", f); break;
    default: fputs(REPLACEMENT, f); break;
    }
    i++;
  }
}

void corun__xml_cstr(FILE *f, const char *s) { corun__xml_text(f, s, strlen(s)); }
