/* The JSON report of a run (SPEC §5), and the JSON string writer that
 * keeps every file corun writes valid JSON whatever bytes jobs wrote. */
#include "internal.h"

#include <math.h>
#include <signal.h>
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

static void json_cstr(FILE *f, const char *s) {
  if (s == NULL)
    fputs("null", f);
  else
    corun_json_string(f, s, strlen(s));
}

/* ISO 8601 UTC with milliseconds. */
static void json_time(FILE *f, double t) {
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

const char *corun_signal_name(int sig) {
  static const struct { int sig; const char *name; } names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
      {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
      {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
      {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
      {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
      {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
      {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
      {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},   {SIGSYS, "SIGSYS"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig)
      return names[i].name;
  return NULL;
}

static void json_num(FILE *f, double v) {
  if (!isfinite(v))
    v = 0;
  fprintf(f, "%.3f", v);
}

int corun_run_write_report(const corun_run_t *run, FILE *f, int exit_code) {
  const corun_plan_t *plan = corun_run_plan(run);
  size_t n = corun_plan_job_count(plan);
  size_t counts[7] = {0};
  for (size_t i = 0; i < n; i++)
    if (corun_plan_job_selected(plan, i))
      counts[corun_run_result(run, i)->status]++;
  int code = exit_code >= 0 ? exit_code : corun_run_exit_code(run);
  const char *status = !corun_run_ended(run)      ? "running"
                       : corun_run_cancelled(run) ? "cancelled"
                       : code == 0                ? "ok"
                                                  : "failed";
  fprintf(f, "{\"corun\":1,\"status\":\"%s\",\"exit_code\":%d,\"started_at\":",
          status, code < 0 ? 1 : code);
  json_time(f, corun_run_started_at(run));
  fputs(",\"duration_s\":", f);
  json_num(f, corun_run_duration(run));
  fprintf(f,
          ",\"counts\":{\"ok\":%zu,\"failed\":%zu,\"timeout\":%zu,"
          "\"cancelled\":%zu,\"skipped\":%zu,\"error\":%zu},\"jobs\":[",
          counts[CORUN_OK], counts[CORUN_FAILED], counts[CORUN_TIMEOUT],
          counts[CORUN_CANCELLED], counts[CORUN_SKIPPED], counts[CORUN_ERROR]);
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (!corun_plan_job_selected(plan, i))
      continue;
    const corun_result_t *r = corun_run_result(run, i);
    fputs(first ? "\n  {\"name\":" : ",\n  {\"name\":", f);
    first = false;
    json_cstr(f, r->name);
    fprintf(f, ",\"status\":\"%s\",\"exit_code\":", corun_status_name(r->status));
    if (r->exit_code >= 0)
      fprintf(f, "%d", r->exit_code);
    else
      fputs("null", f);
    fputs(",\"signal\":", f);
    json_cstr(f, r->signal ? corun_signal_name(r->signal) : NULL);
    fprintf(f, ",\"attempts\":%u,\"started_at\":", r->attempts);
    json_time(f, r->attempts ? r->started_at : 0);
    fputs(",\"duration_s\":", f);
    json_num(f, r->duration_s);
    fputs(",\"pid\":", f);
    if (r->pid > 0)
      fprintf(f, "%ld", r->pid);
    else
      fputs("null", f);
    fputs(",\"stdout\":", f);
    corun_json_string(f, r->out_tail ? r->out_tail : "", r->out_len);
    fputs(",\"stderr\":", f);
    corun_json_string(f, r->err_tail ? r->err_tail : "", r->err_len);
    fprintf(f, ",\"stdout_truncated\":%s,\"stderr_truncated\":%s,\"error\":",
            r->out_truncated ? "true" : "false",
            r->err_truncated ? "true" : "false");
    json_cstr(f, r->error);
    fputs(",\"reason\":", f);
    json_cstr(f, r->reason);
    fputs(",\"log_error\":", f);
    json_cstr(f, r->log_error ? strerror(r->log_error) : NULL);
    fputc('}', f);
  }
  fputs(first ? "]}\n" : "\n]}\n", f);
  fflush(f);
  return ferror(f) ? CORUN_EIO : 0;
}
