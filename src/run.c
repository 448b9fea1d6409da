/*
 * A run: one plan executing on a loop. This file joins the scheduler
 * (what runs when) to the launcher (processes) and feeds what the jobs
 * write to the sinks a run was asked for: the captured tails (always),
 * the log files (--log-dir), and the embedder's chunk and line callbacks.
 * A sink nobody asked for is not installed and costs nothing.
 *
 * Teardown follows libuv's rules: the run ends (on_run_end) only after
 * every job ended and every handle of the run was closed, so the embedder
 * may free the run and close its loop right there.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
  char *buf;
  size_t alloc, len, head; /* ring: oldest byte at head once len == cap */
  uint64_t total;
} tail_t;

typedef struct {
  corun_result_t res;
  corun__proc_t *proc;
  char *error;
  char *reason;
  tail_t tail[2];
  corun__carry_t carry[2];
  int log_fd[2];
  uv_timer_t *retry_timer;
  uint64_t start_hr;
} rjob_t;

typedef struct deferral_s {
  uv_timer_t timer;
  corun_run_t *run;
  size_t job;
} deferral_t;

enum { R_NEW, R_RUNNING, R_CLOSING, R_ENDED };

struct corun_run_s {
  uv_loop_t *loop;
  bool own_loop;
  const corun_plan_t *plan;
  corun_run_options_t opts;
  char *log_dir;
  char *halt_text;
  corun__halt_t halt;
  corun__sched_t *sched;
  corun__launcher_t *launcher;
  rjob_t *jobs;
  int state;
  unsigned open_handles;
  uint64_t t0_hr, t1_hr;
  double t0_wall;
  int exit_code;
  size_t tail_cap, line_max;
  uv_timer_t *pump_timer;
};

static int sidx(corun_stream_t s) { return s == CORUN_STDOUT ? 0 : 1; }

/* ---- the tail sink: the last tail_cap bytes of each stream ----------- */

static void tail_reset(tail_t *t) { t->len = t->head = 0, t->total = 0; }

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

/* ---- the line sink (the splitter is lines.c) --------------------------- */

typedef struct {
  corun_run_t *run;
  size_t job;
  corun_stream_t stream;
} line_ctx_t;

static void emit_line(void *ctx, const char *s, size_t n) {
  line_ctx_t *lc = ctx;
  corun_run_t *r = lc->run;
  r->opts.cb.on_line(r, r->opts.data, lc->job, lc->stream, s, n);
}

/* ---- the log sink: DIR/NAME.out and DIR/NAME.err ----------------------- */

static void log_close(rjob_t *j);

/* Open the job's two log files; 0, or the errno of the failure. */
static int log_open(corun_run_t *r, size_t job, unsigned attempt) {
  rjob_t *j = &r->jobs[job];
  const char *name = r->plan->jobs[job].d.name;
  for (int s = 0; s < 2; s++) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s.%s", r->log_dir, name, s ? "err" : "out") < 0) {
      log_close(j);
      return ENOMEM;
    }
    for (char *c = path + strlen(r->log_dir) + 1; *c; c++)
      if (*c == '/')
        *c = '_';
    /* Every attempt's output is kept, one after the other. */
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (attempt > 1 ? O_APPEND : O_TRUNC);
    j->log_fd[s] = open(path, flags, 0644);
    int e = errno;
    free(path);
    if (j->log_fd[s] < 0) {
      log_close(j);
      return e;
    }
  }
  return 0;
}

static void log_write(rjob_t *j, int s, const char *b, size_t n) {
  while (n > 0 && j->log_fd[s] >= 0) {
    ssize_t w = write(j->log_fd[s], b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      /* A full disk: the log is cut here, the job goes on, and the result
       * says so. */
      if (j->res.log_error == 0)
        j->res.log_error = errno;
      close(j->log_fd[s]);
      j->log_fd[s] = -1;
      return;
    }
    b += w;
    n -= (size_t)w;
  }
}

