/* Writing JSON that is always valid, whatever bytes the jobs wrote: every
 * JSON file corun writes (report, events, trace) goes through here. */
#include "internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* Printable ASCII but the quote and the backslash. */
static const unsigned char plain[128] = {
    [' ' ... '!'] = 1, ['#' ... '['] = 1, [']' ... '~'] = 1, [0x7f] = 1,
};

static void escape(FILE *f, long cp, const unsigned char *p, size_t len) {
  switch (cp) {
  case '"': fputs("\\\"", f); return;
  case '\\': fputs("\\\\", f); return;
  case '\n': fputs("\\n", f); return;
  case '\r': fputs("\\r", f); return;
  case '\t': fputs("\\t", f); return;
  case '\b': fputs("\\b", f); return;
  case '\f': fputs("\\f", f); return;
  default: break;
  }
  if (cp < 0)
    fputs("\xEF\xBF\xBD", f); /* U+FFFD for a byte that is not UTF-8 */
  else if (cp < 0x20)
    fprintf(f, "\\u%04lx", cp);
  else
    fwrite(p, 1, len, f);
}

void corun_json_string(FILE *f, const char *s, size_t n) {
  putc('"', f);
  corun__utf8_write(f, s, n, plain, escape);
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

void corun__json_exit(FILE *f, const corun_result_t *r) {
  fputs("\"exit_code\":", f);
  if (r->exit_code >= 0)
    fprintf(f, "%d", r->exit_code);
  else
    fputs("null", f);
  fputs(",\"signal\":", f);
  corun__json_cstr(f, r->signal ? corun_signal_name(r->signal) : NULL);
}
