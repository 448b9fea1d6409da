/*
 * The launcher seam: a second backend, written here in the test alone,
 * that never forks. It reads each job's command as a tiny script and plays
 * it on the run's loop with one timer per attempt:
 *
 *   out TEXT | err TEXT   write TEXT and a newline to stdout / stderr
 *   wait MS               let MS milliseconds pass
 *   hang                  wait until stopped (SIGTERM is obeyed)
 *   deaf                  wait until stopped with kill_now (SIGTERM is not)
 *   exit N | signal N     end with exit status N / killed by signal N
 *
 * steps separated by ';'. The run, the scheduler and every sink are the
 * library's own: plugging this in touched none of them, which is the point
 * of the seam. The tests check statuses, output, retries, timeouts,
 * cancels and the files of SPEC §5 as a local run would produce them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

/* ---- the fake backend ----------------------------------------------------- */

typedef struct fake_launcher_s fake_launcher_t;

typedef struct {
  fake_launcher_t *l;
  size_t job;
  char *script;  /* a copy of the command; steps are cut from it */
  char *next;    /* the next step, NULL once all were played */
  bool stopping, kill_now, timed_out, deaf, done;
  double timeout_s;
  uint64_t deadline; /* uv_now() of the timeout, 0: none */
  uv_timer_t timer;
} fake_proc_t;

struct fake_launcher_s {
  corun__launcher_t base;
  uv_loop_t *loop;
  corun__launch_cb_t cb;
  void *ctx;
  bool paused;
  unsigned live, closing;
  long next_pid;
  void (*closed)(void *);
  void *closed_arg;
};

static unsigned n_starts, n_stops, n_opens;

static void proc_closed(uv_handle_t *h) {
  fake_proc_t *p = h->data;
  fake_launcher_t *l = p->l;
  free(p->script);
  free(p);
  if (--l->live == 0 && l->closing) {
    void (*cb)(void *) = l->closed;
    void *arg = l->closed_arg;
    free(l);
    if (cb)
      cb(arg);
  }
}

static void finish(fake_proc_t *p, corun__end_t how, int code, int sig) {
  corun__exit_t ex = {how, code, sig};
  if (p->stopping)
    ex.how = p->timed_out ? CORUN__END_TIMEOUT : CORUN__END_STOPPED;
  p->done = true;
  uv_timer_stop(&p->timer);
  p->l->cb.eof(p->l->ctx, p->job, CORUN_STDOUT);
  p->l->cb.eof(p->l->ctx, p->job, CORUN_STDERR);
  fake_launcher_t *l = p->l;
  size_t job = p->job;
  uv_close((uv_handle_t *)&p->timer, proc_closed);
  l->cb.done(l->ctx, job, &ex);
}

static void play(uv_timer_t *t);

/* Play steps until one needs time to pass. */
static void step(fake_proc_t *p) {
  while (p->next != NULL && !p->done) {
    if (p->deadline && uv_now(p->l->loop) >= p->deadline && !p->stopping) {
      p->stopping = p->timed_out = true;
      finish(p, CORUN__END_TIMEOUT, -1, SIGTERM);
      return;
    }
    char *s = p->next;
    char *semi = strchr(s, ';');
    p->next = semi ? semi + 1 : NULL;
    if (semi)
      *semi = '\0';
    while (*s == ' ')
      s++;
    if (strncmp(s, "out ", 4) == 0 || strncmp(s, "err ", 4) == 0) {
      char line[256];
      int n = snprintf(line, sizeof line, "%s\n", s + 4);
      p->l->cb.data(p->l->ctx, p->job, s[0] == 'o' ? CORUN_STDOUT : CORUN_STDERR,
                    line, (size_t)n);
    } else if (strncmp(s, "wait ", 5) == 0) {
      uint64_t ms = strtoull(s + 5, NULL, 10);
      if (p->deadline && uv_now(p->l->loop) + ms > p->deadline)
        ms = p->deadline - uv_now(p->l->loop);
      uv_timer_start(&p->timer, play, ms, 0);
      return;
    } else if (strcmp(s, "hang") == 0 || strcmp(s, "deaf") == 0) {
      p->deaf = s[0] == 'd';
      p->next = s; /* stays on this step */
      if (p->deadline)
        uv_timer_start(&p->timer, play, p->deadline - uv_now(p->l->loop), 0);
      return;
    } else if (strncmp(s, "exit ", 5) == 0) {
      int code = atoi(s + 5);
      finish(p, code == 0 ? CORUN__END_OK : CORUN__END_FAILED, code, 0);
      return;
    } else if (strncmp(s, "signal ", 7) == 0) {
      finish(p, CORUN__END_FAILED, -1, atoi(s + 7));
      return;
    }
  }
  if (!p->done)
    finish(p, CORUN__END_OK, 0, 0);
}

