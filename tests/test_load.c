/*
 * The loader: job files (SPEC §1) into plans, and every way a job file
 * can be wrong, each with its exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corun.h"
#include "internal.h" /* corun__load */
#include "testutil.h"

#define LABEL "t.json"

static void print_errors(const corun_error_t *err) {
  for (size_t i = 0; i < err->count; i++)
    print_message("  message %zu: %s\n", i, err->messages[i]);
}

/* Load `json` as the buffer "t.json" in /base; it must succeed. */
static corun_plan_t *load_ok_len(const char *json, size_t len) {
  corun_plan_t *plan = NULL;
  corun_error_t err = {0};
  int rc = corun_plan_load_buffer(&plan, json, len, LABEL, "/base", &err);
  if (rc != 0) {
    print_errors(&err);
    corun_error_release(&err);
    fail_msg("loading failed with %d (%s)", rc, corun_strerror(rc));
  }
  assert_non_null(plan);
  assert_int_equal(err.count, 0);
  return plan;
}

static corun_plan_t *load_ok(const char *json) {
  return load_ok_len(json, strlen(json));
}

/* Load `json`; it must fail with `code` and exactly the messages `want`. */
static void check_errors(const char *json, size_t len, int code,
                         const char *const *want, size_t n) {
  corun_plan_t *plan = (corun_plan_t *)&plan; /* must become NULL */
  corun_error_t err = {0};
  int rc = corun_plan_load_buffer(&plan, json, len, LABEL, "/base", &err);
  bool same = rc == code && err.code == code && err.count == n;
  for (size_t i = 0; same && i < n; i++)
    same = strcmp(err.messages[i], want[i]) == 0;
  if (!same) {
    print_message("input: %.*s\n", (int)(len > 300 ? 300 : len), json);
    print_message("got %d (%s), %zu message(s):\n", rc, corun_strerror(rc),
                  err.count);
    print_errors(&err);
    print_message("expected %d, %zu message(s):\n", code, n);
    for (size_t i = 0; i < n; i++)
      print_message("  want %zu: %s\n", i, want[i]);
  }
  assert_null(plan);
  corun_error_release(&err);
  assert_true(same);
}

#define EXPECT_ERRORS_LEN(json, len, code, ...)                             \
  do {                                                                      \
    const char *const want_[] = {__VA_ARGS__};                              \
    check_errors((json), (len), (code), want_, sizeof want_ / sizeof *want_); \
  } while (0)

#define EXPECT_ERRORS(json, code, ...)                                      \
  EXPECT_ERRORS_LEN((json), strlen(json), (code), __VA_ARGS__)

/* One job around `fields`, e.g. JOB("\"timeout\": -1"). */
#define JOB(fields) "{\"jobs\": [{\"cmd\": \"true\", " fields "}]}"

static const corun_job_desc_t *job(const corun_plan_t *p, size_t i) {
  const corun_job_desc_t *d = corun_plan_job(p, i);
  assert_non_null(d);
  return d;
}

