/*
 * Runs, halts and retries (SPEC §3): halting soon or now, on failures or
 * on a success, allowed failures that do not count, errors that do, retry
 * waits ended by a halt; retries with their delays and backoff, exhausted
 * retries, a last attempt that cannot start, results read during a retry.
 *
 * The harness (a loop and watchdog per test, the recorder of callbacks,
 * the check that no job's process is left) is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- halting (SPEC §3) ------------------------------------------------------ */

static void test_run_halt_soon_lets_running_jobs_finish(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 0.6 out done");
  size_t c = add(t, d, "out c");
  size_t e = add(t, d, "out e");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.halt = "soon,fail=1";
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "soon,fail=1");
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "done\n");
  assert_true(res(r, b)->duration_s >= 0.59);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  size_t halt = 0;
  for (size_t i = 0; i < r->n_ev; i++)
    if (r->ev[i].kind == EV_HALT)
      halt = i;
  assert_true(halt > ev_find(r, EV_END, a));
  assert_true(halt < ev_find(r, EV_END, b));
  t_finish(t);

  /* fail-fast is soon,fail=1, and a plan's own halt is used. */
  t = t_new();
  corun_error_t err = {0};
  assert_int_equal(corun_plan_set_halt(t->plan, "fail-fast", &err), 0);
  assert_int_equal(corun_plan_set_max_parallel(t->plan, 1), 0);
  a = add(t, d, "exit 2");
  b = add(t, d, "out b");
  seal(t);
  r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_SKIPPED);
  t_finish(t);
}

static void test_run_halt_now_stops_running_jobs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 30");
  d.kill_grace_s = 0.3;
  size_t c = add(t, d, "ignterm sleep 30");
  d.kill_grace_s = 0;
  size_t e = add(t, d, "out e");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "now,fail=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_true(took < 3.0);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "now,fail=1");
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_int_equal(res(r, c)->signal, SIGKILL);
  assert_true(res(r, c)->duration_s >= 0.1 + 0.3 - 0.02);
  assert_status(res(r, e), CORUN_SKIPPED);
  t_finish(t);
}

static void test_run_halt_now_success_first_to_succeed_wins(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t b = add(t, d, "sleep 2 out slow1");
  size_t a = add(t, d, "sleep 0.2 out winner");
  size_t c = add(t, d, "sleep 2 out slow2");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "now,success=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_true(took < 1.5);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(corun_run_exit_code(r->run), 0);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "now,success=1");
  assert_status(res(r, a), CORUN_OK);
  assert_out(res(r, a), "winner\n");
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  t_finish(t);

  /* soon,success=1: the rest is skipped, running jobs finish. */
  t = t_new();
  a = add(t, d, "out first");
  b = add(t, d, "out second");
  seal(t);
  o.jobs = 1;
  o.halt = "soon,success=1";
  r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_SKIPPED);
  t_finish(t);
}

/* ---- retries ------------------------------------------------------------- */

static void test_run_retry_succeeds_on_third_attempt(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 4;
  d.retry_delay_s = 0.1;
  d.retry_backoff = 1;
  size_t a = add_sh(t, d,
                    "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); "
                    "echo $n > count; echo attempt $n; echo e$n >&2; "
                    "[ \"$n\" -ge 3 ]");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  assert_int_equal(r->exit_code, 0);
  assert_status(x, CORUN_OK);
  assert_int_equal(x->attempts, 3);
  assert_int_equal(r->starts[a], 3);
  assert_int_equal(r->retries[a], 2);
  assert_int_equal(r->job_ends[a], 1);
  /* The result is the last attempt's. */
  assert_out(x, "attempt 3\n");
  assert_err(x, "e3\n");
  assert_int_equal(x->pid, r->pids[a][2]);
  assert_true(r->pids[a][0] != r->pids[a][2]);
  double delays[2];
  int k = 0;
  size_t first_start = ev_find(r, EV_START, a);
  for (size_t i = 0; i < r->n_ev; i++) {
    const ev_t *e = &r->ev[i];
    if (e->kind != EV_RETRY)
      continue;
    assert_int_equal(e->status, CORUN_FAILED);
    assert_int_equal(e->attempt, (unsigned)k + 2);
    delays[k++] = e->delay;
  }
  assert_int_equal(k, 2);
  assert_true(delays[0] > 0.099 && delays[0] < 0.101);
  assert_true(delays[1] > 0.199 && delays[1] < 0.201);
  double span = r->ev[ev_find(r, EV_END, a)].t - r->ev[first_start].t;
  print_message("  three attempts took %.3f s\n", span);
  assert_true(span >= 0.3);
  assert_true(span < 3.0);
  t_finish(t);
}

