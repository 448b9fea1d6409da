/*
 * What a run's two files share, and nothing outside them includes: the
 * run itself and each job's part of it. run.c is the run as the embedder
 * sees it: creating one, wiring its sinks, taking jobs into an open run,
 * and the public run API. run_runner.c is the run as the scheduler and
 * the launcher see it: the runner the scheduler drives, the callbacks
 * through which the launcher reports, and the end of the run.
 */
#ifndef CORUN_RUN_H
#define CORUN_RUN_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  corun_result_t res;
  void *handle;      /* the launcher's, while an attempt runs */
  char *error;
  char *reason;
  uv_timer_t *retry_timer;
  uint64_t start_hr;
} rjob_t;

enum { R_NEW, R_RUNNING, R_CLOSING, R_ENDED };

#define RJ(r, i) ((rjob_t *)corun__svec_at(&(r)->jobs, (i)))

struct corun_run_s {
  uv_loop_t *loop;
  bool own_loop;
  const corun_plan_t *plan;
  corun_run_options_t opts;
  unsigned char *selected;
  char *halt_text;
  corun__sched_t *sched;
  const corun__launcher_ops_t *launch_ops;
  corun__launcher_t *launcher;
  corun__sink_t *sinks, *sinks_tail;
  corun__sink_t *cb_sink; /* the embedder's callbacks: always told last */
  corun__sink_t *spans;
  corun__sink_t *outputs[CORUN_FORMAT_COUNT];
  corun__svec_t jobs; /* of rjob_t: results never move */
  size_t n_jobs;      /* jobs of the run (an open run's grow) */
  size_t cap_selected;
  bool own_plan;      /* an open run's: created and freed here */
  bool input_closed;
  int state;
  unsigned open_handles;
  uint64_t t0_hr, t1_hr;
  double t0_wall;
  int exit_code;
  int exit_override; /* -1: none */
  bool suspended;
  size_t tail_cap, line_max;
  uv_timer_t *pump_timer;
  char mark[CORUN__MARK_MAX]; /* "CORUN_JOB_ID=TOKEN:", the run's prefix */
  int watchdog_fd;            /* held while jobs may run; -1 none */
};

/* Each sink `s` of run `r` that has the callback `op`. */
#define EACH_SINK(s, op)                                                       \
  for (corun__sink_t *s = r->sinks; s != NULL; s = s->next)                    \
    if (s->ops->op != NULL)

/* ---- the run as the scheduler and the launcher see it (run_runner.c) ---- */

extern const corun__runner_t corun__run_runner;
extern const corun__launch_cb_t corun__run_launch_cb;
/* Hold every retry delay and the pump's wait while the run is suspended
 * (r->suspended), or restart them with what was left once it is not. */
void corun__run_hold_deferrals(corun_run_t *r);

#endif /* CORUN_RUN_H */
