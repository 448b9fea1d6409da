/*
 * A run: one plan executing on a loop. A run joins the scheduler (what
 * runs when) to a launcher (how an attempt is started, watched and
 * stopped) and hands everything that happens to the run's sinks (the
 * captured tails, log files, line splitter, the embedder's callbacks and
 * the files of SPEC §5). It owns each job's result; it writes nothing
 * itself. A sink nobody asked for is not installed and costs nothing.
 *
 * This file is the run as the embedder sees it: creating one and wiring
 * its sinks, taking jobs into an open run, and the public run API.
 * run_runner.c is the run as the scheduler and the launcher see it, and
 * where it ends; run.h holds what the two share.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- what sinks may read ------------------------------------------------- */

const corun_plan_t *corun__run_plan(const corun_run_t *r) { return r->plan; }

bool corun__run_selected(const corun_run_t *r, size_t job) {
  return job < r->n_jobs && r->selected[job];
}

double corun__run_now(const corun_run_t *r) {
  return r->state == R_NEW ? 0 : (double)(uv_hrtime() - r->t0_hr) / 1e9;
}

size_t corun__run_tail_cap(const corun_run_t *r) { return r->tail_cap; }
size_t corun__run_line_max(const corun_run_t *r) { return r->line_max; }

const char *corun__run_job_name(const corun_run_t *r, size_t job) {
  return corun__pjob(r->plan, job)->d.name;
}

/* ---- the sink list --------------------------------------------------------- */

static void add_sink(corun_run_t *r, corun__sink_t *s) {
  s->next = NULL;
  if (r->sinks_tail)
    r->sinks_tail->next = s;
  else
    r->sinks = s;
  r->sinks_tail = s;
}

void corun__run_line(corun_run_t *r, size_t job, corun_stream_t st,
                     const char *line, size_t len) {
  EACH_SINK(s, line) s->ops->line(s, job, st, line, len);
}

corun__sink_t *corun__run_spans(corun_run_t *r) {
  if (r->spans == NULL && corun__sink_spans(&r->spans, r) == 0)
    add_sink(r, r->spans);
  return r->spans;
}

/* ---- the public run API ------------------------------------------------- */

/* Create a folder and any missing parents, as mkdir -p does. */
static int mkdir_p(const char *path) {
  char *p = strdup(path);
  if (p == NULL) {
    errno = ENOMEM;
    return -1;
  }
  for (char *c = p + 1; *c; c++) {
    if (*c != '/')
      continue;
    *c = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *c = '/';
  }
  int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
  free(p);
  if (rc == 0) {
    struct stat st;
    if (stat(path, &st) != 0)
      return -1;
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return -1;
    }
  }
  return rc;
}

static int sys_fail(corun_run_t *r, corun_error_t *err, const char *what) {
  int e = errno;
  corun__err_add(err, uv_translate_sys_error(e), "%s: %s", what, strerror(e));
  corun_run_free(r);
  return uv_translate_sys_error(e);
}

static unsigned cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* An open run's own plan: empty, sealed, taking jobs as they come, with
 * the pools the options name. */
