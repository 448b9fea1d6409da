/*
 * Plans built in code through the public API (SPEC §1, §6): validation of
 * each job with its exact message, names, needs, pools, cycles, selection,
 * the order and large graphs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corun.h"
#include "testutil.h"

#define NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void print_errors(const corun_error_t *err) {
  for (size_t i = 0; i < err->count; i++)
    print_message("  message %zu: %s\n", i, err->messages[i]);
}

/* Plans of the current test; teardown frees those a failed assertion
 * left behind. */
static corun_plan_t *live[8];

static corun_plan_t *new_plan(const char *label, const char *base_dir) {
  corun_plan_t *p = NULL;
  assert_int_equal(corun_plan_new(&p, label, base_dir), 0);
  assert_non_null(p);
  for (size_t i = 0; i < sizeof live / sizeof *live; i++) {
    if (live[i] == NULL) {
      live[i] = p;
      return p;
    }
  }
  fail_msg("too many plans at once");
  return NULL;
}

static void drop(corun_plan_t *p) {
  for (size_t i = 0; i < sizeof live / sizeof *live; i++)
    if (live[i] == p)
      live[i] = NULL;
  corun_plan_free(p);
}

static int teardown(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof live / sizeof *live; i++) {
    corun_plan_free(live[i]);
    live[i] = NULL;
  }
  return 0;
}

/* Add a job that must be accepted; no command means "true". */
static void add_ok(corun_plan_t *p, corun_job_desc_t d) {
  corun_error_t err = {0};
  if (d.argv == NULL && d.shell == NULL)
    d.shell = "true";
  int rc = corun_plan_add_job(p, &d, &err);
  if (rc != 0) {
    print_errors(&err);
    corun_error_release(&err);
    fail_msg("adding job %s failed with %d", d.name ? d.name : "(unnamed)",
             rc);
  }
  assert_int_equal(err.count, 0);
  assert_int_equal(err.code, 0);
}

#define ADD(p, ...) add_ok((p), (corun_job_desc_t){__VA_ARGS__})

/* `rc` and `err` must hold exactly `code` and the messages `want`. */
static void check_err(int rc, corun_error_t *err, int code,
                      const char *const *want, size_t n) {
  bool same = rc == code && err->code == code && err->count == n;
  for (size_t i = 0; same && i < n; i++)
    same = strcmp(err->messages[i], want[i]) == 0;
  if (!same) {
    print_message("got %d (%s), err.code %d, %zu message(s):\n", rc,
                  corun_strerror(rc), err->code, err->count);
    print_errors(err);
    print_message("expected %d (%s), %zu message(s):\n", code,
                  corun_strerror(code), n);
    for (size_t i = 0; i < n; i++)
      print_message("  want %zu: %s\n", i, want[i]);
  }
  corun_error_release(err);
  assert_true(same);
}

#define EXPECT(rc, err, code, ...)                                          \
  do {                                                                      \
    const char *const want_[] = {__VA_ARGS__};                              \
    check_err((rc), (err), (code), want_, sizeof want_ / sizeof *want_);    \
  } while (0)

/* Adding `d` to `p` must fail with exactly these messages, adding nothing. */
#define EXPECT_ADD_FAILS(p, d, ...)                                         \
  do {                                                                      \
    corun_error_t e_ = {0};                                                 \
    size_t before_ = corun_plan_job_count(p);                               \
    corun_job_desc_t d_ = (d);                                              \
    int rc_ = corun_plan_add_job((p), &d_, &e_);                            \
    EXPECT(rc_, &e_, CORUN_EINVALID, __VA_ARGS__);                          \
    assert_int_equal(corun_plan_job_count(p), before_);                     \
  } while (0)

/* The same on a fresh plan labelled `label`, where the job is jobs[0]. */
#define EXPECT_FIRST_ADD_FAILS(label, d, ...)                               \
  do {                                                                      \
    corun_plan_t *np_ = new_plan((label), NULL);                            \
    EXPECT_ADD_FAILS(np_, d, __VA_ARGS__);                                  \
    drop(np_);                                                   \
  } while (0)

#define DESC(...) ((corun_job_desc_t){__VA_ARGS__})

