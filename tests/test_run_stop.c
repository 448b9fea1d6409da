/*
 * Runs, stopping process trees (SPEC §2): timeouts (a job's own and the
 * default one) of jobs with forked grandchildren, SIGKILL after the kill
 * grace for what ignores SIGTERM, background processes holding the output
 * pipes, no zombies during a run, orphans reaped as a subreaper.
 *
 * The harness (a loop and watchdog per test, the recorder of callbacks,
 * the check that no job's process is left) is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- stopping jobs (SPEC §2) ---------------------------------------------- */

/* SIGKILL every live process whose environment holds `needle`; returns
 * how many there were. */
static int kill_marked(const char *needle) {
  int count = 0;
  DIR *d = opendir("/proc");
  if (d == NULL)
    return 0;
  struct dirent *e;
  size_t nl = strlen(needle);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    static char env[65536];
    ssize_t n = read(fd, env, sizeof env);
    close(fd);
    for (ssize_t i = 0; n > 0 && i + (ssize_t)nl <= n; i++)
      if (memcmp(env + i, needle, nl) == 0) {
        kill((pid_t)atol(e->d_name), SIGKILL);
        count++;
        break;
      }
  }
  closedir(d);
  return count;
}

static void test_run_timeout_stops_forked_grandchildren(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.timeout_s = 0.3;
  size_t a = add_sh(t, d, "sleep 300 & sleep 300");
  d.kill_grace_s = 1;
  size_t b = add(t, d, "fork 5 300 sleep 300");
  seal(t);
  double t0 = tu_now();
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  double took = tu_now() - t0;
  print_message("  timeout 0.3 s with grandchildren: %.3f s (jobs %.3f, %.3f)\n",
                took, res(r, a)->duration_s, res(r, b)->duration_s);
  assert_int_equal(r->exit_code, 1);
  for (size_t j = a; j <= b; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_TIMEOUT);
    assert_int_equal(x->signal, SIGTERM);
    assert_int_equal(x->exit_code, -1);
    assert_true(x->duration_s >= 0.29);
  }
  /* Well before the sleeps' 300 s: within the timeout and the grace. */
  assert_true(res(r, a)->duration_s < 0.3 + 5.0 + 1.0);
  assert_true(res(r, b)->duration_s < 0.3 + 1.0 + 1.0);
  assert_int_equal(tu_count_marked(t->mark), 0);
  t_finish(t);
}

static void test_run_sigterm_ignored_gets_sigkill_after_grace(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.timeout_s = 0.2;
  d.kill_grace_s = 0.5;
  size_t a = add(t, d, "ignterm sleep 300");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  print_message("  ignoring SIGTERM: ended after %.3f s\n", x->duration_s);
  assert_status(x, CORUN_TIMEOUT);
  assert_int_equal(x->signal, SIGKILL);
  assert_int_equal(x->exit_code, -1);
  assert_true(x->duration_s >= 0.2 + 0.5 - 0.02);
  assert_true(x->duration_s < 0.2 + 0.5 + 0.8);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void test_run_background_process_holding_stdout_does_not_hang(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add_sh(t, d, "sleep 300 & echo hi");
  /* A pipe held by a process outside the job's group: awaited only for
   * the kill grace. */
  d.kill_grace_s = 0.5;
  size_t b = add_sh(t, d,
                    "setsid sh -c 'touch started; exec sleep 300' & "
                    "while [ ! -e started ]; do sleep 0.01; done; echo escaped");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  /* The escaped sleep left the job's session on purpose: corun is not
   * asked to stop it, so the test does (by its marker). */
  int escaped = kill_marked(t->mark);
  print_message("  background sleep: %.3f s; escaped sleep: %.3f s\n",
                res(r, a)->duration_s, res(r, b)->duration_s);
  assert_int_equal(r->exit_code, 0);
  assert_status(res(r, a), CORUN_OK);
  assert_int_equal(res(r, a)->exit_code, 0);
  assert_out(res(r, a), "hi\n");
  /* Never longer than the kill grace (5 s); at once when this process
   * reaps the orphans (see the subreaper test below). */
  assert_true(res(r, a)->duration_s < 5.0 + 1.0);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "escaped\n");
  assert_true(res(r, b)->duration_s < 0.5 + 1.0);
  assert_int_equal(escaped, 1);
  t_finish(t);
}

static void test_run_job_forking_then_exiting_ends_ok(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "fork 200 300 out forked exit 0");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  print_message("  fork 200 then exit: %.3f s\n", x->duration_s);
  assert_status(x, CORUN_OK);
  assert_int_equal(x->exit_code, 0);
  assert_int_equal(x->signal, 0);
  assert_out(x, "forked\n");
  assert_true(x->duration_s < 5.0 + 1.0);
  t_finish(t);
}

static void test_run_default_timeout_applies_to_jobs_without_one(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 30");
  d.timeout_s = 5;
  size_t b = add(t, d, "sleep 0.4 out own");
  seal(t);
  corun_run_options_t o = {0};
  /* The caller's strings are copied: these are gone once the run exists. */
  char *halt = strdup("never");
  char *log_dir = strdup(fmt(t, "%s/new/logs", t->dir));
  o.halt = halt;
  o.log_dir = log_dir;
  o.default_timeout_s = 0.2;
  rec_t *r = rec_new(t);
  options_for(r, &o);
  corun_error_t err = {0};
  assert_int_equal(corun_run_new(&r->run, &t->loop, t->plan, &o, &err), 0);
  memset(halt, 'x', strlen(halt));
  memset(log_dir, 'x', strlen(log_dir));
  free(halt);
  free(log_dir);
  assert_int_equal(corun_run_start(r->run), 0);
  r->started = 1;
  t_loop(t, 20);
  assert_status(res(r, a), CORUN_TIMEOUT);
  assert_true(res(r, a)->duration_s < 0.2 + 2.0);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "own\n");
  size_t n = 0;
  char *logged = tu_read(fmt(t, "%s/new/logs/job-2.out", t->dir), &n);
  assert_non_null(logged);
  assert_string_equal(logged, "own\n");
  free(logged);
  t_finish(t);
}

