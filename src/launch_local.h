/*
 * What the local launcher's two files share, and nothing outside them
 * includes. launch_local.c is the backend as the run sees it: opening and
 * closing it, the pool of procs, and spawning, stopping, pausing and
 * suspending attempts. launch_watch.c watches the attempts that run: it
 * reads their output and hears of their exits through the epoll instance
 * (or polls for them where there is no pidfd), polls a process group that
 * outlives its main process, and runs each attempt's timer for its
 * timeout and kill grace, until it tells the run the attempt is done.
 */
#ifndef CORUN_LAUNCH_LOCAL_H
#define CORUN_LAUNCH_LOCAL_H

#include "internal.h"

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define READ_BUF (64 * 1024)
/* What an epoll event is about: its data is (slot << 2) | kind. */
#define KIND_PID 0u
#define KIND_OUT 1u
#define KIND_ERR 2u

typedef struct local_s local_t;

typedef enum { STOP_NONE, STOP_TIMEOUT, STOP_REQUEST } stop_t;

/* One attempt: a child process, its two pipes and its pidfd. */
typedef struct proc_s {
  local_t *l;
  size_t job;
  long pid;
  int pidfd, fd_out, fd_err;
  int wstatus;             /* valid once exited */
  bool exited, killed, draining;
  bool polled;             /* no pidfd: its exit is polled by a timer */
  stop_t stop;             /* why corun stopped it, if it did */
  double kill_grace;
  uint64_t grace_deadline; /* uv_now() ms */
  unsigned poll_ms;
  char mark[CORUN__MARK_MAX]; /* its CORUN_JOB_ID entry, "" when none */
  bool spawned;            /* its process exists (until released) */
  bool held;               /* its timer waits for the end of a suspension */
  uint64_t held_ms;        /* what was left of that timer */
  uv_timer_t timer;        /* timeout, grace and group polling */
  unsigned slot;
  struct proc_s *next_free;
} proc_t;

struct local_s {
  corun__launcher_t base;
  uv_loop_t *loop;
  corun__launch_cb_t cb;
  void *ctx;
  int epfd;
  int devnull;
  uv_poll_t poll;
  /* Without pidfds (kernels before 5.3, valgrind): exits are polled. */
  uv_timer_t reap;
  bool no_pidfd;
  bool paused; /* output is not read (EOF and errors still are) */
  bool suspended; /* every job stopped (SIGSTOP), every clock held */
  uint64_t suspended_at; /* uv_now() */
  /* A child subreaper adopts what jobs leave behind (orphans.c). */
  bool subreaper;
  int children_fd;  /* our list of children, when a subreaper */
  size_t unreaped;  /* main processes spawned and not reaped */
  long orphans[64]; /* orphans killed, not reaped yet */
  size_t n_orphans;
  unsigned n_polled;
  unsigned reap_ms;
  posix_spawnattr_t attr;
  proc_t **slots;
  size_t n_slots, cap_slots;
  proc_t *free_list;
  proc_t *limbo;
  unsigned live; /* procs spawned and not released */
  unsigned closing;
  void (*close_cb)(void *);
  void *close_arg;
  char buf[READ_BUF];
};

/* ---- the pool of procs (launch_local.c) ---------------------------------- */

/* Move the procs released during earlier callbacks to the free list: each
 * callback of the launcher calls this first. */
void corun__local_reclaim(local_t *l);
/* Give a done proc back; it waits in limbo until the next callback. */
void corun__local_release(proc_t *p);

/* ---- watching attempts (launch_watch.c) ---------------------------------- */

/* The epoll instance is readable: read output, take exits. */
void corun__local_on_epoll(uv_poll_t *h, int status, int events);
/* The reap timer: take the exits of procs without a pidfd. */
void corun__local_on_reap(uv_timer_t *t);
/* Start the proc's timer (held instead while the launcher is suspended). */
void corun__local_arm(proc_t *p, uint64_t ms);
/* Reap the orphans killed so far that are gone (with `wait`, give them a
 * little time). */
void corun__local_reap_orphans(local_t *l, bool wait);

/* The kill grace in milliseconds, at least 1. */
static inline uint64_t corun__local_grace_ms(const proc_t *p) {
  double ms = p->kill_grace * 1000.0;
  return ms < 1 ? 1 : (uint64_t)ms;
}

/* Signal the attempt's whole process group. */
static inline void corun__local_signal(proc_t *p, int sig) {
  kill(-(pid_t)p->pid, sig); /* ESRCH: nothing of it is left */
}

#endif /* CORUN_LAUNCH_LOCAL_H */
