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

/* ---- the stable vector (svec.c) ------------------------------------------ */

#define CORUN__SVEC_FIRST 64 /* elements in the first block; each next doubles */
#define CORUN__SVEC_BLOCKS 40

/* Elements of `size` bytes in blocks that never move; {0} with size set
 * is empty. Reserved elements start zeroed. */
typedef struct corun__svec_s {
  char *blocks[CORUN__SVEC_BLOCKS];
  size_t cap;  /* elements reserved */
  size_t size; /* of one element */
} corun__svec_t;

/* Room for at least n elements: 0 or UV_ENOMEM. */
int corun__svec_reserve(corun__svec_t *v, size_t n);
void corun__svec_free(corun__svec_t *v);

/* Element i (< cap). */
static inline void *corun__svec_at(const corun__svec_t *v, size_t i) {
  size_t x = i + CORUN__SVEC_FIRST;
  unsigned b = (unsigned)(63 - __builtin_clzll((unsigned long long)x)) -
               (unsigned)__builtin_ctz(CORUN__SVEC_FIRST);
  return v->blocks[b] + (x - ((size_t)CORUN__SVEC_FIRST << b)) * v->size;
}

/* ---- UTF-8 (utf8.c) ------------------------------------------------------ */

/* The length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0:
 * overlong forms, surrogates and code points past U+10FFFF are rejected. */
size_t corun__utf8_len(const unsigned char *s, size_t n);
/* The code point of a sequence corun__utf8_len() accepted as `len` long. */
unsigned corun__utf8_decode(const unsigned char *s, size_t len);
/* The offset of the first byte that is not well-formed UTF-8, or len. */
size_t corun__utf8_check(const unsigned char *s, size_t len);

/* How a writer writes a character its `plain` table does not pass: cp is
 * its code point (-1 for a byte that is not well-formed UTF-8), p and len
 * its bytes. */
typedef void (*corun__escape_fn)(FILE *f, long cp, const unsigned char *p,
                                 size_t len);
/* Write n bytes: ASCII bytes whose plain[] entry is set go out as they
 * are, in runs; every other character through `esc`. The one walk every
 * text writer (JSON, XML) shares. */
void corun__utf8_write(FILE *f, const char *s, size_t n,
                       const unsigned char plain[128], corun__escape_fn esc);

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

#define CORUN__NO_JOB ((size_t)-1)

typedef struct corun__job_s {
  corun_job_desc_t d;   /* owned copies of every string and array */
  size_t n_needs;
  size_t *need_idx;     /* resolved by seal */
  int pool;             /* index of its pool, -1 none */
  size_t pos;           /* position among all jobs given, for messages */
  size_t dep_head, dep_tail; /* its dependents: a list in `edges` */
} corun__job_t;

/* One need, seen from the job needed: `to` needs it. Each job's edges
 * form a list in job order, so that a plan can grow (open runs). */
typedef struct corun__edge_s {
  size_t to, next; /* next: CORUN__NO_JOB at the end */
} corun__edge_t;

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
  corun__svec_t jobs;    /* of corun__job_t; they never move */
  size_t n_jobs;
  size_t n_tried;        /* add_job calls, accepted or not: positions */
  char **pool_names;
  unsigned *pool_slots;
  size_t n_pools, cap_pools;
  unsigned max_parallel; /* 0: number of CPUs */
  char *halt;            /* NULL: "never" */
  bool sealed;
  bool open;             /* sealed, yet taking jobs (an open run's) */
  size_t *order;         /* topological order, n_jobs entries */
  size_t cap_order;
  corun__edge_t *edges;  /* every job's dependents */
  size_t n_edges, cap_edges;
  size_t *hash;          /* open addressing: index + 1, 0 empty */
  size_t hash_cap;
};

static inline corun__job_t *corun__pjob(const corun_plan_t *p, size_t i) {
  return (corun__job_t *)corun__svec_at(&p->jobs, i);
}

