/*
 * The local launcher: jobs as child processes.
 *
 * Each attempt is spawned with posix_spawn (glibc spawns with
 * clone(CLONE_VM|CLONE_VFORK), so its cost does not grow with the memory
 * of the embedding program, unlike fork) into a new session, so its
 * process group holds everything it starts. Its stdout and stderr are
 * O_CLOEXEC pipes, its exit is watched through a pidfd: no SIGCHLD
 * handler, and no waitpid on any pid but our own, so an embedder's
 * children are never reaped here.
 *
 * All descriptors of all attempts sit in one private epoll instance, and
 * that instance sits on the caller's loop as a single uv_poll_t: starting
 * a job adds three descriptors to it and creates no libuv handle, so a job
 * costs no handle setup or close round trip. Each proc keeps one uv_timer_t
 * for its timeout, its kill grace and the polling of its process group
 * after the main process exited; procs are pooled and reused.
 *
 * This is the backend "local" of the launcher interface (internal.h): the
 * run sees a proc only as an opaque handle, and an attempt's end only as a
 * decoded corun__exit_t. This file opens and closes the launcher, keeps
 * the pool of procs, and spawns, stops, pauses and suspends attempts;
 * launch_watch.c watches them while they run and ends them, and
 * launch_local.h holds what the two share.
 */
#include "launch_local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int local_open(corun__launcher_t **out, uv_loop_t *loop,
                      const corun__launch_cb_t *cb, void *ctx) {
  *out = NULL;
  local_t *l = calloc(1, sizeof *l);
  if (l == NULL)
    return UV_ENOMEM;
  l->base.ops = &corun__launch_local;
  l->loop = loop;
  int reaper = 0;
  l->subreaper = prctl(PR_GET_CHILD_SUBREAPER, &reaper) == 0 && reaper;
  l->children_fd = -1;
  l->cb = *cb;
  l->ctx = ctx;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  l->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  /* Optional, so opened after what is not. */
  if (l->subreaper)
    l->children_fd = corun__orphans_open();
  int rc = 0;
  if (l->epfd < 0 || l->devnull < 0) {
    rc = uv_translate_sys_error(errno);
    goto fail;
  }
  /*
   * Children start with an empty signal mask and every signal that is
   * ignored here back at its default: the CLI ignores SIGPIPE, and a job
   * must not inherit that.
   */
  sigset_t empty, dflt;
  sigemptyset(&empty);
  sigemptyset(&dflt);
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction sa;
    if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
        sa.sa_handler == SIG_IGN)
      sigaddset(&dflt, sig);
  }
  posix_spawnattr_init(&l->attr);
  posix_spawnattr_setflags(&l->attr, POSIX_SPAWN_SETSID |
                                         POSIX_SPAWN_SETSIGMASK |
                                         POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&l->attr, &empty);
  posix_spawnattr_setsigdefault(&l->attr, &dflt);
  if ((rc = uv_poll_init(loop, &l->poll, l->epfd)) != 0) {
    posix_spawnattr_destroy(&l->attr);
    goto fail;
  }
  l->poll.data = l;
  uv_timer_init(loop, &l->reap);
  l->reap.data = l;
  rc = uv_poll_start(&l->poll, UV_READABLE, corun__local_on_epoll);
  if (rc != 0) {
    /* The handle is closed by the caller through close(). */
    *out = &l->base;
    return rc;
  }
  *out = &l->base;
  return 0;
fail:
  if (l->children_fd >= 0)
    close(l->children_fd);
  if (l->epfd >= 0)
    close(l->epfd);
  if (l->devnull >= 0)
    close(l->devnull);
  free(l);
  return rc;
}

static void launcher_closed_one(uv_handle_t *h) {
  local_t *l = h->data;
  if (--l->closing > 0)
    return;
  corun__local_reap_orphans(l, true);
  if (l->children_fd >= 0)
    close(l->children_fd);
  for (size_t i = 0; i < l->n_slots; i++)
    free(l->slots[i]);
  free(l->slots);
  close(l->epfd);
  close(l->devnull);
  posix_spawnattr_destroy(&l->attr);
  void (*cb)(void *) = l->close_cb;
  void *arg = l->close_arg;
  free(l);
  if (cb)
    cb(arg);
}