static void log_close(rjob_t *j) {
  for (int s = 0; s < 2; s++) {
    if (j->log_fd[s] >= 0)
      close(j->log_fd[s]);
    j->log_fd[s] = -1;
  }
}

/* ---- launcher callbacks -------------------------------------------------- */

static void on_data(void *ctx, corun__proc_t *p, corun_stream_t st,
                    const char *b, size_t n) {
  corun_run_t *r = ctx;
  size_t job = p->job;
  rjob_t *j = &r->jobs[job];
  int s = sidx(st);
  if (r->log_dir)
    log_write(j, s, b, n);
  tail_add(&j->tail[s], r->tail_cap, b, n);
  if (r->opts.cb.on_output)
    r->opts.cb.on_output(r, r->opts.data, job, st, b, n);
  if (r->opts.cb.on_line) {
    line_ctx_t lc = {r, job, st};
    corun__lines_feed(&j->carry[s], r->line_max, b, n, emit_line, &lc);
  }
}

static void on_eof(void *ctx, corun__proc_t *p, corun_stream_t st) {
  corun_run_t *r = ctx;
  if (r->opts.cb.on_line) {
    line_ctx_t lc = {r, p->job, st};
    corun__lines_flush(&r->jobs[p->job].carry[sidx(st)], emit_line, &lc);
  }
}

static double since_start(const corun_run_t *r, uint64_t hr) {
  return (double)(hr - r->t0_hr) / 1e9;
}

static void on_done(void *ctx, corun__proc_t *p) {
  corun_run_t *r = ctx;
  size_t job = p->job;
  rjob_t *j = &r->jobs[job];
  uint64_t now = uv_hrtime();
  int ws = p->wstatus;
  corun__end_t how;
  j->res.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  j->res.signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  j->res.duration_s = (double)(now - j->start_hr) / 1e9;
  if (p->stop == CORUN__STOP_TIMEOUT)
    how = CORUN__END_TIMEOUT;
  else if (p->stop == CORUN__STOP_REQUEST)
    how = CORUN__END_STOPPED;
  else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
    how = CORUN__END_OK;
  else
    how = CORUN__END_FAILED;
  for (int s = 0; s < 2; s++) {
    tail_linearize(&j->tail[s], r->tail_cap);
    corun__carry_free(&j->carry[s]);
  }
  j->res.out_tail = j->tail[0].buf;
  j->res.out_len = j->tail[0].len;
  j->res.out_truncated = j->tail[0].total > j->tail[0].len;
  j->res.err_tail = j->tail[1].buf;
  j->res.err_len = j->tail[1].len;
  j->res.err_truncated = j->tail[1].total > j->tail[1].len;
  log_close(j);
  j->proc = NULL;
  corun__proc_release(p);
  corun__sched_ended(r->sched, job, how);
}

/* ---- the runner the scheduler drives ----------------------------------- */

/* The job's environment: ours, with its sets and unsets applied. */
static char **make_env(const corun_job_desc_t *d) {
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  while (d->env[k])
    k++;
  char **env = malloc((n + k + 1) * sizeof *env);
  if (env == NULL)
    return NULL;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    bool overridden = false;
    for (size_t e = 0; e < k && !overridden; e++) {
      const char *v = d->env[e];
      const char *veq = strchr(v, '=');
      size_t vl = veq ? (size_t)(veq - v) : strlen(v);
      overridden = vl == nl && memcmp(v, environ[i], nl) == 0;
    }
    if (!overridden)
      env[m++] = environ[i];
  }
  for (size_t e = 0; e < k; e++) {
    /* Later entries for the same name win. */
    const char *v = d->env[e];
    if (strchr(v, '=') == NULL)
      continue;
    size_t vl = (size_t)(strchr(v, '=') - v);
    bool later = false;
    for (size_t f = e + 1; f < k && !later; f++) {
      const char *w = d->env[f];
      size_t wl = strchr(w, '=') ? (size_t)(strchr(w, '=') - w) : strlen(w);
      later = wl == vl && memcmp(v, w, vl) == 0;
    }
    if (!later)
      env[m++] = (char *)v;
  }
  env[m] = NULL;
  return env;
}

