/*
 * The command line (SPEC §4, §5): the built corun run on job files written
 * into a fresh folder, with exact checks of stdout, stderr, the exit status
 * and the files it writes. Every job carries a marker in its environment,
 * and every test ends by proving that no marked process is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
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

/* ---- the per-test context ----------------------------------------------- */

#define ARENA_MAX 1024

static struct {
  char *dir;             /* a fresh folder per test */
  char mark[80];         /* CORUN_TEST_MARK=value */
  const char *mark_value;
  void *arena[ARENA_MAX]; /* freed after each test */
  size_t n_arena;
  pid_t child;           /* a corun started by hand, reaped by the test */
} T;

static int setup(void **state) {
  (void)state;
  T.dir = tu_tmpdir();
  snprintf(T.mark, sizeof T.mark, "%s", tu_marker());
  T.mark_value = strchr(T.mark, '=') + 1;
  T.n_arena = 0;
  T.child = 0;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (T.child > 0) {
    /* A test failed with its corun still running. */
    kill(T.child, SIGKILL);
    waitpid(T.child, NULL, 0);
    T.child = 0;
  }
  tu_rmdir(T.dir);
  free(T.dir);
  T.dir = NULL;
  for (size_t i = 0; i < T.n_arena; i++)
    free(T.arena[i]);
  T.n_arena = 0;
  return 0;
}

static void *keep(void *p) {
  assert_non_null(p);
  assert_true(T.n_arena < ARENA_MAX);
  T.arena[T.n_arena++] = p;
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

/* A path in the test's folder. */
static char *path(const char *name) { return fmt("%s/%s", T.dir, name); }

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* A JSON string literal of s. */
static char *js(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n * 6 + 3), *w = out;
  assert_non_null(out);
  *w++ = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      *w++ = '\\';
      *w++ = (char)c;
    } else if (c < 0x20) {
      w += sprintf(w, "\\u%04x", c);
    } else {
      *w++ = (char)c;
    }
  }
  *w++ = '"';
  *w = '\0';
  return keep(out);
}

/* The helper program's argv as JSON: H("out hi sleep 1"). */
static char *H(const char *steps) {
  char *copy = keep(strdup(steps));
  char *s = js(tu_helper());
  char *save = NULL;
  for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
    s = fmt("%s,%s", s, js(w));
  return fmt("[%s]", s);
}

/* A shell command as JSON. */
static char *sh(const char *script) { return js(script); }

/* A job object with the test's marker in its env; `extra` is more keys. */
static char *job(const char *name, const char *cmd, const char *extra) {
  return fmt("{\"name\":%s,\"cmd\":%s,\"env\":{\"CORUN_TEST_MARK\":%s}%s%s}",
             js(name), cmd, js(T.mark_value), extra ? "," : "",
             extra ? extra : "");
}

/* A job that leaves the file ran-NAME in the test folder when it runs. */
static char *touch_job(const char *name, const char *extra) {
  return job(name, fmt("[\"touch\",%s]", js(fmt("ran-%s", name))), extra);
}

static bool ran(const char *name) { return exists(path(fmt("ran-%s", name))); }

/* Write a job file into the test folder; returns its path. */
static char *jobfile(const char *name, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static char *jobfile(const char *name, const char *f, ...) {
  char *text = NULL;
  va_list ap;
  va_start(ap, f);
  int n = vasprintf(&text, f, ap);
  va_end(ap);
  assert_true(n >= 0);
  char *p = keep(tu_write(T.dir, name, text));
  free(text);
  return p;
}

/* Write raw bytes (which may hold anything but NUL) as a file. */
static char *rawfile(const char *name, const char *bytes) {
  return keep(tu_write(T.dir, name, bytes));
}

static char *slurp(const char *p, size_t *len) {
  char *s = tu_read(p, len);
  return s ? keep(s) : NULL;
}

/* Run corun with args (NULL-terminated), `in` on stdin. */
static void run_corun(tu_result_t *r, const char *in, double limit,
                      const char *const *args) {
  char *argv[64];
  size_t n = 0;
  argv[n++] = (char *)tu_corun();
  for (size_t i = 0; args[i]; i++) {
    assert_true(n < 63);
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
  tu_run(r, argv, in, limit);
}

#define CORUN(r, in, limit, ...)                                              \
  run_corun((r), (in), (limit), (const char *const[]){__VA_ARGS__, NULL})

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

#define ASSERT_CONTAINS(hay, needle)                                          \
  do {                                                                        \
    if (strstr((hay), (needle)) == NULL)                                      \
      print_message("expected to find [%s] in:\n%.3000s\n", (needle), (hay));  \
    assert_non_null(strstr((hay), (needle)));                                 \
  } while (0)

/* Every test that runs jobs ends with this. */
#define ASSERT_NOTHING_LEFT()                                                 \
  assert_int_equal(tu_wait_unmarked(T.mark, 2.0), 0)

/* How often needle occurs in hay. */
static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0, k = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += k)
    n++;
  return n;
}

/* Split text into lines in place (the newlines become NULs); a last line
 * without a newline counts too. */
static size_t split_lines(char *text, size_t len, char ***out) {
  size_t cap = 16, n = 0;
  char **v = malloc(cap * sizeof *v);
  assert_non_null(v);
  size_t i = 0;
  while (i < len) {
    if (n == cap) {
      cap *= 2;
      v = realloc(v, cap * sizeof *v);
      assert_non_null(v);
    }
    v[n++] = text + i;
    char *nl = memchr(text + i, '\n', len - i);
    if (nl == NULL)
      break;
    *nl = '\0';
    i = (size_t)(nl - text) + 1;
  }
  *out = keep(v);
  return n;
}

/* The helper's binary pattern: byte i is (i * 7 + 3) & 0xFF. */
static char *pattern(size_t n) {
  char *b = malloc(n ? n : 1);
  assert_non_null(b);
  for (size_t i = 0; i < n; i++)
    b[i] = (char)((i * 7 + 3) & 0xFF);
  return keep(b);
}

/* Line k of the helper's "lines N WIDTH", without its newline. */
static void gen_line(char *buf, long k, int width) {
  int len = snprintf(buf, (size_t)width + 32, "%08ld ", k);
  while (len < width - 1) {
    buf[len] = (char)('a' + (k + len) % 26);
    len++;
  }
  buf[len] = '\0';
}

/* ---- corun started by hand, for signals and pipes ------------------------ */

/* Start corun with stdout and stderr on the given descriptors. */
static pid_t spawn_corun(const char *const *args, int out_fd, int err_fd) {
  char *argv[64];
  size_t n = 0;
  argv[n++] = (char *)tu_corun();
  for (size_t i = 0; args[i]; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
  }
  T.child = pid;
  return pid;
}

/* Wait up to limit_s for the started corun to end; 0 when it did. */
static int wait_child(double limit_s, int *status) {
  double t0 = tu_now();
  for (;;) {
    pid_t w = waitpid(T.child, status, WNOHANG);
    if (w == T.child) {
      T.child = 0;
      return 0;
    }
    if (tu_now() - t0 > limit_s)
      return -1;
    usleep(10000);
  }
}

static bool still_running(void) {
  int st;
  return T.child > 0 && waitpid(T.child, &st, WNOHANG) == 0;
}

/* Wait up to limit_s for the file at p to contain needle. */
static bool wait_file_has(const char *p, const char *needle, double limit_s) {
  double t0 = tu_now();
  do {
    char *s = tu_read(p, NULL);
    bool found = s && strstr(s, needle);
    free(s);
    if (found)
      return true;
    usleep(20000);
  } while (tu_now() - t0 < limit_s);
  return false;
}

static int open_file(const char *p) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  return fd;
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *parse_json_file(const char *p) {
  char *text = slurp(p, NULL);
  assert_non_null(text);
  cJSON *j = cJSON_Parse(text);
  if (j == NULL)
    print_message("not valid JSON (%s):\n%.3000s\n", p, text);
  assert_non_null(j);
  return j;
}

static cJSON *item(const cJSON *o, const char *key) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (v == NULL)
    print_message("missing key \"%s\"\n", key);
  assert_non_null(v);
  return v;
}

static const char *str_of(const cJSON *o, const char *key) {
  cJSON *v = item(o, key);
  assert_true(cJSON_IsString(v));
  return v->valuestring;
}

static double num_of(const cJSON *o, const char *key) {
  cJSON *v = item(o, key);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static void assert_str(const cJSON *o, const char *key, const char *want) {
  const char *got = str_of(o, key);
  if (strcmp(got, want) != 0)
    print_message("%s: got \"%s\", want \"%s\"\n", key, got, want);
  assert_string_equal(got, want);
}

static void assert_null_item(const cJSON *o, const char *key) {
  assert_true(cJSON_IsNull(item(o, key)));
}

/* The report's job named `name`, and its position. */
static cJSON *report_job(const cJSON *report, const char *name, int *pos) {
  cJSON *jobs = item(report, "jobs");
  int i = 0;
  cJSON *j;
  cJSON_ArrayForEach(j, jobs) {
    if (strcmp(str_of(j, "name"), name) == 0) {
      if (pos)
        *pos = i;
      return j;
    }
    i++;
  }
  print_message("no job \"%s\" in the report\n", name);
  fail();
  return NULL;
}

/* The events of an --events file, one parsed object per line. */
static size_t parse_events(char *text, size_t len, cJSON ***out) {
  char **lines;
  size_t n = split_lines(text, len, &lines);
  cJSON **ev = keep(calloc(n ? n : 1, sizeof *ev));
  for (size_t i = 0; i < n; i++) {
    ev[i] = cJSON_Parse(lines[i]);
    if (ev[i] == NULL)
      print_message("event line %zu is not JSON: %s\n", i, lines[i]);
    assert_non_null(ev[i]);
    assert_true(cJSON_IsObject(ev[i]));
    assert_true(cJSON_IsString(item(ev[i], "event")));
    assert_true(cJSON_IsNumber(item(ev[i], "t")));
  }
  *out = ev;
  return n;
}

static void free_events(cJSON **ev, size_t n) {
  for (size_t i = 0; i < n; i++)
    cJSON_Delete(ev[i]);
}

static bool ev_is(const cJSON *e, const char *event, const char *job_name) {
  if (strcmp(str_of(e, "event"), event) != 0)
    return false;
  if (job_name == NULL)
    return true;
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(e, "job");
  return cJSON_IsString(j) && strcmp(j->valuestring, job_name) == 0;
}

/* ==== usage ================================================================ */

/* `word` occurs with no letter, digit or dash right before or after it. */
static bool has_word(const char *text, const char *word) {
  size_t k = strlen(word);
  for (const char *p = text; (p = strstr(p, word)) != NULL; p++) {
    bool before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-');
    bool after = !(isalnum((unsigned char)p[k]) || p[k] == '-');
    if (before && after)
      return true;
  }
  return false;
}

static void test_help(void **state) {
  (void)state;
  static const char *const options[] = {
      "-j",       "--jobs",     "--halt",  "--timeout", "--output",
      "--log-dir", "--report",  "--events", "--junit",  "--trace",
      "--timeline", "--check",  "--list",  "--dry-run", "--graph",
      "--color",  "-q",         "--quiet", "-h",        "--help",
      "-V",       "--version"};
  const char *forms[] = {"--help", "-h"};
  for (size_t f = 0; f < 2; f++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, forms[f]);
    ASSERT_STATUS(&r, 0);
    assert_int_equal(r.err_len, 0);
    ASSERT_CONTAINS(r.out, "JOBFILE");
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
      if (!has_word(r.out, options[i]))
        print_message("--help does not list %s\n", options[i]);
      assert_true(has_word(r.out, options[i]));
    }
    assert_int_equal(r.out[r.out_len - 1], '\n');
    tu_result_free(&r);
  }
}