static void local_close(corun__launcher_t *base, void (*close_cb)(void *),
                        void *arg) {
  local_t *l = (local_t *)base;
  l->close_cb = close_cb;
  l->close_arg = arg;
  l->closing = 2; /* the poll handle and the reap timer */
  uv_close((uv_handle_t *)&l->reap, launcher_closed_one);
  for (size_t i = 0; i < l->n_slots; i++) {
    l->slots[i]->timer.data = l;
    l->closing++;
    uv_close((uv_handle_t *)&l->slots[i]->timer, launcher_closed_one);
  }
  uv_close((uv_handle_t *)&l->poll, launcher_closed_one);
}

/*
 * Procs released during a callback wait in limbo until the next callback
 * begins, so that a proc is never reused while a caller up the stack (an
 * epoll batch, say) may still look at it.
 */
void corun__local_reclaim(local_t *l) {
  while (l->limbo != NULL) {
    proc_t *p = l->limbo;
    l->limbo = p->next_free;
    p->next_free = l->free_list;
    l->free_list = p;
  }
}

static proc_t *proc_get(local_t *l) {
  proc_t *p = l->free_list;
  if (p != NULL) {
    l->free_list = p->next_free;
  } else {
    if (corun__grow(&l->slots, &l->cap_slots, l->n_slots + 1,
                    sizeof *l->slots))
      return NULL;
    p = calloc(1, sizeof *p);
    if (p == NULL)
      return NULL;
    if (uv_timer_init(l->loop, &p->timer) != 0) {
      free(p);
      return NULL;
    }
    p->slot = (unsigned)l->n_slots;
    l->slots[l->n_slots++] = p;
  }
  p->l = l;
  p->job = 0;
  p->pid = 0;
  p->pidfd = p->fd_out = p->fd_err = -1;
  p->wstatus = 0;
  p->exited = p->killed = p->draining = p->polled = false;
  p->stop = STOP_NONE;
  p->grace_deadline = 0;
  p->poll_ms = 0;
  p->next_free = NULL;
  l->live++;
  return p;
}

/* Give a done proc back; its memory is reused by later spawns. */
void corun__local_release(proc_t *p) {
  local_t *l = p->l;
  uv_timer_stop(&p->timer);
  p->spawned = p->held = false;
  p->next_free = l->limbo;
  l->limbo = p;
  l->live--;
}

static int set_fd(local_t *l, int op, int fd, unsigned slot,
                  unsigned kind) {
  struct epoll_event ev;
  /* Paused, an output pipe is watched only for its hangup, which epoll
   * reports whatever was asked. */
  ev.events = kind != KIND_PID && l->paused ? 0 : EPOLLIN;
  ev.data.u64 = ((uint64_t)slot << 2) | kind;
  return epoll_ctl(l->epfd, op, fd, &ev);
}

static int add_fd(local_t *l, int fd, unsigned slot, unsigned kind) {
  return set_fd(l, EPOLL_CTL_ADD, fd, slot, kind);
}

static void local_pause(corun__launcher_t *base, bool paused) {
  local_t *l = (local_t *)base;
  if (l->paused == paused)
    return;
  l->paused = paused;
  for (size_t i = 0; i < l->n_slots; i++) {
    proc_t *p = l->slots[i];
    if (p->fd_out >= 0)
      set_fd(l, EPOLL_CTL_MOD, p->fd_out, p->slot, KIND_OUT);
    if (p->fd_err >= 0)
      set_fd(l, EPOLL_CTL_MOD, p->fd_err, p->slot, KIND_ERR);
  }
}

static bool out_of_resources(int e) {
  return e == EMFILE || e == ENFILE || e == EAGAIN || e == ENOMEM;
}