static size_t vec_len(const char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

/* ---- valid files ------------------------------------------------------- */

static const char SPEC_EXAMPLE[] =
    "{\n"
    "  \"corun\": 1,\n"
    "  \"max_parallel\": 4,\n"
    "  \"halt\": \"never\",\n"
    "  \"pools\": { \"link\": 1 },\n"
    "  \"defaults\": { \"timeout\": \"10m\", \"env\": { \"LC_ALL\": \"C\" } },\n"
    "  \"jobs\": [\n"
    "    { \"name\": \"fetch\",   \"cmd\": [\"curl\", \"-fsSLo\", \"src.tgz\", "
    "\"http://127.0.0.1:8000/src.tgz\"], \"retries\": 2, \"retry_delay\": "
    "\"1s\" },\n"
    "    { \"name\": \"unpack\",  \"cmd\": \"tar xzf src.tgz\", \"needs\": "
    "[\"fetch\"] },\n"
    "    { \"name\": \"test\",    \"cmd\": \"make -C src check\", \"needs\": "
    "[\"unpack\"], \"timeout\": 300 },\n"
    "    { \"name\": \"lint\",    \"cmd\": [\"make\", \"-C\", \"src\", "
    "\"lint\"], \"needs\": [\"unpack\"], \"allow_failure\": true }\n"
    "  ]\n"
    "}\n";

static void test_load_reads_the_spec_example(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(SPEC_EXAMPLE);
  assert_int_equal(corun_plan_job_count(p), 4);
  assert_int_equal(corun_plan_max_parallel(p), 4);
  assert_string_equal(corun_plan_halt(p), "never");
  unsigned slots = 0;
  assert_int_equal(corun_plan_pool_count(p), 1);
  assert_string_equal(corun_plan_pool(p, 0, &slots), "link");
  assert_int_equal(slots, 1);

  const corun_job_desc_t *d = job(p, 0);
  assert_string_equal(d->name, "fetch");
  assert_null(d->shell);
  assert_int_equal(vec_len(d->argv), 4);
  assert_string_equal(d->argv[0], "curl");
  assert_string_equal(d->argv[3], "http://127.0.0.1:8000/src.tgz");
  assert_int_equal(d->retries, 2);
  assert_true(d->retry_delay_s == 1.0);
  assert_true(d->timeout_s == 600.0);
  assert_true(d->kill_grace_s == 5.0);
  assert_int_equal(vec_len(d->env), 1);
  assert_string_equal(d->env[0], "LC_ALL=C");
  assert_int_equal(vec_len(d->needs), 0);
  assert_null(d->cwd);
  assert_null(d->pool);
  assert_null(d->stdin_text);
  assert_false(d->allow_failure);
  assert_false(d->retry_backoff);

  d = job(p, 1);
  assert_string_equal(d->name, "unpack");
  assert_null(d->argv);
  assert_string_equal(d->shell, "tar xzf src.tgz");
  assert_int_equal(vec_len(d->needs), 1);
  assert_string_equal(d->needs[0], "fetch");

  d = job(p, 2);
  assert_string_equal(d->name, "test");
  assert_true(d->timeout_s == 300.0);

  d = job(p, 3);
  assert_string_equal(d->name, "lint");
  assert_true(d->allow_failure);
  assert_int_equal(vec_len(d->argv), 4);

  /* Sealed: the order respects needs. */
  const size_t *order = corun_plan_order(p);
  assert_non_null(order);
  assert_int_equal(order[0], 0);
  assert_int_equal(order[1], 1);
  corun_plan_free(p);
}

static void test_load_names_unnamed_jobs_by_position(void **state) {
  (void)state;
  corun_plan_t *p = load_ok("{\"jobs\": [{\"cmd\": \"a\"}, {\"name\": \"b\", "
                            "\"cmd\": \"b\"}, {\"cmd\": \"c\", \"needs\": "
                            "[\"job-1\"]}]}");
  assert_int_equal(corun_plan_job_count(p), 3);
  assert_string_equal(job(p, 0)->name, "job-1");
  assert_string_equal(job(p, 1)->name, "b");
  assert_string_equal(job(p, 2)->name, "job-3");
  assert_string_equal(job(p, 2)->needs[0], "job-1");
  corun_plan_free(p);
}

static void test_load_accepts_an_empty_job_list(void **state) {
  (void)state;
  corun_plan_t *p = load_ok("{\"corun\": 1, \"jobs\": []}");
  assert_int_equal(corun_plan_job_count(p), 0);
  assert_int_equal(corun_plan_max_parallel(p), 0);
  assert_string_equal(corun_plan_halt(p), "never");
  corun_plan_free(p);
}

static void test_load_reads_every_job_key(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(
      "{\"pools\": {\"net\": 3}, \"halt\": \"now,fail=2\", \"jobs\": [\n"
      " {\"name\": \"a.b:c/d@e+f-g_h\", \"cmd\": [\"echo\", \"\", \"x y\"],\n"
      "  \"cwd\": \"/abs/dir\", \"env\": {\"A\": \"1\", \"B\": null, \"C\": \"\"},\n"
      "  \"timeout\": \"1m30s\", \"kill_grace\": 2.5, \"retries\": 3,\n"
      "  \"retry_delay\": \"250ms\", \"retry_backoff\": true,\n"
      "  \"stdin\": \"line 1\\nline 2\\n\", \"pool\": \"net\",\n"
      "  \"allow_failure\": false},\n"
      " {\"cmd\": \"exit 1\", \"needs\": [\"a.b:c/d@e+f-g_h\"], \"cwd\": \"sub/dir\",\n"
      "  \"stdin\": \"\", \"kill_grace\": \"0s\", \"retries\": 0}\n"
      "]}");
  assert_string_equal(corun_plan_halt(p), "now,fail=2");
  const corun_job_desc_t *d = job(p, 0);
  assert_string_equal(d->name, "a.b:c/d@e+f-g_h");
  assert_int_equal(vec_len(d->argv), 3);
  assert_string_equal(d->argv[1], "");
  assert_string_equal(d->argv[2], "x y");
  assert_string_equal(d->cwd, "/abs/dir");
  assert_int_equal(vec_len(d->env), 3);
  assert_string_equal(d->env[0], "A=1");
  assert_string_equal(d->env[1], "B");
  assert_string_equal(d->env[2], "C=");
  assert_true(d->timeout_s == 90.0);
  assert_true(d->kill_grace_s == 2.5);
  assert_int_equal(d->retries, 3);
  assert_true(d->retry_delay_s == 0.25);
  assert_true(d->retry_backoff);
  assert_string_equal(d->stdin_text, "line 1\nline 2\n");
  assert_string_equal(d->pool, "net");
  assert_false(d->allow_failure);

  d = job(p, 1);
  assert_string_equal(d->shell, "exit 1");
  assert_string_equal(d->cwd, "/base/sub/dir");
  assert_string_equal(d->stdin_text, "");
  /* 0 means "SIGKILL at once", kept apart from 0 = the default 5 s. */
  assert_true(d->kill_grace_s > 0 && d->kill_grace_s <= 0.001);
  assert_true(d->timeout_s == 0);
  assert_null(d->env);
  corun_plan_free(p);
}

static void test_load_decodes_string_escapes(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(
      "{\"jobs\": [{\"cmd\": [\"printf\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
      " \"\\u00e9\\u20ac\\ud83d\\ude00\", \"\xc3\xa9\"]}]}");
  const corun_job_desc_t *d = job(p, 0);
  assert_string_equal(d->argv[1], "\"\\/\b\f\n\r\t");
  assert_string_equal(d->argv[2], "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  assert_string_equal(d->argv[3], "\xc3\xa9");
  corun_plan_free(p);
}

static void test_load_merges_defaults_under_job_values(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(
      "{\"pools\": {\"p\": 1, \"q\": 2},\n"
      " \"defaults\": {\"timeout\": 10, \"kill_grace\": \"1s\", \"retries\": 1,\n"
      "   \"retry_delay\": \"2s\", \"retry_backoff\": true, \"stdin\": \"in\",\n"
      "   \"pool\": \"p\", \"allow_failure\": true, \"cwd\": \"work\",\n"
      "   \"env\": {\"A\": \"default\", \"B\": \"default\", \"C\": null}},\n"
      " \"jobs\": [\n"
      "  {\"cmd\": \"inherits\"},\n"
      "  {\"cmd\": \"overrides\", \"timeout\": \"5s\", \"kill_grace\": 0,\n"
      "   \"retries\": 0, \"retry_delay\": 0, \"retry_backoff\": false,\n"
      "   \"stdin\": \"own\", \"pool\": \"q\", \"allow_failure\": false,\n"
      "   \"cwd\": \"/elsewhere\",\n"
      "   \"env\": {\"B\": \"own\", \"A\": null, \"D\": \"new\"}}\n"
      "]}");
  const corun_job_desc_t *d = job(p, 0);
  assert_true(d->timeout_s == 10);
  assert_true(d->kill_grace_s == 1);
  assert_int_equal(d->retries, 1);
  assert_true(d->retry_delay_s == 2);
  assert_true(d->retry_backoff);
  assert_string_equal(d->stdin_text, "in");
  assert_string_equal(d->pool, "p");
  assert_true(d->allow_failure);
  assert_string_equal(d->cwd, "/base/work");
  assert_int_equal(vec_len(d->env), 3);
  assert_string_equal(d->env[0], "A=default");
  assert_string_equal(d->env[1], "B=default");
  assert_string_equal(d->env[2], "C");

  d = job(p, 1);
  assert_true(d->timeout_s == 5);
  assert_true(d->kill_grace_s > 0 && d->kill_grace_s <= 0.001);
  assert_int_equal(d->retries, 0);
  assert_true(d->retry_delay_s == 0);
  assert_false(d->retry_backoff);
  assert_string_equal(d->stdin_text, "own");
  assert_string_equal(d->pool, "q");
  assert_false(d->allow_failure);
  assert_string_equal(d->cwd, "/elsewhere");
  /* Key by key: C from the defaults, A unset by the job, B and D its own. */
  assert_int_equal(vec_len(d->env), 4);
  assert_string_equal(d->env[0], "C");
  assert_string_equal(d->env[1], "B=own");
  assert_string_equal(d->env[2], "A");
  assert_string_equal(d->env[3], "D=new");
  corun_plan_free(p);
}

static void test_load_accepts_durations_as_numbers_or_strings(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(
      "{\"jobs\": [{\"cmd\": \"a\", \"timeout\": 0.25},\n"
      " {\"cmd\": \"b\", \"timeout\": \"250ms\"},\n"
      " {\"cmd\": \"c\", \"timeout\": \"1h2m3.5s\"},\n"
      " {\"cmd\": \"d\", \"timeout\": \"30\"},\n"
      " {\"cmd\": \"e\", \"timeout\": 1e9},\n"
      " {\"cmd\": \"f\", \"timeout\": 2E+1}]}");
  assert_true(job(p, 0)->timeout_s == 0.25);
  assert_true(job(p, 1)->timeout_s == 0.25);
  assert_true(job(p, 2)->timeout_s == 3723.5);
  assert_true(job(p, 3)->timeout_s == 30);
  assert_true(job(p, 4)->timeout_s == 1e9);
  assert_true(job(p, 5)->timeout_s == 20);
  corun_plan_free(p);
}

static void test_load_accepts_whole_numbers_written_as_decimals(void **state) {
  (void)state;
  corun_plan_t *p = load_ok("{\"corun\": 1.0, \"max_parallel\": 2.0, "
                            "\"pools\": {\"p\": 1e2}, "
                            "\"jobs\": [{\"cmd\": \"a\", \"retries\": 3.0}]}");
  assert_int_equal(corun_plan_max_parallel(p), 2);
  unsigned slots = 0;
  corun_plan_pool(p, 0, &slots);
  assert_int_equal(slots, 100);
  assert_int_equal(job(p, 0)->retries, 3);
  corun_plan_free(p);
}

static void test_load_skips_a_utf8_bom(void **state) {
  (void)state;
  corun_plan_t *p = load_ok("\xef\xbb\xbf{\"jobs\": [{\"cmd\": \"\xc3\xa9\"}]}");
  assert_string_equal(job(p, 0)->shell, "\xc3\xa9");
  corun_plan_free(p);
  /* Positions count from after the BOM. */
  EXPECT_ERRORS("\xef\xbb\xbf{]", CORUN_ESYNTAX,
                LABEL ":1:2: syntax error: unexpected ']', expected a key in "
                      "double quotes or '}'");
}

static void test_load_accepts_any_whitespace_layout(void **state) {
  (void)state;
  corun_plan_t *p = load_ok(" \r\n\t{ \"jobs\"\r\n:\t[ ] }\r\n\n ");
  assert_int_equal(corun_plan_job_count(p), 0);
  corun_plan_free(p);
}

static void test_load_buffer_labels_and_resolves_defaults(void **state) {
  (void)state;
  corun_plan_t *p = NULL;
  corun_error_t err = {0};
  const char *json = "{\"jobs\": [], \"x\": 1}";
  assert_int_equal(corun_plan_load_buffer(&p, json, strlen(json), NULL, NULL,
                                          &err),
                   CORUN_EINVALID);
  assert_null(p);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], "<buffer>: x: unknown key \"x\"");
  corun_error_release(&err);

  /* No base folder: a relative cwd stays relative to the current one. */
  json = "{\"jobs\": [{\"cmd\": \"a\", \"cwd\": \"rel\"}]}";
  assert_int_equal(corun_plan_load_buffer(&p, json, strlen(json), NULL, NULL,
                                          &err),
                   0);
  assert_string_equal(job(p, 0)->cwd, "rel");
  corun_plan_free(p);

  /* The length is what counts, not a NUL. */
  json = "{\"jobs\": []}garbage";
  assert_int_equal(corun_plan_load_buffer(&p, json, 12, NULL, NULL, &err), 0);
  corun_plan_free(p);
  assert_int_equal(err.count, 0);
}

