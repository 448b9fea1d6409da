/*
 * corun — run the commands of a job plan in parallel on a libuv loop.
 *
 * This header is the whole public surface of libcorun.
 *
 * Memory ownership, once for all: every object the library allocates
 * (plans, runs, error messages) is freed by the matching corun_*_free() or
 * corun_error_release() call and by nothing else. Every pointer the library
 * hands out (names, results, captured output, buffers passed to callbacks)
 * is borrowed: it stays valid as long as the object it came from, except a
 * buffer passed to an output callback, which is valid only during that
 * callback. Every string the caller passes in is copied before the call
 * returns; the caller may free it afterwards.
 *
 * The library never prints, never exits or aborts on bad input, never
 * installs signal handlers and keeps no global state: several plans and
 * runs may live on one loop, or on several loops in several threads (one
 * run is used from one thread only). Errors are 0 or a negative code:
 * libuv's UV_E* codes pass through unchanged, corun's own start at
 * CORUN_EBASE; corun_strerror() names both. Human detail (file, line,
 * column, JSON path) goes into a corun_error_t the caller provides.
 */
#ifndef CORUN_H
#define CORUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CORUN_EXTERN __attribute__((visibility("default")))
#else
#define CORUN_EXTERN
#endif

#define CORUN_VERSION_MAJOR 0
#define CORUN_VERSION_MINOR 2
#define CORUN_VERSION_PATCH 0
#define CORUN_VERSION_STRING "0.2.0"

/* Error codes of corun's own; libuv's UV_E* codes are used as they are. */
enum {
  CORUN_EBASE = -5000,
  CORUN_EINVALID = -5000, /* the job file or job description is invalid */
  CORUN_ESYNTAX = -5001,  /* the job file is not valid JSON or not UTF-8 */
  CORUN_ECYCLE = -5002,   /* the needs of the plan form a cycle */
  CORUN_ENOJOB = -5003,   /* no job of that name */
  CORUN_ESTATE = -5004,   /* the call does not fit the object's state */
  CORUN_EIO = -5005       /* a file could not be read or written */
};

/* The name of an error code, libuv's or corun's. Never NULL. */
CORUN_EXTERN const char *corun_strerror(int err);
CORUN_EXTERN const char *corun_version(void);

/*
 * Where a failed call puts its detail: `code` is the call's return value,
 * `messages` holds one line per problem found (no newline at the end), in
 * the order found. Initialise with {0}; release with corun_error_release(),
 * which leaves it ready for reuse. A call that succeeds leaves it untouched.
 */
typedef struct corun_error_s {
  int code;
  size_t count;
  char **messages;
} corun_error_t;

CORUN_EXTERN void corun_error_release(corun_error_t *err);

/* ---- Plans ------------------------------------------------------------ */

typedef struct corun_plan_s corun_plan_t;

/*
 * One job, as the caller describes it. Zero means the default for every
 * field, so `corun_job_desc_t d = {0}` plus `argv` or `shell` is a valid
 * job. Exactly one of `argv` and `shell` is set.
 */
typedef struct corun_job_desc_s {
  const char *name;             /* NULL: "job-N", N its 1-based position */
  const char *const *argv;      /* NULL-terminated; looked up on PATH */
  const char *shell;            /* run as /bin/sh -c SHELL */
  const char *cwd;              /* NULL: the plan's folder; relative: to it */
  const char *const *env;       /* NULL-terminated; "K=V" sets, "K" unsets */
  const char *const *needs;     /* NULL-terminated names of other jobs */
  const char *pool;             /* NULL: none */
  const char *stdin_text;       /* NULL: stdin is /dev/null */
  double timeout_s;             /* 0: none */
  double kill_grace_s;          /* 0: 5 s; SIGTERM → SIGKILL delay */
  double retry_delay_s;         /* before each further attempt */
  unsigned retries;             /* further attempts after a failure */
  int retry_backoff;            /* double the delay with each retry */
  int allow_failure;            /* a failure does not fail the run */
} corun_job_desc_t;

/*
 * Loading. `path` "-" reads standard input. A buffer is named `label` in
 * messages; relative `cwd`s are resolved against `base_dir` (NULL: the
 * current folder). On error *plan is NULL and `err` holds every problem
 * found, each as "FILE:LINE:COL: message" (syntax) or
 * "FILE: jobs[3].timeout: message" (everything else).
 */