static void seal_ok(corun_plan_t *p) {
  corun_error_t err = {0};
  int rc = corun_plan_seal(p, &err);
  if (rc != 0) {
    print_errors(&err);
    corun_error_release(&err);
    fail_msg("sealing failed with %d", rc);
  }
  assert_int_equal(err.count, 0);
}

static size_t idx(const corun_plan_t *p, const char *name) {
  size_t i = 99999999;
  if (corun_plan_find(p, name, &i) != 0)
    fail_msg("no job named %s", name);
  return i;
}

/* ---- add_job validation ------------------------------------------------ */

static void test_plan_add_job_rejects_bad_names(void **state) {
  (void)state;
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "bad name", .shell = "x"),
                         "plan: jobs[0].name: invalid name \"bad name\": use "
                         "1 to 200 of A-Z a-z 0-9 _ . : / @ + -");
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "", .shell = "x"),
                         "plan: jobs[0].name: invalid name \"\": use 1 to 200 "
                         "of A-Z a-z 0-9 _ . : / @ + -");
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a\"b", .shell = "x"),
                         "plan: jobs[0].name: invalid name \"a\"b\": use 1 to "
                         "200 of A-Z a-z 0-9 _ . : / @ + -");
  corun_plan_t *p = new_plan(NULL, NULL);
  char longname[202];
  memset(longname, 'n', 201);
  longname[201] = '\0';
  corun_error_t err = {0};
  corun_job_desc_t d = {.name = longname, .shell = "x"};
  assert_int_equal(corun_plan_add_job(p, &d, &err), CORUN_EINVALID);
  assert_int_equal(err.count, 1);
  assert_non_null(strstr(err.messages[0], "plan: jobs[0].name: invalid name"));
  corun_error_release(&err);
  /* Exactly 200 characters, and every allowed character, are fine. */
  longname[200] = '\0';
  ADD(p, .name = longname);
  ADD(p, .name = "Az09_.:/@+-");
  assert_int_equal(corun_plan_job_count(p), 2);
  drop(p);
}

static void test_plan_add_job_rejects_bad_commands(void **state) {
  (void)state;
  EXPECT_FIRST_ADD_FAILS("build.json", DESC(.name = "a"),
                         "build.json: jobs[0].cmd: give exactly one of an "
                         "argv or a shell string");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .argv = ARGV("x")),
                         "plan: jobs[0].cmd: give exactly one of an argv or a "
                         "shell string");
  static const char *const empty_argv[] = {NULL};
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a", .argv = empty_argv),
                         "plan: jobs[0].cmd: expected a non-empty array whose "
                         "first item names a program");
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a", .argv = ARGV("", "x")),
                         "plan: jobs[0].cmd: expected a non-empty array whose "
                         "first item names a program");
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a", .shell = ""),
                         "plan: jobs[0].cmd: expected a non-empty string");
}

static void test_plan_add_job_rejects_out_of_range_numbers(void **state) {
  (void)state;
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a", .shell = "x", .timeout_s = -1),
                         "plan: jobs[0].timeout: out of range");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .timeout_s = NAN),
                         "plan: jobs[0].timeout: out of range");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .timeout_s = INFINITY),
                         "plan: jobs[0].timeout: out of range");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .kill_grace_s = -0.5),
                         "plan: jobs[0].kill_grace: out of range");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .retry_delay_s = NAN),
                         "plan: jobs[0].retry_delay: out of range");
  EXPECT_FIRST_ADD_FAILS(NULL, DESC(.name = "a", .shell = "x", .retries = 1001),
                         "plan: jobs[0].retries: expected at most 1000");
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "edge", .retries = 1000, .timeout_s = 1e9);
  drop(p);
}

static void test_plan_add_job_rejects_bad_pool_env_and_needs(void **state) {
  (void)state;
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .pool = "no pool"),
                         "plan: jobs[0].pool: invalid pool name");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .env = ARGV("=v")),
                         "plan: jobs[0].env: empty variable name");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x", .env = ARGV("K=v", "")),
                         "plan: jobs[0].env: empty variable name");
  EXPECT_FIRST_ADD_FAILS(NULL,
                         DESC(.name = "a", .shell = "x",
                              .needs = NEEDS("ok", "not ok")),
                         "plan: jobs[0].needs[1]: invalid job name \"not ok\"");
}

