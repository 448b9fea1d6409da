/*
 * Open runs (SPEC §11): corun_run_new() with plan NULL, jobs handed in
 * with corun_run_submit() before the start, while others run, from a
 * timer and from the run's own callbacks, until corun_run_close_input().
 * Real processes through the public API, with the harness of the
 * test_run_* suites (run_harness.h).
 *
 * The test_open_big_* tests submit tens of thousands of jobs; skip them
 * with CORUN_TEST_SKIP='test_open_big_*' (under valgrind, say).
 * CORUN_SLOW=0 shrinks them; CORUN_OPEN_BIG_N sets the size of the
 * memory test's batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

#define NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- submitting ---------------------------------------------------------- */

/* The argv of the test program with `steps` (split at spaces) in argv[],
 * the copy of steps to free in *copy. */
static void helper_argv(const char **argv, size_t cap, const char *steps,
                        char **copy) {
  size_t n = 0;
  char *save = NULL;
  *copy = strdup(steps);
  assert_non_null(*copy);
  argv[n++] = tu_helper();
  for (char *tok = strtok_r(*copy, " ", &save); tok != NULL;
       tok = strtok_r(NULL, " ", &save)) {
    assert_true(n < cap - 1);
    argv[n++] = tok;
  }
  argv[n] = NULL;
}

/* Submit to `run`: the test program with `steps` when set, else d's own
 * argv or shell; its env gets a marker first. corun_run_submit()'s code;
 * the index in *index. */
static int try_submit(tctx_t *t, corun_run_t *run, corun_job_desc_t d,
                      const char *steps, size_t *index, corun_error_t *err) {
  const char *argv[80];
  const char *env[32];
  char *copy = NULL;
  if (steps != NULL) {
    helper_argv(argv, 80, steps, &copy);
    d.argv = argv;
  }
  size_t k = 0;
  env[k++] = job_mark(t);
  for (size_t i = 0; d.env != NULL && d.env[i] != NULL; i++) {
    assert_true(k < 31);
    env[k++] = d.env[i];
  }
  env[k] = NULL;
  d.env = env;
  int rc = corun_run_submit(run, &d, index, err);
  /* Everything given is copied: scribble over it. */
  if (copy != NULL)
    memset(copy, 'x', strlen(copy));
  free(copy);
  return rc;
}

/* Submit and assert it was taken; the job's index. */
static size_t submit(rec_t *r, corun_job_desc_t d, const char *steps) {
  corun_error_t err = {0};
  size_t i = (size_t)-1;
  int rc = try_submit(r->t, r->run, d, steps, &i, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
  /* Jobs submitted from callbacks during the call come after it. */
  assert_true(i < corun_plan_job_count(corun_run_plan(r->run)));
  if (d.name != NULL)
    assert_string_equal(corun_plan_job(corun_run_plan(r->run), i)->name,
                        d.name);
  return i;
}

/* An open run, created on t's loop and recorded by a new recorder, not
 * started yet. */
static rec_t *open_new(tctx_t *t, corun_run_options_t *o) {
  rec_t *r = rec_new(t);
  corun_run_options_t none;
  if (o == NULL) {
    memset(&none, 0, sizeof none);
    o = &none;
  }
  options_for(r, o);
  corun_error_t err = {0};
  int rc = corun_run_new(&r->run, &t->loop, NULL, o, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
  assert_int_equal(corun_plan_job_count(corun_run_plan(r->run)), 0);
  return r;
}

static void open_start(rec_t *r) {
  assert_int_equal(corun_run_start(r->run), 0);
  r->started = 1;
}

static void close_input(rec_t *r) {
  assert_int_equal(corun_run_close_input(r->run), 0);
}

/* The job of that name. */
static size_t J(rec_t *r, const char *name) {
  return job_index(corun_run_plan(r->run), name);
}

/* Every submitted job: ended once, in the run, its result named as it. */
static void assert_results_by_index(rec_t *r) {
  const corun_plan_t *p = corun_run_plan(r->run);
  size_t n = corun_plan_job_count(p);
  for (size_t i = 0; i < n; i++) {
    const corun_result_t *x = res(r, i);
    assert_string_equal(x->name, corun_plan_job(p, i)->name);
    assert_int_not_equal(x->status, CORUN_PENDING);
    assert_true(corun_run_selected(r->run, i));
    if (i < MAXJ)
      assert_int_equal(r->job_ends[i], 1);
  }
  assert_null(corun_run_result(r->run, n));
}

/* ---- when jobs come ------------------------------------------------------ */

static void test_open_runs_jobs_submitted_before_start(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 2;
  rec_t *r = open_new(t, &o);
  size_t a = submit(r, (corun_job_desc_t){.name = "a"}, "out A");
  size_t b = submit(r, (corun_job_desc_t){.name = "b", .needs = NEEDS("a")},
                    "out B");
  size_t c = submit(r, (corun_job_desc_t){0}, "out C");
  assert_int_equal(a, 0);
  assert_int_equal(b, 1);
  assert_int_equal(c, 2);
  /* Unnamed: "job-N", N its 1-based position. */
  assert_string_equal(res(r, c)->name, "job-3");
  /* Nothing runs before the start. */
  uv_run(&t->loop, UV_RUN_NOWAIT);
  assert_int_equal(r->n_ev, 0);
  assert_int_equal(res(r, a)->status, CORUN_PENDING);
  close_input(r);
  open_start(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, a), "A\n");
  assert_out(res(r, b), "B\n");
  assert_out(res(r, c), "C\n");
  assert_true(ev_find(r, EV_START, b) > ev_find(r, EV_END, a));
  assert_results_by_index(r);
  t_finish(t);
}

/* The aux timer: submit "late-K" for K = 1, 2, 3 every 100 ms while the
 * first job sleeps, then close. */
static void submit_on_timer(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  long k = ++t->user[0];
  assert_int_equal(r->state[0], 1); /* "long" still runs */
  const char *name = fmt(t, "late-%ld", k);
  size_t i = submit(r, (corun_job_desc_t){.name = name},
                    fmt(t, "out %s", name));
  t->user[k] = (long)i;
  if (k == 3) {
    uv_timer_stop(h);
    close_input(r);
  }
}

static void test_open_takes_jobs_from_a_timer_while_others_run(
    void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 4;
  rec_t *r = start_plan(t, NULL, NULL, &o);
  size_t l = submit(r, (corun_job_desc_t){.name = "long"}, "sleep 1");
  uv_timer_start(&t->aux, submit_on_timer, 100, 100);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(t->user[0], 3);
  for (long k = 1; k <= 3; k++) {
    size_t i = (size_t)t->user[k];
    assert_status(res(r, i), CORUN_OK);
    assert_out(res(r, i), fmt(t, "late-%ld\n", k));
    /* Each started and ended while "long" ran. */
    assert_true(ev_find(r, EV_END, i) < ev_find(r, EV_END, l));
  }
  assert_status(res(r, l), CORUN_OK);
  assert_int_equal(corun_plan_job_count(corun_run_plan(r->run)), 4);
  assert_results_by_index(r);
  t_finish(t);
}

/* end_hook: the end of a job of the chain submits the next, up to
 * user[0] jobs, then closes the input. */
static void submit_next_link(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  size_t n = corun_plan_job_count(corun_run_plan(r->run));
  if (job != n - 1)
    return;
  if ((long)n < r->user[0]) {
    const char *need = corun_plan_job(corun_run_plan(r->run), job)->name;
    submit(r,
           (corun_job_desc_t){.name = fmt(r->t, "link-%zu", n),
                              .needs = (const char *const[]){need, NULL}},
           fmt(r->t, "out %zu", n));
  } else {
    close_input(r);
  }
}

static void test_open_takes_jobs_from_job_end(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 4;
  rec_t *r = rec_new(t);
  r->end_hook = submit_next_link;
  r->user[0] = 20;
  start_plan(t, NULL, r, &o);
  submit(r, (corun_job_desc_t){.name = "link-0"}, "out 0");
  t_loop(t, 30);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(corun_plan_job_count(corun_run_plan(r->run)), 20);
  for (size_t i = 0; i < 20; i++) {
    assert_status(res(r, i), CORUN_OK);
    assert_out(res(r, i), fmt(t, "%zu\n", i));
    if (i > 0)
      assert_true(ev_find(r, EV_START, i) > ev_find(r, EV_END, i - 1));
  }
  assert_int_equal(r->max_running, 1);
  assert_results_by_index(r);
  t_finish(t);
}

/* start_hook: the start of "first" submits "second" and closes. */
static void submit_on_first_start(rec_t *r, size_t job, unsigned attempt,
                                  long pid) {
  (void)attempt, (void)pid;
  if (job == 0) {
    submit(r, (corun_job_desc_t){.name = "second", .needs = NEEDS("first")},
           "out 2");
    close_input(r);
  }
}

static void test_open_takes_jobs_from_job_start(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = rec_new(t);
  r->start_hook = submit_on_first_start;
  start_plan(t, NULL, r, NULL);
  submit(r, (corun_job_desc_t){.name = "first"}, "out 1");
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 1), "2\n");
  assert_true(ev_find(r, EV_START, 1) > ev_find(r, EV_END, 0));
  assert_results_by_index(r);
  t_finish(t);
}