static void test_run_sigterm_ignoring_grandchild_is_killed_after_grace(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *h = tu_helper();
  corun_job_desc_t d = {0};
  d.timeout_s = 0.2;
  d.kill_grace_s = 0.5;
  /* The main process dies of SIGTERM; the grandchild ignores it. */
  size_t a = add_sh(t, d, fmt(t, "(trap '' TERM; exec %s sleep 300) & "
                                 "exec %s sleep 300", h, h));
  d.timeout_s = 0;
  /* The same without a timeout: the main process just exits. */
  size_t b = add_sh(t, d, fmt(t, "(trap '' TERM; exec %s sleep 300) & "
                                 "echo main-done", h));
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  print_message("  SIGTERM-ignoring grandchild: %.3f s, %.3f s\n",
                res(r, a)->duration_s, res(r, b)->duration_s);
  assert_status(res(r, a), CORUN_TIMEOUT);
  assert_int_equal(res(r, a)->signal, SIGTERM);
  assert_true(res(r, a)->duration_s >= 0.2 + 0.5 - 0.02);
  assert_true(res(r, a)->duration_s < 0.2 + 0.5 + 1.0);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "main-done\n");
  assert_true(res(r, b)->duration_s >= 0.5 - 0.02);
  assert_true(res(r, b)->duration_s < 0.5 + 1.0);
  /* Right away, not after a while: the grandchildren got SIGKILL. */
  assert_int_equal(tu_wait_unmarked(t->mark, 0.5), 0);
  t_finish(t);
}

/* ---- no zombies ------------------------------------------------------------ */

/* Zombie children of this process that are not among `allowed` (the pids
 * of jobs still running); with allowed NULL, every zombie counts. */
static int stray_zombies(const rec_t *r, int only_ended) {
  int count = 0;
  DIR *d = opendir("/proc/self/task");
  if (d == NULL)
    return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
      if (tu_pid_state(pid) != 'Z')
        continue;
      int running_job = 0;
      for (size_t j = 0; only_ended && j < MAXJ; j++)
        if (r->state[j] == 1 && r->starts[j] > 0 &&
            r->pids[j][r->starts[j] - 1] == pid)
          running_job = 1;
      if (!running_job) {
        print_message("  zombie child %ld\n", pid);
        count++;
      }
    }
    fclose(f);
  }
  closedir(d);
  return count;
}

static void zombie_scan(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  t->user[2] += stray_zombies(r, 1);
  t->user[3]++;
}

static void zombie_end_hook(rec_t *r, size_t job, const corun_result_t *x) {
  (void)job;
  if (x->pid > 0 && tu_pid_state(x->pid) == 'Z')
    r->user[0]++;
  r->user[1] += stray_zombies(r, 1);
}

static void zombie_run_end(rec_t *r) {
  r->user[1] += stray_zombies(r, 0);
  uv_timer_stop(&r->t->aux);
}

static void test_run_leaves_no_zombie_during_a_long_run(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "sleep 1.0 out long");
  for (int i = 0; i < 16; i++)
    add(t, d, i % 2 ? "out quick" : "sleep 0.05 exit 1");
  d.timeout_s = 0.1;
  add(t, d, "sleep 30");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 4;
  rec_t *r = rec_new(t);
  r->end_hook = zombie_end_hook;
  r->run_end_hook = zombie_run_end;
  uv_timer_start(&t->aux, zombie_scan, 10, 10);
  start(t, r, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_true(t->user[3] > 10);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->user[1], 0);
  assert_int_equal(t->user[2], 0);
  assert_int_equal(stray_zombies(r, 0), 0);
  t_finish(t);
}

/* As the CLI does: orphans of jobs become our children; none is left. */
static void test_run_as_subreaper_reaps_orphans_of_jobs(void **state) {
  (void)state;
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "fork 50 300 out forked exit 0");
  size_t b = add_sh(t, d, "sleep 300 & echo hi");
  d.timeout_s = 0.2;
  size_t c = add_sh(t, d, "sleep 300 & sleep 300");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  print_message("  as subreaper: %.3f s, %.3f s, %.3f s\n",
                res(r, a)->duration_s, res(r, b)->duration_s,
                res(r, c)->duration_s);
  assert_status(res(r, a), CORUN_OK);
  assert_out(res(r, a), "forked\n");
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "hi\n");
  assert_status(res(r, c), CORUN_TIMEOUT);
  assert_true(res(r, a)->duration_s < 2.0);
  assert_true(res(r, b)->duration_s < 2.0);
  assert_true(res(r, c)->duration_s < 2.0);
  assert_int_equal(stray_zombies(r, 0), 0);
  t_finish(t);
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_timeout_stops_forked_grandchildren),
      cmocka_unit_test(test_run_sigterm_ignored_gets_sigkill_after_grace),
      cmocka_unit_test(test_run_background_process_holding_stdout_does_not_hang),
      cmocka_unit_test(test_run_job_forking_then_exiting_ends_ok),
      cmocka_unit_test(test_run_default_timeout_applies_to_jobs_without_one),
      cmocka_unit_test(test_run_sigterm_ignoring_grandchild_is_killed_after_grace),
      cmocka_unit_test(test_run_leaves_no_zombie_during_a_long_run),
      cmocka_unit_test(test_run_as_subreaper_reaps_orphans_of_jobs),
  };
  return RUN_SUITE("test_run_stop", tests);
}
