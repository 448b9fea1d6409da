/*
 * Runs, cancelling (SPEC §6): a job or the whole run cancelled from every
 * callback (on_line, on_job_start, on_job_end at a halt or a skip,
 * on_retry), during a retry delay, before the loop ran, after the end;
 * kill_now and the escalation from SIGTERM to SIGKILL.
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
#include <string.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

static void cancel_job_on_line(rec_t *r, size_t job, corun_stream_t st,
                               const char *line, size_t len) {
  (void)st;
  (void)line;
  (void)len;
  if (job == (size_t)r->user[0] && r->n_lines[job][0] >= 1000 &&
      r->user[1]++ == 0)
    r->user[2] = corun_run_cancel_job(r->run, job);
}

static void test_run_cancel_job_from_on_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 1000000000 20");
  size_t b = add(t, d, "sleep 0.3 out fine");
  seal(t);
  rec_t *r = rec_new(t);
  r->line_w = 20;
  r->user[0] = (long)a;
  r->line_hook = cancel_job_on_line;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[1] >= 1, 1);
  assert_int_equal(r->user[2], 0);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_int_equal(res(r, a)->signal, SIGTERM);
  assert_int_equal(r->line_bad[a], 0);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "fine\n");
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_run_on_line(rec_t *r, size_t job, corun_stream_t st,
                               const char *line, size_t len) {
  (void)st;
  (void)line;
  (void)len;
  if (job == 0 && r->n_lines[job][0] >= 100 && r->user[1]++ == 0) {
    r->user[2] = corun_run_cancel(r->run, 0);
    r->user[3] = corun_run_cancel(r->run, 0); /* again: harmless */
  }
}

static void test_run_cancel_run_from_on_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 1000000000 20");
  size_t b = add(t, d, "sleep 30");
  size_t c = add(t, d, "out never");
  const char *need[] = {"job-3", NULL};
  d.needs = need;
  size_t e = add(t, d, "out never");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  rec_t *r = rec_new(t);
  r->line_w = 20;
  r->line_hook = cancel_run_on_line;
  double t0 = tu_now();
  start(t, r, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[2], 0);
  assert_int_equal(r->user[3], 0);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_non_null(res(r, c)->reason);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  assert_int_equal(r->halts, 0);
  assert_true(corun_run_cancelled(r->run));
  /* The report says so, with the exit status the caller records. */
  cJSON *root = report_of(r->run, 130);
  assert_string_equal(jget(root, "status")->valuestring, "cancelled");
  assert_int_equal(jget(root, "exit_code")->valueint, 130);
  assert_int_equal(jget(jget(root, "counts"), "cancelled")->valueint, 2);
  assert_int_equal(jget(jget(root, "counts"), "skipped")->valueint, 2);
  cJSON_Delete(root);
  /* After the end: cancelling is harmless. */
  assert_int_equal(corun_run_cancel(r->run, 1), 0);
  t_finish(t);
}

static void cancel_ended_hook(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == (size_t)r->user[0])
    r->user[1] = corun_run_cancel_job(r->run, job); /* it just ended */
}

static void cancel_waiting_hook(rec_t *r, size_t job, unsigned attempt,
                                long pid) {
  (void)attempt;
  (void)pid;
  if (job == (size_t)r->user[2])
    r->user[3] = corun_run_cancel_job(r->run, (size_t)r->user[4]);
}

static void test_run_cancel_finished_or_waiting_job(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "out a");
  size_t b = add(t, d, "sleep 0.3 out b");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t c = add(t, d, "out never");
  const char *nc[] = {"job-3", NULL};
  d.needs = nc;
  size_t e = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = (long)a;
  r->user[1] = -1;
  r->user[2] = (long)b;
  r->user[3] = -1;
  r->user[4] = (long)c;
  r->end_hook = cancel_ended_hook;
  r->start_hook = cancel_waiting_hook;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[1], 0);
  assert_int_equal(r->user[3], 0);
  assert_status(res(r, a), CORUN_OK);
  assert_out(res(r, a), "a\n");
  assert_status(res(r, b), CORUN_OK);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  /* After the run: harmless, nothing changes; a bad index is an error. */
  assert_int_equal(corun_run_cancel_job(r->run, a), 0);
  assert_int_equal(corun_run_cancel_job(r->run, c), 0);
  assert_int_equal(corun_run_cancel(r->run, 0), 0);
  assert_int_equal(corun_run_cancel_job(r->run, 99), CORUN_ENOJOB);
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_OK);
  assert_int_equal(corun_run_exit_code(r->run), 1);
  assert_null(corun_run_result(r->run, 99));
  t_finish(t);
}