/* ---- needs ------------------------------------------------------------- */

/* end_hook: once "ok", "bad" and "allowed" ended (while "slow" runs),
 * submit jobs that need each, and more. */
static void submit_dependents(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job >= 3 || ++r->user[0] != 3)
    return;
  assert_int_equal(r->state[J(r, "slow")], 1);
  r->user[1] = (long)submit(
      r, (corun_job_desc_t){.name = "after-ok", .needs = NEEDS("ok")},
      "out after-ok");
  r->user[2] = (long)submit(
      r, (corun_job_desc_t){.name = "after-bad", .needs = NEEDS("ok", "bad")},
      "out never");
  r->user[3] = (long)submit(
      r, (corun_job_desc_t){.name = "after-skip", .needs = NEEDS("after-bad")},
      "out never");
  r->user[4] = (long)submit(
      r, (corun_job_desc_t){.name = "after-allowed", .needs = NEEDS("allowed")},
      "out after-allowed");
  r->user[5] = (long)submit(
      r, (corun_job_desc_t){.name = "after-slow", .needs = NEEDS("slow")},
      "out after-slow");
  r->user[6] = (long)submit(
      r,
      (corun_job_desc_t){.name = "after-waiting",
                         .needs = NEEDS("after-slow", "ok")},
      "out after-waiting");
  /* Skipped at once: on_job_end comes right after this callback. */
  close_input(r);
}

static void test_open_needs_on_ended_running_and_waiting_jobs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 8;
  rec_t *r = open_new(t, &o);
  r->end_hook = submit_dependents;
  submit(r, (corun_job_desc_t){.name = "ok"}, "out ok");
  submit(r, (corun_job_desc_t){.name = "bad"}, "exit 3");
  submit(r, (corun_job_desc_t){.name = "allowed", .allow_failure = 1},
         "exit 4");
  size_t slow = submit(r, (corun_job_desc_t){.name = "slow"}, "sleep 1");
  open_start(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->user[0], 3);
  size_t after_ok = (size_t)r->user[1], after_bad = (size_t)r->user[2],
         after_skip = (size_t)r->user[3], after_allowed = (size_t)r->user[4],
         after_slow = (size_t)r->user[5], after_waiting = (size_t)r->user[6];
  assert_status(res(r, after_ok), CORUN_OK);
  assert_out(res(r, after_ok), "after-ok\n");
  assert_status(res(r, after_bad), CORUN_SKIPPED);
  assert_string_equal(res(r, after_bad)->reason, "need bad failed");
  assert_int_equal(r->starts[after_bad], 0);
  assert_status(res(r, after_skip), CORUN_SKIPPED);
  assert_string_equal(res(r, after_skip)->reason, "need after-bad skipped");
  assert_status(res(r, after_allowed), CORUN_OK);
  /* On a running need: it waited for it, then ran. */
  assert_status(res(r, after_slow), CORUN_OK);
  assert_true(ev_find(r, EV_START, after_slow) > ev_find(r, EV_END, slow));
  /* On a waiting need: the same, one more step down. */
  assert_status(res(r, after_waiting), CORUN_OK);
  assert_true(ev_find(r, EV_START, after_waiting) >
              ev_find(r, EV_END, after_slow));
  /* The skipped ones were told before the slow job ended. */
  assert_true(ev_find(r, EV_END, after_bad) < ev_find(r, EV_END, slow));
  assert_results_by_index(r);
  t_finish(t);
}