static void test_version(void **state) {
  (void)state;
  const char *forms[] = {"--version", "-V"};
  for (size_t f = 0; f < 2; f++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, forms[f]);
    ASSERT_STATUS(&r, 0);
    assert_int_equal(r.err_len, 0);
    assert_true(strncmp(r.out, "corun ", 6) == 0);
    assert_true(r.out_len > 7);
    /* one line */
    assert_int_equal(count_of(r.out, "\n"), 1);
    assert_int_equal(r.out[r.out_len - 1], '\n');
    tu_result_free(&r);
  }
}

static void test_no_args(void **state) {
  (void)state;
  tu_result_t r;
  run_corun(&r, NULL, 10, (const char *const[]){NULL});
  ASSERT_STATUS(&r, 2);
  assert_int_equal(r.out_len, 0);
  /* A short message and the hint, not the whole help. */
  char **lines;
  size_t n = split_lines(r.err, r.err_len, &lines);
  assert_true(n >= 1 && n <= 2);
  assert_true(strncmp(lines[n - 1], "Try 'corun --help'", 18) == 0);
  for (size_t i = 0; i < n; i++)
    assert_null(strstr(lines[i], "--timeline"));
  tu_result_free(&r);
}

/* A valid job file whose one job would leave ran-t behind. */
static char *touch_file(void) {
  return jobfile("touch.json", "{\"jobs\":[%s]}", touch_job("t", NULL));
}

static void test_unknown_option(void **state) {
  (void)state;
  char *file = touch_file();
  const char *bad[] = {"--bogus", "-Z", "--check=yes"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, bad[i], file);
    ASSERT_STATUS(&r, 2);
    assert_int_equal(r.out_len, 0);
    ASSERT_CONTAINS(r.err, "Try 'corun --help'");
    tu_result_free(&r);
  }
  {
    tu_result_t r;
    CORUN(&r, NULL, 10, "--bogus", file);
    ASSERT_CONTAINS(r.err, "--bogus");
    tu_result_free(&r);
  }
  assert_false(ran("t"));
  ASSERT_NOTHING_LEFT();
}

static void test_bad_option_values(void **state) {
  (void)state;
  char *file = touch_file();
  static const struct {
    const char *opt, *value;
  } bad[] = {
      {"-j", "0"},         {"-j", "-1"},         {"-j", "x"},
      {"-j", "1e9"},       {"-j", ""},           {"--jobs", "0"},
      {"--jobs", "2x"},
      {"--jobs", "1000000000"}, {"--output", "fancy"}, {"--output", ""},
      {"--halt", "sometimes"}, {"--halt", "soon,fail=x"},
      {"--timeout", "soon"}, {"--timeout", "0"},  {"--timeout", "-5s"},
      {"--color", "sometimes"}, {"--colour", "rainbow"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, bad[i].opt, bad[i].value, file);
    if (r.status != 2)
      print_message("%s '%s'\n", bad[i].opt, bad[i].value);
    ASSERT_STATUS(&r, 2);
    assert_int_equal(r.out_len, 0);
    /* The message quotes what was wrong. */
    ASSERT_CONTAINS(r.err, fmt("'%s'", bad[i].value));
    ASSERT_CONTAINS(r.err, "Try 'corun --help'");
    tu_result_free(&r);
  }
  /* An option without its value. */
  const char *last[] = {"--output", "--report", "-j"};
  for (size_t i = 0; i < sizeof last / sizeof *last; i++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, file, last[i]);
    ASSERT_STATUS(&r, 2);
    ASSERT_CONTAINS(r.err, last[i]);
    tu_result_free(&r);
  }
  assert_false(ran("t"));
  ASSERT_NOTHING_LEFT();
}

static void test_unknown_job_name(void **state) {
  (void)state;
  char *file = jobfile("j.json", "{\"jobs\":[%s,%s]}", touch_job("a", NULL),
                       touch_job("b", NULL));
  tu_result_t r;
  CORUN(&r, NULL, 10, file, "a", "nope");
  ASSERT_STATUS(&r, 2);
  assert_int_equal(r.out_len, 0);
  ASSERT_CONTAINS(r.err, "\"nope\"");
  tu_result_free(&r);
  assert_false(ran("a"));
  assert_false(ran("b"));
  ASSERT_NOTHING_LEFT();
}

/* ==== invalid job files ==================================================== */

/* corun on `file` must exit 2 with exactly `want` on stderr and run nothing. */
static void expect_invalid(const char *file, const char *want) {
  const char *modes[] = {NULL, "--check", "--list", "--dry-run"};
  for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
    tu_result_t r;
    if (modes[m])
      CORUN(&r, NULL, 10, modes[m], file);
    else
      CORUN(&r, NULL, 10, file);
    if (r.status != 2 || strcmp(r.err, want) != 0) {
      print_message("want stderr: %s", want);
      show(&r);
    }
    ASSERT_STATUS(&r, 2);
    assert_int_equal(r.out_len, 0);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
  }
  assert_false(ran("t"));
  assert_false(ran("u"));
}

