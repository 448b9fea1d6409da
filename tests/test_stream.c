/*
 * Jobs as they come (SPEC §11, command line): `--stream FILE`, JSON Lines
 * read as they arrive from a file, a pipe or a FIFO, and `--each TEMPLATE`,
 * one job per item of the arguments or of the lines of standard input.
 * The built corun is run with exact checks of its exit status, stdout,
 * stderr and the files it writes.
 *
 * corun runs under `env CORUN_TEST_MARK=...`, so every job it starts (they
 * inherit its environment) carries the test's marker, and every test ends
 * by proving that no marked process is left.
 *
 * Under valgrind (CORUN_UNDER_VALGRIND=1) the 10,000-item test is skipped
 * and the timing bounds are wider. CORUN_TEST_FILTER / CORUN_TEST_SKIP
 * select tests by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* tests/run_harness.c: a suite's main, with CORUN_TEST_FILTER / _SKIP. */
int run_suite(const char *suite, const struct CMUnitTest *tests, size_t n);

/* ---- the per-test context ----------------------------------------------- */

#define KEEP_MAX 256

static struct {
  char *dir;     /* a fresh folder per test */
  char mark[80]; /* CORUN_TEST_MARK=value */
  void *kept[KEEP_MAX];
  size_t n_kept;
  pid_t child; /* a corun started by hand */
  int fd;      /* a FIFO end the test holds */
} T;

static int setup(void **state) {
  (void)state;
  T.dir = tu_tmpdir();
  snprintf(T.mark, sizeof T.mark, "%s", tu_marker());
  T.n_kept = 0;
  T.child = 0;
  T.fd = -1;
  return 0;
}

static void free_parsed(void);

static int teardown(void **state) {
  (void)state;
  free_parsed();
  if (T.child > 0) {
    kill(T.child, SIGKILL);
    waitpid(T.child, NULL, 0);
    T.child = 0;
  }
  if (T.fd >= 0)
    close(T.fd);
  /* A failed test may leave a corun (a hung one) and its jobs behind. */
  if (tu_kill_marked(T.mark) > 0)
    print_message("killed what was left of the test\n");
  tu_rmdir(T.dir);
  free(T.dir);
  for (size_t i = 0; i < T.n_kept; i++)
    free(T.kept[i]);
  T.n_kept = 0;
  return 0;
}

/* corun under valgrind: slower to start, slower to spawn. */
static bool vg(void) { return getenv("CORUN_UNDER_VALGRIND") != NULL; }

static void *keep(void *p) {
  assert_non_null(p);
  assert_true(T.n_kept < KEEP_MAX);
  T.kept[T.n_kept++] = p;
  return p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  assert_true(n >= 0);
  return keep(s);
}

static char *path(const char *name) { return fmt("%s/%s", T.dir, name); }

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static char *slurp(const char *p, size_t *len) {
  char *s = tu_read(p, len);
  if (s == NULL)
    print_message("cannot read %s\n", p);
  assert_non_null(s);
  return keep(s);
}

/* The summary's time, " in 1.2s", written as " in Ts". */
static char *mask_secs(const char *s) {
  char *out = keep(strdup(s)), *w = out;
  while (*s) {
    size_t k = 0;
    if (strncmp(s, " in ", 4) == 0) {
      k = 4;
      while (s[k] >= '0' && s[k] <= '9')
        k++;
      if (k > 4 && s[k] == '.' && s[k + 1] >= '0' && s[k + 1] <= '9' && s[k + 2] == 's')
        k += 3;
      else
        k = 0;
    }
    if (k > 0) {
      memcpy(w, " in Ts", 6);
      w += 6;
      s += k;
    } else {
      *w++ = *s++;
    }
  }
  *w = '\0';
  return out;
}

/* ---- running corun -------------------------------------------------------- */

