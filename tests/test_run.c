/*
 * Runs: real processes through the public API (SPEC §2, §3, §5, §6).
 *
 * Every test has a loop of its own with a watchdog timer that cancels the
 * run and fails the test instead of hanging, ends by closing every handle
 * and asserting uv_loop_close() returns 0, and gives each of its jobs a
 * marker in the environment so that it can prove nothing was left behind.
 *
 * CORUN_SLOW=0 shrinks the big-output tests (for slow runs under valgrind);
 * CORUN_TEST_FILTER and CORUN_TEST_SKIP select tests by name pattern.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corun.h"
#include "testutil.h"

#define MAXJ 512
#define MAXEV 2048
#define MIB (1024 * 1024)

/*
 * Under valgrind posix_spawn runs as a fork, so a command that cannot be
 * run fails in the child (exit 127) instead of in posix_spawn: there is no
 * `error` status to see. Valgrind preloads its own libraries.
 */
static int under_valgrind(void) {
  const char *v = getenv("LD_PRELOAD");
  return v != NULL && strstr(v, "vgpreload") != NULL;
}

/* The status of a job whose command cannot be started. */
static corun_status_t cannot_start(void) {
  return under_valgrind() ? CORUN_FAILED : CORUN_ERROR;
}

static int slow_tests(void) {
  const char *v = getenv("CORUN_SLOW");
  return !(v != NULL && strcmp(v, "0") == 0);
}

/* Under valgrind, which does not know pidfd_open, the library watches
 * exits by polling; the tests run the same either way. */

/* ---- small buffers ------------------------------------------------------ */

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_free(buf_t *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Byte i of the test program's `bytes N` output. */
static unsigned char pattern_at(uint64_t i) {
  return (unsigned char)((((i % 65536) * 7) + 3) & 0xFF);
}

/* Whether p[0..n) is the test program's pattern starting at offset `off`;
 * returns the first wrong offset, or UINT64_MAX when all match. */
static uint64_t pattern_check(const char *p, size_t n, uint64_t off) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] != pattern_at(off + i))
      return off + i;
  return UINT64_MAX;
}

/* Line k of the test program's `lines N WIDTH`, without its newline. */
static size_t steps_line(char *dst, long k, int width) {
  int len = snprintf(dst, (size_t)width + 32, "%08ld ", k);
  while (len < width - 1) {
    dst[len] = (char)('a' + (k + len) % 26);
    len++;
  }
  return (size_t)len;
}

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

static const char *keep(tctx_t *t, char *s) {
  assert_non_null(s);
  if (t->n_strs == t->cap_strs) {
    t->cap_strs = t->cap_strs ? 2 * t->cap_strs : 64;
    t->strs = realloc(t->strs, t->cap_strs * sizeof *t->strs);
    assert_non_null(t->strs);
  }
  t->strs[t->n_strs++] = s;
  return s;
}