static int open_plan(corun_plan_t **out, const corun_run_options_t *o,
                     corun_error_t *err) {
  corun_plan_t *p = NULL;
  int rc = corun_plan_new(&p, "run", NULL);
  for (size_t k = 0; rc == 0 && k < o->n_pools; k++)
    rc = corun_plan_add_pool(p, o->pools[k].name, o->pools[k].slots, err);
  if (rc == 0)
    rc = corun__plan_open(p);
  if (rc != 0) {
    corun_plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* Room and a fresh result for job i of the plan. */
static int add_job(corun_run_t *r, size_t i) {
  if (corun__svec_reserve(&r->jobs, i + 1) != 0 ||
      corun__grow(&r->selected, &r->cap_selected, i + 1, 1) != 0)
    return UV_ENOMEM;
  RJ(r, i)->res.name = corun__pjob(r->plan, i)->d.name;
  RJ(r, i)->res.exit_code = -1;
  r->selected[i] = 1;
  r->n_jobs = i + 1;
  return 0;
}

int corun_run_new(corun_run_t **out, uv_loop_t *loop, const corun_plan_t *plan,
                  const corun_run_options_t *opts, corun_error_t *err) {
  static const corun_run_options_t none;
  *out = NULL;
  if (opts == NULL)
    opts = &none;
  if (loop == NULL) {
    corun__err_add(err, UV_EINVAL, "a loop is required");
    return UV_EINVAL;
  }
  if (plan != NULL && !plan->sealed) {
    corun__err_add(err, CORUN_ESTATE, "%s: the plan is not sealed", plan->label);
    return CORUN_ESTATE;
  }
  if (plan != NULL && opts->n_pools > 0) {
    corun__err_add(err, CORUN_ESTATE,
                   "pools in the options are for open runs; a plan has its own");
    return CORUN_ESTATE;
  }
  const char *halt = opts->halt ? opts->halt
                     : plan     ? corun_plan_halt(plan)
                                : "never";
  corun__halt_t h;
  if (corun__halt_parse(halt, &h) != 0) {
    corun__err_add(err, CORUN_EINVALID, "halt: %s", corun__halt_expected);
    return CORUN_EINVALID;
  }
  corun_run_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return UV_ENOMEM;
  r->loop = loop;
  r->opts = *opts;
  r->opts.select = NULL; /* borrowed: not kept */
  r->opts.pools = NULL;
  r->launch_ops = &corun__launch_local;
  r->jobs.size = sizeof(rjob_t);
  r->exit_code = -1;
  r->exit_override = -1;
  r->watchdog_fd = -1;
  snprintf(r->mark, sizeof r->mark, "%s%ld.%llx:", CORUN__MARK_VAR,
           (long)getpid(),
           (unsigned long long)(uv_hrtime() ^ (uintptr_t)r) & 0xffffffffffULL);
  int rc;
  if (plan == NULL) {
    corun_plan_t *own = NULL;
    if ((rc = open_plan(&own, opts, err)) != 0) {
      free(r);
      return rc;
    }
    plan = own;
    r->own_plan = true;
  }
  r->plan = plan;
  size_t n = plan->n_jobs;
  r->halt_text = strdup(halt);
  r->tail_cap = opts->tail_bytes ? opts->tail_bytes : CORUN_DEFAULT_TAIL;
  r->line_max = opts->line_max ? opts->line_max : 64 * 1024;
  if (r->halt_text == NULL)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    if (add_job(r, i) != 0)
      goto nomem;
  if (n > 0 && (rc = corun_plan_select(plan, opts->select, opts->n_select,
                                       r->selected, err)) != 0) {
    corun_run_free(r);
    return rc;
  }
  corun__sink_t *s;
  if (corun__sink_tail(&s, r) != 0)
    goto nomem;
  add_sink(r, s);
  if (opts->log_dir != NULL) {
    if (mkdir_p(opts->log_dir) != 0 || access(opts->log_dir, W_OK | X_OK) != 0)
      return sys_fail(r, err, opts->log_dir);
    if (corun__sink_log(&s, r, opts->log_dir) != 0)
      goto nomem;
    add_sink(r, s);
  }
  unsigned jobs = opts->jobs ? opts->jobs
                  : plan->max_parallel ? plan->max_parallel
                                       : cpu_count();
  rc = corun__sched_new(&r->sched, plan, r->selected, jobs, &h, r->halt_text,
                        &corun__run_runner, r);
  if (rc != 0)
    goto nomem;
  *out = r;
  return 0;
nomem:
  corun__err_add(err, UV_ENOMEM, "out of memory");
  corun_run_free(r);
  return UV_ENOMEM;
}

int corun_run_submit(corun_run_t *r, const corun_job_desc_t *job, size_t *index,
                     corun_error_t *err) {
  if (!r->own_plan || r->input_closed || r->state == R_CLOSING ||
      r->state == R_ENDED) {
    corun__err_add(err, CORUN_ESTATE, "the run takes no more jobs");
    return CORUN_ESTATE;
  }
  /* Room everywhere first: once the plan has the job, nothing may fail,
   * or the plan and the scheduler would disagree on indexes. */
  size_t n = r->n_jobs + 1;
  int pool = -1;
  for (size_t k = 0; job->pool && k < r->plan->n_pools; k++)
    if (strcmp(r->plan->pool_names[k], job->pool) == 0)
      pool = (int)k;
  bool room = corun__svec_reserve(&r->jobs, n) == 0 &&
              corun__grow(&r->selected, &r->cap_selected, n, 1) == 0 &&
              corun__sched_reserve(r->sched, pool) == 0;
  for (corun__sink_t *s = r->sinks; room && s != NULL; s = s->next)
    room = corun__sink_reserve(s, n) == 0;
  if (!room) {
    corun__err_add(err, UV_ENOMEM, "out of memory");
    return UV_ENOMEM;
  }
  size_t i;
  int rc = corun__plan_append((corun_plan_t *)r->plan, job, &i, err);
  if (rc != 0)
    return rc;
  add_job(r, i);
  for (corun__sink_t *s = r->sinks; s != NULL; s = s->next)
    corun__sink_add_job(s);
  if (index != NULL)
    *index = i;
  /* Last: the scheduler may start it, and its callbacks may come now. */
  return corun__sched_add(r->sched);
}

int corun_run_close_input(corun_run_t *r) {
  if (!r->own_plan || r->input_closed)
    return CORUN_ESTATE;
  r->input_closed = true;
  corun__sched_close_input(r->sched);
  return 0;
}

int corun_run_add_output(corun_run_t *r, corun_format_t format, FILE *f) {
  static int (*const make[CORUN_FORMAT_COUNT])(corun__sink_t **, corun_run_t *,
                                               FILE *) = {
      corun__sink_report, corun__sink_events, corun__sink_junit,
      corun__sink_trace, corun__sink_timeline,
  };
  if ((unsigned)format >= CORUN_FORMAT_COUNT || f == NULL)
    return UV_EINVAL;
  if (r->state != R_NEW || r->outputs[format] != NULL)
    return CORUN_ESTATE;
  corun__sink_t *s;
  int rc = make[format](&s, r, f);
  if (rc != 0)
    return rc;
  add_sink(r, s);
  r->outputs[format] = s;
  return 0;
}

int corun_run_output_error(const corun_run_t *r, corun_format_t format) {
  if ((unsigned)format >= CORUN_FORMAT_COUNT || r->outputs[format] == NULL)
    return 0;
  return r->outputs[format]->error;
}

int corun_run_set_exit_code(corun_run_t *r, int code) {
  if (code < 0 || code > 255)
    return UV_EINVAL;
  if (r->state == R_ENDED)
    return CORUN_ESTATE;
  r->exit_override = code;
  return 0;
}

/* The last sinks, once every other is known: the embedder's callbacks, and
 * the line splitter when anyone wants lines. */
static int wire_last(corun_run_t *r) {
  corun__sink_t *s;
  if (corun__sink_callbacks(&s, r, &r->opts.cb, r->opts.data) != 0)
    return UV_ENOMEM;
  add_sink(r, s);
  r->cb_sink = s;
  bool lines = false;
  for (s = r->sinks; s != NULL; s = s->next)
    lines = lines || s->ops->line != NULL;
  if (lines) {
    if (corun__sink_lines(&s, r) != 0)
      return UV_ENOMEM;
    add_sink(r, s);
  }
  return 0;
}

int corun_run_start(corun_run_t *r) {
  if (r->state != R_NEW)
    return CORUN_ESTATE;
  int rc = wire_last(r);
  if (rc != 0)
    return rc;
  rc = r->launch_ops->open(&r->launcher, r->loop, &corun__run_launch_cb, r);
  if (rc != 0) {
    if (r->launcher != NULL) {
      /* Its handles exist: close them before reporting the error. */
      r->launch_ops->close(r->launcher, NULL, NULL);
      r->launcher = NULL;
    }
    return rc;
  }
  r->open_handles++; /* the launcher */
  /* After the launcher, which needs its descriptors more: without one or
   * a process to spare the run goes on unguarded rather than not at all
   * (its jobs could hardly start either). */
  if (r->opts.watchdog && (r->watchdog_fd = corun__watchdog_start(r->mark)) < 0)
    r->watchdog_fd = -1;
  r->state = R_RUNNING;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r->t0_wall = (double)ts.tv_sec + ts.tv_nsec / 1e9;
  r->t0_hr = uv_hrtime();
  corun__sched_start(r->sched);
  return 0;
}

int corun_run_cancel(corun_run_t *r, int kill_now) {
  if (r->state != R_RUNNING)
    return 0;
  corun__sched_cancel(r->sched, kill_now != 0);
  return 0;
}

int corun_run_cancel_job(corun_run_t *r, size_t job) {
  if (job >= r->n_jobs)
    return CORUN_ENOJOB;
  if (r->state != R_RUNNING)
    return 0;
  corun__sched_cancel_job(r->sched, job);
  return 0;
}

int corun_run_pause_output(corun_run_t *r, int paused) {
  if (r->state == R_RUNNING && r->launcher != NULL)
    r->launch_ops->pause(r->launcher, paused != 0);
  return 0;
}

int corun_run_suspend(corun_run_t *r, int suspended) {
  if (r->state != R_RUNNING || r->suspended == (suspended != 0))
    return 0;
  if (r->launch_ops->suspend == NULL)
    return UV_ENOTSUP;
  r->suspended = suspended != 0;
  r->launch_ops->suspend(r->launcher, r->suspended);
  corun__run_hold_deferrals(r);
  return 0;
}

int corun_run_free(corun_run_t *r) {
  if (r == NULL)
    return 0;
  if (r->state == R_RUNNING || r->state == R_CLOSING)
    return CORUN_ESTATE;
  while (r->sinks != NULL) {
    corun__sink_t *s = r->sinks;
    r->sinks = s->next;
    corun__sink_free(s);
  }
  for (size_t i = 0; i < r->n_jobs; i++) {
    free(RJ(r, i)->error);
    free(RJ(r, i)->reason);
  }
  if (r->watchdog_fd >= 0)
    close(r->watchdog_fd);
  corun__svec_free(&r->jobs);
  if (r->own_plan)
    corun_plan_free((corun_plan_t *)r->plan);
  free(r->selected);
  corun__sched_free(r->sched);
  free(r->halt_text);
  if (r->own_loop) {
    uv_loop_close(r->loop);
    free(r->loop);
  }
  free(r);
  return 0;
}

const corun_plan_t *corun_run_plan(const corun_run_t *r) { return r->plan; }

int corun_run_selected(const corun_run_t *r, size_t job) {
  return corun__run_selected(r, job);
}

const corun_result_t *corun_run_result(const corun_run_t *r, size_t job) {
  return job < r->n_jobs ? &RJ(r, job)->res : NULL;
}

int corun_run_exit_code(const corun_run_t *r) {
  return r->state == R_ENDED ? r->exit_code : -1;
}

int corun_run_ended(const corun_run_t *r) { return r->state == R_ENDED; }

int corun_run_cancelled(const corun_run_t *r) {
  return r->sched != NULL && corun__sched_cancelled(r->sched);
}

double corun_run_started_at(const corun_run_t *r) { return r->t0_wall; }

double corun_run_duration(const corun_run_t *r) {
  uint64_t end = r->state == R_ENDED ? r->t1_hr : uv_hrtime();
  return r->state == R_NEW ? 0 : (double)(end - r->t0_hr) / 1e9;
}

int corun_run_blocking(corun_run_t **out, const corun_plan_t *plan,
                       const corun_run_options_t *opts, corun_error_t *err) {
  *out = NULL;
  uv_loop_t *loop = malloc(sizeof *loop);
  if (loop == NULL)
    return UV_ENOMEM;
  int rc = uv_loop_init(loop);
  if (rc != 0) {
    free(loop);
    return rc;
  }
  corun_run_t *r = NULL;
  if ((rc = corun_run_new(&r, loop, plan, opts, err)) != 0) {
    uv_loop_close(loop);
    free(loop);
    return rc;
  }
  r->own_loop = true;
  if ((rc = corun_run_start(r)) != 0) {
    corun__err_add(err, rc, "cannot start the run: %s", uv_strerror(rc));
    uv_run(loop, UV_RUN_DEFAULT);
    corun_run_free(r);
    return rc;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  *out = r;
  return r->exit_code;
}

void corun__run_use_launcher(corun_run_t *r, const corun__launcher_ops_t *ops) {
  if (r->state == R_NEW)
    r->launch_ops = ops;
}