static int r_start(void *ctx, size_t job, unsigned attempt) {
  corun_run_t *r = ctx;
  rjob_t *j = &r->jobs[job];
  const corun__job_t *pj = &r->plan->jobs[job];
  const corun_job_desc_t *d = &pj->d;
  const char *sh_argv[4] = {"/bin/sh", "-c", d->shell, NULL};
  corun__spawn_t sp;
  memset(&sp, 0, sizeof sp);
  sp.argv = d->argv ? d->argv : sh_argv;
  sp.cwd = d->cwd ? d->cwd : r->plan->base_dir;
  sp.stdin_text = d->stdin_text;
  sp.timeout_s = d->timeout_s > 0 ? d->timeout_s : r->opts.default_timeout_s;
  sp.kill_grace_s = d->kill_grace_s;
  char **env = NULL;
  if (d->env != NULL && (env = make_env(d)) == NULL)
    return CORUN__START_LATER;
  sp.envp = env;
  /* A new attempt: the result describes it alone from here on, and holds
   * no pointer into buffers the attempt may move. */
  for (int s = 0; s < 2; s++)
    tail_reset(&j->tail[s]);
  j->res.out_tail = j->res.err_tail = NULL;
  j->res.out_len = j->res.err_len = 0;
  j->res.out_truncated = j->res.err_truncated = 0;
  j->res.exit_code = -1;
  j->res.signal = 0;
  j->res.pid = 0;
  j->log_fd[0] = j->log_fd[1] = -1;
  j->start_hr = uv_hrtime();
  j->res.started_at = r->t0_wall + since_start(r, j->start_hr);
  j->res.attempts = attempt;
  char why[512] = "";
  corun__proc_t *p = NULL;
  int rc = 0;
  if (r->log_dir != NULL) {
    /* Out of descriptors: the job waits for a running one to end. */
    int e = log_open(r, job, attempt);
    if (e == EMFILE || e == ENFILE || e == ENOMEM) {
      snprintf(why, sizeof why, "%s: cannot open a log file: %s", r->log_dir,
               strerror(e));
      rc = CORUN__START_LATER;
    } else if (e != 0) {
      snprintf(why, sizeof why, "%s: cannot open a log file: %s", r->log_dir,
               strerror(e));
      rc = uv_translate_sys_error(e);
    }
  }
  if (rc == 0)
    rc = corun__proc_spawn(r->launcher, &sp, job, j, &p, why, sizeof why);
  free(env);
  if (rc != 0) {
    /* Kept for the report: a job that waits too long for descriptors
     * ends `error` with this reason. */
    log_close(j);
    free(j->error);
    j->error = corun__strdup(why);
    j->res.error = j->error;
  }
  if (rc == CORUN__START_LATER)
    return rc;
  if (rc != 0) {
    j->res.error = j->error;
    j->res.pid = 0;
    j->res.exit_code = -1;
    j->res.signal = 0;
    j->res.duration_s = 0;
    return rc;
  }
  j->proc = p;
  j->res.pid = p->pid;
  free(j->error);
  j->error = NULL;
  j->res.error = NULL;
  if (r->opts.cb.on_job_start)
    r->opts.cb.on_job_start(r, r->opts.data, job, attempt, p->pid);
  return 0;
}