static const char *fmt(tctx_t *t, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static const char *fmt(tctx_t *t, const char *f, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  assert_true(n >= 0);
  return keep(t, s);
}

/* A JSON string literal of s. */
static const char *jq(tctx_t *t, const char *s) {
  cJSON *j = cJSON_CreateString(s);
  char *q = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return keep(t, q);
}

static void print_errors(const corun_error_t *err) {
  for (size_t i = 0; i < err->count; i++)
    print_message("  error: %s\n", err->messages[i]);
}

static tctx_t *t_new(void) {
  tctx_t *t = calloc(1, sizeof *t);
  assert_non_null(t);
  snprintf(t->mark, sizeof t->mark, "%s", tu_marker());
  t->dir = tu_tmpdir();
  assert_int_equal(uv_loop_init(&t->loop), 0);
  assert_int_equal(uv_timer_init(&t->loop, &t->watchdog), 0);
  assert_int_equal(uv_timer_init(&t->loop, &t->aux), 0);
  t->watchdog.data = t;
  t->aux.data = t;
  assert_int_equal(corun_plan_new(&t->plan, "test", t->dir), 0);
  return t;
}

/* A fresh marker "CORUN_TEST_MARK=<test>_j<N>" for one job. */
static const char *job_mark(tctx_t *t) {
  return fmt(t, "%s_j%u", t->mark, t->seq++);
}

/* The same as a JSON object member, for job files. */
static const char *jmark(tctx_t *t) {
  const char *m = job_mark(t);
  return fmt(t, "\"CORUN_TEST_MARK\":%s", jq(t, strchr(m, '=') + 1));
}

/*
 * Add a job to `plan`: the test program with `steps` (split at spaces) when
 * steps is set, else d's own argv or shell. Its env gets a marker first.
 */
static size_t add_to(tctx_t *t, corun_plan_t *plan, corun_job_desc_t d,
                     const char *steps) {
  const char *argv[80];
  const char *env[32];
  char *copy = NULL;
  if (steps != NULL) {
    size_t n = 0;
    char *save = NULL;
    copy = strdup(steps);
    argv[n++] = tu_helper();
    for (char *tok = strtok_r(copy, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
      assert_true(n < 79);
      argv[n++] = tok;
    }
    argv[n] = NULL;
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
  corun_error_t err = {0};
  int rc = corun_plan_add_job(plan, &d, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
  free(copy);
  return corun_plan_job_count(plan) - 1;
}

static size_t add(tctx_t *t, corun_job_desc_t d, const char *steps) {
  return add_to(t, t->plan, d, steps);
}

static size_t add_sh(tctx_t *t, corun_job_desc_t d, const char *shell) {
  d.shell = shell;
  return add_to(t, t->plan, d, NULL);
}

static void seal_plan(corun_plan_t *plan) {
  corun_error_t err = {0};
  int rc = corun_plan_seal(plan, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
}

static void seal(tctx_t *t) { seal_plan(t->plan); }

/* Replace the (empty) plan by one loaded from JSON, based in t->dir. */
static void load_json(tctx_t *t, const char *json) {
  corun_error_t err = {0};
  corun_plan_free(t->plan);
  t->plan = NULL;
  int rc = corun_plan_load_buffer(&t->plan, json, strlen(json), "t.json",
                                  t->dir, &err);
  if (rc != 0) {
    print_message("%s\n", json);
    print_errors(&err);
  }
  corun_error_release(&err);
  assert_int_equal(rc, 0);
}

static size_t job_index(const corun_plan_t *plan, const char *name) {
  size_t i = 0;
  assert_int_equal(corun_plan_find(plan, name, &i), 0);
  return i;
}

/* ---- callbacks ------------------------------------------------------------ */

static void ev_push(rec_t *r, int kind, size_t job, unsigned attempt,
                    long pid, corun_status_t status, double delay) {
  if (r->n_ev >= MAXEV) {
    r->violations++;
    return;
  }
  ev_t *e = &r->ev[r->n_ev++];
  e->kind = kind;
  e->job = job;
  e->attempt = attempt;
  e->pid = pid;
  e->status = status;
  e->delay = delay;
  e->t = tu_now();
}

static void cb_start(corun_run_t *run, void *data, size_t job,
                     unsigned attempt, long pid) {
  rec_t *r = data;
  assert_ptr_equal(run, r->run);
  assert_true(job < MAXJ);
  if (r->state[job] != 0 || pid <= 0 || r->ended)
    r->violations++;
  if (attempt != (unsigned)r->starts[job] + 1)
    r->violations++;
  r->state[job] = 1;
  if (r->starts[job] < 8)
    r->pids[job][r->starts[job]] = pid;
  r->starts[job]++;
  if (++r->running > r->max_running)
    r->max_running = r->running;
  ev_push(r, EV_START, job, attempt, pid, CORUN_PENDING, 0);
  if (r->start_hook)
    r->start_hook(r, job, attempt, pid);
}

static void cb_output(corun_run_t *run, void *data, size_t job,
                      corun_stream_t stream, const char *buf, size_t len) {
  rec_t *r = data;
  (void)run;
  assert_true(job < MAXJ);
  if (r->state[job] != 1 || len == 0 ||
      (stream != CORUN_STDOUT && stream != CORUN_STDERR))
    r->violations++;
  int s = stream == CORUN_STDOUT ? 0 : 1;
  r->out_bytes[job][s] += len;
  r->out_calls[job]++;
  if (r->want_output)
    buf_add(&r->out[job][s], buf, len);
  if (r->output_hook)
    r->output_hook(r, job, stream, buf, len);
}

static void cb_line(corun_run_t *run, void *data, size_t job,
                    corun_stream_t stream, const char *line, size_t len) {
  rec_t *r = data;
  (void)run;
  assert_true(job < MAXJ);
  if (r->state[job] != 1 || memchr(line, '\n', len) != NULL)
    r->violations++;
  int s = stream == CORUN_STDOUT ? 0 : 1;
  if (r->line_w > 0 && s == 0) {
    char want[512];
    size_t n = steps_line(want, (long)r->n_lines[job][s], r->line_w);
    if (n != len || memcmp(want, line, n) != 0)
      r->line_bad[job]++;
  }
  r->n_lines[job][s]++;
  if (r->want_lines) {
    buf_add(&r->lines[job][s], line, len);
    buf_add(&r->lines[job][s], "\n", 1);
  }
  if (r->line_hook)
    r->line_hook(r, job, stream, line, len);
}

static void cb_retry(corun_run_t *run, void *data, size_t job,
                     const corun_result_t *failed, unsigned next_attempt,
                     double delay_s) {
  rec_t *r = data;
  (void)run;
  assert_true(job < MAXJ);
  if (r->state[job] != 1 || next_attempt != (unsigned)r->starts[job] + 1 ||
      (failed->status != CORUN_FAILED && failed->status != CORUN_TIMEOUT))
    r->violations++;
  r->state[job] = 0;
  r->running--;
  r->retries[job]++;
  ev_push(r, EV_RETRY, job, next_attempt, failed->pid, failed->status,
          delay_s);
  if (r->retry_hook)
    r->retry_hook(r, job, failed);
}

static void cb_job_end(corun_run_t *run, void *data, size_t job,
                       const corun_result_t *res) {
  rec_t *r = data;
  (void)run;
  assert_true(job < MAXJ);
  if (r->job_ends[job]++ != 0 || r->state[job] == 2 || r->ended)
    r->violations++;
  if (r->state[job] == 1)
    r->running--;
  r->state[job] = 2;
  endres_t *e = &r->end[job];
  e->status = res->status;
  e->exit_code = res->exit_code;
  e->signal = res->signal;
  e->attempts = res->attempts;
  e->pid = res->pid;
  e->duration_s = res->duration_s;
  ev_push(r, EV_END, job, res->attempts, res->pid, res->status, 0);
  if (r->end_hook)
    r->end_hook(r, job, res);
}

static void cb_halt(corun_run_t *run, void *data, const char *policy) {
  rec_t *r = data;
  (void)run;
  r->halts++;
  snprintf(r->halt_policy, sizeof r->halt_policy, "%s", policy);
  ev_push(r, EV_HALT, 0, 0, 0, CORUN_PENDING, 0);
}

static void all_ended_check(tctx_t *t) {
  for (size_t i = 0; i < t->n_recs; i++)
    if (t->recs[i]->started && !t->recs[i]->ended)
      return;
  uv_timer_stop(&t->watchdog);
}

static void cb_run_end(corun_run_t *run, void *data, int exit_code) {
  rec_t *r = data;
  if (r->run_ends++ != 0)
    r->violations++;
  const corun_plan_t *plan = corun_run_plan(run);
  for (size_t i = 0; i < corun_plan_job_count(plan) && i < MAXJ; i++)
    if (corun_run_selected(run, i) && r->job_ends[i] != 1)
      r->violations++;
  if (!corun_run_ended(run) || corun_run_exit_code(run) != exit_code)
    r->violations++;
  r->ended = 1;
  r->exit_code = exit_code;
  ev_push(r, EV_RUN_END, 0, 0, 0, CORUN_PENDING, 0);
  if (r->run_end_hook)
    r->run_end_hook(r);
  if (r->free_in_run_end) {
    r->free_rc = corun_run_free(run);
    r->run = NULL;
  }
  all_ended_check(r->t);
}

static rec_t *rec_new(tctx_t *t) {
  rec_t *r = calloc(1, sizeof *r);
  assert_non_null(r);
  assert_true(t->n_recs < 4);
  r->t = t;
  r->exit_code = -1;
  t->recs[t->n_recs++] = r;
  return r;
}

static void options_for(rec_t *r, corun_run_options_t *o) {
  o->cb.on_job_start = cb_start;
  o->cb.on_output = cb_output;
  o->cb.on_line = r->want_lines || r->line_w || r->line_hook ? cb_line : NULL;
  o->cb.on_retry = cb_retry;
  o->cb.on_job_end = cb_job_end;
  o->cb.on_halt = cb_halt;
  o->cb.on_run_end = cb_run_end;
  o->data = r;
}

/* Create and start a run of `plan` on t's loop with `o` (NULL: defaults). */
static rec_t *start_plan(tctx_t *t, const corun_plan_t *plan, rec_t *r,
                         const corun_run_options_t *o) {
  corun_run_options_t opts;
  if (o != NULL)
    opts = *o;
  else
    memset(&opts, 0, sizeof opts);
  if (r == NULL)
    r = rec_new(t);
  options_for(r, &opts);
  corun_error_t err = {0};
  int rc = corun_run_new(&r->run, &t->loop, plan, &opts, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
  assert_int_equal(corun_run_exit_code(r->run), -1);
  assert_int_equal(corun_run_start(r->run), 0);
  r->started = 1;
  return r;
}

static rec_t *start(tctx_t *t, rec_t *r, const corun_run_options_t *o) {
  return start_plan(t, t->plan, r, o);
}

static void watchdog_fired(uv_timer_t *h) {
  tctx_t *t = h->data;
  if (t->watchdog_fired++ == 0) {
    print_message("watchdog: the run hung for %.1f s; killing it\n",
                  t->watchdog_s);
    for (size_t i = 0; i < t->n_recs; i++)
      if (t->recs[i]->run && t->recs[i]->started && !t->recs[i]->ended)
        corun_run_cancel(t->recs[i]->run, 1);
    uv_timer_start(&t->watchdog, watchdog_fired, 10000, 0);
  } else {
    uv_stop(&t->loop);
  }
}

/* Run the loop until every run ended; the watchdog fails a hang. */
static void t_loop(tctx_t *t, double limit_s) {
  t->watchdog_s = limit_s;
  uv_timer_start(&t->watchdog, watchdog_fired, (uint64_t)(limit_s * 1000), 0);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_int_equal(t->watchdog_fired, 0);
  for (size_t i = 0; i < t->n_recs; i++) {
    rec_t *r = t->recs[i];
    if (!r->started)
      continue;
    assert_int_equal(r->ended, 1);
    assert_int_equal(r->run_ends, 1);
    assert_int_equal(r->violations, 0);
    assert_int_equal(r->ev[r->n_ev - 1].kind, EV_RUN_END);
  }
}

/* Free everything, close the loop and prove nothing was left running. */
static void t_finish(tctx_t *t) {
  for (size_t i = 0; i < t->n_recs; i++) {
    rec_t *r = t->recs[i];
    if (r->run != NULL)
      assert_int_equal(corun_run_free(r->run), 0);
    for (int j = 0; j < MAXJ; j++)
      for (int s = 0; s < 2; s++) {
        buf_free(&r->out[j][s]);
        buf_free(&r->lines[j][s]);
      }
    free(r);
  }
  uv_close((uv_handle_t *)&t->watchdog, NULL);
  if (!uv_is_closing((uv_handle_t *)&t->aux))
    uv_close((uv_handle_t *)&t->aux, NULL);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&t->loop), 0);
  corun_plan_free(t->plan);
  assert_int_equal(tu_wait_unmarked(t->mark, 2.0), 0);
  tu_rmdir(t->dir);
  free(t->dir);
  for (size_t i = 0; i < t->n_strs; i++)
    free(t->strs[i]);
  free(t->strs);
  free(t);
}

static const corun_result_t *res(rec_t *r, size_t job) {
  const corun_result_t *x = corun_run_result(r->run, job);
  assert_non_null(x);
  return x;
}

static void assert_out(const corun_result_t *x, const char *want) {
  size_t n = strlen(want);
  if (x->out_len != n || (n > 0 && memcmp(x->out_tail, want, n) != 0))
    fail_msg("%s: stdout is \"%.*s\", want \"%s\"", x->name, (int)x->out_len,
             x->out_tail ? x->out_tail : "", want);
}

static void assert_err(const corun_result_t *x, const char *want) {
  size_t n = strlen(want);
  if (x->err_len != n || (n > 0 && memcmp(x->err_tail, want, n) != 0))
    fail_msg("%s: stderr is \"%.*s\", want \"%s\"", x->name, (int)x->err_len,
             x->err_tail ? x->err_tail : "", want);
}

static void assert_status(const corun_result_t *x, corun_status_t want) {
  if (x->status != want)
    fail_msg("%s: status %s, want %s (exit %d, signal %d, error %s)", x->name,
             corun_status_name(x->status), corun_status_name(want),
             x->exit_code, x->signal, x->error ? x->error : "-");
}

/* Index in r->ev of the first event of `kind` for `job`. */
static size_t ev_find(const rec_t *r, int kind, size_t job) {
  for (size_t i = 0; i < r->n_ev; i++)
    if (r->ev[i].kind == kind && r->ev[i].job == job)
      return i;
  fail_msg("no event %d for job %zu", kind, job);
  return 0;
}

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

/* ---- scheduling: -j, pools, needs, skips ------------------------------- */

static double run_sleepers(unsigned jobs, int *max_running) {
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  for (int i = 0; i < 4; i++)
    add(t, d, "sleep 0.5");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = jobs;
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_int_equal(r->exit_code, 0);
  for (size_t i = 0; i < 4; i++)
    assert_status(res(r, i), CORUN_OK);
  assert_true(corun_run_duration(r->run) <= took + 0.01);
  *max_running = r->max_running;
  t_finish(t);
  return took;
}

static void test_run_four_jobs_run_in_parallel(void **state) {
  (void)state;
  int max = 0;
  double took = run_sleepers(4, &max);
  print_message("  4 x sleep 0.5 at -j4: %.3f s\n", took);
  assert_true(took >= 0.5);
  assert_true(took < 1.5);
  assert_int_equal(max, 4);
}

static void test_run_one_job_at_a_time_with_jobs_1(void **state) {
  (void)state;
  int max = 0;
  double took = run_sleepers(1, &max);
  print_message("  4 x sleep 0.5 at -j1: %.3f s\n", took);
  assert_true(took > 1.9);
  assert_int_equal(max, 1);
}

static void test_run_pool_of_one_never_overlaps(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_error_t err = {0};
  assert_int_equal(corun_plan_add_pool(t->plan, "one", 1, &err), 0);
  assert_int_equal(corun_plan_add_pool(t->plan, "two", 2, &err), 0);
  corun_job_desc_t d = {0};
  d.pool = "one";
  size_t a = add(t, d, "sleep 0.2");
  size_t b = add(t, d, "sleep 0.2");
  d.pool = "two";
  size_t c[4];
  for (int i = 0; i < 4; i++)
    c[i] = add(t, d, "sleep 0.2");
  d.pool = NULL;
  size_t free_job = add(t, d, "sleep 0.2");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 8;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  /* The pool of one: b starts only after a ended (file order first). */
  assert_true(ev_find(r, EV_START, b) > ev_find(r, EV_END, a));
  assert_int_equal(max_overlap(r, 1u << a | 1u << b), 1);
  unsigned two = 0;
  for (int i = 0; i < 4; i++)
    two |= 1u << c[i];
  assert_int_equal(max_overlap(r, two), 2);
  /* A job in no pool is not held back by them. */
  assert_true(ev_find(r, EV_START, free_job) < ev_find(r, EV_END, a));
  assert_true(r->max_running >= 4);
  t_finish(t);
}

static void test_run_needs_start_after_their_need_ended(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *h = jq(t, tu_helper());
  /* File order puts the dependents first. */
  load_json(t, fmt(t,
      "{\"max_parallel\":4,\"jobs\":["
      "{\"name\":\"c\",\"cmd\":[%s,\"out\",\"c\"],\"needs\":[\"b\"],\"env\":{%s}},"
      "{\"name\":\"b\",\"cmd\":[%s,\"sleep\",\"0.1\",\"out\",\"b\"],\"needs\":[\"a\"],\"env\":{%s}},"
      "{\"name\":\"a\",\"cmd\":[%s,\"sleep\",\"0.2\",\"out\",\"a\"],\"env\":{%s}},"
      "{\"name\":\"free\",\"cmd\":[%s,\"sleep\",\"0.2\"],\"env\":{%s}}]}",
      h, jmark(t), h, jmark(t), h, jmark(t), h, jmark(t)));
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  size_t a = job_index(t->plan, "a"), b = job_index(t->plan, "b"),
         c = job_index(t->plan, "c"), f = job_index(t->plan, "free");
  assert_int_equal(r->exit_code, 0);
  assert_true(ev_find(r, EV_START, b) > ev_find(r, EV_END, a));
  assert_true(ev_find(r, EV_START, c) > ev_find(r, EV_END, b));
  assert_true(ev_find(r, EV_START, f) < ev_find(r, EV_END, a));
  const corun_result_t *ra = res(r, a), *rb = res(r, b), *rc = res(r, c);
  assert_true(rb->started_at >= ra->started_at + ra->duration_s - 0.005);
  assert_true(rc->started_at >= rb->started_at + rb->duration_s - 0.005);
  assert_out(ra, "a\n");
  assert_out(rb, "b\n");
  assert_out(rc, "c\n");
  t_finish(t);
}

static void test_run_skips_dependents_of_failed_job(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "err broken exit 3");
  const char *na[] = {"job-1", NULL};
  d.needs = na;
  size_t b = add(t, d, "out never");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t c = add(t, d, "out never");
  d.needs = NULL;
  size_t e = add(t, d, "sleep 0.1 out fine");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->exit_code, 3);
  assert_int_equal(res(r, a)->signal, 0);
  assert_err(res(r, a), "broken\n");
  for (size_t j = b; j <= c; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_SKIPPED);
    assert_int_equal(x->attempts, 0);
    assert_int_equal(x->pid, 0);
    assert_int_equal(x->exit_code, -1);
    assert_int_equal(x->out_len, 0);
    assert_non_null(x->reason);
    assert_int_equal(r->starts[j], 0);
    assert_int_equal(r->job_ends[j], 1);
  }
  assert_string_equal(res(r, b)->reason, "need job-1 failed");
  assert_string_equal(res(r, c)->reason, "need job-2 skipped");
  assert_status(res(r, e), CORUN_OK);
  assert_out(res(r, e), "fine\n");
  t_finish(t);
}

static void test_run_allow_failure_lets_dependents_run(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "flaky";
  d.allow_failure = 1;
  size_t a = add(t, d, "exit 3");
  d.name = "missing";
  const char *nocmd[] = {"corun-no-such-command-zz9", NULL};
  d.argv = nocmd;
  size_t m = add(t, d, NULL);
  d.argv = NULL;
  d.allow_failure = 0;
  d.name = "after";
  const char *n1[] = {"flaky", "missing", NULL};
  d.needs = n1;
  size_t b = add(t, d, "out ran");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->exit_code, 3);
  assert_status(res(r, m), cannot_start());
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "ran\n");
  t_finish(t);
}

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

