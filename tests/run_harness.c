/*
 * The harness of the test_run_* suites (see run_harness.h): the context of
 * a test, the recorder of a run's callbacks, the loop with its watchdog,
 * and the checks that nothing was left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

int under_valgrind(void) {
  const char *v = getenv("LD_PRELOAD");
  return v != NULL && strstr(v, "vgpreload") != NULL;
}

/* The status of a job whose command cannot be started. */
corun_status_t cannot_start(void) {
  return under_valgrind() ? CORUN_FAILED : CORUN_ERROR;
}

/* ---- small buffers ------------------------------------------------------ */

void buf_add(buf_t *b, const void *p, size_t n) {
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

void buf_free(buf_t *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Byte i of the test program's `bytes N` output. */
static unsigned char pattern_at(uint64_t i) {
  return (unsigned char)((((i % 65536) * 7) + 3) & 0xFF);
}

/* Whether p[0..n) is the test program's pattern starting at offset `off`;
 * returns the first wrong offset, or UINT64_MAX when all match. */
uint64_t pattern_check(const char *p, size_t n, uint64_t off) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] != pattern_at(off + i))
      return off + i;
  return UINT64_MAX;
}

/* Line k of the test program's `lines N WIDTH`, without its newline. */
size_t steps_line(char *dst, long k, int width) {
  int len = snprintf(dst, (size_t)width + 32, "%08ld ", k);
  while (len < width - 1) {
    dst[len] = (char)('a' + (k + len) % 26);
    len++;
  }
  return (size_t)len;
}

/* ---- the test context and the recorder of one run ----------------------- */

const char *keep(tctx_t *t, char *s) {
  assert_non_null(s);
  if (t->n_strs == t->cap_strs) {
    t->cap_strs = t->cap_strs ? 2 * t->cap_strs : 64;
    t->strs = realloc(t->strs, t->cap_strs * sizeof *t->strs);
    assert_non_null(t->strs);
  }
  t->strs[t->n_strs++] = s;
  return s;
}

const char *fmt(tctx_t *t, const char *f, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, f);
  int n = vasprintf(&s, f, ap);
  va_end(ap);
  assert_true(n >= 0);
  return keep(t, s);
}

/* A JSON string literal of s. */
const char *jq(tctx_t *t, const char *s) {
  cJSON *j = cJSON_CreateString(s);
  char *q = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return keep(t, q);
}

void print_errors(const corun_error_t *err) {
  for (size_t i = 0; i < err->count; i++)
    print_message("  error: %s\n", err->messages[i]);
}

tctx_t *t_new(void) {
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
const char *job_mark(tctx_t *t) {
  return fmt(t, "%s_j%u", t->mark, t->seq++);
}

/* The same as a JSON object member, for job files. */
const char *jmark(tctx_t *t) {
  const char *m = job_mark(t);
  return fmt(t, "\"CORUN_TEST_MARK\":%s", jq(t, strchr(m, '=') + 1));
}

/*
 * Add a job to `plan`: the test program with `steps` (split at spaces) when
 * steps is set, else d's own argv or shell. Its env gets a marker first.
 */
size_t add_to(tctx_t *t, corun_plan_t *plan, corun_job_desc_t d,
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

size_t add(tctx_t *t, corun_job_desc_t d, const char *steps) {
  return add_to(t, t->plan, d, steps);
}

size_t add_sh(tctx_t *t, corun_job_desc_t d, const char *shell) {
  d.shell = shell;
  return add_to(t, t->plan, d, NULL);
}

void seal_plan(corun_plan_t *plan) {
  corun_error_t err = {0};
  int rc = corun_plan_seal(plan, &err);
  if (rc != 0)
    print_errors(&err);
  corun_error_release(&err);
  assert_int_equal(rc, 0);
}

void seal(tctx_t *t) { seal_plan(t->plan); }

/* Replace the (empty) plan by one loaded from JSON, based in t->dir. */
void load_json(tctx_t *t, const char *json) {
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

size_t job_index(const corun_plan_t *plan, const char *name) {
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

rec_t *rec_new(tctx_t *t) {
  rec_t *r = calloc(1, sizeof *r);
  assert_non_null(r);
  assert_true(t->n_recs < 4);
  r->t = t;
  r->exit_code = -1;
  t->recs[t->n_recs++] = r;
  return r;
}

void options_for(rec_t *r, corun_run_options_t *o) {
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
rec_t *start_plan(tctx_t *t, const corun_plan_t *plan, rec_t *r,
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

rec_t *start(tctx_t *t, rec_t *r, const corun_run_options_t *o) {
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
void t_loop(tctx_t *t, double limit_s) {
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
void t_finish(tctx_t *t) {
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

const corun_result_t *res(rec_t *r, size_t job) {
  const corun_result_t *x = corun_run_result(r->run, job);
  assert_non_null(x);
  return x;
}

void assert_out(const corun_result_t *x, const char *want) {
  size_t n = strlen(want);
  if (x->out_len != n || (n > 0 && memcmp(x->out_tail, want, n) != 0))
    fail_msg("%s: stdout is \"%.*s\", want \"%s\"", x->name, (int)x->out_len,
             x->out_tail ? x->out_tail : "", want);
}

void assert_err(const corun_result_t *x, const char *want) {
  size_t n = strlen(want);
  if (x->err_len != n || (n > 0 && memcmp(x->err_tail, want, n) != 0))
    fail_msg("%s: stderr is \"%.*s\", want \"%s\"", x->name, (int)x->err_len,
             x->err_tail ? x->err_tail : "", want);
}

void assert_status(const corun_result_t *x, corun_status_t want) {
  if (x->status != want)
    fail_msg("%s: status %s, want %s (exit %d, signal %d, error %s)", x->name,
             corun_status_name(x->status), corun_status_name(want),
             x->exit_code, x->signal, x->error ? x->error : "-");
}

/* Index in r->ev of the first event of `kind` for `job`. */
size_t ev_find(const rec_t *r, int kind, size_t job) {
  for (size_t i = 0; i < r->n_ev; i++)
    if (r->ev[i].kind == kind && r->ev[i].job == job)
      return i;
  fail_msg("no event %d for job %zu", kind, job);
  return 0;
}

/* ---- the JSON report ------------------------------------------------------ */

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

const cJSON *jget(const cJSON *o, const char *key) {
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

cJSON *report_of(const corun_run_t *run, int exit_code) {
  char *text = report_text(run, exit_code);
  cJSON *root = cJSON_Parse(text);
  if (root == NULL)
    fail_msg("the report is not JSON:\n%s", text);
  free(text);
  return root;
}

/* ---- a suite's main ------------------------------------------------------- */

int run_suite(const char *suite, const struct CMUnitTest *tests, size_t n) {
  /* A closed pipe must not kill the suite. */
  signal(SIGPIPE, SIG_IGN);
  /* CORUN_TEST_FILTER / CORUN_TEST_SKIP: run or skip the tests whose
   * names match a pattern (* and ? wildcards). */
  if (getenv("CORUN_TEST_FILTER"))
    cmocka_set_test_filter(getenv("CORUN_TEST_FILTER"));
  if (getenv("CORUN_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("CORUN_TEST_SKIP"));
  return _cmocka_run_group_tests(suite, tests, n, NULL, NULL);
}
