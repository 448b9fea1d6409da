/* The embedder's callbacks (corun_callbacks_t) as a sink, told after
 * every other sink; only the callbacks that are set are wired, so a run
 * without on_line splits no lines for it. */
#include "internal.h"

#include <stdlib.h>

typedef struct {
  corun__sink_t base;
  corun__sink_ops_t ops; /* the subset of cb_ops for the callbacks set */
  corun_callbacks_t cb;
  void *data;
} cb_sink_t;

#define CB(s) (((cb_sink_t *)(s))->cb)
#define DATA(s) (((cb_sink_t *)(s))->data)

static void cb_start(corun__sink_t *s, size_t job, unsigned attempt,
                     long pid) {
  CB(s).on_job_start(s->run, DATA(s), job, attempt, pid);
}

static void cb_bytes(corun__sink_t *s, size_t job, corun_stream_t st,
                     const char *b, size_t n) {
  CB(s).on_output(s->run, DATA(s), job, st, b, n);
}

static void cb_line(corun__sink_t *s, size_t job, corun_stream_t st,
                    const char *b, size_t n) {
  CB(s).on_line(s->run, DATA(s), job, st, b, n);
}

static void cb_retry(corun__sink_t *s, size_t job, const corun_result_t *r,
                     unsigned next, double delay) {
  CB(s).on_retry(s->run, DATA(s), job, r, next, delay);
}

static void cb_job_end(corun__sink_t *s, size_t job, const corun_result_t *r) {
  CB(s).on_job_end(s->run, DATA(s), job, r);
}

static void cb_halt(corun__sink_t *s, const char *policy) {
  CB(s).on_halt(s->run, DATA(s), policy);
}

/* Always wired: the run tells this sink last, and on_run_end may free the
 * run. */
static void cb_run_end(corun__sink_t *s, int exit_code) {
  if (CB(s).on_run_end)
    CB(s).on_run_end(s->run, DATA(s), exit_code);
}

int corun__sink_callbacks(corun__sink_t **out, corun_run_t *run,
                          const corun_callbacks_t *cb, void *data) {
  /* The ops live in the sink: they are set below, callback by callback. */
  cb_sink_t *cs = corun__sink_new(sizeof *cs, NULL, run, 0);
  *out = &cs->base;
  if (cs == NULL)
    return UV_ENOMEM;
  cs->cb = *cb;
  cs->data = data;
  cs->ops.start = cb->on_job_start ? cb_start : NULL;
  cs->ops.bytes = cb->on_output ? cb_bytes : NULL;
  cs->ops.line = cb->on_line ? cb_line : NULL;
  cs->ops.retry = cb->on_retry ? cb_retry : NULL;
  cs->ops.job_end = cb->on_job_end ? cb_job_end : NULL;
  cs->ops.halt = cb->on_halt ? cb_halt : NULL;
  cs->ops.run_end = cb_run_end;
  cs->base.ops = &cs->ops;
  return 0;
}
