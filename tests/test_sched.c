/*
 * The scheduler (SPEC §1–§3), driven by a fake runner: no processes, no
 * loop. The fake records every call the scheduler makes into one log, and
 * the tests end attempts, fire deferred calls and cancel by hand, so every
 * order and every notification is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corun.h"
#include "internal.h"
#include "testutil.h"

#define MAXJ 64
#define MAXEV 128

typedef struct fake_s fake_t;

struct fake_s {
  corun_plan_t *plan;
  corun__sched_t *s;
  unsigned jobs;       /* the -j limit given to the scheduler */
  char log[16384];     /* every runner call, "; "-separated */
  char starts[4096];   /* successful starts only: "a b a#2" */
  int next_rc[MAXJ];   /* what the next start() of a job returns */
  int always_rc[MAXJ]; /* what every start() of a job returns */
  bool running[MAXJ];  /* started and not yet ended, as the fake sees it */
  size_t n_running, max_running;
  unsigned pool_running[8], pool_max[8];
  /* defer / undefer / stop */
  size_t defer_job[MAXEV];
  double defer_delay[MAXEV];
  size_t n_defer, n_undefer, n_stop;
  size_t stop_job[MAXEV];
  bool stop_kill[MAXEV];
  int defer_rc;
  /* notifications */
  unsigned n_end[MAXJ];
  corun_status_t end_status[MAXJ];
  char end_reason[MAXJ][256];
  bool end_reason_set[MAXJ];
  size_t n_retry;
  struct {
    size_t job;
    corun_status_t failed;
    unsigned next;
    double delay;
  } retry[MAXEV];
  unsigned n_halted;
  char halted_policy[64];
  unsigned n_all_ended;
  bool notified_after_all_ended;
  /* hooks for re-entrancy tests */
  void (*on_job_end)(fake_t *f, size_t job, corun_status_t st);
  int (*on_start)(fake_t *f, size_t job, unsigned attempt);
  void (*on_stop)(fake_t *f, size_t job, bool kill_now);
  size_t hook_job;     /* the job a hook acts on */
  size_t hook_trigger; /* the job whose notification fires the hook */
  bool hook_fired;
  unsigned char selected[MAXJ]; /* the jobs taking part, when use_selected */
  bool use_selected;
};

/* ---- the fake runner ------------------------------------------------- */

static const char *jname(const fake_t *f, size_t job) {
  if (job == CORUN__NO_JOB)
    return "-";
  return corun_plan_job(f->plan, job)->name;
}

static void logf_(fake_t *f, const char *fmt, ...) CORUN_PRINTF(2, 3);
static void logf_(fake_t *f, const char *fmt, ...) {
  size_t len = strlen(f->log);
  if (len > 0 && len + 2 < sizeof f->log) {
    strcpy(f->log + len, "; ");
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->log + len, sizeof f->log - len, fmt, ap);
  va_end(ap);
}

static void note_after_end(fake_t *f) {
  if (f->n_all_ended > 0)
    f->notified_after_all_ended = true;
}

static int fake_start(void *ctx, size_t job, unsigned attempt) {
  fake_t *f = ctx;
  assert_true(job < MAXJ);
  note_after_end(f);
  assert_false(f->running[job]);
  int rc = f->always_rc[job];
  if (f->next_rc[job] != 0) {
    rc = f->next_rc[job];
    f->next_rc[job] = 0;
  }
  if (rc == CORUN__START_LATER) {
    logf_(f, "start %s#%u later", jname(f, job), attempt);
    return rc;
  }
  if (rc < 0) {
    logf_(f, "start %s#%u error", jname(f, job), attempt);
    return rc;
  }
  logf_(f, "start %s#%u", jname(f, job), attempt);
  size_t len = strlen(f->starts);
  snprintf(f->starts + len, sizeof f->starts - len, "%s%s", len ? " " : "",
           jname(f, job));
  if (attempt > 1) {
    len = strlen(f->starts);
    snprintf(f->starts + len, sizeof f->starts - len, "#%u", attempt);
  }
  f->running[job] = true;
  if (++f->n_running > f->max_running)
    f->max_running = f->n_running;
  const char *pool = corun_plan_job(f->plan, job)->pool;
  if (pool != NULL) {
    for (size_t k = 0; k < corun_plan_pool_count(f->plan); k++) {
      if (strcmp(corun_plan_pool(f->plan, k, NULL), pool) == 0) {
        if (++f->pool_running[k] > f->pool_max[k])
          f->pool_max[k] = f->pool_running[k];
      }
    }
  }
  if (f->on_start)
    return f->on_start(f, job, attempt);
  return 0;
}

static void fake_stop(void *ctx, size_t job, bool kill_now) {
  fake_t *f = ctx;
  note_after_end(f);
  assert_true(f->running[job]);
  logf_(f, "stop %s%s", jname(f, job), kill_now ? " kill" : "");
  f->stop_job[f->n_stop] = job;
  f->stop_kill[f->n_stop++] = kill_now;
  if (f->on_stop)
    f->on_stop(f, job, kill_now);
}

static int fake_defer(void *ctx, size_t job, double delay_s) {
  fake_t *f = ctx;
  note_after_end(f);
  logf_(f, "defer %s %g", jname(f, job), delay_s);
  f->defer_job[f->n_defer] = job;
  f->defer_delay[f->n_defer++] = delay_s;
  return f->defer_rc;
}

static void fake_undefer(void *ctx, size_t job) {
  fake_t *f = ctx;
  note_after_end(f);
  logf_(f, "undefer %s", jname(f, job));
  f->n_undefer++;
}

static void fake_job_end(void *ctx, size_t job, corun_status_t status,
                         const char *reason) {
  fake_t *f = ctx;
  note_after_end(f);
  if (reason)
    logf_(f, "end %s %s (%s)", jname(f, job), corun_status_name(status),
          reason);
  else
    logf_(f, "end %s %s", jname(f, job), corun_status_name(status));
  f->n_end[job]++;
  f->end_status[job] = status;
  f->end_reason_set[job] = reason != NULL;
  snprintf(f->end_reason[job], sizeof f->end_reason[job], "%s",
           reason ? reason : "");
  /* A job is reported once, and never while the fake thinks it runs. */
  assert_int_equal(f->n_end[job], 1);
  assert_false(f->running[job]);
  if (f->on_job_end)
    f->on_job_end(f, job, status);
}

static void fake_retry(void *ctx, size_t job, corun_status_t failed,
                       unsigned next_attempt, double delay_s) {
  fake_t *f = ctx;
  note_after_end(f);
  logf_(f, "retry %s %s next=%u delay=%g", jname(f, job),
        corun_status_name(failed), next_attempt, delay_s);
  f->retry[f->n_retry].job = job;
  f->retry[f->n_retry].failed = failed;
  f->retry[f->n_retry].next = next_attempt;
  f->retry[f->n_retry++].delay = delay_s;
}

static void fake_halted(void *ctx, const char *policy) {
  fake_t *f = ctx;
  note_after_end(f);
  logf_(f, "halt %s", policy);
  f->n_halted++;
  snprintf(f->halted_policy, sizeof f->halted_policy, "%s", policy);
}

static void fake_all_ended(void *ctx) {
  fake_t *f = ctx;
  note_after_end(f);
  logf_(f, "all");
  f->n_all_ended++;
  assert_int_equal(f->n_running, 0);
}

static const corun__runner_t fake_runner = {
    .start = fake_start,
    .stop = fake_stop,
    .defer = fake_defer,
    .undefer = fake_undefer,
    .job_end = fake_job_end,
    .retry = fake_retry,
    .halted = fake_halted,
    .all_ended = fake_all_ended,
};

/* ---- building plans and driving the scheduler ------------------------ */