/* ---- files ------------------------------------------------------------- */

static void test_load_file_resolves_cwd_against_the_files_folder(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char *sub = NULL;
  assert_true(asprintf(&sub, "%s/sub", dir) > 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  char *path = tu_write(sub, "jobs.json",
                        "{\"jobs\": [{\"name\": \"a\", \"cmd\": \"x\", "
                        "\"cwd\": \"build\"},\n"
                        "{\"name\": \"b\", \"cmd\": \"x\", \"cwd\": \"/tmp\"},\n"
                        "{\"name\": \"c\", \"cmd\": \"x\"}]}");
  char *real = realpath(sub, NULL);
  assert_non_null(real);
  char *want = NULL;
  assert_true(asprintf(&want, "%s/build", real) > 0);

  corun_plan_t *p = NULL;
  corun_error_t err = {0};
  int rc = corun_plan_load_file(&p, path, &err);
  if (rc != 0)
    print_errors(&err);
  assert_int_equal(rc, 0);
  assert_string_equal(job(p, 0)->cwd, want);
  assert_string_equal(job(p, 1)->cwd, "/tmp");
  assert_null(job(p, 2)->cwd); /* runs in the file's folder */
  corun_plan_free(p);

  /* A path relative to the current folder works the same. */
  char *cwd = getcwd(NULL, 0);
  assert_int_equal(chdir(dir), 0);
  rc = corun_plan_load_file(&p, "sub/jobs.json", &err);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rc, 0);
  assert_string_equal(job(p, 0)->cwd, want);
  corun_plan_free(p);

  free(cwd);
  free(want);
  free(real);
  free(path);
  free(sub);
  tu_rmdir(dir);
  free(dir);
}

static void test_load_file_labels_messages_with_the_path(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char *path = tu_write(dir, "bad.json", "{\"jobs\": [],\n \"jbos\": 1}");
  char *want = NULL;
  assert_true(asprintf(&want,
                       "%s: jbos: unknown key \"jbos\" (did you mean "
                       "\"jobs\"?)",
                       path) > 0);
  corun_plan_t *p = NULL;
  corun_error_t err = {0};
  assert_int_equal(corun_plan_load_file(&p, path, &err), CORUN_EINVALID);
  assert_null(p);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], want);
  corun_error_release(&err);
  free(want);
  free(path);
  tu_rmdir(dir);
  free(dir);
}

static void test_load_file_reads_stdin_for_dash(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char *path = tu_write(dir, "in.json",
                        "{\"jobs\": [{\"cmd\": \"x\", \"cwd\": \"w\"}],\n"
                        " \"bad\": 1}");
  char *cwd = getcwd(NULL, 0);
  char *want = NULL;
  assert_true(asprintf(&want, "%s/w", cwd) > 0);
  int saved = dup(0);
  int fd = open(path, O_RDONLY);
  assert_true(saved >= 0 && fd >= 0);
  assert_int_equal(dup2(fd, 0), 0);
  corun_plan_t *p = NULL;
  corun_error_t err = {0};
  int rc = corun_plan_load_file(&p, "-", &err);
  assert_int_equal(dup2(saved, 0), 0);
  close(saved);
  close(fd);
  assert_int_equal(rc, CORUN_EINVALID);
  assert_null(p);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], "<stdin>: bad: unknown key \"bad\"");
  corun_error_release(&err);

  /* Without the bad key it loads, relative cwd against the current folder. */
  free(tu_write(dir, "in.json",
                "{\"jobs\": [{\"cmd\": \"x\", \"cwd\": \"w\"}]}"));
  fd = open(path, O_RDONLY);
  saved = dup(0);
  assert_int_equal(dup2(fd, 0), 0);
  rc = corun_plan_load_file(&p, "-", &err);
  assert_int_equal(dup2(saved, 0), 0);
  close(saved);
  close(fd);
  assert_int_equal(rc, 0);
  assert_string_equal(job(p, 0)->cwd, want);
  corun_plan_free(p);

  free(want);
  free(cwd);
  free(path);
  tu_rmdir(dir);
  free(dir);
}

static void expect_file_error(const char *path, int code, const char *want) {
  corun_plan_t *p = (corun_plan_t *)&p;
  corun_error_t err = {0};
  int rc = corun_plan_load_file(&p, path, &err);
  if (rc != code || err.count != 1)
    print_errors(&err);
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_null(p);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], want);
  corun_error_release(&err);
}

static void test_load_file_reports_a_missing_path(void **state) {
  (void)state;
  expect_file_error("/nonexistent/jobs.json", CORUN_EIO,
                    "/nonexistent/jobs.json: No such file or directory");
  expect_file_error("", CORUN_EIO, "no job file given");
}

static void test_load_file_reports_a_directory(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char *want = NULL;
  assert_true(asprintf(&want, "%s: Is a directory", dir) > 0);
  expect_file_error(dir, CORUN_EIO, want);
  free(want);
  tu_rmdir(dir);
  free(dir);
}

static void test_load_file_reports_an_unreadable_path(void **state) {
  (void)state;
  if (geteuid() == 0)
    skip(); /* root reads it all the same */
  char *dir = tu_tmpdir();
  char *path = tu_write(dir, "secret.json", "{\"jobs\": []}");
  assert_int_equal(chmod(path, 0), 0);
  char *want = NULL;
  assert_true(asprintf(&want, "%s: Permission denied", path) > 0);
  expect_file_error(path, CORUN_EIO, want);
  free(want);
  free(path);
  tu_rmdir(dir);
  free(dir);
}

static void test_load_file_reports_a_path_through_a_file(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  char *path = tu_write(dir, "f", "");
  char *bad = NULL, *want = NULL;
  assert_true(asprintf(&bad, "%s/jobs.json", path) > 0);
  assert_true(asprintf(&want, "%s: Not a directory", bad) > 0);
  expect_file_error(bad, CORUN_EIO, want);
  /* An empty file on disk is a syntax problem, with the path as label. */
  free(want);
  assert_true(asprintf(&want,
                       "%s:1:1: empty file, expected a JSON object", path) > 0);
  expect_file_error(path, CORUN_ESYNTAX, want);
  free(want);
  free(bad);
  free(path);
  tu_rmdir(dir);
  free(dir);
}