static void test_plan_add_job_reports_every_problem_in_order(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "first");
  EXPECT_ADD_FAILS(p, DESC(.name = "first", .timeout_s = -1, .retries = 5000,
                           .needs = NEEDS("x y")),
                   "plan: jobs[1].name: duplicate name \"first\" (also jobs[0])",
                   "plan: jobs[1].cmd: give exactly one of an argv or a shell "
                   "string",
                   "plan: jobs[1].timeout: out of range",
                   "plan: jobs[1].retries: expected at most 1000",
                   "plan: jobs[1].needs[0]: invalid job name \"x y\"");
  drop(p);
}

static void test_plan_add_job_reports_duplicate_names(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "a");
  EXPECT_ADD_FAILS(p, DESC(.name = "a", .shell = "x"),
                   "plan: jobs[1].name: duplicate name \"a\" (also jobs[0])");
  /* Names are case-sensitive. */
  ADD(p, .name = "A");
  assert_int_equal(corun_plan_job_count(p), 2);
  drop(p);
}

static void test_plan_names_unnamed_jobs_by_position(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = NULL);
  ADD(p, .name = "named");
  ADD(p, .name = NULL);
  assert_string_equal(corun_plan_job(p, 0)->name, "job-1");
  assert_string_equal(corun_plan_job(p, 1)->name, "named");
  assert_string_equal(corun_plan_job(p, 2)->name, "job-3");
  assert_int_equal(idx(p, "job-3"), 2);
  /* A default name counts as a name: it can clash and be needed. */
  ADD(p, .name = "job-5");
  EXPECT_ADD_FAILS(p, DESC(.shell = "x"),
                   "plan: jobs[4].name: duplicate name \"job-5\" (also "
                   "jobs[3])");
  ADD(p, .name = "last", .needs = NEEDS("job-1", "job-3"));
  seal_ok(p);
  assert_int_equal(corun_plan_job_count(p), 5);
  drop(p);
}

/* Positions in messages and default names count every job given, accepted
 * or not, as a job file's positions do. */
static void test_plan_counts_rejected_jobs_in_positions(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  EXPECT_ADD_FAILS(p, DESC(.name = "bad name", .shell = "x"),
                   "plan: jobs[0].name: invalid name \"bad name\": use 1 to "
                   "200 of A-Z a-z 0-9 _ . : / @ + -");
  ADD(p, .name = NULL);
  assert_string_equal(corun_plan_job(p, 0)->name, "job-2");
  ADD(p, .name = "c");
  EXPECT_ADD_FAILS(p, DESC(.shell = "x", .timeout_s = -1),
                   "plan: jobs[3].timeout: out of range");
  /* c is the third job given: jobs[2]. */
  EXPECT_ADD_FAILS(p, DESC(.name = "c", .shell = "x"),
                   "plan: jobs[4].name: duplicate name \"c\" (also jobs[2])");
  drop(p);
}

