/* The command line's own declarations; it uses nothing of libcorun but
 * include/corun.h. */
#ifndef CORUN_CLI_H
#define CORUN_CLI_H

#include "corun.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum { OUT_PREFIX, OUT_GROUP, OUT_RAW, OUT_NONE } out_mode_t;

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

/* One attempt of a job, for the trace and the timeline. */
typedef struct {
  size_t job;
  unsigned attempt;
  unsigned lane;
  double t0, t1; /* seconds since the run began */
  corun_status_t status;
} span_t;

typedef struct cli_s {
  const corun_plan_t *plan;
  corun_run_t *run;
  out_mode_t mode;
  bool color, quiet, progress;
  int name_width;
  writer_t out, err;
  /* group mode: each job's output, printed whole when it ends */
  writer_t *group_out, *group_err;
  FILE *events;
  int events_error;  /* errno of the first failed events write */
  uint64_t t0_ns;
  size_t n_selected, n_done, n_running;
  /* spans of every attempt (trace, timeline) */
  span_t *spans;
  size_t n_spans, cap_spans;
  size_t *open_span; /* per job: index of its running span + 1 */
  unsigned char *lane_busy;
  size_t n_lanes;
  /* stdout and stderr when they are pipes or sockets: written without
   * blocking, watched for room, and the run's output paused while too
   * much waits (a reader that stops reading must not stop corun). */
  uv_poll_t wpoll[2];
  bool wpoll_init[2], wpoll_on[2];
  int saved_flags[2];
  bool output_paused;
  bool events_on_stdout;
  int stop_signal;   /* the first signal that stopped the run */
  bool pipe_gone;    /* our stdout or stderr went away */
  bool progress_shown;
} cli_t;

/* Callbacks of the run, wired to the chosen outputs (output.c). */
void cli_callbacks(cli_t *c, corun_callbacks_t *cb);
double cli_now(const cli_t *c);
void cli_flush(cli_t *c);
/* Set up non-blocking stdout/stderr on `loop`; undo it (then blocking). */
void cli_output_start(cli_t *c, uv_loop_t *loop);
void cli_output_close(cli_t *c);
void cli_output_finish(cli_t *c, double limit_s);
void cli_progress(cli_t *c, bool final);

/* Files written after the run (files.c). */
int cli_write_junit(const cli_t *c, FILE *f);
int cli_write_trace(const cli_t *c, FILE *f);
int cli_write_timeline(const cli_t *c, FILE *f);

#endif