static int local_start(corun__launcher_t *base, const corun__attempt_t *sp,
                       void **out, long *pid_out, char *why, size_t why_len) {
  local_t *l = (local_t *)base;
  int po[2] = {-1, -1}, pe[2] = {-1, -1}, in = -1;
  int e = 0;
  posix_spawn_file_actions_t fa;
  bool fa_ok = false;
  proc_t *p = NULL;
  char **env = NULL;
  *out = NULL;

  if ((sp->env != NULL || sp->mark != NULL) &&
      (env = corun__launch_env(environ, sp->env, sp->mark)) == NULL) {
    e = ENOMEM;
    goto fail;
  }
  if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
    e = errno;
    goto fail;
  }
  /* Our ends do not block; the job's ends do, as programs expect. */
  if (fcntl(po[0], F_SETFL, O_NONBLOCK) != 0 ||
      fcntl(pe[0], F_SETFL, O_NONBLOCK) != 0) {
    e = errno;
    goto fail;
  }
  if (sp->stdin_text != NULL) {
    /* A memfd, not a pipe: the job reads it at its own pace, sees EOF at
     * its end, and nothing here can block or get SIGPIPE writing it. */
    in = memfd_create("corun-stdin", MFD_CLOEXEC);
    size_t len = strlen(sp->stdin_text), off = 0;
    if (in < 0) {
      e = errno;
      goto fail;
    }
    while (off < len) {
      ssize_t w = write(in, sp->stdin_text + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0) {
        e = errno;
        goto fail;
      }
      off += (size_t)w;
    }
    lseek(in, 0, SEEK_SET);
  }
  if ((p = proc_get(l)) == NULL) {
    e = ENOMEM;
    goto fail;
  }
  posix_spawn_file_actions_init(&fa);
  fa_ok = true;
  if (posix_spawn_file_actions_adddup2(&fa, in >= 0 ? in : l->devnull, 0) ||
      posix_spawn_file_actions_adddup2(&fa, po[1], 1) ||
      posix_spawn_file_actions_adddup2(&fa, pe[1], 2) ||
      (sp->cwd && posix_spawn_file_actions_addchdir_np(&fa, sp->cwd)) ||
      posix_spawn_file_actions_addclosefrom_np(&fa, 3)) {
    e = ENOMEM;
    goto fail;
  }
  pid_t pid;
  char *const *envp = env ? env : environ;
  const char *path = corun__launch_job_path(sp->env);
  if (path == NULL) {
    e = posix_spawnp(&pid, sp->argv[0], &fa, &l->attr, (char *const *)sp->argv,
                     envp);
  } else {
    /* The job sets its own PATH: that PATH decides, as for the shell. */
    char found[PATH_MAX];
    e = corun__launch_search_path(sp->argv[0], path, sp->cwd, found,
                                  sizeof found);
    if (e == 0)
      e = posix_spawn(&pid, found, &fa, &l->attr, (char *const *)sp->argv,
                      envp);
  }
  posix_spawn_file_actions_destroy(&fa);
  fa_ok = false;
  free(env);
  env = NULL;
  if (e != 0)
    goto fail;
  close(po[1]);
  close(pe[1]);
  po[1] = pe[1] = -1;
  if (in >= 0)
    close(in);
  in = -1;
  p->pid = pid;
  p->job = sp->job;
  p->spawned = true;
  l->unreaped++;
  if (l->suspended)
    kill(-(pid_t)pid, SIGSTOP); /* it joins the others where they stand */
  snprintf(p->mark, sizeof p->mark, "%s", sp->mark ? sp->mark : "");
  p->kill_grace = sp->kill_grace_s > 0 ? sp->kill_grace_s : CORUN_DEFAULT_KILL_GRACE;
  p->fd_out = po[0];
  p->fd_err = pe[0];
  /* Two descriptors were just closed, so this one can be had. */
  p->pidfd = l->no_pidfd ? -1 : pidfd_open(pid, 0);
  if (p->pidfd < 0 && (l->no_pidfd || errno == ENOSYS)) {
    l->no_pidfd = true;
    p->polled = true;
    l->n_polled++;
    if (!uv_is_active((uv_handle_t *)&l->reap)) {
      l->reap_ms = 1;
      uv_timer_start(&l->reap, corun__local_on_reap, 1, 0);
    }
  }
  if ((p->pidfd < 0 && !p->polled) ||
      (p->pidfd >= 0 && add_fd(l, p->pidfd, p->slot, KIND_PID) != 0) ||
      add_fd(l, p->fd_out, p->slot, KIND_OUT) != 0 ||
      add_fd(l, p->fd_err, p->slot, KIND_ERR) != 0) {
    e = errno;
    /* Without a watch on it the child cannot be let run. */
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    l->unreaped--;
    if (p->pidfd >= 0)
      close(p->pidfd);
    p->pidfd = -1;
    if (p->polled) {
      p->polled = false;
      l->n_polled--;
    }
    close(p->fd_out);
    close(p->fd_err);
    p->fd_out = p->fd_err = -1;
    corun__local_release(p);
    snprintf(why, why_len, "cannot watch the process: %s", strerror(e));
    return out_of_resources(e) ? CORUN__START_LATER : uv_translate_sys_error(e);
  }
  if (sp->timeout_s > 0) {
    double ms = sp->timeout_s * 1000.0;
    corun__local_arm(p, ms < 1 ? 1 : (uint64_t)ms);
  }
  *out = p;
  *pid_out = pid;
  return 0;

