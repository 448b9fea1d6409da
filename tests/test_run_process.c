/*
 * Runs, processes: what a job gets and how it ends (SPEC §2): commands and
 * folders that cannot be started, the environment (set, unset, inherited),
 * stdin text and EOF, the working folder, exit codes and deaths by signal,
 * default signal dispositions and mask, output closed before the exit.
 *
 * The harness (a loop and watchdog per test, the recorder of callbacks,
 * the check that no job's process is left) is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

/* ---- jobs that cannot start ---------------------------------------------- */

static void test_run_missing_command_is_error(void **state) {
  (void)state;
  if (under_valgrind())
    skip();
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  const char *nocmd[] = {"corun-no-such-command-zz9", "x", NULL};
  const char *nopath[] = {"/nonexistent/corun/cmd", NULL};
  d.argv = nocmd;
  size_t a = add(t, d, NULL);
  d.argv = nopath;
  size_t b = add(t, d, NULL);
  d.argv = NULL;
  const char *need[] = {"job-1", NULL};
  d.needs = need;
  size_t c = add(t, d, "out never");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  for (size_t j = a; j <= b; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_ERROR);
    assert_non_null(x->error);
    print_message("  error: %s\n", x->error);
    assert_non_null(strstr(x->error, "No such file or directory"));
    assert_int_equal(x->pid, 0);
    assert_int_equal(x->exit_code, -1);
    assert_int_equal(x->signal, 0);
    assert_int_equal(x->attempts, 1);
    assert_int_equal(r->starts[j], 0);
    assert_int_equal(r->job_ends[j], 1);
  }
  assert_non_null(strstr(res(r, a)->error, "corun-no-such-command-zz9"));
  assert_status(res(r, c), CORUN_SKIPPED);
  t_finish(t);
}

static void test_run_missing_cwd_is_error(void **state) {
  (void)state;
  if (under_valgrind())
    skip();
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.cwd = "no-such-folder";
  size_t a = add(t, d, "out never");
  d.cwd = "/nonexistent/corun/dir";
  size_t b = add(t, d, "out never");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  for (size_t j = a; j <= b; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_ERROR);
    assert_non_null(x->error);
    print_message("  error: %s\n", x->error);
    assert_non_null(strstr(x->error, "No such file or directory"));
    assert_int_equal(x->pid, 0);
    assert_int_equal(r->starts[j], 0);
  }
  assert_non_null(strstr(res(r, a)->error, "no-such-folder"));
  assert_non_null(strstr(res(r, b)->error, "/nonexistent/corun/dir"));
  t_finish(t);
}

/* ---- what a job gets: env, stdin, cwd ------------------------------------- */

