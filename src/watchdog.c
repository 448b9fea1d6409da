/*
 * The watchdog: jobs die with corun, even when corun dies by SIGKILL (the
 * OOM killer, a CI runner's hard stop). At the start of a run that asks
 * for it, a small process is forked that holds the read end of a pipe
 * whose write end only this process holds (close-on-exec, so no job
 * inherits it). When this process ends, however it ends, the kernel
 * closes the write end; the watchdog reads EOF and kills every process
 * whose environment carries the run's token (CORUN_JOB_ID=TOKEN:...),
 * wherever it went (its own session, a double fork), scanning /proc until
 * none is left. A run that ends normally stopped its jobs already: the
 * watchdog finds nothing and exits.
 *
 * It costs nothing per job: one fork per run, one descriptor, and the
 * scan only when the run's process is gone. It works without root,
 * cgroups or systemd; it misses a process that cleared its environment
 * and left the job's process group.
 *
 * The watchdog is forked twice so that init adopts it, not us (the
 * command line is a child subreaper, and would otherwise count it among
 * the orphans of its jobs). The forked code uses system calls only.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The kernel's record for getdents64; glibc 2.36 has no wrapper. */
struct dirent64_raw {
  unsigned long long d_ino;
  long long d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Kill every marked process once; how many were found. */
static unsigned sweep(const char *mark, size_t mark_len, pid_t self) {
  unsigned found = 0;
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return 0;
  char buf[8192];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
      off += d->d_reclen;
      long pid = 0;
      const char *c = d->d_name;
      for (; *c >= '0' && *c <= '9'; c++)
        pid = pid * 10 + (*c - '0');
      if (*c != '\0' || pid <= 0 || pid == self)
        continue;
      if (corun__proc_marked(pid, mark, mark_len)) {
        corun__proc_kill_tree(pid);
        found++;
      }
    }
  }
  close(dir);
  return found;
}

extern char **environ;

static void watch(int fd, const char *mark, size_t mark_len) {
  /* A corun run as a job of another carries that job's mark: the outer
   * corun must not take this watchdog for an orphan of its job, nor its
   * sweep kill it before it swept. /proc/PID/environ shows the bytes of
   * the environment block, so the entry is renamed in place. */
  for (char **e = environ; *e != NULL; e++)
    if (strncmp(*e, CORUN__MARK_VAR, sizeof CORUN__MARK_VAR - 1) == 0)
      (*e)[0] = 'X';
  static const int quiet[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                              SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
    signal(quiet[i], SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Out of the terminal's reach, holding nothing of the run but its pipe. */
  setsid();
  if (fd != 3) {
    dup2(fd, 3);
    fd = 3;
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int k = 0; k < 3; k++)
    dup2(null >= 0 ? null : fd, k);
  syscall(SYS_close_range, 4u, ~0u, 0u);
  char b[64];
  for (;;) {
    ssize_t n = read(fd, b, sizeof b);
    if (n == 0 || (n < 0 && errno != EINTR))
      break;
  }
  pid_t self = getpid();
  struct timespec pause = {0, 20 * 1000 * 1000};
  /* A process may fork while we look: look again until nothing is left,
   * for at most about a second. */
  for (int round = 0; round < 50 && sweep(mark, mark_len, self) > 0; round++)
    nanosleep(&pause, NULL);
}

int corun__watchdog_start(const char *mark) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return uv_translate_sys_error(errno);
  size_t mark_len = strlen(mark);
  int was = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &was);
  if (was)
    prctl(PR_SET_CHILD_SUBREAPER, 0);
  pid_t mid = fork();
  if (mid == 0) {
    close(p[1]);
    if (fork() == 0) {
      watch(p[0], mark, mark_len);
      _exit(0);
    }
    _exit(0);
  }
  int e = mid < 0 ? errno : 0;
  close(p[0]);
  if (mid > 0)
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
      ;
  if (was)
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (e != 0) {
    close(p[1]);
    return uv_translate_sys_error(e);
  }
  return p[1];
}