/* An open plan: sealed (empty or not), and taking further jobs through
 * corun__plan_append(), each checked as corun_plan_add_job() checks one;
 * its needs may name only jobs appended before it. 0 with the job's
 * index in *index, or an error with its message. */
int corun__plan_open(corun_plan_t *plan);
int corun__plan_append(corun_plan_t *plan, const corun_job_desc_t *job,
                       size_t *index, corun_error_t *err);

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

/* ---- halt policies (halt.c) --------------------------------------------- */

typedef struct corun__halt_s {
  enum { CORUN__HALT_NEVER, CORUN__HALT_SOON, CORUN__HALT_NOW } when;
  bool on_success; /* count successes rather than failures */
  unsigned n;
} corun__halt_t;

/* What a valid policy looks like, the one wording every message uses. */
extern const char corun__halt_expected[];

/* 0, or CORUN_EINVALID for text that is not a policy (NULL included). */
int corun__halt_parse(const char *text, corun__halt_t *halt);
/* Whether the policy is met by the successes and failures counted so far. */
bool corun__halt_met(const corun__halt_t *halt, unsigned successes,
                     unsigned failures);

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

/* `selected` (n_jobs bytes, NULL: every job) says which jobs take part;
 * it is copied. `halt_text` must outlive the scheduler. */
int corun__sched_new(corun__sched_t **s, const corun_plan_t *plan,
                     const unsigned char *selected, unsigned jobs,
                     const corun__halt_t *halt, const char *halt_text,
                     const corun__runner_t *runner, void *ctx);
void corun__sched_free(corun__sched_t *s);
void corun__sched_start(corun__sched_t *s);
void corun__sched_ended(corun__sched_t *s, size_t job, corun__end_t how);
void corun__sched_due(corun__sched_t *s, size_t job);
void corun__sched_cancel(corun__sched_t *s, bool kill_now);
void corun__sched_cancel_job(corun__sched_t *s, size_t job);
/* Open runs: the plan's newest job (appended) joins; no more will come. */
int corun__sched_add(corun__sched_t *s);
/* Room for one more job, so that the next corun__sched_add() cannot fail. */
int corun__sched_reserve(corun__sched_t *s, int pool);
void corun__sched_close_input(corun__sched_t *s);
unsigned corun__sched_attempts(const corun__sched_t *s, size_t job);
bool corun__sched_cancelled(const corun__sched_t *s);
/* 0: success, 1: failure (valid once done). */
int corun__sched_exit_code(const corun__sched_t *s);

/* ---- launchers (launch.c and one launch_*.c per backend) ---------------- */

/*
 * How a job is launched, watched and stopped sits behind this interface,
 * as ninja's CommandRunner does: the run asks a launcher to start an
 * attempt and to stop it, and hears back through corun__launch_cb_t what
 * the attempt wrote and how it ended. The local launcher (launch_local.c)
 * runs child processes; a new backend is one file with one
 * corun__launcher_ops_t, listed in launch.c. Nothing a backend keeps per
 * attempt is visible outside it: the run holds an opaque handle.
 */
typedef struct corun__launcher_s corun__launcher_t;

/* How an attempt ended, decoded by its launcher: no raw wait status
 * leaves a backend. */
typedef struct corun__exit_s {
  corun__end_t how; /* OK, FAILED, TIMEOUT or STOPPED */
  int exit_code;    /* -1 unless it exited */
  int signal;       /* the signal that ended it, 0 when none */
} corun__exit_t;

/* One attempt to start. Borrowed during the start call only. */
typedef struct corun__attempt_s {
  size_t job;
  unsigned attempt;
  const char *name;
  const char *const *argv;  /* NULL-terminated: an argv, or sh -c TEXT */
  const char *const *env;   /* the job's own "K=V" sets and "K" unsets */
  const char *cwd;          /* NULL: the current folder */
  const char *stdin_text;   /* NULL: /dev/null */
  const char *mark;         /* CORUN_JOB_ID=TOKEN:JOB, added to its env */
  double timeout_s;         /* 0: none */
  double kill_grace_s;
} corun__attempt_t;