/* ---- text and syntax --------------------------------------------------- */

static void test_load_reports_an_empty_file(void **state) {
  (void)state;
  EXPECT_ERRORS("", CORUN_ESYNTAX,
                LABEL ":1:1: empty file, expected a JSON object");
  EXPECT_ERRORS(" \n\t\r\n  ", CORUN_ESYNTAX,
                LABEL ":1:1: empty file, expected a JSON object");
  EXPECT_ERRORS("\xef\xbb\xbf", CORUN_ESYNTAX,
                LABEL ":1:1: empty file, expected a JSON object");
  EXPECT_ERRORS_LEN(NULL, 0, CORUN_ESYNTAX,
                    LABEL ":1:1: empty file, expected a JSON object");
}

static void test_load_reports_invalid_utf8_with_its_position(void **state) {
  (void)state;
  /* Latin-1, as an editor might have saved it. */
  EXPECT_ERRORS("{\"jobs\": [],\n \"x\": \"caf\xe9\"}", CORUN_ESYNTAX,
                LABEL ":2:11: invalid UTF-8");
  /* Columns count characters, not bytes. */
  EXPECT_ERRORS("{\"\xc3\xa9\xc3\xa9\": \xff}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  /* Overlong forms. */
  EXPECT_ERRORS("{\"a\": \"\xc0\xaf\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": \"\xe0\x80\xaf\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": \"\xf0\x80\x80\xaf\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  /* UTF-16 surrogates and code points past U+10FFFF. */
  EXPECT_ERRORS("{\"a\": \"\xed\xa0\x80\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": \"\xf4\x90\x80\x80\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": \"\xf5\x80\x80\x80\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  /* A lone continuation byte, a sequence cut short, one cut by the end. */
  EXPECT_ERRORS("{\"a\": \"\x80\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": \"\xe2\x82\"}", CORUN_ESYNTAX,
                LABEL ":1:8: invalid UTF-8");
  EXPECT_ERRORS("{\"a\": 1}\xe2\x82", CORUN_ESYNTAX,
                LABEL ":1:9: invalid UTF-8");
  /* A UTF-16 file. */
  EXPECT_ERRORS_LEN("\xff\xfe{\0}\0", 6, CORUN_ESYNTAX,
                    LABEL ":1:1: invalid UTF-8");
}

static void test_load_accepts_the_edges_of_utf8(void **state) {
  (void)state;
  corun_plan_t *p = load_ok("{\"jobs\": [{\"cmd\": [\"\xc2\x80\", "
                            "\"\xed\x9f\xbf\", \"\xee\x80\x80\", "
                            "\"\xf4\x8f\xbf\xbf\", \"\xf0\x90\x80\x80\"]}]}");
  assert_string_equal(job(p, 0)->argv[3], "\xf4\x8f\xbf\xbf");
  corun_plan_free(p);
}

static void test_load_reports_syntax_errors_with_line_and_column(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [\n  {\"cmd\": \"a\"}\n  {\"cmd\": \"b\"}\n]}",
                CORUN_ESYNTAX, LABEL ":3:3: syntax error: unexpected '{', expected ',' or ']'");
  EXPECT_ERRORS("{\"jobs\": [],}", CORUN_ESYNTAX,
                LABEL ":1:13: syntax error: unexpected '}', expected a key "
                      "(a comma cannot come last)");
  EXPECT_ERRORS("{\"jobs\": [1,]}", CORUN_ESYNTAX,
                LABEL ":1:13: syntax error: unexpected ']', expected a value (a comma cannot come last)");
  EXPECT_ERRORS("{\"jobs\": [", CORUN_ESYNTAX,
                LABEL ":1:11: syntax error: unexpected end of input, expected a value or ']'");
  EXPECT_ERRORS("{\"jobs\"\n", CORUN_ESYNTAX,
                LABEL ":2:1: syntax error: unexpected end of input, expected ':'");
  EXPECT_ERRORS("{\"jobs\" []}", CORUN_ESYNTAX,
                LABEL ":1:9: syntax error: unexpected '[', expected ':'");
  EXPECT_ERRORS("{'jobs': []}", CORUN_ESYNTAX,
                LABEL ":1:2: syntax error: unexpected ''', expected a key in "
                      "double quotes or '}'");
  EXPECT_ERRORS("{jobs: []}", CORUN_ESYNTAX,
                LABEL ":1:2: syntax error: unexpected 'j', expected a key in "
                      "double quotes or '}'");
  EXPECT_ERRORS("{\"jobs\": [], // comment\n}", CORUN_ESYNTAX,
                LABEL ":1:14: syntax error: unexpected '/', expected a key in "
                      "double quotes");
  EXPECT_ERRORS("{\"a\": tru}", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unexpected 'tru', expected a value "
                      "(true, false or null)");
  EXPECT_ERRORS("{\"a\": nul", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unexpected 'nul', expected a value (true, false or null)");
  EXPECT_ERRORS("{\"a\": True}", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unexpected 'T', expected a value");
  EXPECT_ERRORS("{\"a\": \xe2\x80\x9cx\xe2\x80\x9d}", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unexpected '\xe2\x80\x9c' "
                      "(U+201C), expected a value");
  EXPECT_ERRORS_LEN("{\"a\": \0}", 8, CORUN_ESYNTAX,
                    LABEL ":1:7: syntax error: unexpected U+0000, expected a value");
}

static void test_load_reports_trailing_garbage(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": []} x", CORUN_ESYNTAX,
                LABEL ":1:14: syntax error: unexpected 'x' after the JSON "
                      "value");
  EXPECT_ERRORS("{\"jobs\": []}\n{\"jobs\": []}\n", CORUN_ESYNTAX,
                LABEL ":2:1: syntax error: unexpected '{' after the JSON "
                      "value");
  EXPECT_ERRORS("{\"jobs\": []}}", CORUN_ESYNTAX,
                LABEL ":1:13: syntax error: unexpected '}' after the JSON "
                      "value");
  EXPECT_ERRORS_LEN("{\"jobs\": []}\0", 13, CORUN_ESYNTAX,
                    LABEL ":1:13: syntax error: unexpected U+0000 after the "
                          "JSON value");
}

static void test_load_reports_bad_strings(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [], \"a\": \"x\n\"}", CORUN_ESYNTAX,
                LABEL ":1:21: syntax error: string not closed before the end "
                      "of the line (a line break inside a string is written "
                      "\\n)");
  EXPECT_ERRORS("{\"a\": \"x\ty\"}", CORUN_ESYNTAX,
                LABEL ":1:9: syntax error: control character U+0009 in a "
                      "string");
  EXPECT_ERRORS("{\"a\": \"\\x\"}", CORUN_ESYNTAX,
                LABEL ":1:8: syntax error: invalid escape in a string");
  EXPECT_ERRORS("{\"a\": \"\\u12\"}", CORUN_ESYNTAX,
                LABEL ":1:8: syntax error: invalid \\u escape");
  EXPECT_ERRORS("{\"a\": \"\\ud800\"}", CORUN_ESYNTAX,
                LABEL ":1:8: syntax error: invalid \\u escape: unpaired "
                      "surrogate");
  EXPECT_ERRORS("{\"a\": \"\\ud800\\u0041\"}", CORUN_ESYNTAX,
                LABEL ":1:8: syntax error: invalid \\u escape: unpaired "
                      "surrogate");
  EXPECT_ERRORS("{\"a\": \"\\udc00\"}", CORUN_ESYNTAX,
                LABEL ":1:8: syntax error: invalid \\u escape: unpaired "
                      "surrogate");
  EXPECT_ERRORS("{\"a\": \"abc", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unterminated string");
  EXPECT_ERRORS("{\"a\": \"abc\\", CORUN_ESYNTAX,
                LABEL ":1:7: syntax error: unterminated string");
}

static void test_load_rejects_nul_in_strings(void **state) {
  (void)state;
  /* cJSON would cut the string short there: "rm -rf /\u0000tmp". */
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": \"rm -rf /\\u0000tmp\"}]}",
                CORUN_EINVALID,
                LABEL ":1:28: strings must not contain \\u0000");
  EXPECT_ERRORS("{\"jobs\": [], \"a\\u0000\": 1}", CORUN_EINVALID,
                LABEL ":1:16: strings must not contain \\u0000");
  EXPECT_ERRORS_LEN("{\"jobs\": [{\"cmd\": \"a\0b\"}]}", 26, CORUN_ESYNTAX,
                    LABEL ":1:21: syntax error: control character U+0000 in "
                          "a string");
}

static void test_load_reports_bad_numbers(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 01}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: invalid number (leading zero)");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 1.}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: invalid number");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": .5}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: unexpected '.', expected a value");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": +1}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: unexpected '+', expected a value");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": -}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: invalid number");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 1e}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: invalid number");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": NaN}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: unexpected 'N', expected a value");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": Infinity}", CORUN_ESYNTAX,
                LABEL ":1:30: syntax error: unexpected 'I', expected a value");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 0x10}", CORUN_ESYNTAX,
                LABEL ":1:31: syntax error: unexpected 'x', expected ',' or '}'");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": "
                "1000000000000000000000000000000000000000000000000000000000000"
                "00000}",
                CORUN_ESYNTAX, LABEL ":1:30: syntax error: number too long");
}

