/* The summary at the end of a run: which jobs did not succeed, with the
 * last lines of each one's stderr, logs that are incomplete, and a count
 * of every status. */
#include "cli.h"

#include <string.h>

/* A job the summary lists: it failed, timed out, could not start or was
 * cancelled, and was not allowed to fail (a cancel always counts). */
static bool did_not_succeed(const cli_t *c, size_t i) {
  corun_status_t st = corun_run_result(c->run, i)->status;
  return st != CORUN_OK && st != CORUN_SKIPPED &&
         !(corun_plan_job(c->plan, i)->allow_failure && st != CORUN_CANCELLED);
}

void cli_summary(const cli_t *c, int exit_code) {
  size_t n = corun_plan_job_count(c->plan);
  size_t counts[7] = {0}, bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!corun_run_selected(c->run, i))
      continue;
    counts[corun_run_result(c->run, i)->status]++;
    bad += did_not_succeed(c, i);
  }
  FILE *f = stderr;
  if (bad > 0) {
    fprintf(f, "corun: %zu job%s did not succeed:\n", bad, bad == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
      if (!corun_run_selected(c->run, i) || !did_not_succeed(c, i))
        continue;
      const corun_result_t *r = corun_run_result(c->run, i);
      fprintf(f, "  %s: %s", r->name, corun_status_name(r->status));
      if (r->status == CORUN_ERROR && r->error)
        fprintf(f, " (%s)", r->error);
      else if (r->signal)
        fprintf(f, " (%s)", corun_signal_name(r->signal) ? corun_signal_name(r->signal) : "signal");
      else if (r->exit_code > 0)
        fprintf(f, " (exit %d)", r->exit_code);
      fputc('\n', f);
      /* The last few lines of its stderr. */
      const char *t = r->err_tail;
      size_t len = r->err_len;
      while (len > 0 && t[len - 1] == '\n')
        len--;
      size_t start = len, lines = 0;
      while (start > 0 && lines < 5) {
        start--;
        if (t[start] == '\n')
          lines++;
      }
      if (start > 0 || (len > 0 && t[0] == '\n'))
        start++;
      while (start < len) {
        const char *nl = memchr(t + start, '\n', len - start);
        size_t e = nl ? (size_t)(nl - t) : len;
        fprintf(f, "    | %.*s\n", (int)(e - start), t + start);
        start = e + 1;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    const corun_result_t *r = corun_run_result(c->run, i);
    if (corun_run_selected(c->run, i) && r->log_error)
      fprintf(f, "corun: --log-dir: the log of %s is incomplete: %s\n", r->name,
              strerror(r->log_error));
  }
  if (bad > 0 || c->progress)
    fprintf(f,
            "corun: %zu ok, %zu failed, %zu timeout, %zu cancelled, %zu skipped, "
            "%zu error in %.2fs%s\n",
            counts[CORUN_OK], counts[CORUN_FAILED], counts[CORUN_TIMEOUT],
            counts[CORUN_CANCELLED], counts[CORUN_SKIPPED], counts[CORUN_ERROR],
            corun_run_duration(c->run), exit_code == 0 ? "" : " (run failed)");
}
