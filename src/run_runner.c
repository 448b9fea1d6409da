/*
 * A run as the scheduler and the launcher see it (the run as the embedder
 * sees it is run.c, what both share run.h). The scheduler drives the
 * runner here: it starts an attempt through the launcher once the sinks
 * are prepared for it, stops one, defers a retry or its next look at the
 * queue on a timer of the run's (held while the run is suspended), and
 * tells of every job's end, of retries and of a halt. The launcher reports
 * back through the callbacks here what an attempt wrote and how it ended.
 * Each of these goes on to the run's sinks.
 *
 * Teardown follows libuv's rules: the run ends (on_run_end) only after
 * every job ended and every handle of the run was closed, so the embedder
 * may free the run and close its loop right there.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A retry delay (job) or the pump's wait (CORUN__NO_JOB): a timer of the
 * run's, counted in its open handles until closed. */
typedef struct deferral_s {
  uv_timer_t timer; /* first: a deferral is found from its timer */
  corun_run_t *run;
  size_t job;
  uint64_t held_ms; /* left when the run was suspended */
} deferral_t;

/* ---- launcher callbacks ----------------------------------------------------- */

static void on_data(void *ctx, size_t job, corun_stream_t st, const char *b,
                    size_t n) {
  corun_run_t *r = ctx;
  EACH_SINK(s, bytes) s->ops->bytes(s, job, st, b, n);
}

static void on_eof(void *ctx, size_t job, corun_stream_t st) {
  corun_run_t *r = ctx;
  EACH_SINK(s, eof) s->ops->eof(s, job, st);
}

static void attempt_over(corun_run_t *r, size_t job) {
  rjob_t *j = RJ(r, job);
  EACH_SINK(s, attempt_end) s->ops->attempt_end(s, job, &j->res);
}

static void on_done(void *ctx, size_t job, const corun__exit_t *ex) {
  corun_run_t *r = ctx;
  rjob_t *j = RJ(r, job);
  j->res.exit_code = ex->exit_code;
  j->res.signal = ex->signal;
  j->res.duration_s = (double)(uv_hrtime() - j->start_hr) / 1e9;
  j->handle = NULL;
  attempt_over(r, job);
  corun__sched_ended(r->sched, job, ex->how);
}

/* ---- the runner the scheduler drives ----------------------------------- */

static int r_start(void *ctx, size_t job, unsigned attempt) {
  corun_run_t *r = ctx;
  rjob_t *j = RJ(r, job);
  const corun_job_desc_t *d = &corun__pjob(r->plan, job)->d;
  const char *sh_argv[4] = {"/bin/sh", "-c", d->shell, NULL};
  corun__attempt_t a;
  memset(&a, 0, sizeof a);
  a.job = job;
  a.attempt = attempt;
  a.name = d->name;
  a.argv = d->argv ? d->argv : sh_argv;
  a.env = d->env;
  a.cwd = d->cwd ? d->cwd : r->plan->base_dir;
  a.stdin_text = d->stdin_text;
  a.timeout_s = d->timeout_s > 0 ? d->timeout_s : r->opts.default_timeout_s;
  a.kill_grace_s = d->kill_grace_s;
  /* A new attempt: the result describes it alone from here on, and holds
   * no pointer into buffers the attempt may move. */
  j->res.out_tail = j->res.err_tail = NULL;
  j->res.out_len = j->res.err_len = 0;
  j->res.out_truncated = j->res.err_truncated = 0;
  j->res.exit_code = -1;
  j->res.signal = 0;
  j->res.pid = 0;
  j->res.duration_s = 0;
  j->start_hr = uv_hrtime();
  j->res.started_at = r->t0_wall + (double)(j->start_hr - r->t0_hr) / 1e9;
  j->res.attempts = attempt;
  char mark[CORUN__MARK_MAX + 24];
  snprintf(mark, sizeof mark, "%s%zu", r->mark, job);
  a.mark = mark;
  char why[512] = "";
  int rc = 0;
  EACH_SINK(s, prepare) {
    if ((rc = s->ops->prepare(s, job, attempt, why, sizeof why)) != 0)
      break;
  }
  long pid = 0;
  if (rc == 0)
    rc = r->launch_ops->start(r->launcher, &a, &j->handle, &pid, why,
                              sizeof why);
  if (rc != 0) {
    /* Kept for the report: a job that waits too long for descriptors
     * ends `error` with this reason. */
    attempt_over(r, job);
    free(j->error);
    j->error = corun__strdup(why);
    j->res.error = j->error;
    return rc;
  }
  j->res.pid = pid;
  free(j->error);
  j->error = NULL;
  j->res.error = NULL;
  EACH_SINK(s, start) s->ops->start(s, job, attempt, pid);
  return 0;
}

static void r_stop(void *ctx, size_t job, bool kill_now) {
  corun_run_t *r = ctx;
  if (RJ(r, job)->handle != NULL)
    r->launch_ops->stop(r->launcher, RJ(r, job)->handle, kill_now);
}

static void maybe_end(corun_run_t *r);

static void deferral_closed(uv_handle_t *h) {
  deferral_t *d = h->data;
  corun_run_t *r = d->run;
  free(d);
  r->open_handles--;
  maybe_end(r);
}