typedef struct corun__launch_cb_s {
  /* Bytes read from a stream; buf is valid during the call only. */
  void (*data)(void *ctx, size_t job, corun_stream_t stream, const char *buf,
               size_t len);
  /* A stream reached EOF (or was closed after the grace). */
  void (*eof)(void *ctx, size_t job, corun_stream_t stream);
  /* The attempt is over: exited, both streams closed, nothing of it left.
   * Its handle is invalid from here on. */
  void (*done)(void *ctx, size_t job, const corun__exit_t *exit);
} corun__launch_cb_t;

typedef struct corun__launcher_ops_s {
  const char *name;
  /* Set up on `loop`. On error *out may still be set: close it then. */
  int (*open)(corun__launcher_t **out, uv_loop_t *loop,
              const corun__launch_cb_t *cb, void *ctx);
  /* Close its handles; closed(arg) fires once all are closed. Every
   * attempt must be done first. */
  void (*close)(corun__launcher_t *l, void (*closed)(void *), void *arg);
  /* 0 (and *handle, *pid set), CORUN__START_LATER (out of descriptors or
   * processes), or a negative error with its reason in `why`. */
  int (*start)(corun__launcher_t *l, const corun__attempt_t *a, void **handle,
               long *pid, char *why, size_t why_len);
  /* SIGTERM, then SIGKILL after the grace (at once when kill_now); the
   * attempt ends through done() with how STOPPED (or TIMEOUT when its
   * timeout had already fired). */
  void (*stop)(corun__launcher_t *l, void *handle, bool kill_now);
  /* Stop or resume reading output, now and for attempts to come. */
  void (*pause)(corun__launcher_t *l, bool paused);
  /* Suspend (SIGSTOP) or resume (SIGCONT) every attempt, holding their
   * clocks meanwhile; attempts started while suspended start stopped.
   * NULL: the backend cannot. */
  void (*suspend)(corun__launcher_t *l, bool suspended);
} corun__launcher_ops_t;

/* Every launcher begins with this. */
struct corun__launcher_s {
  const corun__launcher_ops_t *ops;
};

extern const corun__launcher_ops_t corun__launch_local;

/* The backend of that name ("local"), or NULL. */
const corun__launcher_ops_t *corun__launcher_find(const char *name);
/* A job's environment: `base` with the job's sets and unsets (`env`, may
 * be NULL) applied, later entries winning, and `mark` (may be NULL) last.
 * The array is malloc'ed; its strings are borrowed. NULL when out of
 * memory. */
char **corun__launch_env(char *const *base, const char *const *env,
                         const char *mark);
/* The PATH a job's own env entries (as corun__launch_env() takes them)
 * set, or NULL when they leave the launcher's alone; unset, it is glibc's
 * default. The last entry for PATH wins. */
const char *corun__launch_job_path(const char *const *env);
/*
 * Find `name` on `path` as execvp does: a name with a slash is used as it
 * is; an empty PATH entry means the current folder (the job's cwd, since
 * the spawn changes to it first); a file found but not executable is
 * EACCES unless a later entry has one that is; an empty PATH is one empty
 * entry. 0 with the file in `out`, or an errno.
 */
int corun__launch_search_path(const char *name, const char *path,
                              const char *cwd, char *out, size_t out_len);

/* ---- what jobs leave behind (orphans.c, watchdog.c) ---------------------- */

/* The environment entry every job carries: CORUN_JOB_ID=TOKEN:JOB. */
#define CORUN__MARK_VAR "CORUN_JOB_ID="
#define CORUN__MARK_MAX 80

/* Whether the environment of `pid` has an entry starting with the
 * mark_len bytes of `mark` (count its NUL for an exact match). */
bool corun__proc_marked(long pid, const char *mark, size_t mark_len);
/* SIGKILL to pid and to the process group it leads, if it leads one. */
void corun__proc_kill_tree(long pid);
/* When this process is a child subreaper: kill the children it adopted
 * whose environment starts an entry with `mark`, unless it has no more
 * children than `ours` (its jobs' main processes). Killed pids are added
 * to reap[] (up to reap_cap) for the caller to reap. How many were killed. */