/* "[[[[...]]]]" or {"a":{"a":...}} nested `depth` deep. */
static char *nested(size_t depth, bool objects) {
  size_t unit = objects ? 5 : 1;
  char *s = malloc(depth * (unit + 1) + 16);
  assert_non_null(s);
  char *w = s;
  for (size_t i = 0; i < depth; i++) {
    memcpy(w, objects ? "{\"a\":" : "[", unit);
    w += unit;
  }
  if (objects)
    *w++ = '1';
  for (size_t i = 0; i < depth; i++)
    *w++ = objects ? '}' : ']';
  *w = '\0';
  return s;
}

static void test_load_reports_deep_nesting_cleanly(void **state) {
  (void)state;
  char *s = nested(10000, false);
  EXPECT_ERRORS(s, CORUN_ESYNTAX,
                LABEL ":1:513: syntax error: nesting too deep (more than 512 "
                      "levels)");
  free(s);
  s = nested(10000, true);
  EXPECT_ERRORS(s, CORUN_ESYNTAX,
                LABEL ":1:2561: syntax error: nesting too deep (more than 512 "
                      "levels)");
  free(s);
  s = nested(1000000, false);
  EXPECT_ERRORS(s, CORUN_ESYNTAX,
                LABEL ":1:513: syntax error: nesting too deep (more than 512 "
                      "levels)");
  free(s);
  /* As deep as allowed is fine for the parser; the shape is still wrong. */
  s = nested(512, false);
  EXPECT_ERRORS(s, CORUN_EINVALID, LABEL ": top level: expected an object");
  free(s);
}

/* ---- shapes and types -------------------------------------------------- */

static void test_load_rejects_a_top_level_that_is_not_an_object(void **state) {
  (void)state;
  EXPECT_ERRORS("[{\"cmd\": \"a\"}]", CORUN_EINVALID,
                LABEL ": top level: expected an object");
  EXPECT_ERRORS("null", CORUN_EINVALID,
                LABEL ": top level: expected an object");
  EXPECT_ERRORS("\"jobs\"", CORUN_EINVALID,
                LABEL ": top level: expected an object");
  EXPECT_ERRORS("42", CORUN_EINVALID, LABEL ": top level: expected an object");
  EXPECT_ERRORS("{}", CORUN_EINVALID,
                LABEL ": top level: missing required key \"jobs\"");
}

static void test_load_reports_null_where_an_object_belongs(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [null, {\"cmd\": \"a\"}, 3, []]}",
                CORUN_EINVALID, LABEL ": jobs[0]: expected an object",
                LABEL ": jobs[2]: expected an object",
                LABEL ": jobs[3]: expected an object");
  EXPECT_ERRORS("{\"jobs\": null, \"defaults\": null, \"pools\": null}",
                CORUN_EINVALID, LABEL ": jobs: expected an array of jobs",
                LABEL ": defaults: expected an object",
                LABEL ": pools: expected an object");
  EXPECT_ERRORS(JOB("\"env\": null"), CORUN_EINVALID,
                LABEL ": jobs[0].env: expected an object");
  EXPECT_ERRORS("{\"jobs\": [], \"defaults\": {\"env\": []}}", CORUN_EINVALID,
                LABEL ": defaults.env: expected an object");
}

static void test_load_reports_wrong_types_with_path(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": {}}", CORUN_EINVALID,
                LABEL ": jobs: expected an array of jobs");
  EXPECT_ERRORS("{\"jobs\": [], \"corun\": \"1\"}", CORUN_EINVALID,
                LABEL ": corun: expected the format version 1");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": \"4\"}", CORUN_EINVALID,
                LABEL ": max_parallel: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"halt\": 1}", CORUN_EINVALID,
                LABEL ": halt: expected a string");
  EXPECT_ERRORS("{\"jobs\": [], \"pools\": {\"link\": \"1\"}}", CORUN_EINVALID,
                LABEL ": pools.link: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [{\"name\": 1, \"cmd\": \"a\"}]}", CORUN_EINVALID,
                LABEL ": jobs[0].name: expected a string");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": {}}]}", CORUN_EINVALID,
                LABEL ": jobs[0].cmd: expected a string or an array of "
                      "strings");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": [\"a\", \"b\", 3, null]}]}",
                CORUN_EINVALID, LABEL ": jobs[0].cmd[2]: expected a string",
                LABEL ": jobs[0].cmd[3]: expected a string");
  EXPECT_ERRORS(JOB("\"cwd\": 1"), CORUN_EINVALID,
                LABEL ": jobs[0].cwd: expected a string");
  EXPECT_ERRORS(JOB("\"env\": {\"FOO\": 1, \"BAR\": true, \"OK\": null}"),
                CORUN_EINVALID,
                LABEL ": jobs[0].env.FOO: expected a string or null",
                LABEL ": jobs[0].env.BAR: expected a string or null");
  EXPECT_ERRORS("{\"jobs\": [], \"defaults\": {\"env\": {\"FOO\": 1}}}",
                CORUN_EINVALID,
                LABEL ": defaults.env.FOO: expected a string or null");
  EXPECT_ERRORS(JOB("\"needs\": \"a\""), CORUN_EINVALID,
                LABEL ": jobs[0].needs: expected an array of job names");
  EXPECT_ERRORS(JOB("\"needs\": [\"a\", 1]"), CORUN_EINVALID,
                LABEL ": jobs[0].needs[1]: expected a string");
  EXPECT_ERRORS(JOB("\"retries\": \"2\""), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS(JOB("\"retry_backoff\": 1"), CORUN_EINVALID,
                LABEL ": jobs[0].retry_backoff: expected true or false");
  EXPECT_ERRORS(JOB("\"allow_failure\": \"true\""), CORUN_EINVALID,
                LABEL ": jobs[0].allow_failure: expected true or false");
  EXPECT_ERRORS(JOB("\"stdin\": [\"a\"]"), CORUN_EINVALID,
                LABEL ": jobs[0].stdin: expected a string");
  EXPECT_ERRORS(JOB("\"pool\": 1"), CORUN_EINVALID,
                LABEL ": jobs[0].pool: expected a string");
  EXPECT_ERRORS(JOB("\"timeout\": true"), CORUN_EINVALID,
                LABEL ": jobs[0].timeout: expected a number of seconds or a "
                      "duration like \"1m30s\"");
}