static void test_invalid_syntax(void **state) {
  (void)state;
  char *file = jobfile("syntax.json", "{\n  \"jobs\": [\n    %s,\n  ]\n}\n",
                       touch_job("t", NULL));
  expect_invalid(file, fmt("%s:4:3: syntax error: unexpected ']', expected a value "
                               "(a comma cannot come last)\n", file));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_empty(void **state) {
  (void)state;
  char *file = rawfile("empty.json", "");
  expect_invalid(file, fmt("%s:1:1: empty file, expected a JSON object\n", file));
  char *blank = rawfile("blank.json", "  \n\t\n");
  expect_invalid(blank,
                 fmt("%s:1:1: empty file, expected a JSON object\n", blank));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_directory_and_missing(void **state) {
  (void)state;
  char *dir = path("a-folder");
  assert_int_equal(mkdir(dir, 0755), 0);
  expect_invalid(dir, fmt("%s: %s\n", dir, strerror(EISDIR)));
  char *missing = path("no-such-file.json");
  expect_invalid(missing, fmt("%s: %s\n", missing, strerror(ENOENT)));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_utf8(void **state) {
  (void)state;
  /* The bad byte is the 10th character of line 2. */
  char *text = fmt("{\"jobs\":[%s,\n{\"name\":\"\xff\",\"cmd\":\"true\"}]}\n",
                   touch_job("t", NULL));
  char *file = rawfile("utf8.json", text);
  expect_invalid(file, fmt("%s:2:10: invalid UTF-8\n", file));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_keys_and_values(void **state) {
  (void)state;
  char *file = jobfile("keys.json", "{\"jobs\":[%s,%s]}", touch_job("t", NULL),
                       touch_job("u", "\"timout\":5"));
  expect_invalid(file, fmt("%s: jobs[1].timout: unknown key \"timout\" (did you "
                           "mean \"timeout\"?)\n",
                           file));
  char *file2 = jobfile("timeout.json", "{\"jobs\":[%s,%s]}",
                        touch_job("t", NULL), touch_job("u", "\"timeout\":\"soon\""));
  expect_invalid(file2, fmt("%s: jobs[1].timeout: expected a number of seconds "
                            "or a duration like \"1m30s\"\n",
                            file2));
  /* Every error, one a line. */
  char *file3 = jobfile("two.json", "{\"jobs\":[%s,%s,%s]}",
                        touch_job("t", NULL), touch_job("u", "\"timout\":5"),
                        touch_job("v", "\"timeout\":\"soon\""));
  expect_invalid(file3,
                 fmt("%s: jobs[1].timout: unknown key \"timout\" (did you mean "
                     "\"timeout\"?)\n"
                     "%s: jobs[2].timeout: expected a number of seconds or a "
                     "duration like \"1m30s\"\n",
                     file3, file3));
  assert_false(ran("v"));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_cycle(void **state) {
  (void)state;
  char *file = jobfile("cycle.json", "{\"jobs\":[%s,%s,%s]}", touch_job("t", NULL),
                       touch_job("a", "\"needs\":[\"b\"]"),
                       touch_job("b", "\"needs\":[\"a\"]"));
  expect_invalid(file,
                 fmt("%s: jobs[1].needs: dependency cycle: a -> b -> a\n", file));
  assert_false(ran("a"));
  assert_false(ran("b"));
  ASSERT_NOTHING_LEFT();
}

static void test_invalid_unknown_need(void **state) {
  (void)state;
  char *file = jobfile("need.json", "{\"jobs\":[%s,%s]}", touch_job("t", NULL),
                       touch_job("u", "\"needs\":[\"zz\"]"));
  expect_invalid(file, fmt("%s: jobs[1].needs[0]: unknown job \"zz\"\n", file));
  ASSERT_NOTHING_LEFT();
}

/* ==== inspection =========================================================== */

static void test_check(void **state) {
  (void)state;
  char *file = jobfile("ok.json", "{\"jobs\":[%s,%s]}", touch_job("t", NULL),
                       touch_job("u", "\"needs\":[\"t\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 10, "--check", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 0);
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);
  assert_false(ran("t"));
  assert_false(ran("u"));
  ASSERT_NOTHING_LEFT();
}

/* x; c needs b; a; b needs a; d — all of them touch jobs. */
static char *order_file(void) {
  return jobfile("order.json", "{\"jobs\":[%s,%s,%s,%s,%s]}", touch_job("x", NULL),
                 touch_job("c", "\"needs\":[\"b\"]"), touch_job("a", NULL),
                 touch_job("b", "\"needs\":[\"a\"]"), touch_job("d", NULL));
}

static void test_list(void **state) {
  (void)state;
  char *file = order_file();
  tu_result_t r;
  CORUN(&r, NULL, 10, "--list", file);
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "x\na\nb\nc\nd\n");
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);

  CORUN(&r, NULL, 10, "--list", file, "c");
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "a\nb\nc\n");
  tu_result_free(&r);

  CORUN(&r, NULL, 10, "--list", file, "d", "b");
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "a\nb\nd\n");
  tu_result_free(&r);

  const char *names[] = {"x", "a", "b", "c", "d"};
  for (size_t i = 0; i < 5; i++)
    assert_false(ran(names[i]));
  ASSERT_NOTHING_LEFT();
}

static void test_dry_run(void **state) {
  (void)state;
  char *file = jobfile("dry.json", "{\"jobs\":[%s,%s]}",
                       job("b", sh("touch ran-b && echo 'it ran'"), "\"needs\":[\"a\"]"),
                       touch_job("a", NULL));
  tu_result_t r;
  CORUN(&r, NULL, 10, "--dry-run", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.err_len, 0);
  /* a first, as an argv; then b, with its shell command. */
  assert_true(strncmp(r.out, "a: touch ran-a\n", 15) == 0);
  char *b = strstr(r.out, "\nb: ");
  assert_non_null(b);
  char *eol = strchr(b + 1, '\n');
  assert_non_null(eol);
  *eol = '\0';
  ASSERT_CONTAINS(b, "touch ran-b && echo ");
  ASSERT_CONTAINS(b, "it ran");
  tu_result_free(&r);

  CORUN(&r, NULL, 10, "--dry-run", file, "a");
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "a: touch ran-a\n");
  tu_result_free(&r);

  assert_false(ran("a"));
  assert_false(ran("b"));
  ASSERT_NOTHING_LEFT();
}

static void test_graph(void **state) {
  (void)state;
  char *file = jobfile("graph.json", "{\"jobs\":[%s,%s,%s,%s]}", touch_job("a", NULL),
                       touch_job("b", "\"needs\":[\"a\"]"),
                       touch_job("c", "\"needs\":[\"a\",\"b\"]"),
                       touch_job("lone", NULL));
  tu_result_t r;
  CORUN(&r, NULL, 10, "--graph", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.err_len, 0);
  assert_true(strncmp(r.out, "digraph", 7) == 0);
  assert_true(r.out_len >= 2 && strcmp(r.out + r.out_len - 2, "}\n") == 0);
  assert_int_equal(count_of(r.out, "{"), 1);
  assert_int_equal(count_of(r.out, "}"), 1);
  ASSERT_CONTAINS(r.out, "\"a\" -> \"b\"");
  ASSERT_CONTAINS(r.out, "\"a\" -> \"c\"");
  ASSERT_CONTAINS(r.out, "\"b\" -> \"c\"");
  assert_int_equal(count_of(r.out, "->"), 3);
  ASSERT_CONTAINS(r.out, "\"lone\"");
  tu_result_free(&r);
  assert_false(ran("a"));
  assert_false(ran("lone"));
  ASSERT_NOTHING_LEFT();
}

/* ==== the job file on stdin ================================================ */

static void test_stdin(void **state) {
  (void)state;
  char *text = fmt("{\"jobs\":[%s]}", job("a", H("cwd out done"), NULL));
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  tu_result_t r;
  CORUN(&r, text, 20, "-");
  ASSERT_STATUS(&r, 0);
  /* Jobs from stdin run in the current folder. */
  assert_string_equal(r.out, fmt("a | %s\na | done\n", cwd));
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);

  CORUN(&r, text, 20, "--list", "-");
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "a\n");
  tu_result_free(&r);

  CORUN(&r, "{\"jobs\":", 20, "-");
  ASSERT_STATUS(&r, 2);
  assert_int_equal(r.out_len, 0);
  ASSERT_CONTAINS(r.err, ":1:9: syntax error");
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

/* ==== running ============================================================== */