static void test_plan_seal_counts_rejected_jobs_in_positions(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  EXPECT_ADD_FAILS(p, DESC(.name = "bad name", .shell = "x"),
                   "plan: jobs[0].name: invalid name \"bad name\": use 1 to "
                   "200 of A-Z a-z 0-9 _ . : / @ + -");
  ADD(p, .name = "a", .needs = NEEDS("ghost"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_EINVALID,
         "plan: jobs[1].needs[0]: unknown job \"ghost\"");
  drop(p);
}

static void test_plan_add_job_copies_every_string(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, "/base");
  char name[] = "copy", arg0[] = "prog", arg1[] = "arg", env0[] = "K=v",
       need0[] = "dep", cwd[] = "/tmp", pool_name[] = "pl", in[] = "input";
  const char *argv[] = {arg0, arg1, NULL};
  const char *env[] = {env0, NULL};
  const char *needs[] = {need0, NULL};
  assert_int_equal(corun_plan_add_pool(p, "pl", 2, NULL), 0);
  ADD(p, .name = "dep");
  corun_job_desc_t d = {.name = name, .argv = argv, .env = env,
                        .needs = needs, .cwd = cwd, .pool = pool_name,
                        .stdin_text = in, .timeout_s = 2.5, .retries = 3,
                        .retry_delay_s = 0.5, .retry_backoff = 1,
                        .allow_failure = 1};
  assert_int_equal(corun_plan_add_job(p, &d, NULL), 0);
  memset(name, 'X', 4);
  memset(arg0, 'X', 4);
  memset(arg1, 'X', 3);
  memset(env0, 'X', 3);
  memset(need0, 'X', 3);
  memset(cwd, 'X', 4);
  memset(pool_name, 'X', 2);
  memset(in, 'X', 5);
  argv[0] = NULL;
  seal_ok(p);
  const corun_job_desc_t *j = corun_plan_job(p, 1);
  assert_string_equal(j->name, "copy");
  assert_string_equal(j->argv[0], "prog");
  assert_string_equal(j->argv[1], "arg");
  assert_null(j->argv[2]);
  assert_null(j->shell);
  assert_string_equal(j->env[0], "K=v");
  assert_null(j->env[1]);
  assert_string_equal(j->needs[0], "dep");
  assert_string_equal(j->cwd, "/tmp");
  assert_string_equal(j->pool, "pl");
  assert_string_equal(j->stdin_text, "input");
  assert_true(j->timeout_s == 2.5);
  assert_int_equal(j->retries, 3);
  assert_true(j->retry_delay_s == 0.5);
  assert_true(j->retry_backoff);
  assert_true(j->allow_failure);
  /* kill_grace 0 means the default of 5 s. */
  assert_true(j->kill_grace_s == 5.0);
  assert_null(corun_plan_job(p, 2));
  drop(p);
}

static void test_plan_resolves_cwd_against_base_dir(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, "/base/dir");
  ADD(p, .name = "rel", .cwd = "sub/x");
  ADD(p, .name = "dot", .cwd = ".");
  ADD(p, .name = "abs", .cwd = "/abs/path");
  ADD(p, .name = "none");
  assert_string_equal(corun_plan_job(p, 0)->cwd, "/base/dir/sub/x");
  assert_string_equal(corun_plan_job(p, 1)->cwd, "/base/dir/.");
  assert_string_equal(corun_plan_job(p, 2)->cwd, "/abs/path");
  assert_null(corun_plan_job(p, 3)->cwd);
  drop(p);

  /* Without a base folder, a relative cwd stays relative to the current
   * folder. */
  p = new_plan(NULL, NULL);
  ADD(p, .name = "rel", .cwd = "sub");
  assert_string_equal(corun_plan_job(p, 0)->cwd, "sub");
  drop(p);
}

/* ---- pools ---------------------------------------------------------- */

static void test_plan_add_pool_validates_and_keeps_pools(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  corun_error_t err = {0};
  assert_int_equal(corun_plan_add_pool(p, "link", 1, &err), 0);
  assert_int_equal(corun_plan_add_pool(p, "gpu", 4, &err), 0);
  assert_int_equal(err.count, 0);
  EXPECT(corun_plan_add_pool(p, "link", 2, &err), &err, CORUN_EINVALID,
         "plan: pools.link: duplicate pool");
  EXPECT(corun_plan_add_pool(p, "zero", 0, &err), &err, CORUN_EINVALID,
         "plan: pools.zero: expected an integer of at least 1");
  EXPECT(corun_plan_add_pool(p, "a b", 1, &err), &err, CORUN_EINVALID,
         "plan: pools: invalid pool name \"a b\"");
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "p%d", i);
    assert_int_equal(corun_plan_add_pool(p, name, (unsigned)i + 1, NULL), 0);
  }
  ADD(p, .name = "j", .pool = "gpu");
  seal_ok(p);
  assert_int_equal(corun_plan_pool_count(p), 22);
  unsigned slots = 0;
  assert_string_equal(corun_plan_pool(p, 0, &slots), "link");
  assert_int_equal(slots, 1);
  assert_string_equal(corun_plan_pool(p, 1, &slots), "gpu");
  assert_int_equal(slots, 4);
  assert_string_equal(corun_plan_pool(p, 21, &slots), "p19");
  assert_int_equal(slots, 20);
  assert_null(corun_plan_pool(p, 22, &slots));
  drop(p);
}

