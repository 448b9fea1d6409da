/* What every sink shares: its allocation with the base filled in, and for
 * the sinks that keep something per job, one element per job in a vector
 * whose elements never move, growing as an open run takes jobs. */
#include "internal.h"

#include <stdlib.h>

int corun__sink_reserve(corun__sink_t *s, size_t n) {
  return s->jobs.size == 0 ? 0 : corun__svec_reserve(&s->jobs, n);
}

int corun__sink_add_job(corun__sink_t *s) {
  if (s->jobs.size == 0)
    return 0;
  if (corun__sink_reserve(s, s->n_jobs + 1) != 0)
    return UV_ENOMEM;
  if (s->ops->job_added)
    s->ops->job_added(s, s->n_jobs);
  s->n_jobs++;
  return 0;
}

void *corun__sink_new(size_t size, const corun__sink_ops_t *ops,
                      corun_run_t *run, size_t job_size) {
  corun__sink_t *s = calloc(1, size);
  if (s == NULL)
    return NULL;
  s->ops = ops;
  s->run = run;
  s->jobs.size = job_size;
  size_t n = corun_plan_job_count(corun__run_plan(run));
  for (size_t i = 0; job_size > 0 && i < n; i++) {
    if (corun__sink_add_job(s) != 0) {
      corun__sink_free(s);
      return NULL;
    }
  }
  return s;
}

void corun__sink_free(corun__sink_t *s) {
  if (s->ops && s->ops->free)
    s->ops->free(s);
  corun__svec_free(&s->jobs);
  free(s);
}