static rec_t *escalate_rec;

static void escalate(uv_timer_t *h) {
  (void)h;
  corun_run_cancel(escalate_rec->run, 1);
}

static void kill_now_on_ready(rec_t *r, size_t job, corun_stream_t st,
                              const char *line, size_t len) {
  (void)job;
  (void)st;
  /* Once both jobs ignore SIGTERM. */
  if (len == 5 && memcmp(line, "ready", 5) == 0 && ++r->user[4] == 2 &&
      r->user[1]++ == 0) {
    r->user[0] = (long)(tu_now() * 1000);
    corun_run_cancel(r->run, (int)r->user[2]);
    if (r->user[3])
      uv_timer_start(&r->t->aux, escalate, 300, 0);
  }
}

static void test_run_cancel_kill_now_ends_sigterm_ignoring_job(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    tctx_t *t = t_new();
    corun_job_desc_t d = {0};
    size_t a = add(t, d, "ignterm out ready sleep 300");
    size_t b = add(t, d, "ignterm out ready sleep 300");
    seal(t);
    rec_t *r = rec_new(t);
    r->line_hook = kill_now_on_ready;
    r->user[2] = mode == 0; /* kill_now at once, or escalate after 0.3 s */
    r->user[3] = mode == 1;
    escalate_rec = r;
    start(t, r, NULL);
    t_loop(t, 20);
    double took = tu_now() - (double)r->user[0] / 1000;
    print_message("  %s: ended %.3f s after the cancel\n",
                  mode == 0 ? "kill_now" : "escalated", took);
    for (size_t j = a; j <= b; j++) {
      assert_status(res(r, j), CORUN_CANCELLED);
      assert_int_equal(res(r, j)->signal, SIGKILL);
    }
    if (mode == 0)
      assert_true(took < 1.0);
    else
      assert_true(took >= 0.29 && took < 1.5);
    assert_int_equal(r->exit_code, 1);
    t_finish(t);
  }
}

static void cancel_self_on_start(rec_t *r, size_t job, unsigned attempt,
                                 long pid) {
  (void)attempt;
  (void)pid;
  if (job == 0)
    r->user[0] = corun_run_cancel_job(r->run, job);
}

static void cancel_run_on_end(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == 1)
    r->user[1] = corun_run_cancel(r->run, 0);
}

static void test_run_cancel_from_start_and_end_callbacks(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 30");
  size_t b = add(t, d, "sleep 0.2 out b");
  size_t c = add(t, d, "sleep 30");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t e = add(t, d, "out never");
  d.needs = NULL;
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  rec_t *r = rec_new(t);
  r->user[0] = r->user[1] = -1;
  r->start_hook = cancel_self_on_start;
  r->end_hook = cancel_run_on_end;
  double t0 = tu_now();
  start(t, r, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->user[1], 0);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_OK);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);

  /* Cancelled right after the start, before the loop ran once. */
  t = t_new();
  a = add(t, d, "sleep 30");
  b = add(t, d, "sleep 30");
  seal(t);
  o.jobs = 1;
  r = start(t, NULL, &o);
  assert_int_equal(corun_run_cancel(r->run, 0), 0);
  t_loop(t, 20);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_later(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  if (t->user[0] == 0)
    r->user[0] = corun_run_cancel_job(r->run, 0);
  else
    r->user[0] = corun_run_cancel(r->run, 0);
}

/* Once the first attempt failed and its retry waits: however slowly that
 * attempt ran (a sanitizer, a loaded machine), the cancel comes inside
 * the 10 s delay. */
static void cancel_soon_after_retry(rec_t *r, size_t job,
                                    const corun_result_t *failed) {
  (void)job;
  (void)failed;
  uv_timer_start(&r->t->aux, cancel_later, 300, 0);
}