static void r_stop(void *ctx, size_t job, bool kill_now) {
  corun_run_t *r = ctx;
  corun__proc_t *p = r->jobs[job].proc;
  if (p != NULL)
    corun__proc_stop(p, CORUN__STOP_REQUEST, kill_now);
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
    r->jobs[job].retry_timer = NULL;
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
  uv_timer_start(&d->timer, deferral_fired, ms < 0 ? 0 : (uint64_t)ms, 0);
  if (job == CORUN__NO_JOB)
    r->pump_timer = &d->timer;
  else
    r->jobs[job].retry_timer = &d->timer;
  return 0;
}

static void r_undefer(void *ctx, size_t job) {
  corun_run_t *r = ctx;
  uv_timer_t **t = job == CORUN__NO_JOB ? &r->pump_timer : &r->jobs[job].retry_timer;
  if (*t != NULL) {
    uv_timer_stop(*t);
    uv_close((uv_handle_t *)*t, deferral_closed);
    *t = NULL;
  }
}

static void r_job_end(void *ctx, size_t job, corun_status_t st,
                      const char *reason) {
  corun_run_t *r = ctx;
  rjob_t *j = &r->jobs[job];
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
  if (r->opts.cb.on_job_end)
    r->opts.cb.on_job_end(r, r->opts.data, job, &j->res);
}

static void r_retry(void *ctx, size_t job, corun_status_t failed,
                    unsigned next, double delay) {
  corun_run_t *r = ctx;
  rjob_t *j = &r->jobs[job];
  if (r->opts.cb.on_retry) {
    j->res.status = failed; /* the failed attempt's, during the call */
    r->opts.cb.on_retry(r, r->opts.data, job, &j->res, next, delay);
    j->res.status = CORUN_PENDING;
  }
}

static void r_halted(void *ctx, const char *policy) {
  corun_run_t *r = ctx;
  if (r->opts.cb.on_halt)
    r->opts.cb.on_halt(r, r->opts.data, policy);
}

static void launcher_closed(void *arg) {
  corun_run_t *r = arg;
  r->launcher = NULL;
  r->open_handles--;
  maybe_end(r);
}

static void r_all_ended(void *ctx) {
  corun_run_t *r = ctx;
  r->t1_hr = uv_hrtime();
  r->exit_code = corun__sched_exit_code(r->sched);
  r->state = R_CLOSING;
  corun__launcher_close(r->launcher, launcher_closed, r);
}

/* The run ends once the scheduler is done and every handle is closed. */
static void maybe_end(corun_run_t *r) {
  if (r->state != R_CLOSING || r->open_handles > 0)
    return;
  r->state = R_ENDED;
  if (r->opts.cb.on_run_end)
    r->opts.cb.on_run_end(r, r->opts.data, r->exit_code);
  /* The run may be freed by now. */
}

static const corun__runner_t runner = {
    r_start, r_stop, r_defer, r_undefer, r_job_end, r_retry, r_halted,
    r_all_ended,
};

static const corun__launch_cb_t launch_cb = {on_data, on_eof, on_done};

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

static unsigned cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

