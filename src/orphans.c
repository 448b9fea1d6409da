/*
 * Processes a job left behind outside its process group: a daemon that
 * called setsid(), a double fork. Every job's environment carries
 * CORUN_JOB_ID=TOKEN:JOB, which its descendants inherit. When this process
 * is a child subreaper (the command line is), such orphans become our
 * children once their parent exits, and are found among our children by
 * that entry; a watchdog (watchdog.c) finds them anywhere on the system by
 * the token. An embedder that is not a subreaper gets the process group
 * alone: what left it is not stopped.
 *
 * Only system calls here: the watchdog runs this code in a forked child
 * of a possibly multithreaded program, where malloc and stdio are unsafe.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether the environment of `pid` holds an entry starting with `mark`. */
bool corun__proc_marked(long pid, const char *mark, size_t mark_len) {
  char path[64], buf[8192];
  /* snprintf is not async-signal-safe; build the path by hand. */
  char digits[24];
  int nd = 0;
  for (long v = pid; v > 0 && nd < 20; v /= 10)
    digits[nd++] = (char)('0' + v % 10);
  memcpy(path, "/proc/", 6);
  size_t k = 6;
  while (nd > 0)
    path[k++] = digits[--nd];
  memcpy(path + k, "/environ", 9);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  /* Entries are NUL-separated; keep the tail of each read so that an entry
   * cut by the buffer's end is still seen whole. */
  size_t have = 0;
  bool at_start = true, found = false;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n <= 0)
      break;
    have += (size_t)n;
    size_t i = 0;
    while (i < have) {
      char *nul = memchr(buf + i, '\0', have - i);
      if (nul == NULL)
        break;
      /* mark_len may count a NUL, for an exact match of the entry. */
      if (at_start && (size_t)(nul - (buf + i)) + 1 >= mark_len &&
          memcmp(buf + i, mark, mark_len) == 0) {
        found = true;
        break;
      }
      at_start = true;
      i = (size_t)(nul - buf) + 1;
    }
    if (found)
      break;
    /* Keep an unfinished entry's start, or drop a long one's middle. */
    if (i == 0 && have == sizeof buf) {
      at_start = false;
      have = 0;
    } else {
      memmove(buf, buf + i, have - i);
      have -= i;
    }
  }
  close(fd);
  return found;
}

void corun__proc_kill_tree(long pid) {
  kill(-(pid_t)pid, SIGKILL); /* when it leads a group of its own */
  kill((pid_t)pid, SIGKILL);
}

int corun__orphans_open(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
  return open(path, O_RDONLY | O_CLOEXEC);
}

size_t corun__orphans_stop(int children_fd, const char *mark, size_t mark_len,
                           size_t ours, long *reap, size_t reap_cap,
                           size_t *n_reap) {
  char buf[4096];
  /* One system call: the file is generated anew at each read from 0. */
  ssize_t n = pread(children_fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  size_t children = 0;
  for (char *p = buf; *p; p++)
    children += *p == ' ';
  /* Only our own jobs' main processes: nothing was adopted. A list cut
   * at the buffer's end is read as it is: what it missed is caught at the
   * next check or by the final sweep. */
  if (children <= ours)
    return 0;
  size_t stopped = 0;
  for (char *p = buf; *p;) {
    char *end;
    long pid = strtol(p, &end, 10);
    if (end == p)
      break;
    p = *end ? end + 1 : end;
    if (pid > 0 && corun__proc_marked(pid, mark, mark_len)) {
      corun__proc_kill_tree(pid);
      stopped++;
      if (*n_reap < reap_cap)
        reap[(*n_reap)++] = pid;
    }
  }
  return stopped;
}