/* ---- output integrity ----------------------------------------------------- */

static void check_log(const char *path, uint64_t want_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("%s: %s", path, strerror(errno));
  static char chunk[1 << 20];
  uint64_t off = 0;
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
    uint64_t bad = pattern_check(chunk, k, off);
    if (bad != UINT64_MAX) {
      fclose(f);
      fail_msg("%s: wrong byte at offset %llu", path, (unsigned long long)bad);
    }
    off += k;
  }
  fclose(f);
  if (off != want_len)
    fail_msg("%s: %llu bytes, want %llu", path, (unsigned long long)off,
             (unsigned long long)want_len);
}

static void test_run_big_binary_output_is_logged_intact(void **state) {
  (void)state;
  uint64_t n = slow_tests() ? 50ull * MIB + 777 : 4ull * MIB + 777;
  tctx_t *t = t_new();
  char steps[64];
  corun_job_desc_t d = {0};
  for (int i = 0; i < 3; i++) {
    d.name = i == 0 ? "big/one" : i == 1 ? "big2" : "big3";
    snprintf(steps, sizeof steps, "bytes %llu", (unsigned long long)n);
    add(t, d, steps);
  }
  d.name = "big4";
  snprintf(steps, sizeof steps, "ebytes %llu", (unsigned long long)n);
  add(t, d, steps);
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 4;
  o.log_dir = fmt(t, "%s/logs", t->dir);
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 60);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->max_running, 4);
  for (size_t j = 0; j < 4; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_OK);
    int s = j == 3 ? 1 : 0;
    assert_int_equal(r->out_bytes[j][s], n);
    assert_int_equal(r->out_bytes[j][!s], 0);
    const char *tail = s ? x->err_tail : x->out_tail;
    size_t tlen = s ? x->err_len : x->out_len;
    assert_int_equal(tlen, 64 * 1024);
    assert_int_equal(s ? x->err_truncated : x->out_truncated, 1);
    assert_int_equal(s ? x->out_len : x->err_len, 0);
    assert_int_equal(s ? x->out_truncated : x->err_truncated, 0);
    assert_true(pattern_check(tail, tlen, n - tlen) == UINT64_MAX);
  }
  const char *names[] = {"big_one", "big2", "big3", "big4"};
  for (int j = 0; j < 4; j++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.%s", o.log_dir, names[j],
             j == 3 ? "err" : "out");
    check_log(path, n);
    snprintf(path, sizeof path, "%s/%s.%s", o.log_dir, names[j],
             j == 3 ? "out" : "err");
    check_log(path, 0);
  }
  t_finish(t);
}

static void test_run_output_right_before_exit_is_kept(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  char steps[128];
  enum { N = 16 };
  for (int i = 0; i < N; i++) {
    switch (i % 4) {
    case 0: snprintf(steps, sizeof steps, "nonl last-words-%d exit %d", i, i % 3); break;
    case 1: snprintf(steps, sizeof steps, "err e%d nonl last-words-%d", i, i); break;
    case 2: snprintf(steps, sizeof steps, "bytes 300000 nonl last-words-%d exit 1", i); break;
    default: snprintf(steps, sizeof steps, "nonl last-words-%d kill 9", i); break;
    }
    add(t, d, steps);
  }
  add_sh(t, d, "printf 'shell-last'; exit 7");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 8;
  rec_t *r = rec_new(t);
  r->want_output = 1;
  start(t, r, &o);
  t_loop(t, 20);
  for (int i = 0; i < N; i++) {
    const corun_result_t *x = res(r, (size_t)i);
    char want[64];
    int wl = snprintf(want, sizeof want, "last-words-%d", i);
    const buf_t *b = &r->out[i][0];
    assert_true(b->len >= (size_t)wl);
    assert_memory_equal(b->p + b->len - wl, want, (size_t)wl);
    assert_true(x->out_len >= (size_t)wl);
    assert_memory_equal(x->out_tail + x->out_len - wl, want, (size_t)wl);
    if (i % 4 == 2) {
      assert_int_equal(b->len, 300000 + (size_t)wl);
      assert_true(pattern_check(b->p, 300000, 0) == UINT64_MAX);
    } else {
      assert_int_equal(b->len, (size_t)wl);
    }
    if (i % 4 == 1)
      assert_err(x, fmt(t, "e%d\n", i));
    if (i % 4 == 3) {
      assert_status(x, CORUN_FAILED);
      assert_int_equal(x->signal, SIGKILL);
    } else {
      int code = i % 4 == 0 ? i % 3 : i % 4 == 2 ? 1 : 0;
      assert_status(x, code ? CORUN_FAILED : CORUN_OK);
      assert_int_equal(x->exit_code, code);
    }
  }
  assert_out(res(r, N), "shell-last");
  assert_int_equal(res(r, N)->exit_code, 7);
  t_finish(t);
}