int corun_run_new(corun_run_t **out, uv_loop_t *loop, const corun_plan_t *plan,
                  const corun_run_options_t *opts, corun_error_t *err) {
  static const corun_run_options_t none;
  *out = NULL;
  if (loop == NULL || plan == NULL) {
    corun__err_add(err, UV_EINVAL, "a loop and a plan are required");
    return UV_EINVAL;
  }
  if (!plan->sealed) {
    corun__err_add(err, CORUN_ESTATE, "%s: the plan is not sealed", plan->label);
    return CORUN_ESTATE;
  }
  if (opts == NULL)
    opts = &none;
  const char *halt = opts->halt ? opts->halt : corun_plan_halt(plan);
  corun__halt_t h;
  if (corun__halt_parse(halt, &h) != 0) {
    corun__err_add(err, CORUN_EINVALID, "invalid halt policy \"%s\"", halt);
    return CORUN_EINVALID;
  }
  corun_run_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return UV_ENOMEM;
  r->loop = loop;
  r->plan = plan;
  r->opts = *opts;
  r->halt = h;
  r->halt_text = strdup(halt);
  r->tail_cap = opts->tail_bytes ? opts->tail_bytes : CORUN_DEFAULT_TAIL;
  r->line_max = opts->line_max ? opts->line_max : 64 * 1024;
  r->jobs = calloc(plan->n_jobs ? plan->n_jobs : 1, sizeof *r->jobs);
  r->exit_code = -1;
  if (r->halt_text == NULL || r->jobs == NULL)
    goto nomem;
  for (size_t i = 0; i < plan->n_jobs; i++) {
    r->jobs[i].res.name = plan->jobs[i].d.name;
    r->jobs[i].res.exit_code = -1;
    r->jobs[i].log_fd[0] = r->jobs[i].log_fd[1] = -1;
  }
  if (opts->log_dir != NULL) {
    r->log_dir = strdup(opts->log_dir);
    if (r->log_dir == NULL)
      goto nomem;
    if (mkdir_p(opts->log_dir) != 0) {
      int e = errno;
      corun__err_add(err, uv_translate_sys_error(e), "%s: %s", opts->log_dir,
                     strerror(e));
      corun_run_free(r);
      return uv_translate_sys_error(e);
    }
    if (access(opts->log_dir, W_OK | X_OK) != 0) {
      int e = errno;
      corun__err_add(err, uv_translate_sys_error(e), "%s: %s", opts->log_dir,
                     strerror(e));
      corun_run_free(r);
      return uv_translate_sys_error(e);
    }
  }
  unsigned jobs = opts->jobs ? opts->jobs
                  : plan->max_parallel ? plan->max_parallel
                                       : cpu_count();
  int rc = corun__sched_new(&r->sched, plan, jobs, &h, r->halt_text, &runner, r);
  if (rc != 0)
    goto nomem;
  *out = r;
  return 0;
nomem:
  corun__err_add(err, UV_ENOMEM, "out of memory");
  corun_run_free(r);
  return UV_ENOMEM;
}

int corun_run_start(corun_run_t *r) {
  if (r->state != R_NEW)
    return CORUN_ESTATE;
  int rc = corun__launcher_new(&r->launcher, r->loop, &launch_cb, r);
  if (rc != 0) {
    if (r->launcher != NULL) {
      /* Its poll handle exists: close it before reporting the error. */
      corun__launcher_close(r->launcher, NULL, NULL);
      r->launcher = NULL;
    }
    return rc;
  }
  r->open_handles++; /* the launcher */
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
  if (job >= r->plan->n_jobs)
    return CORUN_ENOJOB;
  if (r->state != R_RUNNING)
    return 0;
  corun__sched_cancel_job(r->sched, job);
  return 0;
}

int corun_run_pause_output(corun_run_t *r, int paused) {
  if (r->state == R_RUNNING && r->launcher != NULL)
    corun__launcher_pause(r->launcher, paused != 0);
  return 0;
}

int corun_run_free(corun_run_t *r) {
  if (r == NULL)
    return 0;
  if (r->state == R_RUNNING || r->state == R_CLOSING)
    return CORUN_ESTATE;
  for (size_t i = 0; r->jobs && i < r->plan->n_jobs; i++) {
    rjob_t *j = &r->jobs[i];
    free(j->error);
    free(j->reason);
    for (int s = 0; s < 2; s++) {
      free(j->tail[s].buf);
      corun__carry_free(&j->carry[s]);
    }
  }
  free(r->jobs);
  corun__sched_free(r->sched);
  free(r->halt_text);
  free(r->log_dir);
  if (r->own_loop) {
    uv_loop_close(r->loop);
    free(r->loop);
  }
  free(r);
  return 0;
}

const corun_plan_t *corun_run_plan(const corun_run_t *r) { return r->plan; }

const corun_result_t *corun_run_result(const corun_run_t *r, size_t job) {
  return job < r->plan->n_jobs ? &r->jobs[job].res : NULL;
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
