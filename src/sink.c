/* What every sink shares: its allocation, with the base filled in and,
 * for the sinks that keep something per job, that array beside it. */
#include "internal.h"

#include <stdlib.h>

void *corun__sink_new(size_t size, const corun__sink_ops_t *ops,
                      corun_run_t *run, size_t job_size, void *jobs) {
  corun__sink_t *s = calloc(1, size);
  if (s == NULL)
    return NULL;
  s->ops = ops;
  s->run = run;
  if (job_size > 0) {
    size_t n = corun_plan_job_count(corun__run_plan(run));
    void *a = calloc(n ? n : 1, job_size);
    if (a == NULL) {
      free(s);
      return NULL;
    }
    *(void **)jobs = a;
  }
  return s;
}
