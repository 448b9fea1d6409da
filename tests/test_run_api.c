/*
 * Runs, the API rules (SPEC §6): callbacks in the documented order, run
 * state (exit code, ended, started_at, duration), freeing from on_run_end
 * and the CORUN_ESTATE refusals, unsealed plans, several runs on one loop
 * beside the caller's timer, the blocking run, an empty plan.
 *
 * The harness (a loop and watchdog per test, the recorder of callbacks,
 * the check that no job's process is left) is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- the API rules (SPEC §6) ----------------------------------------------- */

static void order_start_hook(rec_t *r, size_t job, unsigned attempt, long pid) {
  (void)job;
  (void)attempt;
  (void)pid;
  if (corun_run_ended(r->run) || corun_run_exit_code(r->run) != -1)
    r->violations++;
}

static void test_run_callbacks_fire_in_documented_order(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "out x err y");
  size_t b = add(t, d, "sleep 0.1 out z");
  const char *na[] = {"job-1", NULL};
  d.needs = na;
  size_t c = add(t, d, "nonl w");
  d.needs = NULL;
  size_t e = add(t, d, "exit 1");
  const char *ne[] = {"job-4", NULL};
  d.needs = ne;
  size_t f = add(t, d, "out never");
  d.needs = NULL;
  const char *nocmd[] = {"corun-no-such-command-zz9", NULL};
  d.argv = nocmd;
  size_t g = add(t, d, NULL);
  seal(t);
  rec_t *r = rec_new(t);
  r->want_lines = 1;
  r->start_hook = order_start_hook;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(corun_run_exit_code(r->run), 1);
  assert_true(corun_run_ended(r->run));
  assert_false(corun_run_cancelled(r->run));
  size_t want_starts[] = {1, 1, 1, 1, 0, under_valgrind() ? 1 : 0};
  size_t jobs[] = {a, b, c, e, f, g};
  for (int i = 0; i < 6; i++) {
    assert_int_equal(r->starts[jobs[i]], want_starts[i]);
    assert_int_equal(r->job_ends[jobs[i]], 1);
    if (want_starts[i])
      assert_true(ev_find(r, EV_START, jobs[i]) < ev_find(r, EV_END, jobs[i]));
  }
  assert_int_equal(r->out_bytes[a][0], 2);
  assert_int_equal(r->out_bytes[a][1], 2);
  assert_string_equal(r->lines[a][0].p, "x\n");
  assert_string_equal(r->lines[a][1].p, "y\n");
  assert_string_equal(r->lines[c][0].p, "w\n");
  /* run_end exactly once, and last. */
  assert_int_equal(r->run_ends, 1);
  assert_int_equal(r->ev[r->n_ev - 1].kind, EV_RUN_END);
  for (size_t i = 0; i + 1 < r->n_ev; i++)
    assert_true(r->ev[i].kind != EV_RUN_END);
  assert_int_equal(r->halts, 0);
  assert_true(corun_run_duration(r->run) > 0.09);
  double now = (double)time(NULL);
  assert_true(corun_run_started_at(r->run) > now - 60);
  assert_true(corun_run_started_at(r->run) < now + 1);
  assert_true(res(r, a)->started_at >= corun_run_started_at(r->run) - 0.001);
  assert_true(res(r, a)->started_at < now + 1);
  t_finish(t);
}

static void test_run_free_from_on_run_end(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "out a err b");
  add(t, d, "exit 1");
  seal(t);
  rec_t *r = rec_new(t);
  r->free_in_run_end = 1;
  r->free_rc = -1;
  r->want_lines = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_null(r->run);
  assert_int_equal(r->free_rc, 0);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->end[0].status, CORUN_OK);
  assert_int_equal(r->end[1].status, CORUN_FAILED);
  t_finish(t);
}

static void free_while_running_hook(rec_t *r, size_t job, unsigned attempt,
                                    long pid) {
  (void)job;
  (void)attempt;
  (void)pid;
  r->user[0] = corun_run_free(r->run);
  r->user[1] = corun_run_start(r->run);
}

