/*
 * corun — the command line. A thin user of include/corun.h: it parses
 * options, loads and inspects the plan, runs it on the default loop with
 * signal handling, and writes what was asked for.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define USAGE "Usage: corun [OPTIONS] JOBFILE [JOB...]\n"

static const char *help_text =
    USAGE
    "Run the commands of a JSON job file in parallel, with dependencies,\n"
    "limits, timeouts, retries and clean cancellation. JOBFILE '-' reads\n"
    "standard input; JOB... runs only those jobs and what they need.\n"
    "\n"
    "Options:\n"
    "  -j, --jobs N          run at most N jobs at once (default: the file's\n"
    "                        max_parallel, else the number of CPUs)\n"
    "      --halt POLICY     never, fail-fast, soon,fail=N, now,fail=N,\n"
    "                        soon,success=N, now,success=N\n"
    "      --timeout DUR     timeout for jobs that set none (\"90s\", \"1m30s\")\n"
    "      --output MODE     prefix (default), group, raw or none\n"
    "      --log-dir DIR     each job's full output in DIR/NAME.out and .err\n"
    "      --report FILE     the results as JSON\n"
    "      --events FILE     JSON Lines events as they happen ('-': stdout,\n"
    "                        and --output then defaults to none)\n"
    "      --junit FILE      JUnit XML, one testcase per job\n"
    "      --trace FILE      Chrome trace-event JSON of the run\n"
    "      --timeline FILE   an SVG picture of the run\n"
    "      --check           validate the job file; print nothing if valid\n"
    "      --list            the jobs' names, in an order that respects needs\n"
    "      --dry-run         what would run, in that order, without running\n"
    "      --graph           the dependency graph in Graphviz DOT\n"
    "      --color WHEN      auto (default), always or never; NO_COLOR is honoured\n"
    "  -q, --quiet           no progress line and no summary\n"
    "  -h, --help            this help\n"
    "  -V, --version         the version\n"
    "\n"
    "Exit status: 0 every job ok (or allowed to fail, or a success halt was\n"
    "met); 1 otherwise; 2 usage error or invalid job file (nothing ran);\n"
    "128+N when corun was stopped by signal N (130 SIGINT, 143 SIGTERM,\n"
    "129 SIGHUP); 141 when its output went away.\n";

enum {
  OPT_HALT = 256, OPT_TIMEOUT, OPT_OUTPUT, OPT_LOG_DIR, OPT_REPORT,
  OPT_EVENTS, OPT_JUNIT, OPT_TRACE, OPT_TIMELINE, OPT_CHECK, OPT_LIST,
  OPT_DRY_RUN, OPT_GRAPH, OPT_COLOR
};

typedef struct {
  unsigned jobs;
  const char *halt;
  double timeout;
  int mode; /* -1: not given */
  const char *log_dir, *report, *events, *junit, *trace, *timeline;
  int action; /* 0 run, or OPT_CHECK / OPT_LIST / OPT_DRY_RUN / OPT_GRAPH */
  int color;  /* -1 auto, 0 never, 1 always */
  bool quiet;
  const char *file;
  char **names;
  size_t n_names;
} opts_t;

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "corun: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'corun --help' for more information.\n");
  return 2;
}