/* ---- halts and cancels ------------------------------------------------- */

/* end_hook: the end of "bad" (the halt) submits "late"; the end of
 * "slow" submits "later" and closes. */
static void submit_after_halt(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == J(r, "bad")) {
    /* on_halt comes after the end of the job that met the policy, but
     * the run halted already. */
    r->user[0] = (long)submit(r, (corun_job_desc_t){.name = "late"}, "out no");
  } else if (job == J(r, "slow")) {
    r->user[1] = (long)submit(
        r, (corun_job_desc_t){.name = "later", .needs = NEEDS("slow")},
        "out no");
    close_input(r);
  }
}

static void test_open_skips_jobs_submitted_after_a_halt(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.halt = "soon,fail=1";
  rec_t *r = rec_new(t);
  r->end_hook = submit_after_halt;
  start_plan(t, NULL, r, &o);
  size_t slow = submit(r, (corun_job_desc_t){.name = "slow"}, "sleep 0.3");
  size_t bad = submit(r, (corun_job_desc_t){.name = "bad"}, "exit 1");
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "soon,fail=1");
  assert_status(res(r, bad), CORUN_FAILED);
  assert_status(res(r, slow), CORUN_OK);
  for (int k = 0; k < 2; k++) {
    size_t i = (size_t)r->user[k];
    assert_status(res(r, i), CORUN_SKIPPED);
    assert_string_equal(res(r, i)->reason, "halted");
    assert_int_equal(r->starts[i], 0);
    assert_true(ev_find(r, EV_END, i) > ev_find(r, EV_HALT, 0));
  }
  assert_results_by_index(r);
  t_finish(t);
}

static void cancel_then_submit(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  assert_int_equal(corun_run_cancel(r->run, 0), 0);
  t->user[0] = (long)submit(r, (corun_job_desc_t){.name = "late"}, "out no");
  /* Told at once, during the call. */
  assert_int_equal(r->job_ends[t->user[0]], 1);
  close_input(r);
}

static void test_open_skips_jobs_submitted_after_cancel(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = start_plan(t, NULL, NULL, NULL);
  size_t l = submit(r, (corun_job_desc_t){.name = "long"}, "sleep 10");
  uv_timer_start(&t->aux, cancel_then_submit, 200, 0);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, l), CORUN_CANCELLED);
  size_t late = (size_t)t->user[0];
  assert_status(res(r, late), CORUN_SKIPPED);
  assert_string_equal(res(r, late)->reason, "run cancelled");
  assert_true(corun_run_cancelled(r->run));
  cJSON *rep = report_of(r->run, -1);
  assert_string_equal(jget(rep, "status")->valuestring, "cancelled");
  assert_int_equal(cJSON_GetArraySize(jget(rep, "jobs")), 2);
  cJSON_Delete(rep);
  assert_results_by_index(r);
  t_finish(t);
}

/* ---- what the run refuses ---------------------------------------------- */

static void expect_estate(rec_t *r) {
  corun_error_t err = {0};
  size_t i = 4242;
  assert_int_equal(try_submit(r->t, r->run, (corun_job_desc_t){.shell = "true"},
                              NULL, &i, &err),
                   CORUN_ESTATE);
  assert_int_equal(err.code, CORUN_ESTATE);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], "the run takes no more jobs");
  assert_int_equal(i, 4242);
  corun_error_release(&err);
}

static void estate_in_run_end(rec_t *r) {
  expect_estate(r);
  assert_int_equal(corun_run_close_input(r->run), CORUN_ESTATE);
  r->user[0]++;
}

static void test_open_submit_after_close_is_estate(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = rec_new(t);
  r->run_end_hook = estate_in_run_end;
  start_plan(t, NULL, r, NULL);
  submit(r, (corun_job_desc_t){.name = "a"}, "sleep 0.2");
  close_input(r);
  /* While a job still runs, and closing twice. */
  expect_estate(r);
  assert_int_equal(corun_run_close_input(r->run), CORUN_ESTATE);
  t_loop(t, 20);
  assert_int_equal(r->user[0], 1);
  /* And after the end. */
  expect_estate(r);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(corun_plan_job_count(corun_run_plan(r->run)), 1);
  t_finish(t);
}

static void test_open_submit_on_a_plan_run_is_estate(void **state) {
  (void)state;
  tctx_t *t = t_new();
  add(t, (corun_job_desc_t){.name = "a"}, "out a");
  seal(t);
  rec_t *r = rec_new(t);
  corun_run_options_t o = {0};
  options_for(r, &o);
  assert_int_equal(corun_run_new(&r->run, &t->loop, t->plan, &o, NULL), 0);
  expect_estate(r);
  assert_int_equal(corun_run_close_input(r->run), CORUN_ESTATE);
  open_start(r);
  expect_estate(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(corun_plan_job_count(t->plan), 1);
  t_finish(t);
}

static void test_open_pools_in_options_are_for_open_runs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  add(t, (corun_job_desc_t){.name = "a"}, "out a");
  seal(t);
  corun_pool_t pools[] = {{"p", 1}};
  corun_run_options_t o = {0};
  o.pools = pools;
  o.n_pools = 1;
  corun_run_t *run = NULL;
  corun_error_t err = {0};
  assert_int_equal(corun_run_new(&run, &t->loop, t->plan, &o, &err),
                   CORUN_ESTATE);
  assert_null(run);
  assert_int_equal(err.count, 1);
  assert_string_equal(
      err.messages[0],
      "pools in the options are for open runs; a plan has its own");
  corun_error_release(&err);
  /* Pools an open run cannot take: as corun_plan_add_pool() says. */
  struct {
    corun_pool_t p[2];
    size_t n;
    const char *msg;
  } bad[] = {
      {{{"p", 0}}, 1, "run: pools.p: expected an integer of at least 1"},
      {{{"p", 1}, {"p", 2}}, 2, "run: pools.p: duplicate pool"},
      {{{"bad pool", 1}}, 1, "run: pools: invalid pool name \"bad pool\""},
      {{{NULL, 1}}, 1, "run: pools: invalid pool name \"\""},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    o.pools = bad[k].p;
    o.n_pools = bad[k].n;
    assert_int_equal(corun_run_new(&run, &t->loop, NULL, &o, &err),
                     CORUN_EINVALID);
    assert_null(run);
    assert_int_equal(err.code, CORUN_EINVALID);
    assert_int_equal(err.count, 1);
    assert_string_equal(err.messages[0], bad[k].msg);
    corun_error_release(&err);
  }
  t_finish(t);
}

