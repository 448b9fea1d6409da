/* Writing XML text that every parser accepts, whatever bytes the jobs
 * wrote: JUnit and the SVG timeline go through here. XML 1.0 holds only
 * tab, newline, carriage return and the characters from U+0020 on, less
 * the surrogates and U+FFFE/U+FFFF; anything else, and every byte that is
 * not well-formed UTF-8, is written as U+FFFD. */
#include "internal.h"

#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Printable ASCII but the five characters markup gives a meaning to. */
static const unsigned char plain[128] = {
    [' '] = 1, ['!'] = 1, ['#' ... '%'] = 1, ['(' ... ';'] = 1, ['='] = 1,
    ['?' ... '~'] = 1, [0x7f] = 1,
};

static void escape(FILE *f, long cp, const unsigned char *p, size_t len) {
  switch (cp) {
  case '<': fputs("&lt;", f); return;
  case '>': fputs("&gt;", f); return;
  case '&': fputs("&amp;", f); return;
  case '"': fputs("&quot;", f); return;
  case '\'': fputs("&apos;", f); return;
  case '\n': case '\t': putc((int)cp, f); return;
  /* A parser would turn a bare CR into a newline. */
  case '\r': fputs("&#13;", f); return;
  default: break;
  }
  if (cp >= 0x80 && cp != 0xFFFE && cp != 0xFFFF)
    fwrite(p, 1, len, f);
  else
    fputs(REPLACEMENT, f); /* not UTF-8, a control byte, U+FFFE/U+FFFF */
}

void corun__xml_text(FILE *f, const char *s, size_t n) {
  corun__utf8_write(f, s, n, plain, escape);
}

void corun__xml_cstr(FILE *f, const char *s) { corun__xml_text(f, s, strlen(s)); }