/* argv[0..] = env MARK corun ARGS..., NULL-terminated. */
static void corun_argv(char **argv, size_t cap, const char *const *args) {
  size_t n = 0;
  argv[n++] = "/usr/bin/env";
  argv[n++] = T.mark;
  argv[n++] = (char *)tu_corun();
  for (size_t i = 0; args[i]; i++) {
    assert_true(n + 1 < cap);
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
}

static void run_corun(tu_result_t *r, const char *in, double limit,
                      const char *const *args) {
  char *argv[160];
  corun_argv(argv, 160, args);
  tu_run(r, argv, in, limit);
}

#define CORUN(r, in, limit, ...)                                              \
  run_corun((r), (in), (limit), (const char *const[]){__VA_ARGS__, NULL})

/* A shell script run in the test's folder, with the marker, "$1" the
 * corun binary: for pipelines and producers. */
static void run_sh(tu_result_t *r, double limit, const char *script) {
  char *full = fmt("cd \"$2\" || exit 99\n%s", script);
  char *argv[] = {"/usr/bin/env", T.mark, "/bin/sh", "-c", full, "sh",
                  (char *)tu_corun(), T.dir, NULL};
  tu_run(r, argv, NULL, limit);
}

static void show(const tu_result_t *r) {
  print_message("status %d after %.2fs\n--- stdout (%zu bytes):\n%.3000s\n"
                "--- stderr (%zu bytes):\n%.3000s\n---\n",
                r->status, r->seconds, r->out_len, r->out, r->err_len, r->err);
}

#define ASSERT_STATUS(r, want)                                                \
  do {                                                                        \
    if ((r)->status != (want))                                                \
      show(r);                                                                \
    assert_int_equal((r)->status, (want));                                    \
  } while (0)

#define ASSERT_STR(got, want)                                                 \
  do {                                                                        \
    if (strcmp((got), (want)) != 0)                                           \
      print_message("got:\n[%s]\nwanted:\n[%s]\n", (got), (want));            \
    assert_string_equal((got), (want));                                       \
  } while (0)

/* Every test that runs jobs ends with this. */
#define ASSERT_NOTHING_LEFT()                                                 \
  assert_int_equal(tu_wait_unmarked(T.mark, vg() ? 10.0 : 2.0), 0)

/* The file holds exactly these bytes. */
static void assert_file(const char *p, const char *bytes, size_t n) {
  size_t len = 0;
  char *got = slurp(p, &len);
  if (len != n || memcmp(got, bytes, n) != 0) {
    print_message("%s holds %zu bytes, wanted %zu:\n", p, len, n);
    for (size_t i = 0; i < len && i < 200; i++)
      print_message("%02x%s", (unsigned char)got[i], i + 1 == len ? "\n" : " ");
    print_message("wanted:\n");
    for (size_t i = 0; i < n && i < 200; i++)
      print_message("%02x%s", (unsigned char)bytes[i], i + 1 == n ? "\n" : " ");
    fail();
  }
}

/* ---- reading what corun wrote ------------------------------------------- */

static cJSON *parsed[8];
static size_t n_parsed;

static cJSON *read_json(const char *p) {
  cJSON *j = cJSON_Parse(slurp(p, NULL));
  if (j == NULL)
    print_message("%s is not JSON\n", p);
  assert_non_null(j);
  assert_true(n_parsed < 8);
  parsed[n_parsed++] = j;
  return j;
}

static void free_parsed(void) {
  while (n_parsed > 0)
    cJSON_Delete(parsed[--n_parsed]);
}

static const char *str_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsString(v))
    print_message("no string \"%s\"\n", key);
  assert_true(cJSON_IsString(v));
  return v->valuestring;
}

static double num_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v))
    print_message("no number \"%s\"\n", key);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static const cJSON *jobs_of(const cJSON *report) {
  const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(report, "jobs");
  assert_true(cJSON_IsArray(jobs));
  return jobs;
}

/* Report job i is NAME, ended STATUS, with stdout OUT (NULL: not checked). */
static void assert_job(const cJSON *report, int i, const char *name,
                       const char *status, const char *out) {
  const cJSON *j = cJSON_GetArrayItem(jobs_of(report), i);
  assert_non_null(j);
  ASSERT_STR(str_of(j, "name"), name);
  ASSERT_STR(str_of(j, "status"), status);
  if (out != NULL)
    ASSERT_STR(str_of(j, "stdout"), out);
}

static int count_of(const cJSON *report, const char *status) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(report, "counts");
  return (int)num_of(c, status);
}

/* The first event of the events text that is `kind` (of `job`, when not
 * NULL): its t, or -1 when none. */
static double event_t(const char *events, const char *kind, const char *job) {
  char *text = keep(strdup(events));
  double t = -1;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && t < 0;
       line = strtok_r(NULL, "\n", &save)) {
    cJSON *e = cJSON_Parse(line);
    if (e == NULL)
      print_message("not JSON: %s\n", line);
    assert_non_null(e);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(e, "job");
    if (cJSON_IsString(ev) && strcmp(ev->valuestring, kind) == 0 &&
        (job == NULL || (cJSON_IsString(jb) && strcmp(jb->valuestring, job) == 0)))
      t = num_of(e, "t");
    cJSON_Delete(e);
  }
  return t;
}

/* ---- --stream -------------------------------------------------------------- */

/* A producer that writes job a, waits, then job b: a starts and ends while
 * the second line is not written yet. The producer itself looks at the
 * events file before writing line 2 and says whether a had ended. */