fail:
  free(env);
  if (fa_ok)
    posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 2; i++) {
    if (po[i] >= 0)
      close(po[i]);
    if (pe[i] >= 0)
      close(pe[i]);
  }
  if (in >= 0)
    close(in);
  if (p != NULL)
    corun__local_release(p);
  if (out_of_resources(e)) {
    snprintf(why, why_len, "%s", strerror(e));
    return CORUN__START_LATER;
  }
  if (sp->cwd != NULL && (e == ENOENT || e == ENOTDIR || e == EACCES) &&
      access(sp->cwd, X_OK) != 0)
    snprintf(why, why_len, "cwd %s: %s", sp->cwd, strerror(errno));
  else
    snprintf(why, why_len, "%s: %s", sp->argv[0], strerror(e));
  return uv_translate_sys_error(e);
}

static void local_stop(corun__launcher_t *base, void *handle, bool kill_now) {
  proc_t *p = handle;
  (void)base;
  if (kill_now) {
    if (p->stop == STOP_NONE)
      p->stop = STOP_REQUEST;
    /* The pipes are drained and closed from the timer, never from inside
     * a callback that may be reading them right now. */
    corun__local_signal(p, SIGKILL);
    p->killed = true;
    if (p->exited)
      corun__local_arm(p, 0);
    return;
  }
  if (p->stop != STOP_NONE)
    return;
  p->stop = STOP_REQUEST;
  if (p->exited)
    return; /* already draining against its own deadline */
  corun__local_signal(p, SIGTERM);
  p->grace_deadline = uv_now(p->l->loop) + corun__local_grace_ms(p);
  corun__local_arm(p, corun__local_grace_ms(p));
}

/*
 * Suspension (the command line's Ctrl-Z): every job's process group gets
 * SIGSTOP and every timer is held with what was left of it; resuming
 * sends SIGCONT and restarts the timers, with the grace deadlines moved
 * by the time spent suspended.
 */
static void local_suspend(corun__launcher_t *base, bool suspended) {
  local_t *l = (local_t *)base;
  if (l->suspended == suspended)
    return;
  uint64_t now = uv_now(l->loop);
  if (suspended)
    l->suspended_at = now;
  l->suspended = suspended;
  for (size_t i = 0; i < l->n_slots; i++) {
    proc_t *p = l->slots[i];
    if (!p->spawned)
      continue;
    if (suspended) {
      corun__local_signal(p, SIGSTOP);
      if (uv_is_active((uv_handle_t *)&p->timer)) {
        p->held = true;
        p->held_ms = uv_timer_get_due_in(&p->timer);
        uv_timer_stop(&p->timer);
      }
    } else {
      if (p->grace_deadline)
        p->grace_deadline += now - l->suspended_at;
      corun__local_signal(p, SIGCONT);
      if (p->held) {
        p->held = false;
        corun__local_arm(p, p->held_ms);
      }
    }
  }
}

const corun__launcher_ops_t corun__launch_local = {
    "local", local_open, local_close, local_start, local_stop, local_pause,
    local_suspend,
};
