/*
 * The scheduler: which job runs when. It owns the ready queues, the -j and
 * pool limits, needs, skip propagation, retries and halting, and drives a
 * runner (real processes on libuv, or a fake one in tests) through
 * corun__runner_t. Nothing here knows about processes or the loop.
 *
 * Re-entrancy: every runner call may call back into the scheduler (a
 * job_end notification reaching a user callback that cancels another job,
 * say). pump() therefore never recurses: a nested call only marks that
 * another pass is needed.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_IGNORED, S_WAITING, S_READY, S_RUNNING, S_RETRY, S_DONE };

/* How many 50 ms waits for descriptors or processes, with nothing of ours
 * running, before a job ends `error` rather than wait on. */
#define STARVED_MAX 40

typedef struct {
  unsigned char state;
  unsigned char status; /* corun_status_t once S_DONE */
  bool stop_sent;
  unsigned attempts;
  size_t unmet; /* needs not yet satisfied */
} sjob_t;

typedef corun__heap_t heap_t;

#define SJ(s, i) ((sjob_t *)corun__svec_at(&(s)->jobs, (i)))

/*
 * Notifications are queued and delivered from one place, settle(), never
 * from the middle of a state change: a callback may then call back in at
 * any time without finding a half-walked graph, and all_ended is always
 * the very last thing said.
 */
enum {
  NOTE_END,           /* a job ended; no reason */
  NOTE_NEED,          /* skipped: `cause` did not succeed */
  NOTE_HALTED,        /* skipped because of the halt */
  NOTE_RUN_CANCELLED, /* skipped because the run was cancelled */
  NOTE_CANCELLED,     /* skipped: cancelled before it started */
  NOTE_HALT,          /* the halt policy was met */
  NOTE_RETRY          /* an attempt failed; `cause` is the next attempt */
};

typedef struct {
  size_t job, cause;
  double delay;
  unsigned char kind, status;
} note_t;

struct corun__sched_s {
  const corun_plan_t *plan;
  corun__runner_t r;
  void *ctx;
  corun__svec_t jobs; /* of sjob_t: they never move (open runs add some) */
  size_t n_jobs;
  heap_t ready;      /* ready jobs without a pool */
  heap_t *pool_ready; /* per pool */
  size_t ready_cap, *pool_cap, *pool_jobs; /* room in the heaps, jobs per pool */
  size_t n_pools; /* the plan's, kept: an open run's plan may go first */
  unsigned *pool_used;
  size_t n_selected, n_done;
  size_t stack_cap;
  bool started;
  bool open_input; /* an open run that may still get jobs */
  size_t running, deferred;
  unsigned max_jobs;
  corun__halt_t halt;
  const char *halt_text;
  unsigned failures, successes;
  bool halted, success_halt, cancelled, throttled, pump_waiting;
  unsigned starved; /* START_LATER in a row with nothing running */
  bool in_settle, again, ended;
  size_t *stack; /* for skip propagation */
  note_t *notes; /* a queue: delivered from note_head to note_tail */
  size_t note_head, note_tail, note_cap;
};