static void test_load_quotes_odd_keys_in_paths(void **state) {
  (void)state;
  EXPECT_ERRORS(JOB("\"env\": {\"A B\": 1, \"x\\\"y\": 2, \"\\n\": 3}"),
                CORUN_EINVALID,
                LABEL ": jobs[0].env[\"A B\"]: expected a string or null",
                LABEL ": jobs[0].env[\"x\\\"y\"]: expected a string or null",
                LABEL ": jobs[0].env[\"\\u000a\"]: expected a string or null");
  EXPECT_ERRORS("{\"jobs\": [], \"pools\": {\"a.b\": 0}}", CORUN_EINVALID,
                LABEL ": pools[\"a.b\"]: expected an integer from 1 to "
                      "100000");
}

static void test_load_reports_unknown_key_with_path(void **state) {
  (void)state;
  EXPECT_ERRORS(JOB("\"tmeout\": 5"), CORUN_EINVALID,
                LABEL ": jobs[0].tmeout: unknown key \"tmeout\" (did you "
                      "mean \"timeout\"?)");
  EXPECT_ERRORS(JOB("\"comand\": \"x\""), CORUN_EINVALID,
                LABEL ": jobs[0].comand: unknown key \"comand\"");
  EXPECT_ERRORS(JOB("\"Name\": \"x\""), CORUN_EINVALID,
                LABEL ": jobs[0].Name: unknown key \"Name\" (did you mean "
                      "\"name\"?)");
  EXPECT_ERRORS(JOB("\"alow_failure\": true"), CORUN_EINVALID,
                LABEL ": jobs[0].alow_failure: unknown key \"alow_failure\" "
                      "(did you mean \"allow_failure\"?)");
  EXPECT_ERRORS(JOB("\"need\": []"), CORUN_EINVALID,
                LABEL ": jobs[0].need: unknown key \"need\" (did you mean "
                      "\"needs\"?)");
  EXPECT_ERRORS("{\"jobs\": [], \"job\": []}", CORUN_EINVALID,
                LABEL ": job: unknown key \"job\" (did you mean \"jobs\"?)");
  EXPECT_ERRORS("{\"jobs\": [], \"maxparallel\": 2}", CORUN_EINVALID,
                LABEL ": maxparallel: unknown key \"maxparallel\" (did you "
                      "mean \"max_parallel\"?)");
  EXPECT_ERRORS("{\"jobs\": [], \"timeout\": 2}", CORUN_EINVALID,
                LABEL ": timeout: unknown key \"timeout\" (a setting for "
                      "every job goes in \"defaults\")");
  EXPECT_ERRORS("{\"jobs\": [], \"defaults\": {\"retrys\": 2}}",
                CORUN_EINVALID,
                LABEL ": defaults.retrys: unknown key \"retrys\" (did you "
                      "mean \"retries\"?)");
  EXPECT_ERRORS("{\"jobs\": [], \"matrix\": {}}", CORUN_EINVALID,
                LABEL ": matrix: unknown key \"matrix\"");
}

static void test_load_rejects_job_only_keys_in_defaults(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [], \"defaults\": {\"name\": \"a\", \"cmd\": "
                "\"b\", \"needs\": []}}",
                CORUN_EINVALID,
                LABEL ": defaults.name: not allowed in defaults (set it in "
                      "each job)",
                LABEL ": defaults.cmd: not allowed in defaults (set it in "
                      "each job)",
                LABEL ": defaults.needs: not allowed in defaults (set it in "
                      "each job)");
}

static void test_load_reports_duplicate_keys_with_path(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [], \"jobs\": []}", CORUN_EINVALID,
                LABEL ": jobs: duplicate key \"jobs\"");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": \"a\", \"timeout\": 1, "
                "\"timeout\": 2}]}",
                CORUN_EINVALID,
                LABEL ": jobs[0].timeout: duplicate key \"timeout\"");
  EXPECT_ERRORS(JOB("\"env\": {\"A\": \"1\", \"B\": \"2\", \"A\": \"3\"}"),
                CORUN_EINVALID, LABEL ": jobs[0].env.A: duplicate key \"A\"");
  /* Inside values of unknown keys too, and three times over. */
  EXPECT_ERRORS("{\"jobs\": [], \"x\": [{\"k\": 1, \"k\": 2, \"k\": 3}]}",
                CORUN_EINVALID, LABEL ": x[0].k: duplicate key \"k\"",
                LABEL ": x[0].k: duplicate key \"k\"",
                LABEL ": x: unknown key \"x\"");

  /* A big object: every repeat is found, in the order of the file. */
  char buf[4096];
  int n = snprintf(buf, sizeof buf, "{\"jobs\": [{\"cmd\": \"a\", \"env\": {");
  for (int i = 0; i < 40; i++)
    n += snprintf(buf + n, sizeof buf - (size_t)n, "\"V%d\": \"x\", ", i);
  n += snprintf(buf + n, sizeof buf - (size_t)n,
                "\"V7\": \"y\", \"V3\": \"y\", \"V7\": \"z\"}}]}");
  EXPECT_ERRORS(buf, CORUN_EINVALID,
                LABEL ": jobs[0].env.V7: duplicate key \"V7\"",
                LABEL ": jobs[0].env.V3: duplicate key \"V3\"",
                LABEL ": jobs[0].env.V7: duplicate key \"V7\"");
}

