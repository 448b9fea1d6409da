/*
 * Private declarations shared between the modules of libcorun.
 * Public names are corun_*, private shared ones corun__*.
 */
#ifndef CORUN_INTERNAL_H
#define CORUN_INTERNAL_H

#include "corun.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CORUN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CORUN_PRINTF(a, b)
#endif

#define CORUN_DEFAULT_KILL_GRACE 5.0
#define CORUN_DEFAULT_TAIL (64 * 1024)
#define CORUN_NAME_MAX 200

/* ---- errors (error.c) ------------------------------------------------- */

/* Append one message to `err` (if not NULL) and set its code if unset. */
void corun__err_add(corun_error_t *err, int code, const char *fmt, ...)
    CORUN_PRINTF(3, 4);
void corun__err_vadd(corun_error_t *err, int code, const char *fmt,
                     va_list ap) CORUN_PRINTF(3, 0);

/* Allocation that reports failure by returning NULL; never aborts. */
char *corun__strdup(const char *s);
/* Grow *ptr (of *cap elements of `size`) to hold at least `need`. */
int corun__grow(void *ptr, size_t *cap, size_t need, size_t size);

/* ---- the growable byte buffer (buf.c) ----------------------------------- */

/* Always NUL-terminated once it holds anything. After a failed allocation
 * `failed` is set and every later call is a no-op returning UV_ENOMEM, so
 * a caller may check once at the end. {0} is an empty buffer. */
typedef struct corun__buf_s {
  char *data;
  size_t len, cap;
  bool failed;
} corun__buf_t;

int corun__buf_add(corun__buf_t *b, const void *p, size_t n);
int corun__buf_str(corun__buf_t *b, const char *s);
int corun__buf_printf(corun__buf_t *b, const char *fmt, ...) CORUN_PRINTF(2, 3);
/* Shorten to `len` bytes (no-op when already shorter). */
void corun__buf_cut(corun__buf_t *b, size_t len);
/* The text, or "" when empty or after a failed allocation. */
const char *corun__buf_cstr(const corun__buf_t *b);
void corun__buf_free(corun__buf_t *b);

/* ---- UTF-8 (utf8.c) ------------------------------------------------------ */

/* The length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0:
 * overlong forms, surrogates and code points past U+10FFFF are rejected. */
size_t corun__utf8_len(const unsigned char *s, size_t n);
/* The code point of a sequence corun__utf8_len() accepted as `len` long. */
unsigned corun__utf8_decode(const unsigned char *s, size_t len);
/* The offset of the first byte that is not well-formed UTF-8, or len. */
size_t corun__utf8_check(const unsigned char *s, size_t len);

/* ---- hashing (hash.c) ---------------------------------------------------- */

/* FNV-1a over n bytes: the one hash of every name table. */
uint64_t corun__hash(const char *s, size_t n);

/* ---- the min-heap (heap.c) ---------------------------------------------- */

/* A min-heap of job indexes, for queues that keep job-file order: v holds
 * room for every index, n is how many are in. */
typedef struct corun__heap_s {
  size_t *v;
  size_t n;
} corun__heap_t;

void corun__heap_push(corun__heap_t *h, size_t v);
size_t corun__heap_pop(corun__heap_t *h);

/* ---- plan (plan.c) ---------------------------------------------------- */

typedef struct corun__job_s {
  corun_job_desc_t d;   /* owned copies of every string and array */
  size_t n_needs;
  size_t *need_idx;     /* resolved by seal */
  int pool;             /* index of its pool, -1 none */
  size_t n_argv;
  size_t pos;           /* position among all jobs given, for messages */
} corun__job_t;

/* Job strings and vectors live in chunks freed with the plan: one
 * allocation per 64 KiB instead of one per string. */
typedef struct corun__chunk_s {
  struct corun__chunk_s *next;
  size_t used, cap;
  char data[];
} corun__chunk_t;