static void test_run_ok_prefix(void **state) {
  (void)state;
  char *file = jobfile("ok.json", "{\"jobs\":[%s,%s]}",
                       job("a", H("out hello err oops nonl partial"), NULL),
                       job("long-name", H("out x"), "\"needs\":[\"a\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, file);
  ASSERT_STATUS(&r, 0);
  /* One width for every name; stdout and stderr each on their own; the
   * partial last line ends as a line. */
  assert_string_equal(r.out, "a         | hello\n"
                             "a         | partial\n"
                             "long-name | x\n");
  assert_string_equal(r.err, "a         | oops\n");
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_run_failure(void **state) {
  (void)state;
  char *file = jobfile("fail.json", "{\"jobs\":[%s,%s,%s]}",
                       job("bad", H("err bad-thing exit 3"), NULL),
                       touch_job("good", NULL),
                       touch_job("after", "\"needs\":[\"bad\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, file);
  ASSERT_STATUS(&r, 1);
  assert_int_equal(r.out_len, 0);
  /* The live line, then the summary with the failed job's last lines. */
  ASSERT_CONTAINS(r.err, "bad   | bad-thing\n");
  ASSERT_CONTAINS(r.err, "failed");
  assert_int_equal(count_of(r.err, "bad-thing"), 2);
  tu_result_free(&r);
  assert_true(ran("good"));
  assert_false(ran("after")); /* a need failed */
  ASSERT_NOTHING_LEFT();
}

static void test_run_allow_failure(void **state) {
  (void)state;
  char *file = jobfile("allow.json", "{\"jobs\":[%s,%s]}",
                       job("flaky", H("exit 3"), "\"allow_failure\":true"),
                       touch_job("after", "\"needs\":[\"flaky\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, file);
  ASSERT_STATUS(&r, 0);
  tu_result_free(&r);
  assert_true(ran("after")); /* dependents still run */
  ASSERT_NOTHING_LEFT();
}

static void test_run_selected(void **state) {
  (void)state;
  char *file = jobfile("sel.json", "{\"jobs\":[%s,%s,%s,%s,%s]}", touch_job("a", NULL),
                       touch_job("b", "\"needs\":[\"a\"]"), touch_job("c", NULL),
                       touch_job("d", "\"needs\":[\"b\"]"),
                       touch_job("e", "\"needs\":[\"c\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, file, "b", "c");
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 0);
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);
  assert_true(ran("a"));
  assert_true(ran("b"));
  assert_true(ran("c"));
  assert_false(ran("d"));
  assert_false(ran("e"));

  /* Names are padded to the widest of the jobs that run. */
  char *file2 = jobfile("sel2.json", "{\"jobs\":[%s,%s]}",
                        job("a-very-long-name", H("out no"), NULL),
                        job("s", H("out yes"), NULL));
  CORUN(&r, NULL, 20, file2, "s");
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "s | yes\n");
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

/* The most jobs running at once, from an events file. */
static int max_running(const char *events_path, int *starts) {
  size_t len;
  char *text = slurp(events_path, &len);
  assert_non_null(text);
  cJSON **ev;
  size_t n = parse_events(text, len, &ev);
  int cur = 0, most = 0;
  *starts = 0;
  for (size_t i = 0; i < n; i++) {
    if (ev_is(ev[i], "start", NULL)) {
      (*starts)++;
      if (++cur > most)
        most = cur;
    } else if (ev_is(ev[i], "exit", NULL)) {
      cur--;
    }
  }
  free_events(ev, n);
  return most;
}

static void test_parallel_limits(void **state) {
  (void)state;
  const char *four = fmt("%s,%s,%s,%s", job("p1", H("sleep 0.2"), NULL),
                         job("p2", H("sleep 0.2"), NULL),
                         job("p3", H("sleep 0.2"), NULL),
                         job("p4", H("sleep 0.2"), NULL));
  char *file = jobfile("par.json", "{\"jobs\":[%s]}", four);
  char *serial = jobfile("serial.json", "{\"max_parallel\":1,\"jobs\":[%s]}", four);
  char *events = path("events.jsonl");
  int starts;
  tu_result_t r;

  CORUN(&r, NULL, 20, "-j", "2", "--events", events, file);
  ASSERT_STATUS(&r, 0);
  tu_result_free(&r);
  assert_int_equal(max_running(events, &starts), 2);
  assert_int_equal(starts, 4);

  CORUN(&r, NULL, 20, "--events", events, serial);
  ASSERT_STATUS(&r, 0);
  assert_true(r.seconds >= 0.75);
  tu_result_free(&r);
  assert_int_equal(max_running(events, &starts), 1);
  assert_int_equal(starts, 4);

  /* -j wins over the file's max_parallel. */
  CORUN(&r, NULL, 20, "--jobs", "3", "--events", events, serial);
  ASSERT_STATUS(&r, 0);
  tu_result_free(&r);
  assert_int_equal(max_running(events, &starts), 3);
  assert_int_equal(starts, 4);
  ASSERT_NOTHING_LEFT();
}

static void test_prefix_flood(void **state) {
  (void)state;
  enum { N = 20000, W = 80 };
  char *file = jobfile("flood.json", "{\"jobs\":[%s,%s]}",
                       job("f1", H("lines 20000 80"), NULL),
                       job("flood2", H("lines 20000 80"), NULL));
  tu_result_t r;
  CORUN(&r, NULL, 30, "-j", "2", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.err_len, 0);
  assert_true(r.out_len > 0 && r.out[r.out_len - 1] == '\n');
  char **lines;
  size_t n = split_lines(r.out, r.out_len, &lines);
  assert_int_equal(n, 2 * N);
  long next[2] = {0, 0};
  char want[W + 32];
  for (size_t i = 0; i < n; i++) {
    int who = 0;
    const char *rest = NULL;
    if (strncmp(lines[i], "f1     | ", 9) == 0) {
      who = 0;
      rest = lines[i] + 9;
    } else if (strncmp(lines[i], "flood2 | ", 9) == 0) {
      who = 1;
      rest = lines[i] + 9;
    } else {
      print_message("line %zu has no prefix: %.120s\n", i, lines[i]);
      fail();
    }
    gen_line(want, next[who], W);
    if (strcmp(rest, want) != 0)
      print_message("line %zu: got %.120s\nwant %s\n", i, lines[i], want);
    assert_string_equal(rest, want);
    next[who]++;
  }
  assert_int_equal(next[0], N);
  assert_int_equal(next[1], N);
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_output_group(void **state) {
  (void)state;
  char *file = jobfile("group.json", "{\"jobs\":[%s,%s]}",
                       job("alpha", H("out x1 sleep 0.4 out x2 err ex"), NULL),
                       job("beta", H("out y1 sleep 0.1 out y2 out y3"), NULL));
  tu_result_t r;
  CORUN(&r, NULL, 20, "-j", "2", "--output", "group", file);
  ASSERT_STATUS(&r, 0);
  ASSERT_CONTAINS(r.err, "ex\n");
  assert_null(strstr(r.err, "| ex"));
  char **l;
  size_t n = split_lines(r.out, r.out_len, &l);
  if (n != 7)
    show(&r);
  assert_int_equal(n, 7);
  /* beta ends first: its header and lines, then alpha's, each whole. */
  assert_non_null(strstr(l[0], "beta"));
  assert_null(strstr(l[0], "alpha"));
  assert_string_equal(l[1], "y1");
  assert_string_equal(l[2], "y2");
  assert_string_equal(l[3], "y3");
  assert_non_null(strstr(l[4], "alpha"));
  assert_string_equal(l[5], "x1");
  assert_string_equal(l[6], "x2");
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_output_raw(void **state) {
  (void)state;
  char *file = jobfile("raw.json", "{\"jobs\":[%s,%s]}",
                       job("bin", H("bytes 100000 ebytes 30000"), NULL),
                       job("tail", H("nonl no-newline"), "\"needs\":[\"bin\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, "--output", "raw", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 100000 + 10);
  assert_memory_equal(r.out, pattern(100000), 100000);
  assert_memory_equal(r.out + 100000, "no-newline", 10);
  assert_int_equal(r.err_len, 30000);
  assert_memory_equal(r.err, pattern(30000), 30000);
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_output_none(void **state) {
  (void)state;
  char *file = jobfile("none.json", "{\"jobs\":[%s,%s]}",
                       job("a", H("out hello err oops nonl x"), NULL),
                       touch_job("b", NULL));
  tu_result_t r;
  CORUN(&r, NULL, 20, "--output", "none", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 0);
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);
  assert_true(ran("b"));
  ASSERT_NOTHING_LEFT();
}

/* ==== files ================================================================ */

static void test_log_dir(void **state) {
  (void)state;
  char *file = jobfile("logs.json", "{\"jobs\":[%s,%s,%s]}",
                       job("big", H("bytes 5000000 ebytes 300000"), NULL),
                       job("grp/sub", H("out hello err oops nonl x"), NULL),
                       job("quiet", H("exit 0"), NULL));
  char *logs = path("logs");
  tu_result_t r;
  CORUN(&r, NULL, 30, "--output", "none", "--log-dir", logs, file);
  ASSERT_STATUS(&r, 0);
  tu_result_free(&r);
  size_t len;
  char *s = slurp(fmt("%s/big.out", logs), &len);
  assert_non_null(s);
  assert_int_equal(len, 5000000);
  assert_memory_equal(s, pattern(5000000), 5000000);
  s = slurp(fmt("%s/big.err", logs), &len);
  assert_non_null(s);
  assert_int_equal(len, 300000);
  assert_memory_equal(s, pattern(300000), 300000);
  /* "/" in a name becomes "_". */
  s = slurp(fmt("%s/grp_sub.out", logs), &len);
  assert_non_null(s);
  assert_int_equal(len, 7);
  assert_memory_equal(s, "hello\nx", 7);
  s = slurp(fmt("%s/grp_sub.err", logs), &len);
  assert_non_null(s);
  assert_string_equal(s, "oops\n");
  assert_false(exists(fmt("%s/grp", logs)));
  /* Every job has both files, even when it wrote nothing. */
  s = slurp(fmt("%s/quiet.out", logs), &len);
  assert_non_null(s);
  assert_int_equal(len, 0);
  s = slurp(fmt("%s/quiet.err", logs), &len);
  assert_non_null(s);
  assert_int_equal(len, 0);
  ASSERT_NOTHING_LEFT();
}

static bool iso_time(const char *s) {
  /* 2026-01-01T10:00:00.000Z */
  if (strlen(s) != 24)
    return false;
  const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < 24; i++)
    if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
      return false;
  return true;
}

/*
 * valgrind runs posix_spawn's CLONE_VM|CLONE_VFORK child as a plain fork,
 * so an exec failure cannot reach the parent: under it, a program that
 * does not exist ends "failed" with exit 127 instead of "error".
 */
static bool under_valgrind(void) {
  return getenv("CORUN_UNDER_VALGRIND") != NULL;
}

static void test_report(void **state) {
  (void)state;
  char *file = jobfile(
      "report.json", "{\"jobs\":[%s,%s,%s,%s,%s,%s,%s]}",
      job("slow", H("sleep 0.3 out hello"), NULL),
      job("bad", H("err bad-thing exit 3"), NULL),
      touch_job("after", "\"needs\":[\"bad\"]"),
      job("sig", H("kill 9"), NULL),
      job("nostart", "[\"/nonexistent/program\"]", NULL),
      job("big", H("lines 2000 100"), NULL),
      job("bin", H("bytes 1000"), NULL));
  char *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 30, "--output", "none", "-j", "8", "--report", rp, file);
  ASSERT_STATUS(&r, 1);
  assert_int_equal(r.out_len, 0);
  tu_result_free(&r);
  assert_false(ran("after"));

  cJSON *rep = parse_json_file(rp);
  assert_int_equal((int)num_of(rep, "corun"), 1);
  assert_str(rep, "status", "failed");
  assert_int_equal((int)num_of(rep, "exit_code"), 1);
  assert_true(iso_time(str_of(rep, "started_at")));
  assert_true(num_of(rep, "duration_s") >= 0.25);
  assert_true(num_of(rep, "duration_s") < 20);
  cJSON *counts = item(rep, "counts");
  assert_int_equal((int)num_of(counts, "ok"), 3);
  assert_int_equal((int)num_of(counts, "failed"), under_valgrind() ? 3 : 2);
  assert_int_equal((int)num_of(counts, "timeout"), 0);
  assert_int_equal((int)num_of(counts, "cancelled"), 0);
  assert_int_equal((int)num_of(counts, "skipped"), 1);
  assert_int_equal((int)num_of(counts, "error"), under_valgrind() ? 0 : 1);

  /* Jobs in file order, whatever order they ended in. */
  const char *order[] = {"slow", "bad", "after", "sig", "nostart", "big", "bin"};
  cJSON *jobs = item(rep, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 7);
  static const char *const keys[] = {
      "name",   "status", "exit_code", "signal",           "attempts",
      "started_at", "duration_s", "pid", "stdout",          "stderr",
      "stdout_truncated", "stderr_truncated", "error"};
  for (int i = 0; i < 7; i++) {
    cJSON *j = cJSON_GetArrayItem(jobs, i);
    assert_str(j, "name", order[i]);
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
      item(j, keys[k]);
  }

  cJSON *j = report_job(rep, "slow", NULL);
  assert_str(j, "status", "ok");
  assert_int_equal((int)num_of(j, "exit_code"), 0);
  assert_null_item(j, "signal");
  assert_int_equal((int)num_of(j, "attempts"), 1);
  assert_true(iso_time(str_of(j, "started_at")));
  assert_true(num_of(j, "duration_s") >= 0.25);
  assert_true(num_of(j, "pid") > 0);
  assert_str(j, "stdout", "hello\n");
  assert_str(j, "stderr", "");
  assert_true(cJSON_IsFalse(item(j, "stdout_truncated")));
  assert_true(cJSON_IsFalse(item(j, "stderr_truncated")));
  assert_null_item(j, "error");

  j = report_job(rep, "bad", NULL);
  assert_str(j, "status", "failed");
  assert_int_equal((int)num_of(j, "exit_code"), 3);
  assert_null_item(j, "signal");
  assert_str(j, "stderr", "bad-thing\n");
  assert_str(j, "stdout", "");

  j = report_job(rep, "after", NULL);
  assert_str(j, "status", "skipped");
  assert_int_equal((int)num_of(j, "attempts"), 0);

  j = report_job(rep, "sig", NULL);
  assert_str(j, "status", "failed");
  assert_str(j, "signal", "SIGKILL");

  j = report_job(rep, "nostart", NULL);
  if (under_valgrind()) {
    assert_str(j, "status", "failed");
    assert_int_equal((int)num_of(j, "exit_code"), 127);
  } else {
    assert_str(j, "status", "error");
    assert_true(strlen(str_of(j, "error")) > 0);
  }

  /* The last 64 KiB of a longer stream. */
  j = report_job(rep, "big", NULL);
  assert_str(j, "status", "ok");
  assert_true(cJSON_IsTrue(item(j, "stdout_truncated")));
  assert_true(cJSON_IsFalse(item(j, "stderr_truncated")));
  {
    char *all = keep(malloc(2000 * 100 + 1)), *w = all;
    for (long k = 0; k < 2000; k++) {
      gen_line(w, k, 100);
      w += 99;
      *w++ = '\n';
    }
    const char *out = str_of(j, "stdout");
    assert_int_equal(strlen(out), 65536);
    assert_memory_equal(out, all + 2000 * 100 - 65536, 65536);
  }

  /* Binary output still makes valid JSON (it parsed). */
  j = report_job(rep, "bin", NULL);
  assert_str(j, "status", "ok");
  assert_true(cJSON_IsFalse(item(j, "stdout_truncated")));
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

static void test_events_file(void **state) {
  (void)state;
  char *file = jobfile("ev.json", "{\"jobs\":[%s,%s,%s]}",
                       job("a", H("out hello err oops"), NULL),
                       job("b", H("exit 2"), "\"needs\":[\"a\"]"),
                       touch_job("c", "\"needs\":[\"b\"]"));
  char *ep = path("events.jsonl");
  tu_result_t r;
  CORUN(&r, NULL, 20, "--events", ep, file);
  ASSERT_STATUS(&r, 1);
  /* Output is still shown when the events go to a file. */
  ASSERT_CONTAINS(r.out, "a | hello\n");
  tu_result_free(&r);

  size_t len;
  char *text = slurp(ep, &len);
  assert_non_null(text);
  assert_true(len > 0 && text[len - 1] == '\n');
  cJSON **ev;
  size_t n = parse_events(text, len, &ev);
  assert_true(n >= 7);
  assert_true(ev_is(ev[0], "start", "a"));
  assert_int_equal((int)num_of(ev[0], "attempt"), 1);
  assert_true(num_of(ev[0], "pid") > 0);
  assert_true(ev_is(ev[n - 1], "done", NULL));
  assert_str(ev[n - 1], "status", "failed");
  assert_int_equal((int)num_of(ev[n - 1], "exit_code"), 1);
  bool out_line = false, err_line = false, a_exit = false, b_exit = false,
       c_skip = false;
  double t = 0;
  for (size_t i = 0; i < n; i++) {
    double ti = num_of(ev[i], "t");
    assert_true(ti >= t);
    t = ti;
    if (ev_is(ev[i], "done", NULL))
      assert_int_equal(i, n - 1);
    if (ev_is(ev[i], "line", "a")) {
      const char *stream = str_of(ev[i], "stream");
      if (strcmp(stream, "stdout") == 0) {
        assert_str(ev[i], "text", "hello");
        out_line = true;
      } else {
        assert_string_equal(stream, "stderr");
        assert_str(ev[i], "text", "oops");
        err_line = true;
      }
    }
    if (ev_is(ev[i], "exit", "a")) {
      assert_str(ev[i], "status", "ok");
      assert_int_equal((int)num_of(ev[i], "exit_code"), 0);
      assert_null_item(ev[i], "signal");
      assert_true(out_line && err_line); /* lines come before the exit */
      a_exit = true;
    }
    if (ev_is(ev[i], "exit", "b")) {
      assert_str(ev[i], "status", "failed");
      assert_int_equal((int)num_of(ev[i], "exit_code"), 2);
      b_exit = true;
    }
    if (ev_is(ev[i], "skip", "c")) {
      assert_true(b_exit);
      c_skip = true;
    }
    assert_false(ev_is(ev[i], "start", "c"));
  }
  assert_true(out_line && err_line && a_exit && b_exit && c_skip);
  free_events(ev, n);
  assert_false(ran("c"));
  ASSERT_NOTHING_LEFT();
}

/* A failed attempt that is retried: exit, retry, start again (§5). */
static void test_retry_events(void **state) {
  (void)state;
  char *file = jobfile("retry.json", "{\"jobs\":[%s]}",
                       job("flaky", H("out try err no exit 1"),
                           "\"retries\":2,\"retry_delay\":\"100ms\""));
  char *evp = path("events.jsonl"), *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 20, "--events", evp, "--report", rp, file);
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds >= 0.15);
  assert_string_equal(r.out, "flaky | try\nflaky | try\nflaky | try\n");
  tu_result_free(&r);
  size_t len;
  char *text = slurp(evp, &len);
  cJSON **ev;
  size_t n = parse_events(text, len, &ev);
  unsigned starts = 0, exits = 0, retries = 0;
  for (size_t i = 0; i < n; i++) {
    if (ev_is(ev[i], "start", "flaky")) {
      starts++;
      assert_int_equal((int)num_of(ev[i], "attempt"), (int)starts);
    } else if (ev_is(ev[i], "exit", "flaky")) {
      exits++;
      assert_str(ev[i], "status", "failed");
      assert_int_equal((int)num_of(ev[i], "exit_code"), 1);
      assert_int_equal((int)num_of(ev[i], "attempt"), (int)exits);
      if (exits < 3) {
        /* the retry comes next, announcing the next attempt */
        assert_true(i + 1 < n && ev_is(ev[i + 1], "retry", "flaky"));
      }
    } else if (ev_is(ev[i], "retry", "flaky")) {
      retries++;
      assert_int_equal((int)num_of(ev[i], "attempt"), (int)retries + 1);
      double d = num_of(ev[i], "delay_s");
      assert_true(d > 0.09 && d < 0.11);
    }
  }
  assert_int_equal(starts, 3);
  assert_int_equal(exits, 3);
  assert_int_equal(retries, 2);
  assert_true(ev_is(ev[n - 1], "done", NULL));
  free_events(ev, n);
  cJSON *rep = parse_json_file(rp);
  cJSON *j = report_job(rep, "flaky", NULL);
  assert_str(j, "status", "failed");
  assert_int_equal((int)num_of(j, "attempts"), 3);
  /* the last attempt's output */
  assert_str(j, "stdout", "try\n");
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

static void test_events_stdout(void **state) {
  (void)state;
  char *file = jobfile("evs.json", "{\"jobs\":[%s]}",
                       job("a", H("out hello err oops"), NULL));
  tu_result_t r;
  CORUN(&r, NULL, 20, "--events", "-", file);
  ASSERT_STATUS(&r, 0);
  /* Nothing but events on stdout: --output defaults to none. */
  assert_int_equal(r.err_len, 0);
  assert_null(strstr(r.out, "a | "));
  cJSON **ev;
  size_t n = parse_events(r.out, r.out_len, &ev);
  assert_int_equal(n, 5); /* start, two lines, exit, done */
  assert_true(ev_is(ev[0], "start", "a"));
  assert_true(ev_is(ev[n - 2], "exit", "a"));
  assert_true(ev_is(ev[n - 1], "done", NULL));
  assert_str(ev[n - 1], "status", "ok");
  assert_int_equal((int)num_of(ev[n - 1], "exit_code"), 0);
  free_events(ev, n);
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_junit(void **state) {
  (void)state;
  char *file = jobfile("ju.json", "{\"jobs\":[%s,%s,%s]}",
                       job("fine", H("out ok"), NULL),
                       job("broken", H("err <oops>& exit 1"), NULL),
                       job("fine2", H("out ok"), "\"needs\":[\"fine\"]"));
  char *jp = path("junit.xml");
  tu_result_t r;
  CORUN(&r, NULL, 20, "--output", "none", "--junit", jp, file);
  ASSERT_STATUS(&r, 1);
  tu_result_free(&r);
  char *x = slurp(jp, NULL);
  assert_non_null(x);
  assert_true(strncmp(x, "<?xml", 5) == 0);
  ASSERT_CONTAINS(x, "<testsuite");
  assert_int_equal(count_of(x, "<testcase "), 3);
  assert_int_equal(count_of(x, "</testcase>"), 3);
  assert_int_equal(count_of(x, "<failure"), 1);
  /* The failure belongs to the broken job's testcase. */
  char *b = strstr(x, "name=\"broken\"");
  assert_non_null(b);
  char *f = strstr(x, "<failure");
  char *end = strstr(b, "</testcase>");
  assert_true(f > b && f < end);
  /* Job output is escaped. */
  assert_null(strstr(x, "<oops>"));
  ASSERT_CONTAINS(x, "&lt;oops&gt;&amp;");
  ASSERT_CONTAINS(x, "name=\"fine\"");
  ASSERT_CONTAINS(x, "name=\"fine2\"");
  ASSERT_NOTHING_LEFT();
}

static void test_trace_and_timeline(void **state) {
  (void)state;
  char *file = jobfile("tr.json", "{\"jobs\":[%s,%s]}",
                       job("first", H("sleep 0.1"), NULL),
                       job("second", H("exit 0"), "\"needs\":[\"first\"]"));
  char *tp = path("trace.json"), *sp = path("timeline.svg");
  tu_result_t r;
  CORUN(&r, NULL, 20, "--trace", tp, "--timeline", sp, file);
  ASSERT_STATUS(&r, 0);
  tu_result_free(&r);

  cJSON *tr = parse_json_file(tp);
  cJSON *evs = item(tr, "traceEvents");
  assert_true(cJSON_IsArray(evs));
  bool first = false, second = false;
  cJSON *e;
  cJSON_ArrayForEach(e, evs) {
    cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    cJSON *ph = cJSON_GetObjectItemCaseSensitive(e, "ph");
    if (!cJSON_IsString(name) || !cJSON_IsString(ph) ||
        strcmp(ph->valuestring, "X") != 0)
      continue;
    assert_true(num_of(e, "ts") >= 0);
    if (strcmp(name->valuestring, "first") == 0) {
      assert_true(num_of(e, "dur") >= 50000); /* microseconds */
      first = true;
    }
    if (strcmp(name->valuestring, "second") == 0)
      second = true;
  }
  assert_true(first && second);
  cJSON_Delete(tr);

  size_t len;
  char *svg = slurp(sp, &len);
  assert_non_null(svg);
  assert_true(strncmp(svg, "<svg", 4) == 0);
  assert_true(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
  ASSERT_CONTAINS(svg, "first");
  ASSERT_CONTAINS(svg, "second");
  ASSERT_NOTHING_LEFT();
}

static void test_unwritable_outputs(void **state) {
  (void)state;
  char *file = touch_file();
  /* Paths no one can create, root included: under a regular file, or in
   * a folder that does not exist. */
  char *plain = rawfile("plain", "x");
  const char *bad_files[] = {fmt("%s/r.out", plain),
                             path("no-such-folder/r.out")};
  const int bad_errno[] = {ENOTDIR, ENOENT};
  const char *opts[] = {"--report", "--events", "--junit", "--trace",
                        "--timeline"};
  for (size_t b = 0; b < 2; b++) {
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
      tu_result_t r;
      CORUN(&r, NULL, 10, opts[i], bad_files[b], file);
      ASSERT_STATUS(&r, 2);
      assert_int_equal(r.out_len, 0);
      ASSERT_CONTAINS(r.err, opts[i]);
      ASSERT_CONTAINS(r.err, bad_files[b]);
      ASSERT_CONTAINS(r.err, strerror(bad_errno[b]));
      tu_result_free(&r);
      assert_false(ran("t"));
    }
  }
  /* One bad file among good ones: still nothing runs. */
  {
    tu_result_t r;
    CORUN(&r, NULL, 10, "--report", path("good.json"), "--junit",
          bad_files[0], file);
    ASSERT_STATUS(&r, 2);
    ASSERT_CONTAINS(r.err, "--junit");
    tu_result_free(&r);
    assert_false(ran("t"));
  }
  /* A log folder that cannot be created, or is a file. */
  const char *bad_dirs[] = {fmt("%s/logs", plain), fmt("%s/a/b/logs", plain),
                            plain};
  for (size_t i = 0; i < sizeof bad_dirs / sizeof *bad_dirs; i++) {
    tu_result_t r;
    CORUN(&r, NULL, 10, "--log-dir", bad_dirs[i], file);
    ASSERT_STATUS(&r, 2);
    assert_int_equal(r.out_len, 0);
    ASSERT_CONTAINS(r.err, "--log-dir");
    ASSERT_CONTAINS(r.err, bad_dirs[i]);
    tu_result_free(&r);
    assert_false(ran("t"));
  }
  ASSERT_NOTHING_LEFT();
}

/* ==== signals ============================================================== */

/* corun stopped by `sig` while a job runs: exit 128+sig after the job was
 * stopped, with the report written. */
static void signal_case(int sig) {
  char *file = jobfile("sig.json", "{\"jobs\":[%s,%s]}",
                       job("waiter", H("out ready sleep 30"), NULL),
                       touch_job("later", "\"needs\":[\"waiter\"]"));
  char *rp = path("r.json"), *op = path("out.txt"), *ep = path("err.txt");
  int out = open_file(op), err = open_file(ep);
  spawn_corun((const char *const[]){"--report", rp, file, NULL}, out, err);
  close(out);
  close(err);
  assert_true(wait_file_has(op, "waiter | ready", 10));
  assert_int_equal(tu_count_marked(T.mark), 1);
  double t0 = tu_now();
  assert_int_equal(kill(T.child, sig), 0);
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  if (!WIFEXITED(st))
    print_message("corun died of signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 128 + sig);
  assert_true(tu_now() - t0 < 5);
  /* Nothing of the job is left once corun has gone. */
  assert_int_equal(tu_count_marked(T.mark), 0);
  cJSON *rep = parse_json_file(rp);
  assert_str(report_job(rep, "waiter", NULL), "status", "cancelled");
  assert_str(report_job(rep, "later", NULL), "status", "skipped");
  assert_int_equal((int)num_of(item(rep, "counts"), "cancelled"), 1);
  assert_false(strcmp(str_of(rep, "status"), "ok") == 0);
  cJSON_Delete(rep);
  assert_false(ran("later"));
  ASSERT_NOTHING_LEFT();
}

static void test_sigint(void **state) {
  (void)state;
  signal_case(SIGINT);
}

static void test_sigterm(void **state) {
  (void)state;
  signal_case(SIGTERM);
}

static void test_sighup(void **state) {
  (void)state;
  signal_case(SIGHUP);
}

static void test_second_sigint(void **state) {
  (void)state;
  char *file = jobfile("stubborn.json", "{\"jobs\":[%s]}",
                       job("stubborn", H("ignterm out ready sleep 60"),
                           "\"kill_grace\":\"30s\""));
  char *rp = path("r.json"), *op = path("out.txt"), *ep = path("err.txt");
  int out = open_file(op), err = open_file(ep);
  spawn_corun((const char *const[]){"--report", rp, file, NULL}, out, err);
  close(out);
  close(err);
  assert_true(wait_file_has(op, "stubborn | ready", 10));
  double t0 = tu_now();
  assert_int_equal(kill(T.child, SIGINT), 0);
  /* The job ignores SIGTERM: corun waits out its grace... */
  usleep(500000);
  assert_true(still_running());
  assert_int_equal(tu_count_marked(T.mark), 1);
  /* ...until a second SIGINT, which kills at once. */
  assert_int_equal(kill(T.child, SIGINT), 0);
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 130);
  assert_true(tu_now() - t0 < 5);
  assert_int_equal(tu_count_marked(T.mark), 0);
  cJSON *rep = parse_json_file(rp);
  assert_str(report_job(rep, "stubborn", NULL), "status", "cancelled");
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

/* `corun FILE | head -1`: the reader goes away while jobs keep printing. */
static void test_stdout_goes_away(void **state) {
  (void)state;
  char *file = jobfile("pipe.json", "{\"jobs\":[%s,%s]}",
                       job("ticker", sh("while :; do echo tick; sleep 0.02; done"),
                           NULL),
                       job("flood", H("sleep 0.2 lines 5000000 80"), NULL));
  char *ep = path("err.txt");
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  int err = open_file(ep);
  spawn_corun((const char *const[]){"-j", "2", file, NULL}, p[1], err);
  close(p[1]);
  close(err);
  /* Read the first line, as head -1 does, then go away. */
  char c;
  size_t got = 0;
  double t0 = tu_now();
  while (read(p[0], &c, 1) == 1) {
    got++;
    if (c == '\n')
      break;
  }
  assert_true(got > 0 && c == '\n');
  assert_true(tu_now() - t0 < 10);
  close(p[0]);
  t0 = tu_now();
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  if (!WIFEXITED(st))
    print_message("corun died of signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 141);
  assert_true(tu_now() - t0 < 5);
  ASSERT_NOTHING_LEFT();
}

/* `corun FILE 2>&1 >/dev/null | head -1`: the same for stderr. */
static void test_stderr_goes_away(void **state) {
  (void)state;
  char *file = jobfile("epipe.json", "{\"jobs\":[%s]}",
                       job("ticker",
                           sh("while :; do echo tick >&2; sleep 0.02; done"),
                           NULL));
  char *op = path("out.txt");
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  int out = open_file(op);
  spawn_corun((const char *const[]){file, NULL}, out, p[1]);
  close(p[1]);
  close(out);
  char c = 0;
  size_t got = 0;
  while (read(p[0], &c, 1) == 1) {
    got++;
    if (c == '\n')
      break;
  }
  assert_true(got > 0 && c == '\n');
  close(p[0]);
  double t0 = tu_now();
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 141);
  assert_true(tu_now() - t0 < 5);
  ASSERT_NOTHING_LEFT();
}

/* `corun --events - FILE | head -1`. */
static void test_events_stdout_goes_away(void **state) {
  (void)state;
  char *file = jobfile("evpipe.json", "{\"jobs\":[%s,%s]}",
                       job("ticker", sh("while :; do echo tick; sleep 0.02; done"),
                           NULL),
                       job("flood", H("sleep 0.2 lines 5000000 80"), NULL));
  char *ep = path("err.txt");
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  int err = open_file(ep);
  spawn_corun((const char *const[]){"-j", "2", "--events", "-", file, NULL},
              p[1], err);
  close(p[1]);
  close(err);
  char c = 0;
  size_t got = 0;
  while (read(p[0], &c, 1) == 1) {
    got++;
    if (c == '\n')
      break;
  }
  assert_true(got > 0 && c == '\n');
  close(p[0]);
  double t0 = tu_now();
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 141);
  assert_true(tu_now() - t0 < 5);
  ASSERT_NOTHING_LEFT();
}

/* Signals also end the events stream with "done". */
static void test_signal_events_done(void **state) {
  (void)state;
  char *file = jobfile("sigev.json", "{\"jobs\":[%s]}",
                       job("waiter", H("out ready sleep 30"), NULL));
  char *evp = path("events.jsonl"), *op = path("out.txt"), *ep = path("err.txt");
  int out = open_file(op), err = open_file(ep);
  spawn_corun((const char *const[]){"--events", evp, file, NULL}, out, err);
  close(out);
  close(err);
  assert_true(wait_file_has(evp, "\"text\":\"ready\"", 10));
  assert_int_equal(kill(T.child, SIGTERM), 0);
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 143);
  size_t len;
  char *text = slurp(evp, &len);
  cJSON **ev;
  size_t n = parse_events(text, len, &ev);
  assert_true(n >= 4);
  assert_true(ev_is(ev[n - 2], "exit", "waiter"));
  assert_str(ev[n - 2], "status", "cancelled");
  assert_true(ev_is(ev[n - 1], "done", NULL));
  assert_false(strcmp(str_of(ev[n - 1], "status"), "ok") == 0);
  assert_int_equal((int)num_of(ev[n - 1], "exit_code"), 143);
  free_events(ev, n);
  ASSERT_NOTHING_LEFT();
}

/* A background process that keeps the job's pipes open hangs nothing. */
static void test_background_holder(void **state) {
  (void)state;
  char *file = jobfile("bg.json", "{\"jobs\":[%s,%s]}",
                       job("parent", H("out hi fork 2 30"), NULL),
                       job("next", H("out next"), "\"needs\":[\"parent\"]"));
  tu_result_t r;
  CORUN(&r, NULL, 20, file);
  ASSERT_STATUS(&r, 0);
  assert_true(r.seconds < 4);
  assert_string_equal(r.out, "parent | hi\nnext   | next\n");
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_empty_jobs(void **state) {
  (void)state;
  char *file = jobfile("empty-jobs.json", "{\"corun\":1,\"jobs\":[]}");
  char *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 10, "--report", rp, file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 0);
  assert_int_equal(r.err_len, 0);
  tu_result_free(&r);
  cJSON *rep = parse_json_file(rp);
  assert_str(rep, "status", "ok");
  assert_int_equal((int)num_of(rep, "exit_code"), 0);
  assert_int_equal(cJSON_GetArraySize(item(rep, "jobs")), 0);
  assert_int_equal((int)num_of(item(rep, "counts"), "ok"), 0);
  cJSON_Delete(rep);
  CORUN(&r, NULL, 10, "--list", file);
  ASSERT_STATUS(&r, 0);
  assert_int_equal(r.out_len, 0);
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_quiet(void **state) {
  (void)state;
  char *file = jobfile("quiet.json", "{\"jobs\":[%s]}",
                       job("bad", H("err bad-thing exit 3"), NULL));
  tu_result_t r;
  CORUN(&r, NULL, 20, "-q", file);
  ASSERT_STATUS(&r, 1);
  /* The job's own line, and no summary. */
  assert_string_equal(r.err, "bad | bad-thing\n");
  tu_result_free(&r);
  CORUN(&r, NULL, 20, "--quiet", "--output", "none", file);
  ASSERT_STATUS(&r, 1);
  assert_int_equal(r.err_len, 0);
  assert_int_equal(r.out_len, 0);
  tu_result_free(&r);
  ASSERT_NOTHING_LEFT();
}

static void test_color(void **state) {
  (void)state;
  char *file = jobfile("color.json", "{\"jobs\":[%s]}",
                       job("a", H("out hello"), NULL));
  tu_result_t r;
  CORUN(&r, NULL, 20, "--color", "always", file);
  ASSERT_STATUS(&r, 0);
  ASSERT_CONTAINS(r.out, "\x1b[");
  ASSERT_CONTAINS(r.out, "hello\n");
  tu_result_free(&r);
  const char *plain[] = {"never", "auto"};
  for (size_t i = 0; i < 2; i++) {
    CORUN(&r, NULL, 20, "--color", plain[i], file);
    ASSERT_STATUS(&r, 0);
    assert_string_equal(r.out, "a | hello\n");
    tu_result_free(&r);
  }
  ASSERT_NOTHING_LEFT();
}

static void test_halt_option(void **state) {
  (void)state;
  /* The file says never; --halt now,fail=1 wins. */
  char *file = jobfile("halt.json", "{\"halt\":\"never\",\"jobs\":[%s,%s,%s]}",
                       job("bad", H("sleep 0.2 exit 1"), NULL),
                       job("long", H("out started sleep 30"), NULL),
                       touch_job("later", "\"needs\":[\"long\"]"));
  char *evp = path("events.jsonl"), *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 20, "-j", "2", "--halt", "now,fail=1", "--events", evp,
        "--report", rp, file);
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds < 10);
  tu_result_free(&r);
  cJSON *rep = parse_json_file(rp);
  assert_str(report_job(rep, "bad", NULL), "status", "failed");
  assert_str(report_job(rep, "long", NULL), "status", "cancelled");
  assert_str(report_job(rep, "later", NULL), "status", "skipped");
  cJSON_Delete(rep);
  size_t len;
  char *text = slurp(evp, &len);
  cJSON **ev;
  size_t n = parse_events(text, len, &ev);
  bool halt = false;
  for (size_t i = 0; i < n; i++)
    if (ev_is(ev[i], "halt", NULL)) {
      assert_str(ev[i], "policy", "now,fail=1");
      halt = true;
    }
  assert_true(halt);
  free_events(ev, n);
  assert_false(ran("later"));
  ASSERT_NOTHING_LEFT();
}

/* ==== timeouts ============================================================= */

static void test_timeouts(void **state) {
  (void)state;
  char *file = jobfile("to.json", "{\"jobs\":[%s,%s]}",
                       job("slow", H("out started sleep 30"), NULL),
                       job("own", H("sleep 0.8 out done"), "\"timeout\":10"));
  char *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 20, "--timeout", "300ms", "-j", "2", "--report", rp, file);
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds < 10);
  ASSERT_CONTAINS(r.out, "slow | started\n");
  ASSERT_CONTAINS(r.out, "own  | done\n");
  tu_result_free(&r);
  cJSON *rep = parse_json_file(rp);
  assert_str(report_job(rep, "slow", NULL), "status", "timeout");
  assert_str(report_job(rep, "own", NULL), "status", "ok");
  assert_int_equal((int)num_of(item(rep, "counts"), "timeout"), 1);
  assert_int_equal((int)num_of(rep, "exit_code"), 1);
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();

  /* A timeout from the file's defaults is the job's own: --timeout does
   * not replace it. */
  char *file4 = jobfile("to4.json", "{\"defaults\":{\"timeout\":10},\"jobs\":[%s]}",
                        job("d", H("sleep 0.6 out done"), NULL));
  CORUN(&r, NULL, 20, "--timeout", "200ms", file4);
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "d | done\n");
  tu_result_free(&r);

  /* A job's own timeout, no --timeout. */
  char *file2 = jobfile("to2.json", "{\"jobs\":[%s]}",
                        job("t", H("sleep 30"), "\"timeout\":\"250ms\""));
  CORUN(&r, NULL, 20, "--report", rp, file2);
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds < 10);
  tu_result_free(&r);
  rep = parse_json_file(rp);
  assert_str(report_job(rep, "t", NULL), "status", "timeout");
  assert_str(rep, "status", "failed");
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();

  /* A job that ignores SIGTERM is killed after its kill_grace. */
  char *file3 = jobfile("to3.json", "{\"jobs\":[%s]}",
                        job("stubborn", H("ignterm out ready sleep 30"),
                            "\"timeout\":\"300ms\",\"kill_grace\":\"300ms\""));
  CORUN(&r, NULL, 20, "--report", rp, file3);
  ASSERT_STATUS(&r, 1);
  assert_true(r.seconds >= 0.5);
  assert_true(r.seconds < 5);
  tu_result_free(&r);
  rep = parse_json_file(rp);
  assert_str(report_job(rep, "stubborn", NULL), "status", "timeout");
  assert_str(report_job(rep, "stubborn", NULL), "signal", "SIGKILL");
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

/* ==== what jobs leave behind; PATH ======================================== */

/* A job's JSON with the env given (a JSON object's members, may be ""). */
static char *job_env(const char *name, const char *cmd, const char *env,
                     const char *extra) {
  return fmt("{\"name\":%s,\"cmd\":%s,\"env\":{%s}%s%s}", js(name), cmd, env,
             extra ? "," : "", extra ? extra : "");
}

/*
 * A job that starts a daemon in a session of its own (setsid) and exits:
 * corun, a child subreaper, has adopted the daemon and kills it as soon as
 * the job's main process is gone, while the run goes on; a daemon holding
 * the job's stdout and stderr does not make corun wait for the kill grace.
 */
static void test_setsid_daemon(void **state) {
  (void)state;
  /* The daemon writes its pid down; the job says it is alive at 0.3 s. A
   * job that needs it then watches the daemon go (a zombie counts as
   * gone), with the run still going. */
  const char *daemon = sh(
      "setsid sleep 305 >/dev/null 2>&1 </dev/null & echo $! >daemon.pid; "
      "sleep 0.3; kill -0 $(cat daemon.pid) && echo started");
  const char *check = sh(
      "p=$(cat daemon.pid); for i in $(seq 100); do "
      "s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); "
      "if [ -z \"$s\" ] || [ \"$s\" = Z ]; then echo daemon gone; exit 0; fi; "
      "sleep 0.02; done; echo daemon alive: $s; exit 1");
  char *file = jobfile("daemon.json", "{\"jobs\":[%s,%s]}",
                       job("d", daemon, NULL),
                       job("check", check, "\"needs\":[\"d\"]"));
  char *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 60, "--report", rp, file);
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "d     | started\ncheck | daemon gone\n");
  tu_result_free(&r);
  cJSON *rep = parse_json_file(rp);
  assert_str(report_job(rep, "d", NULL), "status", "ok");
  assert_str(report_job(rep, "check", NULL), "status", "ok");
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();

  /* The daemon keeps the job's stdout and stderr open: the run still ends
   * at once, long before the 5 s default kill grace. (Under valgrind,
   * corun's own start and exit take seconds: its report's clock tells.) */
  char *held = jobfile("held.json", "{\"jobs\":[%s]}",
                       job("h", sh("setsid sleep 306 & sleep 0.3; echo held"),
                           NULL));
  CORUN(&r, NULL, 60, "--report", rp, held);
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "h | held\n");
  if (r.seconds >= (under_valgrind() ? 30 : 3.5))
    show(&r);
  assert_true(r.seconds < (under_valgrind() ? 30 : 3.5));
  tu_result_free(&r);
  rep = parse_json_file(rp);
  assert_true(num_of(rep, "duration_s") < 3.5);
  assert_true(num_of(report_job(rep, "h", NULL), "duration_s") < 3.5);
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();

  /* The same with a long kill grace, and the holder started last: it is
   * killed when the job's main process exits, not after the grace. */
  char *held2 = jobfile("held2.json", "{\"jobs\":[%s]}",
                        job("h2", sh("setsid sleep 307 & echo held"),
                            "\"kill_grace\":\"60s\""));
  CORUN(&r, NULL, 90, "--report", rp, held2);
  ASSERT_STATUS(&r, 0);
  assert_string_equal(r.out, "h2 | held\n");
  assert_true(r.seconds < (under_valgrind() ? 30 : 5));
  tu_result_free(&r);
  rep = parse_json_file(rp);
  assert_true(num_of(rep, "duration_s") < 5);
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

/*
 * An argv job whose env sets PATH is looked up on that PATH, as the shell
 * would; a job that leaves PATH alone is looked up on corun's.
 */
static void test_argv_path(void **state) {
  (void)state;
  char *tc = path("toolchain"), *noexec = path("noexec");
  assert_int_equal(mkdir(tc, 0755), 0);
  assert_int_equal(mkdir(noexec, 0755), 0);
  char *tool = keep(tu_write(tc, "ls", "#!/bin/sh\necho toolchain-ls\n"));
  assert_int_equal(chmod(tool, 0755), 0);
  /* Found first but not executable: skipped, or EACCES when alone. */
  char *plain = keep(tu_write(noexec, "ls", "#!/bin/sh\necho not-executable\n"));
  assert_int_equal(chmod(plain, 0644), 0);
  const char *mk = fmt("\"CORUN_TEST_MARK\":%s", js(T.mark_value));
  char *file = jobfile(
      "path.json", "{\"jobs\":[%s,%s,%s,%s,%s,%s,%s]}",
      job_env("tool", "[\"ls\"]",
              fmt("%s,\"PATH\":%s", mk, js(fmt("%s:/usr/bin:/bin", tc))), NULL),
      job_env("missing", "[\"ls\"]", fmt("%s,\"PATH\":\"/nonexistent\"", mk),
              NULL),
      /* No env at all: corun's own PATH, where ls is the real one. */
      fmt("{\"name\":\"ours\",\"cmd\":[\"ls\",%s]}", js(tc)),
      job_env("other", fmt("[\"ls\",%s]", js(tc)), fmt("%s,\"LC_ALL\":\"C\"", mk),
              NULL),
      job_env("skip", "[\"ls\"]",
              fmt("%s,\"PATH\":%s", mk, js(fmt("%s:%s", noexec, tc))), NULL),
      job_env("denied", "[\"ls\"]", fmt("%s,\"PATH\":%s", mk, js(noexec)), NULL),
      /* A shell command: /bin/sh looks ls up on the job's PATH itself. */
      job_env("shell", sh("ls"),
              fmt("%s,\"PATH\":%s", mk, js(fmt("%s:/usr/bin:/bin", tc))), NULL));
  char *rp = path("r.json");
  tu_result_t r;
  CORUN(&r, NULL, 30, "-j", "1", "--report", rp, file);
  ASSERT_STATUS(&r, 1);
  ASSERT_CONTAINS(r.out, "tool    | toolchain-ls\n");
  ASSERT_CONTAINS(r.out, "ours    | ls\n");
  ASSERT_CONTAINS(r.out, "other   | ls\n");
  ASSERT_CONTAINS(r.out, "skip    | toolchain-ls\n");
  ASSERT_CONTAINS(r.out, "shell   | toolchain-ls\n");
  assert_null(strstr(r.out, "not-executable"));
  ASSERT_CONTAINS(r.err, "missing: error (ls: No such file or directory)");
  ASSERT_CONTAINS(r.err, "denied: error (ls: Permission denied)");
  tu_result_free(&r);
  cJSON *rep = parse_json_file(rp);
  const char *ok[] = {"tool", "ours", "other", "skip", "shell"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    assert_str(report_job(rep, ok[i], NULL), "status", "ok");
  cJSON *j = report_job(rep, "missing", NULL);
  assert_str(j, "status", "error");
  assert_str(j, "error", "ls: No such file or directory");
  assert_int_equal((int)num_of(j, "attempts"), 1);
  j = report_job(rep, "denied", NULL);
  assert_str(j, "status", "error");
  assert_str(j, "error", "ls: Permission denied");
  assert_int_equal((int)num_of(item(rep, "counts"), "error"), 2);
  assert_int_equal((int)num_of(item(rep, "counts"), "ok"), 5);
  cJSON_Delete(rep);
  ASSERT_NOTHING_LEFT();
}

/* Wait up to limit_s for the file at p to hold needle n times. */
static bool wait_file_count(const char *p, const char *needle, size_t n,
                            double limit_s) {
  double t0 = tu_now();
  do {
    char *s = tu_read(p, NULL);
    bool enough = s && count_of(s, needle) >= n;
    free(s);
    if (enough)
      return true;
    usleep(20000);
  } while (tu_now() - t0 < limit_s);
  return false;
}

/*
 * corun killed by SIGKILL mid-run (the OOM killer, a CI runner's hard
 * stop): its watchdog kills every process of the run, wherever it went:
 * grandchildren, a double fork, jobs that ignore SIGTERM, a daemon in a
 * session of its own. corun itself carries the marker too, so its
 * watchdog must be gone as well.
 */
static void test_sigkill_corun(void **state) {
  (void)state;
  char *file = jobfile(
      "kill.json", "{\"jobs\":[%s,%s,%s,%s,%s]}",
      job("gc", sh("sleep 331 & sleep 332 & (sleep 333 &); echo ready; wait"),
          NULL),
      job("ign", sh("trap '' TERM; sleep 334 & echo ready; wait"), NULL),
      job("ss", sh("setsid sh -c 'echo ready; exec sleep 335' & sleep 336"),
          NULL),
      job("helper", H("ignterm fork 3 60 out ready sleep 60"), NULL),
      job("double", sh("setsid sh -c '(sleep 337 &); echo ready' & wait; sleep 338"),
          NULL));
  char *op = path("out.txt"), *ep = path("err.txt");
  int out = open_file(op), err = open_file(ep);
  setenv("CORUN_TEST_MARK", T.mark_value, 1);
  spawn_corun((const char *const[]){"-j", "5", file, NULL}, out, err);
  unsetenv("CORUN_TEST_MARK");
  close(out);
  close(err);
  bool ready = wait_file_count(op, "| ready\n", 5, 15);
  if (!ready)
    print_message("not all jobs ready:\n%s\n", slurp(op, NULL));
  assert_true(ready);
  /* corun, its watchdog, 5 jobs and at least 9 of their processes. */
  int before = tu_count_marked(T.mark);
  if (before < 16)
    print_message("only %d marked processes\n", before);
  assert_true(before >= 16);
  assert_int_equal(kill(T.child, SIGKILL), 0);
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  double t0 = tu_now();
  int left = tu_wait_unmarked(T.mark, 2.0);
  if (left > 0)
    print_message("%d of %d marked processes left 2 s after SIGKILL\n", left,
                  before);
  assert_int_equal(left, 0);
  assert_true(tu_now() - t0 < 2.0);
  ASSERT_NOTHING_LEFT();
}

/* Kill every process marked with needle: what a failed test left. */
static void kill_marked(const char *needle) {
  DIR *d = opendir("/proc");
  if (d == NULL)
    return;
  size_t nl = strlen(needle);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!isdigit((unsigned char)e->d_name[0]))
      continue;
    char p[300];
    snprintf(p, sizeof p, "/proc/%s/environ", e->d_name);
    size_t len = 0;
    char *env = tu_read(p, &len);
    if (env != NULL && memmem(env, len, needle, nl) != NULL)
      kill((pid_t)atol(e->d_name), SIGKILL);
    free(env);
  }
  closedir(d);
}

/*
 * corun run by a corun job: when the outer corun kills it (a timeout past
 * its kill grace, or the outer corun killed itself), the inner run's jobs
 * must not outlive them. The inner watchdog is adopted by the outer corun
 * (a subreaper) and inherited the outer job's CORUN_JOB_ID: it renames
 * that entry, so neither the outer corun nor its watchdog takes it for a
 * process of the outer job and kills it before it swept.
 */
static void test_nested_corun_killed(void **state) {
  (void)state;
  /* Under valgrind /proc/PID/environ shows the tool's own environment,
   * which the watchdog's renaming cannot reach. */
  if (under_valgrind()) {
    skip();
    return;
  }
  char *inner = jobfile(
      "inner.json", "{\"jobs\":[%s,%s]}",
      job("i1", sh("trap '' TERM; echo inner-ready; sleep 341"),
          "\"kill_grace\":\"30s\""),
      job("i2", sh("setsid sleep 342 & sleep 343"), NULL));
  char *outer = jobfile(
      "outer.json", "{\"jobs\":[%s]}",
      job("o", fmt("[%s,\"-j\",\"2\",%s]", js(tu_corun()), js(inner)),
          "\"timeout\":\"1s\",\"kill_grace\":\"300ms\""));
  tu_result_t r;
  CORUN(&r, NULL, 30, outer);
  ASSERT_STATUS(&r, 1);
  ASSERT_CONTAINS(r.out, "o | i1 | inner-ready\n");
  tu_result_free(&r);
  int left = tu_wait_unmarked(T.mark, 2.0);
  if (left > 0) {
    print_message("outer timeout: %d processes of the inner run left\n", left);
    kill_marked(T.mark);
  }

  /* The outer corun killed by SIGKILL: its watchdog kills the inner corun
   * and the inner watchdog (both carry the outer job's mark), racing the
   * inner watchdog's own sweep. */
  char *outer2 = jobfile(
      "outer2.json", "{\"jobs\":[%s]}",
      job("o", fmt("[%s,\"-j\",\"2\",%s]", js(tu_corun()), js(inner)), NULL));
  char *op = path("out.txt"), *ep = path("err.txt");
  int out = open_file(op), err = open_file(ep);
  spawn_corun((const char *const[]){outer2, NULL}, out, err);
  close(out);
  close(err);
  assert_true(wait_file_has(op, "o | i1 | inner-ready", 15));
  usleep(200000);
  assert_int_equal(kill(T.child, SIGKILL), 0);
  int st = 0;
  assert_int_equal(wait_child(10, &st), 0);
  int left2 = tu_wait_unmarked(T.mark, 2.0);
  if (left2 > 0) {
    print_message("outer SIGKILL: %d processes of the inner run left\n", left2);
    kill_marked(T.mark);
  }
  assert_int_equal(left, 0);
  assert_int_equal(left2, 0);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T_(test_help),
      T_(test_version),
      T_(test_no_args),
      T_(test_unknown_option),
      T_(test_bad_option_values),
      T_(test_unknown_job_name),
      T_(test_invalid_syntax),
      T_(test_invalid_empty),
      T_(test_invalid_directory_and_missing),
      T_(test_invalid_utf8),
      T_(test_invalid_keys_and_values),
      T_(test_invalid_cycle),
      T_(test_invalid_unknown_need),
      T_(test_check),
      T_(test_list),
      T_(test_dry_run),
      T_(test_graph),
      T_(test_stdin),
      T_(test_run_ok_prefix),
      T_(test_run_failure),
      T_(test_run_allow_failure),
      T_(test_run_selected),
      T_(test_parallel_limits),
      T_(test_prefix_flood),
      T_(test_output_group),
      T_(test_output_raw),
      T_(test_output_none),
      T_(test_log_dir),
      T_(test_report),
      T_(test_events_file),
      T_(test_retry_events),
      T_(test_events_stdout),
      T_(test_junit),
      T_(test_trace_and_timeline),
      T_(test_unwritable_outputs),
      T_(test_sigint),
      T_(test_sigterm),
      T_(test_sighup),
      T_(test_second_sigint),
      T_(test_stdout_goes_away),
      T_(test_stderr_goes_away),
      T_(test_events_stdout_goes_away),
      T_(test_signal_events_done),
      T_(test_background_holder),
      T_(test_empty_jobs),
      T_(test_quiet),
      T_(test_color),
      T_(test_halt_option),
      T_(test_timeouts),
      T_(test_setsid_daemon),
      T_(test_argv_path),
      T_(test_sigkill_corun),
      T_(test_nested_corun_killed),
  };
  /* Job output is checked exactly: make sure nothing adds colour. */
  unsetenv("CLICOLOR_FORCE");
  setenv("NO_COLOR", "1", 1);
  return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
