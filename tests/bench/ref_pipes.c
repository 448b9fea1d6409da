/*
 * ref_pipes — the floor for spawning with captured output: posix_spawn, a
 * pipe per stream (pipe2 O_CLOEXEC), one epoll loop reading everything.
 *
 *   ref_pipes [-n N] [-j J] [--log-dir DIR] [--no-setsid] -- CMD [ARG...]
 *
 * Runs CMD N times (default 1), at most J at once (default 1). Each child
 * gets /dev/null as stdin, its own stdout pipe and stderr pipe, and a
 * session of its own (POSIX_SPAWN_SETSID, as corun gives every job). Exits
 * are watched with a pidfd in the same epoll set. Output is read in 64 KiB
 * chunks and discarded, or with --log-dir written to DIR/job-K.out and
 * DIR/job-K.err (K from 1, the names corun gives unnamed jobs). A job is
 * done when both pipes reached EOF and it was reaped. Exits 1 when a child
 * failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

struct slot {
  int busy;
  pid_t pid;
  int pidfd;      /* -1 once reaped */
  int rd[2];      /* read ends of stdout, stderr; -1 at EOF */
  int out[2];     /* log files, or -1 */
};

static char buf[1 << 16];

static void fail(const char *what) {
  fprintf(stderr, "ref_pipes: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      fail("write");
    }
    p += k;
    len -= (size_t)k;
  }
}

int main(int argc, char **argv) {
  long n = 1, j = 1;
  const char *log_dir = NULL;
  int setsid_flag = 1;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
      n = strtol(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
      j = strtol(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "--log-dir") && i + 1 < argc) {
      log_dir = argv[++i];
    } else if (!strcmp(argv[i], "--no-setsid")) {
      setsid_flag = 0;
    } else if (argv[i][0] == '-') {
      break; /* usage below */
    } else {
      break;
    }
  }
  if (i >= argc || argv[i][0] == '-' || n < 0 || j < 1) {
    fprintf(stderr, "usage: ref_pipes [-n N] [-j J] [--log-dir DIR] "
                    "[--no-setsid] -- CMD [ARG...]\n");
    return 2;
  }
  char **cmd = argv + i;
  if (log_dir && mkdir(log_dir, 0755) < 0 && errno != EEXIST)
    fail(log_dir);

  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0)
    fail("/dev/null");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    fail("epoll_create1");
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  if (setsid_flag)
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);

  struct slot *slots = calloc((size_t)j, sizeof *slots);
  if (!slots)
    fail("calloc");
  long started = 0, running = 0;
  int failed = 0;
  struct epoll_event evs[64];

  while (started < n || running > 0) {
    /* Fill free slots. */
    for (long s = 0; s < j && started < n; s++) {
      struct slot *sl = &slots[s];
      if (sl->busy)
        continue;
      int po[2], pe[2];
      if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
        fail("pipe2");
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, devnull, 0);
      posix_spawn_file_actions_adddup2(&fa, po[1], 1);
      posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
      pid_t pid;
      int e = posix_spawnp(&pid, cmd[0], &fa, &at, cmd, environ);
      posix_spawn_file_actions_destroy(&fa);
      if (e) {
        errno = e;
        fail(cmd[0]);
      }
      close(po[1]);
      close(pe[1]);
      started++;
      running++;
      sl->busy = 1;
      sl->pid = pid;
      sl->rd[0] = po[0];
      sl->rd[1] = pe[0];
      sl->out[0] = sl->out[1] = -1;
      if (log_dir) {
        char path[4096];
        for (int k = 0; k < 2; k++) {
          snprintf(path, sizeof path, "%s/job-%ld.%s", log_dir, started,
                   k ? "err" : "out");
          sl->out[k] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
          if (sl->out[k] < 0)
            fail(path);
        }
      }
      sl->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      if (sl->pidfd < 0)
        fail("pidfd_open");
      int fds[3] = {sl->rd[0], sl->rd[1], sl->pidfd};
      for (int k = 0; k < 3; k++) {
        if (k < 2 && fcntl(fds[k], F_SETFL, O_NONBLOCK) < 0)
          fail("fcntl");
        struct epoll_event ev = {.events = EPOLLIN,
                                 .data.u64 = ((uint64_t)s << 2) | (uint64_t)k};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[k], &ev) < 0)
          fail("epoll_ctl");
      }
    }

    int ne = epoll_wait(ep, evs, 64, -1);
    if (ne < 0) {
      if (errno == EINTR)
        continue;
      fail("epoll_wait");
    }
    for (int e = 0; e < ne; e++) {
      struct slot *sl = &slots[evs[e].data.u64 >> 2];
      int k = (int)(evs[e].data.u64 & 3);
      if (k < 2) {
        int fd = sl->rd[k];
        if (fd < 0)
          continue;
        for (;;) { /* drain what is there now */
          ssize_t got = read(fd, buf, sizeof buf);
          if (got > 0) {
            if (sl->out[k] >= 0)
              write_all(sl->out[k], buf, (size_t)got);
            if ((size_t)got < sizeof buf)
              break;
            continue;
          }
          if (got < 0 && errno == EINTR)
            continue;
          if (got < 0 && errno == EAGAIN)
            break;
          /* EOF or error: this stream is done */
          close(fd); /* also leaves the epoll set */
          sl->rd[k] = -1;
          if (sl->out[k] >= 0) {
            close(sl->out[k]);
            sl->out[k] = -1;
          }
          break;
        }
      } else if (sl->pidfd >= 0) {
        int st;
        while (waitpid(sl->pid, &st, 0) < 0)
          if (errno != EINTR)
            fail("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
          failed = 1;
        close(sl->pidfd);
        sl->pidfd = -1;
      }
      if (sl->busy && sl->pidfd < 0 && sl->rd[0] < 0 && sl->rd[1] < 0) {
        sl->busy = 0;
        running--;
      }
    }
  }
  return failed;
}