static void test_run_cancel_during_retry_delay(void **state) {
  (void)state;
  for (int whole = 0; whole < 2; whole++) {
    tctx_t *t = t_new();
    t->user[0] = whole;
    corun_job_desc_t d = {0};
    d.retries = 3;
    d.retry_delay_s = 10;
    size_t a = add(t, d, "exit 3");
    seal(t);
    rec_t *r = rec_new(t);
    r->user[0] = -1;
    r->retry_hook = cancel_soon_after_retry;
    double t0 = tu_now();
    start(t, r, NULL);
    t_loop(t, 20);
    assert_true(tu_now() - t0 < 3.0);
    assert_int_equal(r->user[0], 0);
    assert_int_equal(r->retries[a], 1);
    assert_int_equal(r->starts[a], 1);
    const corun_result_t *x = res(r, a);
    print_message("  %s during the retry delay: %s\n",
                  whole ? "run cancelled" : "job cancelled",
                  corun_status_name(x->status));
    assert_true(x->status == CORUN_CANCELLED || x->status == CORUN_FAILED);
    assert_int_equal(x->attempts, 1);
    assert_int_equal(r->exit_code, 1);
    t_finish(t);
  }
}

static void cancel_at_halt_hook(rec_t *r, size_t job, const corun_result_t *x) {
  if (job == 0 && x->status == CORUN_FAILED)
    r->user[0] = corun_run_cancel(r->run, 0);
}

static void test_run_cancel_from_job_end_at_a_halt(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 30");
  size_t c = add(t, d, "out never");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.halt = "soon,fail=1";
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->end_hook = cancel_at_halt_hook;
  start(t, r, &o);
  t_loop(t, 20);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_other_on_skip(rec_t *r, size_t job,
                                  const corun_result_t *x) {
  if (x->status == CORUN_SKIPPED && job == (size_t)r->user[1] &&
      r->user[2]++ == 0)
    r->user[0] = corun_run_cancel_job(r->run, (size_t)r->user[3]);
}

static void test_run_cancel_job_from_a_skip_notification(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "a";
  size_t a = add(t, d, "exit 1");
  const char *na[] = {"a", NULL}, *nb[] = {"b", NULL}, *nd[] = {"d", NULL},
             *ne[] = {"e", NULL};
  d.name = "b";
  d.needs = na;
  size_t b = add(t, d, "out never");
  d.name = "c";
  d.needs = nb;
  size_t c = add(t, d, "out never");
  d.name = "d";
  d.needs = NULL;
  size_t e0 = add(t, d, "sleep 0.3 out d");
  d.name = "e";
  d.needs = nd;
  size_t e = add(t, d, "out never");
  d.name = "f";
  d.needs = ne;
  size_t f = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->user[1] = (long)b;
  r->user[3] = (long)e;
  r->end_hook = cancel_other_on_skip;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[0], 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e0), CORUN_OK);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_status(res(r, f), CORUN_SKIPPED);
  assert_int_equal(r->starts[e] + r->starts[f], 0);
  for (size_t j = b; j <= f; j++)
    if (j != e0)
      assert_non_null(res(r, j)->reason);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_on_retry(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  r->user[0] = corun_run_cancel_job(r->run, job);
}

static void test_run_cancel_job_from_on_retry(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 5;
  d.retry_delay_s = 10;
  size_t a = add(t, d, "out try exit 1");
  d.retries = 0;
  d.retry_delay_s = 0;
  const char *need[] = {"job-1", NULL};
  d.needs = need;
  size_t b = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->retry_hook = cancel_on_retry;
  double t0 = tu_now();
  start(t, r, NULL);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->starts[a], 1);
  assert_int_equal(r->retries[a], 1);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_int_equal(res(r, a)->attempts, 1);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_cancel_job_from_on_line),
      cmocka_unit_test(test_run_cancel_run_from_on_line),
      cmocka_unit_test(test_run_cancel_finished_or_waiting_job),
      cmocka_unit_test(test_run_cancel_kill_now_ends_sigterm_ignoring_job),
      cmocka_unit_test(test_run_cancel_from_start_and_end_callbacks),
      cmocka_unit_test(test_run_cancel_during_retry_delay),
      cmocka_unit_test(test_run_cancel_from_job_end_at_a_halt),
      cmocka_unit_test(test_run_cancel_job_from_on_retry),
      cmocka_unit_test(test_run_cancel_job_from_a_skip_notification),
  };
  return RUN_SUITE("test_run_cancel", tests);
}