static void play(uv_timer_t *t) {
  fake_proc_t *p = t->data;
  if (p->stopping && !p->timed_out) {
    finish(p, CORUN__END_STOPPED, -1, p->kill_now ? SIGKILL : SIGTERM);
    return;
  }
  if (p->next != NULL && (strcmp(p->next, "hang") == 0 || strcmp(p->next, "deaf") == 0)) {
    /* Only the timeout wakes a hanging step. */
    p->stopping = p->timed_out = true;
    finish(p, CORUN__END_TIMEOUT, -1, SIGTERM);
    return;
  }
  step(p);
}

static int fake_open(corun__launcher_t **out, uv_loop_t *loop,
                     const corun__launch_cb_t *cb, void *ctx);

static void fake_close(corun__launcher_t *base, void (*closed)(void *),
                       void *arg) {
  fake_launcher_t *l = (fake_launcher_t *)base;
  l->closing = 1;
  l->closed = closed;
  l->closed_arg = arg;
  if (l->live == 0) {
    free(l);
    if (closed)
      closed(arg);
  }
}

static int fake_start(corun__launcher_t *base, const corun__attempt_t *a,
                      void **handle, long *pid, char *why, size_t why_len) {
  fake_launcher_t *l = (fake_launcher_t *)base;
  /* sh -c SCRIPT, or an argv whose first word names the script. */
  const char *script = a->argv[1] && strcmp(a->argv[1], "-c") == 0 ? a->argv[2]
                                                                  : a->argv[0];
  if (strncmp(script, "missing", 7) == 0) {
    snprintf(why, why_len, "%s: No such file or directory", script);
    return UV_ENOENT;
  }
  fake_proc_t *p = calloc(1, sizeof *p);
  if (p == NULL || (p->script = strdup(script)) == NULL) {
    free(p);
    return CORUN__START_LATER;
  }
  p->l = l;
  p->job = a->job;
  p->next = p->script;
  uv_timer_init(l->loop, &p->timer);
  p->timer.data = p;
  if (a->timeout_s > 0)
    p->deadline = uv_now(l->loop) + (uint64_t)(a->timeout_s * 1000);
  l->live++;
  n_starts++;
  *handle = p;
  *pid = l->next_pid++;
  /* Play from the loop, as a process would start writing later. */
  uv_timer_start(&p->timer, play, 0, 0);
  return 0;
}

static void fake_stop(corun__launcher_t *base, void *handle, bool kill_now) {
  fake_proc_t *p = handle;
  (void)base;
  n_stops++;
  if (p->done || (p->deaf && !kill_now))
    return;
  /* It ends later, from the loop, as a process that got a signal does. */
  p->stopping = true;
  p->kill_now = kill_now;
  uv_timer_start(&p->timer, play, 0, 0);
}

static void fake_pause(corun__launcher_t *base, bool paused) {
  ((fake_launcher_t *)base)->paused = paused;
}

static const corun__launcher_ops_t fake_ops = {
    "fake", fake_open, fake_close, fake_start, fake_stop, fake_pause,
    NULL, /* no suspension: corun_run_suspend() says so */
};

static int fake_open(corun__launcher_t **out, uv_loop_t *loop,
                     const corun__launch_cb_t *cb, void *ctx) {
  fake_launcher_t *l = calloc(1, sizeof *l);
  *out = NULL;
  if (l == NULL)
    return UV_ENOMEM;
  l->base.ops = &fake_ops;
  l->loop = loop;
  l->cb = *cb;
  l->ctx = ctx;
  l->next_pid = 900001;
  n_opens++;
  *out = &l->base;
  return 0;
}

/* ---- running plans on it -------------------------------------------------- */