static void test_run_line_floods_stay_whole_and_ordered(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 20000 80");
  size_t b = add(t, d, "lines 20000 80");
  seal(t);
  rec_t *r = rec_new(t);
  r->line_w = 80;
  start(t, r, NULL);
  t_loop(t, 30);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->n_lines[a][0], 20000);
  assert_int_equal(r->n_lines[b][0], 20000);
  assert_int_equal(r->line_bad[a], 0);
  assert_int_equal(r->line_bad[b], 0);
  assert_int_equal(r->n_lines[a][1], 0);
  assert_int_equal(r->out_bytes[a][0], 20000 * 80);
  assert_int_equal(r->out_bytes[b][0], 20000 * 80);
  t_finish(t);
}

static void test_run_last_line_without_newline_is_a_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "out first nonl second err e1 nonl third");
  size_t b = add_sh(t, d, "printf '\\n\\nx\\n\\ny'; printf 'tail' >&2");
  size_t c = add(t, d, "exit 0");
  size_t e = add(t, d, "nonl only exit 4");
  seal(t);
  rec_t *r = rec_new(t);
  r->want_lines = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_string_equal(r->lines[a][0].p, "first\nsecondthird\n");
  assert_int_equal(r->n_lines[a][0], 2);
  assert_string_equal(r->lines[a][1].p, "e1\n");
  assert_string_equal(r->lines[b][0].p, "\n\nx\n\ny\n");
  assert_int_equal(r->n_lines[b][0], 5);
  assert_string_equal(r->lines[b][1].p, "tail\n");
  assert_int_equal(r->n_lines[c][0] + r->n_lines[c][1], 0);
  assert_string_equal(r->lines[e][0].p, "only\n");
  assert_status(res(r, e), CORUN_FAILED);
  t_finish(t);
}

static void test_run_long_lines_come_in_pieces_of_line_max(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 3 251 lines 2 101 lines 1 100 nonl tail");
  seal(t);
  corun_run_options_t o = {0};
  o.line_max = 100;
  rec_t *r = rec_new(t);
  r->want_lines = 1;
  start(t, r, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  buf_t want = {0};
  char line[512];
  for (long k = 0; k < 3; k++) {
    size_t n = steps_line(line, k, 251);
    assert_int_equal(n, 250);
    for (size_t off = 0; off < n; off += 100) {
      size_t piece = n - off < 100 ? n - off : 100;
      buf_add(&want, line + off, piece);
      buf_add(&want, "\n", 1);
    }
  }
  for (long k = 0; k < 2; k++) {
    size_t n = steps_line(line, k, 101);
    buf_add(&want, line, n);
    buf_add(&want, "\n", 1);
  }
  size_t n = steps_line(line, 0, 100);
  buf_add(&want, line, n);
  buf_add(&want, "\n", 1);
  buf_add(&want, "tail\n", 5);
  assert_int_equal(r->n_lines[a][0], 9 + 2 + 1 + 1);
  assert_int_equal(r->lines[a][0].len, want.len);
  assert_memory_equal(r->lines[a][0].p, want.p, want.len);
  buf_free(&want);
  t_finish(t);

  /* Lines longer than a pipe read, with the default line_max of 64 KiB. */
  t = t_new();
  a = add(t, d, "lines 2 200001");
  seal(t);
  r = rec_new(t);
  r->want_lines = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  char *big = malloc(200032);
  assert_non_null(big);
  size_t off = 0;
  const char *got = r->lines[a][0].p;
  assert_int_equal(r->n_lines[a][0], 2 * 4);
  for (long k = 0; k < 2; k++) {
    size_t len = steps_line(big, k, 200001);
    assert_int_equal(len, 200000);
    for (size_t p = 0; p < len; p += 65536) {
      size_t piece = len - p < 65536 ? len - p : 65536;
      assert_memory_equal(got + off, big + p, piece);
      assert_int_equal(got[off + piece], '\n');
      off += piece + 1;
    }
  }
  assert_int_equal(off, r->lines[a][0].len);
  free(big);
  t_finish(t);
}

static void test_run_output_chunks_concatenate_to_what_was_written(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "bytes 3000017 ebytes 1000003");
  size_t b = add(t, d, "out one err two bytes 70000 out three");
  seal(t);
  rec_t *r = rec_new(t);
  r->want_output = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->out[a][0].len, 3000017);
  assert_int_equal(r->out[a][1].len, 1000003);
  assert_true(pattern_check(r->out[a][0].p, 3000017, 0) == UINT64_MAX);
  assert_true(pattern_check(r->out[a][1].p, 1000003, 0) == UINT64_MAX);
  assert_true(r->out_calls[a] > 2);
  const buf_t *o = &r->out[b][0];
  assert_int_equal(o->len, 4 + 70000 + 6);
  assert_memory_equal(o->p, "one\n", 4);
  assert_true(pattern_check(o->p + 4, 70000, 0) == UINT64_MAX);
  assert_memory_equal(o->p + 70004, "three\n", 6);
  assert_string_equal(r->out[b][1].p, "two\n");
  t_finish(t);
}

/* ---- tails and the JSON report -------------------------------------------- */

static void test_run_tail_keeps_last_bytes(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "bytes 5000");
  size_t b = add(t, d, "bytes 1000");
  size_t c = add(t, d, "bytes 999 ebytes 1001");
  size_t e = add_sh(t, d,
                    "i=0; while [ $i -lt 500 ]; do printf '%04d\\n' $i; "
                    "i=$((i+1)); done");
  seal(t);
  corun_run_options_t o = {0};
  o.tail_bytes = 1000;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  const corun_result_t *x = res(r, a);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 1);
  assert_true(pattern_check(x->out_tail, 1000, 4000) == UINT64_MAX);
  assert_int_equal(x->err_len, 0);
  assert_int_equal(x->err_truncated, 0);
  x = res(r, b);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 0);
  assert_true(pattern_check(x->out_tail, 1000, 0) == UINT64_MAX);
  x = res(r, c);
  assert_int_equal(x->out_len, 999);
  assert_int_equal(x->out_truncated, 0);
  assert_true(pattern_check(x->out_tail, 999, 0) == UINT64_MAX);
  assert_int_equal(x->err_len, 1000);
  assert_int_equal(x->err_truncated, 1);
  assert_true(pattern_check(x->err_tail, 1000, 1) == UINT64_MAX);
  /* Many small writes wrap the ring. */
  x = res(r, e);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 1);
  buf_t want = {0};
  for (int i = 300; i < 500; i++) {
    char s[16];
    snprintf(s, sizeof s, "%04d\n", i);
    buf_add(&want, s, 5);
  }
  assert_memory_equal(x->out_tail, want.p, 1000);
  buf_free(&want);
  t_finish(t);
}

/* Whether p[0..n) is valid UTF-8. */
static int utf8_valid(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2
                 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (len == 0 || i + len > n)
      return 0;
    for (size_t k = 1; k < len; k++)
      if ((p[i + k] & 0xC0) != 0x80)
        return 0;
    i += len;
  }
  return 1;
}

static int is_iso_time(const char *s) {
  /* 2026-01-01T10:00:00.000Z */
  const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (strlen(s) != strlen(shape))
    return 0;
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
      return 0;
  return 1;
}

static const cJSON *jget(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (v == NULL)
    fail_msg("no key \"%s\" in the report", key);
  return v;
}