static void test_plan_seal_reports_unknown_pool(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  assert_int_equal(corun_plan_add_pool(p, "cpu", 2, NULL), 0);
  ADD(p, .name = "a", .pool = "cpu");
  ADD(p, .name = "b", .pool = "gpu");
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_EINVALID,
         "plan: jobs[1].pool: unknown pool \"gpu\"");
  drop(p);
}

/* ---- needs and cycles ---------------------------------------------- */

static void test_plan_seal_reports_unknown_needs(void **state) {
  (void)state;
  corun_plan_t *p = new_plan("ci.json", NULL);
  ADD(p, .name = "a");
  ADD(p, .name = "b", .needs = NEEDS("a", "nope"));
  ADD(p, .name = "c", .needs = NEEDS("ghost"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_EINVALID,
         "ci.json: jobs[1].needs[1]: unknown job \"nope\"",
         "ci.json: jobs[2].needs[0]: unknown job \"ghost\"");
  drop(p);
}

static void test_plan_seal_reports_a_need_named_twice(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "a");
  ADD(p, .name = "b", .needs = NEEDS("a", "a"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_EINVALID,
         "plan: jobs[1].needs[1]: \"a\" is named twice");
  drop(p);
}

static void test_plan_seal_reports_a_job_that_needs_itself(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "b");
  ADD(p, .name = "a", .needs = NEEDS("b", "a"));
  corun_error_t err = {0};
  /* A job that needs itself is the smallest cycle; the error's code is
   * the call's return value (corun.h). */
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_ECYCLE,
         "plan: jobs[1].needs[1]: job \"a\" needs itself");
  drop(p);
}

static void test_plan_seal_names_a_two_job_cycle(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "a", .needs = NEEDS("b"));
  ADD(p, .name = "b", .needs = NEEDS("a"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_ECYCLE,
         "plan: jobs[0].needs: dependency cycle: a -> b -> a");
  drop(p);
}

static void test_plan_seal_names_a_three_job_cycle(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "entry", .needs = NEEDS("a"));
  ADD(p, .name = "a", .needs = NEEDS("b"));
  ADD(p, .name = "b", .needs = NEEDS("c"));
  ADD(p, .name = "c", .needs = NEEDS("a"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_ECYCLE,
         "plan: jobs[1].needs: dependency cycle: a -> b -> c -> a");
  drop(p);
}

static void test_plan_seal_names_a_cycle_away_from_the_first_job(
    void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "x");
  ADD(p, .name = "y", .needs = NEEDS("x"));
  ADD(p, .name = "p", .needs = NEEDS("x", "q"));
  ADD(p, .name = "q", .needs = NEEDS("p"));
  corun_error_t err = {0};
  EXPECT(corun_plan_seal(p, &err), &err, CORUN_ECYCLE,
         "plan: jobs[2].needs: dependency cycle: p -> q -> p");
  drop(p);
}

static void test_plan_seal_accepts_a_diamond(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "d", .needs = NEEDS("b", "c"));
  ADD(p, .name = "b", .needs = NEEDS("a"));
  ADD(p, .name = "c", .needs = NEEDS("a"));
  ADD(p, .name = "a");
  seal_ok(p);
  const size_t *o = corun_plan_order(p);
  assert_int_equal(o[0], 3);
  assert_int_equal(o[1], 1);
  assert_int_equal(o[2], 2);
  assert_int_equal(o[3], 0);
  drop(p);
}

/* ---- sealing ------------------------------------------------------- */

static void test_plan_refuses_changes_after_sealing(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "a");
  seal_ok(p);
  seal_ok(p); /* sealing twice is harmless */
  corun_error_t err = {0};
  corun_job_desc_t d = {.name = "b", .shell = "x"};
  EXPECT(corun_plan_add_job(p, &d, &err), &err, CORUN_ESTATE,
         "plan: jobs cannot be added to a sealed plan");
  EXPECT(corun_plan_add_pool(p, "pl", 1, &err), &err, CORUN_ESTATE,
         "plan: pools cannot be added to a sealed plan");
  assert_int_equal(corun_plan_set_max_parallel(p, 3), CORUN_ESTATE);
  assert_int_equal(corun_plan_set_halt(p, "never", &err), CORUN_ESTATE);
  corun_error_release(&err);
  assert_int_equal(corun_plan_job_count(p), 1);
  drop(p);
}

