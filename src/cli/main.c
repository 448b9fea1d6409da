/*
 * corun — the command line. A thin user of include/corun.h: it parses
 * options, loads and inspects the plan, and runs it on the default loop
 * with signal handling. A run goes through four steps: open (every output
 * file, before anything runs), wire (the run, its outputs, callbacks and
 * signals), run (the loop), finish (the exit status, the last of the
 * output, the summary).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const file_opts[CORUN_FORMAT_COUNT] = {
    "--report", "--events", "--junit", "--trace", "--timeline",
};

/* The job callbacks take the data pointer as the cli, the run end as the
 * app: cli comes first. */
typedef struct {
  cli_t cli;
  const opts_t *o;
  uv_loop_t *loop;
  FILE *files[CORUN_FORMAT_COUNT];
  uv_signal_t sig[3];
  uv_signal_t job_control[4];
  uv_signal_t winch;
  feed_t feed; /* --stream and --each: jobs as they come */
  uv_check_t check;
  uv_timer_t tick;
} app_t;

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static const int job_control_signals[4] = {SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT};

/* The first signal stops the run gracefully and is the exit status; a
 * second one kills at once. */
static void on_signal(uv_signal_t *h, int signum) {
  cli_t *c = &((app_t *)h->data)->cli;
  if (c->stop_signal == 0 && !c->pipe_gone) {
    c->stop_signal = signum;
    corun_run_set_exit_code(c->run, 128 + signum);
    if (((app_t *)h->data)->feed.run)
      cli_feed_stop(&((app_t *)h->data)->feed);
    corun_run_cancel(c->run, 0);
  } else {
    corun_run_cancel(c->run, 1);
  }
}

/* Once per loop turn: what the jobs wrote goes out, and a reader that went
 * away stops the run as a signal would (exit 141). */
static void on_check(uv_check_t *h) {
  cli_t *c = &((app_t *)h->data)->cli;
  cli_flush(c);
  bool gone = false;
  for (int i = 0; i < CLI_WRITERS; i++)
    gone = gone || (c->ws[i] && c->ws[i]->error == EPIPE);
  if (!c->pipe_gone && gone) {
    c->pipe_gone = true;
    if (c->stop_signal == 0) {
      corun_run_set_exit_code(c->run, 141);
      if (((app_t *)h->data)->feed.run)
        cli_feed_stop(&((app_t *)h->data)->feed);
      corun_run_cancel(c->run, 0);
    }
  }
}

/*
 * Ctrl-Z (and a background read or write on the terminal): the jobs stop
 * with corun and their clocks stand still; the progress line is taken
 * away first. SIGCONT (fg, bg) resumes them, and the line comes back at
 * the next tick.
 */
static void on_job_control(uv_signal_t *h, int signum) {
  cli_t *c = &((app_t *)h->data)->cli;
  if (signum == SIGCONT) {
    corun_run_suspend(c->run, 0);
    return;
  }
  cli_flush(c);
  cli_progress(c, true);
  corun_run_suspend(c->run, 1);
  kill(getpid(), SIGSTOP);
}

static void on_tick(uv_timer_t *t) { cli_progress(&((app_t *)t->data)->cli, false); }

/* The terminal changed size: the status line is cut to the new width. */
static void on_winch(uv_signal_t *h, int signum) {
  cli_t *c = &((app_t *)h->data)->cli;
  (void)signum;
  cli_status_resize(c);
  cli_progress(c, false);
}

static void close_all(app_t *a) {
  cli_output_close(&a->cli);
  for (int i = 0; i < 3; i++)
    uv_close((uv_handle_t *)&a->sig[i], NULL);
  for (int i = 0; i < 4; i++)
    uv_close((uv_handle_t *)&a->job_control[i], NULL);
  uv_close((uv_handle_t *)&a->check, NULL);
  uv_close((uv_handle_t *)&a->tick, NULL);
  uv_close((uv_handle_t *)&a->winch, NULL);
}

static void on_run_end(corun_run_t *run, void *data, int exit_code) {
  app_t *a = data;
  (void)run, (void)exit_code;
  cli_flush(&a->cli);
  close_all(a);
}

/* A halt: no more jobs will run, so no more input is read. */
static void on_halt(corun_run_t *run, void *data, const char *policy) {
  app_t *a = data;
  (void)run, (void)policy;
  if (a->feed.run)
    cli_feed_stop(&a->feed);
}

/* Step 1: every output file is opened or created before anything runs;
 * "-" is stdout. 0, or 2 after saying which could not be. */
static int open_files(app_t *a) {
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    const char *path = a->o->files[k];
    if (path == NULL)
      continue;
    a->files[k] = cli_open_file(&a->cli, k, path);
    if (a->files[k] == NULL) {
      fprintf(stderr, "corun: %s %s: %s\n", file_opts[k], path, strerror(errno));
      return 2;
    }
  }
  return 0;
}

static void close_files(app_t *a) {
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++)
    if (a->files[k] != NULL)
      fclose(a->files[k]);
}