CORUN_EXTERN int corun_plan_load_file(corun_plan_t **plan, const char *path,
                                      corun_error_t *err);
CORUN_EXTERN int corun_plan_load_buffer(corun_plan_t **plan, const char *buf,
                                        size_t len, const char *label,
                                        const char *base_dir,
                                        corun_error_t *err);

/*
 * Building in code: corun_plan_new(), then pools and jobs, then
 * corun_plan_seal(), which resolves needs and pools, checks for cycles and
 * fixes the order. A plan loaded from a file is sealed already. Jobs and
 * pools may be added only before sealing; runs take sealed plans only.
 * `label` names the plan in messages (NULL: "plan").
 */
CORUN_EXTERN int corun_plan_new(corun_plan_t **plan, const char *label,
                                const char *base_dir);
CORUN_EXTERN int corun_plan_add_pool(corun_plan_t *plan, const char *name,
                                     unsigned slots, corun_error_t *err);
CORUN_EXTERN int corun_plan_add_job(corun_plan_t *plan,
                                    const corun_job_desc_t *job,
                                    corun_error_t *err);
CORUN_EXTERN int corun_plan_set_max_parallel(corun_plan_t *plan, unsigned n);
CORUN_EXTERN int corun_plan_set_halt(corun_plan_t *plan, const char *policy,
                                     corun_error_t *err);
CORUN_EXTERN int corun_plan_seal(corun_plan_t *plan, corun_error_t *err);
CORUN_EXTERN void corun_plan_free(corun_plan_t *plan);

/*
 * Which jobs of a sealed plan run when only `names` are asked for: those
 * and everything they need, transitively. `selected` has room for
 * corun_plan_job_count() bytes; each becomes 1 (selected) or 0. n == 0
 * selects every job. An unknown name is CORUN_ENOJOB. The plan is not
 * changed: a run selects through corun_run_options_t.select.
 */
CORUN_EXTERN int corun_plan_select(const corun_plan_t *plan,
                                   const char *const *names, size_t n,
                                   unsigned char *selected,
                                   corun_error_t *err);

/* Inspection of a sealed plan. Indexes are positions in the job file.
 * Descriptions and names are borrowed from the plan and live as long as it. */
CORUN_EXTERN size_t corun_plan_job_count(const corun_plan_t *plan);
CORUN_EXTERN const corun_job_desc_t *corun_plan_job(const corun_plan_t *plan,
                                                    size_t i);
CORUN_EXTERN int corun_plan_find(const corun_plan_t *plan, const char *name,
                                 size_t *index);
/* Every job index once, each after all it needs, file order otherwise. */
CORUN_EXTERN const size_t *corun_plan_order(const corun_plan_t *plan);
CORUN_EXTERN unsigned corun_plan_max_parallel(const corun_plan_t *plan);
CORUN_EXTERN const char *corun_plan_halt(const corun_plan_t *plan);
CORUN_EXTERN size_t corun_plan_pool_count(const corun_plan_t *plan);
CORUN_EXTERN const char *corun_plan_pool(const corun_plan_t *plan, size_t i,
                                         unsigned *slots);

/* ---- Halt policies ---------------------------------------------------- */

/*
 * The grammar of a halt policy (SPEC §3), for the job file's "halt", for
 * corun_plan_set_halt() and for corun_run_options_t.halt:
 *
 *   never            run everything that can run (the default)
 *   fail-fast        the same as soon,fail=1
 *   soon,fail=N      after N failures start nothing new
 *   now,fail=N       after N failures also stop the running jobs
 *   soon,success=N   the same, counting successes
 *   now,success=N
 *
 * N is a whole number from 1 to 1000000. corun_halt_check() returns 0 or
 * CORUN_EINVALID, with the message "halt: expected ..." in `err`.
 */
CORUN_EXTERN int corun_halt_check(const char *policy, corun_error_t *err);

/* ---- Durations -------------------------------------------------------- */

/*
 * Parse "250ms", "1.5s", "2m", "1h", "1m30s" or a plain number of seconds
 * into seconds. Returns 0 or CORUN_EINVALID.
 */
CORUN_EXTERN int corun_duration_parse(const char *text, double *seconds);

/* ---- Runs ------------------------------------------------------------- */

typedef struct corun_run_s corun_run_t;