static void test_stream_runs_each_job_as_its_line_arrives(void **state) {
  (void)state;
  int pause = vg() ? 6 : 2;
  tu_result_t r;
  run_sh(&r, 60,
         fmt("( echo '{\"name\":\"a\",\"cmd\":\"echo A\"}'\n"
             "  sleep %d\n"
             "  if grep -q '\"event\":\"exit\",\"job\":\"a\"' ev.jsonl; then\n"
             "    echo yes >seen; fi\n"
             "  echo '{\"name\":\"b\",\"cmd\":\"echo B\"}'\n"
             ") | \"$1\" --stream --events ev.jsonl -\n",
             pause));
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "a | A\nb | B\n");
  ASSERT_STR(r.err, "");
  assert_file(path("seen"), "yes\n", 4);
  char *ev = slurp(path("ev.jsonl"), NULL);
  double a_exit = event_t(ev, "exit", "a"), b_start = event_t(ev, "start", "b");
  double done = event_t(ev, "done", NULL);
  print_message("a ended at %.3f s, b started at %.3f s, done at %.3f s\n",
                a_exit, b_start, done);
  assert_true(a_exit >= 0 && b_start >= 0 && done >= 0);
  /* valgrind's start-up eats into the producer's pause. */
  assert_true(a_exit < pause - (vg() ? 2.5 : 0.5));
  assert_true(b_start > a_exit + 0.5);
  assert_true(done >= pause - (vg() ? 3.0 : 0.2));
  assert_true(r.seconds >= pause);
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* Lines 1-15 of the stream the next tests read: good jobs, blank lines,
 * needs on earlier jobs (one ok, one failed), needs on a later and an
 * unknown job, a duplicate, bad syntax, not an object, an unknown key, a
 * bad value, and a last line with no newline. */
static const char stream_text[] =
    "{\"name\":\"a\",\"cmd\":\"printf A\"}\n"                      /* 1 */
    "\n"                                                             /* 2 */
    "{\"name\":\"b\",\"cmd\":\"printf B\",\"needs\":[\"a\"]}\n"    /* 3 */
    "   \t\n"                                                        /* 4 */
    "{\"name\":\"c\",\"cmd\":\"printf C\",\"needs\":[\"later\"]}\n" /* 5 */
    "{\"name\":\"later\",\"cmd\":\"printf L\"}\n"                  /* 6 */
    "{\"name\":\"a\",\"cmd\":\"true\"}\n"                          /* 7 */
    "{bad\n"                                                         /* 8 */
    "[1]\n"                                                          /* 9 */
    "\"str\"\n"                                                      /* 10 */
    "{\"name\":\"e\",\"cmd\":\"true\",\"foo\":1}\n"                /* 11 */
    "{\"name\":\"f\",\"cmd\":\"true\",\"timeout\":\"x\"}\n"        /* 12 */
    "{\"name\":\"g\",\"cmd\":\"exit 3\"}\n"                        /* 13 */
    "{\"name\":\"h\",\"cmd\":\"printf H\",\"needs\":[\"g\"]}\n"    /* 14 */
    "{\"name\":\"last\",\"cmd\":\"printf Z\",\"needs\":[\"b\"]}";  /* 15 */

/* What corun says about stream_text's bad lines, read from LABEL. */
static char *stream_errors(const char *label) {
  const char *L = label;
  return fmt("%s:5: needs[0]: unknown job \"later\" (a job can need only jobs "
             "submitted before it)\n"
             "%s:7: name: duplicate name \"a\" (also jobs[0])\n"
             "%s:8:2: syntax error: unexpected 'b', expected a key in double "
             "quotes or '}'\n"
             "%s:9: top level: expected a job object\n"
             "%s:10: top level: expected a job object\n"
             "%s:11: foo: unknown key \"foo\"\n"
             "%s:12: timeout: expected a number of seconds or a duration like "
             "\"1m30s\"\n",
             L, L, L, L, L, L, L);
}

/* The run of stream_text: the bad lines said first, in order, then the
 * summary of the failed job; the good lines' jobs ran. */
static void assert_stream_run(const tu_result_t *r, const char *label,
                              const char *report) {
  ASSERT_STATUS(r, 1);
  char *want = stream_errors(label);
  if (strncmp(r->err, want, strlen(want)) != 0)
    show(r);
  assert_memory_equal(r->err, want, strlen(want));
  ASSERT_STR(mask_secs(r->err + strlen(want)),
             "corun: 1 job did not succeed:\n"
             "  g: failed (exit 3)\n"
             "corun: 4 ok, 1 failed, 1 skipped in Ts (run failed)\n");
  cJSON *rep = read_json(report);
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), 6);
  assert_job(rep, 0, "a", "ok", "A");
  assert_job(rep, 1, "b", "ok", "B");
  assert_job(rep, 2, "later", "ok", "L");
  assert_job(rep, 3, "g", "failed", "");
  assert_job(rep, 4, "h", "skipped", "");
  ASSERT_STR(str_of(cJSON_GetArrayItem(jobs_of(rep), 4), "reason"), "need g failed");
  assert_job(rep, 5, "last", "ok", "Z");
  ASSERT_STR(str_of(rep, "status"), "failed");
  assert_int_equal((int)num_of(rep, "exit_code"), 1);
  /* prefix mode, one line per job that printed (the names' width grows
   * as jobs arrive: spaces are not compared) */
  char *out = keep(strdup(r->out)), *w = out;
  for (const char *p = r->out; *p; p++)
    if (*p != ' ')
      *w++ = *p;
  *w = '\0';
  assert_non_null(strstr(out, "a|A\n"));
  assert_non_null(strstr(out, "b|B\n"));
  assert_non_null(strstr(out, "later|L\n"));
  assert_non_null(strstr(out, "last|Z\n"));
  assert_int_equal(strlen(out), strlen("a|A\nb|B\nlater|L\nlast|Z\n"));
}