static int parse_args(int argc, char **argv, opts_t *o) {
  static const struct option longs[] = {
      {"jobs", required_argument, NULL, 'j'},
      {"halt", required_argument, NULL, OPT_HALT},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"output", required_argument, NULL, OPT_OUTPUT},
      {"log-dir", required_argument, NULL, OPT_LOG_DIR},
      {"report", required_argument, NULL, OPT_REPORT},
      {"events", required_argument, NULL, OPT_EVENTS},
      {"junit", required_argument, NULL, OPT_JUNIT},
      {"trace", required_argument, NULL, OPT_TRACE},
      {"timeline", required_argument, NULL, OPT_TIMELINE},
      {"check", no_argument, NULL, OPT_CHECK},
      {"list", no_argument, NULL, OPT_LIST},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"graph", no_argument, NULL, OPT_GRAPH},
      {"color", required_argument, NULL, OPT_COLOR},
      {"colour", required_argument, NULL, OPT_COLOR},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof *o);
  o->mode = -1;
  o->color = -1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":j:qhV", longs, NULL)) != -1) {
    switch (c) {
    case 'j': {
      char *end;
      errno = 0;
      long n = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end != '\0' || errno || n < 1 || n > 100000)
        return usage_error("-j expects a whole number from 1 to 100000, not '%s'",
                           optarg);
      o->jobs = (unsigned)n;
      break;
    }
    case OPT_HALT:
      o->halt = optarg;
      break;
    case OPT_TIMEOUT:
      if (corun_duration_parse(optarg, &o->timeout) != 0 || o->timeout <= 0)
        return usage_error("--timeout expects a duration like \"90s\" or "
                           "\"1m30s\", not '%s'", optarg);
      break;
    case OPT_OUTPUT:
      if (strcmp(optarg, "prefix") == 0)
        o->mode = OUT_PREFIX;
      else if (strcmp(optarg, "group") == 0)
        o->mode = OUT_GROUP;
      else if (strcmp(optarg, "raw") == 0)
        o->mode = OUT_RAW;
      else if (strcmp(optarg, "none") == 0)
        o->mode = OUT_NONE;
      else
        return usage_error("--output expects prefix, group, raw or none, not '%s'",
                           optarg);
      break;
    case OPT_LOG_DIR: o->log_dir = optarg; break;
    case OPT_REPORT: o->report = optarg; break;
    case OPT_EVENTS: o->events = optarg; break;
    case OPT_JUNIT: o->junit = optarg; break;
    case OPT_TRACE: o->trace = optarg; break;
    case OPT_TIMELINE: o->timeline = optarg; break;
    case OPT_CHECK:
    case OPT_LIST:
    case OPT_DRY_RUN:
    case OPT_GRAPH:
      if (o->action != 0 && o->action != c)
        return usage_error("%s", "--check, --list, --dry-run and --graph "
                                 "exclude each other");
      o->action = c;
      break;
    case OPT_COLOR:
      if (strcmp(optarg, "auto") == 0)
        o->color = -1;
      else if (strcmp(optarg, "always") == 0)
        o->color = 1;
      else if (strcmp(optarg, "never") == 0)
        o->color = 0;
      else
        return usage_error("--color expects auto, always or never, not '%s'",
                           optarg);
      break;
    case 'q': o->quiet = true; break;
    case 'h':
      fputs(help_text, stdout);
      exit(0);
    case 'V':
      printf("corun %s\n", corun_version());
      exit(0);
    case ':':
      return usage_error("option '%s' needs a value", argv[optind - 1]);
    default:
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error("%s", "no job file given");
  o->file = argv[optind];
  o->names = argv + optind + 1;
  o->n_names = (size_t)(argc - optind - 1);
  return 0;
}

/* ---- inspection ------------------------------------------------------------ */

/* Quote one word for a POSIX shell, only when it needs it. */
static void put_word(FILE *f, const char *w) {
  if (*w != '\0' && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789_-+=.,/:@%^") == strlen(w)) {
    fputs(w, f);
    return;
  }
  putc('\'', f);
  for (; *w; w++) {
    if (*w == '\'')
      fputs("'\\''", f);
    else
      putc(*w, f);
  }
  putc('\'', f);
}

static void put_command(FILE *f, const corun_job_desc_t *d) {
  if (d->argv) {
    for (size_t i = 0; d->argv[i]; i++) {
      if (i)
        putc(' ', f);
      put_word(f, d->argv[i]);
    }
  } else {
    fputs("sh -c ", f);
    put_word(f, d->shell);
  }
}

static void dot_id(FILE *f, const char *s) {
  putc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      putc('\\', f);
    putc(*s, f);
  }
  putc('"', f);
}

static int inspect(const corun_plan_t *p, int action) {
  size_t n = corun_plan_job_count(p);
  const size_t *order = corun_plan_order(p);
  if (action == OPT_CHECK)
    return 0;
  if (action == OPT_GRAPH) {
    printf("digraph corun {\n  rankdir=LR;\n  node [shape=box];\n");
    for (size_t k = 0; k < n; k++) {
      size_t i = order[k];
      if (!corun_plan_job_selected(p, i))
        continue;
      const corun_job_desc_t *d = corun_plan_job(p, i);
      fputs("  ", stdout);
      dot_id(stdout, d->name);
      fputs(d->allow_failure ? " [style=dashed];\n" : ";\n", stdout);
      for (size_t e = 0; d->needs && d->needs[e]; e++) {
        fputs("  ", stdout);
        dot_id(stdout, d->needs[e]);
        fputs(" -> ", stdout);
        dot_id(stdout, d->name);
        fputs(";\n", stdout);
      }
    }
    printf("}\n");
    return 0;
  }
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    if (!corun_plan_job_selected(p, i))
      continue;
    const corun_job_desc_t *d = corun_plan_job(p, i);
    if (action == OPT_LIST) {
      printf("%s\n", d->name);
      continue;
    }
    printf("%s: ", d->name);
    put_command(stdout, d);
    putchar('\n');
    if (d->needs && d->needs[0]) {
      printf("    needs:");
      for (size_t e = 0; d->needs[e]; e++)
        printf(" %s", d->needs[e]);
      putchar('\n');
    }
    if (d->cwd)
      printf("    cwd: %s\n", d->cwd);
    if (d->pool)
      printf("    pool: %s\n", d->pool);
    if (d->timeout_s > 0)
      printf("    timeout: %gs\n", d->timeout_s);
    if (d->retries)
      printf("    retries: %u\n", d->retries);
    if (d->allow_failure)
      printf("    allow_failure: true\n");
  }
  return 0;
}

