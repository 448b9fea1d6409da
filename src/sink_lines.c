/* The line sink: splits each stream into lines (lines.c) and hands every
 * line to the sinks that take lines. Installed only when one does. */
#include "internal.h"

#include <stdlib.h>

typedef struct {
  corun__sink_t base;
  size_t n_jobs;
  corun__carry_t (*carry)[2];
} lines_sink_t;

typedef struct {
  corun_run_t *run;
  size_t job;
  corun_stream_t stream;
} line_ctx_t;

static void emit(void *ctx, const char *s, size_t n) {
  line_ctx_t *lc = ctx;
  corun__run_line(lc->run, lc->job, lc->stream, s, n);
}

static void lines_bytes(corun__sink_t *s, size_t job, corun_stream_t st,
                        const char *b, size_t n) {
  lines_sink_t *ls = (lines_sink_t *)s;
  line_ctx_t lc = {s->run, job, st};
  corun__lines_feed(&ls->carry[job][st == CORUN_STDOUT ? 0 : 1],
                    corun__run_line_max(s->run), b, n, emit, &lc);
}

static void lines_eof(corun__sink_t *s, size_t job, corun_stream_t st) {
  lines_sink_t *ls = (lines_sink_t *)s;
  line_ctx_t lc = {s->run, job, st};
  corun__lines_flush(&ls->carry[job][st == CORUN_STDOUT ? 0 : 1], emit, &lc);
}

static void lines_attempt_end(corun__sink_t *s, size_t job,
                              corun_result_t *res) {
  lines_sink_t *ls = (lines_sink_t *)s;
  (void)res;
  corun__carry_free(&ls->carry[job][0]);
  corun__carry_free(&ls->carry[job][1]);
}

static void lines_free(corun__sink_t *s) {
  lines_sink_t *ls = (lines_sink_t *)s;
  for (size_t i = 0; i < ls->n_jobs; i++) {
    corun__carry_free(&ls->carry[i][0]);
    corun__carry_free(&ls->carry[i][1]);
  }
  free(ls->carry);
  free(ls);
}

static const corun__sink_ops_t lines_ops = {
    .bytes = lines_bytes,
    .eof = lines_eof,
    .attempt_end = lines_attempt_end,
    .free = lines_free,
};

int corun__sink_lines(corun__sink_t **out, corun_run_t *run) {
  corun__carry_t(*carry)[2] = NULL;
  lines_sink_t *ls = corun__sink_new(sizeof *ls, &lines_ops, run, sizeof *carry, &carry);
  *out = &ls->base;
  if (ls == NULL)
    return UV_ENOMEM;
  ls->carry = carry;
  ls->n_jobs = corun_plan_job_count(corun__run_plan(run));
  return 0;
}
