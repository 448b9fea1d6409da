/*
 * The harness of the test_run_* suites: real processes through the public
 * API (SPEC §2, §3, §5, §6).
 *
 * Every test has a loop of its own with a watchdog timer that cancels the
 * run and fails the test instead of hanging, ends by closing every handle
 * and asserting uv_loop_close() returns 0, and gives each of its jobs a
 * marker in the environment so that it can prove nothing was left behind.
 *
 * A test makes a context (t_new), adds jobs (add: the helper program with
 * its steps; add_sh: a shell command; load_json: a whole job file), seals
 * the plan, starts a run whose callbacks a recorder (rec_t) keeps, runs
 * the loop (t_loop) and asserts on what was recorded and on the results;
 * t_finish frees everything and checks that no marked process remains.
 *
 * CORUN_SLOW=0 shrinks the big-output tests (for slow runs under valgrind);
 * CORUN_TEST_FILTER and CORUN_TEST_SKIP select tests by name pattern.
 */
#ifndef CORUN_RUN_HARNESS_H
#define CORUN_RUN_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "corun.h"

#define MAXJ 512
#define MAXEV 2048
#define MIB (1024 * 1024)

struct CMUnitTest;

/*
 * Under valgrind posix_spawn runs as a fork, so a command that cannot be
 * run fails in the child (exit 127) instead of in posix_spawn: there is no
 * `error` status to see. Valgrind preloads its own libraries.
 */
int under_valgrind(void);
/* The status of a job whose command cannot be started. */
corun_status_t cannot_start(void);

/* Under valgrind, which does not know pidfd_open, the library watches
 * exits by polling; the tests run the same either way. */

/* ---- small buffers ------------------------------------------------------ */

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

void buf_add(buf_t *b, const void *p, size_t n);
void buf_free(buf_t *b);

/* Whether p[0..n) is the test program's `bytes N` pattern starting at
 * offset `off`; returns the first wrong offset, or UINT64_MAX when all
 * match. */
uint64_t pattern_check(const char *p, size_t n, uint64_t off);
/* Line k of the test program's `lines N WIDTH`, without its newline. */
size_t steps_line(char *dst, long k, int width);

/* ---- the test context and the recorder of one run ----------------------- */

enum { EV_START = 1, EV_RETRY, EV_END, EV_HALT, EV_RUN_END };

typedef struct {
  int kind;
  size_t job;
  unsigned attempt;
  long pid;
  corun_status_t status;
  double delay;
  double t;
} ev_t;

typedef struct tctx_s tctx_t;
typedef struct rec_s rec_t;

typedef struct {
  corun_status_t status;
  int exit_code, signal;
  unsigned attempts;
  long pid;
  double duration_s;
} endres_t;

struct rec_s {
  tctx_t *t;
  corun_run_t *run;
  int started, ended;
  int want_output, want_lines; /* keep what on_output / on_line gave */
  int line_w;                  /* check lines against `lines N line_w` */
  buf_t out[MAXJ][2];
  buf_t lines[MAXJ][2]; /* each line followed by '\n' */
  size_t n_lines[MAXJ][2];
  size_t line_bad[MAXJ];
  uint64_t out_bytes[MAXJ][2];
  size_t out_calls[MAXJ];
  ev_t ev[MAXEV];
  size_t n_ev;
  int state[MAXJ]; /* 0 not running, 1 running, 2 ended */
  int running, max_running;
  int violations; /* callbacks out of the documented order */
  int starts[MAXJ], job_ends[MAXJ], retries[MAXJ];
  endres_t end[MAXJ];
  long pids[MAXJ][8];
  int halts;
  char halt_policy[64];
  int run_ends, exit_code;
  int free_in_run_end, free_rc;
  void (*line_hook)(rec_t *, size_t, corun_stream_t, const char *, size_t);
  void (*output_hook)(rec_t *, size_t, corun_stream_t, const char *, size_t);
  void (*start_hook)(rec_t *, size_t, unsigned, long);
  void (*end_hook)(rec_t *, size_t, const corun_result_t *);
  void (*run_end_hook)(rec_t *);
  void (*retry_hook)(rec_t *, size_t, const corun_result_t *);
  long user[8];
};