/* ---- running ----------------------------------------------------------------- */

typedef struct {
  cli_t cli;
  uv_signal_t sig[3];
  uv_check_t check;
  uv_timer_t tick;
  bool ended;
  int exit_code;
} app_t;

static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(uv_signal_t *h, int signum) {
  app_t *a = h->data;
  cli_t *c = &a->cli;
  if (c->stop_signal == 0 && !c->pipe_gone) {
    c->stop_signal = signum;
    corun_run_cancel(c->run, 0);
  } else {
    /* A second signal: no more grace. */
    corun_run_cancel(c->run, 1);
  }
}

static void on_check(uv_check_t *h) {
  app_t *a = h->data;
  cli_t *c = &a->cli;
  cli_flush(c);
  if (!c->pipe_gone && (c->out.error == EPIPE || c->err.error == EPIPE ||
                        c->events_error == EPIPE)) {
    c->pipe_gone = true;
    if (c->stop_signal == 0)
      corun_run_cancel(c->run, 0);
  }
}

static void on_tick(uv_timer_t *t) {
  app_t *a = t->data;
  cli_progress(&a->cli, false);
}

static void close_all(app_t *a) {
  cli_output_close(&a->cli);
  for (int i = 0; i < 3; i++)
    uv_close((uv_handle_t *)&a->sig[i], NULL);
  uv_close((uv_handle_t *)&a->check, NULL);
  uv_close((uv_handle_t *)&a->tick, NULL);
}

static void on_run_end(corun_run_t *run, void *data, int exit_code) {
  app_t *a = data;
  (void)run;
  a->ended = true;
  a->exit_code = exit_code;
  cli_flush(&a->cli);
  close_all(a);
}

/* Open an output file before anything runs; "-" is stdout. */
static FILE *open_out(const char *opt, const char *path) {
  if (strcmp(path, "-") == 0)
    return stdout;
  FILE *f = fopen(path, "w");
  if (f == NULL)
    fprintf(stderr, "corun: %s %s: %s\n", opt, path, strerror(errno));
  return f;
}

static void close_out(FILE *f) {
  if (f != NULL && f != stdout)
    fclose(f);
}