int corun__sched_new(corun__sched_t **out, const corun_plan_t *plan,
                     const unsigned char *selected, unsigned jobs,
                     const corun__halt_t *halt, const char *halt_text,
                     const corun__runner_t *runner, void *ctx) {
  size_t n = plan->n_jobs, np = plan->n_pools ? plan->n_pools : 1;
  corun__sched_t *s = calloc(1, sizeof *s);
  *out = NULL;
  if (s == NULL)
    return UV_ENOMEM;
  s->plan = plan;
  s->r = *runner;
  s->ctx = ctx;
  s->max_jobs = jobs ? jobs : 1;
  s->halt = *halt;
  s->halt_text = halt_text;
  s->jobs.size = sizeof(sjob_t);
  s->n_pools = plan->n_pools;
  s->open_input = plan->open;
  s->n_jobs = n;
  s->ready_cap = s->stack_cap = n ? n : 1;
  s->ready.v = malloc(s->ready_cap * sizeof(size_t));
  s->stack = malloc(s->stack_cap * sizeof(size_t));
  s->note_cap = n + 16;
  s->notes = malloc(s->note_cap * sizeof(note_t));
  s->pool_ready = calloc(np, sizeof(heap_t));
  s->pool_used = calloc(np, sizeof(unsigned));
  s->pool_cap = calloc(np, sizeof(size_t));
  s->pool_jobs = calloc(np, sizeof(size_t));
  if (corun__svec_reserve(&s->jobs, n) || !s->ready.v || !s->stack ||
      !s->notes || !s->pool_ready || !s->pool_used || !s->pool_cap ||
      !s->pool_jobs)
    goto nomem;
  for (size_t i = 0; i < n; i++) {
    sjob_t *j = SJ(s, i);
    if (selected != NULL && !selected[i]) {
      j->state = S_IGNORED;
      continue;
    }
    s->n_selected++;
    j->state = S_WAITING;
    j->unmet = corun__pjob(plan, i)->n_needs;
    if (corun__pjob(plan, i)->pool >= 0)
      s->pool_jobs[corun__pjob(plan, i)->pool]++;
  }
  for (size_t k = 0; k < plan->n_pools; k++) {
    s->pool_cap[k] = s->pool_jobs[k] ? s->pool_jobs[k] : 1;
    s->pool_ready[k].v = malloc(s->pool_cap[k] * sizeof(size_t));
    if (s->pool_ready[k].v == NULL)
      goto nomem;
  }
  *out = s;
  return 0;
nomem:
  corun__sched_free(s);
  return UV_ENOMEM;
}

void corun__sched_free(corun__sched_t *s) {
  if (s == NULL)
    return;
  for (size_t k = 0; s->pool_ready && k < s->n_pools; k++)
    free(s->pool_ready[k].v);
  free(s->pool_ready);
  free(s->pool_used);
  free(s->pool_cap);
  free(s->pool_jobs);
  free(s->ready.v);
  free(s->stack);
  free(s->notes);
  corun__svec_free(&s->jobs);
  free(s);
}

static void make_ready(corun__sched_t *s, size_t i) {
  SJ(s, i)->state = S_READY;
  int pool = corun__pjob(s->plan, i)->pool;
  corun__heap_push(pool >= 0 ? &s->pool_ready[pool] : &s->ready, i);
}

/* Whether a finished job lets its dependents run. */
static bool satisfied(const corun__sched_t *s, size_t i) {
  corun_status_t st = SJ(s, i)->status;
  if (st == CORUN_OK)
    return true;
  return corun__pjob(s->plan, i)->d.allow_failure &&
         (st == CORUN_FAILED || st == CORUN_TIMEOUT || st == CORUN_ERROR);
}

static note_t *note(corun__sched_t *s, size_t job, size_t cause, int kind) {
  static note_t lost;
  if (s->note_head == s->note_tail)
    s->note_head = s->note_tail = 0;
  if (s->note_tail == s->note_cap &&
      corun__grow(&s->notes, &s->note_cap, s->note_cap + 1, sizeof(note_t)))
    return &lost; /* out of memory: the notification is lost, not the run */
  note_t *n = &s->notes[s->note_tail++];
  n->job = job;
  n->cause = cause;
  n->kind = (unsigned char)kind;
  return n;
}

static void finish(corun__sched_t *s, size_t i, corun_status_t st, int kind,
                   size_t cause) {
  sjob_t *j = SJ(s, i);
  j->state = S_DONE;
  j->status = (unsigned char)st;
  s->n_done++;
  note(s, i, cause, kind);
}

/* A waiting or ready job that will never start; a ready one is dropped
 * from its queue lazily, by pick(). */
static void skip(corun__sched_t *s, size_t i, int kind, size_t cause) {
  finish(s, i, CORUN_SKIPPED, kind, cause);
}

/* Skip every job that transitively needs `i`, which did not succeed. */
static void skip_dependents(corun__sched_t *s, size_t i) {
  const corun_plan_t *p = s->plan;
  size_t depth = 0;
  s->stack[depth++] = i;
  while (depth > 0) {
    size_t v = s->stack[--depth];
    for (size_t e = corun__pjob(p, v)->dep_head; e != CORUN__NO_JOB;
         e = p->edges[e].next) {
      size_t d = p->edges[e].to;
      sjob_t *dj = SJ(s, d);
      if (dj->state != S_WAITING && dj->state != S_READY)
        continue;
      skip(s, d, NOTE_NEED, v);
      s->stack[depth++] = d;
    }
  }
}

