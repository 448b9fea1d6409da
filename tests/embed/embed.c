/*
 * An embedder of libcorun: one libuv loop of its own, with a timer of its
 * own, running two plans at once — one loaded from JSON, one built in
 * code — and cancelling a job from inside an output callback; then an
 * open run, fed by a producer timer that submits a chain of jobs as it
 * goes, as a build tool decides its steps. It checks
 * every result and exits 0 only if all is as expected.
 *
 * Build: cc embed.c $(pkg-config --cflags --libs corun)
 */
#include <corun.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "embed.c:%d: check failed: %s\n", __LINE__, #cond);    \
      failures++;                                                            \
    }                                                                        \
  } while (0)

typedef struct {
  const char *label;
  int lines, ends, run_ends;
  int exit_code;
  size_t endless; /* the job to cancel once it has spoken */
} watch_t;

static int ticks;

static void on_tick(uv_timer_t *t) {
  ticks++;
  (void)t;
}

static void on_line(corun_run_t *run, void *data, size_t job,
                    corun_stream_t stream, const char *line, size_t len) {
  watch_t *w = data;
  (void)stream;
  w->lines++;
  /* Cancelling from inside a callback is allowed, for any job. This one
   * goes once the embedder's own timer has ticked beside the jobs. */
  if (job == w->endless && ticks >= 2 && len >= 4 &&
      memcmp(line, "tick", 4) == 0)
    corun_run_cancel_job(run, job);
}

static void on_job_end(corun_run_t *run, void *data, size_t job,
                       const corun_result_t *r) {
  watch_t *w = data;
  (void)run;
  (void)job;
  (void)r;
  w->ends++;
}

static void on_run_end(corun_run_t *run, void *data, int exit_code) {
  watch_t *w = data;
  (void)run;
  w->run_ends++;
  w->exit_code = exit_code;
}

/* The producer: one step every 20 ms, each needing the one before, then
 * no more. */
typedef struct {
  corun_run_t *run;
  int submitted;
  size_t last;
} producer_t;

static void on_produce(uv_timer_t *t) {
  producer_t *p = t->data;
  if (p->submitted == 5) {
    corun_run_close_input(p->run);
    uv_timer_stop(t);
    return;
  }
  char cmd[64], prev[32];
  snprintf(cmd, sizeof cmd, "echo step %d", p->submitted + 1);
  snprintf(prev, sizeof prev, "job-%zu", p->last + 1);
  const char *needs[] = {prev, NULL};
  corun_job_desc_t d = {0};
  d.shell = cmd;
  d.needs = p->submitted > 0 ? needs : NULL;
  corun_error_t err = {0};
  CHECK(corun_run_submit(p->run, &d, &p->last, &err) == 0);
  CHECK(p->last == (size_t)p->submitted);
  corun_error_release(&err);
  p->submitted++;
}

