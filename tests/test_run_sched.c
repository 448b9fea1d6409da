/*
 * Runs, scheduling: real processes through the public API (SPEC §2, §5) in
 * the order and number the plan allows: -j, pools, needs, skipped
 * dependents, allowed failures, a selection of jobs, hundreds of short jobs.
 *
 * The harness (a loop and watchdog per test, the recorder of callbacks,
 * the check that no job's process is left) is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- scheduling: -j, pools, needs, skips ------------------------------- */

/* The most jobs of `set` (a bit mask) running at once, from the events. */
static int max_overlap(const rec_t *r, unsigned set) {
  int n = 0, max = 0;
  unsigned running = 0;
  for (size_t i = 0; i < r->n_ev; i++) {
    const ev_t *e = &r->ev[i];
    if (e->job >= 32 || !(set & (1u << e->job)))
      continue;
    unsigned bit = 1u << e->job;
    if (e->kind == EV_START) {
      running |= bit;
      if (++n > max)
        max = n;
    } else if ((e->kind == EV_END || e->kind == EV_RETRY) && (running & bit)) {
      running &= ~bit;
      n--;
    }
  }
  return max;
}

static double run_sleepers(unsigned jobs, int *max_running) {
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  for (int i = 0; i < 4; i++)
    add(t, d, "sleep 0.5");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = jobs;
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_int_equal(r->exit_code, 0);
  for (size_t i = 0; i < 4; i++)
    assert_status(res(r, i), CORUN_OK);
  assert_true(corun_run_duration(r->run) <= took + 0.01);
  *max_running = r->max_running;
  t_finish(t);
  return took;
}

static void test_run_four_jobs_run_in_parallel(void **state) {
  (void)state;
  int max = 0;
  double took = run_sleepers(4, &max);
  print_message("  4 x sleep 0.5 at -j4: %.3f s\n", took);
  assert_true(took >= 0.5);
  assert_true(took < 1.5);
  assert_int_equal(max, 4);
}

static void test_run_one_job_at_a_time_with_jobs_1(void **state) {
  (void)state;
  int max = 0;
  double took = run_sleepers(1, &max);
  print_message("  4 x sleep 0.5 at -j1: %.3f s\n", took);
  assert_true(took > 1.9);
  assert_int_equal(max, 1);
}

static void test_run_pool_of_one_never_overlaps(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_error_t err = {0};
  assert_int_equal(corun_plan_add_pool(t->plan, "one", 1, &err), 0);
  assert_int_equal(corun_plan_add_pool(t->plan, "two", 2, &err), 0);
  corun_job_desc_t d = {0};
  d.pool = "one";
  size_t a = add(t, d, "sleep 0.2");
  size_t b = add(t, d, "sleep 0.2");
  d.pool = "two";
  size_t c[4];
  for (int i = 0; i < 4; i++)
    c[i] = add(t, d, "sleep 0.2");
  d.pool = NULL;
  size_t free_job = add(t, d, "sleep 0.2");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 8;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  /* The pool of one: b starts only after a ended (file order first). */
  assert_true(ev_find(r, EV_START, b) > ev_find(r, EV_END, a));
  assert_int_equal(max_overlap(r, 1u << a | 1u << b), 1);
  unsigned two = 0;
  for (int i = 0; i < 4; i++)
    two |= 1u << c[i];
  assert_int_equal(max_overlap(r, two), 2);
  /* A job in no pool is not held back by them. */
  assert_true(ev_find(r, EV_START, free_job) < ev_find(r, EV_END, a));
  assert_true(r->max_running >= 4);
  t_finish(t);
}

static void test_run_needs_start_after_their_need_ended(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *h = jq(t, tu_helper());
  /* File order puts the dependents first. */
  load_json(t, fmt(t,
      "{\"max_parallel\":4,\"jobs\":["
      "{\"name\":\"c\",\"cmd\":[%s,\"out\",\"c\"],\"needs\":[\"b\"],\"env\":{%s}},"
      "{\"name\":\"b\",\"cmd\":[%s,\"sleep\",\"0.1\",\"out\",\"b\"],\"needs\":[\"a\"],\"env\":{%s}},"
      "{\"name\":\"a\",\"cmd\":[%s,\"sleep\",\"0.2\",\"out\",\"a\"],\"env\":{%s}},"
      "{\"name\":\"free\",\"cmd\":[%s,\"sleep\",\"0.2\"],\"env\":{%s}}]}",
      h, jmark(t), h, jmark(t), h, jmark(t), h, jmark(t)));
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  size_t a = job_index(t->plan, "a"), b = job_index(t->plan, "b"),
         c = job_index(t->plan, "c"), f = job_index(t->plan, "free");
  assert_int_equal(r->exit_code, 0);
  assert_true(ev_find(r, EV_START, b) > ev_find(r, EV_END, a));
  assert_true(ev_find(r, EV_START, c) > ev_find(r, EV_END, b));
  assert_true(ev_find(r, EV_START, f) < ev_find(r, EV_END, a));
  const corun_result_t *ra = res(r, a), *rb = res(r, b), *rc = res(r, c);
  assert_true(rb->started_at >= ra->started_at + ra->duration_s - 0.005);
  assert_true(rc->started_at >= rb->started_at + rb->duration_s - 0.005);
  assert_out(ra, "a\n");
  assert_out(rb, "b\n");
  assert_out(rc, "c\n");
  t_finish(t);
}