static int setup(void **state) {
  fake_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(corun_plan_new(&f->plan, NULL, NULL), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fake_t *f = *state;
  corun__sched_free(f->s);
  corun_plan_free(f->plan);
  free(f);
  return 0;
}

#define NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Add a job; a description without a command gets "true". */
static void add(fake_t *f, corun_job_desc_t d) {
  corun_error_t err = {0};
  if (d.argv == NULL && d.shell == NULL)
    d.shell = "true";
  int rc = corun_plan_add_job(f->plan, &d, &err);
  if (rc != 0) {
    for (size_t i = 0; i < err.count; i++)
      print_message("%s\n", err.messages[i]);
    corun_error_release(&err);
    fail_msg("adding job %s failed: %d", d.name ? d.name : "(unnamed)", rc);
  }
}

#define JOB(f, ...) add((f), (corun_job_desc_t){__VA_ARGS__})

static void pool(fake_t *f, const char *name, unsigned slots) {
  corun_error_t err = {0};
  assert_int_equal(corun_plan_add_pool(f->plan, name, slots, &err), 0);
}

static void seal(fake_t *f) {
  corun_error_t err = {0};
  int rc = corun_plan_seal(f->plan, &err);
  if (rc != 0) {
    for (size_t i = 0; i < err.count; i++)
      print_message("%s\n", err.messages[i]);
    corun_error_release(&err);
    fail_msg("sealing failed: %d", rc);
  }
}

/* Create the scheduler (sealing the plan if needed) without starting. */
static void create(fake_t *f, unsigned jobs, const char *halt) {
  corun__halt_t h;
  assert_int_equal(corun__halt_parse(halt, &h), 0);
  seal(f);
  f->jobs = jobs;
  assert_int_equal(corun__sched_new(&f->s, f->plan,
                                    f->use_selected ? f->selected : NULL, jobs,
                                    &h, halt, &fake_runner, f),
                   0);
}

static void run(fake_t *f, unsigned jobs, const char *halt) {
  create(f, jobs, halt);
  corun__sched_start(f->s);
}

static size_t J(const fake_t *f, const char *name) {
  size_t i;
  if (corun_plan_find(f->plan, name, &i) != 0)
    fail_msg("no job %s", name);
  return i;
}

/* End the running attempt of `name` as the runner would report it. */
static void end(fake_t *f, const char *name, corun__end_t how) {
  size_t i = J(f, name);
  if (!f->running[i])
    fail_msg("job %s is not running", name);
  f->running[i] = false;
  f->n_running--;
  const char *pool_name = corun_plan_job(f->plan, i)->pool;
  for (size_t k = 0; pool_name && k < corun_plan_pool_count(f->plan); k++)
    if (strcmp(corun_plan_pool(f->plan, k, NULL), pool_name) == 0)
      f->pool_running[k]--;
  corun__sched_ended(f->s, i, how);
}

static void due(fake_t *f, const char *name) {
  corun__sched_due(f->s, name ? J(f, name) : CORUN__NO_JOB);
}

static void clear_log(fake_t *f) { f->log[0] = '\0'; }

/* A job's status as the scheduler reported it; pending until it ended. */
static corun_status_t fstatus(const fake_t *f, size_t job) {
  return f->n_end[job] ? f->end_status[job] : CORUN_PENDING;
}

static corun_status_t status(const fake_t *f, const char *name) {
  return fstatus(f, J(f, name));
}

/* The job's status must be `want`; on failure, show everything that
 * happened. */
static void expect_status(const fake_t *f, const char *name,
                          corun_status_t want) {
  corun_status_t got = status(f, name);
  if (got != want)
    fail_msg("job %s is %s, expected %s; log: %s", name,
             corun_status_name(got), corun_status_name(want), f->log);
}

static unsigned attempts(const fake_t *f, const char *name) {
  return corun__sched_attempts(f->s, J(f, name));
}

static const char *reason(const fake_t *f, const char *name) {
  size_t i = J(f, name);
  assert_int_equal(f->n_end[i], 1);
  return f->end_reason_set[i] ? f->end_reason[i] : NULL;
}

/* Every selected job ended exactly once and the run ended exactly once,
 * with nothing reported after that. */
static void assert_all_ended_once(const fake_t *f) {
  if (f->n_all_ended != 1 || f->notified_after_all_ended)
    fail_msg("all_ended %u time(s)%s; log: %s", f->n_all_ended,
             f->notified_after_all_ended ? ", then more notifications" : "",
             f->log);
  assert_int_equal(f->n_running, 0);
  for (size_t i = 0; i < corun_plan_job_count(f->plan); i++) {
    if (f->use_selected && !f->selected[i])
      continue;
    if (f->n_end[i] != 1)
      fail_msg("job %s ended %u times", jname(f, i), f->n_end[i]);
    assert_int_not_equal(fstatus(f, i), CORUN_PENDING);
  }
}

/* ---- ready order, -j and pools --------------------------------------- */

static void test_sched_starts_ready_jobs_in_job_file_order(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "zeta");
  JOB(f, .name = "alpha");
  JOB(f, .name = "mid");
  run(f, 1, "never");
  assert_string_equal(f->starts, "zeta");
  end(f, "zeta", CORUN__END_OK);
  assert_string_equal(f->starts, "zeta alpha");
  end(f, "alpha", CORUN__END_OK);
  end(f, "mid", CORUN__END_OK);
  assert_string_equal(f->log, "start zeta#1; end zeta ok; start alpha#1; "
                              "end alpha ok; start mid#1; end mid ok; all");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_never_runs_more_than_j_jobs(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d");
  JOB(f, .name = "e");
  run(f, 2, "never");
  assert_string_equal(f->starts, "a b");
  assert_int_equal(f->n_running, 2);
  /* Nothing more starts until one ends, then exactly one. */
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_FAILED);
  assert_string_equal(f->starts, "a b c d");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c d e");
  assert_int_equal(f->n_running, 2);
  end(f, "e", CORUN__END_OK);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "d", CORUN__END_OK);
  assert_int_equal(f->max_running, 2);
  assert_all_ended_once(f);
  expect_status(f, "c", CORUN_FAILED);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_runs_everything_at_once_under_a_high_limit(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  run(f, 8, "never");
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_OK);
  end(f, "a", CORUN__END_OK);
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_respects_pool_slots_inside_j_limit(void **state) {
  fake_t *f = *state;
  pool(f, "link", 1);
  JOB(f, .name = "l1", .pool = "link");
  JOB(f, .name = "l2", .pool = "link");
  JOB(f, .name = "x");
  JOB(f, .name = "l3", .pool = "link");
  run(f, 3, "never");
  /* l2 waits for the pool's single slot; x takes a slot of -j. */
  assert_string_equal(f->starts, "l1 x");
  end(f, "x", CORUN__END_OK);
  assert_string_equal(f->starts, "l1 x");
  end(f, "l1", CORUN__END_OK);
  assert_string_equal(f->starts, "l1 x l2");
  end(f, "l2", CORUN__END_FAILED);
  assert_string_equal(f->starts, "l1 x l2 l3");
  end(f, "l3", CORUN__END_OK);
  assert_int_equal(f->pool_max[0], 1);
  assert_all_ended_once(f);
}

static void test_sched_limits_a_large_pool_by_j(void **state) {
  fake_t *f = *state;
  pool(f, "wide", 5);
  JOB(f, .name = "a", .pool = "wide");
  JOB(f, .name = "b", .pool = "wide");
  JOB(f, .name = "c", .pool = "wide");
  run(f, 2, "never");
  assert_string_equal(f->starts, "a b");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c");
  end(f, "b", CORUN__END_OK);
  end(f, "c", CORUN__END_OK);
  assert_int_equal(f->max_running, 2);
  assert_all_ended_once(f);
}

