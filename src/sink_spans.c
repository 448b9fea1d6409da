/* The span recorder: one span per attempt, from its start to its end, on
 * the lowest lane free at its start, so that lanes are the parallel slots
 * of the picture. The trace and the timeline are drawn from it. */
#include "internal.h"

#include <stdlib.h>

typedef struct {
  corun__sink_t base;
  corun__span_t *spans;
  size_t n, cap;
  /* per job (in base.jobs): index of its running span + 1 */
  unsigned char *busy;   /* per lane */
  size_t lanes;
} spans_sink_t;

static size_t *open_of(spans_sink_t *ss, size_t job) {
  return corun__sink_job(&ss->base, job);
}

static void spans_start(corun__sink_t *s, size_t job, unsigned attempt,
                        long pid) {
  spans_sink_t *ss = (spans_sink_t *)s;
  (void)pid;
  if (corun__grow(&ss->spans, &ss->cap, ss->n + 1, sizeof *ss->spans) != 0)
    return;
  unsigned lane = 0;
  while (lane < ss->lanes && ss->busy[lane])
    lane++;
  if (lane == ss->lanes) {
    unsigned char *b = realloc(ss->busy, ss->lanes + 1);
    if (b == NULL)
      return;
    ss->busy = b;
    ss->lanes++;
  }
  ss->busy[lane] = 1;
  corun__span_t *sp = &ss->spans[ss->n++];
  sp->job = job;
  sp->attempt = attempt;
  sp->lane = lane;
  sp->t0 = corun__run_now(s->run);
  sp->t1 = sp->t0;
  sp->status = CORUN_PENDING;
  *open_of(ss, job) = ss->n;
}

static void span_close(spans_sink_t *ss, size_t job, corun_status_t st) {
  if (*open_of(ss, job) == 0)
    return;
  corun__span_t *sp = &ss->spans[*open_of(ss, job) - 1];
  sp->t1 = corun__run_now(ss->base.run);
  sp->status = st;
  ss->busy[sp->lane] = 0;
  *open_of(ss, job) = 0;
}

static void spans_retry(corun__sink_t *s, size_t job,
                        const corun_result_t *failed, unsigned next,
                        double delay) {
  (void)next, (void)delay;
  span_close((spans_sink_t *)s, job, failed->status);
}

static void spans_job_end(corun__sink_t *s, size_t job,
                          const corun_result_t *res) {
  span_close((spans_sink_t *)s, job, res->status);
}

static void spans_free(corun__sink_t *s) {
  spans_sink_t *ss = (spans_sink_t *)s;
  free(ss->spans);
  free(ss->busy);
}

static const corun__sink_ops_t spans_ops = {
    .start = spans_start,
    .retry = spans_retry,
    .job_end = spans_job_end,
    .free = spans_free,
};

int corun__sink_spans(corun__sink_t **out, corun_run_t *run) {
  spans_sink_t *ss = corun__sink_new(sizeof *ss, &spans_ops, run, sizeof(size_t));
  *out = &ss->base;
  return ss ? 0 : UV_ENOMEM;
}

const corun__span_t *corun__spans(const corun__sink_t *s, size_t *n,
                                  size_t *lanes) {
  const spans_sink_t *ss = (const spans_sink_t *)s;
  *n = ss ? ss->n : 0;
  *lanes = ss ? ss->lanes : 0;
  return ss ? ss->spans : NULL;
}