static void open_run(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  watch_t w = {"open", 0, 0, 0, -1, (size_t)-1};
  corun_run_options_t o = {0};
  o.cb.on_line = on_line;
  o.cb.on_job_end = on_job_end;
  o.cb.on_run_end = on_run_end;
  o.data = &w;
  corun_run_t *run = NULL;
  corun_error_t err = {0};
  CHECK(corun_run_new(&run, &loop, NULL, &o, &err) == 0);
  CHECK(corun_run_start(run) == 0);
  producer_t p = {run, 0, 0};
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  timer.data = &p;
  uv_timer_start(&timer, on_produce, 20, 20);
  while (!corun_run_ended(run))
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(w.run_ends == 1 && w.exit_code == 0 && w.ends == 5 && w.lines == 5);
  for (size_t i = 0; i < 5; i++) {
    const corun_result_t *res = corun_run_result(run, i);
    char want[16];
    snprintf(want, sizeof want, "step %zu\n", i + 1);
    CHECK(res->status == CORUN_OK && res->out_len == strlen(want) &&
          memcmp(res->out_tail, want, res->out_len) == 0);
  }
  /* Closed: no more. */
  corun_job_desc_t late = {0};
  late.shell = "true";
  CHECK(corun_run_submit(run, &late, NULL, &err) == CORUN_ESTATE);
  corun_error_release(&err);
  CHECK(corun_run_free(run) == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

static const char *json =
    "{\"jobs\":["
    " {\"name\":\"hello\",\"cmd\":[\"echo\",\"hello from json\"]},"
    " {\"name\":\"after\",\"cmd\":\"echo after $GREETING\",\"needs\":[\"hello\"],"
    "  \"env\":{\"GREETING\":\"hi\"}}"
    "]}";

int main(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_tick, 10, 10);

  corun_error_t err = {0};
  corun_plan_t *from_json = NULL, *in_code = NULL;
  CHECK(corun_plan_load_buffer(&from_json, json, strlen(json), "inline.json",
                               NULL, &err) == 0);

  CHECK(corun_plan_new(&in_code, "code", NULL) == 0);
  const char *quick_argv[] = {"sh", "-c", "echo quick", NULL};
  const char *endless_argv[] = {"sh", "-c", "while :; do echo tick; sleep 0.05; done", NULL};
  corun_job_desc_t quick = {0}, endless = {0};
  quick.name = "quick";
  quick.argv = quick_argv;
  endless.name = "endless";
  endless.argv = endless_argv;
  endless.kill_grace_s = 1;
  CHECK(corun_plan_add_job(in_code, &quick, &err) == 0);
  CHECK(corun_plan_add_job(in_code, &endless, &err) == 0);
  CHECK(corun_plan_seal(in_code, &err) == 0);
  for (size_t i = 0; i < err.count; i++)
    fprintf(stderr, "%s\n", err.messages[i]);

  watch_t wa = {"json", 0, 0, 0, -1, (size_t)-1};
  watch_t wb = {"code", 0, 0, 0, -1, 1};
  corun_run_options_t oa = {0}, ob = {0};
  oa.cb.on_line = ob.cb.on_line = on_line;
  oa.cb.on_job_end = ob.cb.on_job_end = on_job_end;
  oa.cb.on_run_end = ob.cb.on_run_end = on_run_end;
  oa.data = &wa;
  ob.data = &wb;
  corun_run_t *ra = NULL, *rb = NULL;
  CHECK(corun_run_new(&ra, &loop, from_json, &oa, &err) == 0);
  CHECK(corun_run_new(&rb, &loop, in_code, &ob, &err) == 0);
  CHECK(corun_run_start(ra) == 0);
  CHECK(corun_run_start(rb) == 0);

  /* Run until both plans ended; the timer keeps ticking beside them. */
  while (!(corun_run_ended(ra) && corun_run_ended(rb)))
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);

  CHECK(wa.run_ends == 1 && wb.run_ends == 1);
  CHECK(wa.exit_code == 0);
  CHECK(wb.exit_code == 1); /* a cancelled job is not a success */
  CHECK(wa.ends == 2 && wb.ends == 2);
  CHECK(ticks >= 2);

  const corun_result_t *h = corun_run_result(ra, 0), *a = corun_run_result(ra, 1);
  CHECK(h->status == CORUN_OK && h->exit_code == 0 && h->attempts == 1);
  CHECK(h->out_len == strlen("hello from json\n") &&
        memcmp(h->out_tail, "hello from json\n", h->out_len) == 0);
  CHECK(a->status == CORUN_OK && a->out_len == strlen("after hi\n") &&
        memcmp(a->out_tail, "after hi\n", a->out_len) == 0);
  const corun_result_t *q = corun_run_result(rb, 0), *e = corun_run_result(rb, 1);
  CHECK(q->status == CORUN_OK && q->pid > 0);
  CHECK(e->status == CORUN_CANCELLED);
  CHECK(e->out_len >= 5 && memcmp(e->out_tail, "tick\n", 5) == 0);

  CHECK(corun_run_free(ra) == 0);
  CHECK(corun_run_free(rb) == 0);
  corun_plan_free(from_json);
  corun_plan_free(in_code);
  corun_error_release(&err);
  CHECK(uv_loop_close(&loop) == 0);
  open_run();
  if (failures == 0)
    printf("embed: 1 passed, 0 failed\n");
  else
    printf("embed: 0 passed, 1 failed\n");
  return failures ? 1 : 0;
}