/* Submit d to the run and add it to `ref` (a plan labelled as the open
 * run's is): both must give the same code and messages. */
static void same_as_plan(rec_t *r, corun_plan_t *ref, corun_job_desc_t d) {
  corun_error_t e1 = {0}, e2 = {0};
  int rc1 = corun_plan_add_job(ref, &d, &e1);
  size_t i = 4242;
  int rc2 = corun_run_submit(r->run, &d, &i, &e2);
  if (rc1 != rc2 || e1.count != e2.count) {
    print_message("plan (%d):\n", rc1);
    print_errors(&e1);
    print_message("run (%d):\n", rc2);
    print_errors(&e2);
  }
  assert_int_equal(rc1, rc2);
  assert_int_equal(e1.code, e2.code);
  assert_int_equal(e1.count, e2.count);
  for (size_t k = 0; k < e1.count; k++)
    assert_string_equal(e1.messages[k], e2.messages[k]);
  if (rc2 != 0)
    assert_int_equal(i, 4242);
  corun_error_release(&e1);
  corun_error_release(&e2);
}

static void test_open_checks_a_job_as_plan_add_job_does(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_plan_t *ref = NULL;
  assert_int_equal(corun_plan_new(&ref, "run", NULL), 0);
  rec_t *r = open_new(t, NULL);
  const char *env_mark[] = {job_mark(t), NULL};
  const char *argv[] = {tu_helper(), "out", "x", NULL};
  corun_job_desc_t ok = {.name = "ok", .argv = argv, .env = env_mark};
  same_as_plan(r, ref, ok);
  corun_job_desc_t d[] = {
      {.name = "bad name!", .shell = "true"},
      {.name = "", .shell = "true"},
      {.argv = argv, .shell = "true"},
      {.name = "nocmd"},
      {.argv = (const char *const[]){"", NULL}},
      {.argv = (const char *const[]){NULL}},
      {.shell = ""},
      {.shell = "true", .timeout_s = -1},
      {.shell = "true", .timeout_s = NAN},
      {.shell = "true", .kill_grace_s = 1e10},
      {.shell = "true", .retry_delay_s = INFINITY},
      {.shell = "true", .retries = 1001},
      {.shell = "true", .pool = "bad pool!"},
      {.shell = "true", .env = (const char *const[]){"=x", NULL}},
      {.shell = "true", .env = (const char *const[]){"", NULL}},
      {.shell = "true", .needs = (const char *const[]){"bad need!", NULL}},
      {.name = "ok", .shell = "true"},
      /* Several problems at once: every one is said. */
      {.name = "bad name!", .shell = "", .retries = 5000, .timeout_s = -2},
  };
  for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
    same_as_plan(r, ref, d[k]);
  /* Rejected jobs count among the positions, as in a plan: an unnamed
   * job is named after its position among all jobs given. */
  corun_job_desc_t unnamed = {.argv = argv, .env = env_mark};
  same_as_plan(r, ref, unnamed);
  size_t n = corun_plan_job_count(corun_run_plan(r->run));
  assert_int_equal(n, 2);
  assert_int_equal(corun_plan_job_count(ref), 2);
  assert_string_equal(corun_plan_job(corun_run_plan(r->run), 1)->name,
                      corun_plan_job(ref, 1)->name);
  assert_string_equal(corun_plan_job(ref, 1)->name,
                      fmt(t, "job-%zu", sizeof d / sizeof d[0] + 2));
  corun_plan_free(ref);
  close_input(r);
  open_start(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_results_by_index(r);
  t_finish(t);
}

/* A submission rejected with `rc`, its messages exactly `want`. */
static void expect_rejected(rec_t *r, corun_job_desc_t d, int rc,
                            const char *const *want) {
  corun_error_t err = {0};
  size_t i = 4242;
  int got = corun_run_submit(r->run, &d, &i, &err);
  size_t n = 0;
  while (want[n])
    n++;
  if (got != rc || err.count != n)
    print_errors(&err);
  assert_int_equal(got, rc);
  assert_int_equal(err.code, rc);
  assert_int_equal(err.count, n);
  for (size_t k = 0; k < n; k++)
    assert_string_equal(err.messages[k], want[k]);
  assert_int_equal(i, 4242);
  corun_error_release(&err);
}

static void test_open_rejects_needs_on_jobs_not_submitted_yet(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_pool_t pools[] = {{"p", 1}};
  corun_run_options_t o = {0};
  o.pools = pools;
  o.n_pools = 1;
  rec_t *r = open_new(t, &o);
  submit(r, (corun_job_desc_t){.name = "a"}, "out a");
  expect_rejected(r, (corun_job_desc_t){.shell = "true", .needs = NEEDS("b")},
                  CORUN_EINVALID,
                  NEEDS("run: jobs[1].needs[0]: unknown job \"b\" (a job can "
                        "need only jobs submitted before it)"));
  expect_rejected(r,
                  (corun_job_desc_t){.name = "self", .shell = "true",
                                     .needs = NEEDS("self")},
                  CORUN_EINVALID,
                  NEEDS("run: jobs[2].needs[0]: unknown job \"self\" (a job "
                        "can need only jobs submitted before it)"));
  expect_rejected(r,
                  (corun_job_desc_t){.shell = "true", .needs = NEEDS("a", "a")},
                  CORUN_EINVALID,
                  NEEDS("run: jobs[3].needs[1]: \"a\" is named twice"));
  expect_rejected(r, (corun_job_desc_t){.shell = "true", .pool = "q"},
                  CORUN_EINVALID,
                  NEEDS("run: jobs[4].pool: unknown pool \"q\""));
  /* A job with problems of both kinds hears of all of them. */
  expect_rejected(r,
                  (corun_job_desc_t){.name = "bad name!", .shell = "true",
                                     .needs = NEEDS("b")},
                  CORUN_EINVALID,
                  NEEDS("run: jobs[5].name: invalid name \"bad name!\": use 1 "
                        "to 200 of A-Z a-z 0-9 _ . : / @ + -",
                        "run: jobs[5].needs[0]: unknown job \"b\" (a job can "
                        "need only jobs submitted before it)"));
  /* The run goes on with what it took. */
  size_t b = submit(r,
                    (corun_job_desc_t){.name = "b", .needs = NEEDS("a"),
                                       .pool = "p"},
                    "out b");
  assert_int_equal(b, 1);
  close_input(r);
  open_start(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, b), "b\n");
  assert_results_by_index(r);
  t_finish(t);
}