/* An open run's job arrived: the live output makes room for it. */
static void fed_job(feed_t *f, size_t index) {
  app_t *a = f->data;
  cli_t *c = &a->cli;
  if (cli_output_grow(c, index + 1) != 0) {
    fprintf(stderr, "corun: out of memory\n");
    corun_run_cancel(c->run, 0);
    return;
  }
  c->n_selected++;
  int len = (int)strlen(corun_plan_job(c->plan, index)->name);
  if (len > c->name_width)
    c->name_width = len;
}

/* A line made no job: said already; the run fails. */
static void fed_bad(feed_t *f) {
  app_t *a = f->data;
  if (a->cli.stop_signal == 0 && !a->cli.pipe_gone)
    corun_run_set_exit_code(a->cli.run, 1);
}

/* --stream and --each: what feeds the open run. 0, or 2 after a message. */
static int plan_feed(app_t *a) {
  const opts_t *o = a->o;
  if (!o->stream && o->each == NULL)
    return 0;
  feed_t *f = &a->feed;
  f->run = a->cli.run;
  f->data = a;
  f->on_job = fed_job;
  f->on_bad = fed_bad;
  f->fd = 0;
  f->saved_flags = -1;
  if (o->each != NULL) {
    f->tmpl = o->each;
    f->label = "<items>";
    if (o->n_names > 0) {
      f->items = o->names;
      f->n_items = o->n_names;
    }
  } else {
    f->label = strcmp(o->file, "-") == 0 ? "<stdin>" : o->file;
    if (strcmp(o->file, "-") != 0 &&
        (f->fd = open(o->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
      fprintf(stderr, "corun: %s: %s\n", o->file, strerror(errno));
      return 2;
    }
  }
  return 0;
}

/* Step 2: the run with its outputs and callbacks, the signal handlers and
 * the live output. 0, or 2 after a message. */
static int wire(app_t *a, const corun_plan_t *plan) {
  const opts_t *o = a->o;
  cli_t *c = &a->cli;
  bool events_out = o->files[CORUN_EVENTS] && strcmp(o->files[CORUN_EVENTS], "-") == 0;
  c->mode = o->mode >= 0 ? (out_mode_t)o->mode : events_out ? OUT_NONE : OUT_PREFIX;
  const char *no_color = getenv("NO_COLOR");
  bool may_color = o->color == -1 && !(no_color && *no_color);
  c->out_tty = isatty(1) == 1;
  c->err_tty = isatty(2) == 1;
  c->color = o->color == 1 || (may_color && c->out_tty);
  c->color_err = o->color == 1 || (may_color && c->err_tty);
  c->progress = c->err_tty && !o->quiet && getenv("CI") == NULL;
  c->slots = o->jobs ? o->jobs : plan ? corun_plan_max_parallel(plan) : 0;
  if (c->slots == 0)
    c->slots = uv_available_parallelism();
  if (cli_output_init(c, plan ? corun_plan_job_count(plan) : 0) != 0) {
    fprintf(stderr, "corun: out of memory\n");
    return 2;
  }
  if ((a->loop = uv_default_loop()) == NULL) {
    fprintf(stderr, "corun: cannot set up the event loop: %s\n", strerror(errno));
    return 2;
  }
  corun_run_options_t ro;
  memset(&ro, 0, sizeof ro);
  if (plan != NULL) {
    ro.select = (const char *const *)o->names;
    ro.n_select = o->n_names;
  }
  ro.jobs = o->jobs;
  ro.halt = o->halt;
  ro.default_timeout_s = o->timeout;
  ro.log_dir = o->log_dir;
  ro.watchdog = 1;
  cli_callbacks(c, &ro.cb);
  ro.cb.on_run_end = on_run_end;
  ro.cb.on_halt = on_halt;
  ro.data = a;
  corun_error_t err = {0};
  if (corun_run_new(&c->run, a->loop, plan, &ro, &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "corun: %s%s\n", o->log_dir ? "--log-dir " : "",
              err.messages[i]);
    corun_error_release(&err);
    return 2;
  }
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    int rc = a->files[k] ? corun_run_add_output(c->run, (corun_format_t)k, a->files[k]) : 0;
    if (rc != 0) {
      fprintf(stderr, "corun: %s: %s\n", file_opts[k], corun_strerror(rc));
      return 2;
    }
  }
  c->plan = plan = corun_run_plan(c->run);
  for (size_t i = 0, n = corun_plan_job_count(plan); i < n; i++) {
    if (!corun_run_selected(c->run, i))
      continue;
    c->n_selected++;
    int len = (int)strlen(corun_plan_job(plan, i)->name);
    if (len > c->name_width)
      c->name_width = len;
  }
  for (int i = 0; i < 3; i++) {
    uv_signal_init(a->loop, &a->sig[i]);
    a->sig[i].data = a;
    uv_signal_start(&a->sig[i], on_signal, stop_signals[i]);
  }
  for (int i = 0; i < 4; i++) {
    uv_signal_init(a->loop, &a->job_control[i]);
    a->job_control[i].data = a;
    uv_signal_start(&a->job_control[i], on_job_control, job_control_signals[i]);
  }
  uv_check_init(a->loop, &a->check);
  a->check.data = a;
  uv_check_start(&a->check, on_check);
  uv_timer_init(a->loop, &a->tick);
  a->tick.data = a;
  uv_signal_init(a->loop, &a->winch);
  a->winch.data = a;
  if (c->progress)
    uv_signal_start(&a->winch, on_winch, SIGWINCH);
  cli_output_start(c, a->loop);
  return plan_feed(a);
}

/* Step 3: run until every job ended and every handle closed. */
static int run(app_t *a) {
  cli_t *c = &a->cli;
  if (c->progress)
    uv_timer_start(&a->tick, on_tick, 0, 100);
  c->t0_ns = uv_hrtime();
  int rc = corun_run_start(c->run);
  if (rc == 0 && a->feed.run != NULL && (rc = cli_feed_start(&a->feed, a->loop)) != 0)
    corun_run_cancel(c->run, 1);
  if (rc != 0) {
    fprintf(stderr, "corun: cannot start: %s\n", corun_strerror(rc));
    close_all(a);
    uv_run(a->loop, UV_RUN_DEFAULT);
    return 2;
  }
  uv_run(a->loop, UV_RUN_DEFAULT);
  cli_progress(c, true);
  return 0;
}

/* Step 4: the run's files are written by now; the last of the output goes
 * out (a reader that does not read gets 2 s more after a signal), then
 * the summary. */
static int finish(app_t *a) {
  cli_t *c = &a->cli;
  int rc = corun_run_exit_code(c->run);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++)
    if (a->files[k] != NULL)
      fflush(a->files[k]);
  cli_output_finish(c, c->stop_signal ? 2.0 : 0);
  if (!a->o->quiet && !c->pipe_gone)
    cli_summary(c, rc);
  uv_loop_close(a->loop);
  return rc;
}

