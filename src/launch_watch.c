/*
 * The local launcher's watch over the attempts that run (the spawning,
 * stopping and suspending are in launch_local.c, what both share in
 * launch_local.h).
 *
 * One epoll instance on the caller's loop reports, for every attempt,
 * output to read on its two pipes and its exit on its pidfd; without
 * pidfds (kernels before 5.3, valgrind) exits are polled by one timer
 * instead. Once the main process exited, what it left in its process
 * group is asked to end and polled for until the kill grace is over, then
 * killed; what it left outside its group, where this process adopted it
 * as a child subreaper, is stopped at once (orphans.c). Each proc's one
 * timer serves its timeout, its kill grace and that polling. The attempt
 * is done, and the run told so with a decoded corun__exit_t, once it
 * exited, both pipes are closed and nothing of its group is left.
 */
#include "launch_local.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH 128

static void close_stream(proc_t *p, unsigned kind) {
  int *fd = kind == KIND_OUT ? &p->fd_out : &p->fd_err;
  if (*fd < 0)
    return;
  close(*fd);
  *fd = -1;
  p->l->cb.eof(p->l->ctx, p->job,
               kind == KIND_OUT ? CORUN_STDOUT : CORUN_STDERR);
}

/* Read what one readiness event offers (all there is, when draining);
 * EOF or a read error closes the stream. */
static void read_stream(proc_t *p, unsigned kind, bool drain) {
  local_t *l = p->l;
  corun_stream_t st = kind == KIND_OUT ? CORUN_STDOUT : CORUN_STDERR;
  for (;;) {
    int fd = kind == KIND_OUT ? p->fd_out : p->fd_err;
    if (fd < 0)
      return;
    ssize_t n = read(fd, l->buf, sizeof l->buf);
    if (n > 0) {
      l->cb.data(l->ctx, p->job, st, l->buf, (size_t)n);
      if (!drain)
        return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      close_stream(p, kind);
      return;
    }
  }
}

/*
 * Whether anything of the job's process group is left. Zombies count as
 * members until reaped; when this process is a child subreaper (the CLI
 * is), orphans of the job are our children, so the ones of this group are
 * reaped here first. Only this group's: an embedder's children are never
 * in it.
 */
static bool group_alive(const proc_t *p) {
  siginfo_t si;
  for (;;) {
    si.si_pid = 0;
    if (waitid(P_PGID, (id_t)p->pid, &si, WEXITED | WNOHANG) != 0 ||
        si.si_pid == 0)
      break;
  }
  return kill(-(pid_t)p->pid, 0) == 0 || errno == EPERM;
}

/* Reap the orphans killed so far that are gone; with `wait`, give them
 * up to 100 ms (SIGKILL is quick, a process in D state is not). */
void corun__local_reap_orphans(local_t *l, bool wait) {
  for (int round = 0; l->n_orphans > 0 && round < (wait ? 100 : 1); round++) {
    size_t k = 0;
    for (size_t i = 0; i < l->n_orphans; i++)
      if (waitpid((pid_t)l->orphans[i], NULL, WNOHANG) == 0)
        l->orphans[k++] = l->orphans[i];
    l->n_orphans = k;
    if (k > 0 && wait)
      usleep(1000);
  }
}

/* Stop what the attempt left outside its process group and we adopted. */
static void stop_orphans(proc_t *p) {
  local_t *l = p->l;
  if (l->children_fd < 0 || p->mark[0] == '\0')
    return;
  corun__local_reap_orphans(l, false);
  corun__orphans_stop(l->children_fd, p->mark, strlen(p->mark) + 1,
                      l->unreaped, l->orphans,
                      sizeof l->orphans / sizeof l->orphans[0], &l->n_orphans);
}

static void maybe_done(proc_t *p) {
  if (!p->exited || p->fd_out >= 0 || p->fd_err >= 0)
    return;
  if (!p->killed && p->draining && group_alive(p))
    return; /* the poll timer checks again */
  uv_timer_stop(&p->timer);
  /* Members of its group that lived on after the main process may have
   * left orphans of their own since. */
  if (p->draining || p->killed)
    stop_orphans(p);
  int ws = p->wstatus;
  corun__exit_t ex;
  ex.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  ex.signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  if (p->stop == STOP_TIMEOUT)
    ex.how = CORUN__END_TIMEOUT;
  else if (p->stop == STOP_REQUEST)
    ex.how = CORUN__END_STOPPED;
  else if (ex.exit_code == 0)
    ex.how = CORUN__END_OK;
  else
    ex.how = CORUN__END_FAILED;
  local_t *l = p->l;
  size_t job = p->job;
  /* Released first: it waits in limbo, so the callback may start more. */
  corun__local_release(p);
  l->cb.done(l->ctx, job, &ex);
}

static void on_timer(uv_timer_t *t);

/* While the launcher is suspended a timer is held, not started: a
 * suspension does not count towards timeouts or graces. */
void corun__local_arm(proc_t *p, uint64_t ms) {
  if (p->l->suspended) {
    p->held = true;
    p->held_ms = ms;
    return;
  }
  uv_timer_start(&p->timer, on_timer, ms, 0);
}