typedef struct {
  char lines[4096];
  unsigned retries, ends;
  int exit_code;
  bool ended;
  size_t cancel_on_start; /* a job to cancel once it started, or SIZE_MAX */
} rec_t;

static void on_line(corun_run_t *run, void *data, size_t job,
                    corun_stream_t st, const char *line, size_t len) {
  rec_t *r = data;
  size_t n = strlen(r->lines);
  snprintf(r->lines + n, sizeof r->lines - n, "%s %s %.*s\n",
           corun_plan_job(corun_run_plan(run), job)->name,
           st == CORUN_STDOUT ? "out" : "err", (int)len, line);
}

static void on_job_start(corun_run_t *run, void *data, size_t job,
                         unsigned attempt, long pid) {
  rec_t *r = data;
  (void)attempt;
  assert_true(pid >= 900001); /* the fake's own numbers: nothing forked */
  if (job == r->cancel_on_start)
    corun_run_cancel_job(run, job);
}

static void on_retry(corun_run_t *run, void *data, size_t job,
                     const corun_result_t *failed, unsigned next, double delay) {
  (void)run, (void)job, (void)failed, (void)next, (void)delay;
  ((rec_t *)data)->retries++;
}

static void on_job_end(corun_run_t *run, void *data, size_t job,
                       const corun_result_t *res) {
  (void)run, (void)job, (void)res;
  ((rec_t *)data)->ends++;
}

static void on_run_end(corun_run_t *run, void *data, int exit_code) {
  rec_t *r = data;
  (void)run;
  r->ended = true;
  r->exit_code = exit_code;
}

/* Load `json`, run it on the fake backend with the report written to
 * `report` (may be NULL), and return the ended run. */
static corun_run_t *run_fake(uv_loop_t *loop, corun_plan_t **plan,
                             const char *json, rec_t *r, FILE *report) {
  corun_error_t err = {0};
  assert_int_equal(corun_plan_load_buffer(plan, json, strlen(json), "fake.json",
                                          NULL, &err),
                   0);
  corun_run_options_t o = {0};
  o.cb.on_line = on_line;
  o.cb.on_job_start = on_job_start;
  o.cb.on_retry = on_retry;
  o.cb.on_job_end = on_job_end;
  o.cb.on_run_end = on_run_end;
  o.data = r;
  corun_run_t *run = NULL;
  assert_int_equal(corun_run_new(&run, loop, *plan, &o, &err), 0);
  corun__run_use_launcher(run, &fake_ops);
  if (report)
    assert_int_equal(corun_run_add_output(run, CORUN_REPORT, report), 0);
  unsigned before = n_opens;
  assert_int_equal(corun_run_start(run), 0);
  assert_int_equal(n_opens, before + 1);
  assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
  assert_true(r->ended);
  return run;
}

static const corun_result_t *result(corun_run_t *run, const char *name) {
  size_t i;
  assert_int_equal(corun_plan_find(corun_run_plan(run), name, &i), 0);
  return corun_run_result(run, i);
}