typedef enum corun_status_e {
  CORUN_PENDING = 0, /* not ended yet */
  CORUN_OK,          /* exit status 0 */
  CORUN_FAILED,      /* non-zero exit, or killed by a signal not from corun */
  CORUN_TIMEOUT,     /* stopped by its timeout */
  CORUN_CANCELLED,   /* stopped by a cancel or a halt */
  CORUN_SKIPPED,     /* never started */
  CORUN_ERROR        /* could not be started */
} corun_status_t;

/* "ok", "failed", ... as in the JSON report. */
CORUN_EXTERN const char *corun_status_name(corun_status_t status);

typedef enum corun_stream_e { CORUN_STDOUT = 1, CORUN_STDERR = 2 } corun_stream_t;

/*
 * The result of one job: its last attempt. Borrowed from the run; valid
 * until corun_run_free(). Fields of a job that has not ended are zero.
 */
typedef struct corun_result_s {
  const char *name;
  corun_status_t status;
  int exit_code;           /* -1 when it did not exit normally */
  int signal;              /* the signal that ended it, 0 when none */
  unsigned attempts;
  long pid;                /* of the last attempt, 0 when none */
  double started_at;       /* Unix time of the last attempt's start */
  double duration_s;       /* of the last attempt */
  const char *error;       /* why it could not start, NULL otherwise */
  const char *reason;      /* why it was skipped, NULL otherwise */
  const char *out_tail;    /* the last bytes of stdout (not NUL-ended) */
  size_t out_len;
  int out_truncated;       /* more was written than out_tail holds */
  const char *err_tail;
  size_t err_len;
  int err_truncated;
  int log_error;           /* errno of a failed write to its log file (a
                              full disk, say): the log stops there; 0 */
} corun_result_t;

/*
 * Callbacks. Each receives the run, the `data` of the options, and for job
 * callbacks the job's index in the plan. Every callback may call any
 * function of this header on its own run, including corun_run_cancel(),
 * corun_run_cancel_job() and, from on_run_end only, corun_run_free().
 *
 * on_job_start   each attempt of a job, right after its process started.
 * on_output      each chunk of bytes read from a job, in order per stream.
 * on_line        each line, without its newline; a last line with no
 *                newline, and pieces of a line longer than line_max,
 *                come the same way. Set it only when lines are wanted:
 *                without it no line splitting is done.
 * on_retry       an attempt failed (`failed` is its result, status
 *                failed or timeout) and will be run again after delay_s.
 * on_job_end     once per job, with its final result (also for skipped
 *                jobs and jobs that could not start).
 * on_halt        once, when the halt policy is met.
 * on_run_end     once, last of all, when every job ended and every process
 *                and handle of the run is gone.
 *
 * Borrowed data: `buf` and `line` live until the callback returns; the
 * result given to on_job_end lives as long as the run (it is the one
 * corun_run_result() returns); the result given to on_retry describes the
 * failed attempt only during the call. `policy` lives as long as the run.
 * Order for each job: on_job_start, its output, then on_retry (and again
 * on_job_start) per retry, then on_job_end once; a job that never starts
 * gets on_job_end alone. When a function returns an error, no callback
 * fires because of that call (libuv's rule): a run whose
 * corun_run_start() failed never calls on_run_end.
 */
typedef struct corun_callbacks_s {
  void (*on_job_start)(corun_run_t *run, void *data, size_t job,
                       unsigned attempt, long pid);
  void (*on_output)(corun_run_t *run, void *data, size_t job,
                    corun_stream_t stream, const char *buf, size_t len);
  void (*on_line)(corun_run_t *run, void *data, size_t job,
                  corun_stream_t stream, const char *line, size_t len);
  void (*on_retry)(corun_run_t *run, void *data, size_t job,
                   const corun_result_t *failed, unsigned next_attempt,
                   double delay_s);
  void (*on_job_end)(corun_run_t *run, void *data, size_t job,
                     const corun_result_t *result);
  void (*on_halt)(corun_run_t *run, void *data, const char *policy);
  void (*on_run_end)(corun_run_t *run, void *data, int exit_code);
} corun_callbacks_t;

/* A named concurrency limit of an open run (a plan has its own). */
typedef struct corun_pool_s {
  const char *name;
  unsigned slots;
} corun_pool_t;

