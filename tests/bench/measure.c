/*
 * bench_measure — run one command and report what it cost, measured from
 * outside so the command needs no instrumentation.
 *
 *   bench_measure [-o pipe|null] [-i FILE] [-r REPS] [-t SECONDS] -- CMD [ARG...]
 *
 * The command's stdin is /dev/null, or with -i a pipe that already holds
 * FILE's bytes and whose write end is closed (as `cat FILE | CMD` gives,
 * with no writer to time); FILE must fit in a pipe (up to 1 MiB). Its stdout and stderr go either into a
 * pipe that this program reads and discards (-o pipe, the default) or to
 * /dev/null (-o null). With -r the command is run REPS times in a row.
 *
 * One line goes to our stdout, key=value separated by spaces:
 *   status   0, or the exit status / 128+signal of the first failing run,
 *            or 124 when -t expired
 *   wall     seconds from spawn to exit, summed over the runs
 *   wall_min shortest single run
 *   cpu      the command's own CPU seconds (user+sys), not its children's,
 *            summed over the runs (see below)
 *   utime, stime   the same from /proc/PID/stat, in clock-tick resolution
 *   maxrss_kb      largest ru_maxrss seen (the process, or its largest
 *                  child, whichever is larger; see wait4(2))
 *
 * Own CPU: after the command exits it is left a zombie (waitid WNOWAIT) so
 * /proc/PID/stat still shows utime and stime of the process itself, children
 * excluded, and /proc/PID/schedstat the main thread's run time in ns. `cpu`
 * is the larger of the two: exact for a single-threaded program, within two
 * clock ticks otherwise. Only then is the process reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The command runs in a process group of its own; a signal that stops us
 * is passed on to that group first, so nothing is left running. */
static volatile sig_atomic_t child_pgid;

static void pass_on(int sig) {
  if (child_pgid > 0)
    kill(-(pid_t)child_pgid, sig);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void die(const char *what) {
  fprintf(stderr, "bench_measure: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_measure [-o pipe|null] [-i FILE] [-r REPS] [-t SECONDS] "
                  "-- CMD [ARG...]\n");
  exit(125);
}

/* -i FILE: its bytes, read once. */
static char *in_bytes;
static size_t in_len;

static void read_input(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die(path);
  size_t cap = 1 << 20;
  if ((in_bytes = malloc(cap)) == NULL)
    die("malloc");
  ssize_t k;
  while ((k = read(fd, in_bytes + in_len, cap - in_len)) > 0)
    in_len += (size_t)k;
  if (k < 0)
    die(path);
  if (in_len == cap) {
    fprintf(stderr, "bench_measure: %s: more than 1 MiB\n", path);
    exit(125);
  }
  close(fd);
}

/* A pipe holding the input, its write end closed; the read end or -1. */
static int input_pipe(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    die("pipe2");
  if (in_len > 65536 && fcntl(p[1], F_SETPIPE_SZ, (int)(1 << 20)) < 0)
    die("F_SETPIPE_SZ");
  for (size_t off = 0; off < in_len;) {
    ssize_t k = write(p[1], in_bytes + off, in_len - off);
    if (k < 0 && errno != EINTR)
      die("write");
    off += k > 0 ? (size_t)k : 0;
  }
  close(p[1]);
  return p[0];
}

/* utime and stime of a process, in clock ticks; -1 when unreadable. */
static int read_stat(pid_t pid, long long *ut, long long *st) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return -1;
  p++; /* fields from 3 (state) on, separated by spaces */
  long long f[16];
  int i = 0;
  for (char *tok = strtok(p, " "); tok && i < 16; tok = strtok(NULL, " "))
    f[i++] = strtoll(tok, NULL, 10);
  if (i < 13)
    return -1;
  *ut = f[11]; /* field 14 */
  *st = f[12]; /* field 15 */
  return 0;
}

static long long read_schedstat_ns(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  return strtoll(buf, NULL, 10);
}

struct one {
  int status;
  double wall;
  double cpu, ut, st;
  long maxrss_kb;
};

