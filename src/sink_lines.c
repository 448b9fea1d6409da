/* The line sink: splits each stream into lines (lines.c) and hands every
 * line to the sinks that take lines. Installed only when one does. */
#include "internal.h"

#include <stdlib.h>

/* Per job: corun__carry_t[2], the partial last line of each stream. */
static corun__carry_t *carry_of(corun__sink_t *s, size_t job,
                                corun_stream_t st) {
  return (corun__carry_t *)corun__sink_job(s, job) + (st == CORUN_STDOUT ? 0 : 1);
}

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
  line_ctx_t lc = {s->run, job, st};
  corun__lines_feed(carry_of(s, job, st), corun__run_line_max(s->run), b, n,
                    emit, &lc);
}

static void lines_eof(corun__sink_t *s, size_t job, corun_stream_t st) {
  line_ctx_t lc = {s->run, job, st};
  corun__lines_flush(carry_of(s, job, st), emit, &lc);
}

static void lines_attempt_end(corun__sink_t *s, size_t job,
                              corun_result_t *res) {
  (void)res;
  corun__carry_free(carry_of(s, job, CORUN_STDOUT));
  corun__carry_free(carry_of(s, job, CORUN_STDERR));
}

static void lines_free(corun__sink_t *s) {
  for (size_t i = 0; i < s->n_jobs; i++) {
    corun__carry_free(carry_of(s, i, CORUN_STDOUT));
    corun__carry_free(carry_of(s, i, CORUN_STDERR));
  }
}

static const corun__sink_ops_t lines_ops = {
    .bytes = lines_bytes,
    .eof = lines_eof,
    .attempt_end = lines_attempt_end,
    .free = lines_free,
};

int corun__sink_lines(corun__sink_t **out, corun_run_t *run) {
  *out = corun__sink_new(sizeof **out, &lines_ops, run, 2 * sizeof(corun__carry_t));
  return *out ? 0 : UV_ENOMEM;
}