static void test_run_skips_dependents_of_failed_job(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "err broken exit 3");
  const char *na[] = {"job-1", NULL};
  d.needs = na;
  size_t b = add(t, d, "out never");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t c = add(t, d, "out never");
  d.needs = NULL;
  size_t e = add(t, d, "sleep 0.1 out fine");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->exit_code, 3);
  assert_int_equal(res(r, a)->signal, 0);
  assert_err(res(r, a), "broken\n");
  for (size_t j = b; j <= c; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_SKIPPED);
    assert_int_equal(x->attempts, 0);
    assert_int_equal(x->pid, 0);
    assert_int_equal(x->exit_code, -1);
    assert_int_equal(x->out_len, 0);
    assert_non_null(x->reason);
    assert_int_equal(r->starts[j], 0);
    assert_int_equal(r->job_ends[j], 1);
  }
  assert_string_equal(res(r, b)->reason, "need job-1 failed");
  assert_string_equal(res(r, c)->reason, "need job-2 skipped");
  assert_status(res(r, e), CORUN_OK);
  assert_out(res(r, e), "fine\n");
  t_finish(t);
}

static void test_run_allow_failure_lets_dependents_run(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "flaky";
  d.allow_failure = 1;
  size_t a = add(t, d, "exit 3");
  d.name = "missing";
  const char *nocmd[] = {"corun-no-such-command-zz9", NULL};
  d.argv = nocmd;
  size_t m = add(t, d, NULL);
  d.argv = NULL;
  d.allow_failure = 0;
  d.name = "after";
  const char *n1[] = {"flaky", "missing", NULL};
  d.needs = n1;
  size_t b = add(t, d, "out ran");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->exit_code, 3);
  assert_status(res(r, m), cannot_start());
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "ran\n");
  t_finish(t);
}

static void test_run_selected_jobs_and_their_needs_only(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "a";
  size_t a = add(t, d, "out a");
  d.name = "b";
  const char *nb[] = {"a", NULL};
  d.needs = nb;
  size_t b = add(t, d, "out b");
  d.name = "c";
  d.needs = NULL;
  size_t c = add(t, d, "exit 1");
  d.name = "d";
  d.needs = nb;
  size_t e = add(t, d, "out d");
  seal(t);
  const char *want[] = {"b"};
  corun_run_options_t o = {0};
  o.select = want;
  o.n_select = 1;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0); /* c would fail, but is not selected */
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_OK);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  assert_int_equal(r->job_ends[c] + r->job_ends[e], 0);
  assert_int_equal(res(r, c)->status, CORUN_PENDING);
  assert_int_equal(res(r, c)->attempts, 0);
  cJSON *root = report_of(r->run, -1);
  const cJSON *jobs = jget(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 2);
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 0), "name")->valuestring, "a");
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 1), "name")->valuestring, "b");
  cJSON_Delete(root);
  t_finish(t);
}

static void test_run_many_short_jobs_reuse_everything(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  enum { N = 300 };
  for (int i = 0; i < N; i++)
    add(t, d, fmt(t, "out job%d err e%d", i, i));
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 40;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 60);
  assert_int_equal(r->exit_code, 0);
  assert_true(r->max_running > 1);
  for (int i = 0; i < N; i++) {
    assert_out(res(r, (size_t)i), fmt(t, "job%d\n", i));
    assert_err(res(r, (size_t)i), fmt(t, "e%d\n", i));
  }
  t_finish(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_four_jobs_run_in_parallel),
      cmocka_unit_test(test_run_one_job_at_a_time_with_jobs_1),
      cmocka_unit_test(test_run_pool_of_one_never_overlaps),
      cmocka_unit_test(test_run_needs_start_after_their_need_ended),
      cmocka_unit_test(test_run_skips_dependents_of_failed_job),
      cmocka_unit_test(test_run_allow_failure_lets_dependents_run),
      cmocka_unit_test(test_run_selected_jobs_and_their_needs_only),
      cmocka_unit_test(test_run_many_short_jobs_reuse_everything),
  };
  return RUN_SUITE("test_run_sched", tests);
}