static void summary(const cli_t *c, int exit_code) {
  size_t n = corun_plan_job_count(c->plan);
  size_t counts[7] = {0}, bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (!corun_plan_job_selected(c->plan, i))
      continue;
    const corun_result_t *r = corun_run_result(c->run, i);
    counts[r->status]++;
    if (r->status != CORUN_OK && r->status != CORUN_SKIPPED &&
        !(corun_plan_job(c->plan, i)->allow_failure &&
          r->status != CORUN_CANCELLED))
      bad++;
  }
  FILE *f = stderr;
  if (bad > 0) {
    fprintf(f, "corun: %zu job%s did not succeed:\n", bad, bad == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
      if (!corun_plan_job_selected(c->plan, i))
        continue;
      const corun_result_t *r = corun_run_result(c->run, i);
      const corun_job_desc_t *d = corun_plan_job(c->plan, i);
      if (r->status == CORUN_OK || r->status == CORUN_SKIPPED ||
          (d->allow_failure && r->status != CORUN_CANCELLED))
        continue;
      fprintf(f, "  %s: %s", r->name, corun_status_name(r->status));
      if (r->status == CORUN_ERROR && r->error)
        fprintf(f, " (%s)", r->error);
      else if (r->signal)
        fprintf(f, " (%s)", corun_signal_name(r->signal) ? corun_signal_name(r->signal) : "signal");
      else if (r->exit_code > 0)
        fprintf(f, " (exit %d)", r->exit_code);
      fputc('\n', f);
      /* The last few lines of its stderr. */
      const char *t = r->err_tail;
      size_t len = r->err_len;
      while (len > 0 && t[len - 1] == '\n')
        len--;
      size_t start = len, lines = 0;
      while (start > 0 && lines < 5) {
        start--;
        if (t[start] == '\n')
          lines++;
      }
      if (start > 0 || (len > 0 && t[0] == '\n'))
        start++;
      while (start < len) {
        const char *nl = memchr(t + start, '\n', len - start);
        size_t e = nl ? (size_t)(nl - t) : len;
        fprintf(f, "    | %.*s\n", (int)(e - start), t + start);
        start = e + 1;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    const corun_result_t *r = corun_run_result(c->run, i);
    if (corun_plan_job_selected(c->plan, i) && r->log_error)
      fprintf(f, "corun: --log-dir: the log of %s is incomplete: %s\n", r->name,
              strerror(r->log_error));
  }
  if (bad > 0 || c->progress)
    fprintf(f,
            "corun: %zu ok, %zu failed, %zu timeout, %zu cancelled, %zu skipped, "
            "%zu error in %.2fs%s\n",
            counts[CORUN_OK], counts[CORUN_FAILED], counts[CORUN_TIMEOUT],
            counts[CORUN_CANCELLED], counts[CORUN_SKIPPED], counts[CORUN_ERROR],
            corun_run_duration(c->run), exit_code == 0 ? "" : " (run failed)");
}

static int run_plan(const opts_t *o, const corun_plan_t *plan) {
  app_t a;
  memset(&a, 0, sizeof a);
  cli_t *c = &a.cli;
  c->plan = plan;
  c->quiet = o->quiet;
  w_init(&c->out, 1);
  w_init(&c->err, 2);
  int rc = 0;
  FILE *report = NULL, *events = NULL, *junit = NULL, *trace = NULL,
       *timeline = NULL;
  /* Every file is opened before anything runs. */
  if ((o->report && !(report = open_out("--report", o->report))) ||
      (o->events && !(events = open_out("--events", o->events))) ||
      (o->junit && !(junit = open_out("--junit", o->junit))) ||
      (o->trace && !(trace = open_out("--trace", o->trace))) ||
      (o->timeline && !(timeline = open_out("--timeline", o->timeline)))) {
    rc = 2;
    goto out;
  }
  c->events = events;
  c->mode = o->mode >= 0 ? o->mode
            : (o->events && strcmp(o->events, "-") == 0) ? OUT_NONE
                                                          : OUT_PREFIX;
  bool tty = isatty(2) == 1;
  const char *no_color = getenv("NO_COLOR");
  c->color = o->color == 1 || (o->color == -1 && isatty(1) == 1 &&
                               !(no_color && *no_color));
  c->progress = tty && !o->quiet && getenv("CI") == NULL;
  size_t n = corun_plan_job_count(plan);
  for (size_t i = 0; i < n; i++) {
    if (!corun_plan_job_selected(plan, i))
      continue;
    c->n_selected++;
    int len = (int)strlen(corun_plan_job(plan, i)->name);
    if (len > c->name_width)
      c->name_width = len;
  }
  c->open_span = calloc(n ? n : 1, sizeof *c->open_span);
  if (c->mode == OUT_GROUP) {
    c->group_out = calloc(n ? n : 1, sizeof *c->group_out);
    c->group_err = calloc(n ? n : 1, sizeof *c->group_err);
    for (size_t i = 0; c->group_out && c->group_err && i < n; i++) {
      w_init(&c->group_out[i], -1);
      w_init(&c->group_err[i], -1);
    }
  }
  if (c->open_span == NULL || (c->mode == OUT_GROUP && (!c->group_out || !c->group_err))) {
    fprintf(stderr, "corun: out of memory\n");
    rc = 2;
    goto out;
  }

  uv_loop_t *loop = uv_default_loop();
  if (loop == NULL) {
    fprintf(stderr, "corun: cannot set up the event loop: %s\n", strerror(errno));
    rc = 2;
    goto out;
  }
  corun_run_options_t ro;
  memset(&ro, 0, sizeof ro);
  ro.jobs = o->jobs;
  ro.halt = o->halt;
  ro.default_timeout_s = o->timeout;
  ro.log_dir = o->log_dir;
  cli_callbacks(c, &ro.cb);
  ro.cb.on_run_end = on_run_end;
  ro.data = &a;
  corun_error_t err = {0};
  if (corun_run_new(&c->run, loop, plan, &ro, &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "corun: %s%s\n", o->log_dir && err.code != CORUN_EINVALID ? "--log-dir " : "",
              err.messages[i]);
    corun_error_release(&err);
    rc = 2;
    goto out;
  }
  for (int i = 0; i < 3; i++) {
    uv_signal_init(loop, &a.sig[i]);
    a.sig[i].data = &a;
    uv_signal_start(&a.sig[i], on_signal, stop_signals[i]);
  }
  uv_check_init(loop, &a.check);
  a.check.data = &a;
  uv_check_start(&a.check, on_check);
  uv_timer_init(loop, &a.tick);
  a.tick.data = &a;
  /* The events stream on stdout is written with stdio, which must not
   * meet a non-blocking descriptor. */
  c->events_on_stdout = events == stdout;
  cli_output_start(c, loop);
  if (c->progress)
    uv_timer_start(&a.tick, on_tick, 0, 100);
  c->t0_ns = uv_hrtime();
  if ((rc = corun_run_start(c->run)) != 0) {
    fprintf(stderr, "corun: cannot start: %s\n", corun_strerror(rc));
    close_all(&a);
    uv_run(loop, UV_RUN_DEFAULT);
    rc = 2;
    goto out;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  cli_progress(c, true);

  /* The files first: the last of stdout may wait on a slow reader. */
  if (c->stop_signal)
    rc = 128 + c->stop_signal;
  else if (c->pipe_gone)
    rc = 141;
  else
    rc = a.exit_code;
  /* A log that could not be written in full fails the run it records. */
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (corun_plan_job_selected(plan, i) && corun_run_result(c->run, i)->log_error)
      rc = 1;
  if (report && (corun_run_write_report(c->run, report, rc) != 0 || fflush(report)))
    fprintf(stderr, "corun: --report %s: %s\n", o->report, strerror(errno));
  if (junit)
    cli_write_junit(c, junit);
  if (trace)
    cli_write_trace(c, trace);
  if (timeline)
    cli_write_timeline(c, timeline);
  if (events) {
    fprintf(events, "{\"event\":\"done\",\"status\":\"%s\",\"exit_code\":%d,\"t\":%.3f}\n",
            rc == 0 ? "ok" : c->stop_signal || c->pipe_gone ? "cancelled" : "failed",
            rc, cli_now(c));
    fflush(events);
  }
  /* Stopped by a signal, a reader that does not read gets 2 s more. */
  cli_output_finish(c, c->stop_signal ? 2.0 : 0);
  if (!o->quiet && !c->pipe_gone)
    summary(c, rc);
  uv_loop_close(loop);
out:
  close_out(report);
  close_out(events);
  close_out(junit);
  close_out(trace);
  close_out(timeline);
  if (c->run)
    corun_run_free(c->run);
  if (c->group_out)
    for (size_t i = 0; i < corun_plan_job_count(plan); i++) {
      w_free(&c->group_out[i]);
      w_free(&c->group_err[i]);
    }
  free(c->group_out);
  free(c->group_err);
  free(c->open_span);
  free(c->spans);
  free(c->lane_busy);
  w_free(&c->out);
  w_free(&c->err);
  return rc;
}

int main(int argc, char **argv) {
  opts_t o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc;
  /* A reader that goes away is noticed as EPIPE and handled (exit 141). */
  signal(SIGPIPE, SIG_IGN);
  /* Orphans of a job become ours, so the library can reap them with the
   * job's process group and know at once when nothing of a job is left. */
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
  if (o.halt) {
    corun_plan_t *probe = NULL;
    corun_plan_new(&probe, "--halt", NULL);
    int bad = probe == NULL || corun_plan_set_halt(probe, o.halt, NULL) != 0;
    corun_plan_free(probe);
    if (bad) {
      corun_plan_free(plan);
      return usage_error("--halt expects never, fail-fast, soon,fail=N, "
                         "now,fail=N, soon,success=N or now,success=N, not '%s'",
                         o.halt);
    }
  }
  if (o.n_names > 0 &&
      corun_plan_select(plan, (const char *const *)o.names, o.n_names, &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "corun: %s\n", err.messages[i]);
    fprintf(stderr, "Try 'corun --list %s' for the job names.\n", o.file);
    corun_error_release(&err);
    corun_plan_free(plan);
    return 2;
  }
  if (o.action != 0)
    rc = inspect(plan, o.action);
  else
    rc = run_plan(&o, plan);
  corun_plan_free(plan);
  if (fflush(stdout) != 0 && rc == 0)
    rc = errno == EPIPE ? 141 : 1;
  return rc;
}