/* The run's JSON report, as text (valid UTF-8 checked) and parsed. */
static char *report_text(const corun_run_t *run, int exit_code) {
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(corun_run_write_report(run, f, exit_code), 0);
  long len = ftell(f);
  assert_true(len > 0);
  rewind(f);
  char *text = malloc((size_t)len + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
  text[len] = '\0';
  fclose(f);
  assert_true(utf8_valid((const unsigned char *)text, (size_t)len));
  return text;
}

static cJSON *report_of(const corun_run_t *run, int exit_code) {
  char *text = report_text(run, exit_code);
  cJSON *root = cJSON_Parse(text);
  if (root == NULL)
    fail_msg("the report is not JSON:\n%s", text);
  free(text);
  return root;
}

static void test_run_report_is_valid_json_in_file_order(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *h = jq(t, tu_helper());
  load_json(t, fmt(t,
      "{\"jobs\":["
      "{\"name\":\"z-last\",\"cmd\":[%s,\"out\",\"z\"],\"needs\":[\"bin\"],\"env\":{%s}},"
      "{\"name\":\"bin\",\"cmd\":\"printf '\\\\377\\\\376 ok\\\\001\\\\177'\",\"env\":{%s}},"
      "{\"name\":\"bad\",\"cmd\":[%s,\"err\",\"quote\\\" back\\\\ tab\\t\",\"exit\",\"3\"],\"env\":{%s}},"
      "{\"name\":\"sig\",\"cmd\":[%s,\"kill\",\"9\"],\"env\":{%s}},"
      "{\"name\":\"skip\",\"cmd\":[%s],\"needs\":[\"bad\"],\"env\":{%s}},"
      "{\"name\":\"err\",\"cmd\":[\"corun-no-such-command-zz9\"],\"env\":{%s}}]}",
      h, jmark(t), jmark(t), h, jmark(t), h, jmark(t), h, jmark(t), jmark(t)));
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  cJSON *root = report_of(r->run, -1);
  assert_int_equal(jget(root, "corun")->valueint, 1);
  assert_string_equal(jget(root, "status")->valuestring, "failed");
  assert_int_equal(jget(root, "exit_code")->valueint, 1);
  assert_true(is_iso_time(jget(root, "started_at")->valuestring));
  assert_true(cJSON_IsNumber(jget(root, "duration_s")));
  const cJSON *counts = jget(root, "counts");
  assert_int_equal(jget(counts, "ok")->valueint, 2);
  int vg = under_valgrind();
  assert_int_equal(jget(counts, "failed")->valueint, vg ? 3 : 2);
  assert_int_equal(jget(counts, "timeout")->valueint, 0);
  assert_int_equal(jget(counts, "cancelled")->valueint, 0);
  assert_int_equal(jget(counts, "skipped")->valueint, 1);
  assert_int_equal(jget(counts, "error")->valueint, vg ? 0 : 1);
  const cJSON *jobs = jget(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 6);
  const char *names[] = {"z-last", "bin", "bad", "sig", "skip", "err"};
  const char *statuses[] = {"ok",      "ok",      "failed",
                            "failed",  "skipped", vg ? "failed" : "error"};
  for (int i = 0; i < 6; i++) {
    const cJSON *j = cJSON_GetArrayItem(jobs, i);
    const corun_result_t *x = res(r, (size_t)i);
    assert_string_equal(jget(j, "name")->valuestring, names[i]);
    assert_string_equal(jget(j, "status")->valuestring, statuses[i]);
    assert_string_equal(x->name, names[i]);
    assert_string_equal(corun_status_name(x->status), statuses[i]);
    assert_int_equal(jget(j, "attempts")->valueint, (int)x->attempts);
    const cJSON *pid = jget(j, "pid");
    const cJSON *st = jget(j, "started_at");
    assert_true(cJSON_IsNumber(jget(j, "duration_s")));
    assert_true(cJSON_IsString(jget(j, "stdout")));
    assert_true(cJSON_IsString(jget(j, "stderr")));
    assert_true(cJSON_IsBool(jget(j, "stdout_truncated")));
    assert_true(cJSON_IsBool(jget(j, "stderr_truncated")));
    if (x->pid > 0) {
      assert_true(cJSON_IsNumber(pid));
      assert_int_equal((long)pid->valuedouble, x->pid);
      assert_true(is_iso_time(st->valuestring));
      assert_true(jget(j, "duration_s")->valuedouble >= 0);
      assert_int_equal(x->attempts, 1);
    } else {
      assert_true(cJSON_IsNull(pid));
    }
  }
  const cJSON *z = cJSON_GetArrayItem(jobs, 0);
  assert_int_equal(jget(z, "exit_code")->valueint, 0);
  assert_true(cJSON_IsNull(jget(z, "signal")));
  assert_true(cJSON_IsNull(jget(z, "error")));
  assert_string_equal(jget(z, "stdout")->valuestring, "z\n");
  const cJSON *bin = cJSON_GetArrayItem(jobs, 1);
  assert_string_equal(jget(bin, "stdout")->valuestring,
                      "\xEF\xBF\xBD\xEF\xBF\xBD ok\x01\x7f");
  assert_false(cJSON_IsTrue(jget(bin, "stdout_truncated")));
  const cJSON *bad = cJSON_GetArrayItem(jobs, 2);
  assert_int_equal(jget(bad, "exit_code")->valueint, 3);
  assert_true(cJSON_IsNull(jget(bad, "signal")));
  assert_string_equal(jget(bad, "stderr")->valuestring, "quote\" back\\ tab\t\n");
  const cJSON *sig = cJSON_GetArrayItem(jobs, 3);
  assert_true(cJSON_IsNull(jget(sig, "exit_code")));
  assert_string_equal(jget(sig, "signal")->valuestring, "SIGKILL");
  const cJSON *skip = cJSON_GetArrayItem(jobs, 4);
  assert_int_equal(jget(skip, "attempts")->valueint, 0);
  assert_true(cJSON_IsNull(jget(skip, "started_at")));
  const cJSON *err = cJSON_GetArrayItem(jobs, 5);
  if (!vg) {
    assert_true(cJSON_IsString(jget(err, "error")));
    assert_non_null(strstr(jget(err, "error")->valuestring,
                           "No such file or directory"));
    assert_true(cJSON_IsNull(jget(err, "exit_code")));
  }
  cJSON_Delete(root);
  /* The run started the dependency first, whatever the file order. */
  assert_true(ev_find(r, EV_START, 0) > ev_find(r, EV_END, 1));
  t_finish(t);
}

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

/* ---- halting (SPEC §3) ------------------------------------------------------ */

static void test_run_halt_soon_lets_running_jobs_finish(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 0.6 out done");
  size_t c = add(t, d, "out c");
  size_t e = add(t, d, "out e");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.halt = "soon,fail=1";
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "soon,fail=1");
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "done\n");
  assert_true(res(r, b)->duration_s >= 0.59);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  size_t halt = 0;
  for (size_t i = 0; i < r->n_ev; i++)
    if (r->ev[i].kind == EV_HALT)
      halt = i;
  assert_true(halt > ev_find(r, EV_END, a));
  assert_true(halt < ev_find(r, EV_END, b));
  t_finish(t);

  /* fail-fast is soon,fail=1, and a plan's own halt is used. */
  t = t_new();
  corun_error_t err = {0};
  assert_int_equal(corun_plan_set_halt(t->plan, "fail-fast", &err), 0);
  assert_int_equal(corun_plan_set_max_parallel(t->plan, 1), 0);
  a = add(t, d, "exit 2");
  b = add(t, d, "out b");
  seal(t);
  r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_SKIPPED);
  t_finish(t);
}

static void test_run_halt_now_stops_running_jobs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 30");
  d.kill_grace_s = 0.3;
  size_t c = add(t, d, "ignterm sleep 30");
  d.kill_grace_s = 0;
  size_t e = add(t, d, "out e");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "now,fail=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_true(took < 3.0);
  assert_int_equal(r->exit_code, 1);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "now,fail=1");
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_int_equal(res(r, c)->signal, SIGKILL);
  assert_true(res(r, c)->duration_s >= 0.1 + 0.3 - 0.02);
  assert_status(res(r, e), CORUN_SKIPPED);
  t_finish(t);
}

static void test_run_halt_now_success_first_to_succeed_wins(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t b = add(t, d, "sleep 2 out slow1");
  size_t a = add(t, d, "sleep 0.2 out winner");
  size_t c = add(t, d, "sleep 2 out slow2");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "now,success=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  double took = tu_now() - t0;
  assert_true(took < 1.5);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(corun_run_exit_code(r->run), 0);
  assert_int_equal(r->halts, 1);
  assert_string_equal(r->halt_policy, "now,success=1");
  assert_status(res(r, a), CORUN_OK);
  assert_out(res(r, a), "winner\n");
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  t_finish(t);

  /* soon,success=1: the rest is skipped, running jobs finish. */
  t = t_new();
  a = add(t, d, "out first");
  b = add(t, d, "out second");
  seal(t);
  o.jobs = 1;
  o.halt = "soon,success=1";
  r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_SKIPPED);
  t_finish(t);
}

/* ---- retries ------------------------------------------------------------- */

static void test_run_retry_succeeds_on_third_attempt(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 4;
  d.retry_delay_s = 0.1;
  d.retry_backoff = 1;
  size_t a = add_sh(t, d,
                    "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); "
                    "echo $n > count; echo attempt $n; echo e$n >&2; "
                    "[ \"$n\" -ge 3 ]");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  assert_int_equal(r->exit_code, 0);
  assert_status(x, CORUN_OK);
  assert_int_equal(x->attempts, 3);
  assert_int_equal(r->starts[a], 3);
  assert_int_equal(r->retries[a], 2);
  assert_int_equal(r->job_ends[a], 1);
  /* The result is the last attempt's. */
  assert_out(x, "attempt 3\n");
  assert_err(x, "e3\n");
  assert_int_equal(x->pid, r->pids[a][2]);
  assert_true(r->pids[a][0] != r->pids[a][2]);
  double delays[2];
  int k = 0;
  size_t first_start = ev_find(r, EV_START, a);
  for (size_t i = 0; i < r->n_ev; i++) {
    const ev_t *e = &r->ev[i];
    if (e->kind != EV_RETRY)
      continue;
    assert_int_equal(e->status, CORUN_FAILED);
    assert_int_equal(e->attempt, (unsigned)k + 2);
    delays[k++] = e->delay;
  }
  assert_int_equal(k, 2);
  assert_true(delays[0] > 0.099 && delays[0] < 0.101);
  assert_true(delays[1] > 0.199 && delays[1] < 0.201);
  double span = r->ev[ev_find(r, EV_END, a)].t - r->ev[first_start].t;
  print_message("  three attempts took %.3f s\n", span);
  assert_true(span >= 0.3);
  assert_true(span < 3.0);
  t_finish(t);
}