static void test_stream_from_a_regular_file(void **state) {
  (void)state;
  char *file = keep(tu_write(T.dir, "s.jsonl", stream_text));
  tu_result_t r;
  CORUN(&r, NULL, 30, "--stream", "--report", path("r.json"), file);
  assert_stream_run(&r, file, path("r.json"));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

static void test_stream_from_stdin(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, stream_text, 30, "--stream", "--report", path("r.json"), "-");
  assert_stream_run(&r, "<stdin>", path("r.json"));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* A FIFO written in pieces: a line cut in two writes, a pause between
 * them, the last line without a newline, then the writer closes. */
static void test_stream_from_a_fifo(void **state) {
  (void)state;
  keep(tu_write(T.dir, "s.jsonl", stream_text));
  assert_int_equal(mkfifo(path("f"), 0600), 0);
  tu_result_t r;
  run_sh(&r, 60,
         "\"$1\" --stream --report r.json f & p=$!\n"
         "exec 3>f\n"
         "head -c 100 s.jsonl >&3; sleep 0.3\n"
         "tail -c +101 s.jsonl | head -c 300 >&3; sleep 0.3\n"
         "tail -c +401 s.jsonl >&3\n"
         "exec 3>&-\n"
         "wait $p\n");
  assert_stream_run(&r, "f", path("r.json"));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* The inspection options need a whole job file; nothing runs. */
static void test_stream_with_inspection_options_is_a_usage_error(void **state) {
  (void)state;
  const char *in = "{\"name\":\"t\",\"cmd\":\"touch ran\"}\n";
  const char *opts[] = {"--list", "--check", "--dry-run", "--graph"};
  for (size_t i = 0; i < 4; i++) {
    tu_result_t r;
    CORUN(&r, in, 20, "--stream", opts[i], "-");
    ASSERT_STATUS(&r, 2);
    ASSERT_STR(r.out, "");
    ASSERT_STR(r.err, "corun: --check, --list, --dry-run and --graph need a job "
                      "file, not --stream or --each\n"
                      "Try 'corun --help' for more information.\n");
    tu_result_free(&r);
    CORUN(&r, NULL, 20, opts[i], "--each", "touch ran", "--", "x");
    ASSERT_STATUS(&r, 2);
    tu_result_free(&r);
  }
  tu_result_t r;
  CORUN(&r, in, 20, "--stream", "--each", "touch ran", "-");
  ASSERT_STATUS(&r, 2);
  ASSERT_STR(r.err, "corun: --stream and --each exclude each other\n"
                    "Try 'corun --help' for more information.\n");
  tu_result_free(&r);
  CORUN(&r, in, 20, "--stream", "-", "t");
  ASSERT_STATUS(&r, 2);
  ASSERT_STR(r.err, "corun: --stream takes one file and no job names\n"
                    "Try 'corun --help' for more information.\n");
  tu_result_free(&r);
  assert_false(exists(path("ran")));
  ASSERT_NOTHING_LEFT();
}

/* Standard input that epoll cannot watch (/dev/null) is read at once:
 * an empty input, no job, exit 0. */
static void test_stream_and_each_read_dev_null_as_empty(void **state) {
  (void)state;
  tu_result_t r;
  run_sh(&r, 20,
         "\"$1\" --stream --report r1.json - </dev/null; echo \"stream $?\"\n"
         "\"$1\" --each 'touch ran' --report r2.json </dev/null; echo \"each $?\"\n");
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "stream 0\neach 0\n");
  ASSERT_STR(r.err, "");
  assert_int_equal(cJSON_GetArraySize(jobs_of(read_json(path("r1.json")))), 0);
  assert_int_equal(cJSON_GetArraySize(jobs_of(read_json(path("r2.json")))), 0);
  assert_false(exists(path("ran")));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* ---- --each ---------------------------------------------------------------- */

static void test_each_10000_items_from_stdin(void **state) {
  (void)state;
  if (vg())
    skip();
  tu_result_t r;
  run_sh(&r, 900,
         "seq 10000 | \"$1\" --each 'echo {}' -j4 --output none --report R\n");
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "");
  ASSERT_STR(r.err, "");
  print_message("10,000 items in %.1f s\n", r.seconds);
  cJSON *rep = read_json(path("R"));
  assert_int_equal(count_of(rep, "ok"), 10000);
  assert_int_equal(count_of(rep, "failed"), 0);
  const cJSON *jobs = jobs_of(rep);
  assert_int_equal(cJSON_GetArraySize(jobs), 10000);
  int i = 0;
  char name[32], out[32];
  for (const cJSON *j = jobs->child; j; j = j->next, i++) {
    snprintf(name, sizeof name, "job-%d", i + 1);
    snprintf(out, sizeof out, "%d\n", i + 1);
    if (strcmp(str_of(j, "name"), name) != 0 || strcmp(str_of(j, "status"), "ok") != 0 ||
        strcmp(str_of(j, "stdout"), out) != 0) {
      print_message("job %d: %s %s [%s]\n", i, str_of(j, "name"),
                    str_of(j, "status"), str_of(j, "stdout"));
      fail();
    }
  }
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* Items with everything a shell could make of them. */
static const char *const awkward[] = {
    "plain", "a b", "  two  spaces  ", "it's", "''", "\"q\"", "a'b\"c",
    "$HOME", "${x:-y}", "`id`", "$(id)", "back\\slash", "\\", "*", "?", "[a]",
    "~", "!x", ";", "|&", "<>", "#c", "-n", "-e", "--", "", "ünï € 😀",
    "\xff\xfe", "new\nline", "\n", "tab\there", "{}", "{#}", "%s%d",
};
#define N_AWKWARD (sizeof awkward / sizeof awkward[0])

/* Job N's stdout in the log folder is exactly want + NUL. */
static void assert_word(const char *logs, size_t n, const char *want) {
  size_t len = strlen(want);
  char *bytes = keep(malloc(len + 1));
  memcpy(bytes, want, len);
  bytes[len] = '\0';
  assert_file(fmt("%s/job-%zu.out", logs, n), bytes, len + 1);
}

static void test_each_items_as_arguments_arrive_as_one_word(void **state) {
  (void)state;
  const char *args[80];
  size_t n = 0;
  const char *opts[] = {"--each", "printf '%s\\0' {}", "--output", "none",
                        "--log-dir", path("logs"), "--report", path("r.json"), "--"};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
    args[n++] = opts[i];
  for (size_t i = 0; i < N_AWKWARD; i++)
    args[n++] = awkward[i];
  args[n] = NULL;
  tu_result_t r;
  run_corun(&r, NULL, 30, args);
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "");
  ASSERT_STR(r.err, "");
  for (size_t i = 0; i < N_AWKWARD; i++)
    assert_word(path("logs"), i + 1, awkward[i]);
  cJSON *rep = read_json(path("r.json"));
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), (int)N_AWKWARD);
  assert_int_equal(count_of(rep, "ok"), (int)N_AWKWARD);
  assert_job(rep, 0, "job-1", "ok", NULL);
  assert_job(rep, (int)N_AWKWARD - 1, fmt("job-%zu", N_AWKWARD), "ok", NULL);
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* Lines of standard input: every line is one item (a newline cannot be
 * in one), blank lines too; the last line needs no newline. */