static void release_dependents(corun__sched_t *s, size_t i) {
  const corun_plan_t *p = s->plan;
  for (size_t e = corun__pjob(p, i)->dep_head; e != CORUN__NO_JOB;
       e = p->edges[e].next) {
    size_t d = p->edges[e].to;
    sjob_t *dj = SJ(s, d);
    if (dj->state == S_WAITING && --dj->unmet == 0)
      make_ready(s, d);
  }
}

/* Skip everything not started yet and end retry waits: no new attempts. */
static void stop_starting(corun__sched_t *s, int kind) {
  for (size_t i = 0; i < s->n_jobs; i++) {
    sjob_t *j = SJ(s, i);
    if (j->state == S_WAITING || j->state == S_READY) {
      skip(s, i, kind, 0);
    } else if (j->state == S_RETRY) {
      s->r.undefer(s->ctx, i);
      s->deferred--;
      /* The last attempt's outcome stands. */
      finish(s, i, (corun_status_t)j->status, NOTE_END, 0);
    }
  }
}

static void stop_running(corun__sched_t *s, bool kill_now) {
  for (size_t i = 0; i < s->n_jobs; i++) {
    sjob_t *j = SJ(s, i);
    if (j->state == S_RUNNING && (!j->stop_sent || kill_now)) {
      j->stop_sent = true;
      s->r.stop(s->ctx, i, kill_now);
    }
  }
}

static void check_halt(corun__sched_t *s) {
  if (s->halted || !corun__halt_met(&s->halt, s->successes, s->failures))
    return;
  s->halted = true;
  s->success_halt = s->halt.on_success;
  note(s, 0, 0, NOTE_HALT);
  stop_starting(s, NOTE_HALTED);
  if (s->halt.when == CORUN__HALT_NOW)
    stop_running(s, false);
}

static bool pick(corun__sched_t *s, size_t *out) {
  const corun_plan_t *p = s->plan;
  size_t best = CORUN__NO_JOB;
  int best_pool = -1;
  /* Entries that are no longer ready (skipped) are dropped here. */
  while (s->ready.n && SJ(s, s->ready.v[0])->state != S_READY)
    corun__heap_pop(&s->ready);
  if (s->ready.n)
    best = s->ready.v[0];
  for (size_t k = 0; k < p->n_pools; k++) {
    heap_t *h = &s->pool_ready[k];
    while (h->n && SJ(s, h->v[0])->state != S_READY)
      corun__heap_pop(h);
    if (h->n && s->pool_used[k] < p->pool_slots[k] && h->v[0] < best) {
      best = h->v[0];
      best_pool = (int)k;
    }
  }
  if (best == CORUN__NO_JOB)
    return false;
  corun__heap_pop(best_pool >= 0 ? &s->pool_ready[best_pool] : &s->ready);
  *out = best;
  return true;
}

static void check_done(corun__sched_t *s) {
  if (!s->ended && !s->open_input && s->n_done == s->n_selected &&
      s->running == 0 &&
      s->deferred == 0 && !s->pump_waiting &&
      s->note_head == s->note_tail) {
    s->ended = true;
    s->r.all_ended(s->ctx);
  }
}

static void attempt_ended(corun__sched_t *s, size_t i, corun__end_t how);

/* Start what may start now. */
static void pump(corun__sched_t *s) {
  while (!s->halted && !s->cancelled && !s->throttled &&
         s->running < s->max_jobs) {
    size_t i;
    if (!pick(s, &i))
      break;
    sjob_t *j = SJ(s, i);
    j->state = S_RUNNING;
    j->stop_sent = false;
    j->attempts++;
    s->running++;
    int pool = corun__pjob(s->plan, i)->pool;
    if (pool >= 0)
      s->pool_used[pool]++;
    int rc = s->r.start(s->ctx, i, j->attempts);
    if (rc == CORUN__START_LATER && s->running == 1 &&
        ++s->starved > STARVED_MAX) {
      /* Nothing runs that could free what is missing: it will not come. */
      rc = CORUN_EIO;
    }
    if (rc == 0)
      s->starved = 0;
    if (rc == CORUN__START_LATER) {
      /* Out of processes or descriptors: put it back and wait for a
       * running job to end, or a short while when none runs. */
      j->attempts--;
      s->running--;
      if (pool >= 0)
        s->pool_used[pool]--;
      make_ready(s, i);
      s->throttled = true;
      if (s->running == 0 && !s->pump_waiting &&
          s->r.defer(s->ctx, CORUN__NO_JOB, 0.05) == 0)
        s->pump_waiting = true;
      break;
    }
    if (rc < 0) {
      /* Say so before anything else starts: settle() delivers, then
       * comes back here. */
      attempt_ended(s, i, CORUN__END_ERROR);
      break;
    }
  }
}