static void test_plan_keeps_max_parallel_and_halt(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  assert_int_equal(corun_plan_max_parallel(p), 0);
  assert_string_equal(corun_plan_halt(p), "never");
  assert_int_equal(corun_plan_set_max_parallel(p, 7), 0);
  corun_error_t err = {0};
  assert_int_equal(corun_plan_set_halt(p, "now,fail=2", &err), 0);
  EXPECT(corun_plan_set_halt(p, "sometimes", &err), &err, CORUN_EINVALID,
         "plan: halt: expected \"never\", \"fail-fast\", \"soon,fail=N\", "
         "\"now,fail=N\", \"soon,success=N\" or \"now,success=N\"");
  seal_ok(p);
  assert_int_equal(corun_plan_max_parallel(p), 7);
  /* A rejected policy leaves the last good one. */
  assert_string_equal(corun_plan_halt(p), "now,fail=2");
  drop(p);
}

static void test_plan_seals_an_empty_plan(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  seal_ok(p);
  assert_int_equal(corun_plan_job_count(p), 0);
  assert_non_null(corun_plan_order(p));
  unsigned char none[1] = {7};
  assert_int_equal(corun_plan_select(p, NULL, 0, none, NULL), 0);
  assert_int_equal(none[0], 7); /* no job, no byte written */
  assert_int_equal(corun_plan_find(p, "a", NULL), CORUN_ENOJOB);
  drop(p);
}

/* ---- selection ----------------------------------------------------- */

static corun_plan_t *selection_plan(void) {
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "fetch");
  ADD(p, .name = "unpack", .needs = NEEDS("fetch"));
  ADD(p, .name = "test", .needs = NEEDS("unpack"));
  ADD(p, .name = "docs");
  ADD(p, .name = "publish", .needs = NEEDS("docs", "test"));
  ADD(p, .name = "lint", .needs = NEEDS("unpack"));
  seal_ok(p);
  return p;
}

/* The selection the tests below fill: a plan never holds one. */
static unsigned char sel[8];

static void expect_selected(const corun_plan_t *p, const char *want) {
  char got[256] = "";
  for (size_t i = 0; i < corun_plan_job_count(p); i++) {
    if (!sel[i])
      continue;
    if (got[0])
      strcat(got, " ");
    strcat(got, corun_plan_job(p, i)->name);
  }
  assert_string_equal(got, want);
}

static void test_plan_select_pulls_in_transitive_needs(void **state) {
  (void)state;
  corun_plan_t *p = selection_plan();
  corun_error_t err = {0};
  memset(sel, 0, sizeof sel);
  assert_int_equal(corun_plan_select(p, NULL, 0, sel, &err), 0);
  expect_selected(p, "fetch unpack test docs publish lint");
  assert_int_equal(corun_plan_select(p, NEEDS("test"), 1, sel, &err), 0);
  expect_selected(p, "fetch unpack test");
  /* Calling it again replaces the selection. */
  assert_int_equal(corun_plan_select(p, NEEDS("docs", "lint"), 2, sel, &err), 0);
  expect_selected(p, "fetch unpack docs lint");
  assert_int_equal(corun_plan_select(p, NEEDS("publish"), 1, sel, &err), 0);
  expect_selected(p, "fetch unpack test docs publish");
  assert_int_equal(corun_plan_select(p, NEEDS("fetch", "fetch"), 2, sel, &err), 0);
  expect_selected(p, "fetch");
  /* n == 0 selects everything again. */
  assert_int_equal(corun_plan_select(p, NULL, 0, sel, &err), 0);
  expect_selected(p, "fetch unpack test docs publish lint");
  assert_int_equal(err.count, 0);
  assert_int_equal(sel[6], 0); /* nothing past the last job is written */
  drop(p);
}

static void test_plan_select_rejects_unknown_names(void **state) {
  (void)state;
  corun_plan_t *p = selection_plan();
  corun_error_t err = {0};
  assert_int_equal(corun_plan_select(p, NEEDS("lint"), 1, sel, &err), 0);
  EXPECT(corun_plan_select(p, NEEDS("test", "nope", "zz"), 3, sel, &err), &err,
         CORUN_ENOJOB, "plan: no job named \"nope\"",
         "plan: no job named \"zz\"");
  /* The selection before the failed call stands. */
  expect_selected(p, "fetch unpack lint");
  drop(p);
}