struct corun_plan_s {
  corun__chunk_t *arena;
  char *label;
  char *base_dir;
  corun__job_t *jobs;
  size_t n_jobs, cap_jobs;
  size_t n_tried;        /* add_job calls, accepted or not: positions */
  char **pool_names;
  unsigned *pool_slots;
  size_t n_pools, cap_pools;
  unsigned max_parallel; /* 0: number of CPUs */
  char *halt;            /* NULL: "never" */
  bool sealed;
  size_t *order;         /* topological order, n_jobs entries */
  size_t *dep_off;       /* dependents of job i: dep_idx[dep_off[i]..[i+1]) */
  size_t *dep_idx;
  unsigned char *selected;
  size_t *hash;          /* open addressing: index + 1, 0 empty */
  size_t hash_cap;
};

/* Whether `name` is a valid job name: [A-Za-z0-9_.:/@+-]{1,200}. */
bool corun__name_valid(const char *name);

/* ---- loader (load.c) -------------------------------------------------- */

/*
 * Fill an empty, unsealed `plan` from the JSON text `buf` and seal it.
 * Messages are prefixed with plan->label. Returns 0, CORUN_ESYNTAX,
 * CORUN_EINVALID or CORUN_ECYCLE, or UV_ENOMEM.
 */
int corun__load(corun_plan_t *plan, const char *buf, size_t len,
                corun_error_t *err);

/* ---- halt policies (sched.c) ------------------------------------------ */

typedef struct corun__halt_s {
  enum { CORUN__HALT_NEVER, CORUN__HALT_SOON, CORUN__HALT_NOW } when;
  bool on_success; /* count successes rather than failures */
  unsigned n;
} corun__halt_t;

int corun__halt_parse(const char *text, corun__halt_t *halt);

/* ---- scheduler (sched.c) ---------------------------------------------- */

/*
 * The scheduler decides what runs when: ready queue in job-file order, the
 * -j limit, pool slots, needs, skip propagation, retries and halting. It
 * knows nothing of processes or libuv: it drives a runner through these
 * calls and is told, through corun__sched_ended(), how each attempt ended.
 * Every call into the runner may call back into the scheduler.
 */
typedef enum {
  CORUN__END_OK,      /* exited 0 */
  CORUN__END_FAILED,  /* non-zero exit or a signal not sent by corun */
  CORUN__END_TIMEOUT, /* stopped by its timeout */
  CORUN__END_STOPPED, /* stopped because the scheduler asked */
  CORUN__END_ERROR    /* could not start */
} corun__end_t;

#define CORUN__START_LATER 1 /* start(): out of resources, try again later */
#define CORUN__NO_JOB ((size_t)-1)

typedef struct corun__runner_s {
  /* Start an attempt: 0, CORUN__START_LATER, or < 0 (the job ends `error`;
   * the runner has recorded why). */
  int (*start)(void *ctx, size_t job, unsigned attempt);
  /* Stop a running attempt; it ends later through corun__sched_ended(). */
  void (*stop)(void *ctx, size_t job, bool kill_now);
  /* Call corun__sched_due(job) after delay_s (job may be CORUN__NO_JOB). */
  int (*defer)(void *ctx, size_t job, double delay_s);
  void (*undefer)(void *ctx, size_t job);
  /* Notifications. */
  void (*job_end)(void *ctx, size_t job, corun_status_t status,
                  const char *reason);
  void (*retry)(void *ctx, size_t job, corun_status_t failed,
                unsigned next_attempt, double delay_s);
  void (*halted)(void *ctx, const char *policy);
  void (*all_ended)(void *ctx);
} corun__runner_t;

typedef struct corun__sched_s corun__sched_t;

int corun__sched_new(corun__sched_t **s, const corun_plan_t *plan,
                     unsigned jobs, const corun__halt_t *halt,
                     const char *halt_text, const corun__runner_t *runner,
                     void *ctx);
void corun__sched_free(corun__sched_t *s);
void corun__sched_start(corun__sched_t *s);
void corun__sched_ended(corun__sched_t *s, size_t job, corun__end_t how);
void corun__sched_due(corun__sched_t *s, size_t job);
void corun__sched_cancel(corun__sched_t *s, bool kill_now);
void corun__sched_cancel_job(corun__sched_t *s, size_t job);
corun_status_t corun__sched_status(const corun__sched_t *s, size_t job);
unsigned corun__sched_attempts(const corun__sched_t *s, size_t job);
size_t corun__sched_running(const corun__sched_t *s);
bool corun__sched_done(const corun__sched_t *s);
bool corun__sched_cancelled(const corun__sched_t *s);
/* 0: success, 1: failure (valid once done). */
int corun__sched_exit_code(const corun__sched_t *s);