static void deliver(corun__sched_t *s, const note_t *n) {
  if (n->kind == NOTE_HALT) {
    s->r.halted(s->ctx, s->halt_text);
    return;
  }
  if (n->kind == NOTE_RETRY) {
    s->r.retry(s->ctx, n->job, (corun_status_t)n->status, (unsigned)n->cause,
               n->delay);
    return;
  }
  char reason[CORUN_NAME_MAX + 32];
  const char *why = NULL;
  switch (n->kind) {
  case NOTE_NEED: {
    corun_status_t cs = (corun_status_t)SJ(s, n->cause)->status;
    snprintf(reason, sizeof reason, "need %s %s",
             corun__pjob(s->plan, n->cause)->d.name,
             cs == CORUN_SKIPPED     ? "skipped"
             : cs == CORUN_CANCELLED ? "cancelled"
                                     : "failed");
    why = reason;
    break;
  }
  case NOTE_HALTED: why = "halted"; break;
  case NOTE_RUN_CANCELLED: why = "run cancelled"; break;
  case NOTE_CANCELLED: why = "cancelled"; break;
  default: break;
  }
  s->r.job_end(s->ctx, n->job, (corun_status_t)SJ(s, n->job)->status, why);
}

/*
 * Deliver what was queued and start what can start, until neither has
 * anything left; then see whether the run is over. A call from inside a
 * callback only asks the outer loop for another pass.
 */
static void settle(corun__sched_t *s) {
  if (s->in_settle) {
    s->again = true;
    return;
  }
  s->in_settle = true;
  do {
    s->again = false;
    while (s->note_head < s->note_tail) {
      note_t n = s->notes[s->note_head++];
      deliver(s, &n);
    }
    pump(s);
  } while (s->again || s->note_head < s->note_tail);
  s->in_settle = false;
  check_done(s);
}

static void attempt_ended(corun__sched_t *s, size_t i, corun__end_t how) {
  sjob_t *j = SJ(s, i);
  const corun__job_t *pj = corun__pjob(s->plan, i);
  s->running--;
  s->throttled = false;
  if (pj->pool >= 0)
    s->pool_used[pj->pool]--;
  corun_status_t st;
  switch (how) {
  case CORUN__END_OK: st = CORUN_OK; break;
  case CORUN__END_FAILED: st = CORUN_FAILED; break;
  case CORUN__END_TIMEOUT: st = CORUN_TIMEOUT; break;
  case CORUN__END_ERROR: st = CORUN_ERROR; break;
  default: st = CORUN_CANCELLED; break;
  }
  if (j->stop_sent && how != CORUN__END_ERROR && how != CORUN__END_TIMEOUT)
    st = CORUN_CANCELLED;
  j->status = (unsigned char)st;
  if ((st == CORUN_FAILED || st == CORUN_TIMEOUT) &&
      j->attempts <= pj->d.retries && !s->halted && !s->cancelled) {
    double delay = pj->d.retry_delay_s;
    if (pj->d.retry_backoff)
      for (unsigned k = 1; k < j->attempts; k++)
        delay *= 2;
    j->state = S_RETRY;
    if (s->r.defer(s->ctx, i, delay) == 0) {
      s->deferred++;
      note_t *n = note(s, i, j->attempts + 1, NOTE_RETRY);
      n->delay = delay;
      n->status = (unsigned char)st;
      return;
    }
    /* No timer to be had: the last outcome stands. */
  }
  finish(s, i, st, NOTE_END, 0);
  if (satisfied(s, i)) {
    release_dependents(s, i);
  } else {
    skip_dependents(s, i);
  }
  if (st == CORUN_OK)
    s->successes++;
  else if (!pj->d.allow_failure && st != CORUN_CANCELLED)
    s->failures++;
  check_halt(s);
}

void corun__sched_start(corun__sched_t *s) {
  s->started = true;
  for (size_t i = 0; i < s->n_jobs; i++)
    if (SJ(s, i)->state == S_WAITING && SJ(s, i)->unmet == 0)
      make_ready(s, i);
  settle(s);
}