static void test_run_retries_exhausted(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 2;
  size_t a = add(t, d, "out try exit 4");
  d.retries = 1;
  d.timeout_s = 0.1;
  size_t b = add(t, d, "sleep 5");
  d.retries = 0;
  d.timeout_s = 0;
  const char *need[] = {"job-1", NULL};
  d.needs = need;
  size_t c = add(t, d, "out never");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->attempts, 3);
  assert_int_equal(res(r, a)->exit_code, 4);
  assert_out(res(r, a), "try\n");
  assert_int_equal(r->retries[a], 2);
  assert_int_equal(r->starts[a], 3);
  assert_status(res(r, b), CORUN_TIMEOUT);
  assert_int_equal(res(r, b)->attempts, 2);
  assert_int_equal(r->retries[b], 1);
  assert_int_equal(r->ev[ev_find(r, EV_RETRY, b)].status, CORUN_TIMEOUT);
  assert_status(res(r, c), CORUN_SKIPPED);
  t_finish(t);
}

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

static void cancel_job_on_line(rec_t *r, size_t job, corun_stream_t st,
                               const char *line, size_t len) {
  (void)st;
  (void)line;
  (void)len;
  if (job == (size_t)r->user[0] && r->n_lines[job][0] >= 1000 &&
      r->user[1]++ == 0)
    r->user[2] = corun_run_cancel_job(r->run, job);
}

static void test_run_cancel_job_from_on_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 1000000000 20");
  size_t b = add(t, d, "sleep 0.3 out fine");
  seal(t);
  rec_t *r = rec_new(t);
  r->line_w = 20;
  r->user[0] = (long)a;
  r->line_hook = cancel_job_on_line;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[1] >= 1, 1);
  assert_int_equal(r->user[2], 0);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_int_equal(res(r, a)->signal, SIGTERM);
  assert_int_equal(r->line_bad[a], 0);
  assert_status(res(r, b), CORUN_OK);
  assert_out(res(r, b), "fine\n");
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_run_on_line(rec_t *r, size_t job, corun_stream_t st,
                               const char *line, size_t len) {
  (void)st;
  (void)line;
  (void)len;
  if (job == 0 && r->n_lines[job][0] >= 100 && r->user[1]++ == 0) {
    r->user[2] = corun_run_cancel(r->run, 0);
    r->user[3] = corun_run_cancel(r->run, 0); /* again: harmless */
  }
}

static void test_run_cancel_run_from_on_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 1000000000 20");
  size_t b = add(t, d, "sleep 30");
  size_t c = add(t, d, "out never");
  const char *need[] = {"job-3", NULL};
  d.needs = need;
  size_t e = add(t, d, "out never");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  rec_t *r = rec_new(t);
  r->line_w = 20;
  r->line_hook = cancel_run_on_line;
  double t0 = tu_now();
  start(t, r, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[2], 0);
  assert_int_equal(r->user[3], 0);
  assert_int_equal(r->exit_code, 1);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_int_equal(res(r, b)->signal, SIGTERM);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_non_null(res(r, c)->reason);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  assert_int_equal(r->halts, 0);
  assert_true(corun_run_cancelled(r->run));
  /* The report says so, with the exit status the caller records. */
  cJSON *root = report_of(r->run, 130);
  assert_string_equal(jget(root, "status")->valuestring, "cancelled");
  assert_int_equal(jget(root, "exit_code")->valueint, 130);
  assert_int_equal(jget(jget(root, "counts"), "cancelled")->valueint, 2);
  assert_int_equal(jget(jget(root, "counts"), "skipped")->valueint, 2);
  cJSON_Delete(root);
  /* After the end: cancelling is harmless. */
  assert_int_equal(corun_run_cancel(r->run, 1), 0);
  t_finish(t);
}

static void cancel_ended_hook(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == (size_t)r->user[0])
    r->user[1] = corun_run_cancel_job(r->run, job); /* it just ended */
}

static void cancel_waiting_hook(rec_t *r, size_t job, unsigned attempt,
                                long pid) {
  (void)attempt;
  (void)pid;
  if (job == (size_t)r->user[2])
    r->user[3] = corun_run_cancel_job(r->run, (size_t)r->user[4]);
}

static void test_run_cancel_finished_or_waiting_job(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "out a");
  size_t b = add(t, d, "sleep 0.3 out b");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t c = add(t, d, "out never");
  const char *nc[] = {"job-3", NULL};
  d.needs = nc;
  size_t e = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = (long)a;
  r->user[1] = -1;
  r->user[2] = (long)b;
  r->user[3] = -1;
  r->user[4] = (long)c;
  r->end_hook = cancel_ended_hook;
  r->start_hook = cancel_waiting_hook;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[1], 0);
  assert_int_equal(r->user[3], 0);
  assert_status(res(r, a), CORUN_OK);
  assert_out(res(r, a), "a\n");
  assert_status(res(r, b), CORUN_OK);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  /* After the run: harmless, nothing changes; a bad index is an error. */
  assert_int_equal(corun_run_cancel_job(r->run, a), 0);
  assert_int_equal(corun_run_cancel_job(r->run, c), 0);
  assert_int_equal(corun_run_cancel(r->run, 0), 0);
  assert_int_equal(corun_run_cancel_job(r->run, 99), CORUN_ENOJOB);
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_OK);
  assert_int_equal(corun_run_exit_code(r->run), 1);
  assert_null(corun_run_result(r->run, 99));
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

static rec_t *escalate_rec;

static void escalate(uv_timer_t *h) {
  (void)h;
  corun_run_cancel(escalate_rec->run, 1);
}

static void kill_now_on_ready(rec_t *r, size_t job, corun_stream_t st,
                              const char *line, size_t len) {
  (void)job;
  (void)st;
  /* Once both jobs ignore SIGTERM. */
  if (len == 5 && memcmp(line, "ready", 5) == 0 && ++r->user[4] == 2 &&
      r->user[1]++ == 0) {
    r->user[0] = (long)(tu_now() * 1000);
    corun_run_cancel(r->run, (int)r->user[2]);
    if (r->user[3])
      uv_timer_start(&r->t->aux, escalate, 300, 0);
  }
}

static void test_run_cancel_kill_now_ends_sigterm_ignoring_job(void **state) {
  (void)state;
  for (int mode = 0; mode < 2; mode++) {
    tctx_t *t = t_new();
    corun_job_desc_t d = {0};
    size_t a = add(t, d, "ignterm out ready sleep 300");
    size_t b = add(t, d, "ignterm out ready sleep 300");
    seal(t);
    rec_t *r = rec_new(t);
    r->line_hook = kill_now_on_ready;
    r->user[2] = mode == 0; /* kill_now at once, or escalate after 0.3 s */
    r->user[3] = mode == 1;
    escalate_rec = r;
    start(t, r, NULL);
    t_loop(t, 20);
    double took = tu_now() - (double)r->user[0] / 1000;
    print_message("  %s: ended %.3f s after the cancel\n",
                  mode == 0 ? "kill_now" : "escalated", took);
    for (size_t j = a; j <= b; j++) {
      assert_status(res(r, j), CORUN_CANCELLED);
      assert_int_equal(res(r, j)->signal, SIGKILL);
    }
    if (mode == 0)
      assert_true(took < 1.0);
    else
      assert_true(took >= 0.29 && took < 1.5);
    assert_int_equal(r->exit_code, 1);
    t_finish(t);
  }
}

/* ---- more of the same rules: selection, defaults, re-entrancy ------------ */

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

static void test_run_selected_jobs_and_their_needs_only(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "a";
  size_t a = add(t, d, "out a");
  d.name = "b";
  const char *nb[] = {"a", NULL};
  d.needs = nb;
  size_t b = add(t, d, "out b");
  d.name = "c";
  d.needs = NULL;
  size_t c = add(t, d, "exit 1");
  d.name = "d";
  d.needs = nb;
  size_t e = add(t, d, "out d");
  seal(t);
  const char *want[] = {"b"};
  corun_run_options_t o = {0};
  o.select = want;
  o.n_select = 1;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0); /* c would fail, but is not selected */
  assert_status(res(r, a), CORUN_OK);
  assert_status(res(r, b), CORUN_OK);
  assert_int_equal(r->starts[c] + r->starts[e], 0);
  assert_int_equal(r->job_ends[c] + r->job_ends[e], 0);
  assert_int_equal(res(r, c)->status, CORUN_PENDING);
  assert_int_equal(res(r, c)->attempts, 0);
  cJSON *root = report_of(r->run, -1);
  const cJSON *jobs = jget(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 2);
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 0), "name")->valuestring, "a");
  assert_string_equal(jget(cJSON_GetArrayItem(jobs, 1), "name")->valuestring, "b");
  cJSON_Delete(root);
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