static int run_plan(const opts_t *o, const corun_plan_t *plan) {
  app_t a;
  memset(&a, 0, sizeof a);
  a.o = o;
  a.cli.plan = plan;
  a.cli.quiet = o->quiet;
  w_init(&a.cli.out, 1);
  w_init(&a.cli.err, 2);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++)
    w_init(&a.cli.files[k], -1);
  int rc = open_files(&a);
  if (rc == 0)
    rc = wire(&a, plan);
  if (rc == 0)
    rc = run(&a);
  if (rc == 0)
    rc = finish(&a);
  close_files(&a);
  if (a.feed.run != NULL) {
    cli_feed_free(&a.feed);
    if (a.feed.fd > 0)
      close(a.feed.fd);
  }
  /* The live output reads the run's plan (an open run's own): it goes
   * first. */
  cli_output_free(&a.cli);
  if (a.cli.run)
    corun_run_free(a.cli.run);
  return rc;
}

/* What the process needs before any job: SIGPIPE as an error (a reader
 * that goes away is handled, exit 141), orphans of jobs as our children
 * (so a job's leftovers are reaped and noticed at once), and all the
 * descriptors the system allows. 0, or 2 after a message. */
static int set_up_process(void) {
  /* A closed stdin, stdout or stderr would be taken by the loop's own
   * descriptors (libuv refuses that): /dev/null stands in. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
      return 2;
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  /* Each running job holds three descriptors (five with --log-dir): take
   * all the system allows. When they still run out, jobs wait to start. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  /* The loop and its signal pipes need about ten. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 12) {
    fprintf(stderr, "corun: too few file descriptors (the limit is %lu; corun "
                    "needs at least 12)\n", (unsigned long)rl.rlim_cur);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv) {
  opts_t o;
  bool done;
  int rc = cli_parse_args(argc, argv, &o, &done);
  if (rc != 0 || done)
    return rc;
  if ((rc = set_up_process()) != 0)
    return rc;
  /* Jobs that come as the run goes: an open run, no plan to load. */
  if (o.stream || o.each != NULL) {
    rc = run_plan(&o, NULL);
    if (fflush(stdout) != 0 && rc == 0)
      rc = errno == EPIPE ? 141 : 1;
    return rc;
  }
  corun_plan_t *plan = NULL;
  corun_error_t err = {0};
  if (corun_plan_load_file(&plan, o.file, &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "%s\n", err.messages[i]);
    if (err.count == 0)
      fprintf(stderr, "%s: %s\n", o.file, corun_strerror(err.code));
    corun_error_release(&err);
    return 2;
  }
  size_t n = corun_plan_job_count(plan);
  unsigned char *selected = malloc(n ? n : 1);
  if (selected == NULL ||
      corun_plan_select(plan, (const char *const *)o.names, o.n_names,
                        selected, &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "corun: %s\n", err.messages[i]);
    if (err.count > 0)
      fprintf(stderr, "Try 'corun --list %s' for the job names.\n", o.file);
    else
      fprintf(stderr, "corun: out of memory\n");
    corun_error_release(&err);
    free(selected);
    corun_plan_free(plan);
    return 2;
  }
  if (o.action != 0)
    rc = cli_inspect(plan, selected, o.action);
  else
    rc = run_plan(&o, plan);
  free(selected);
  corun_plan_free(plan);
  if (fflush(stdout) != 0 && rc == 0)
    rc = errno == EPIPE ? 141 : 1;
  return rc;
}