void corun__sched_ended(corun__sched_t *s, size_t i, corun__end_t how) {
  if (SJ(s, i)->state != S_RUNNING)
    return;
  attempt_ended(s, i, how);
  settle(s);
}

void corun__sched_due(corun__sched_t *s, size_t i) {
  if (i == CORUN__NO_JOB) {
    s->pump_waiting = false;
    s->throttled = false;
  } else if (SJ(s, i)->state == S_RETRY) {
    s->deferred--;
    make_ready(s, i);
  }
  settle(s);
}

void corun__sched_cancel(corun__sched_t *s, bool kill_now) {
  if (s->ended)
    return;
  if (!s->cancelled) {
    s->cancelled = true;
    stop_starting(s, NOTE_RUN_CANCELLED);
  }
  stop_running(s, kill_now);
  settle(s);
}

void corun__sched_cancel_job(corun__sched_t *s, size_t i) {
  if (i >= s->n_jobs)
    return;
  sjob_t *j = SJ(s, i);
  switch (j->state) {
  case S_WAITING:
  case S_READY:
    skip(s, i, NOTE_CANCELLED, 0);
    skip_dependents(s, i);
    break;
  case S_RETRY:
    s->r.undefer(s->ctx, i);
    s->deferred--;
    finish(s, i, CORUN_CANCELLED, NOTE_END, 0);
    skip_dependents(s, i);
    break;
  case S_RUNNING:
    if (!j->stop_sent) {
      j->stop_sent = true;
      s->r.stop(s->ctx, i, false);
    }
    break;
  default:
    return; /* ended or not selected: nothing to do */
  }
  settle(s);
}

unsigned corun__sched_attempts(const corun__sched_t *s, size_t i) {
  return SJ(s, i)->attempts;
}

bool corun__sched_cancelled(const corun__sched_t *s) { return s->cancelled; }

int corun__sched_exit_code(const corun__sched_t *s) {
  if (s->success_halt && !s->cancelled)
    return 0;
  for (size_t i = 0; i < s->n_jobs; i++) {
    if (SJ(s, i)->state == S_IGNORED)
      continue;
    if (SJ(s, i)->state != S_DONE || !satisfied(s, i))
      return 1;
  }
  return 0;
}

/*
 * Open runs: the plan's newest job joins. A need that ended already is
 * judged as it ended; after a halt or a cancel the job is skipped. Room
 * grows by doubling, so adding costs O(1) amortised.
 */
int corun__sched_reserve(corun__sched_t *s, int pool) {
  size_t i = s->n_jobs;
  if (corun__svec_reserve(&s->jobs, i + 1) ||
      corun__grow(&s->stack, &s->stack_cap, i + 1, sizeof(size_t)) ||
      corun__grow(&s->ready.v, &s->ready_cap, i + 1, sizeof(size_t)) ||
      (pool >= 0 && corun__grow(&s->pool_ready[pool].v, &s->pool_cap[pool],
                                s->pool_jobs[pool] + 1, sizeof(size_t))))
    return UV_ENOMEM;
  return 0;
}

int corun__sched_add(corun__sched_t *s) {
  size_t i = s->n_jobs;
  const corun__job_t *pj = corun__pjob(s->plan, i);
  int pool = pj->pool;
  if (corun__sched_reserve(s, pool) != 0)
    return UV_ENOMEM;
  if (pool >= 0)
    s->pool_jobs[pool]++;
  s->n_jobs++;
  s->n_selected++;
  sjob_t *j = SJ(s, i);
  j->state = S_WAITING;
  if (s->halted || s->cancelled) {
    skip(s, i, s->halted ? NOTE_HALTED : NOTE_RUN_CANCELLED, 0);
  } else {
    for (size_t k = 0; k < pj->n_needs && j->state == S_WAITING; k++) {
      size_t t = pj->need_idx[k];
      if (SJ(s, t)->state != S_DONE)
        j->unmet++;
      else if (!satisfied(s, t))
        skip(s, i, NOTE_NEED, t);
    }
    if (j->state == S_WAITING && j->unmet == 0)
      make_ready(s, i);
  }
  if (s->started)
    settle(s);
  return 0;
}

void corun__sched_close_input(corun__sched_t *s) {
  s->open_input = false;
  if (s->started)
    settle(s);
}