static void test_plan_select_needs_a_sealed_plan(void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "a");
  assert_int_equal(corun_plan_select(p, NEEDS("a"), 1, sel, NULL), CORUN_ESTATE);
  drop(p);
}

static void test_plan_find_looks_up_names(void **state) {
  (void)state;
  corun_plan_t *p = selection_plan();
  size_t i = 42;
  assert_int_equal(corun_plan_find(p, "publish", &i), 0);
  assert_int_equal(i, 4);
  assert_int_equal(corun_plan_find(p, "publish", NULL), 0);
  i = 42;
  assert_int_equal(corun_plan_find(p, "Publish", &i), CORUN_ENOJOB);
  assert_int_equal(i, 42);
  assert_int_equal(corun_plan_find(p, NULL, &i), CORUN_ENOJOB);
  drop(p);
}

/* ---- order ---------------------------------------------------------- */

/* Every index once, each after all it needs. */
static void check_order(const corun_plan_t *p) {
  size_t n = corun_plan_job_count(p);
  const size_t *o = corun_plan_order(p);
  assert_non_null(o);
  size_t *pos = malloc((n ? n : 1) * sizeof *pos);
  assert_non_null(pos);
  for (size_t i = 0; i < n; i++)
    pos[i] = (size_t)-1;
  for (size_t k = 0; k < n; k++) {
    assert_true(o[k] < n);
    assert_int_equal(pos[o[k]], (size_t)-1);
    pos[o[k]] = k;
  }
  for (size_t i = 0; i < n; i++) {
    const corun_job_desc_t *j = corun_plan_job(p, i);
    for (size_t k = 0; j->needs && j->needs[k]; k++)
      if (pos[idx(p, j->needs[k])] >= pos[i])
        fail_msg("%s comes before its need %s", j->name, j->needs[k]);
  }
  free(pos);
}

static void expect_order(const corun_plan_t *p, const char *want) {
  char got[256] = "";
  const size_t *o = corun_plan_order(p);
  for (size_t k = 0; k < corun_plan_job_count(p); k++) {
    if (got[0])
      strcat(got, " ");
    strcat(got, corun_plan_job(p, o[k])->name);
  }
  assert_string_equal(got, want);
}

static void test_plan_order_respects_needs_and_keeps_file_order(
    void **state) {
  (void)state;
  corun_plan_t *p = new_plan(NULL, NULL);
  ADD(p, .name = "deploy", .needs = NEEDS("test", "build"));
  ADD(p, .name = "lint");
  ADD(p, .name = "test", .needs = NEEDS("build"));
  ADD(p, .name = "build");
  ADD(p, .name = "docs");
  ADD(p, .name = "notify", .needs = NEEDS("lint"));
  seal_ok(p);
  check_order(p);
  expect_order(p, "lint build test deploy docs notify");
  drop(p);

  /* Without needs, the order is the file order. */
  p = new_plan(NULL, NULL);
  ADD(p, .name = "z");
  ADD(p, .name = "y");
  ADD(p, .name = "x");
  seal_ok(p);
  expect_order(p, "z y x");
  drop(p);
}

static void test_plan_seals_a_100000_job_chain(void **state) {
  (void)state;
  const size_t n = 100000;
  corun_plan_t *p = new_plan(NULL, NULL);
  char name[32], need[32];
  /* Listed last-first, so the order must reverse the file. */
  for (size_t i = n; i-- > 0;) {
    snprintf(name, sizeof name, "c%zu", i);
    snprintf(need, sizeof need, "c%zu", i - 1);
    corun_job_desc_t d = {.name = name, .shell = "true"};
    const char *needs[] = {need, NULL};
    if (i > 0)
      d.needs = needs;
    assert_int_equal(corun_plan_add_job(p, &d, NULL), 0);
  }
  seal_ok(p);
  assert_int_equal(corun_plan_job_count(p), n);
  const size_t *o = corun_plan_order(p);
  for (size_t k = 0; k < n; k++)
    if (o[k] != n - 1 - k)
      fail_msg("order[%zu] = %zu, expected %zu", k, o[k], n - 1 - k);
  corun_error_t err = {0};
  unsigned char *chosen = malloc(n);
  assert_non_null(chosen);
  assert_int_equal(corun_plan_select(p, NEEDS("c50000"), 1, chosen, &err), 0);
  assert_true(chosen[idx(p, "c0")]);
  assert_true(chosen[idx(p, "c50000")]);
  assert_false(chosen[idx(p, "c50001")]);
  free(chosen);
  drop(p);
}