static void test_each_lines_of_stdin_arrive_as_one_word(void **state) {
  (void)state;
  const char *lines[] = {"a b", "  lead and trail  ", "it's", "\"q\"", "$HOME`id`$(id)",
                         "back\\slash\\", "*", "-n", "", "ünï €", "\t", "{}"};
  size_t n = sizeof lines / sizeof *lines;
  char *in = keep(strdup(""));
  for (size_t i = 0; i < n; i++)
    in = fmt("%s%s%s", in, lines[i], i + 1 < n ? "\n" : "");
  tu_result_t r;
  CORUN(&r, in, 30, "--each", "printf '%s\\0' {}", "--output", "none",
        "--log-dir", path("logs"), "--report", path("r.json"));
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.err, "");
  for (size_t i = 0; i < n; i++)
    assert_word(path("logs"), i + 1, lines[i]);
  assert_int_equal(cJSON_GetArraySize(jobs_of(read_json(path("r.json")))), (int)n);
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* {#} is the item's 1-based number, {} and {#} as often as written. */
static void test_each_numbering(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, "x\ny y\nz\n", 30, "--each", "echo {#}: {} {#}{}", "--report",
        path("r.json"), "--output", "none");
  ASSERT_STATUS(&r, 0);
  cJSON *rep = read_json(path("r.json"));
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), 3);
  assert_job(rep, 0, "job-1", "ok", "1: x 1x\n");
  assert_job(rep, 1, "job-2", "ok", "2: y y 2y y\n");
  assert_job(rep, 2, "job-3", "ok", "3: z 3z\n");
  tu_result_free(&r);
  CORUN(&r, NULL, 30, "-j1", "--each", "echo {#}", "--", "a", "b", "c", "d", "e",
        "f", "g", "h", "i", "j", "k", "l");
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "job-1  | 1\njob-2  | 2\njob-3  | 3\njob-4  | 4\n"
                    "job-5  | 5\njob-6  | 6\njob-7  | 7\njob-8  | 8\n"
                    "job-9  | 9\njob-10 | 10\njob-11 | 11\njob-12 | 12\n");
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* -j3: each job counts the jobs running (marker files) while it runs. */
static void test_each_jobs_limit_is_respected(void **state) {
  (void)state;
  assert_int_equal(mkdir(path("run"), 0700), 0);
  const char *tmpl = "touch run/{#}; ls run | wc -l >count.{#}; sleep 0.6; rm run/{#}";
  for (int from = 0; from < 2; from++) {
    tu_result_t r;
    if (from == 0)
      run_sh(&r, 60, fmt("\"$1\" -j3 --output none --each '%s' -- 1 2 3 4 5 6 7 8 9\n", tmpl));
    else
      run_sh(&r, 60, fmt("seq 9 | \"$1\" -j3 --output none --each '%s'\n", tmpl));
    ASSERT_STATUS(&r, 0);
    ASSERT_STR(r.err, "");
    int most = 0;
    for (int i = 1; i <= 9; i++) {
      char *c = slurp(path(fmt("count.%d", i)), NULL);
      int k = atoi(c);
      assert_true(k >= 1);
      most = k > most ? k : most;
      unlink(path(fmt("count.%d", i)));
    }
    print_message("at most %d at once\n", most);
    assert_int_equal(most, 3);
    /* 9 jobs of 0.6 s, 3 at a time: three waves */
    assert_true(r.seconds >= 1.8);
    tu_result_free(&r);
  }
  ASSERT_NOTHING_LEFT();
}