static void test_load_rejects_numbers_too_big(void **state) {
  (void)state;
  EXPECT_ERRORS(JOB("\"retries\": 1e30"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS(JOB("\"retries\": 4294967296"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS(JOB("\"retries\": 1001"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS(JOB("\"retries\": 1e400"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 4294967297}",
                CORUN_EINVALID,
                LABEL ": max_parallel: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 100001}", CORUN_EINVALID,
                LABEL ": max_parallel: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"pools\": {\"a\": 1e19}}", CORUN_EINVALID,
                LABEL ": pools.a: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"corun\": 4294967297}", CORUN_EINVALID,
                LABEL ": corun: unsupported format version: this corun "
                      "reads version 1");
  EXPECT_ERRORS(JOB("\"timeout\": 1e10"), CORUN_EINVALID,
                LABEL ": jobs[0].timeout: too long (at most 1000000000 "
                      "seconds)");
  EXPECT_ERRORS(JOB("\"kill_grace\": 1e999"), CORUN_EINVALID,
                LABEL ": jobs[0].kill_grace: too long (at most 1000000000 "
                      "seconds)");
  EXPECT_ERRORS(JOB("\"retry_delay\": \"1000000001s\""), CORUN_EINVALID,
                LABEL ": jobs[0].retry_delay: expected a number of seconds or "
                      "a duration like \"1m30s\"");
}

static void test_load_rejects_fractions_and_negatives(void **state) {
  (void)state;
  EXPECT_ERRORS(JOB("\"retries\": 2.5"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS(JOB("\"retries\": -1"), CORUN_EINVALID,
                LABEL ": jobs[0].retries: expected an integer from 0 to 1000");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 0}", CORUN_EINVALID,
                LABEL ": max_parallel: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"max_parallel\": 1.5}", CORUN_EINVALID,
                LABEL ": max_parallel: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"pools\": {\"a\": 0, \"b\": -2}}",
                CORUN_EINVALID,
                LABEL ": pools.a: expected an integer from 1 to 100000",
                LABEL ": pools.b: expected an integer from 1 to 100000");
  EXPECT_ERRORS("{\"jobs\": [], \"corun\": 2}", CORUN_EINVALID,
                LABEL ": corun: unsupported format version: this corun "
                      "reads version 1");
  EXPECT_ERRORS("{\"jobs\": [], \"corun\": 1.5}", CORUN_EINVALID,
                LABEL ": corun: unsupported format version: this corun "
                      "reads version 1");
}

static void test_load_rejects_bad_durations(void **state) {
  (void)state;
  static const char *const bad[] = {"\"\"",     "\"1x\"",   "\"-1s\"",
                                    "\"1e3\"",  "\"inf\"",  "\"30s1m\"",
                                    "\"1 s\"",  "\"nan\"",  "null",
                                    "[]",       "{}",       "\"1m30\""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"jobs\": [{\"cmd\": \"a\", \"retry_delay\": %s}]}", bad[i]);
    EXPECT_ERRORS(json, CORUN_EINVALID,
                  LABEL ": jobs[0].retry_delay: expected a number of seconds "
                        "or a duration like \"1m30s\"");
  }
  EXPECT_ERRORS(JOB("\"timeout\": -1"), CORUN_EINVALID,
                LABEL ": jobs[0].timeout: must not be negative");
  EXPECT_ERRORS(JOB("\"kill_grace\": -0.5"), CORUN_EINVALID,
                LABEL ": jobs[0].kill_grace: must not be negative");
  EXPECT_ERRORS(JOB("\"timeout\": 0"), CORUN_EINVALID,
                LABEL ": jobs[0].timeout: must be more than 0 (leave it out "
                      "for no time limit)");
  EXPECT_ERRORS(JOB("\"timeout\": \"0ms\""), CORUN_EINVALID,
                LABEL ": jobs[0].timeout: must be more than 0 (leave it out "
                      "for no time limit)");
  EXPECT_ERRORS("{\"jobs\": [], \"defaults\": {\"timeout\": \"soon\"}}",
                CORUN_EINVALID,
                LABEL ": defaults.timeout: expected a number of seconds or a "
                      "duration like \"1m30s\"");
}

static void test_load_rejects_bad_commands(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"a\"}]}", CORUN_EINVALID,
                LABEL ": jobs[0]: missing required key \"cmd\"");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": \"\"}]}", CORUN_EINVALID,
                LABEL ": jobs[0].cmd: expected a non-empty string");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": []}]}", CORUN_EINVALID,
                LABEL ": jobs[0].cmd: expected a non-empty array");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": [\"\", \"x\"]}]}", CORUN_EINVALID,
                LABEL ": jobs[0].cmd[0]: expected the program to run, not "
                      "\"\"");
  EXPECT_ERRORS("{\"jobs\": [{\"cmd\": null}]}", CORUN_EINVALID,
                LABEL ": jobs[0].cmd: expected a string or an array of "
                      "strings");
}

static void test_load_rejects_bad_env_names_and_cwd(void **state) {
  (void)state;
  EXPECT_ERRORS(JOB("\"env\": {\"A=B\": \"x\", \"\": \"y\"}"), CORUN_EINVALID,
                LABEL ": jobs[0].env[\"A=B\"]: invalid variable name \"A=B\" "
                      "(empty or containing '=')",
                LABEL ": jobs[0].env[\"\"]: invalid variable name \"\" "
                      "(empty or containing '=')");
  EXPECT_ERRORS(JOB("\"cwd\": \"\""), CORUN_EINVALID,
                LABEL ": jobs[0].cwd: expected a non-empty string");
}

static void test_load_rejects_a_name_with_spaces(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"build all\", \"cmd\": \"make\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[0].name: invalid name \"build all\": use 1 to "
                      "200 of A-Z a-z 0-9 _ . : / @ + -");
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"\", \"cmd\": \"make\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[0].name: invalid name \"\": use 1 to 200 of "
                      "A-Z a-z 0-9 _ . : / @ + -");
  char json[512];
  snprintf(json, sizeof json, "{\"jobs\": [{\"name\": \"%0201d\", \"cmd\": "
                              "\"make\"}]}", 0);
  EXPECT_ERRORS(json, CORUN_EINVALID,
                LABEL ": jobs[0].name: name too long (201 characters, at "
                      "most 200)");
  EXPECT_ERRORS(JOB("\"needs\": [\"a b\"]"), CORUN_EINVALID,
                LABEL ": jobs[0].needs[0]: invalid job name \"a b\"");
  EXPECT_ERRORS("{\"jobs\": [], \"pools\": {\"a b\": 1}}", CORUN_EINVALID,
                LABEL ": pools: invalid pool name \"a b\"");
  EXPECT_ERRORS(JOB("\"pool\": \"a b\""), CORUN_EINVALID,
                LABEL ": jobs[0].pool: invalid pool name \"a b\"");
}

static void test_load_reports_duplicate_names(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"a\", \"cmd\": \"x\"}, "
                "{\"name\": \"b\", \"cmd\": \"x\"}, "
                "{\"name\": \"a\", \"cmd\": \"x\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[2].name: duplicate name \"a\" (also jobs[0])");
  /* A default name counts: the second job would be "job-2". */
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"job-2\", \"cmd\": \"x\"}, "
                "{\"cmd\": \"x\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[1]: its default name \"job-2\" is already used "
                      "by jobs[0]: give it a name");
}

static void test_load_keeps_positions_after_a_rejected_job(void **state) {
  (void)state;
  /* Job 0 is rejected; job 1 is still jobs[1] and still "job-2". */
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"a b\", \"cmd\": \"x\"}, "
                "{\"cmd\": \"x\"}, {\"name\": \"job-2\", \"cmd\": \"x\"}, "
                "{\"name\": \"c d\", \"cmd\": \"x\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[0].name: invalid name \"a b\": use 1 to 200 of "
                      "A-Z a-z 0-9 _ . : / @ + -",
                LABEL ": jobs[2].name: duplicate name \"job-2\" (also "
                      "jobs[1])",
                LABEL ": jobs[3].name: invalid name \"c d\": use 1 to 200 of "
                      "A-Z a-z 0-9 _ . : / @ + -");
}

static void test_load_reports_bad_halt_through_the_plan(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [], \"halt\": \"sometimes\"}", CORUN_EINVALID,
                LABEL ": halt: expected \"never\", \"fail-fast\", "
                      "\"soon,fail=N\", \"now,fail=N\", \"soon,success=N\" or "
                      "\"now,success=N\"");
}

static void test_load_reports_unknown_needs_pools_and_cycles(void **state) {
  (void)state;
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"a\", \"cmd\": \"x\", \"needs\": "
                "[\"nope\"]}, {\"name\": \"b\", \"cmd\": \"x\", \"pool\": "
                "\"gone\"}]}",
                CORUN_EINVALID,
                LABEL ": jobs[0].needs[0]: unknown job \"nope\"",
                LABEL ": jobs[1].pool: unknown pool \"gone\"");
  EXPECT_ERRORS("{\"jobs\": [{\"name\": \"a\", \"cmd\": \"x\", \"needs\": "
                "[\"b\"]}, {\"name\": \"b\", \"cmd\": \"x\", \"needs\": "
                "[\"a\"]}]}",
                CORUN_ECYCLE,
                LABEL ": jobs[0].needs: dependency cycle: a -> b -> a");
}

