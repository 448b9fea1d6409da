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
  OPT_DRY_RUN, OPT_GRAPH, OPT_COLOR, OPT_STREAM, OPT_EACH
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
  bool stream;       /* --stream: the file is JSON Lines, read as it comes */
  const char *each;  /* --each TEMPLATE */
  const char *file;
  char **names;      /* JOB... (or --each's items) */
  size_t n_names;
} opts_t;

/* 0, or the exit status after a message (2; 0 after --help/--version,
 * with *done set). */
int cli_parse_args(int argc, char **argv, opts_t *o, bool *done);
/* "corun: MESSAGE" and the hint about --help on stderr; returns 2. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* ---- jobs that arrive while the run goes on (feed.c) --------------------- */

typedef struct feed_s feed_t;
struct feed_s {
  corun_run_t *run;
  const char *label;  /* the input's name in messages */
  const char *tmpl;   /* --each: the template; NULL: --stream */
  char **items;       /* --each: items from the arguments, else NULL */
  size_t n_items;
  int fd;             /* otherwise read from here */
  size_t line;        /* lines (items) taken so far */
  size_t bad;         /* lines that made no job */
  char *carry;        /* a partial line */
  size_t carry_len;
  uv_poll_t poll;
  uv_check_t resume;  /* --each: reading waits for jobs to start */
  size_t submitted;   /* the next job's index */
  bool polled, done;
  int saved_flags;
  void (*on_job)(feed_t *f, size_t index); /* a job was submitted */
  void (*on_bad)(feed_t *f);               /* a line made no job */
  void *data;
};

/* Submit what the input holds as it arrives; close the run's input at
 * its end. 0 or a libuv error. */
int cli_feed_start(feed_t *f, uv_loop_t *loop);
/* Stop reading (corun is stopping): no more jobs. */
void cli_feed_stop(feed_t *f);
void cli_feed_free(feed_t *f);
/* `w` as one word for a POSIX shell (malloc'ed; NULL when out of memory). */
char *cli_shell_word(const char *w);

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
  /* the status line (status.c) */
  size_t n_selected, n_done, n_running, n_failed;
  double timed_s;          /* the time of the jobs that ran and ended */
  size_t n_timed;
  unsigned slots;          /* jobs at once, for the estimate */
  int cols;                /* the terminal's width */
  bool color_err, utf8;    /* colours on stderr; a UTF-8 locale */
  bool mid_line;           /* a terminal writer is inside a line */
  bool out_tty, err_tty;
  double *started;         /* per job: when its attempt started */
  size_t *live;            /* running jobs, oldest first; SIZE_MAX: over */
  size_t *live_pos;        /* per job: its place in live + 1, 0 none */
  size_t live_head, live_len, live_cap;
  char *line;              /* the line last composed, ready to write */
  size_t line_len;
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
  size_t jobs_cap;   /* room in the per-job arrays (open runs grow it) */
} cli_t;

/* The stream the run writes output file k to: "-" is stdout; a pipe,
 * FIFO or socket goes through a non-blocking writer; a file is a file.
 * NULL (errno set) when it cannot be opened. */
FILE *cli_open_file(cli_t *c, int k, const char *path);
/* Set up what the live output needs for a plan of n jobs; 0 or -1. */
int cli_output_init(cli_t *c, size_t n);
/* Room for n jobs in the group arrays (an open run took one); 0 or -1. */
int cli_output_grow(cli_t *c, size_t n);
void cli_output_free(cli_t *c);
/* Callbacks of the run, wired to the chosen output mode. */
void cli_callbacks(cli_t *c, corun_callbacks_t *cb);
void cli_flush(cli_t *c);
/* Set up non-blocking stdout/stderr on `loop`; undo it (then blocking). */
void cli_output_start(cli_t *c, uv_loop_t *loop);
void cli_output_close(cli_t *c);
void cli_output_finish(cli_t *c, double limit_s);

/* ---- the status line (status.c) ------------------------------------------ */

int cli_status_init(cli_t *c, size_t n);
void cli_status_free(cli_t *c);
/* An attempt started; it is over (retried or ended); the job ended. */
void cli_status_start(cli_t *c, size_t job);
void cli_status_over(cli_t *c, size_t job);
void cli_status_end(cli_t *c, size_t job, const corun_result_t *r);
/* Read the terminal's width again (SIGWINCH). */
void cli_status_resize(cli_t *c);
/* Compose the line afresh and draw it (the tick), or with `final` clear
 * it away. */
void cli_progress(cli_t *c, bool final);
/* Clear the line before output; put the same line back after it. */
void cli_status_hide(cli_t *c);
void cli_status_show(cli_t *c);

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