static void test_run_env_set_and_unset(void **state) {
  (void)state;
  setenv("CORUN_T_INHERITED", "from-parent", 1);
  unsetenv("CORUN_T_NEVER");
  tctx_t *t = t_new();
  const char *h = jq(t, tu_helper());
  load_json(t, fmt(t,
      "{\"defaults\":{\"env\":{\"CORUN_T_A\":\"1\",\"CORUN_T_B\":\"2\"}},"
      "\"jobs\":["
      "{\"name\":\"plain\",\"cmd\":[%s,\"env\",\"CORUN_T_INHERITED\","
      "\"env\",\"CORUN_T_A\",\"env\",\"CORUN_T_B\",\"env\",\"CORUN_T_NEVER\"],"
      "\"env\":{%s}},"
      "{\"name\":\"changed\",\"cmd\":[%s,\"env\",\"CORUN_T_INHERITED\","
      "\"env\",\"CORUN_T_A\",\"env\",\"CORUN_T_B\",\"env\",\"CORUN_T_SET\"],"
      "\"env\":{%s,\"CORUN_T_INHERITED\":null,\"CORUN_T_B\":null,"
      "\"CORUN_T_SET\":\"with space = and \\u00e9\"}}]}",
      h, jmark(t), h, jmark(t)));
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 0), "CORUN_T_INHERITED=from-parent\nCORUN_T_A=1\n"
                        "CORUN_T_B=2\nCORUN_T_NEVER unset\n");
  assert_out(res(r, 1), "CORUN_T_INHERITED unset\nCORUN_T_A=1\n"
                        "CORUN_T_B unset\nCORUN_T_SET=with space = and \xC3\xA9\n");
  t_finish(t);

  /* The same in code: "K=V" sets, "K" unsets, the last entry wins. */
  t = t_new();
  corun_job_desc_t d = {0};
  const char *env[] = {"CORUN_T_INHERITED", "CORUN_T_X=first",
                       "CORUN_T_X=second", "CORUN_T_Y=y", NULL};
  d.env = env;
  add(t, d, "env CORUN_T_INHERITED env CORUN_T_X env CORUN_T_Y");
  seal(t);
  r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 0), "CORUN_T_INHERITED unset\nCORUN_T_X=second\n"
                        "CORUN_T_Y=y\n");
  t_finish(t);

  /* Without env, a job gets this process's environment as it is now (the
   * marker is set here; /proc shows this process's initial one). */
  t = t_new();
  const char *m = job_mark(t);
  char *name = strndup(m, (size_t)(strchr(m, '=') - m));
  assert_int_equal(setenv(name, strchr(m, '=') + 1, 1), 0);
  const char *argv[] = {tu_helper(), "env", "CORUN_T_INHERITED", "env", name,
                        NULL};
  corun_job_desc_t plain = {0};
  plain.argv = argv;
  corun_error_t err = {0};
  assert_int_equal(corun_plan_add_job(t->plan, &plain, &err), 0);
  seal(t);
  r = start(t, NULL, NULL);
  t_loop(t, 20);
  unsetenv(name);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 0), fmt(t, "CORUN_T_INHERITED=from-parent\n%s\n", m));
  free(name);
  t_finish(t);
  unsetenv("CORUN_T_INHERITED");
}

static void test_run_stdin_text_and_eof_by_default(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.stdin_text = "hello\nworld\n\x01\x7f no newline";
  size_t a = add(t, d, "cat");
  d.stdin_text = NULL;
  size_t b = add(t, d, "cat out after-eof");
  d.stdin_text = "";
  size_t c = add(t, d, "cat out empty");
  /* Bigger than any pipe buffer, read at the job's own pace. */
  size_t big_n = 3 * MIB + 5;
  char *big = malloc(big_n + 1);
  assert_non_null(big);
  for (size_t i = 0; i < big_n; i++)
    big[i] = (char)('A' + (i * 31 + i / 1000) % 26);
  big[big_n] = '\0';
  d.stdin_text = big;
  size_t e = add(t, d, "sleep 0.1 cat");
  free(big); /* copied by add_job */
  seal(t);
  rec_t *r = rec_new(t);
  r->want_output = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, a), "hello\nworld\n\x01\x7f no newline");
  assert_out(res(r, b), "after-eof\n");
  assert_out(res(r, c), "empty\n");
  assert_status(res(r, b), CORUN_OK);
  assert_int_equal(res(r, b)->exit_code, 0);
  assert_int_equal(r->out[e][0].len, big_n);
  const char *want = corun_plan_job(t->plan, e)->stdin_text;
  assert_non_null(want);
  assert_int_equal(strlen(want), big_n);
  assert_memory_equal(r->out[e][0].p, want, big_n);
  t_finish(t);
}