/* ---- what applies to submitted jobs ------------------------------------- */

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

static void test_open_pools_in_options_limit_concurrency(void **state) {
  (void)state;
  tctx_t *t = t_new();
  char one[8], two[8];
  snprintf(one, sizeof one, "one");
  snprintf(two, sizeof two, "two");
  corun_pool_t pools[] = {{one, 1}, {two, 2}};
  corun_run_options_t o = {0};
  o.jobs = 8;
  o.pools = pools;
  o.n_pools = 2;
  rec_t *r = start_plan(t, NULL, NULL, &o);
  /* The names were copied. */
  memset(one, 'x', 3);
  memset(two, 'x', 3);
  unsigned set1 = 0, set2 = 0;
  for (int k = 0; k < 3; k++)
    set1 |= 1u << submit(r, (corun_job_desc_t){.pool = "one"}, "sleep 0.2");
  for (int k = 0; k < 5; k++)
    set2 |= 1u << submit(r, (corun_job_desc_t){.pool = "two"}, "sleep 0.2");
  size_t free_job = submit(r, (corun_job_desc_t){0}, "sleep 0.2");
  close_input(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(max_overlap(r, set1), 1);
  assert_int_equal(max_overlap(r, set2), 2);
  /* 1 + 2 + the free job; -j8 is not what limits. */
  assert_int_equal(r->max_running, 4);
  assert_true(ev_find(r, EV_START, free_job) < ev_find(r, EV_END, 0));
  assert_results_by_index(r);
  t_finish(t);
}

static void test_open_jobs_limit_applies(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.jobs = 2;
  rec_t *r = start_plan(t, NULL, NULL, &o);
  for (int k = 0; k < 6; k++)
    submit(r, (corun_job_desc_t){0}, "sleep 0.1");
  close_input(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->max_running, 2);
  /* Submission order is start order. */
  for (size_t i = 1; i < 6; i++)
    assert_true(ev_find(r, EV_START, i) > ev_find(r, EV_START, i - 1));
  assert_results_by_index(r);
  t_finish(t);
}

static void test_open_default_timeout_and_retries_apply(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_run_options_t o = {0};
  o.default_timeout_s = 0.3;
  rec_t *r = start_plan(t, NULL, NULL, &o);
  size_t slow = submit(r, (corun_job_desc_t){.kill_grace_s = 0.2}, "sleep 5");
  size_t retried = submit(
      r, (corun_job_desc_t){.retries = 2, .retry_delay_s = 0.05}, "exit 1");
  size_t own = submit(r, (corun_job_desc_t){.timeout_s = 5}, "sleep 0.5");
  close_input(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, slow), CORUN_TIMEOUT);
  assert_status(res(r, retried), CORUN_FAILED);
  assert_int_equal(res(r, retried)->attempts, 3);
  assert_int_equal(r->retries[retried], 2);
  assert_status(res(r, own), CORUN_OK);
  assert_results_by_index(r);
  t_finish(t);
}

/* ---- outputs ------------------------------------------------------------- */

typedef struct {
  FILE *f[CORUN_FORMAT_COUNT];
  const char *path[CORUN_FORMAT_COUNT];
} outputs_t;

/* end_hook / timer: the close comes once the timer submitted its job and
 * "bad" ended and its dependent was submitted. */
static void outputs_step(rec_t *r) {
  if (++r->user[0] == 2)
    close_input(r);
}

static void outputs_end(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == J(r, "bad")) {
    submit(r, (corun_job_desc_t){.name = "skipped", .needs = NEEDS("bad")},
           "out no");
    submit(r, (corun_job_desc_t){.name = "from-end", .needs = NEEDS("early")},
           "out from-end-out err from-end-err");
    outputs_step(r);
  }
}

static void outputs_timer(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  submit(r, (corun_job_desc_t){.name = "from-timer"}, "out from-timer-out");
  outputs_step(r);
}

static char *slurp(const char *path) {
  char *s = tu_read(path, NULL);
  if (s == NULL)
    fail_msg("cannot read %s", path);
  return s;
}

