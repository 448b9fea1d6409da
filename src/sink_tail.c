/* The tail sink: the last tail_bytes of each stream of each job's current
 * attempt, which become the result's out_tail and err_tail (and the
 * report's stdout and stderr). Always installed. Each tail is a ring that
 * grows like a vector until it reaches its cap. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  char *buf;
  size_t alloc, len, head; /* ring: oldest byte at head once len == cap */
  uint64_t total;
} tail_t;

typedef struct {
  corun__sink_t base; /* per job: tail_t[2], stdout and stderr */
  size_t cap;
} tail_sink_t;

static tail_t *tails_of(corun__sink_t *s, size_t job) {
  return corun__sink_job(s, job);
}

static void tail_add(tail_t *t, size_t cap, const char *b, size_t n) {
  t->total += n;
  if (n > cap) {
    b += n - cap;
    n = cap;
  }
  if (t->head == t->len && t->len + n <= cap) {
    /* Not wrapped yet: grow like a vector, up to the cap. */
    if (t->len + n > t->alloc) {
      size_t a = t->alloc ? t->alloc : 256;
      while (a < t->len + n)
        a *= 2;
      if (a > cap)
        a = cap;
      char *nb = realloc(t->buf, a);
      if (nb == NULL)
        return;
      t->buf = nb;
      t->alloc = a;
    }
    memcpy(t->buf + t->len, b, n);
    t->len += n;
    t->head = t->len == cap ? 0 : t->len;
    return;
  }
  if (t->alloc < cap) {
    char *nb = realloc(t->buf, cap);
    if (nb == NULL)
      return;
    t->buf = nb;
    t->alloc = cap;
  }
  size_t first = cap - t->head < n ? cap - t->head : n;
  memcpy(t->buf + t->head, b, first);
  memcpy(t->buf, b + first, n - first);
  t->head = (t->head + n) % cap;
  t->len = t->len + n > cap ? cap : t->len + n;
}

/* Make the kept bytes contiguous from buf[0]. */
static void tail_linearize(tail_t *t, size_t cap) {
  if (t->len < cap || t->head == 0)
    return;
  char *nb = malloc(cap);
  if (nb == NULL)
    return;
  memcpy(nb, t->buf + t->head, cap - t->head);
  memcpy(nb + cap - t->head, t->buf, t->head);
  free(t->buf);
  t->buf = nb;
  t->head = 0;
}

static int tail_prepare(corun__sink_t *s, size_t job, unsigned attempt,
                        char *why, size_t why_len) {
  (void)attempt, (void)why, (void)why_len;
  for (int k = 0; k < 2; k++) {
    tail_t *t = &tails_of(s, job)[k];
    t->len = t->head = 0;
    t->total = 0;
  }
  return 0;
}

static void tail_bytes(corun__sink_t *s, size_t job, corun_stream_t st,
                       const char *b, size_t n) {
  tail_sink_t *ts = (tail_sink_t *)s;
  tail_add(&tails_of(s, job)[st == CORUN_STDOUT ? 0 : 1], ts->cap, b, n);
}

static void tail_attempt_end(corun__sink_t *s, size_t job,
                             corun_result_t *res) {
  tail_sink_t *ts = (tail_sink_t *)s;
  tail_t *t = tails_of(s, job);
  for (int k = 0; k < 2; k++)
    tail_linearize(&t[k], ts->cap);
  res->out_tail = t[0].buf;
  res->out_len = t[0].len;
  res->out_truncated = t[0].total > t[0].len;
  res->err_tail = t[1].buf;
  res->err_len = t[1].len;
  res->err_truncated = t[1].total > t[1].len;
}

static void tail_free(corun__sink_t *s) {
  for (size_t i = 0; i < s->n_jobs; i++)
    for (int k = 0; k < 2; k++)
      free(tails_of(s, i)[k].buf);
}

static const corun__sink_ops_t tail_ops = {
    .prepare = tail_prepare,
    .bytes = tail_bytes,
    .attempt_end = tail_attempt_end,
    .free = tail_free,
};

int corun__sink_tail(corun__sink_t **out, corun_run_t *run) {
  tail_sink_t *ts = corun__sink_new(sizeof *ts, &tail_ops, run, 2 * sizeof(tail_t));
  *out = &ts->base;
  if (ts == NULL)
    return UV_ENOMEM;
  ts->cap = corun__run_tail_cap(run);
  return 0;
}