/* --halt now,fail=1: the failing job stops the run; later items are
 * skipped as halted, none of them runs. */
static void test_each_halt_now_stops(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, NULL, 30, "-j1", "--halt", "now,fail=1", "--output", "none",
        "--report", path("r.json"), "--each",
        fmt("touch %s/ran.{#}; [ {} != 2 ]", T.dir), "--", "1", "2", "3", "4");
  ASSERT_STATUS(&r, 1);
  cJSON *rep = read_json(path("r.json"));
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), 4);
  assert_job(rep, 0, "job-1", "ok", "");
  assert_job(rep, 1, "job-2", "failed", "");
  assert_job(rep, 2, "job-3", "skipped", "");
  assert_job(rep, 3, "job-4", "skipped", "");
  ASSERT_STR(str_of(cJSON_GetArrayItem(jobs_of(rep), 2), "reason"), "halted");
  assert_true(exists(path("ran.2")));
  assert_false(exists(path("ran.3")));
  assert_false(exists(path("ran.4")));
  tu_result_free(&r);

  /* now: a running job is stopped at once */
  CORUN(&r, "30\n0\nfail\n", 30, "-j3", "--halt", "now,fail=1", "--output",
        "none", "--report", path("r2.json"), "--each",
        "if [ {} = fail ]; then sleep 0.3; exit 1; fi; sleep {}");
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds < (vg() ? 30 : 10));
  rep = read_json(path("r2.json"));
  assert_job(rep, 0, "job-1", "cancelled", "");
  assert_job(rep, 1, "job-2", "ok", "");
  assert_job(rep, 2, "job-3", "failed", "");
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* An endless, fast input (`yes`) is read only as jobs start, as xargs
 * reads: after 3 s, SIGTERM finds a bounded number of jobs submitted (the
 * report lists every one) and corun's memory bounded. */