/* Options of a run; {0} means defaults throughout. */
typedef struct corun_run_options_s {
  const char *const *select;   /* run only these jobs and what they need */
  size_t n_select;             /* how many names; 0: every job */
  unsigned jobs;               /* 0: the plan's max_parallel, else CPUs */
  const char *halt;            /* NULL: the plan's policy */
  double default_timeout_s;    /* for jobs that set none; 0: none */
  const char *log_dir;         /* full output in DIR/NAME.out and .err */
  size_t tail_bytes;           /* captured per stream; 0: 64 KiB */
  size_t line_max;             /* longest line before it is split; 0: 64 KiB */
  int watchdog;                /* 1: jobs die with this process even when
                                  it is killed by SIGKILL (see below) */
  const corun_pool_t *pools;   /* an open run's pools */
  size_t n_pools;
  corun_callbacks_t cb;
  void *data;
} corun_run_options_t;

/*
 * What a job leaves behind. Every job runs in a process group of its own,
 * and its environment carries CORUN_JOB_ID (TOKEN:JOB, unique to the run),
 * which its descendants inherit. When a job ends, what is left of its
 * group is stopped; when the calling process is a child subreaper
 * (prctl PR_SET_CHILD_SUBREAPER, as the command line is), descendants
 * that left the group (setsid, double fork) are adopted by it and stopped
 * too. With `watchdog`, corun_run_start() forks a small process that
 * kills every process carrying the run's CORUN_JOB_ID once the calling
 * process is gone, however it ended; it costs one process per run and
 * nothing per job.
 *
 * Create a run of a sealed plan on `loop`. Nothing starts before
 * corun_run_start(). The plan must outlive the run. The log folder is
 * created here, so an unusable one is an error before anything runs; an
 * unknown name in `select` is CORUN_ENOJOB.
 */
CORUN_EXTERN int corun_run_new(corun_run_t **run, uv_loop_t *loop,
                               const corun_plan_t *plan,
                               const corun_run_options_t *opts,
                               corun_error_t *err);
/*
 * The files of SPEC §5, written by the run itself, byte for byte as the
 * command line writes them. Ask for each before corun_run_start(): the
 * events stream is written and flushed as things happen; the report,
 * JUnit XML, trace and timeline once every job ended, before on_run_end.
 * The run never closes `f`. corun_run_output_error() is the errno of the
 * first failed write to that output (EPIPE, ENOSPC), 0 while all is well.
 */
typedef enum corun_format_e {
  CORUN_REPORT,   /* the JSON report */
  CORUN_EVENTS,   /* JSON Lines events */
  CORUN_JUNIT,    /* JUnit XML, one testcase per job */
  CORUN_TRACE,    /* Chrome trace-event JSON */
  CORUN_TIMELINE, /* a self-contained SVG picture */
  CORUN_FORMAT_COUNT
} corun_format_t;

CORUN_EXTERN int corun_run_add_output(corun_run_t *run, corun_format_t format,
                                      FILE *f);
CORUN_EXTERN int corun_run_output_error(const corun_run_t *run,
                                        corun_format_t format);
/*
 * The exit status the run records (report, events) and returns from
 * corun_run_exit_code() in place of its own 0 or 1: a program stopped by
 * signal N records 128+N. 0..255; any time before the run ended.
 */
CORUN_EXTERN int corun_run_set_exit_code(corun_run_t *run, int code);

/*
 * Open runs (SPEC §11): corun_run_new() with plan NULL. Jobs are added
 * with corun_run_submit() at any time (also before corun_run_start() and
 * from any callback); corun_run_close_input() says no more will come,
 * and on_run_end fires once that was said and every submitted job ended.
 * A submitted job is checked as corun_plan_add_job() checks one (same
 * messages); its needs may name only jobs submitted before it, and a
 * need that already ended is judged as it ended. `index` is its position
 * in submission order, used by every callback and corun_run_result().
 * The run's -j, pools (corun_run_options_t.pools), halt policy and
 * default timeout apply; a job submitted after a halt or a cancel is
 * skipped. Submitting to a run that is not open, or after
 * corun_run_close_input(), is CORUN_ESTATE. O(1) amortised.
 */
CORUN_EXTERN int corun_run_submit(corun_run_t *run, const corun_job_desc_t *job,
                                  size_t *index, corun_error_t *err);
CORUN_EXTERN int corun_run_close_input(corun_run_t *run);
/*
 * Submit one job given as a JSON object with the keys of a job-file job
 * (SPEC §1), as `corun --stream` does with each line. `label` and `line`
 * (1-based) place it in messages: "LABEL:LINE:COL: ..." for its syntax,
 * "LABEL:LINE: key: ..." for the rest. Otherwise as corun_run_submit().
 */