size_t corun__orphans_stop(int children_fd, const char *mark, size_t mark_len,
                           size_t ours, long *reap, size_t reap_cap,
                           size_t *n_reap);
/* This process's list of children (/proc/self/task/PID/children), to
 * pass to corun__orphans_stop(); -1 when the system has none. */
int corun__orphans_open(void);
/* Fork the watchdog that kills every process marked with `mark` (a
 * prefix, "CORUN_JOB_ID=TOKEN:") once this process is gone. Returns the
 * descriptor to hold open while the run lives, or a negative error. */
int corun__watchdog_start(const char *mark);

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

/* ---- sinks (sink.c and one sink_*.c or writer per consumer) ------------- */

/*
 * Everything that consumes what a run does is a sink with the same few
 * callbacks, as curl's client writers are: the captured tails, the log
 * files, the line splitter, the embedder's callbacks, the events stream,
 * the span recorder, and the files written at the end (report, JUnit,
 * trace, timeline). The run calls each sink in the order they were added;
 * a sink leaves unset what it does not need. A new format is one file
 * that fills a corun__sink_ops_t and one line where sinks are wired up
 * (run.c).
 *
 * Per attempt: prepare (may refuse: CORUN__START_LATER or an error, with
 * its reason in `why`), start once the attempt runs, bytes and lines,
 * eof per stream, attempt_end once it is over (also after a refused or
 * failed start), then retry or, once per job, job_end. run_end comes last
 * of all, with the run's exit code.
 */
typedef struct corun__sink_s corun__sink_t;

typedef struct corun__sink_ops_s {
  int (*prepare)(corun__sink_t *s, size_t job, unsigned attempt, char *why,
                 size_t why_len);
  void (*start)(corun__sink_t *s, size_t job, unsigned attempt, long pid);
  void (*bytes)(corun__sink_t *s, size_t job, corun_stream_t st,
                const char *buf, size_t len);
  void (*line)(corun__sink_t *s, size_t job, corun_stream_t st,
               const char *line, size_t len);
  void (*eof)(corun__sink_t *s, size_t job, corun_stream_t st);
  /* The attempt's result so far; the tail fills in its output here. */
  void (*attempt_end)(corun__sink_t *s, size_t job, corun_result_t *res);
  void (*retry)(corun__sink_t *s, size_t job, const corun_result_t *failed,
                unsigned next_attempt, double delay_s);
  void (*job_end)(corun__sink_t *s, size_t job, const corun_result_t *res);
  void (*halt)(corun__sink_t *s, const char *policy);
  void (*run_end)(corun__sink_t *s, int exit_code);
  /* A job joined (each job of the plan at first, then each one an open
   * run takes): set up its element of `jobs` (zeroed). Optional. */
  void (*job_added)(corun__sink_t *s, size_t job);
  /* Free what the sink holds besides `jobs` and itself. Optional. */
  void (*free)(corun__sink_t *s);
} corun__sink_ops_t;

struct corun__sink_s {
  const corun__sink_ops_t *ops;
  corun_run_t *run;
  corun__sink_t *next;
  corun__svec_t jobs; /* one element per job, when the sink keeps any */
  size_t n_jobs;      /* jobs added so far */
  int error; /* errno of the first failed write to its file, 0 */
};

/* A zeroed sink of `size` bytes (its struct begins with corun__sink_t)
 * with ops and run set, and when job_size > 0 an element of job_size
 * bytes for each job of the run's plan; NULL when out of memory
 * (sink.c). */
void *corun__sink_new(size_t size, const corun__sink_ops_t *ops,
                      corun_run_t *run, size_t job_size);
/* The sink's element for a job; it never moves. */
static inline void *corun__sink_job(const corun__sink_t *s, size_t job) {
  return corun__svec_at(&s->jobs, job);
}
/* Room for n jobs; then one more job (open runs): 0 or UV_ENOMEM. After
 * a reserve that succeeded, adding within it cannot fail. */