static void test_each_reads_an_endless_stdin_as_jobs_start(void **state) {
  (void)state;
  tu_result_t r;
  run_sh(&r, 60,
         "yes | \"$1\" -j2 --output none --report r.json --each 'sleep 0.2' & p=$!\n"
         "sleep 3\n"
         "sed -n 's/^VmHWM: *//p' /proc/$p/status\n"
         "kill -TERM $p\n"
         "wait $p; echo \"exit $?\"\n");
  ASSERT_STATUS(&r, 0);
  print_message("corun's peak RSS: %s", r.out);
  assert_non_null(strstr(r.out, "\nexit 143\n"));
  if (!vg())
    assert_true(atol(r.out) < 64 * 1024); /* kB; unbounded it passes 400 MB */
  cJSON *rep = read_json(path("r.json"));
  int n = cJSON_GetArraySize(jobs_of(rep));
  print_message("%d jobs submitted\n", n);
  /* 1024 ahead of the jobs started, plus what one 64 KiB read holds */
  assert_true(n >= 2 && n < 1024 + 32768 + 100);
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* A halt also ends the reading of an input that has not ended: the run
 * ends with it, as xargs and parallel do, instead of waiting for the
 * input to end and skipping every line meanwhile. */
static void test_each_halt_stops_reading_an_endless_stdin(void **state) {
  (void)state;
  tu_result_t r;
  run_sh(&r, 60,
         "yes | \"$1\" --halt now,fail=1 --output none --each 'exit 1' -q\n"
         "echo \"now $?\"\n"
         "yes | \"$1\" --halt soon,fail=1 -j2 --output none --each 'exit 1' -q\n"
         "echo \"soon $?\"\n");
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(r.out, "now 1\nsoon 1\n");
  assert_true(r.seconds < (vg() ? 40 : 10));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
}

static void test_each_timeout_applies(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, NULL, 60, "--timeout", "0.5s", "--output", "none", "--report",
        path("r.json"), "--each", "sleep {}", "--", "0", "30");
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds < (vg() ? 30 : 10));
  ASSERT_STR(mask_secs(r.err), "corun: 1 job did not succeed:\n"
                               "  job-2: timeout (SIGTERM)\n"
                               "corun: 1 ok, 1 timeout in Ts (run failed)\n");
  cJSON *rep = read_json(path("r.json"));
  assert_job(rep, 0, "job-1", "ok", "");
  assert_job(rep, 1, "job-2", "timeout", "");
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* Each "(ok, 1.23s)" written as "(ok, Ts)". */
static char *mask_times(const char *s) {
  char *out = keep(strdup(s)), *w = out;
  while (*s) {
    if (strncmp(s, "(ok, ", 5) == 0) {
      const char *e = strstr(s, "s)");
      assert_non_null(e);
      memcpy(w, "(ok, Ts)", 8);
      w += 8;
      s = e + 2;
    } else {
      *w++ = *s++;
    }
  }
  *w = '\0';
  return out;
}

/* --output group: each job's output whole, in the order jobs end (job-2
 * ends first though job-1 printed first). */
static void test_each_output_group(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, NULL, 30, "-j2", "--output", "group", "--each",
        "echo {}-1; sleep {}; echo {}-2", "--", "1.5", "0");
  ASSERT_STATUS(&r, 0);
  ASSERT_STR(mask_times(r.out), "== job-2 (ok, Ts)\n0-1\n0-2\n"
                                "== job-1 (ok, Ts)\n1.5-1\n1.5-2\n");
  ASSERT_STR(r.err, "");
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
}

static void test_each_junit(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, NULL, 30, "-j1", "--junit", path("j.xml"), "--output", "none",
        "--each", "exit {}", "--", "0", "3");
  ASSERT_STATUS(&r, 1);
  char *x = slurp(path("j.xml"), NULL);
  assert_non_null(strstr(x, "<testsuite name=\"corun\" tests=\"2\" failures=\"1\" "
                            "errors=\"0\" skipped=\"0\""));
  assert_non_null(strstr(x, "<testcase classname=\"corun\" name=\"job-1\""));
  char *j2 = strstr(x, "<testcase classname=\"corun\" name=\"job-2\"");
  assert_non_null(j2);
  assert_non_null(strstr(j2, "<failure type=\"failed\" message=\"exit 3\"/>"));
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
}

/* One failing item fails the run: exit 1, the others ran. */
static void test_each_exit_status_when_an_item_fails(void **state) {
  (void)state;
  tu_result_t r;
  CORUN(&r, "0\n3\n0\n", 30, "--output", "none", "--report", path("r.json"),
        "--events", path("ev.jsonl"), "--each", "echo {#}; exit {}");
  ASSERT_STATUS(&r, 1);
  ASSERT_STR(mask_secs(r.err), "corun: 1 job did not succeed:\n"
                               "  job-2: failed (exit 3)\n"
                               "corun: 2 ok, 1 failed in Ts (run failed)\n");
  cJSON *rep = read_json(path("r.json"));
  assert_job(rep, 0, "job-1", "ok", "1\n");
  assert_job(rep, 1, "job-2", "failed", "2\n");
  assert_int_equal((int)num_of(cJSON_GetArrayItem(jobs_of(rep), 1), "exit_code"), 3);
  assert_job(rep, 2, "job-3", "ok", "3\n");
  ASSERT_STR(str_of(rep, "status"), "failed");
  char *ev = slurp(path("ev.jsonl"), NULL);
  assert_true(event_t(ev, "done", NULL) >= 0);
  ASSERT_NOTHING_LEFT();
  tu_result_free(&r);
  free_parsed();
}