static void test_run_free_while_running_is_estate(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "sleep 0.2 out a");
  seal(t);
  /* A run never started may be freed. */
  corun_run_t *unused = NULL;
  corun_error_t err = {0};
  assert_int_equal(corun_run_new(&unused, &t->loop, t->plan, NULL, &err), 0);
  assert_int_equal(corun_run_exit_code(unused), -1);
  assert_false(corun_run_ended(unused));
  assert_int_equal(corun_run_free(unused), 0);
  rec_t *r = rec_new(t);
  r->start_hook = free_while_running_hook;
  start(t, r, NULL);
  assert_int_equal(corun_run_free(r->run), CORUN_ESTATE);
  assert_int_equal(corun_run_start(r->run), CORUN_ESTATE);
  t_loop(t, 20);
  assert_int_equal(r->user[0], CORUN_ESTATE);
  assert_int_equal(r->user[1], CORUN_ESTATE);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 0), "a\n");
  t_finish(t);

  /* An unsealed plan cannot be run. */
  corun_plan_t *p = NULL;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(corun_plan_new(&p, NULL, NULL), 0);
  corun_run_t *run = (corun_run_t *)&run;
  assert_int_equal(corun_run_new(&run, &loop, p, NULL, &err), CORUN_ESTATE);
  assert_null(run);
  assert_int_equal(err.code, CORUN_ESTATE);
  corun_error_release(&err);
  corun_plan_free(p);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void tick(uv_timer_t *h) {
  tctx_t *t = h->data;
  t->user[0]++;
}

static void close_aux_when_both_ended(rec_t *r) {
  tctx_t *t = r->t;
  if (++t->user[1] == 2) {
    uv_timer_stop(&t->aux);
    uv_close((uv_handle_t *)&t->aux, NULL);
  }
}

static void test_run_two_runs_on_one_loop_beside_a_timer(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "sleep 0.3 out one-a");
  add(t, d, "lines 5000 30");
  seal(t);
  corun_plan_t *p2 = NULL;
  assert_int_equal(corun_plan_new(&p2, "second", t->dir), 0);
  add_to(t, p2, d, "sleep 0.2 out two-a");
  add_to(t, p2, d, "lines 7000 30");
  add_to(t, p2, d, "exit 5");
  seal_plan(p2);
  uv_timer_start(&t->aux, tick, 20, 20);
  rec_t *r1 = rec_new(t), *r2 = rec_new(t), *r3 = rec_new(t);
  r1->run_end_hook = r2->run_end_hook = close_aux_when_both_ended;
  r1->line_w = r2->line_w = r3->line_w = 30;
  start(t, r1, NULL);
  start_plan(t, p2, r2, NULL);
  /* The same plan twice at once. */
  r3->run_end_hook = NULL;
  start(t, r3, NULL);
  t_loop(t, 20);
  /* The loop kept serving the timer while the runs went on (20 ms ticks
   * over at least 0.3 s; fewer when the loop is slowed down). */
  print_message("  timer ticks during the runs: %ld\n", t->user[0]);
  assert_true(t->user[0] >= 3);
  assert_int_equal(r1->exit_code, 0);
  assert_int_equal(r2->exit_code, 1);
  assert_int_equal(r3->exit_code, 0);
  assert_out(res(r1, 0), "one-a\n");
  assert_out(res(r3, 0), "one-a\n");
  assert_out(res(r2, 0), "two-a\n");
  assert_int_equal(res(r2, 2)->exit_code, 5);
  assert_int_equal(r1->n_lines[1][0], 5000);
  assert_int_equal(r3->n_lines[1][0], 5000);
  assert_int_equal(r2->n_lines[1][0], 7000);
  assert_int_equal(r1->line_bad[1] + r2->line_bad[1] + r3->line_bad[1], 0);
  assert_true(res(r1, 0)->pid != res(r3, 0)->pid);
  assert_int_equal(corun_run_free(r2->run), 0);
  r2->run = NULL;
  corun_plan_free(p2);
  t_finish(t);
}