static void test_run_retries_exhausted(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 2;
  size_t a = add(t, d, "out try exit 4");
  d.retries = 1;
  d.timeout_s = 0.1;
  size_t b = add(t, d, "sleep 5");
  d.retries = 0;
  d.timeout_s = 0;
  const char *need[] = {"job-1", NULL};
  d.needs = need;
  size_t c = add(t, d, "out never");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->attempts, 3);
  assert_int_equal(res(r, a)->exit_code, 4);
  assert_out(res(r, a), "try\n");
  assert_int_equal(r->retries[a], 2);
  assert_int_equal(r->starts[a], 3);
  assert_status(res(r, b), CORUN_TIMEOUT);
  assert_int_equal(res(r, b)->attempts, 2);
  assert_int_equal(r->retries[b], 1);
  assert_int_equal(r->ev[ev_find(r, EV_RETRY, b)].status, CORUN_TIMEOUT);
  assert_status(res(r, c), CORUN_SKIPPED);
  t_finish(t);
}

/* ---- halts and retries together ------------------------------------------ */

static void test_run_allowed_failures_do_not_halt_or_fail(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.allow_failure = 1;
  size_t a = add(t, d, "exit 1");
  d.timeout_s = 0.1;
  size_t b = add(t, d, "sleep 5");
  d.allow_failure = 0;
  d.timeout_s = 0;
  size_t c = add(t, d, "sleep 0.4 out c");
  seal(t);
  corun_run_options_t o = {0};
  o.halt = "now,fail=1";
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->halts, 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_TIMEOUT);
  assert_status(res(r, c), CORUN_OK);
  assert_int_equal(r->exit_code, 0);
  t_finish(t);
}

static void test_run_halt_counts_errors_and_ends_retry_waits(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 2;
  d.retry_delay_s = 1.0;
  size_t a = add(t, d, "exit 1");
  d.retries = 0;
  d.retry_delay_s = 0;
  size_t b = add(t, d, "sleep 0.2 exit 2");
  size_t c = add(t, d, "sleep 0.5 out c");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "soon,fail=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 0.95);
  assert_int_equal(r->halts, 1);
  /* a waited for its retry: no new attempt after the halt. */
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->attempts, 1);
  assert_int_equal(r->starts[a], 1);
  assert_status(res(r, b), CORUN_FAILED);
  assert_status(res(r, c), CORUN_OK);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);

  if (under_valgrind())
    return;
  /* A job that cannot start is a failure for the halt too. */
  t = t_new();
  const char *nocmd[] = {"corun-no-such-command-zz9", NULL};
  d.argv = nocmd;
  a = add(t, d, NULL);
  d.argv = NULL;
  b = add(t, d, "out never");
  seal(t);
  o.jobs = 1;
  r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_ERROR);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

/*
 * A result is borrowed from the run and valid until corun_run_free(): what
 * it says it holds must be readable at any time, also while a later
 * attempt of the job runs (then it is empty or an earlier attempt's).
 */