struct tctx_s {
  char mark[96];
  unsigned seq;
  char *dir;
  corun_plan_t *plan;
  uv_loop_t loop;
  uv_timer_t watchdog;
  uv_timer_t aux; /* for the tests' own timing */
  int watchdog_fired;
  double watchdog_s;
  rec_t *recs[4];
  size_t n_recs;
  char **strs;
  size_t n_strs, cap_strs;
  long user[8];
};

/* Strings that live as long as the context: s itself, or formatted. */
const char *keep(tctx_t *t, char *s);
const char *fmt(tctx_t *t, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s. */
const char *jq(tctx_t *t, const char *s);
void print_errors(const corun_error_t *err);

/* A context: a fresh loop, temporary folder, marker and empty plan. */
tctx_t *t_new(void);
/* A fresh marker "CORUN_TEST_MARK=<test>_j<N>" for one job. */
const char *job_mark(tctx_t *t);
/* The same as a JSON object member, for job files. */
const char *jmark(tctx_t *t);

/*
 * Add a job to `plan`: the test program with `steps` (split at spaces) when
 * steps is set, else d's own argv or shell. Its env gets a marker first.
 */
size_t add_to(tctx_t *t, corun_plan_t *plan, corun_job_desc_t d,
              const char *steps);
size_t add(tctx_t *t, corun_job_desc_t d, const char *steps);
size_t add_sh(tctx_t *t, corun_job_desc_t d, const char *shell);
void seal_plan(corun_plan_t *plan);
void seal(tctx_t *t);
/* Replace the (empty) plan by one loaded from JSON, based in t->dir. */
void load_json(tctx_t *t, const char *json);
size_t job_index(const corun_plan_t *plan, const char *name);

/* A recorder, for a run started later by start() or start_plan(). */
rec_t *rec_new(tctx_t *t);
/* Set o's callbacks to r's recording ones, with r as their data. */
void options_for(rec_t *r, corun_run_options_t *o);
/* Create and start a run of `plan` on t's loop with `o` (NULL: defaults),
 * recorded by r (NULL: a new recorder). */
rec_t *start_plan(tctx_t *t, const corun_plan_t *plan, rec_t *r,
                  const corun_run_options_t *o);
rec_t *start(tctx_t *t, rec_t *r, const corun_run_options_t *o);
/* Run the loop until every run ended; the watchdog fails a hang. */
void t_loop(tctx_t *t, double limit_s);
/* Free everything, close the loop and prove nothing was left running. */
void t_finish(tctx_t *t);

/* ---- asserting on what a run did ----------------------------------------- */

const corun_result_t *res(rec_t *r, size_t job);
void assert_out(const corun_result_t *x, const char *want);
void assert_err(const corun_result_t *x, const char *want);
void assert_status(const corun_result_t *x, corun_status_t want);
/* Index in r->ev of the first event of `kind` for `job`. */
size_t ev_find(const rec_t *r, int kind, size_t job);

/* A member of an object of the report; fails the test when missing. */
const cJSON *jget(const cJSON *o, const char *key);
/* The run's JSON report, checked to be valid UTF-8, parsed. */
cJSON *report_of(const corun_run_t *run, int exit_code);

/* ---- a suite's main ------------------------------------------------------- */

/* Run a suite's tests, named `suite`: SIGPIPE ignored, CORUN_TEST_FILTER /
 * CORUN_TEST_SKIP applied (* and ? wildcards). */
int run_suite(const char *suite, const struct CMUnitTest *tests, size_t n);
#define RUN_SUITE(suite, tests)                                              \
  run_suite((suite), (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