static void deferral_fired(uv_timer_t *t) {
  deferral_t *d = t->data;
  corun_run_t *r = d->run;
  size_t job = d->job;
  if (job == CORUN__NO_JOB)
    r->pump_timer = NULL;
  else
    RJ(r, job)->retry_timer = NULL;
  uv_close((uv_handle_t *)t, deferral_closed);
  corun__sched_due(r->sched, job);
}

static int r_defer(void *ctx, size_t job, double delay_s) {
  corun_run_t *r = ctx;
  deferral_t *d = malloc(sizeof *d);
  if (d == NULL || uv_timer_init(r->loop, &d->timer) != 0) {
    free(d);
    return UV_ENOMEM;
  }
  d->run = r;
  d->job = job;
  d->timer.data = d;
  r->open_handles++;
  double ms = delay_s * 1000.0;
  d->held_ms = ms < 0 ? 0 : (uint64_t)ms;
  if (!r->suspended)
    uv_timer_start(&d->timer, deferral_fired, d->held_ms, 0);
  if (job == CORUN__NO_JOB)
    r->pump_timer = &d->timer;
  else
    RJ(r, job)->retry_timer = &d->timer;
  return 0;
}

static void r_undefer(void *ctx, size_t job) {
  corun_run_t *r = ctx;
  uv_timer_t **t = job == CORUN__NO_JOB ? &r->pump_timer : &RJ(r, job)->retry_timer;
  if (*t != NULL) {
    uv_timer_stop(*t);
    uv_close((uv_handle_t *)*t, deferral_closed);
    *t = NULL;
  }
}

static void r_job_end(void *ctx, size_t job, corun_status_t st,
                      const char *reason) {
  corun_run_t *r = ctx;
  rjob_t *j = RJ(r, job);
  j->res.status = st;
  j->res.attempts = corun__sched_attempts(r->sched, job);
  if (reason != NULL) {
    free(j->reason);
    j->reason = corun__strdup(reason);
    j->res.reason = j->reason;
  }
  if (st == CORUN_SKIPPED) {
    j->res.exit_code = -1;
    j->res.error = NULL;
  }
  EACH_SINK(s, job_end) s->ops->job_end(s, job, &j->res);
}

static void r_retry(void *ctx, size_t job, corun_status_t failed,
                    unsigned next, double delay) {
  corun_run_t *r = ctx;
  rjob_t *j = RJ(r, job);
  j->res.status = failed; /* the failed attempt's, during the calls */
  EACH_SINK(s, retry) s->ops->retry(s, job, &j->res, next, delay);
  j->res.status = CORUN_PENDING;
}

static void r_halted(void *ctx, const char *policy) {
  corun_run_t *r = ctx;
  EACH_SINK(s, halt) s->ops->halt(s, policy);
}

static void launcher_closed(void *arg) {
  corun_run_t *r = arg;
  r->launcher = NULL;
  r->open_handles--;
  maybe_end(r);
}

/* The code the run ends with: the embedder's, or the scheduler's, where a
 * log that could not be written in full fails the run it records. */
static int final_code(const corun_run_t *r) {
  if (r->exit_override >= 0)
    return r->exit_override;
  int code = corun__sched_exit_code(r->sched);
  for (size_t i = 0; code == 0 && i < r->n_jobs; i++)
    if (r->selected[i] && RJ(r, i)->res.log_error != 0)
      code = 1;
  return code;
}

static void r_all_ended(void *ctx) {
  corun_run_t *r = ctx;
  r->t1_hr = uv_hrtime();
  /* Every job ended: the watchdog has nothing left to guard. */
  if (r->watchdog_fd >= 0)
    close(r->watchdog_fd);
  r->watchdog_fd = -1;
  r->state = R_CLOSING;
  r->launch_ops->close(r->launcher, launcher_closed, r);
}

/* The run ends once the scheduler is done and every handle is closed: the
 * files are written, then the embedder hears of it, last of all. */
static void maybe_end(corun_run_t *r) {
  if (r->state != R_CLOSING || r->open_handles > 0)
    return;
  r->state = R_ENDED;
  r->exit_code = final_code(r);
  for (corun__sink_t *s = r->sinks; s != NULL; s = s->next)
    if (s != r->cb_sink && s->ops->run_end != NULL)
      s->ops->run_end(s, r->exit_code);
  if (r->cb_sink != NULL)
    r->cb_sink->ops->run_end(r->cb_sink, r->exit_code);
  /* The run may be freed by now. */
}

const corun__runner_t corun__run_runner = {
    r_start, r_stop, r_defer, r_undefer, r_job_end, r_retry, r_halted,
    r_all_ended,
};

const corun__launch_cb_t corun__run_launch_cb = {on_data, on_eof, on_done};

/* ---- suspension ---------------------------------------------------------- */

/* Hold or restart a retry delay or the pump's wait. */
static void hold(corun_run_t *r, uv_timer_t *t) {
  if (t == NULL)
    return;
  deferral_t *d = (deferral_t *)t;
  if (r->suspended) {
    d->held_ms = uv_timer_get_due_in(t);
    uv_timer_stop(t);
  } else {
    uv_timer_start(t, deferral_fired, d->held_ms, 0);
  }
}

void corun__run_hold_deferrals(corun_run_t *r) {
  hold(r, r->pump_timer);
  for (size_t i = 0; i < r->n_jobs; i++)
    hold(r, RJ(r, i)->retry_timer);
}
