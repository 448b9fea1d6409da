/* The summary at the end of a run, on stderr: which jobs did not succeed,
 * with the last lines of each one's stderr, logs that are incomplete, the
 * slowest jobs of a run that took more than a few seconds, and one line
 * that counts every status. Off a terminal it is printed only when
 * something did not succeed, and never in colour unless --color always. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Runs at least this long name their slowest jobs. */
#define SLOW_RUN_S 3.0
#define SLOWEST 3
#define TAIL_LINES 5

#define C_RESET "\x1b[0m"
#define C_BOLD "\x1b[1m"
#define C_RED "\x1b[31m"
#define C_GREEN "\x1b[32m"
#define C_YELLOW "\x1b[33m"

/* A job the summary lists: it failed, timed out, could not start or was
 * cancelled, and was not allowed to fail (a cancel always counts). */
static bool did_not_succeed(const cli_t *c, size_t i) {
  corun_status_t st = corun_run_result(c->run, i)->status;
  return st != CORUN_OK && st != CORUN_SKIPPED &&
         !(corun_plan_job(c->plan, i)->allow_failure && st != CORUN_CANCELLED);
}

static const char *status_color(corun_status_t st) {
  switch (st) {
  case CORUN_OK: return C_GREEN;
  case CORUN_FAILED: case CORUN_ERROR: return C_RED;
  case CORUN_TIMEOUT: case CORUN_CANCELLED: return C_YELLOW;
  default: return "";
  }
}

static void put_status(const cli_t *c, FILE *f, corun_status_t st) {
  if (c->color_err)
    fprintf(f, "%s%s%s", status_color(st), corun_status_name(st), C_RESET);
  else
    fputs(corun_status_name(st), f);
}

/* "2.5s", "1m05s", "1h02m". */
static void put_secs(FILE *f, double s) {
  if (s < 60)
    fprintf(f, "%.1fs", s);
  else if (s < 3600)
    fprintf(f, "%dm%02ds", (int)s / 60, (int)s % 60);
  else
    fprintf(f, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

/* The last few lines of a job's stderr, each under "    | ". */
static void put_tail(FILE *f, const corun_result_t *r) {
  const char *t = r->err_tail;
  size_t len = r->err_len;
  while (len > 0 && t[len - 1] == '\n')
    len--;
  size_t start = len, lines = 0;
  while (start > 0 && lines < TAIL_LINES) {
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

static void put_failures(const cli_t *c, FILE *f, size_t bad) {
  fprintf(f, "corun: %zu job%s did not succeed:\n", bad, bad == 1 ? "" : "s");
  for (size_t i = 0, n = corun_plan_job_count(c->plan); i < n; i++) {
    if (!corun_run_selected(c->run, i) || !did_not_succeed(c, i))
      continue;
    const corun_result_t *r = corun_run_result(c->run, i);
    fprintf(f, "  %s: ", r->name);
    put_status(c, f, r->status);
    if (r->status == CORUN_ERROR && r->error)
      fprintf(f, " (%s)", r->error);
    else if (r->signal)
      fprintf(f, " (%s)", corun_signal_name(r->signal) ? corun_signal_name(r->signal) : "signal");
    else if (r->exit_code > 0)
      fprintf(f, " (exit %d)", r->exit_code);
    fputc('\n', f);
    put_tail(f, r);
  }
}

/* "corun: slowest: compile 4.1s, test 3.0s, fetch 1.2s", from the jobs
 * that ran, when at least two did. */
static void put_slowest(const cli_t *c, FILE *f) {
  size_t top[SLOWEST], k = 0, ran = 0;
  for (size_t i = 0, n = corun_plan_job_count(c->plan); i < n; i++) {
    const corun_result_t *r = corun_run_result(c->run, i);
    if (!corun_run_selected(c->run, i) || r->attempts == 0 ||
        r->status == CORUN_SKIPPED || r->status == CORUN_ERROR)
      continue;
    ran++;
    /* Insert into the top list, longest first; ties keep file order. */
    size_t at = k;
    while (at > 0 && corun_run_result(c->run, top[at - 1])->duration_s < r->duration_s)
      at--;
    if (at >= SLOWEST)
      continue;
    if (k < SLOWEST)
      k++;
    memmove(top + at + 1, top + at, (k - 1 - at) * sizeof *top);
    top[at] = i;
  }
  if (ran < 2)
    return;
  fputs("corun: slowest: ", f);
  for (size_t j = 0; j < k; j++) {
    const corun_result_t *r = corun_run_result(c->run, top[j]);
    fprintf(f, "%s%s ", j ? ", " : "", r->name);
    put_secs(f, r->duration_s);
  }
  fputc('\n', f);
}

/* "corun: 6 ok, 1 failed (allowed), 1 timeout (allowed), 1 skipped in
 * 2.3s": the statuses that occurred, how many of the failures were allowed,
 * and how the run ended when not well. */
static void put_counts(const cli_t *c, FILE *f, int exit_code) {
  static const corun_status_t order[] = {CORUN_OK, CORUN_FAILED, CORUN_TIMEOUT,
                                         CORUN_ERROR, CORUN_CANCELLED, CORUN_SKIPPED};
  size_t counts[7] = {0}, allowed[7] = {0}, total = 0;
  for (size_t i = 0, n = corun_plan_job_count(c->plan); i < n; i++) {
    if (!corun_run_selected(c->run, i))
      continue;
    corun_status_t st = corun_run_result(c->run, i)->status;
    counts[st]++;
    total++;
    if (st != CORUN_OK && st != CORUN_SKIPPED && !did_not_succeed(c, i))
      allowed[st]++;
  }
  fputs("corun: ", f);
  bool any = false;
  for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
    corun_status_t st = order[k];
    if (counts[st] == 0)
      continue;
    fprintf(f, "%s%zu ", any ? ", " : "", counts[st]);
    put_status(c, f, st);
    if (allowed[st] == counts[st])
      fputs(" (allowed)", f);
    else if (allowed[st] > 0)
      fprintf(f, " (%zu allowed)", allowed[st]);
    any = true;
  }
  if (total == 0)
    fputs("no jobs", f);
  fputs(" in ", f);
  put_secs(f, corun_run_duration(c->run));
  if (exit_code > 128 && exit_code < 128 + 65 && corun_signal_name(exit_code - 128))
    fprintf(f, " (stopped by %s)", corun_signal_name(exit_code - 128));
  else if (exit_code != 0)
    fprintf(f, " (%srun failed%s)", c->color_err ? C_BOLD C_RED : "",
            c->color_err ? C_RESET : "");
  fputc('\n', f);
}

void cli_summary(const cli_t *c, int exit_code) {
  size_t bad = 0;
  for (size_t i = 0, n = corun_plan_job_count(c->plan); i < n; i++)
    bad += corun_run_selected(c->run, i) && did_not_succeed(c, i);
  FILE *f = stderr;
  if (bad > 0)
    put_failures(c, f, bad);
  for (size_t i = 0, n = corun_plan_job_count(c->plan); i < n; i++) {
    const corun_result_t *r = corun_run_result(c->run, i);
    if (corun_run_selected(c->run, i) && r->log_error)
      fprintf(f, "corun: --log-dir: the log of %s is incomplete: %s\n", r->name,
              strerror(r->log_error));
  }
  /* Off a terminal a run that went well says nothing. */
  if (bad == 0 && !c->err_tty)
    return;
  if (corun_run_duration(c->run) >= SLOW_RUN_S)
    put_slowest(c, f);
  put_counts(c, f, exit_code);
}
