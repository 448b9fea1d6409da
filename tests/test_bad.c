/*
 * The bad-input corpus (SPEC §1): every file in tests/bad/ is a job file
 * with one kind of mistake in it (a few with several), and NAME.expected
 * beside it holds exactly what corun must print on stderr for it, with
 * the file's path written as FILE.
 *
 * For each file two tests are made at run time, named after the file:
 *   check_rejects_NAME   `corun --check FILE`: exit 2, no stdout, the
 *                        expected stderr;
 *   run_refuses_NAME     `corun FILE`: the same, so that a plain run
 *                        refuses the file before it runs anything.
 * A further test checks that files and .expected files come in pairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define EXPECTED_EXT ".expected"
/* A plain run that gets as far as running jobs would still end quickly:
 * every job in the corpus is `true` or `echo`. */
#define LIMIT_S 20.0

typedef struct {
  char *file;     /* "NAME.json" */
  char *path;     /* the path corun is given */
  char *expected; /* the path of NAME.expected */
} bad_case_t;

static char *corpus_dir;

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (r < 0)
    abort();
  return s;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "NAME" of "NAME.json" or "NAME.gz": everything before the last dot. */
static char *stem(const char *file) {
  const char *dot = strrchr(file, '.');
  size_t n = dot != NULL && dot != file ? (size_t)(dot - file) : strlen(file);
  return strndup(file, n);
}

/* `text` with every "FILE" replaced by `path`. */
static char *with_path(const char *text, const char *path) {
  size_t cap = strlen(text) + 1, len = 0;
  for (const char *p = text; (p = strstr(p, "FILE")) != NULL; p += 4)
    cap += strlen(path);
  char *out = malloc(cap);
  if (out == NULL)
    abort();
  for (const char *p = text;;) {
    const char *hit = strstr(p, "FILE");
    size_t n = hit != NULL ? (size_t)(hit - p) : strlen(p);
    memcpy(out + len, p, n);
    len += n;
    if (hit == NULL)
      break;
    memcpy(out + len, path, strlen(path));
    len += strlen(path);
    p = hit + 4;
  }
  out[len] = '\0';
  return out;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus's file names (both kinds), sorted; *n their count. */
static char **list_corpus(size_t *n) {
  DIR *d = opendir(corpus_dir);
  if (d == NULL)
    return NULL;
  char **names = NULL;
  size_t len = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (len == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, cap * sizeof *names);
      if (names == NULL)
        abort();
    }
    names[len++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, len, sizeof *names, by_name);
  *n = len;
  return names;
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* Run corun on the case's file, with --check or without, and compare. */
static void expect_refusal(const bad_case_t *bc, bool check) {
  size_t len = 0;
  char *raw = tu_read(bc->expected, &len);
  if (raw == NULL)
    fail_msg("%s: cannot read %s", bc->file, bc->expected);
  char *want = with_path(raw, bc->path);
  free(raw);

  char *argv[4];
  size_t k = 0;
  argv[k++] = (char *)tu_corun();
  if (check)
    argv[k++] = "--check";
  argv[k++] = bc->path;
  argv[k] = NULL;
  tu_result_t r;
  tu_run(&r, argv, NULL, LIMIT_S);

  bool ok = r.status == 2 && r.out_len == 0 && r.err_len == strlen(want) &&
            memcmp(r.err, want, r.err_len) == 0;
  if (!ok) {
    print_message("corun %s%s\n", check ? "--check " : "", bc->path);
    print_message("exit status: %d (want 2)\n", r.status);
    print_message("stdout (%zu bytes, want none):\n%s\n", r.out_len, r.out);
    print_message("stderr:\n%s", r.err);
    print_message("want on stderr:\n%s", want);
  }
  tu_result_free(&r);
  free(want);
  assert_true(ok);
}

static void check_rejects(void **state) { expect_refusal(*state, true); }

static void run_refuses(void **state) { expect_refusal(*state, false); }

/* Every file has its NAME.expected, and every NAME.expected one file. */
static void every_bad_file_has_an_expected_message_and_back(void **state) {
  (void)state;
  size_t n = 0;
  char **names = list_corpus(&n);
  assert_non_null(names);
  size_t inputs = 0, bad = 0;
  for (size_t i = 0; i < n; i++) {
    char *s = stem(names[i]);
    if (ends_with(names[i], EXPECTED_EXT)) {
      size_t matches = 0;
      for (size_t j = 0; j < n; j++) {
        if (ends_with(names[j], EXPECTED_EXT))
          continue;
        char *t = stem(names[j]);
        matches += strcmp(s, t) == 0;
        free(t);
      }
      if (matches != 1) {
        print_message("%s: %zu files named %s.*, want 1\n", names[i],
                      matches, s);
        bad++;
      }
    } else {
      inputs++;
      char *want = xasprintf("%s" EXPECTED_EXT, s);
      if (bsearch(&want, names, n, sizeof *names, by_name) == NULL) {
        print_message("%s: no %s beside it\n", names[i], want);
        bad++;
      }
      free(want);
    }
    free(s);
  }
  free_names(names, n);
  assert_true(inputs > 0);
  assert_int_equal(bad, 0);
}

int main(void) {
  corpus_dir = xasprintf("%s/tests/bad", tu_src());
  size_t n = 0;
  char **names = list_corpus(&n);
  if (names == NULL) {
    fprintf(stderr, "test_bad: cannot read %s (set CORUN_SRC)\n", corpus_dir);
    return 1;
  }
  struct CMUnitTest *tests = calloc(2 * n + 1, sizeof *tests);
  bad_case_t *cases = calloc(n ? n : 1, sizeof *cases);
  if (tests == NULL || cases == NULL)
    abort();
  size_t nt = 0, nc = 0;
  const struct CMUnitTest pairs =
      cmocka_unit_test(every_bad_file_has_an_expected_message_and_back);
  tests[nt++] = pairs;
  for (size_t i = 0; i < n; i++) {
    if (ends_with(names[i], EXPECTED_EXT))
      continue;
    bad_case_t *bc = &cases[nc++];
    char *s = stem(names[i]);
    bc->file = names[i];
    bc->path = xasprintf("%s/%s", corpus_dir, names[i]);
    bc->expected = xasprintf("%s/%s" EXPECTED_EXT, corpus_dir, s);
    struct CMUnitTest check = cmocka_unit_test_prestate(check_rejects, bc);
    check.name = xasprintf("check_rejects_%s", names[i]);
    tests[nt++] = check;
    struct CMUnitTest run = cmocka_unit_test_prestate(run_refuses, bc);
    run.name = xasprintf("run_refuses_%s", names[i]);
    tests[nt++] = run;
    free(s);
  }
  int failed = _cmocka_run_group_tests("bad", tests, nt, NULL, NULL);
  for (size_t i = 1; i < nt; i++)
    free((char *)tests[i].name);
  for (size_t i = 0; i < nc; i++) {
    free(cases[i].path);
    free(cases[i].expected);
  }
  free(cases);
  free(tests);
  free_names(names, n);
  free(corpus_dir);
  return failed;
}