static void test_sched_full_pool_does_not_block_later_jobs(void **state) {
  fake_t *f = *state;
  pool(f, "p", 1);
  pool(f, "q", 2);
  JOB(f, .name = "p1", .pool = "p");
  JOB(f, .name = "p2", .pool = "p");
  JOB(f, .name = "p3", .pool = "p");
  JOB(f, .name = "q1", .pool = "q");
  JOB(f, .name = "free1");
  JOB(f, .name = "q2", .pool = "q");
  JOB(f, .name = "q3", .pool = "q");
  run(f, 3, "never");
  /* p2 and p3 come first in the file but wait for pool p. */
  assert_string_equal(f->starts, "p1 q1 free1");
  end(f, "free1", CORUN__END_OK);
  assert_string_equal(f->starts, "p1 q1 free1 q2");
  end(f, "q1", CORUN__END_OK);
  assert_string_equal(f->starts, "p1 q1 free1 q2 q3");
  /* Once p has room again, its first waiting job goes first. */
  end(f, "p1", CORUN__END_OK);
  assert_string_equal(f->starts, "p1 q1 free1 q2 q3 p2");
  end(f, "q2", CORUN__END_OK);
  end(f, "q3", CORUN__END_OK);
  assert_string_equal(f->starts, "p1 q1 free1 q2 q3 p2");
  end(f, "p2", CORUN__END_OK);
  assert_string_equal(f->starts, "p1 q1 free1 q2 q3 p2 p3");
  end(f, "p3", CORUN__END_OK);
  assert_int_equal(f->pool_max[0], 1);
  assert_int_equal(f->pool_max[1], 2);
  assert_int_equal(f->max_running, 3);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* ---- needs and skips --------------------------------------------------- */

static void test_sched_starts_dependent_only_after_its_need_ended_ok(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "a");
  JOB(f, .name = "c");
  JOB(f, .name = "d", .needs = NEEDS("a", "c"));
  run(f, 4, "never");
  assert_string_equal(f->starts, "a c");
  end(f, "c", CORUN__END_OK);
  assert_string_equal(f->starts, "a c");
  expect_status(f, "b", CORUN_PENDING);
  assert_int_equal(attempts(f, "b"), 0);
  end(f, "a", CORUN__END_OK);
  /* Both become ready together and start in file order. */
  assert_string_equal(f->starts, "a c b d");
  end(f, "d", CORUN__END_OK);
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_skips_dependents_of_failed_job(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c", .needs = NEEDS("b"));
  JOB(f, .name = "d", .needs = NEEDS("c"));
  JOB(f, .name = "e");
  JOB(f, .name = "f", .needs = NEEDS("e", "d"));
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  /* Every transitive dependent is skipped at once, naming its need. */
  expect_status(f, "b", CORUN_SKIPPED);
  expect_status(f, "c", CORUN_SKIPPED);
  expect_status(f, "d", CORUN_SKIPPED);
  expect_status(f, "f", CORUN_SKIPPED);
  assert_string_equal(reason(f, "b"), "need a failed");
  assert_string_equal(reason(f, "c"), "need b skipped");
  assert_string_equal(reason(f, "d"), "need c skipped");
  assert_string_equal(reason(f, "f"), "need d skipped");
  assert_int_equal(attempts(f, "b"), 0);
  assert_int_equal(attempts(f, "f"), 0);
  /* The independent job still runs. */
  assert_string_equal(f->starts, "a e");
  end(f, "e", CORUN__END_OK);
  assert_all_ended_once(f);
  expect_status(f, "a", CORUN_FAILED);
  expect_status(f, "e", CORUN_OK);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_skips_a_diamond_dependent_once(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c", .needs = NEEDS("a"));
  JOB(f, .name = "d", .needs = NEEDS("b", "c"));
  run(f, 2, "never");
  end(f, "a", CORUN__END_TIMEOUT);
  expect_status(f, "a", CORUN_TIMEOUT);
  assert_string_equal(reason(f, "b"), "need a failed");
  assert_string_equal(reason(f, "c"), "need a failed");
  /* reason() asserts one job_end for d. */
  assert_int_equal(strncmp(reason(f, "d"), "need ", 5), 0);
  assert_string_equal(f->starts, "a");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_skips_a_dependent_when_its_other_need_fails_later(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c", .needs = NEEDS("a", "b"));
  run(f, 2, "never");
  end(f, "a", CORUN__END_OK);
  expect_status(f, "c", CORUN_PENDING);
  end(f, "b", CORUN__END_FAILED);
  expect_status(f, "c", CORUN_SKIPPED);
  assert_string_equal(reason(f, "c"), "need b failed");
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
}

static void test_sched_runs_dependents_of_an_allowed_failure(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "lint", .allow_failure = 1);
  JOB(f, .name = "after", .needs = NEEDS("lint"));
  JOB(f, .name = "slow", .allow_failure = 1);
  JOB(f, .name = "after2", .needs = NEEDS("slow"));
  run(f, 2, "never");
  end(f, "lint", CORUN__END_FAILED);
  expect_status(f, "lint", CORUN_FAILED);
  assert_string_equal(f->starts, "lint slow after");
  end(f, "slow", CORUN__END_TIMEOUT);
  expect_status(f, "slow", CORUN_TIMEOUT);
  assert_string_equal(f->starts, "lint slow after after2");
  end(f, "after", CORUN__END_OK);
  end(f, "after2", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_allowed_failure_does_not_count_for_halt(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .allow_failure = 1);
  JOB(f, .name = "b");
  run(f, 1, "soon,fail=1");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_halted, 0);
  assert_string_equal(f->starts, "a b");
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_ends_job_error_when_start_fails(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c");
  f->always_rc[0] = UV_ENOENT;
  run(f, 1, "never");
  /* The failed start frees its slot at once: c starts in the same pass. */
  assert_string_equal(f->log, "start a#1 error; end a error; "
                              "end b skipped (need a failed); start c#1");
  expect_status(f, "a", CORUN_ERROR);
  assert_int_equal(attempts(f, "a"), 1);
  expect_status(f, "b", CORUN_SKIPPED);
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_does_not_retry_a_job_that_could_not_start(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 3, .retry_delay_s = 1);
  f->always_rc[0] = UV_EACCES;
  run(f, 1, "never");
  assert_int_equal(f->n_retry, 0);
  assert_int_equal(f->n_defer, 0);
  expect_status(f, "a", CORUN_ERROR);
  assert_int_equal(attempts(f, "a"), 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_start_error_counts_as_failure_for_halt(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  f->always_rc[1] = UV_ENOENT;
  run(f, 2, "soon,fail=1");
  assert_string_equal(f->log, "start a#1; start b#1 error; end b error; "
                              "halt soon,fail=1; end c skipped (halted)");
  end(f, "a", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_allowed_start_error_lets_dependents_run(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .allow_failure = 1);
  JOB(f, .name = "b", .needs = NEEDS("a"));
  f->always_rc[0] = UV_ENOENT;
  run(f, 1, "never");
  expect_status(f, "a", CORUN_ERROR);
  assert_string_equal(f->starts, "b");
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_start_later_restarts_after_another_job_ends(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  f->next_rc[1] = CORUN__START_LATER;
  run(f, 3, "never");
  /* b is put back, and nothing else is tried while resources are short. */
  assert_string_equal(f->log, "start a#1; start b#1 later");
  assert_int_equal(attempts(f, "b"), 0);
  expect_status(f, "b", CORUN_PENDING);
  assert_int_equal(f->n_running, 1);
  assert_int_equal(f->n_defer, 0);
  end(f, "a", CORUN__END_OK);
  /* The same attempt again, then the rest in file order. */
  assert_string_equal(f->log, "start a#1; start b#1 later; end a ok; "
                              "start b#1; start c#1");
  assert_int_equal(attempts(f, "b"), 1);
  end(f, "b", CORUN__END_OK);
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_start_later_with_nothing_running_defers_a_pump(
    void **state) {
  fake_t *f = *state;
  pool(f, "p", 1);
  JOB(f, .name = "a", .pool = "p");
  JOB(f, .name = "b", .pool = "p");
  f->next_rc[0] = CORUN__START_LATER;
  run(f, 1, "never");
  assert_int_equal(f->n_defer, 1);
  assert_int_equal(f->defer_job[0], CORUN__NO_JOB);
  assert_true(f->defer_delay[0] > 0);
  assert_int_equal(f->n_running, 0);
  assert_int_equal(f->n_all_ended, 0);
  assert_int_equal(f->n_all_ended, 0);
  /* The pool slot was given back too: a starts when the pump is due. */
  due(f, NULL);
  assert_string_equal(f->starts, "a");
  assert_int_equal(attempts(f, "a"), 1);
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a b");
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* With nothing running, nothing can free what is missing: after enough
 * waits the job ends `error` instead of waiting forever. */
static void test_sched_start_later_gives_up_when_nothing_runs(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  f->always_rc[0] = CORUN__START_LATER;
  run(f, 1, "never");
  unsigned waits = 0;
  while (fstatus(f, 0) == CORUN_PENDING && waits < 1000) {
    due(f, NULL);
    waits++;
  }
  assert_true(waits >= 30 && waits <= 60);
  assert_int_equal(fstatus(f, 0), CORUN_ERROR);
  assert_int_equal(fstatus(f, 1), CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_start_later_waits_on_repeated_shortage(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  f->next_rc[0] = CORUN__START_LATER;
  run(f, 1, "never");
  assert_int_equal(f->n_defer, 1);
  f->next_rc[0] = CORUN__START_LATER;
  due(f, NULL);
  assert_int_equal(f->n_defer, 2);
  assert_int_equal(f->defer_job[1], CORUN__NO_JOB);
  assert_int_equal(f->n_all_ended, 0);
  due(f, NULL);
  assert_string_equal(f->starts, "a");
  end(f, "a", CORUN__END_OK);
  assert_all_ended_once(f);
}

/* ---- retries ------------------------------------------------------------ */

static void test_sched_retries_failed_attempt_after_retry_delay(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 1, .retry_delay_s = 1.5);
  JOB(f, .name = "b", .needs = NEEDS("a"));
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  assert_string_equal(f->log, "start a#1; defer a 1.5; "
                              "retry a failed next=2 delay=1.5");
  assert_int_equal(f->n_retry, 1);
  assert_int_equal(f->retry[0].failed, CORUN_FAILED);
  assert_int_equal(f->retry[0].next, 2);
  assert_true(f->retry[0].delay == 1.5);
  /* No job_end while it waits, and its dependents still wait. */
  assert_int_equal(f->n_end[0], 0);
  expect_status(f, "a", CORUN_PENDING);
  expect_status(f, "b", CORUN_PENDING);
  assert_int_equal(f->n_all_ended, 0);
  due(f, "a");
  assert_string_equal(f->starts, "a a#2");
  assert_int_equal(attempts(f, "a"), 2);
  end(f, "a", CORUN__END_OK);
  expect_status(f, "a", CORUN_OK);
  assert_string_equal(f->starts, "a a#2 b");
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_keeps_retry_delay_constant_without_backoff(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 2, .retry_delay_s = 0.25);
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  due(f, "a");
  end(f, "a", CORUN__END_FAILED);
  due(f, "a");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_retry, 2);
  assert_true(f->retry[0].delay == 0.25);
  assert_true(f->retry[1].delay == 0.25);
  assert_true(f->defer_delay[0] == 0.25);
  assert_true(f->defer_delay[1] == 0.25);
  assert_all_ended_once(f);
}

static void test_sched_doubles_retry_delay_with_backoff(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 3, .retry_delay_s = 1, .retry_backoff = 1);
  run(f, 1, "never");
  for (unsigned k = 1; k <= 3; k++) {
    end(f, "a", CORUN__END_FAILED);
    due(f, "a");
  }
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_retry, 3);
  assert_true(f->retry[0].delay == 1);
  assert_true(f->retry[1].delay == 2);
  assert_true(f->retry[2].delay == 4);
  assert_int_equal(f->retry[0].next, 2);
  assert_int_equal(f->retry[1].next, 3);
  assert_int_equal(f->retry[2].next, 4);
  assert_int_equal(f->n_defer, 3);
  assert_true(f->defer_delay[0] == 1);
  assert_true(f->defer_delay[1] == 2);
  assert_true(f->defer_delay[2] == 4);
  for (size_t k = 0; k < 3; k++)
    assert_int_equal(f->defer_job[k], 0);
  expect_status(f, "a", CORUN_FAILED);
  assert_int_equal(attempts(f, "a"), 4);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_succeeds_on_third_attempt(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "fetch", .retries = 5, .retry_delay_s = 0.5,
      .retry_backoff = 1);
  JOB(f, .name = "unpack", .needs = NEEDS("fetch"));
  run(f, 1, "never");
  end(f, "fetch", CORUN__END_FAILED);
  due(f, "fetch");
  end(f, "fetch", CORUN__END_TIMEOUT);
  due(f, "fetch");
  end(f, "fetch", CORUN__END_OK);
  assert_string_equal(
      f->log,
      "start fetch#1; defer fetch 0.5; retry fetch failed next=2 delay=0.5; "
      "start fetch#2; defer fetch 1; retry fetch timeout next=3 delay=1; "
      "start fetch#3; end fetch ok; start unpack#1");
  expect_status(f, "fetch", CORUN_OK);
  assert_int_equal(attempts(f, "fetch"), 3);
  end(f, "unpack", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_fails_job_when_retries_are_exhausted(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 2);
  JOB(f, .name = "b", .needs = NEEDS("a"));
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  due(f, "a");
  end(f, "a", CORUN__END_FAILED);
  due(f, "a");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_retry, 2);
  assert_true(f->retry[0].delay == 0);
  expect_status(f, "a", CORUN_FAILED);
  assert_int_equal(attempts(f, "a"), 3);
  expect_status(f, "b", CORUN_SKIPPED);
  assert_string_equal(reason(f, "b"), "need a failed");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_retries_a_timed_out_attempt(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 1, .retry_delay_s = 2);
  run(f, 1, "never");
  end(f, "a", CORUN__END_TIMEOUT);
  assert_int_equal(f->n_retry, 1);
  assert_int_equal(f->retry[0].failed, CORUN_TIMEOUT);
  assert_int_equal(f->retry[0].next, 2);
  due(f, "a");
  end(f, "a", CORUN__END_TIMEOUT);
  /* The last attempt's outcome is the job's. */
  expect_status(f, "a", CORUN_TIMEOUT);
  assert_int_equal(attempts(f, "a"), 2);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_does_not_retry_a_stopped_attempt(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 3, .retry_delay_s = 1);
  run(f, 1, "never");
  corun__sched_cancel_job(f->s, J(f, "a"));
  end(f, "a", CORUN__END_STOPPED);
  assert_int_equal(f->n_retry, 0);
  assert_int_equal(f->n_defer, 0);
  expect_status(f, "a", CORUN_CANCELLED);
  assert_int_equal(attempts(f, "a"), 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_frees_the_slot_while_a_job_waits_for_its_retry(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 1, .retry_delay_s = 5);
  JOB(f, .name = "b");
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  assert_string_equal(f->starts, "a b");
  /* Due while b holds the only slot: a waits its turn. */
  due(f, "a");
  assert_string_equal(f->starts, "a b");
  assert_int_equal(f->n_running, 1);
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b a#2");
  end(f, "a", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_keeps_last_outcome_when_retry_cannot_be_deferred(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 1, .retry_delay_s = 1);
  run(f, 1, "never");
  f->defer_rc = UV_ENOMEM;
  end(f, "a", CORUN__END_FAILED);
  expect_status(f, "a", CORUN_FAILED);
  assert_int_equal(attempts(f, "a"), 1);
  assert_all_ended_once(f);
}

/* ---- halting ------------------------------------------------------------ */

static void test_sched_halt_parse_reads_every_policy(void **state) {
  (void)state;
  corun__halt_t h;
  assert_int_equal(corun__halt_parse("never", &h), 0);
  assert_int_equal(h.when, CORUN__HALT_NEVER);
  assert_int_equal(corun__halt_parse("soon,fail=1", &h), 0);
  assert_int_equal(h.when, CORUN__HALT_SOON);
  assert_false(h.on_success);
  assert_int_equal(h.n, 1);
  assert_int_equal(corun__halt_parse("now,fail=3", &h), 0);
  assert_int_equal(h.when, CORUN__HALT_NOW);
  assert_false(h.on_success);
  assert_int_equal(h.n, 3);
  assert_int_equal(corun__halt_parse("soon,success=2", &h), 0);
  assert_int_equal(h.when, CORUN__HALT_SOON);
  assert_true(h.on_success);
  assert_int_equal(h.n, 2);
  assert_int_equal(corun__halt_parse("now,success=10", &h), 0);
  assert_int_equal(h.when, CORUN__HALT_NOW);
  assert_true(h.on_success);
  assert_int_equal(h.n, 10);
  /* fail-fast is soon,fail=1. */
  corun__halt_t ff, s1;
  assert_int_equal(corun__halt_parse("fail-fast", &ff), 0);
  assert_int_equal(corun__halt_parse("soon,fail=1", &s1), 0);
  assert_int_equal(ff.when, s1.when);
  assert_int_equal(ff.on_success, s1.on_success);
  assert_int_equal(ff.n, s1.n);
}

static void test_sched_halt_parse_rejects_junk(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",           "soon",          "now",          "soon,",
      "now,fail=0", "soon,fail=0",   "later,fail=1", "soon,fail=x",
      "soon,fail=1x", "soon,fail=",  "soon,fail=-1", "soon,fail= 1",
      "soon,fails=1", "soon,success", "Never",       "never ",
      "fail-fast,", "soon;fail=1",   "soon,fail=1,now", "now,success=0",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    corun__halt_t h;
    if (corun__halt_parse(bad[i], &h) != CORUN_EINVALID)
      fail_msg("halt \"%s\" was accepted", bad[i]);
  }
}

static void test_sched_halt_never_runs_everything_that_can_run(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c", .needs = NEEDS("a"));
  JOB(f, .name = "d");
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  end(f, "b", CORUN__END_FAILED);
  end(f, "d", CORUN__END_OK);
  assert_string_equal(f->starts, "a b d");
  assert_int_equal(f->n_halted, 0);
  assert_int_equal(f->n_stop, 0);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void check_soon_fail_1(fake_t *f, const char *policy) {
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d", .needs = NEEDS("b"));
  run(f, 2, policy);
  end(f, "a", CORUN__END_FAILED);
  char want[256];
  snprintf(want, sizeof want,
           "start a#1; start b#1; end a failed; halt %s; "
           "end c skipped (halted); end d skipped (halted)",
           policy);
  assert_string_equal(f->log, want);
  assert_string_equal(f->halted_policy, policy);
  /* The running job is left to finish, and nothing else starts. */
  assert_int_equal(f->n_stop, 0);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b");
  expect_status(f, "b", CORUN_OK);
  assert_int_equal(f->n_halted, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_halt_soon_fail_1_lets_running_jobs_finish(
    void **state) {
  check_soon_fail_1(*state, "soon,fail=1");
}

static void test_sched_fail_fast_is_soon_fail_1(void **state) {
  check_soon_fail_1(*state, "fail-fast");
}

static void test_sched_halt_now_fail_1_stops_running_jobs(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d");
  run(f, 3, "now,fail=1");
  end(f, "b", CORUN__END_FAILED);
  assert_string_equal(f->log, "start a#1; start b#1; start c#1; "
                              "stop a; stop c; end b failed; "
                              "halt now,fail=1; end d skipped (halted)");
  assert_int_equal(f->n_all_ended, 0);
  end(f, "c", CORUN__END_STOPPED);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "a", CORUN__END_STOPPED);
  expect_status(f, "a", CORUN_CANCELLED);
  expect_status(f, "c", CORUN_CANCELLED);
  expect_status(f, "d", CORUN_SKIPPED);
  assert_int_equal(f->n_halted, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_halt_soon_fail_2_needs_two_failures(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d");
  JOB(f, .name = "e");
  run(f, 2, "soon,fail=2");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_halted, 0);
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_TIMEOUT);
  assert_int_equal(f->n_halted, 1);
  assert_string_equal(f->halted_policy, "soon,fail=2");
  assert_string_equal(f->starts, "a b c");
  expect_status(f, "d", CORUN_SKIPPED);
  expect_status(f, "e", CORUN_SKIPPED);
  assert_string_equal(reason(f, "d"), "halted");
  assert_string_equal(reason(f, "e"), "halted");
  assert_int_equal(f->n_stop, 0);
  end(f, "b", CORUN__END_FAILED);
  assert_int_equal(f->n_halted, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_halt_soon_success_1_succeeds_with_skipped_jobs(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "mirror1");
  JOB(f, .name = "mirror2");
  JOB(f, .name = "mirror3");
  run(f, 2, "soon,success=1");
  end(f, "mirror2", CORUN__END_OK);
  assert_string_equal(f->log, "start mirror1#1; start mirror2#1; "
                              "end mirror2 ok; halt soon,success=1; "
                              "end mirror3 skipped (halted)");
  assert_int_equal(f->n_stop, 0);
  end(f, "mirror1", CORUN__END_FAILED);
  expect_status(f, "mirror1", CORUN_FAILED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_halt_now_success_1_succeeds_with_cancelled_jobs(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d");
  run(f, 3, "now,success=1");
  end(f, "c", CORUN__END_OK);
  assert_string_equal(f->log, "start a#1; start b#1; start c#1; "
                              "stop a; stop b; end c ok; "
                              "halt now,success=1; end d skipped (halted)");
  end(f, "a", CORUN__END_STOPPED);
  end(f, "b", CORUN__END_STOPPED);
  expect_status(f, "a", CORUN_CANCELLED);
  expect_status(f, "b", CORUN_CANCELLED);
  expect_status(f, "d", CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_halt_soon_gives_up_a_pending_retry(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 2, .retry_delay_s = 3);
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  run(f, 2, "soon,fail=1");
  end(f, "a", CORUN__END_FAILED);
  assert_string_equal(f->starts, "a b c");
  end(f, "b", CORUN__END_FAILED);
  /* No further attempt of a: its timer is taken back and the last
   * attempt's outcome stands. */
  assert_int_equal(f->n_undefer, 1);
  expect_status(f, "a", CORUN_FAILED);
  assert_int_equal(attempts(f, "a"), 1);
  assert_int_equal(f->n_end[0], 1);
  due(f, "a"); /* a timer that fired anyway changes nothing */
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_halt_soon_does_not_retry_a_running_job(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .retries = 4);
  run(f, 2, "soon,fail=1");
  end(f, "a", CORUN__END_FAILED);
  end(f, "b", CORUN__END_FAILED);
  assert_int_equal(f->n_retry, 0);
  expect_status(f, "b", CORUN_FAILED);
  assert_all_ended_once(f);
}

/* ---- cancelling ----------------------------------------------------- */

static void test_sched_cancel_skips_pending_and_stops_running(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  JOB(f, .name = "d", .needs = NEEDS("a"));
  run(f, 2, "never");
  clear_log(f);
  corun__sched_cancel(f->s, false);
  assert_string_equal(f->log, "stop a; stop b; "
                              "end c skipped (run cancelled); "
                              "end d skipped (run cancelled)");
  assert_int_equal(f->n_all_ended, 0);
  end(f, "b", CORUN__END_STOPPED);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "a", CORUN__END_STOPPED);
  expect_status(f, "a", CORUN_CANCELLED);
  expect_status(f, "b", CORUN_CANCELLED);
  expect_status(f, "c", CORUN_SKIPPED);
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_again_with_kill_now_escalates(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  run(f, 1, "never");
  corun__sched_cancel(f->s, false);
  corun__sched_cancel(f->s, false); /* no second SIGTERM */
  corun__sched_cancel(f->s, true);
  assert_int_equal(f->n_stop, 2);
  assert_false(f->stop_kill[0]);
  assert_true(f->stop_kill[1]);
  end(f, "a", CORUN__END_STOPPED);
  assert_all_ended_once(f);
}

static void test_sched_cancel_counts_a_job_that_exits_anyway_as_cancelled(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  run(f, 1, "never");
  corun__sched_cancel(f->s, false);
  /* It failed on its own before the stop reached it. */
  end(f, "a", CORUN__END_FAILED);
  expect_status(f, "a", CORUN_CANCELLED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_after_the_end_does_nothing(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  run(f, 1, "never");
  end(f, "a", CORUN__END_OK);
  clear_log(f);
  corun__sched_cancel(f->s, true);
  corun__sched_cancel_job(f->s, 0);
  assert_string_equal(f->log, "");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_cancel_ends_a_job_waiting_for_its_retry(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 2, .retry_delay_s = 1);
  JOB(f, .name = "b", .needs = NEEDS("a"));
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  clear_log(f);
  corun__sched_cancel(f->s, false);
  assert_int_equal(f->n_undefer, 1);
  assert_int_equal(f->n_end[0], 1);
  /* The last attempt's outcome stands. */
  expect_status(f, "a", CORUN_FAILED);
  expect_status(f, "b", CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_before_start_skips_everything(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  create(f, 1, "never");
  corun__sched_cancel(f->s, false);
  corun__sched_start(f->s);
  assert_string_equal(f->starts, "");
  expect_status(f, "a", CORUN_SKIPPED);
  expect_status(f, "b", CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_while_waiting_for_resources_ends_the_run(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  f->next_rc[0] = CORUN__START_LATER;
  run(f, 1, "never");
  assert_int_equal(f->n_defer, 1);
  corun__sched_cancel(f->s, false);
  expect_status(f, "a", CORUN_SKIPPED);
  assert_string_equal(reason(f, "a"), "run cancelled");
  /* At the latest when the deferred pump comes, the run is over. */
  if (f->n_all_ended == 0)
    due(f, NULL);
  assert_string_equal(f->starts, "");
  assert_all_ended_once(f);
}

static void test_sched_cancel_job_skips_a_pending_job_and_its_dependents(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c", .needs = NEEDS("b"));
  JOB(f, .name = "d", .needs = NEEDS("c"));
  JOB(f, .name = "e");
  run(f, 1, "never");
  corun__sched_cancel_job(f->s, J(f, "b"));
  expect_status(f, "b", CORUN_SKIPPED);
  assert_string_equal(reason(f, "b"), "cancelled");
  expect_status(f, "c", CORUN_SKIPPED);
  expect_status(f, "d", CORUN_SKIPPED);
  assert_int_equal(strncmp(reason(f, "c"), "need b ", 7), 0);
  assert_string_equal(reason(f, "d"), "need c skipped");
  assert_int_equal(f->n_stop, 0);
  end(f, "a", CORUN__END_OK);
  /* b's turn passes to e. */
  assert_string_equal(f->starts, "a e");
  end(f, "e", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_job_stops_a_running_job(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c");
  run(f, 2, "never");
  clear_log(f);
  corun__sched_cancel_job(f->s, J(f, "a"));
  corun__sched_cancel_job(f->s, J(f, "a")); /* once is enough */
  assert_string_equal(f->log, "stop a");
  assert_false(f->stop_kill[0]);
  expect_status(f, "a", CORUN_PENDING);
  end(f, "a", CORUN__END_STOPPED);
  expect_status(f, "a", CORUN_CANCELLED);
  expect_status(f, "b", CORUN_SKIPPED);
  assert_int_equal(strncmp(reason(f, "b"), "need a ", 7), 0);
  /* The rest of the run goes on. */
  assert_int_equal(f->n_all_ended, 0);
  expect_status(f, "c", CORUN_PENDING);
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_cancel_job_on_a_finished_job_does_nothing(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  run(f, 1, "never");
  end(f, "a", CORUN__END_OK);
  clear_log(f);
  corun__sched_cancel_job(f->s, J(f, "a"));
  corun__sched_cancel_job(f->s, 99); /* no such job */
  assert_string_equal(f->log, "");
  expect_status(f, "a", CORUN_OK);
  assert_int_equal(f->n_end[0], 1);
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_cancel_job_ends_a_job_waiting_for_its_retry(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .retries = 3, .retry_delay_s = 10);
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c");
  run(f, 1, "never");
  end(f, "a", CORUN__END_FAILED);
  assert_string_equal(f->starts, "a c");
  clear_log(f);
  corun__sched_cancel_job(f->s, J(f, "a"));
  assert_int_equal(f->n_undefer, 1);
  expect_status(f, "a", CORUN_CANCELLED);
  assert_int_equal(attempts(f, "a"), 1);
  expect_status(f, "b", CORUN_SKIPPED);
  assert_int_equal(f->n_stop, 0);
  /* The timer firing late starts nothing. */
  due(f, "a");
  assert_string_equal(f->starts, "a c");
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

/* ---- re-entrancy ---------------------------------------------------- */

static void cancel_run_on_failure(fake_t *f, size_t job, corun_status_t st) {
  (void)job;
  if (st == CORUN_FAILED)
    corun__sched_cancel(f->s, false);
}

static void test_sched_allows_cancel_from_a_job_end_notification(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c", .needs = NEEDS("a"));
  JOB(f, .name = "d");
  f->on_job_end = cancel_run_on_failure;
  run(f, 2, "never");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_stop, 1);
  assert_int_equal(f->stop_job[0], J(f, "b"));
  expect_status(f, "c", CORUN_SKIPPED);
  expect_status(f, "d", CORUN_SKIPPED);
  assert_string_equal(reason(f, "d"), "run cancelled");
  assert_int_equal(f->n_all_ended, 0);
  end(f, "b", CORUN__END_STOPPED);
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_keeps_all_ended_last_when_job_end_cancels_at_a_halt(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  f->on_job_end = cancel_run_on_failure;
  run(f, 1, "soon,fail=1");
  end(f, "a", CORUN__END_FAILED);
  /* b is skipped and the run ends; all_ended is the last word, even though
   * the failure also met the halt policy. */
  expect_status(f, "b", CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void cancel_hook_job_on_skip_of_trigger(fake_t *f, size_t job,
                                               corun_status_t st) {
  if (st == CORUN_SKIPPED && job == f->hook_trigger && !f->hook_fired) {
    f->hook_fired = true;
    corun__sched_cancel_job(f->s, f->hook_job);
  }
}

static void test_sched_allows_cancel_job_from_a_skip_notification(
    void **state) {
  fake_t *f = *state;
  /* a fails; while its dependents b and c are being skipped, the skip
   * notification of c cancels the unrelated pending job x, whose own
   * skips (x, then y) must not disturb the cascade that still has to
   * reach d through b. */
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c", .needs = NEEDS("a"));
  JOB(f, .name = "d", .needs = NEEDS("b"));
  JOB(f, .name = "x");
  JOB(f, .name = "y", .needs = NEEDS("x"));
  f->on_job_end = cancel_hook_job_on_skip_of_trigger;
  run(f, 1, "never");
  f->hook_job = J(f, "x");
  f->hook_trigger = J(f, "c");
  end(f, "a", CORUN__END_FAILED);
  assert_true(f->hook_fired);
  expect_status(f, "b", CORUN_SKIPPED);
  expect_status(f, "c", CORUN_SKIPPED);
  expect_status(f, "x", CORUN_SKIPPED);
  expect_status(f, "y", CORUN_SKIPPED);
  expect_status(f, "d", CORUN_SKIPPED);
  assert_string_equal(reason(f, "d"), "need b skipped");
  assert_string_equal(f->starts, "a");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void cancel_hook_job_on_end_of_a(fake_t *f, size_t job,
                                        corun_status_t st) {
  (void)st;
  if (job == 0 && !f->hook_fired) {
    f->hook_fired = true;
    corun__sched_cancel_job(f->s, f->hook_job);
  }
}

static void test_sched_allows_cancel_job_of_a_dependent_from_job_end(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c", .needs = NEEDS("a"));
  f->on_job_end = cancel_hook_job_on_end_of_a;
  run(f, 2, "never");
  f->hook_job = J(f, "b");
  end(f, "a", CORUN__END_OK);
  /* b was cancelled before a's dependents were released: it never runs. */
  expect_status(f, "b", CORUN_SKIPPED);
  assert_string_equal(reason(f, "b"), "cancelled");
  assert_string_equal(f->starts, "a c");
  end(f, "c", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_allows_cancel_job_of_itself_from_its_job_end(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  f->on_job_end = cancel_hook_job_on_end_of_a;
  f->hook_job = 0;
  run(f, 1, "never");
  end(f, "a", CORUN__END_OK);
  expect_status(f, "a", CORUN_OK);
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void cancel_run_on_any_end(fake_t *f, size_t job, corun_status_t st) {
  (void)job;
  (void)st;
  corun__sched_cancel(f->s, false);
}

static void test_sched_allows_cancel_from_every_notification(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c", .needs = NEEDS("b"));
  JOB(f, .name = "d");
  f->on_job_end = cancel_run_on_any_end;
  run(f, 2, "never");
  end(f, "a", CORUN__END_OK);
  expect_status(f, "a", CORUN_OK);
  expect_status(f, "c", CORUN_SKIPPED);
  expect_status(f, "d", CORUN_SKIPPED);
  /* Every nested cancel finds b stopped already: one stop only. */
  assert_int_equal(f->n_stop, 1);
  assert_false(f->stop_kill[0]);
  end(f, "b", CORUN__END_STOPPED);
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static int end_at_once(fake_t *f, size_t job, unsigned attempt) {
  (void)attempt;
  /* The runner learns in start() that the attempt is already over. */
  f->running[job] = false;
  f->n_running--;
  corun__sched_ended(f->s, job, CORUN__END_OK);
  return 0;
}

static void test_sched_allows_a_start_that_ends_the_job_at_once(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c");
  f->on_start = end_at_once;
  run(f, 1, "never");
  /* b is ready before c's turn comes, and b comes first in the file. */
  assert_string_equal(f->starts, "a b c");
  expect_status(f, "a", CORUN_OK);
  expect_status(f, "b", CORUN_OK);
  expect_status(f, "c", CORUN_OK);
  assert_int_equal(f->max_running, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void end_on_stop(fake_t *f, size_t job, bool kill_now) {
  (void)kill_now;
  f->running[job] = false;
  f->n_running--;
  corun__sched_ended(f->s, job, CORUN__END_STOPPED);
}

static void test_sched_allows_a_stop_that_ends_the_job_at_once(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  f->on_stop = end_on_stop;
  run(f, 2, "never");
  corun__sched_cancel(f->s, false);
  assert_int_equal(f->n_stop, 2);
  expect_status(f, "a", CORUN_CANCELLED);
  expect_status(f, "b", CORUN_CANCELLED);
  expect_status(f, "c", CORUN_SKIPPED);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_allows_a_stop_that_ends_the_job_at_once_on_halt(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  JOB(f, .name = "c");
  f->on_stop = end_on_stop;
  run(f, 2, "now,fail=1");
  end(f, "a", CORUN__END_FAILED);
  expect_status(f, "b", CORUN_CANCELLED);
  expect_status(f, "c", CORUN_SKIPPED);
  assert_int_equal(f->n_halted, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

/* ---- whole plans ---------------------------------------------------- */

static void test_sched_ends_an_empty_plan_at_once(void **state) {
  fake_t *f = *state;
  run(f, 4, "never");
  assert_string_equal(f->log, "all");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_runs_only_the_selected_jobs(void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "other");
  JOB(f, .name = "b", .needs = NEEDS("a"));
  JOB(f, .name = "c", .needs = NEEDS("b"));
  JOB(f, .name = "d", .needs = NEEDS("c"));
  JOB(f, .name = "e", .needs = NEEDS("a"));
  seal(f);
  corun_error_t err = {0};
  const char *const names[] = {"c"};
  assert_int_equal(corun_plan_select(f->plan, names, 1, f->selected, &err), 0);
  f->use_selected = true;
  run(f, 4, "never");
  assert_string_equal(f->starts, "a");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a b");
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_OK);
  /* Unselected jobs are neither started nor reported. */
  assert_string_equal(f->starts, "a b c");
  assert_int_equal(f->n_end[J(f, "other")], 0);
  assert_int_equal(f->n_end[J(f, "d")], 0);
  assert_int_equal(f->n_end[J(f, "e")], 0);
  expect_status(f, "d", CORUN_PENDING);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_exit_code_is_1_when_anything_did_not_succeed(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a", .allow_failure = 1);
  JOB(f, .name = "b");
  run(f, 2, "never");
  end(f, "a", CORUN__END_FAILED);
  end(f, "b", CORUN__END_TIMEOUT);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_ignores_an_end_for_a_job_that_is_not_running(
    void **state) {
  fake_t *f = *state;
  JOB(f, .name = "a");
  JOB(f, .name = "b");
  run(f, 1, "never");
  corun__sched_ended(f->s, J(f, "b"), CORUN__END_FAILED);
  expect_status(f, "b", CORUN_PENDING);
  end(f, "a", CORUN__END_OK);
  corun__sched_ended(f->s, J(f, "a"), CORUN__END_FAILED);
  expect_status(f, "a", CORUN_OK);
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* ---- open plans (SPEC §11): jobs appended while the run goes on -------- */

/* Make the plan open (sealed, taking jobs) and create the scheduler. */
static void open_create(fake_t *f, unsigned jobs, const char *halt) {
  assert_int_equal(corun__plan_open(f->plan), 0);
  create(f, jobs, halt);
}

static void open_run(fake_t *f, unsigned jobs, const char *halt) {
  open_create(f, jobs, halt);
  corun__sched_start(f->s);
}

/* Append a job to the open plan and hand it to the scheduler, as
 * corun_run_submit() does; a description without a command gets "true". */
static size_t append(fake_t *f, corun_job_desc_t d) {
  corun_error_t err = {0};
  size_t i = CORUN__NO_JOB;
  if (d.argv == NULL && d.shell == NULL)
    d.shell = "true";
  int rc = corun__plan_append(f->plan, &d, &i, &err);
  if (rc != 0) {
    for (size_t k = 0; k < err.count; k++)
      print_message("%s\n", err.messages[k]);
    corun_error_release(&err);
    fail_msg("appending job %s failed: %d", d.name ? d.name : "(unnamed)", rc);
  }
  assert_int_equal(i, corun_plan_job_count(f->plan) - 1);
  assert_true(i < MAXJ);
  assert_int_equal(corun__sched_add(f->s), 0);
  return i;
}

#define ADD(f, ...) append((f), (corun_job_desc_t){__VA_ARGS__})

static void test_sched_open_runs_jobs_appended_before_start(void **state) {
  fake_t *f = *state;
  open_create(f, 2, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .needs = NEEDS("a"));
  ADD(f, .name = "c");
  /* Nothing starts before the scheduler does. */
  assert_string_equal(f->log, "");
  corun__sched_start(f->s);
  assert_string_equal(f->starts, "a c");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a c b");
  end(f, "b", CORUN__END_OK);
  end(f, "c", CORUN__END_OK);
  /* Every job ended, but more may come: the run is not over. */
  assert_int_equal(f->n_all_ended, 0);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_string_equal(f->log, "start a#1; start c#1; end a ok; start b#1; "
                              "end b ok; end c ok; all");
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_runs_jobs_appended_while_others_run(
    void **state) {
  fake_t *f = *state;
  open_run(f, 2, "never");
  assert_string_equal(f->log, "");
  ADD(f, .name = "a");
  assert_string_equal(f->starts, "a");
  ADD(f, .name = "b");
  assert_string_equal(f->starts, "a b");
  /* -j2: c waits for a slot. */
  ADD(f, .name = "c");
  ADD(f, .name = "d");
  assert_string_equal(f->starts, "a b");
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c");
  ADD(f, .name = "e");
  end(f, "a", CORUN__END_OK);
  /* Submission order decides: d before e. */
  assert_string_equal(f->starts, "a b c d");
  corun__sched_close_input(f->s);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "c", CORUN__END_OK);
  end(f, "d", CORUN__END_OK);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "e", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c d e");
  assert_int_equal(f->max_running, 2);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* on_job_end hook: append a job that needs the one that just ended, until
 * hook_job jobs exist; then close the input. */
static void append_next_in_chain(fake_t *f, size_t job, corun_status_t st) {
  (void)st;
  size_t n = corun_plan_job_count(f->plan);
  if (n < f->hook_job) {
    char name[32], need[CORUN_NAME_MAX + 1];
    snprintf(name, sizeof name, "c%zu", n);
    snprintf(need, sizeof need, "%s", jname(f, job));
    const char *needs[] = {need, NULL};
    append(f, (corun_job_desc_t){.name = name, .needs = needs});
  } else if (!f->hook_fired) {
    f->hook_fired = true;
    corun__sched_close_input(f->s);
  }
}

static void test_sched_open_appends_a_chain_from_job_end(void **state) {
  fake_t *f = *state;
  f->on_job_end = append_next_in_chain;
  f->hook_job = 5;
  open_run(f, 4, "never");
  ADD(f, .name = "c0");
  for (int k = 0; k < 5; k++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", k);
    /* Each appended job starts as soon as the one before it ended. */
    assert_int_equal(f->n_running, 1);
    assert_true(f->running[J(f, name)]);
    assert_int_equal(f->n_all_ended, 0);
    end(f, name, CORUN__END_OK);
  }
  assert_true(f->hook_fired);
  assert_string_equal(f->starts, "c0 c1 c2 c3 c4");
  assert_string_equal(f->log,
                      "start c0#1; end c0 ok; start c1#1; end c1 ok; "
                      "start c2#1; end c2 ok; start c3#1; end c3 ok; "
                      "start c4#1; end c4 ok; all");
  assert_int_equal(f->max_running, 1);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_chain_from_job_end_runs_inside_one_call(
    void **state) {
  fake_t *f = *state;
  /* Every attempt ends inside its start(), and every end appends the
   * next job: the whole chain runs inside the first append, by
   * iteration (settle) rather than recursion. */
  f->on_start = end_at_once;
  f->on_job_end = append_next_in_chain;
  f->hook_job = MAXJ;
  open_run(f, 1, "never");
  ADD(f, .name = "c0");
  assert_true(f->hook_fired);
  assert_int_equal(corun_plan_job_count(f->plan), MAXJ);
  for (size_t i = 0; i < MAXJ; i++)
    assert_int_equal(fstatus(f, i), CORUN_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* on_start hook: the first start appends a job (re-entrancy from start). */
static int append_on_first_start(fake_t *f, size_t job, unsigned attempt) {
  (void)job, (void)attempt;
  if (!f->hook_fired) {
    f->hook_fired = true;
    ADD(f, .name = "from-start");
  }
  return 0;
}

static void test_sched_open_appends_from_a_start(void **state) {
  fake_t *f = *state;
  f->on_start = append_on_first_start;
  open_run(f, 2, "never");
  ADD(f, .name = "a");
  /* The job appended inside a's start() takes the second slot. */
  assert_string_equal(f->starts, "a from-start");
  end(f, "from-start", CORUN__END_OK);
  end(f, "a", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
}

static void test_sched_open_need_that_ended_ok_starts_at_once(void **state) {
  fake_t *f = *state;
  open_run(f, 4, "never");
  ADD(f, .name = "a");
  end(f, "a", CORUN__END_OK);
  clear_log(f);
  ADD(f, .name = "b", .needs = NEEDS("a"));
  assert_string_equal(f->log, "start b#1");
  /* An allowed failure lets its dependents run as well. */
  ADD(f, .name = "af", .allow_failure = 1);
  end(f, "af", CORUN__END_FAILED);
  ADD(f, .name = "c", .needs = NEEDS("af", "a"));
  assert_string_equal(f->starts, "a b af c");
  end(f, "b", CORUN__END_OK);
  end(f, "c", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_need_that_failed_skips_at_once(void **state) {
  fake_t *f = *state;
  open_run(f, 4, "never");
  ADD(f, .name = "ok");
  ADD(f, .name = "bad");
  ADD(f, .name = "gone");
  end(f, "ok", CORUN__END_OK);
  end(f, "bad", CORUN__END_FAILED);
  corun__sched_cancel_job(f->s, J(f, "gone"));
  end(f, "gone", CORUN__END_STOPPED);
  clear_log(f);
  ADD(f, .name = "x", .needs = NEEDS("ok", "bad"));
  /* Told at once, from inside the append, and never started. */
  assert_string_equal(f->log, "end x skipped (need bad failed)");
  expect_status(f, "x", CORUN_SKIPPED);
  ADD(f, .name = "y", .needs = NEEDS("x"));
  assert_string_equal(reason(f, "y"), "need x skipped");
  ADD(f, .name = "z", .needs = NEEDS("gone"));
  assert_string_equal(reason(f, "z"), "need gone cancelled");
  ADD(f, .name = "t");
  end(f, "t", CORUN__END_TIMEOUT);
  ADD(f, .name = "u", .needs = NEEDS("t"));
  assert_string_equal(reason(f, "u"), "need t failed");
  assert_string_equal(f->starts, "ok bad gone t");
  assert_int_equal(f->n_all_ended, 0);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_open_need_that_runs_or_waits_makes_it_wait(
    void **state) {
  fake_t *f = *state;
  open_run(f, 4, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .needs = NEEDS("a")); /* a runs */
  ADD(f, .name = "c", .needs = NEEDS("b")); /* b waits */
  ADD(f, .name = "d", .needs = NEEDS("a", "c"));
  assert_string_equal(f->starts, "a");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a b");
  end(f, "b", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c");
  end(f, "c", CORUN__END_OK);
  assert_string_equal(f->starts, "a b c d");
  end(f, "d", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_failure_skips_what_was_appended_to_wait_on_it(
    void **state) {
  fake_t *f = *state;
  open_run(f, 4, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .needs = NEEDS("a"));
  ADD(f, .name = "c", .needs = NEEDS("b"));
  ADD(f, .name = "free");
  clear_log(f);
  end(f, "a", CORUN__END_FAILED);
  assert_string_equal(f->log, "end a failed; end b skipped (need a failed); "
                              "end c skipped (need b skipped)");
  end(f, "free", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_open_need_waiting_for_its_retry_makes_it_wait(
    void **state) {
  fake_t *f = *state;
  open_run(f, 4, "never");
  ADD(f, .name = "a", .retries = 1, .retry_delay_s = 5);
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_retry, 1);
  ADD(f, .name = "b", .needs = NEEDS("a"));
  assert_string_equal(f->starts, "a");
  due(f, "a");
  assert_string_equal(f->starts, "a a#2");
  end(f, "a", CORUN__END_OK);
  assert_string_equal(f->starts, "a a#2 b");
  end(f, "b", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_skips_jobs_appended_after_a_halt(void **state) {
  fake_t *f = *state;
  open_run(f, 2, "soon,fail=1");
  ADD(f, .name = "a");
  ADD(f, .name = "b");
  ADD(f, .name = "waiting");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_halted, 1);
  assert_string_equal(reason(f, "waiting"), "halted");
  clear_log(f);
  ADD(f, .name = "late");
  ADD(f, .name = "later", .needs = NEEDS("b"));
  assert_string_equal(f->log, "end late skipped (halted); "
                              "end later skipped (halted)");
  /* b, running, finishes; the run ends once the input is closed. */
  end(f, "b", CORUN__END_OK);
  assert_int_equal(f->n_all_ended, 0);
  corun__sched_close_input(f->s);
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_open_skips_jobs_appended_after_a_halt_now(
    void **state) {
  fake_t *f = *state;
  open_run(f, 2, "now,fail=1");
  ADD(f, .name = "a");
  ADD(f, .name = "b");
  end(f, "a", CORUN__END_FAILED);
  assert_int_equal(f->n_stop, 1);
  ADD(f, .name = "late");
  assert_string_equal(reason(f, "late"), "halted");
  corun__sched_close_input(f->s);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "b", CORUN__END_STOPPED);
  expect_status(f, "b", CORUN_CANCELLED);
  assert_all_ended_once(f);
}

static void test_sched_open_success_halt_skips_later_jobs_and_succeeds(
    void **state) {
  fake_t *f = *state;
  open_run(f, 2, "soon,success=1");
  ADD(f, .name = "a");
  end(f, "a", CORUN__END_OK);
  ADD(f, .name = "late");
  assert_string_equal(reason(f, "late"), "halted");
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_skips_jobs_appended_after_cancel(void **state) {
  fake_t *f = *state;
  open_run(f, 2, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b");
  ADD(f, .name = "c");
  corun__sched_cancel(f->s, false);
  assert_string_equal(reason(f, "c"), "run cancelled");
  clear_log(f);
  ADD(f, .name = "late");
  assert_string_equal(f->log, "end late skipped (run cancelled)");
  end(f, "a", CORUN__END_STOPPED);
  end(f, "b", CORUN__END_STOPPED);
  /* Cancelled, but not closed: the run waits for the close. */
  assert_int_equal(f->n_all_ended, 0);
  ADD(f, .name = "later");
  assert_string_equal(reason(f, "later"), "run cancelled");
  corun__sched_close_input(f->s);
  assert_string_equal(f->starts, "a b");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 1);
}

static void test_sched_open_cancel_job_of_an_appended_job(void **state) {
  fake_t *f = *state;
  open_run(f, 1, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b");
  ADD(f, .name = "c", .needs = NEEDS("b"));
  corun__sched_cancel_job(f->s, J(f, "b"));
  expect_status(f, "b", CORUN_SKIPPED);
  assert_string_equal(reason(f, "b"), "cancelled");
  assert_string_equal(reason(f, "c"), "need b skipped");
  end(f, "a", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
}

static void test_sched_open_close_with_nothing_running_ends_at_once(
    void **state) {
  fake_t *f = *state;
  open_run(f, 2, "never");
  /* An open run with no job yet is not over. */
  assert_string_equal(f->log, "");
  ADD(f, .name = "a");
  end(f, "a", CORUN__END_OK);
  assert_int_equal(f->n_all_ended, 0);
  clear_log(f);
  corun__sched_close_input(f->s);
  assert_string_equal(f->log, "all");
  /* Closing again says nothing more. */
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_close_with_no_job_at_all(void **state) {
  fake_t *f = *state;
  open_run(f, 2, "never");
  corun__sched_close_input(f->s);
  assert_string_equal(f->log, "all");
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

static void test_sched_open_close_before_start(void **state) {
  fake_t *f = *state;
  open_create(f, 2, "never");
  ADD(f, .name = "a");
  corun__sched_close_input(f->s);
  assert_string_equal(f->log, "");
  corun__sched_start(f->s);
  assert_string_equal(f->log, "start a#1");
  end(f, "a", CORUN__END_OK);
  assert_all_ended_once(f);
}

static void test_sched_open_close_while_jobs_run_ends_with_the_last(
    void **state) {
  fake_t *f = *state;
  open_run(f, 2, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .retries = 1);
  corun__sched_close_input(f->s);
  end(f, "a", CORUN__END_OK);
  assert_int_equal(f->n_all_ended, 0);
  end(f, "b", CORUN__END_FAILED);
  /* Waiting for its retry: not over yet. */
  assert_int_equal(f->n_all_ended, 0);
  due(f, "b");
  end(f, "b", CORUN__END_OK);
  assert_all_ended_once(f);
  assert_int_equal(corun__sched_exit_code(f->s), 0);
}

/* on_job_end hook: the end of hook_trigger closes the input. */
static void close_on_end_of_trigger(fake_t *f, size_t job,
                                    corun_status_t st) {
  (void)st;
  if (job == f->hook_trigger && !f->hook_fired) {
    f->hook_fired = true;
    corun__sched_close_input(f->s);
  }
}

static void test_sched_open_close_from_the_last_job_end(void **state) {
  fake_t *f = *state;
  f->on_job_end = close_on_end_of_trigger;
  open_run(f, 2, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .needs = NEEDS("a"));
  f->hook_trigger = J(f, "b");
  clear_log(f);
  end(f, "a", CORUN__END_FAILED);
  /* b's skip closes the input: all_ended comes after it, last. */
  assert_true(f->hook_fired);
  assert_string_equal(f->log,
                      "end a failed; end b skipped (need a failed); all");
  assert_all_ended_once(f);
}

static void test_sched_open_pools_limit_appended_jobs(void **state) {
  fake_t *f = *state;
  pool(f, "one", 1);
  pool(f, "two", 2);
  open_run(f, 4, "never");
  ADD(f, .name = "o1", .pool = "one");
  ADD(f, .name = "o2", .pool = "one");
  ADD(f, .name = "t1", .pool = "two");
  ADD(f, .name = "t2", .pool = "two");
  ADD(f, .name = "t3", .pool = "two");
  ADD(f, .name = "free");
  assert_string_equal(f->starts, "o1 t1 t2 free");
  end(f, "t1", CORUN__END_OK);
  assert_string_equal(f->starts, "o1 t1 t2 free t3");
  end(f, "free", CORUN__END_OK);
  /* A slot of -j is free, but o2's pool is full. */
  assert_string_equal(f->starts, "o1 t1 t2 free t3");
  end(f, "o1", CORUN__END_OK);
  assert_string_equal(f->starts, "o1 t1 t2 free t3 o2");
  end(f, "o2", CORUN__END_OK);
  end(f, "t2", CORUN__END_OK);
  end(f, "t3", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_int_equal(f->pool_max[0], 1);
  assert_int_equal(f->pool_max[1], 2);
  assert_all_ended_once(f);
}

static void test_sched_open_append_rejects_what_it_cannot_take(
    void **state) {
  fake_t *f = *state;
  pool(f, "p", 1);
  open_run(f, 2, "never");
  ADD(f, .name = "a");
  struct {
    corun_job_desc_t d;
    const char *msg;
  } bad[] = {
      {{.name = "x", .shell = "true", .needs = NEEDS("later")},
       "plan: jobs[1].needs[0]: unknown job \"later\" (a job can need only "
       "jobs submitted before it)"},
      {{.name = "x", .shell = "true", .needs = NEEDS("a", "a")},
       "plan: jobs[2].needs[1]: \"a\" is named twice"},
      {{.name = "x", .shell = "true", .pool = "q"},
       "plan: jobs[3].pool: unknown pool \"q\""},
      {{.name = "a", .shell = "true"},
       "plan: jobs[4].name: duplicate name \"a\" (also jobs[0])"},
      {{.name = "x", .shell = "true", .needs = NEEDS("x")},
       "plan: jobs[5].needs[0]: unknown job \"x\" (a job can need only "
       "jobs submitted before it)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    corun_error_t err = {0};
    size_t i = 77;
    assert_int_equal(corun__plan_append(f->plan, &bad[k].d, &i, &err),
                     CORUN_EINVALID);
    assert_int_equal(err.code, CORUN_EINVALID);
    assert_int_equal(err.count, 1);
    assert_string_equal(err.messages[0], bad[k].msg);
    assert_int_equal(i, 77);
    corun_error_release(&err);
  }
  /* Nothing was taken: the next job is the second one. */
  assert_int_equal(corun_plan_job_count(f->plan), 1);
  size_t x = ADD(f, .name = "x", .needs = NEEDS("a"), .pool = "p");
  assert_int_equal(x, 1);
  end(f, "a", CORUN__END_OK);
  end(f, "x", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
  /* A plan that is not open takes nothing. */
  corun_plan_t *closed = NULL;
  assert_int_equal(corun_plan_new(&closed, NULL, NULL), 0);
  corun_job_desc_t d = {.shell = "true"};
  size_t i;
  assert_int_equal(corun__plan_append(closed, &d, &i, NULL), CORUN_ESTATE);
  corun_plan_free(closed);
}

static void test_sched_open_order_stays_topological(void **state) {
  fake_t *f = *state;
  open_run(f, 1, "never");
  ADD(f, .name = "a");
  ADD(f, .name = "b", .needs = NEEDS("a"));
  ADD(f, .name = "c");
  const size_t *order = corun_plan_order(f->plan);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(order[i], i);
  end(f, "a", CORUN__END_OK);
  end(f, "b", CORUN__END_OK);
  end(f, "c", CORUN__END_OK);
  corun__sched_close_input(f->s);
  assert_all_ended_once(f);
}

static void test_sched_open_rejected_jobs_leave_the_name_table_whole(
    void **state) {
  fake_t *f = *state;
  open_run(f, 1, "never");
  /* Enough names for long probe runs in the table; each rejected job
   * (its need is unknown) is taken back out of it. */
  corun_error_t err = {0};
  for (int k = 0; k < 300; k++) {
    char name[32];
    size_t i;
    snprintf(name, sizeof name, "n%d", k);
    corun_job_desc_t ok = {.name = name, .shell = "true"};
    assert_int_equal(corun__plan_append(f->plan, &ok, &i, &err), 0);
    assert_int_equal(i, (size_t)k);
    snprintf(name, sizeof name, "r%d", k);
    corun_job_desc_t bad = {.name = name, .shell = "true",
                            .needs = NEEDS("missing")};
    assert_int_equal(corun__plan_append(f->plan, &bad, &i, &err),
                     CORUN_EINVALID);
    corun_error_release(&err);
  }
  assert_int_equal(corun_plan_job_count(f->plan), 300);
  for (int k = 0; k < 300; k++) {
    char name[32];
    size_t i = 0;
    snprintf(name, sizeof name, "n%d", k);
    assert_int_equal(corun_plan_find(f->plan, name, &i), 0);
    assert_int_equal(i, (size_t)k);
    snprintf(name, sizeof name, "r%d", k);
    assert_int_equal(corun_plan_find(f->plan, name, NULL), CORUN_ENOJOB);
  }
  /* A rejected name is free for a later job. */
  corun_job_desc_t again = {.name = "r7", .shell = "true",
                            .needs = NEEDS("n7")};
  size_t i;
  assert_int_equal(corun__plan_append(f->plan, &again, &i, &err), 0);
  assert_int_equal(i, 300);
  assert_int_equal(corun_plan_find(f->plan, "r7", &i), 0);
  assert_int_equal(i, 300);
  assert_string_equal(corun_plan_job(f->plan, 300)->name, "r7");
  /* Positions count every job given: r7 was the 601st. */
  corun_job_desc_t unnamed = {.shell = "true"};
  assert_int_equal(corun__plan_append(f->plan, &unnamed, &i, &err), 0);
  assert_string_equal(corun_plan_job(f->plan, i)->name, "job-602");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_sched_starts_ready_jobs_in_job_file_order),
      T(test_sched_never_runs_more_than_j_jobs),
      T(test_sched_runs_everything_at_once_under_a_high_limit),
      T(test_sched_respects_pool_slots_inside_j_limit),
      T(test_sched_limits_a_large_pool_by_j),
      T(test_sched_full_pool_does_not_block_later_jobs),
      T(test_sched_starts_dependent_only_after_its_need_ended_ok),
      T(test_sched_skips_dependents_of_failed_job),
      T(test_sched_skips_a_diamond_dependent_once),
      T(test_sched_skips_a_dependent_when_its_other_need_fails_later),
      T(test_sched_runs_dependents_of_an_allowed_failure),
      T(test_sched_allowed_failure_does_not_count_for_halt),
      T(test_sched_ends_job_error_when_start_fails),
      T(test_sched_does_not_retry_a_job_that_could_not_start),
      T(test_sched_start_error_counts_as_failure_for_halt),
      T(test_sched_allowed_start_error_lets_dependents_run),
      T(test_sched_start_later_restarts_after_another_job_ends),
      T(test_sched_start_later_with_nothing_running_defers_a_pump),
      T(test_sched_start_later_waits_on_repeated_shortage),
      T(test_sched_start_later_gives_up_when_nothing_runs),
      T(test_sched_retries_failed_attempt_after_retry_delay),
      T(test_sched_keeps_retry_delay_constant_without_backoff),
      T(test_sched_doubles_retry_delay_with_backoff),
      T(test_sched_succeeds_on_third_attempt),
      T(test_sched_fails_job_when_retries_are_exhausted),
      T(test_sched_retries_a_timed_out_attempt),
      T(test_sched_does_not_retry_a_stopped_attempt),
      T(test_sched_frees_the_slot_while_a_job_waits_for_its_retry),
      T(test_sched_keeps_last_outcome_when_retry_cannot_be_deferred),
      T(test_sched_halt_parse_reads_every_policy),
      T(test_sched_halt_parse_rejects_junk),
      T(test_sched_halt_never_runs_everything_that_can_run),
      T(test_sched_halt_soon_fail_1_lets_running_jobs_finish),
      T(test_sched_fail_fast_is_soon_fail_1),
      T(test_sched_halt_now_fail_1_stops_running_jobs),
      T(test_sched_halt_soon_fail_2_needs_two_failures),
      T(test_sched_halt_soon_success_1_succeeds_with_skipped_jobs),
      T(test_sched_halt_now_success_1_succeeds_with_cancelled_jobs),
      T(test_sched_halt_soon_gives_up_a_pending_retry),
      T(test_sched_halt_soon_does_not_retry_a_running_job),
      T(test_sched_cancel_skips_pending_and_stops_running),
      T(test_sched_cancel_again_with_kill_now_escalates),
      T(test_sched_cancel_counts_a_job_that_exits_anyway_as_cancelled),
      T(test_sched_cancel_after_the_end_does_nothing),
      T(test_sched_cancel_ends_a_job_waiting_for_its_retry),
      T(test_sched_cancel_before_start_skips_everything),
      T(test_sched_cancel_while_waiting_for_resources_ends_the_run),
      T(test_sched_cancel_job_skips_a_pending_job_and_its_dependents),
      T(test_sched_cancel_job_stops_a_running_job),
      T(test_sched_cancel_job_on_a_finished_job_does_nothing),
      T(test_sched_cancel_job_ends_a_job_waiting_for_its_retry),
      T(test_sched_allows_cancel_from_a_job_end_notification),
      T(test_sched_keeps_all_ended_last_when_job_end_cancels_at_a_halt),
      T(test_sched_allows_cancel_job_from_a_skip_notification),
      T(test_sched_allows_cancel_job_of_a_dependent_from_job_end),
      T(test_sched_allows_cancel_job_of_itself_from_its_job_end),
      T(test_sched_allows_cancel_from_every_notification),
      T(test_sched_allows_a_start_that_ends_the_job_at_once),
      T(test_sched_allows_a_stop_that_ends_the_job_at_once),
      T(test_sched_allows_a_stop_that_ends_the_job_at_once_on_halt),
      T(test_sched_ends_an_empty_plan_at_once),
      T(test_sched_runs_only_the_selected_jobs),
      T(test_sched_exit_code_is_1_when_anything_did_not_succeed),
      T(test_sched_ignores_an_end_for_a_job_that_is_not_running),
      T(test_sched_open_runs_jobs_appended_before_start),
      T(test_sched_open_runs_jobs_appended_while_others_run),
      T(test_sched_open_appends_a_chain_from_job_end),
      T(test_sched_open_chain_from_job_end_runs_inside_one_call),
      T(test_sched_open_appends_from_a_start),
      T(test_sched_open_need_that_ended_ok_starts_at_once),
      T(test_sched_open_need_that_failed_skips_at_once),
      T(test_sched_open_need_that_runs_or_waits_makes_it_wait),
      T(test_sched_open_failure_skips_what_was_appended_to_wait_on_it),
      T(test_sched_open_need_waiting_for_its_retry_makes_it_wait),
      T(test_sched_open_skips_jobs_appended_after_a_halt),
      T(test_sched_open_skips_jobs_appended_after_a_halt_now),
      T(test_sched_open_success_halt_skips_later_jobs_and_succeeds),
      T(test_sched_open_skips_jobs_appended_after_cancel),
      T(test_sched_open_cancel_job_of_an_appended_job),
      T(test_sched_open_close_with_nothing_running_ends_at_once),
      T(test_sched_open_close_with_no_job_at_all),
      T(test_sched_open_close_before_start),
      T(test_sched_open_close_while_jobs_run_ends_with_the_last),
      T(test_sched_open_close_from_the_last_job_end),
      T(test_sched_open_pools_limit_appended_jobs),
      T(test_sched_open_append_rejects_what_it_cannot_take),
      T(test_sched_open_order_stays_topological),
      T(test_sched_open_rejected_jobs_leave_the_name_table_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