static void read_result_during_retry(rec_t *r, size_t job, corun_stream_t st,
                                     const char *buf, size_t len) {
  (void)st;
  (void)buf;
  (void)len;
  if (r->starts[job] < 2)
    return;
  const corun_result_t *x = corun_run_result(r->run, job);
  r->user[0]++;
  if (x->out_len == 0)
    return;
  if (x->out_tail == NULL) {
    r->user[1]++;
    return;
  }
  /* Earlier attempt: "first\n"; this one: the test program's pattern. */
  int first = x->out_len == 6 && memcmp(x->out_tail, "first\n", 6) == 0;
  int now = pattern_check(x->out_tail, x->out_len, 0) == UINT64_MAX;
  if (!first && !now)
    r->user[1]++;
}

static void test_run_result_stays_readable_during_a_retry(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 1;
  add_sh(t, d, fmt(t, "if [ -e flag ]; then exec %s bytes 300000; "
                      "else touch flag; echo first; exit 1; fi",
                   tu_helper()));
  seal(t);
  rec_t *r = rec_new(t);
  r->output_hook = read_result_during_retry;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(res(r, 0)->attempts, 2);
  assert_true(r->user[0] > 0);
  assert_int_equal(res(r, 0)->out_len, 64 * 1024);
  assert_true(pattern_check(res(r, 0)->out_tail, 64 * 1024,
                            300000 - 64 * 1024) == UINT64_MAX);
  long bad = r->user[1];
  if (bad > 0)
    print_message("  %ld reads of the result during the second attempt "
                  "found freed memory\n", bad);
  t_finish(t);
  assert_int_equal(bad, 0);
}

/* The report keeps the last attempt: one that could not start has no
 * output, whatever the attempt before it wrote. */
static void test_run_last_attempt_that_cannot_start_keeps_no_output(void **state) {
  (void)state;
  if (under_valgrind())
    skip();
  tctx_t *t = t_new();
  char *sub = NULL;
  assert_true(asprintf(&sub, "%s/sub", t->dir) > 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  free(sub);
  corun_job_desc_t d = {0};
  d.cwd = "sub";
  d.retries = 2;
  /* The first attempt removes its own folder, so the next cannot start. */
  size_t a = add_sh(t, d, "echo first; echo e-first >&2; cd .. && rmdir sub; exit 1");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  assert_status(x, CORUN_ERROR);
  assert_int_equal(x->attempts, 2);
  assert_int_equal(r->starts[a], 1);
  assert_int_equal(r->retries[a], 1);
  assert_non_null(x->error);
  assert_non_null(strstr(x->error, "sub"));
  assert_int_equal(x->pid, 0);
  assert_int_equal(x->exit_code, -1);
  size_t out_len = x->out_len, err_len = x->err_len;
  if (out_len != 0 || err_len != 0)
    print_message("  the attempt that could not start shows the output "
                  "\"%.*s\" / \"%.*s\" of the attempt before it\n",
                  (int)x->out_len, x->out_tail, (int)x->err_len, x->err_tail);
  t_finish(t);
  assert_int_equal(out_len, 0);
  assert_int_equal(err_len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_halt_soon_lets_running_jobs_finish),
      cmocka_unit_test(test_run_halt_now_stops_running_jobs),
      cmocka_unit_test(test_run_halt_now_success_first_to_succeed_wins),
      cmocka_unit_test(test_run_retry_succeeds_on_third_attempt),
      cmocka_unit_test(test_run_retries_exhausted),
      cmocka_unit_test(test_run_last_attempt_that_cannot_start_keeps_no_output),
      cmocka_unit_test(test_run_allowed_failures_do_not_halt_or_fail),
      cmocka_unit_test(test_run_halt_counts_errors_and_ends_retry_waits),
      /* Last: under AddressSanitizer a use after free ends the program. */
      cmocka_unit_test(test_run_result_stays_readable_during_a_retry),
  };
  return RUN_SUITE("test_run_halt", tests);
}