static void test_plan_seals_a_100000_job_fan_out(void **state) {
  (void)state;
  const size_t n = 100000;
  corun_plan_t *p = new_plan(NULL, NULL);
  char name[32];
  static const char *const root[] = {"f0", NULL};
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "f%zu", i);
    corun_job_desc_t d = {.name = name, .shell = "true"};
    if (i > 0)
      d.needs = root;
    assert_int_equal(corun_plan_add_job(p, &d, NULL), 0);
  }
  seal_ok(p);
  const size_t *o = corun_plan_order(p);
  for (size_t k = 0; k < n; k++)
    if (o[k] != k)
      fail_msg("order[%zu] = %zu", k, o[k]);
  drop(p);
}

static void test_plan_seals_a_wide_fan_in(void **state) {
  (void)state;
  /* One job needing 20,000 others. */
  const size_t n = 20000;
  corun_plan_t *p = new_plan(NULL, NULL);
  char **names = calloc(n + 1, sizeof *names);
  assert_non_null(names);
  for (size_t i = 0; i < n; i++) {
    names[i] = malloc(32);
    assert_non_null(names[i]);
    snprintf(names[i], 32, "in%zu", i);
  }
  corun_job_desc_t sink = {.name = "sink", .shell = "true",
                           .needs = (const char *const *)names};
  assert_int_equal(corun_plan_add_job(p, &sink, NULL), 0);
  for (size_t i = 0; i < n; i++) {
    corun_job_desc_t d = {.name = names[i], .shell = "true"};
    assert_int_equal(corun_plan_add_job(p, &d, NULL), 0);
  }
  seal_ok(p);
  const size_t *o = corun_plan_order(p);
  assert_int_equal(o[0], 1);
  assert_int_equal(o[n], 0);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  drop(p);
}

#define T(name) cmocka_unit_test_teardown(name, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_plan_add_job_rejects_bad_names),
      T(test_plan_add_job_rejects_bad_commands),
      T(test_plan_add_job_rejects_out_of_range_numbers),
      T(test_plan_add_job_rejects_bad_pool_env_and_needs),
      T(test_plan_add_job_reports_every_problem_in_order),
      T(test_plan_add_job_reports_duplicate_names),
      T(test_plan_names_unnamed_jobs_by_position),
      T(test_plan_counts_rejected_jobs_in_positions),
      T(test_plan_seal_counts_rejected_jobs_in_positions),
      T(test_plan_add_job_copies_every_string),
      T(test_plan_resolves_cwd_against_base_dir),
      T(test_plan_add_pool_validates_and_keeps_pools),
      T(test_plan_seal_reports_unknown_pool),
      T(test_plan_seal_reports_unknown_needs),
      T(test_plan_seal_reports_a_need_named_twice),
      T(test_plan_seal_reports_a_job_that_needs_itself),
      T(test_plan_seal_names_a_two_job_cycle),
      T(test_plan_seal_names_a_three_job_cycle),
      T(test_plan_seal_names_a_cycle_away_from_the_first_job),
      T(test_plan_seal_accepts_a_diamond),
      T(test_plan_refuses_changes_after_sealing),
      T(test_plan_keeps_max_parallel_and_halt),
      T(test_plan_seals_an_empty_plan),
      T(test_plan_select_pulls_in_transitive_needs),
      T(test_plan_select_rejects_unknown_names),
      T(test_plan_select_needs_a_sealed_plan),
      T(test_plan_find_looks_up_names),
      T(test_plan_order_respects_needs_and_keeps_file_order),
      T(test_plan_seals_a_100000_job_chain),
      T(test_plan_seals_a_100000_job_fan_out),
      T(test_plan_seals_a_wide_fan_in),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
