/* The command line's own declarations. It uses nothing of libcorun but
 * include/corun.h, and is built without the library's private headers. */
#ifndef CORUN_CLI_H
#define CORUN_CLI_H

#include "corun.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum { OUT_PREFIX, OUT_GROUP, OUT_RAW, OUT_NONE } out_mode_t;

/* ---- options (args.c) ---------------------------------------------------- */

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
  const char *log_dir;
  /* --report, --events, --junit, --trace, --timeline, by corun_format_t */
  const char *files[CORUN_FORMAT_COUNT];
  int action; /* 0 run, or OPT_CHECK / OPT_LIST / OPT_DRY_RUN / OPT_GRAPH */
  int color;  /* -1 auto, 0 never, 1 always */
  bool quiet;
  const char *file;
  char **names;
  size_t n_names;
} opts_t;

/* 0, or the exit status after a message (2; 0 after --help/--version,
 * with *done set). */
int cli_parse_args(int argc, char **argv, opts_t *o, bool *done);
/* "corun: MESSAGE" and the hint about --help on stderr; returns 2. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- inspection (inspect.c) ---------------------------------------------- */

/* --check, --list, --dry-run, --graph of the selected jobs. */
int cli_inspect(const corun_plan_t *plan, const unsigned char *selected,
                int action);

/* ---- live output (output.c) ---------------------------------------------- */

/* A buffered writer on a descriptor: whole lines go out in one write, and
 * a write error (EPIPE: the reader went away) is remembered, not fatal. */
typedef struct {
  int fd;
  char *buf;
  size_t off, len, cap; /* pending: buf[off..len) */
  int error; /* errno of the first failed write, 0 while fine */
} writer_t;

void w_init(writer_t *w, int fd);
void w_put(writer_t *w, const void *p, size_t n);
void w_str(writer_t *w, const char *s);
/* Write what is pending; on a non-blocking descriptor, what fits. */
void w_flush(writer_t *w);
size_t w_pending(const writer_t *w);
void w_free(writer_t *w);

typedef struct group_s group_t;

/* stdout, stderr, and the output files that are pipes, FIFOs or sockets. */
#define CLI_WRITERS (2 + CORUN_FORMAT_COUNT)

typedef struct cli_s {
  const corun_plan_t *plan;
  corun_run_t *run;
  out_mode_t mode;
  bool color, quiet, progress;
  int name_width;
  writer_t out, err;
  /* group mode: each job's output, printed whole when it ends (group.c) */
  group_t **groups; /* per job, while it runs */
  group_t *replay;  /* ended jobs whose output is on its way out */
  uint64_t t0_ns;
  size_t n_selected, n_done, n_running;
  unsigned char *running; /* per job: an attempt is running */
  /* Output files (--events, --report, ...) that are pipes, FIFOs or
   * sockets, written through these writers; fd -1 for the others. */
  writer_t files[CORUN_FORMAT_COUNT];
  /* Every writer (ws[0] stdout, ws[1] stderr, then the files; NULL where
   * none) that is a pipe or a socket is written without blocking, watched
   * for room, and the run's output paused while too much waits: a reader
   * that stops reading must not stop corun. */
  writer_t *ws[CLI_WRITERS];
  uv_poll_t wpoll[CLI_WRITERS];
  bool wpoll_init[CLI_WRITERS], wpoll_on[CLI_WRITERS];
  int saved_flags[CLI_WRITERS];
  bool output_paused;
  int stop_signal;   /* the first signal that stopped the run */
  bool pipe_gone;    /* our stdout or stderr went away */
  bool progress_shown;
} cli_t;

/* The stream the run writes output file k to: "-" is stdout; a pipe,
 * FIFO or socket goes through a non-blocking writer; a file is a file.
 * NULL (errno set) when it cannot be opened. */
FILE *cli_open_file(cli_t *c, int k, const char *path);
/* Set up what the live output needs for a plan of n jobs; 0 or -1. */
int cli_output_init(cli_t *c, size_t n);
void cli_output_free(cli_t *c);
/* Callbacks of the run, wired to the chosen output mode. */
void cli_callbacks(cli_t *c, corun_callbacks_t *cb);
void cli_flush(cli_t *c);
/* Set up non-blocking stdout/stderr on `loop`; undo it (then blocking). */
void cli_output_start(cli_t *c, uv_loop_t *loop);
void cli_output_close(cli_t *c);
void cli_output_finish(cli_t *c, double limit_s);
void cli_progress(cli_t *c, bool final);

/* ---- group mode (group.c) ------------------------------------------------ */

int cli_group_init(cli_t *c, size_t n);
void cli_group_free(cli_t *c);
/* A job's bytes, kept (in memory, then in a file) until it ends. */
void cli_group_add(cli_t *c, size_t job, corun_stream_t st, const char *b,
                   size_t n);
/* The job ended: its output joins the queue to stdout and stderr. */
void cli_group_end(cli_t *c, size_t job, const corun_result_t *r);
/* Feed the queue to the writers while the reader keeps up; with `all`,
 * everything (the writers block then). */
void cli_group_feed(cli_t *c, bool all);

/* ---- the summary at the end (summary.c) ---------------------------------- */

void cli_summary(const cli_t *c, int exit_code);

#endif