int corun__sink_reserve(corun__sink_t *s, size_t n);
int corun__sink_add_job(corun__sink_t *s);
/* Free the sink, its elements and what it holds. */
void corun__sink_free(corun__sink_t *s);

/* What a sink may read of its run. */
const corun_plan_t *corun__run_plan(const corun_run_t *run);
bool corun__run_selected(const corun_run_t *run, size_t job);
/* Seconds since the run started. */
double corun__run_now(const corun_run_t *run);
size_t corun__run_tail_cap(const corun_run_t *run);
size_t corun__run_line_max(const corun_run_t *run);
const char *corun__run_job_name(const corun_run_t *run, size_t job);
/* Run with another launcher than the local one (before the run starts):
 * the seam tests use to run jobs without processes. */
void corun__run_use_launcher(corun_run_t *run, const corun__launcher_ops_t *ops);
/* Hand a line to every sink with a line callback (the splitter does). */
void corun__run_line(corun_run_t *run, size_t job, corun_stream_t st,
                     const char *line, size_t len);

/* Sinks, each created for `run` (0 or UV_ENOMEM). */
int corun__sink_tail(corun__sink_t **out, corun_run_t *run);
int corun__sink_lines(corun__sink_t **out, corun_run_t *run);
int corun__sink_log(corun__sink_t **out, corun_run_t *run, const char *dir);
int corun__sink_callbacks(corun__sink_t **out, corun_run_t *run,
                          const corun_callbacks_t *cb, void *data);
int corun__sink_events(corun__sink_t **out, corun_run_t *run, FILE *f);
int corun__sink_report(corun__sink_t **out, corun_run_t *run, FILE *f);
int corun__sink_junit(corun__sink_t **out, corun_run_t *run, FILE *f);
int corun__sink_trace(corun__sink_t **out, corun_run_t *run, FILE *f);
int corun__sink_timeline(corun__sink_t **out, corun_run_t *run, FILE *f);

/* A file written once, when the run ends (sink_file.c): `write` is called
 * with the run's exit code; a failed write is kept in the sink's error. */
typedef int (*corun__write_fn)(corun_run_t *run, FILE *f, int exit_code);
int corun__sink_file(corun__sink_t **out, corun_run_t *run, FILE *f,
                     corun__write_fn write);

/* The span recorder (sink_spans.c): one span per attempt, on the lowest
 * free lane (a lane is a parallel slot), for the trace and the timeline. */
typedef struct corun__span_s {
  size_t job;
  unsigned attempt;
  unsigned lane;
  double t0, t1; /* seconds since the run began */
  corun_status_t status;
} corun__span_t;

int corun__sink_spans(corun__sink_t **out, corun_run_t *run);
/* The spans recorded so far, and how many lanes they use. */
const corun__span_t *corun__spans(const corun__sink_t *spans, size_t *n,
                                  size_t *lanes);
/* The run's span recorder, created on first use; NULL when out of memory. */
corun__sink_t *corun__run_spans(corun_run_t *run);

/* ---- writing JSON and XML (json_write.c, xml.c) -------------------------- */

/* corun_json_string() and corun_signal_name() are public (corun.h). */
void corun__json_cstr(FILE *f, const char *s); /* NULL writes null */
/* ISO 8601 UTC with milliseconds, or null for t <= 0. */
void corun__json_time(FILE *f, double unix_time);
/* %.3f, 0 for what is not finite. */
void corun__json_num(FILE *f, double v);
/* "exit_code":N|null,"signal":"SIGX"|null of a result. */
void corun__json_exit(FILE *f, const corun_result_t *r);
/* XML character data or attribute text: escaped; bytes that are not UTF-8
 * and characters XML 1.0 cannot hold become U+FFFD. */
void corun__xml_text(FILE *f, const char *s, size_t n);
void corun__xml_cstr(FILE *f, const char *s);

#endif /* CORUN_INTERNAL_H */