static void test_open_every_output_covers_submitted_jobs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *logs = fmt(t, "%s/logs", t->dir);
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.log_dir = logs;
  rec_t *r = open_new(t, &o);
  r->end_hook = outputs_end;
  static const char *const ext[] = {"json", "jsonl", "xml", "trace", "svg"};
  outputs_t out;
  /* One job submitted before the outputs are asked for, one after. */
  submit(r, (corun_job_desc_t){.name = "early"}, "out early-out");
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    out.path[k] = fmt(t, "%s/out.%s", t->dir, ext[k]);
    out.f[k] = fopen(out.path[k], "w+");
    assert_non_null(out.f[k]);
    assert_int_equal(corun_run_add_output(r->run, (corun_format_t)k, out.f[k]),
                     0);
  }
  submit(r, (corun_job_desc_t){.name = "bad"}, "out bad-out exit 3");
  open_start(r);
  uv_timer_start(&t->aux, outputs_timer, 50, 0);
  t_loop(t, 20);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    assert_int_equal(corun_run_output_error(r->run, (corun_format_t)k), 0);
    fclose(out.f[k]);
  }
  assert_int_equal(r->exit_code, 1);
  assert_results_by_index(r);
  const corun_plan_t *plan = corun_run_plan(r->run);
  size_t n = corun_plan_job_count(plan);
  assert_int_equal(n, 5);
  static const char *const names[] = {"early", "bad", "skipped", "from-end",
                                      "from-timer"};
  assert_string_equal(res(r, J(r, "skipped"))->reason, "need bad failed");
  assert_out(res(r, J(r, "from-end")), "from-end-out\n");
  assert_err(res(r, J(r, "from-end")), "from-end-err\n");

  /* The report: every job, in submission order, as its result says. */
  char *text = slurp(out.path[CORUN_REPORT]);
  cJSON *rep = cJSON_Parse(text);
  assert_non_null(rep);
  assert_string_equal(jget(rep, "status")->valuestring, "failed");
  const cJSON *jobs = jget(rep, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), (int)n);
  for (size_t i = 0; i < n; i++) {
    const cJSON *j = cJSON_GetArrayItem(jobs, (int)i);
    assert_string_equal(jget(j, "name")->valuestring, res(r, i)->name);
    assert_string_equal(jget(j, "status")->valuestring,
                        corun_status_name(res(r, i)->status));
  }
  const cJSON *counts = jget(rep, "counts");
  assert_int_equal(jget(counts, "ok")->valueint, 3);
  assert_int_equal(jget(counts, "failed")->valueint, 1);
  assert_int_equal(jget(counts, "skipped")->valueint, 1);
  cJSON_Delete(rep);
  /* Written by the run at its end, byte for byte as asked for later. */
  FILE *again = tmpfile();
  assert_non_null(again);
  assert_int_equal(corun_run_write_report(r->run, again, -1), 0);
  long len = ftell(again);
  assert_int_equal((size_t)len, strlen(text));
  free(text);
  fclose(again);

  char *events = slurp(out.path[CORUN_EVENTS]);
  char *junit = slurp(out.path[CORUN_JUNIT]);
  char *trace = slurp(out.path[CORUN_TRACE]);
  char *svg = slurp(out.path[CORUN_TIMELINE]);
  assert_non_null(strstr(junit, "tests=\"5\""));
  assert_non_null(strstr(events, "{\"event\":\"done\",\"status\":\"failed\""));
  assert_non_null(
      strstr(events, "{\"event\":\"skip\",\"job\":\"skipped\",\"reason\":"
                     "\"need bad failed\""));
  for (size_t k = 0; k < 5; k++) {
    const char *nm = names[k];
    size_t i = J(r, nm);
    bool ran = res(r, i)->status != CORUN_SKIPPED;
    if (strstr(events, fmt(t, "\"job\":\"%s\"", nm)) == NULL)
      fail_msg("no event of %s:\n%s", nm, events);
    if (strstr(junit, fmt(t, "<testcase classname=\"corun\" name=\"%s\"", nm)) ==
        NULL)
      fail_msg("no testcase of %s:\n%s", nm, junit);
    /* The trace and the timeline draw attempts: a skipped job has none. */
    assert_int_equal(strstr(trace, fmt(t, "{\"name\":\"%s\"", nm)) != NULL,
                     ran);
    assert_int_equal(strstr(svg, fmt(t, "<title>%s (attempt 1)", nm)) != NULL,
                     ran);
    if (ran) {
      assert_non_null(strstr(events, fmt(t, "{\"event\":\"start\",\"job\":\"%s\"", nm)));
      assert_non_null(strstr(events, fmt(t, "{\"event\":\"exit\",\"job\":\"%s\"", nm)));
    }
    /* --log-dir: a file per stream of every job that ran. */
    const char *log_out = fmt(t, "%s/%s.out", logs, nm);
    const char *log_err = fmt(t, "%s/%s.err", logs, nm);
    assert_int_equal(access(log_out, F_OK) == 0, ran);
    assert_int_equal(access(log_err, F_OK) == 0, ran);
    if (ran) {
      char *lo = slurp(log_out);
      const corun_result_t *x = res(r, i);
      assert_int_equal(strlen(lo), x->out_len);
      assert_memory_equal(lo, x->out_tail, x->out_len);
      free(lo);
    }
  }
  assert_non_null(strstr(
      events, "{\"event\":\"line\",\"job\":\"from-timer\",\"stream\":"
              "\"stdout\",\"text\":\"from-timer-out\""));
  char *lerr = slurp(fmt(t, "%s/from-end.err", logs));
  assert_string_equal(lerr, "from-end-err\n");
  free(lerr);
  free(events);
  free(junit);
  free(trace);
  free(svg);
  t_finish(t);
}

/* ---- life and death of an open run --------------------------------------- */

static void test_open_run_with_no_job_ends_once_closed(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = start_plan(t, NULL, NULL, NULL);
  /* Open and empty: nothing ends it. */
  for (int k = 0; k < 5; k++)
    uv_run(&t->loop, UV_RUN_NOWAIT);
  assert_int_equal(r->ended, 0);
  assert_int_equal(corun_run_ended(r->run), 0);
  assert_int_equal(corun_run_exit_code(r->run), -1);
  assert_int_equal(corun_run_free(r->run), CORUN_ESTATE);
  close_input(r);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->n_ev, 1); /* on_run_end alone */
  cJSON *rep = report_of(r->run, -1);
  assert_int_equal(cJSON_GetArraySize(jget(rep, "jobs")), 0);
  assert_string_equal(jget(rep, "status")->valuestring, "ok");
  cJSON_Delete(rep);
  t_finish(t);
}

static void test_open_run_can_be_freed_without_starting(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_pool_t pools[] = {{"p", 2}};
  corun_run_options_t o = {0};
  o.pools = pools;
  o.n_pools = 1;
  o.log_dir = fmt(t, "%s/logs", t->dir);
  rec_t *r = open_new(t, &o);
  FILE *f = tmpfile();
  assert_int_equal(corun_run_add_output(r->run, CORUN_TRACE, f), 0);
  submit(r, (corun_job_desc_t){.name = "a", .pool = "p"}, "out a");
  submit(r, (corun_job_desc_t){.name = "b", .needs = NEEDS("a")}, "out b");
  assert_int_equal(corun_run_free(r->run), 0);
  r->run = NULL;
  fclose(f);
  t_finish(t);
}

/* on_run_end: the run may be freed there; every result was readable
 * until then. */
static void check_and_free_in_run_end(rec_t *r) {
  size_t n = corun_plan_job_count(corun_run_plan(r->run));
  for (size_t i = 0; i < n; i++)
    assert_int_equal(res(r, i)->status, CORUN_OK);
  r->user[0] = (long)n;
}