static void run_once(char **argv, int to_pipe, double limit, struct one *r) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int pfd[2] = {-1, -1};

  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  /* Its own process group, so a timeout can stop all of it. */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&at, 0);
  sigset_t dflt; /* we ignore SIGPIPE; the command must not inherit that */
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_setsigdefault(&at, &dflt);
  int in_fd = in_bytes ? input_pipe() : -1;
  if (in_fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (to_pipe) {
    if (pipe2(pfd, O_CLOEXEC) < 0)
      die("pipe2");
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }

  pid_t pid;
  double t0 = now();
  int e = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
  if (e) {
    errno = e;
    fprintf(stderr, "bench_measure: %s: %s\n", argv[0], strerror(errno));
    exit(127);
  }
  child_pgid = pid;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (pfd[1] >= 0)
    close(pfd[1]);
  if (in_fd >= 0)
    close(in_fd);

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    die("pidfd_open");

  static char sink[1 << 16];
  int exited = 0, timed_out = 0;
  double t_exit = 0;
  while (!exited || pfd[0] >= 0) {
    struct pollfd p[2];
    int np = 0, ip = -1, ipipe = -1;
    if (!exited) {
      p[np] = (struct pollfd){pidfd, POLLIN, 0};
      ip = np++;
    }
    if (pfd[0] >= 0) {
      p[np] = (struct pollfd){pfd[0], POLLIN, 0};
      ipipe = np++;
    }
    /* Until the exit: the time limit, if any. After it: at most 2 s more
     * for EOF, in case something the command left behind holds the pipe. */
    double deadline = exited ? t_exit + 2.0 : (limit > 0 && !timed_out ? t0 + limit : 0);
    int timeout_ms = -1;
    if (deadline > 0) {
      double left = deadline - now();
      timeout_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
    }
    int n = poll(p, (nfds_t)np, timeout_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("poll");
    }
    if (n == 0) {
      if (exited) {
        close(pfd[0]);
        pfd[0] = -1;
      } else if (!timed_out) {
        timed_out = 1;
        kill(-pid, SIGKILL);
      }
      continue;
    }
    if (ip >= 0 && p[ip].revents) {
      exited = 1;
      t_exit = now();
    }
    if (ipipe >= 0 && p[ipipe].revents) {
      ssize_t k = read(pfd[0], sink, sizeof sink);
      if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
        close(pfd[0]);
        pfd[0] = -1;
      }
    }
  }
  close(pidfd);

  /* The command is a zombie now: its own CPU time is still readable. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
    if (errno != EINTR)
      die("waitid");
  long long ut = 0, st = 0;
  long hz = sysconf(_SC_CLK_TCK);
  long long main_ns = read_schedstat_ns(pid);
  if (read_stat(pid, &ut, &st) < 0)
    ut = st = 0;

  int wst;
  struct rusage ru;
  while (wait4(pid, &wst, 0, &ru) < 0)
    if (errno != EINTR)
      die("wait4");
  child_pgid = 0;

  r->wall = t_exit - t0;
  r->ut = (double)ut / (double)hz;
  r->st = (double)st / (double)hz;
  r->cpu = r->ut + r->st;
  if (main_ns > 0 && (double)main_ns / 1e9 > r->cpu)
    r->cpu = (double)main_ns / 1e9;
  r->maxrss_kb = ru.ru_maxrss;
  if (timed_out)
    r->status = 124;
  else if (WIFEXITED(wst))
    r->status = WEXITSTATUS(wst);
  else if (WIFSIGNALED(wst))
    r->status = 128 + WTERMSIG(wst);
  else
    r->status = 125;
}

int main(int argc, char **argv) {
  int to_pipe = 1;
  long reps = 1;
  double limit = 0;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
      const char *m = argv[++i];
      if (!strcmp(m, "pipe"))
        to_pipe = 1;
      else if (!strcmp(m, "null"))
        to_pipe = 0;
      else
        usage();
    } else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
      read_input(argv[++i]);
    } else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
      reps = strtol(argv[++i], NULL, 10);
      if (reps < 1)
        usage();
    } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
      limit = strtod(argv[++i], NULL);
    } else if (argv[i][0] == '-') {
      usage();
    } else {
      break;
    }
  }
  if (i >= argc)
    usage();
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = pass_on;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  struct one sum = {0, 0, 0, 0, 0, 0};
  double wall_min = 0;
  for (long k = 0; k < reps; k++) {
    struct one r;
    run_once(argv + i, to_pipe, limit, &r);
    sum.wall += r.wall;
    sum.cpu += r.cpu;
    sum.ut += r.ut;
    sum.st += r.st;
    if (r.maxrss_kb > sum.maxrss_kb)
      sum.maxrss_kb = r.maxrss_kb;
    if (k == 0 || r.wall < wall_min)
      wall_min = r.wall;
    if (r.status && !sum.status)
      sum.status = r.status;
    if (r.status == 124)
      break;
  }
  printf("status=%d wall=%.6f wall_min=%.6f cpu=%.6f utime=%.3f stime=%.3f "
         "maxrss_kb=%ld reps=%ld\n",
         sum.status, sum.wall, wall_min, sum.cpu, sum.ut, sum.st,
         sum.maxrss_kb, reps);
  return 0;
}