static void test_run_blocking_returns_exit_code_and_results(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "out hello err world");
  d.allow_failure = 1;
  add(t, d, "exit 2");
  seal(t);
  corun_run_t *run = NULL;
  corun_error_t err = {0};
  assert_int_equal(corun_run_blocking(&run, t->plan, NULL, &err), 0);
  assert_non_null(run);
  assert_true(corun_run_ended(run));
  assert_int_equal(corun_run_exit_code(run), 0);
  assert_status(corun_run_result(run, 0), CORUN_OK);
  assert_out(corun_run_result(run, 0), "hello\n");
  assert_err(corun_run_result(run, 0), "world\n");
  assert_int_equal(corun_run_result(run, 1)->exit_code, 2);
  assert_int_equal(corun_run_free(run), 0);
  t_finish(t);

  t = t_new();
  d.allow_failure = 0;
  add(t, d, "out a");
  add(t, d, "exit 3");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 1;
  o.tail_bytes = 1;
  assert_int_equal(corun_run_blocking(&run, t->plan, &o, &err), 1);
  assert_non_null(run);
  assert_out(corun_run_result(run, 0), "\n");
  assert_int_equal(corun_run_result(run, 0)->out_truncated, 1);
  assert_status(corun_run_result(run, 1), CORUN_FAILED);
  assert_int_equal(corun_run_result(run, 1)->exit_code, 3);
  assert_int_equal(corun_run_free(run), 0);
  /* An invalid halt policy is an error and no run. */
  o.halt = "sometimes";
  run = (corun_run_t *)&run;
  assert_int_equal(corun_run_blocking(&run, t->plan, &o, &err), CORUN_EINVALID);
  assert_null(run);
  assert_true(err.count >= 1);
  corun_error_release(&err);
  t_finish(t);
}

static void test_run_empty_plan_succeeds_at_once(void **state) {
  (void)state;
  tctx_t *t = t_new();
  load_json(t, "{\"jobs\":[]}");
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 5);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->run_ends, 1);
  assert_int_equal(r->n_ev, 1);
  cJSON *root = report_of(r->run, -1);
  assert_int_equal(cJSON_GetArraySize(jget(root, "jobs")), 0);
  assert_string_equal(jget(root, "status")->valuestring, "ok");
  cJSON_Delete(root);
  t_finish(t);
}

/*
 * A sealed plan never changes: which jobs a run takes is the run's own
 * option. Selecting every job of the plan after a run of one was made
 * (as corun_plan_select() once did, in the plan) must not put a job the
 * run never had into its report as "pending".
 */
static void test_run_selection_belongs_to_the_run(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "a";
  size_t a = add(t, d, "out a");
  d.name = "b";
  size_t b = add(t, d, "out b");
  seal(t);
  const char *want[] = {"a"};
  corun_run_options_t o = {0};
  o.select = want;
  o.n_select = 1;
  rec_t *r = start(t, NULL, &o);
  /* Select everything, for inspection, while the run goes on. */
  unsigned char all[2] = {0, 0};
  assert_int_equal(corun_plan_select(t->plan, NULL, 0, all, NULL), 0);
  assert_true(all[a] && all[b]);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_true(corun_run_selected(r->run, a));
  assert_false(corun_run_selected(r->run, b));
  assert_int_equal(r->starts[b], 0);
  cJSON *root = report_of(r->run, -1);
  const cJSON *jobs = jget(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 1);
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 0), "name")->valuestring, "a");
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 0), "status")->valuestring, "ok");
  cJSON_Delete(root);
  t_finish(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_callbacks_fire_in_documented_order),
      cmocka_unit_test(test_run_free_from_on_run_end),
      cmocka_unit_test(test_run_free_while_running_is_estate),
      cmocka_unit_test(test_run_two_runs_on_one_loop_beside_a_timer),
      cmocka_unit_test(test_run_blocking_returns_exit_code_and_results),
      cmocka_unit_test(test_run_empty_plan_succeeds_at_once),
      cmocka_unit_test(test_run_selection_belongs_to_the_run),
  };
  return RUN_SUITE("test_run_api", tests);
}