static void test_run_cwd_relative_to_plan_folder(void **state) {
  (void)state;
  tctx_t *t = t_new();
  char *sub = NULL;
  assert_true(asprintf(&sub, "%s/sub", t->dir) > 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  char real_dir[PATH_MAX], real_sub[PATH_MAX];
  assert_non_null(realpath(t->dir, real_dir));
  assert_non_null(realpath(sub, real_sub));
  free(sub);
  corun_job_desc_t d = {0};
  d.cwd = "sub";
  size_t a = add(t, d, "cwd");
  d.cwd = NULL;
  size_t b = add(t, d, "cwd");
  d.cwd = "/";
  size_t c = add(t, d, "cwd");
  d.cwd = "sub/..";
  size_t e = add(t, d, "cwd");
  /* A relative command path is found from the job's folder. */
  char *script = tu_write(t->dir, "sub/run.sh", "#!/bin/sh\necho script in \"$(pwd)\"\n");
  assert_int_equal(chmod(script, 0755), 0);
  free(script);
  const char *rel[] = {"./run.sh", NULL};
  d.cwd = "sub";
  d.argv = rel;
  size_t g = add(t, d, NULL);
  d.argv = NULL;
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, a), fmt(t, "%s\n", real_sub));
  assert_out(res(r, b), fmt(t, "%s\n", real_dir));
  assert_out(res(r, c), "/\n");
  assert_out(res(r, e), fmt(t, "%s\n", real_dir));
  assert_out(res(r, g), fmt(t, "script in %s\n", real_sub));
  t_finish(t);

  /* A job file's relative cwd is resolved against its folder. */
  t = t_new();
  assert_true(asprintf(&sub, "%s/deeper", t->dir) > 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_non_null(realpath(sub, real_sub));
  assert_non_null(realpath(t->dir, real_dir));
  free(sub);
  const char *h = jq(t, tu_helper());
  load_json(t, fmt(t,
      "{\"jobs\":[{\"cmd\":[%s,\"cwd\"],\"cwd\":\"deeper\",\"env\":{%s}},"
      "{\"cmd\":[%s,\"cwd\"],\"env\":{%s}}]}",
      h, jmark(t), h, jmark(t)));
  r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_out(res(r, 0), fmt(t, "%s\n", real_sub));
  assert_out(res(r, 1), fmt(t, "%s\n", real_dir));
  t_finish(t);
}

/* ---- how a job ends ------------------------------------------------------- */

static void test_run_killed_by_signal_is_failed(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  int sigs[] = {9, 11, 15, 6};
  for (int i = 0; i < 4; i++)
    add(t, d, fmt(t, "out before kill %d", sigs[i]));
  add(t, d, "exit 7");
  add(t, d, "exit 255");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  for (int i = 0; i < 4; i++) {
    const corun_result_t *x = res(r, (size_t)i);
    assert_status(x, CORUN_FAILED);
    assert_int_equal(x->signal, sigs[i]);
    assert_int_equal(x->exit_code, -1);
    assert_out(x, "before\n");
  }
  assert_int_equal(res(r, 4)->exit_code, 7);
  assert_int_equal(res(r, 4)->signal, 0);
  assert_status(res(r, 4), CORUN_FAILED);
  assert_int_equal(res(r, 5)->exit_code, 255);
  assert_status(res(r, 5), CORUN_FAILED);
  t_finish(t);
}

static void test_run_job_closing_its_output_early_is_awaited(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add_sh(t, d, "echo bye; exec >&- 2>&-; sleep 0.4; exit 3");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->exit_code, 3);
  assert_out(res(r, a), "bye\n");
  assert_true(res(r, a)->duration_s >= 0.39);
  t_finish(t);
}

/* What the embedder ignores or blocks is not what its jobs get: they start
 * with default SIGPIPE and an empty signal mask. */
static void test_run_jobs_get_default_signals(void **state) {
  (void)state;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old), 0);
  /* SIGPIPE is ignored by run_suite() already. */
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add_sh(t, d, fmt(t, "{ %s bytes 100000000; echo rc=$? >&2; } | "
                                 "head -c 1 >/dev/null", tu_helper()));
  d.timeout_s = 0.2;
  d.kill_grace_s = 3;
  size_t b = add(t, d, "sleep 30");
  d.timeout_s = 0;
  size_t c = add(t, d, "kill 2");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
  assert_status(res(r, a), CORUN_OK);
  assert_err(res(r, a), "rc=141\n");
  assert_status(res(r, b), CORUN_TIMEOUT);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  assert_true(res(r, b)->duration_s < 0.2 + 1.0);
  assert_status(res(r, c), CORUN_FAILED);
  assert_int_equal(res(r, c)->signal, SIGINT);
  t_finish(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_missing_command_is_error),
      cmocka_unit_test(test_run_missing_cwd_is_error),
      cmocka_unit_test(test_run_env_set_and_unset),
      cmocka_unit_test(test_run_stdin_text_and_eof_by_default),
      cmocka_unit_test(test_run_cwd_relative_to_plan_folder),
      cmocka_unit_test(test_run_killed_by_signal_is_failed),
      cmocka_unit_test(test_run_job_closing_its_output_early_is_awaited),
      cmocka_unit_test(test_run_jobs_get_default_signals),
  };
  return RUN_SUITE("test_run_process", tests);
}