static void test_load_reports_every_error_in_one_file(void **state) {
  (void)state;
  EXPECT_ERRORS(
      "{\n"
      "  \"corun\": 2,\n"
      "  \"max_parallel\": 0,\n"
      "  \"pools\": {\"link\": 0},\n"
      "  \"defaults\": {\"tmeout\": \"1m\", \"env\": {\"A=\": \"x\"}},\n"
      "  \"jobs\": [\n"
      "    {\"name\": \"a b\", \"cmd\": [], \"timeout\": \"soon\"},\n"
      "    {\"cmd\": \"x\", \"retries\": 1e30, \"retries\": 1},\n"
      "    null,\n"
      "    {\"name\": \"job-2\", \"cmd\": \"x\", \"needs\": \"a\"}\n"
      "  ],\n"
      "  \"extra\": true\n"
      "}\n",
      CORUN_EINVALID,
      LABEL ": jobs[1].retries: duplicate key \"retries\"",
      LABEL ": corun: unsupported format version: this corun reads "
            "version 1",
      LABEL ": max_parallel: expected an integer from 1 to 100000",
      LABEL ": pools.link: expected an integer from 1 to 100000",
      LABEL ": defaults.tmeout: unknown key \"tmeout\" (did you mean "
            "\"timeout\"?)",
      LABEL ": defaults.env[\"A=\"]: invalid variable name \"A=\" (empty or "
            "containing '=')",
      LABEL ": extra: unknown key \"extra\"",
      LABEL ": jobs[0].cmd: expected a non-empty array",
      LABEL ": jobs[0].timeout: expected a number of seconds or a duration "
            "like \"1m30s\"",
      LABEL ": jobs[0].name: invalid name \"a b\": use 1 to 200 of A-Z a-z "
            "0-9 _ . : / @ + -",
      LABEL ": jobs[1].retries: expected an integer from 0 to 1000",
      LABEL ": jobs[2]: expected an object",
      LABEL ": jobs[3].needs: expected an array of job names",
      LABEL ": jobs[3].name: duplicate name \"job-2\" (also jobs[1])");
}

static void test_load_refuses_a_plan_that_is_not_empty(void **state) {
  (void)state;
  corun_plan_t *p = NULL;
  corun_error_t err = {0};
  assert_int_equal(corun_plan_new(&p, "mine", NULL), 0);
  corun_job_desc_t d = {.shell = "true"};
  assert_int_equal(corun_plan_add_job(p, &d, &err), 0);
  const char *json = "{\"jobs\": []}";
  assert_int_equal(corun__load(p, json, strlen(json), &err), CORUN_ESTATE);
  assert_int_equal(err.count, 1);
  assert_string_equal(err.messages[0], "mine: the plan is not empty");
  assert_int_equal(corun_plan_job_count(p), 1);
  corun_error_release(&err);
  corun_plan_free(p);
}

/* ---- size -------------------------------------------------------------- */

static void test_load_reads_100000_jobs(void **state) {
  (void)state;
  const size_t n = 100000;
  size_t cap = n * 96 + 64, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  len += (size_t)snprintf(buf + len, cap - len,
                          "{\"defaults\": {\"env\": {\"K\": \"v\"}}, "
                          "\"jobs\": [\n");
  for (size_t i = 0; i < n; i++) {
    if (i == 0)
      len += (size_t)snprintf(buf + len, cap - len,
                              "{\"name\": \"j0\", \"cmd\": [\"true\"]}");
    else
      len += (size_t)snprintf(buf + len, cap - len,
                              ",\n{\"name\": \"j%zu\", \"cmd\": \"true\", "
                              "\"needs\": [\"j%zu\"]}",
                              i, i / 2);
  }
  len += (size_t)snprintf(buf + len, cap - len, "]}\n");
  corun_plan_t *p = load_ok_len(buf, len);
  assert_int_equal(corun_plan_job_count(p), n);
  assert_string_equal(job(p, n - 1)->name, "j99999");
  assert_string_equal(job(p, n - 1)->needs[0], "j49999");
  assert_string_equal(job(p, n - 1)->env[0], "K=v");
  corun_plan_free(p);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_reads_the_spec_example),
      cmocka_unit_test(test_load_names_unnamed_jobs_by_position),
      cmocka_unit_test(test_load_accepts_an_empty_job_list),
      cmocka_unit_test(test_load_reads_every_job_key),
      cmocka_unit_test(test_load_decodes_string_escapes),
      cmocka_unit_test(test_load_merges_defaults_under_job_values),
      cmocka_unit_test(test_load_accepts_durations_as_numbers_or_strings),
      cmocka_unit_test(test_load_accepts_whole_numbers_written_as_decimals),
      cmocka_unit_test(test_load_skips_a_utf8_bom),
      cmocka_unit_test(test_load_accepts_any_whitespace_layout),
      cmocka_unit_test(test_load_buffer_labels_and_resolves_defaults),
      cmocka_unit_test(test_load_file_resolves_cwd_against_the_files_folder),
      cmocka_unit_test(test_load_file_labels_messages_with_the_path),
      cmocka_unit_test(test_load_file_reads_stdin_for_dash),
      cmocka_unit_test(test_load_file_reports_a_missing_path),
      cmocka_unit_test(test_load_file_reports_a_directory),
      cmocka_unit_test(test_load_file_reports_an_unreadable_path),
      cmocka_unit_test(test_load_file_reports_a_path_through_a_file),
      cmocka_unit_test(test_load_reports_an_empty_file),
      cmocka_unit_test(test_load_reports_invalid_utf8_with_its_position),
      cmocka_unit_test(test_load_accepts_the_edges_of_utf8),
      cmocka_unit_test(test_load_reports_syntax_errors_with_line_and_column),
      cmocka_unit_test(test_load_reports_trailing_garbage),
      cmocka_unit_test(test_load_reports_bad_strings),
      cmocka_unit_test(test_load_rejects_nul_in_strings),
      cmocka_unit_test(test_load_reports_bad_numbers),
      cmocka_unit_test(test_load_reports_deep_nesting_cleanly),
      cmocka_unit_test(test_load_rejects_a_top_level_that_is_not_an_object),
      cmocka_unit_test(test_load_reports_null_where_an_object_belongs),
      cmocka_unit_test(test_load_reports_wrong_types_with_path),
      cmocka_unit_test(test_load_quotes_odd_keys_in_paths),
      cmocka_unit_test(test_load_reports_unknown_key_with_path),
      cmocka_unit_test(test_load_rejects_job_only_keys_in_defaults),
      cmocka_unit_test(test_load_reports_duplicate_keys_with_path),
      cmocka_unit_test(test_load_rejects_numbers_too_big),
      cmocka_unit_test(test_load_rejects_fractions_and_negatives),
      cmocka_unit_test(test_load_rejects_bad_durations),
      cmocka_unit_test(test_load_rejects_bad_commands),
      cmocka_unit_test(test_load_rejects_bad_env_names_and_cwd),
      cmocka_unit_test(test_load_rejects_a_name_with_spaces),
      cmocka_unit_test(test_load_reports_duplicate_names),
      cmocka_unit_test(test_load_keeps_positions_after_a_rejected_job),
      cmocka_unit_test(test_load_reports_bad_halt_through_the_plan),
      cmocka_unit_test(test_load_reports_unknown_needs_pools_and_cycles),
      cmocka_unit_test(test_load_reports_every_error_in_one_file),
      cmocka_unit_test(test_load_refuses_a_plan_that_is_not_empty),
      cmocka_unit_test(test_load_reads_100000_jobs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