static void test_open_run_end_comes_once_last_and_may_free(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = rec_new(t);
  r->run_end_hook = check_and_free_in_run_end;
  r->free_in_run_end = 1;
  start_plan(t, NULL, r, NULL);
  for (int k = 0; k < 3; k++)
    submit(r, (corun_job_desc_t){0}, "out x");
  close_input(r);
  t_loop(t, 20);
  assert_int_equal(r->free_rc, 0);
  assert_null(r->run);
  assert_int_equal(r->user[0], 3);
  assert_int_equal(r->run_ends, 1);
  assert_int_equal(r->ev[r->n_ev - 1].kind, EV_RUN_END);
  t_finish(t);
}

/* ---- many jobs ------------------------------------------------------------ */

static int slow_ok(void) {
  const char *v = getenv("CORUN_SLOW");
  return v == NULL || strcmp(v, "0") != 0;
}

/* The big tests keep their own counts (the recorder holds MAXJ jobs) and
 * use the recorder for on_run_end alone. */
typedef struct {
  size_t target;   /* jobs to submit in all */
  size_t batch;    /* submitted per batch (memory test) */
  size_t ended, ok, skipped, other, starts;
  size_t running, max_running;
  double t_submit; /* seconds spent in corun_run_submit */
  size_t n_submit;
  const char *mark;
  long rss[4];
  long heap[4];
  int phase;
  double t_phase[4];
} big_t;

static big_t big;

static void big_start(corun_run_t *run, void *data, size_t job,
                      unsigned attempt, long pid) {
  (void)run, (void)data, (void)job, (void)attempt, (void)pid;
  big.starts++;
  if (++big.running > big.max_running)
    big.max_running = big.running;
}

static void big_count_end(rec_t *r, size_t job, const corun_result_t *x) {
  if (job < MAXJ)
    r->job_ends[job]++;
  if (x->attempts > 0)
    big.running--;
  big.ended++;
  if (x->status == CORUN_OK)
    big.ok++;
  else if (x->status == CORUN_SKIPPED)
    big.skipped++;
  else
    big.other++;
}

static const char *const true_argv[] = {"/bin/true", NULL};

static size_t big_submit(rec_t *r, const char *name, const char *need) {
  const char *env[] = {big.mark, NULL};
  const char *needs[] = {need, NULL};
  corun_job_desc_t d = {.name = name, .argv = true_argv, .env = env,
                        .needs = need ? needs : NULL};
  size_t i = 0;
  corun_error_t err = {0};
  double t0 = tu_now();
  int rc = corun_run_submit(r->run, &d, &i, &err);
  big.t_submit += tu_now() - t0;
  big.n_submit++;
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
  return i;
}

/* Big runs: the recorder's on_run_end, the counters' other callbacks. */
static rec_t *big_run(tctx_t *t, unsigned jobs,
                      void (*on_end)(corun_run_t *, void *, size_t,
                                     const corun_result_t *)) {
  memset(&big, 0, sizeof big);
  big.mark = fmt(t, "%s_big", t->mark);
  rec_t *r = rec_new(t);
  corun_run_options_t o = {0};
  o.jobs = jobs;
  options_for(r, &o);
  o.cb.on_job_start = big_start;
  o.cb.on_output = NULL;
  o.cb.on_line = NULL;
  o.cb.on_retry = NULL;
  o.cb.on_job_end = on_end;
  assert_int_equal(corun_run_new(&r->run, &t->loop, NULL, &o, NULL), 0);
  open_start(r);
  return r;
}

static void chain_end(corun_run_t *run, void *data, size_t job,
                      const corun_result_t *x) {
  rec_t *r = data;
  (void)run;
  big_count_end(r, job, x);
  if (big.n_submit < big.target) {
    char name[32], need[32];
    snprintf(name, sizeof name, "c%zu", big.n_submit);
    snprintf(need, sizeof need, "c%zu", job);
    assert_int_equal(big_submit(r, name, need), job + 1);
  } else {
    close_input(r);
  }
}

static void test_open_big_chain_of_1000_jobs_from_job_end(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = big_run(t, 4, chain_end);
  big.target = 1000;
  double t0 = tu_now();
  big_submit(r, "c0", NULL);
  t_loop(t, 120);
  double took = tu_now() - t0;
  print_message("  chain of 1000 jobs, each submitted by the previous "
                "one's end: %.2f s (%.2f ms a job)\n",
                took, took);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(big.ended, 1000);
  assert_int_equal(big.ok, 1000);
  assert_int_equal(big.max_running, 1);
  const corun_plan_t *plan = corun_run_plan(r->run);
  assert_int_equal(corun_plan_job_count(plan), 1000);
  for (size_t i = 1; i < 1000; i++) {
    const corun_result_t *a = res(r, i - 1), *b = res(r, i);
    assert_string_equal(b->name, fmt(t, "c%zu", i));
    assert_int_equal(b->status, CORUN_OK);
    assert_true(b->started_at >= a->started_at + a->duration_s - 0.002);
  }
  t_finish(t);
}

static void skip_many(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  double t0 = tu_now();
  for (size_t k = 0; k < big.target; k++) {
    char name[32];
    snprintf(name, sizeof name, "s%zu", k);
    big_submit(r, name, "bad");
    /* Judged at once: its need failed. */
    assert_int_equal(big.ended, k + 2);
  }
  big.t_phase[0] = tu_now() - t0;
  close_input(r);
}

static void bad_then_many(corun_run_t *run, void *data, size_t job,
                          const corun_result_t *x) {
  rec_t *r = data;
  (void)run;
  big_count_end(r, job, x);
  if (job == 0)
    uv_timer_start(&r->t->aux, skip_many, 0, 0);
}

static void test_open_big_100000_submissions_skipped_by_a_failed_need(
    void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = big_run(t, 2, bad_then_many);
  big.target = slow_ok() ? 100000 : 5000;
  const char *env[] = {big.mark, NULL};
  corun_job_desc_t d = {.name = "bad", .shell = "exit 1", .env = env};
  assert_int_equal(corun_run_submit(r->run, &d, NULL, NULL), 0);
  t_loop(t, 120);
  print_message("  %zu submissions with a failed need: %.3f s, %.2f us "
                "each (in corun_run_submit %.2f us)\n",
                big.target, big.t_phase[0], big.t_phase[0] * 1e6 / big.target,
                big.t_submit * 1e6 / (double)big.n_submit);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(big.ended, big.target + 1);
  assert_int_equal(big.skipped, big.target);
  assert_string_equal(res(r, big.target)->reason, "need bad failed");
  cJSON *rep = report_of(r->run, -1);
  assert_int_equal(cJSON_GetArraySize(jget(rep, "jobs")), (int)big.target + 1);
  assert_int_equal(jget(jget(rep, "counts"), "skipped")->valueint,
                   (int)big.target);
  cJSON_Delete(rep);
  t_finish(t);
}