/* After the grace: nothing of the job may live on, and no pipe is awaited. */
static void give_up(proc_t *p) {
  corun__local_signal(p, SIGKILL);
  p->killed = true;
  if (p->exited) {
    read_stream(p, KIND_OUT, true);
    close_stream(p, KIND_OUT);
    read_stream(p, KIND_ERR, true);
    close_stream(p, KIND_ERR);
    maybe_done(p);
  }
}

static void on_timer(uv_timer_t *t) {
  proc_t *p = (proc_t *)((char *)t - offsetof(proc_t, timer));
  corun__local_reclaim(p->l);
  uint64_t now = uv_now(p->l->loop);
  if (!p->exited) {
    if (p->stop == STOP_NONE) {
      /* The timeout: ask politely first. */
      p->stop = STOP_TIMEOUT;
      corun__local_signal(p, SIGTERM);
      p->grace_deadline = now + corun__local_grace_ms(p);
      corun__local_arm(p, corun__local_grace_ms(p));
    } else {
      give_up(p); /* the grace is over: the pidfd reports the exit */
    }
    return;
  }
  if (p->killed || now >= p->grace_deadline) {
    give_up(p);
    return;
  }
  if (!group_alive(p)) {
    p->draining = p->fd_out >= 0 || p->fd_err >= 0;
    if (!p->draining) {
      maybe_done(p);
      return;
    }
    /* Only a pipe held by someone outside the group is left: wait for it
     * until the deadline. */
    corun__local_arm(p, p->grace_deadline - now);
    return;
  }
  p->poll_ms = p->poll_ms ? p->poll_ms * 2 : 1;
  if (p->poll_ms > 50)
    p->poll_ms = 50;
  uint64_t left = p->grace_deadline - now;
  corun__local_arm(p, p->poll_ms < left ? p->poll_ms : left);
}

static void on_exit_ready(proc_t *p) {
  int st = 0;
  pid_t r = waitpid((pid_t)p->pid, &st, WNOHANG);
  if (r == 0)
    return;
  if (r < 0) {
    if (errno == EINTR)
      return;
    st = 255 << 8; /* reaped by someone else: the status is lost */
  }
  p->wstatus = st;
  p->exited = true;
  p->l->unreaped--;
  if (p->pidfd >= 0)
    close(p->pidfd);
  p->pidfd = -1;
  if (p->polled) {
    p->polled = false;
    p->l->n_polled--;
  }
  uv_timer_stop(&p->timer);
  uint64_t now = uv_now(p->l->loop);
  bool stopping = p->stop != STOP_NONE;
  if (!stopping)
    p->grace_deadline = now + corun__local_grace_ms(p);
  /* What the job left outside its group, where we adopted it, goes now:
   * it may hold the pipes. What it left in its group gets the grace. */
  stop_orphans(p);
  /* Whatever the job left in its group gets the same treatment. */
  bool survivors = !p->killed && kill(-(pid_t)p->pid, SIGTERM) == 0 &&
                   group_alive(p);
  if (survivors || p->fd_out >= 0 || p->fd_err >= 0) {
    p->draining = survivors;
    if (p->killed) {
      give_up(p);
      return;
    }
    if (now >= p->grace_deadline) {
      give_up(p);
      return;
    }
    /* Poll the group for its end; with no group left, a pipe held by
     * someone outside it is awaited until the deadline. */
    p->poll_ms = 0;
    corun__local_arm(p, survivors ? 1 : p->grace_deadline - now);
  }
  maybe_done(p);
}

/* Exits of procs without a pidfd, polled: every 1 ms at first, backing off
 * to 20 ms while nothing ends. */
void corun__local_on_reap(uv_timer_t *t) {
  local_t *l = t->data;
  corun__local_reclaim(l);
  unsigned before = l->n_polled;
  for (size_t i = 0; i < l->n_slots && l->n_polled > 0; i++) {
    proc_t *p = l->slots[i];
    if (p->polled && !p->exited)
      on_exit_ready(p);
  }
  if (l->n_polled == 0) {
    uv_timer_stop(&l->reap);
    return;
  }
  l->reap_ms = l->n_polled < before ? 1 : (l->reap_ms * 2 > 20 ? 20 : l->reap_ms * 2);
  uv_timer_start(&l->reap, corun__local_on_reap, l->reap_ms, 0);
}

void corun__local_on_epoll(uv_poll_t *h, int status, int events) {
  local_t *l = h->data;
  (void)events;
  if (status < 0)
    return;
  corun__local_reclaim(l);
  struct epoll_event ev[BATCH];
  int n = epoll_wait(l->epfd, ev, BATCH, 0);
  for (int i = 0; i < n; i++) {
    uint64_t u = ev[i].data.u64;
    proc_t *p = l->slots[u >> 2];
    unsigned kind = (unsigned)(u & 3);
    if (kind == KIND_PID) {
      if (p->pidfd >= 0)
        on_exit_ready(p);
    } else {
      int fd = kind == KIND_OUT ? p->fd_out : p->fd_err;
      if (fd >= 0) {
        read_stream(p, kind, false);
        maybe_done(p);
      }
    }
  }
}