/* ---- signals ---------------------------------------------------------------- */

/* corun with stdin the read end of a FIFO the test keeps open (so its
 * input never ends), stdout and stderr to files. */
static pid_t spawn_on_fifo(const char *const *args) {
  assert_int_equal(mkfifo(path("in"), 0600), 0);
  T.fd = open(path("in"), O_RDWR | O_CLOEXEC);
  assert_true(T.fd >= 0);
  char *argv[64];
  corun_argv(argv, 64, args);
  char *out = path("out"), *err = path("err");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int in = open(path("in"), O_RDONLY);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0 || e < 0)
      _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
  }
  T.child = pid;
  return pid;
}

static int wait_child(double limit_s) {
  double t0 = tu_now();
  int st = 0;
  while (waitpid(T.child, &st, WNOHANG) == 0) {
    if (tu_now() - t0 > limit_s) {
      print_message("corun did not end within %.1f s\n", limit_s);
      fail();
    }
    usleep(10000);
  }
  T.child = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool wait_exists(const char *p, double limit_s) {
  double t0 = tu_now();
  while (!exists(p)) {
    if (tu_now() - t0 > limit_s)
      return false;
    usleep(10000);
  }
  return true;
}

/* SIGTERM while a job runs and standard input has not ended: the job is
 * stopped, corun exits 143 at once, the report is written. */
static void test_each_sigterm_while_stdin_never_ends(void **state) {
  (void)state;
  pid_t pid = spawn_on_fifo((const char *const[]){
      "--report", path("r.json"), "--each",
      fmt("touch %s/started.{#}; sleep 30", T.dir), NULL});
  assert_int_equal(write(T.fd, "a\n", 2), 2);
  assert_true(wait_exists(path("started.1"), vg() ? 30 : 10));
  double t0 = tu_now();
  kill(pid, SIGTERM);
  int status = wait_child(vg() ? 30 : 10);
  double took = tu_now() - t0;
  print_message("exit %d %.2f s after SIGTERM\n", status, took);
  assert_int_equal(status, 143);
  assert_true(took < (vg() ? 20 : 3));
  ASSERT_STR(mask_secs(slurp(path("err"), NULL)),
             "corun: 1 job did not succeed:\n"
             "  job-1: cancelled (SIGTERM)\n"
             "corun: 1 cancelled in Ts (stopped by SIGTERM)\n");
  cJSON *rep = read_json(path("r.json"));
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), 1);
  assert_job(rep, 0, "job-1", "cancelled", "");
  assert_int_equal((int)num_of(rep, "exit_code"), 143);
  ASSERT_NOTHING_LEFT();
  free_parsed();
}

/* SIGTERM while corun waits for its first line. */
static void test_each_sigterm_while_waiting_for_input(void **state) {
  (void)state;
  pid_t pid = spawn_on_fifo((const char *const[]){
      "--report", path("r.json"), "--stream", "-", NULL});
  usleep(vg() ? 3000000 : 300000);
  double t0 = tu_now();
  kill(pid, SIGTERM);
  int status = wait_child(vg() ? 30 : 10);
  assert_int_equal(status, 143);
  assert_true(tu_now() - t0 < (vg() ? 20 : 3));
  cJSON *rep = read_json(path("r.json"));
  assert_int_equal(cJSON_GetArraySize(jobs_of(rep)), 0);
  assert_int_equal((int)num_of(rep, "exit_code"), 143);
  ASSERT_NOTHING_LEFT();
  free_parsed();
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T_(test_stream_runs_each_job_as_its_line_arrives),
      T_(test_stream_from_a_regular_file),
      T_(test_stream_from_stdin),
      T_(test_stream_from_a_fifo),
      T_(test_stream_with_inspection_options_is_a_usage_error),
      T_(test_stream_and_each_read_dev_null_as_empty),
      T_(test_each_10000_items_from_stdin),
      T_(test_each_items_as_arguments_arrive_as_one_word),
      T_(test_each_lines_of_stdin_arrive_as_one_word),
      T_(test_each_numbering),
      T_(test_each_jobs_limit_is_respected),
      T_(test_each_halt_now_stops),
      T_(test_each_reads_an_endless_stdin_as_jobs_start),
      T_(test_each_halt_stops_reading_an_endless_stdin),
      T_(test_each_timeout_applies),
      T_(test_each_output_group),
      T_(test_each_junit),
      T_(test_each_exit_status_when_an_item_fails),
      T_(test_each_sigterm_while_stdin_never_ends),
      T_(test_each_sigterm_while_waiting_for_input),
  };
  return run_suite("stream", tests, sizeof tests / sizeof tests[0]);
}