/* Bytes in use on glibc's heap (0 under a sanitizer's allocator). */
static long heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return (long)(mi.uordblks + mi.hblkhd);
}

/* Resident memory of this process, in bytes. */
static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res_pages = 0;
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%ld %ld", &size, &res_pages), 2);
  fclose(f);
  return res_pages * sysconf(_SC_PAGESIZE);
}

static void submit_batch(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  big.rss[big.phase] = rss_bytes();
  big.heap[big.phase] = heap_bytes();
  big.t_phase[big.phase] = tu_now();
  if (big.phase == 3) {
    close_input(r);
    return;
  }
  big.phase++;
  double t0 = tu_now();
  for (size_t k = 0; k < big.batch; k++) {
    char name[32];
    snprintf(name, sizeof name, "t%zu", big.n_submit);
    big_submit(r, name, NULL);
  }
  big.t_submit = tu_now() - t0; /* of the latest batch */
}

static void batch_end(corun_run_t *run, void *data, size_t job,
                      const corun_result_t *x) {
  rec_t *r = data;
  (void)run;
  big_count_end(r, job, x);
  if (big.ended == big.n_submit)
    uv_timer_start(&r->t->aux, submit_batch, 0, 0);
}

static void test_open_big_many_real_jobs_at_j2_in_flat_memory(void **state) {
  (void)state;
  tctx_t *t = t_new();
  rec_t *r = big_run(t, 2, batch_end);
  const char *n_env = getenv("CORUN_OPEN_BIG_N");
  big.batch = n_env ? (size_t)atol(n_env) : slow_ok() ? 2000 : 300;
  /* Three batches, each submitted once the one before ended: a warm-up,
   * then two measured ones. */
  uv_timer_start(&t->aux, submit_batch, 0, 0);
  t_loop(t, 900);
  size_t total = 3 * big.batch;
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(big.ok, total);
  assert_int_equal(big.max_running, 2);
  assert_int_equal(corun_plan_job_count(corun_run_plan(r->run)), total);
  double per_job[3];
  for (int k = 0; k < 3; k++)
    per_job[k] = (big.t_phase[k + 1] - big.t_phase[k]) / (double)big.batch;
  long batch = (long)big.batch;
  long rss2 = big.rss[2] - big.rss[1], rss3 = big.rss[3] - big.rss[2];
  long heap2 = big.heap[2] - big.heap[1], heap3 = big.heap[3] - big.heap[2];
  print_message("  %zu x /bin/true at -j2 in 3 batches: %.3f / %.3f / %.3f "
                "ms a job; corun_run_submit %.2f us a job\n",
                total, per_job[0] * 1e3, per_job[1] * 1e3, per_job[2] * 1e3,
                big.t_submit * 1e6 / (double)big.batch);
  print_message("  RSS %.1f -> %.1f -> %.1f -> %.1f MiB (%ld, %ld bytes a job "
                "in batches 2, 3)\n",
                big.rss[0] / (double)MIB, big.rss[1] / (double)MIB,
                big.rss[2] / (double)MIB, big.rss[3] / (double)MIB,
                rss2 / batch, rss3 / batch);
  print_message("  heap in use %.2f -> %.2f -> %.2f -> %.2f MiB (%ld, %ld "
                "bytes a job in batches 2, 3; %ld over both)\n",
                big.heap[0] / (double)MIB, big.heap[1] / (double)MIB,
                big.heap[2] / (double)MIB, big.heap[3] / (double)MIB,
                heap2 / batch, heap3 / batch, (heap2 + heap3) / (2 * batch));
  /*
   * What a job keeps once it ended: its description and strings in the
   * plan (~300 bytes with its argv and env), the name table, order and
   * scheduler state (~60), its result (~170) and the tail sink's state
   * (80): ~600 bytes, plus vectors that grow by doubling (a batch that
   * crosses a doubling pays for the new block). Allow 2 KiB a job and
   * 2 MiB of slack: what an ended process might leak (a handle, a pipe
   * buffer, a 64 KiB tail) would be far above it.
   */
  long bound = batch * 2048 + 2 * MIB;
  assert_true(rss2 < bound);
  assert_true(rss3 < bound);
  assert_true(heap2 < bound);
  assert_true(heap3 < bound);
  /* Freed, the run gives back all of it. */
  assert_int_equal(corun_run_free(r->run), 0);
  r->run = NULL;
  long after = heap_bytes();
  print_message("  heap in use after corun_run_free: %.2f MiB\n",
                after / (double)MIB);
  assert_true(after - big.heap[0] < MIB);
  t_finish(t);
}

#define T(name) cmocka_unit_test(name)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_open_runs_jobs_submitted_before_start),
      T(test_open_takes_jobs_from_a_timer_while_others_run),
      T(test_open_takes_jobs_from_job_end),
      T(test_open_takes_jobs_from_job_start),
      T(test_open_needs_on_ended_running_and_waiting_jobs),
      T(test_open_skips_jobs_submitted_after_a_halt),
      T(test_open_skips_jobs_submitted_after_cancel),
      T(test_open_submit_after_close_is_estate),
      T(test_open_submit_on_a_plan_run_is_estate),
      T(test_open_pools_in_options_are_for_open_runs),
      T(test_open_checks_a_job_as_plan_add_job_does),
      T(test_open_rejects_needs_on_jobs_not_submitted_yet),
      T(test_open_pools_in_options_limit_concurrency),
      T(test_open_jobs_limit_applies),
      T(test_open_default_timeout_and_retries_apply),
      T(test_open_every_output_covers_submitted_jobs),
      T(test_open_run_with_no_job_ends_once_closed),
      T(test_open_run_can_be_freed_without_starting),
      T(test_open_run_end_comes_once_last_and_may_free),
      T(test_open_big_chain_of_1000_jobs_from_job_end),
      T(test_open_big_100000_submissions_skipped_by_a_failed_need),
      T(test_open_big_many_real_jobs_at_j2_in_flat_memory),
  };
  return RUN_SUITE("run_open", tests);
}
