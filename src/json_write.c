/* Writing JSON that is always valid, whatever bytes the jobs wrote: every
 * JSON file corun writes (report, events, trace) goes through here. */
#include "internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

void corun_json_string(FILE *f, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  putc('"', f);
  size_t i = 0;
  while (i < n) {
    /* Copy the longest run that needs no escaping in one call. */
    size_t j = i;
    while (j < n && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
      j++;
    if (j > i) {
      fwrite(s + i, 1, j - i, f);
      i = j;
      continue;
    }
    unsigned c = s[i];
    if (c >= 0x80) {
      size_t k = corun__utf8_len(s + i, n - i);
      if (k == 0) {
        fputs("\xEF\xBF\xBD", f); /* U+FFFD */
        i++;
      } else {
        fwrite(s + i, 1, k, f);
        i += k;
      }
      continue;
    }
    switch (c) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    case '\b': fputs("\\b", f); break;
    case '\f': fputs("\\f", f); break;
    default: fprintf(f, "\\u%04x", c); break;
    }
    i++;
  }
  putc('"', f);
}

void corun__json_cstr(FILE *f, const char *s) {
  if (s == NULL)
    fputs("null", f);
  else
    corun_json_string(f, s, strlen(s));
}

void corun__json_time(FILE *f, double t) {
  if (t <= 0) {
    fputs("null", f);
    return;
  }
  time_t sec = (time_t)t;
  int ms = (int)((t - (double)sec) * 1000.0);
  if (ms > 999)
    ms = 999;
  struct tm tm;
  gmtime_r(&sec, &tm);
  fprintf(f, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void corun__json_num(FILE *f, double v) {
  if (!isfinite(v))
    v = 0;
  fprintf(f, "%.3f", v);
}
