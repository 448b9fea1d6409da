/* The command line's options: parsing, checking and the help text. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                \
  "Usage: corun [OPTIONS] JOBFILE [JOB...]\n"                                 \
  "       corun [OPTIONS] --stream FILE\n"                                    \
  "       corun [OPTIONS] --each TEMPLATE [-- ITEM...]\n"

static const char *help_text =
    USAGE
    "Run the commands of a JSON job file in parallel, with dependencies,\n"
    "limits, timeouts, retries and clean cancellation. JOBFILE '-' reads\n"
    "standard input; JOB... runs only those jobs and what they need.\n"
    "With --stream, FILE holds one job object a line (JSON Lines), run as\n"
    "it arrives; with --each, one job per ITEM (or per line of standard\n"
    "input when no ITEM is given): TEMPLATE is a shell command where {} is\n"
    "the item, quoted for the shell, and {#} its number.\n"
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
    "      --stream          the job file is JSON Lines, run as it arrives\n"
    "      --each TEMPLATE   one job per item, xargs-style\n"
    "      --color WHEN      auto (default), always or never; NO_COLOR is honoured\n"
    "  -q, --quiet           no progress line and no summary\n"
    "  -h, --help            this help\n"
    "  -V, --version         the version\n"
    "\n"
    "Exit status: 0 every job ok (or allowed to fail, or a success halt was\n"
    "met); 1 otherwise; 2 usage error or invalid job file (nothing ran);\n"
    "128+N when corun was stopped by signal N (130 SIGINT, 143 SIGTERM,\n"
    "129 SIGHUP); 141 when its output went away.\n";

int cli_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("corun: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'corun --help' for more information.\n", stderr);
  return 2;
}

/* The index of `word` in the NULL-terminated `words`, or -1. */
static int one_of(const char *word, const char *const *words) {
  for (int i = 0; words[i] != NULL; i++)
    if (strcmp(word, words[i]) == 0)
      return i;
  return -1;
}

int cli_parse_args(int argc, char **argv, opts_t *o, bool *done) {
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
      {"stream", no_argument, NULL, OPT_STREAM},
      {"each", required_argument, NULL, OPT_EACH},
      {"color", required_argument, NULL, OPT_COLOR},
      {"colour", required_argument, NULL, OPT_COLOR},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  static const char *const modes[] = {"prefix", "group", "raw", "none", NULL};
  static const char *const colors[] = {"never", "always", "auto", NULL};
  memset(o, 0, sizeof *o);
  *done = false;
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
        return cli_usage_error(
            "-j expects a whole number from 1 to 100000, not '%s'", optarg);
      o->jobs = (unsigned)n;
      break;
    }
    case OPT_HALT: {
      corun_error_t err = {0};
      if (corun_halt_check(optarg, &err) != 0) {
        int rc = cli_usage_error("--halt '%s': %s", optarg,
                                 err.count ? err.messages[0] : "invalid");
        corun_error_release(&err);
        return rc;
      }
      o->halt = optarg;
      break;
    }
    case OPT_TIMEOUT:
      if (corun_duration_parse(optarg, &o->timeout) != 0 || o->timeout <= 0)
        return cli_usage_error("--timeout expects a duration like \"90s\" or "
                               "\"1m30s\", not '%s'", optarg);
      break;
    case OPT_OUTPUT:
      if ((o->mode = one_of(optarg, modes)) < 0)
        return cli_usage_error(
            "--output expects prefix, group, raw or none, not '%s'", optarg);
      break;
    case OPT_LOG_DIR: o->log_dir = optarg; break;
    case OPT_REPORT: o->files[CORUN_REPORT] = optarg; break;
    case OPT_EVENTS: o->files[CORUN_EVENTS] = optarg; break;
    case OPT_JUNIT: o->files[CORUN_JUNIT] = optarg; break;
    case OPT_TRACE: o->files[CORUN_TRACE] = optarg; break;
    case OPT_TIMELINE: o->files[CORUN_TIMELINE] = optarg; break;
    case OPT_CHECK:
    case OPT_LIST:
    case OPT_DRY_RUN:
    case OPT_GRAPH:
      if (o->action != 0 && o->action != c)
        return cli_usage_error("--check, --list, --dry-run and --graph "
                               "exclude each other");
      o->action = c;
      break;
    case OPT_COLOR: {
      int k = one_of(optarg, colors);
      if (k < 0)
        return cli_usage_error(
            "--color expects auto, always or never, not '%s'", optarg);
      o->color = k == 2 ? -1 : k;
      break;
    }
    case OPT_STREAM: o->stream = true; break;
    case OPT_EACH: o->each = optarg; break;
    case 'q': o->quiet = true; break;
    case 'h':
      fputs(help_text, stdout);
      *done = true;
      return 0;
    case 'V':
      printf("corun %s\n", corun_version());
      *done = true;
      return 0;
    case ':':
      return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if ((o->stream || o->each) && o->action != 0)
    return cli_usage_error("--check, --list, --dry-run and --graph need a job "
                           "file, not --stream or --each");
  if (o->stream && o->each)
    return cli_usage_error("--stream and --each exclude each other");
  if (o->each) {
    /* Every argument left is an item; none: items come from stdin. */
    o->names = argv + optind;
    o->n_names = (size_t)(argc - optind);
    return 0;
  }
  if (optind >= argc)
    return cli_usage_error("no job file given");
  o->file = argv[optind];
  o->names = argv + optind + 1;
  o->n_names = (size_t)(argc - optind - 1);
  if (o->stream && o->n_names > 0)
    return cli_usage_error("--stream takes one file and no job names");
  return 0;
}