CORUN_EXTERN int corun_run_submit_json(corun_run_t *run, const char *json,
                                       size_t len, const char *label,
                                       size_t line, size_t *index,
                                       corun_error_t *err);

/* Start the jobs and return at once; the loop does the rest. */
CORUN_EXTERN int corun_run_start(corun_run_t *run);
/*
 * Stop the whole run: start nothing more, stop every running job (SIGTERM
 * to its process group, SIGKILL after its kill_grace; at once when
 * `kill_now`). Running jobs end `cancelled`, the others `skipped`. Harmless
 * after the run ended; calling it again with kill_now escalates.
 */
CORUN_EXTERN int corun_run_cancel(corun_run_t *run, int kill_now);
/* Stop one job the same way; a job not started yet is skipped. Harmless
 * on a job that ended. */
CORUN_EXTERN int corun_run_cancel_job(corun_run_t *run, size_t job);
/*
 * Stop (paused != 0) or resume reading what the jobs write, for an
 * embedder whose own output cannot keep up: a job that writes then blocks
 * once its pipe is full. Exits, timeouts, cancels and kill escalation go
 * on as usual; after a job's main process exits, its pipes are still read
 * to the end within its kill_grace. Harmless when the run has ended.
 */
CORUN_EXTERN int corun_run_pause_output(corun_run_t *run, int paused);
/*
 * Suspend (suspended != 0) or resume every running job: SIGSTOP to each
 * job's process group and every clock of the run held (timeouts, kill
 * graces, retry delays), so that time spent suspended counts for none of
 * them; jobs started meanwhile start stopped. Resuming sends SIGCONT and
 * restarts the clocks. For a program's own Ctrl-Z: suspend, then stop
 * itself; resume on SIGCONT. Harmless when not running.
 */
CORUN_EXTERN int corun_run_suspend(corun_run_t *run, int suspended);
/* Free a run that was never started or whose on_run_end has fired
 * (also from inside on_run_end). Otherwise CORUN_ESTATE. */
CORUN_EXTERN int corun_run_free(corun_run_t *run);

CORUN_EXTERN const corun_plan_t *corun_run_plan(const corun_run_t *run);
/* Whether the job takes part in the run (see corun_run_options_t.select). */
CORUN_EXTERN int corun_run_selected(const corun_run_t *run, size_t job);
CORUN_EXTERN const corun_result_t *corun_run_result(const corun_run_t *run,
                                                    size_t job);
/* 0 all fine, 1 a failure (a job failed, or a log could not be written
 * in full), the code given to corun_run_set_exit_code(), or -1 while the
 * run has not ended. */
CORUN_EXTERN int corun_run_exit_code(const corun_run_t *run);
CORUN_EXTERN int corun_run_ended(const corun_run_t *run);
CORUN_EXTERN double corun_run_started_at(const corun_run_t *run);
CORUN_EXTERN double corun_run_duration(const corun_run_t *run);

/* Write `len` bytes as a JSON string literal; bytes that are not UTF-8
 * become U+FFFD, so the output is always valid JSON. */
CORUN_EXTERN void corun_json_string(FILE *f, const char *s, size_t len);
/* "SIGKILL" for SIGKILL; NULL for a number it does not know. */
CORUN_EXTERN const char *corun_signal_name(int sig);

/*
 * The JSON report of SPEC §5 (only the selected jobs), to `f`, at any
 * time (corun_run_add_output() writes it at the end). `exit_code`
 * is the status to record: -1 for the run's own (0 or 1); a program that
 * was stopped by a signal records its own (130 for SIGINT, say). The
 * report's "status" is "ok", "failed", or "cancelled" after a cancel.
 */
CORUN_EXTERN int corun_run_write_report(const corun_run_t *run, FILE *f,
                                        int exit_code);
/* Whether corun_run_cancel() was called on the run. */
CORUN_EXTERN int corun_run_cancelled(const corun_run_t *run);

/*
 * The blocking convenience: run `plan` on a private loop until it ends and
 * hand back the finished run for reading its results; free it with
 * corun_run_free(). Returns the run's exit code (0 or 1) or an error code.
 */
CORUN_EXTERN int corun_run_blocking(corun_run_t **run,
                                    const corun_plan_t *plan,
                                    const corun_run_options_t *opts,
                                    corun_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CORUN_H */