static void test_launch_fake_backend_runs_a_plan_without_processes(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  corun_plan_t *plan = NULL;
  rec_t r = {.cancel_on_start = SIZE_MAX};
  const char *json =
      "{\"max_parallel\":2,\"jobs\":["
      "{\"name\":\"a\",\"cmd\":\"out hello; err warn; wait 5; out bye\"},"
      "{\"name\":\"b\",\"cmd\":[\"exit 3\"],\"needs\":[\"a\"]},"
      "{\"name\":\"c\",\"cmd\":\"out c\",\"needs\":[\"b\"]},"
      "{\"name\":\"d\",\"cmd\":\"signal 9\",\"allow_failure\":true},"
      "{\"name\":\"e\",\"cmd\":\"missing-tool\"}]}";
  n_starts = 0;
  corun_run_t *run = run_fake(&loop, &plan, json, &r, NULL);
  assert_int_equal(r.exit_code, 1);
  assert_int_equal(r.ends, 5);
  assert_int_equal(n_starts, 3); /* a, b, d; e could not start, c skipped */
  assert_int_equal(result(run, "a")->status, CORUN_OK);
  assert_int_equal(result(run, "a")->out_len, strlen("hello\nbye\n"));
  assert_memory_equal(result(run, "a")->out_tail, "hello\nbye\n", 10);
  assert_memory_equal(result(run, "a")->err_tail, "warn\n", 5);
  assert_int_equal(result(run, "b")->status, CORUN_FAILED);
  assert_int_equal(result(run, "b")->exit_code, 3);
  assert_int_equal(result(run, "c")->status, CORUN_SKIPPED);
  assert_string_equal(result(run, "c")->reason, "need b failed");
  assert_int_equal(result(run, "d")->status, CORUN_FAILED);
  assert_int_equal(result(run, "d")->signal, 9);
  assert_int_equal(result(run, "e")->status, CORUN_ERROR);
  assert_string_equal(result(run, "e")->error,
                      "missing-tool: No such file or directory");
  /* Lines came through the library's own splitter, in order per job. */
  assert_non_null(strstr(r.lines, "a out hello\n"));
  assert_non_null(strstr(r.lines, "a err warn\n"));
  assert_true(strstr(r.lines, "a out hello\n") < strstr(r.lines, "a out bye\n"));
  assert_int_equal(corun_run_free(run), 0);
  corun_plan_free(plan);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_launch_fake_backend_gets_timeouts_retries_and_cancels(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  corun_plan_t *plan = NULL;
  rec_t r = {.cancel_on_start = 2};
  const char *json =
      "{\"jobs\":["
      "{\"name\":\"slow\",\"cmd\":\"out start; hang\",\"timeout\":\"30ms\","
      "\"retries\":2,\"retry_delay\":\"1ms\"},"
      "{\"name\":\"flaky\",\"cmd\":\"exit 1\",\"retries\":1},"
      "{\"name\":\"victim\",\"cmd\":\"hang\"}]}";
  n_stops = 0;
  double t0 = tu_now();
  corun_run_t *run = run_fake(&loop, &plan, json, &r, NULL);
  assert_true(tu_now() - t0 < 5.0);
  assert_int_equal(r.exit_code, 1);
  const corun_result_t *slow = result(run, "slow");
  assert_int_equal(slow->status, CORUN_TIMEOUT);
  assert_int_equal(slow->attempts, 3);
  /* The tail describes the last attempt alone. */
  assert_int_equal(slow->out_len, strlen("start\n"));
  assert_int_equal(result(run, "flaky")->attempts, 2);
  assert_int_equal(result(run, "flaky")->status, CORUN_FAILED);
  assert_int_equal(result(run, "victim")->status, CORUN_CANCELLED);
  assert_int_equal(r.retries, 3);
  assert_true(n_stops >= 1);
  assert_int_equal(corun_run_free(run), 0);
  corun_plan_free(plan);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_launch_fake_backend_feeds_the_report_sink(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  corun_plan_t *plan = NULL;
  rec_t r = {.cancel_on_start = SIZE_MAX};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  const char *json = "{\"jobs\":[{\"name\":\"x\",\"cmd\":\"out 42; exit 0\"},"
                     "{\"name\":\"y\",\"cmd\":\"deaf\",\"timeout\":\"20ms\"}]}";
  corun_run_t *run = run_fake(&loop, &plan, json, &r, f);
  fclose(f);
  cJSON *root = cJSON_ParseWithLength(buf, len);
  assert_non_null(root);
  cJSON *jobs = cJSON_GetObjectItem(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 2);
  cJSON *x = cJSON_GetArrayItem(jobs, 0);
  assert_string_equal(cJSON_GetObjectItem(x, "stdout")->valuestring, "42\n");
  assert_int_equal(cJSON_GetObjectItem(x, "pid")->valueint, 900001);
  cJSON *y = cJSON_GetArrayItem(jobs, 1);
  assert_string_equal(cJSON_GetObjectItem(y, "status")->valuestring, "timeout");
  assert_int_equal(cJSON_GetObjectItem(root, "exit_code")->valueint, 1);
  cJSON_Delete(root);
  free(buf);
  assert_int_equal(corun_run_free(run), 0);
  corun_plan_free(plan);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_launch_fake_backend_runs_a_plan_without_processes),
      cmocka_unit_test(test_launch_fake_backend_gets_timeouts_retries_and_cancels),
      cmocka_unit_test(test_launch_fake_backend_feeds_the_report_sink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