/* ---- the local launcher (proc.c) ------------------------------------- */

/*
 * How a job is launched, watched and stopped: local child processes, each
 * in a session of its own, spawned with posix_spawn, with a pipe per output
 * stream and a pidfd for its exit, all watched through one private epoll
 * instance that sits on the caller's loop as a single uv_poll_t. A cluster
 * backend would replace this file and keep the interface.
 */
typedef struct corun__launcher_s corun__launcher_t;
typedef struct corun__proc_s corun__proc_t;

typedef struct corun__launch_cb_s {
  /* Bytes read from a stream; buf is valid during the call only. */
  void (*data)(void *ctx, corun__proc_t *p, corun_stream_t stream,
               const char *buf, size_t len);
  /* A stream reached EOF (or was closed after the grace). */
  void (*eof)(void *ctx, corun__proc_t *p, corun_stream_t stream);
  /* The attempt is over: exited, both streams closed, group gone. */
  void (*done)(void *ctx, corun__proc_t *p);
} corun__launch_cb_t;

typedef enum {
  CORUN__STOP_NONE,
  CORUN__STOP_TIMEOUT,
  CORUN__STOP_REQUEST
} corun__stop_t;

struct corun__proc_s {
  corun__launcher_t *l;
  size_t job;
  void *data;              /* the run's per-attempt state */
  long pid;
  int pidfd, fd_out, fd_err;
  int wstatus;             /* valid once exited */
  bool exited, killed, draining;
  bool polled;             /* no pidfd: its exit is polled by a timer */
  corun__stop_t stop;      /* why corun stopped it, if it did */
  double kill_grace;
  uint64_t grace_deadline; /* uv_now() ms */
  unsigned poll_ms;
  uv_timer_t timer;        /* timeout, grace and group polling */
  unsigned slot;
  corun__proc_t *next_free;
};

typedef struct corun__spawn_s {
  const char *const *argv;  /* NULL-terminated */
  char *const *envp;        /* NULL: the current environment */
  const char *cwd;          /* NULL: the current folder */
  const char *stdin_text;   /* NULL: /dev/null */
  double timeout_s;         /* 0: none */
  double kill_grace_s;
} corun__spawn_t;

int corun__launcher_new(corun__launcher_t **l, uv_loop_t *loop,
                        const corun__launch_cb_t *cb, void *ctx);
/* Close the launcher's handles; close_cb fires once all are closed.
 * Every proc must be done first. */
void corun__launcher_close(corun__launcher_t *l, void (*close_cb)(void *),
                           void *arg);
/* Spawn: 0, CORUN__START_LATER (out of descriptors or processes), or a
 * negative error with its reason in why. */
int corun__proc_spawn(corun__launcher_t *l, const corun__spawn_t *sp,
                      size_t job, void *data, corun__proc_t **out,
                      char *why, size_t why_len);
/* Stop: SIGTERM to the group, SIGKILL after the grace (at once when
 * kill_now). The attempt ends through the done callback. */
void corun__proc_stop(corun__proc_t *p, corun__stop_t why, bool kill_now);
/* Stop or resume reading the output of every proc, now and to come. */
void corun__launcher_pause(corun__launcher_t *l, bool paused);
/* Give a done proc back; its memory is reused by later spawns. */
void corun__proc_release(corun__proc_t *p);

/* ---- line splitting (lines.c) ----------------------------------------- */

typedef struct corun__carry_s {
  char *buf;
  size_t len, cap;
} corun__carry_t;

typedef void (*corun__line_fn)(void *ctx, const char *line, size_t len);

/* Split `n` bytes into lines (without their newline) for `fn`; a partial
 * last line waits in the carry; lines longer than line_max come in pieces. */
void corun__lines_feed(corun__carry_t *c, size_t line_max, const char *b,
                       size_t n, corun__line_fn fn, void *ctx);
/* Hand on a partial last line, at EOF. */
void corun__lines_flush(corun__carry_t *c, corun__line_fn fn, void *ctx);
void corun__carry_free(corun__carry_t *c);

/* ---- JSON writing (report.c) ------------------------------------------ */

/* corun_json_string() and corun_signal_name() are public (corun.h). */

#endif /* CORUN_INTERNAL_H */