static void test_run_unusable_log_dir_is_an_error_before_anything_runs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "out never");
  seal(t);
  free(tu_write(t->dir, "file", "x"));
  corun_run_options_t o = {0};
  o.log_dir = fmt(t, "%s/file/logs", t->dir);
  corun_run_t *run = (corun_run_t *)&run;
  corun_error_t err = {0};
  int rc = corun_run_new(&run, &t->loop, t->plan, &o, &err);
  assert_true(rc < 0);
  assert_null(run);
  assert_true(err.count >= 1);
  assert_non_null(strstr(err.messages[0], "file/logs"));
  corun_error_release(&err);
  t_finish(t);
}

static void cancel_self_on_start(rec_t *r, size_t job, unsigned attempt,
                                 long pid) {
  (void)attempt;
  (void)pid;
  if (job == 0)
    r->user[0] = corun_run_cancel_job(r->run, job);
}

static void cancel_run_on_end(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  if (job == 1)
    r->user[1] = corun_run_cancel(r->run, 0);
}

static void test_run_cancel_from_start_and_end_callbacks(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 30");
  size_t b = add(t, d, "sleep 0.2 out b");
  size_t c = add(t, d, "sleep 30");
  const char *nb[] = {"job-2", NULL};
  d.needs = nb;
  size_t e = add(t, d, "out never");
  d.needs = NULL;
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  rec_t *r = rec_new(t);
  r->user[0] = r->user[1] = -1;
  r->start_hook = cancel_self_on_start;
  r->end_hook = cancel_run_on_end;
  double t0 = tu_now();
  start(t, r, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->user[1], 0);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_OK);
  assert_status(res(r, c), CORUN_CANCELLED);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);

  /* Cancelled right after the start, before the loop ran once. */
  t = t_new();
  a = add(t, d, "sleep 30");
  b = add(t, d, "sleep 30");
  seal(t);
  o.jobs = 1;
  r = start(t, NULL, &o);
  assert_int_equal(corun_run_cancel(r->run, 0), 0);
  t_loop(t, 20);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_later(uv_timer_t *h) {
  tctx_t *t = h->data;
  rec_t *r = t->recs[0];
  if (t->user[0] == 0)
    r->user[0] = corun_run_cancel_job(r->run, 0);
  else
    r->user[0] = corun_run_cancel(r->run, 0);
}

static void cancel_soon_after_retry(rec_t *r, size_t job, unsigned attempt,
                                    long pid) {
  (void)job;
  (void)pid;
  if (attempt == 1)
    uv_timer_start(&r->t->aux, cancel_later, 300, 0);
}

static void test_run_cancel_during_retry_delay(void **state) {
  (void)state;
  for (int whole = 0; whole < 2; whole++) {
    tctx_t *t = t_new();
    t->user[0] = whole;
    corun_job_desc_t d = {0};
    d.retries = 3;
    d.retry_delay_s = 10;
    size_t a = add(t, d, "exit 3");
    seal(t);
    rec_t *r = rec_new(t);
    r->user[0] = -1;
    r->start_hook = cancel_soon_after_retry;
    double t0 = tu_now();
    start(t, r, NULL);
    t_loop(t, 20);
    assert_true(tu_now() - t0 < 3.0);
    assert_int_equal(r->user[0], 0);
    assert_int_equal(r->retries[a], 1);
    assert_int_equal(r->starts[a], 1);
    const corun_result_t *x = res(r, a);
    print_message("  %s during the retry delay: %s\n",
                  whole ? "run cancelled" : "job cancelled",
                  corun_status_name(x->status));
    assert_true(x->status == CORUN_CANCELLED || x->status == CORUN_FAILED);
    assert_int_equal(x->attempts, 1);
    assert_int_equal(r->exit_code, 1);
    t_finish(t);
  }
}

static void test_run_many_short_jobs_reuse_everything(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  enum { N = 300 };
  for (int i = 0; i < N; i++)
    add(t, d, fmt(t, "out job%d err e%d", i, i));
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 40;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 60);
  assert_int_equal(r->exit_code, 0);
  assert_true(r->max_running > 1);
  for (int i = 0; i < N; i++) {
    assert_out(res(r, (size_t)i), fmt(t, "job%d\n", i));
    assert_err(res(r, (size_t)i), fmt(t, "e%d\n", i));
  }
  t_finish(t);
}

static void cancel_at_halt_hook(rec_t *r, size_t job, const corun_result_t *x) {
  if (job == 0 && x->status == CORUN_FAILED)
    r->user[0] = corun_run_cancel(r->run, 0);
}

static void test_run_cancel_from_job_end_at_a_halt(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "sleep 0.1 exit 1");
  size_t b = add(t, d, "sleep 30");
  size_t c = add(t, d, "out never");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 2;
  o.halt = "soon,fail=1";
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->end_hook = cancel_at_halt_hook;
  start(t, r, &o);
  t_loop(t, 20);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_CANCELLED);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

static void cancel_other_on_skip(rec_t *r, size_t job,
                                  const corun_result_t *x) {
  if (x->status == CORUN_SKIPPED && job == (size_t)r->user[1] &&
      r->user[2]++ == 0)
    r->user[0] = corun_run_cancel_job(r->run, (size_t)r->user[3]);
}

static void test_run_cancel_job_from_a_skip_notification(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.name = "a";
  size_t a = add(t, d, "exit 1");
  const char *na[] = {"a", NULL}, *nb[] = {"b", NULL}, *nd[] = {"d", NULL},
             *ne[] = {"e", NULL};
  d.name = "b";
  d.needs = na;
  size_t b = add(t, d, "out never");
  d.name = "c";
  d.needs = nb;
  size_t c = add(t, d, "out never");
  d.name = "d";
  d.needs = NULL;
  size_t e0 = add(t, d, "sleep 0.3 out d");
  d.name = "e";
  d.needs = nd;
  size_t e = add(t, d, "out never");
  d.name = "f";
  d.needs = ne;
  size_t f = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->user[1] = (long)b;
  r->user[3] = (long)e;
  r->end_hook = cancel_other_on_skip;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->user[0], 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_status(res(r, c), CORUN_SKIPPED);
  assert_status(res(r, e0), CORUN_OK);
  assert_status(res(r, e), CORUN_SKIPPED);
  assert_status(res(r, f), CORUN_SKIPPED);
  assert_int_equal(r->starts[e] + r->starts[f], 0);
  for (size_t j = b; j <= f; j++)
    if (j != e0)
      assert_non_null(res(r, j)->reason);
  assert_int_equal(r->exit_code, 1);
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

static void test_run_allowed_failures_do_not_halt_or_fail(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.allow_failure = 1;
  size_t a = add(t, d, "exit 1");
  d.timeout_s = 0.1;
  size_t b = add(t, d, "sleep 5");
  d.allow_failure = 0;
  d.timeout_s = 0;
  size_t c = add(t, d, "sleep 0.4 out c");
  seal(t);
  corun_run_options_t o = {0};
  o.halt = "now,fail=1";
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->halts, 0);
  assert_status(res(r, a), CORUN_FAILED);
  assert_status(res(r, b), CORUN_TIMEOUT);
  assert_status(res(r, c), CORUN_OK);
  assert_int_equal(r->exit_code, 0);
  t_finish(t);
}

static void test_run_halt_counts_errors_and_ends_retry_waits(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 2;
  d.retry_delay_s = 1.0;
  size_t a = add(t, d, "exit 1");
  d.retries = 0;
  d.retry_delay_s = 0;
  size_t b = add(t, d, "sleep 0.2 exit 2");
  size_t c = add(t, d, "sleep 0.5 out c");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 3;
  o.halt = "soon,fail=1";
  double t0 = tu_now();
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 0.95);
  assert_int_equal(r->halts, 1);
  /* a waited for its retry: no new attempt after the halt. */
  assert_status(res(r, a), CORUN_FAILED);
  assert_int_equal(res(r, a)->attempts, 1);
  assert_int_equal(r->starts[a], 1);
  assert_status(res(r, b), CORUN_FAILED);
  assert_status(res(r, c), CORUN_OK);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);

  if (under_valgrind())
    return;
  /* A job that cannot start is a failure for the halt too. */
  t = t_new();
  const char *nocmd[] = {"corun-no-such-command-zz9", NULL};
  d.argv = nocmd;
  a = add(t, d, NULL);
  d.argv = NULL;
  b = add(t, d, "out never");
  seal(t);
  o.jobs = 1;
  r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->halts, 1);
  assert_status(res(r, a), CORUN_ERROR);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
  t_finish(t);
}

/*
 * A result is borrowed from the run and valid until corun_run_free(): what
 * it says it holds must be readable at any time, also while a later
 * attempt of the job runs (then it is empty or an earlier attempt's).
 */
static void read_result_during_retry(rec_t *r, size_t job, corun_stream_t st,
                                     const char *buf, size_t len) {
  (void)st;
  (void)buf;
  (void)len;
  if (r->starts[job] < 2)
    return;
  const corun_result_t *x = corun_run_result(r->run, job);
  r->user[0]++;
  if (x->out_len == 0)
    return;
  if (x->out_tail == NULL) {
    r->user[1]++;
    return;
  }
  /* Earlier attempt: "first\n"; this one: the test program's pattern. */
  int first = x->out_len == 6 && memcmp(x->out_tail, "first\n", 6) == 0;
  int now = pattern_check(x->out_tail, x->out_len, 0) == UINT64_MAX;
  if (!first && !now)
    r->user[1]++;
}

static void test_run_result_stays_readable_during_a_retry(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 1;
  add_sh(t, d, fmt(t, "if [ -e flag ]; then exec %s bytes 300000; "
                      "else touch flag; echo first; exit 1; fi",
                   tu_helper()));
  seal(t);
  rec_t *r = rec_new(t);
  r->output_hook = read_result_during_retry;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(res(r, 0)->attempts, 2);
  assert_true(r->user[0] > 0);
  assert_int_equal(res(r, 0)->out_len, 64 * 1024);
  assert_true(pattern_check(res(r, 0)->out_tail, 64 * 1024,
                            300000 - 64 * 1024) == UINT64_MAX);
  long bad = r->user[1];
  if (bad > 0)
    print_message("  %ld reads of the result during the second attempt "
                  "found freed memory\n", bad);
  t_finish(t);
  assert_int_equal(bad, 0);
}

/* The report keeps the last attempt: one that could not start has no
 * output, whatever the attempt before it wrote. */
static void test_run_last_attempt_that_cannot_start_keeps_no_output(void **state) {
  (void)state;
  if (under_valgrind())
    skip();
  tctx_t *t = t_new();
  char *sub = NULL;
  assert_true(asprintf(&sub, "%s/sub", t->dir) > 0);
  assert_int_equal(mkdir(sub, 0755), 0);
  free(sub);
  corun_job_desc_t d = {0};
  d.cwd = "sub";
  d.retries = 2;
  /* The first attempt removes its own folder, so the next cannot start. */
  size_t a = add_sh(t, d, "echo first; echo e-first >&2; cd .. && rmdir sub; exit 1");
  seal(t);
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  const corun_result_t *x = res(r, a);
  assert_status(x, CORUN_ERROR);
  assert_int_equal(x->attempts, 2);
  assert_int_equal(r->starts[a], 1);
  assert_int_equal(r->retries[a], 1);
  assert_non_null(x->error);
  assert_non_null(strstr(x->error, "sub"));
  assert_int_equal(x->pid, 0);
  assert_int_equal(x->exit_code, -1);
  size_t out_len = x->out_len, err_len = x->err_len;
  if (out_len != 0 || err_len != 0)
    print_message("  the attempt that could not start shows the output "
                  "\"%.*s\" / \"%.*s\" of the attempt before it\n",
                  (int)x->out_len, x->out_tail, (int)x->err_len, x->err_tail);
  t_finish(t);
  assert_int_equal(out_len, 0);
  assert_int_equal(err_len, 0);
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
  /* SIGPIPE is ignored by main() already. */
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

static void cancel_on_retry(rec_t *r, size_t job, const corun_result_t *x) {
  (void)x;
  r->user[0] = corun_run_cancel_job(r->run, job);
}

static void test_run_cancel_job_from_on_retry(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  d.retries = 5;
  d.retry_delay_s = 10;
  size_t a = add(t, d, "out try exit 1");
  d.retries = 0;
  d.retry_delay_s = 0;
  const char *need[] = {"job-1", NULL};
  d.needs = need;
  size_t b = add(t, d, "out never");
  seal(t);
  rec_t *r = rec_new(t);
  r->user[0] = -1;
  r->retry_hook = cancel_on_retry;
  double t0 = tu_now();
  start(t, r, NULL);
  t_loop(t, 20);
  assert_true(tu_now() - t0 < 3.0);
  assert_int_equal(r->user[0], 0);
  assert_int_equal(r->starts[a], 1);
  assert_int_equal(r->retries[a], 1);
  assert_status(res(r, a), CORUN_CANCELLED);
  assert_int_equal(res(r, a)->attempts, 1);
  assert_status(res(r, b), CORUN_SKIPPED);
  assert_int_equal(r->exit_code, 1);
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
  /* A closed pipe must not kill the suite. */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_four_jobs_run_in_parallel),
      cmocka_unit_test(test_run_one_job_at_a_time_with_jobs_1),
      cmocka_unit_test(test_run_pool_of_one_never_overlaps),
      cmocka_unit_test(test_run_needs_start_after_their_need_ended),
      cmocka_unit_test(test_run_skips_dependents_of_failed_job),
      cmocka_unit_test(test_run_allow_failure_lets_dependents_run),
      cmocka_unit_test(test_run_missing_command_is_error),
      cmocka_unit_test(test_run_missing_cwd_is_error),
      cmocka_unit_test(test_run_env_set_and_unset),
      cmocka_unit_test(test_run_stdin_text_and_eof_by_default),
      cmocka_unit_test(test_run_cwd_relative_to_plan_folder),
      cmocka_unit_test(test_run_big_binary_output_is_logged_intact),
      cmocka_unit_test(test_run_output_right_before_exit_is_kept),
      cmocka_unit_test(test_run_line_floods_stay_whole_and_ordered),
      cmocka_unit_test(test_run_last_line_without_newline_is_a_line),
      cmocka_unit_test(test_run_long_lines_come_in_pieces_of_line_max),
      cmocka_unit_test(test_run_output_chunks_concatenate_to_what_was_written),
      cmocka_unit_test(test_run_tail_keeps_last_bytes),
      cmocka_unit_test(test_run_report_is_valid_json_in_file_order),
      cmocka_unit_test(test_run_timeout_stops_forked_grandchildren),
      cmocka_unit_test(test_run_sigterm_ignored_gets_sigkill_after_grace),
      cmocka_unit_test(test_run_background_process_holding_stdout_does_not_hang),
      cmocka_unit_test(test_run_job_forking_then_exiting_ends_ok),
      cmocka_unit_test(test_run_killed_by_signal_is_failed),
      cmocka_unit_test(test_run_halt_soon_lets_running_jobs_finish),
      cmocka_unit_test(test_run_halt_now_stops_running_jobs),
      cmocka_unit_test(test_run_halt_now_success_first_to_succeed_wins),
      cmocka_unit_test(test_run_retry_succeeds_on_third_attempt),
      cmocka_unit_test(test_run_retries_exhausted),
      cmocka_unit_test(test_run_callbacks_fire_in_documented_order),
      cmocka_unit_test(test_run_cancel_job_from_on_line),
      cmocka_unit_test(test_run_cancel_run_from_on_line),
      cmocka_unit_test(test_run_cancel_finished_or_waiting_job),
      cmocka_unit_test(test_run_free_from_on_run_end),
      cmocka_unit_test(test_run_free_while_running_is_estate),
      cmocka_unit_test(test_run_two_runs_on_one_loop_beside_a_timer),
      cmocka_unit_test(test_run_blocking_returns_exit_code_and_results),
      cmocka_unit_test(test_run_cancel_kill_now_ends_sigterm_ignoring_job),
      cmocka_unit_test(test_run_empty_plan_succeeds_at_once),
      cmocka_unit_test(test_run_selected_jobs_and_their_needs_only),
      cmocka_unit_test(test_run_default_timeout_applies_to_jobs_without_one),
      cmocka_unit_test(test_run_unusable_log_dir_is_an_error_before_anything_runs),
      cmocka_unit_test(test_run_cancel_from_start_and_end_callbacks),
      cmocka_unit_test(test_run_cancel_during_retry_delay),
      cmocka_unit_test(test_run_cancel_from_job_end_at_a_halt),
      cmocka_unit_test(test_run_cancel_job_from_on_retry),
      cmocka_unit_test(test_run_job_closing_its_output_early_is_awaited),
      cmocka_unit_test(test_run_jobs_get_default_signals),
      cmocka_unit_test(test_run_last_attempt_that_cannot_start_keeps_no_output),
      cmocka_unit_test(test_run_sigterm_ignoring_grandchild_is_killed_after_grace),
      cmocka_unit_test(test_run_allowed_failures_do_not_halt_or_fail),
      cmocka_unit_test(test_run_halt_counts_errors_and_ends_retry_waits),
      cmocka_unit_test(test_run_cancel_job_from_a_skip_notification),
      cmocka_unit_test(test_run_many_short_jobs_reuse_everything),
      cmocka_unit_test(test_run_leaves_no_zombie_during_a_long_run),
      cmocka_unit_test(test_run_as_subreaper_reaps_orphans_of_jobs),
      /* Last: under AddressSanitizer a use after free ends the program. */
      cmocka_unit_test(test_run_result_stays_readable_during_a_retry),
  };
  /* CORUN_TEST_FILTER / CORUN_TEST_SKIP: run or skip the tests whose
   * names match a pattern (* and ? wildcards). */
  if (getenv("CORUN_TEST_FILTER"))
    cmocka_set_test_filter(getenv("CORUN_TEST_FILTER"));
  if (getenv("CORUN_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("CORUN_TEST_SKIP"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
