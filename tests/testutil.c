/* Helpers shared by the cmocka suites: running commands, temp files and
 * the /proc scan that proves no process was left behind. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double tu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void append(char **buf, size_t *len, size_t *cap, const char *p,
                   size_t n) {
  if (*len + n + 1 > *cap) {
    *cap = (*len + n + 1) * 2;
    *buf = realloc(*buf, *cap);
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = '\0';
}

void tu_run(tu_result_t *r, char *const argv[], const char *in,
            double limit_s) {
  int po[2], pe[2], pi[2];
  memset(r, 0, sizeof *r);
  if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(pi, O_CLOEXEC))
    abort();
  double t0 = tu_now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pi[0], 0);
    dup2(po[1], 1);
    dup2(pe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  close(pi[0]);
  if (in != NULL) {
    /* Inputs are small in tests; a pipe buffer holds them. */
    ssize_t w = write(pi[1], in, strlen(in));
    (void)w;
  }
  close(pi[1]);
  size_t ocap = 0, ecap = 0;
  append(&r->out, &r->out_len, &ocap, "", 0);
  append(&r->err, &r->err_len, &ecap, "", 0);
  struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open_fds = 2, killed = 0;
  char buf[65536];
  while (open_fds > 0) {
    double left = limit_s - (tu_now() - t0);
    if (left <= 0 && !killed) {
      kill(pid, SIGKILL);
      killed = 1;
    }
    int n = poll(fds, 2, left > 0 ? (int)(left * 1000) + 1 : 100);
    if (n < 0 && errno == EINTR)
      continue;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k > 0) {
        if (i == 0)
          append(&r->out, &r->out_len, &ocap, buf, (size_t)k);
        else
          append(&r->err, &r->err_len, &ecap, buf, (size_t)k);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
    if (killed && tu_now() - t0 > limit_s + 5)
      break; /* a grandchild holds the pipes: give up on them */
  }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0)
      close(fds[i].fd);
  int st = 0;
  waitpid(pid, &st, 0);
  r->seconds = tu_now() - t0;
  if (killed)
    r->status = -1;
  else if (WIFEXITED(st))
    r->status = WEXITSTATUS(st);
  else
    r->status = 128 + WTERMSIG(st);
}

void tu_result_free(tu_result_t *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

const char *tu_corun(void) { return env_or("CORUN_BIN", "./build/corun"); }
const char *tu_helper(void) {
  return env_or("CORUN_HELPER", "./build/tests/helper");
}
const char *tu_src(void) { return env_or("CORUN_SRC", "."); }

char *tu_tmpdir(void) {
  char tmpl[] = "/tmp/corun-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  if (d == NULL)
    abort();
  return strdup(d);
}

void tu_rmdir(const char *dir) {
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
    abort();
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  free(cmd);
}

char *tu_write(const char *dir, const char *name, const char *text) {
  char *path = NULL;
  if (asprintf(&path, "%s/%s", dir, name) < 0)
    abort();
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    abort();
  fwrite(text, 1, strlen(text), f);
  fclose(f);
  return path;
}

char *tu_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  char tmp[65536];
  size_t k;
  append(&buf, &n, &cap, "", 0);
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
    append(&buf, &n, &cap, tmp, k);
  fclose(f);
  if (len)
    *len = n;
  return buf;
}

const char *tu_marker(void) {
  static char mark[64];
  static unsigned seq;
  snprintf(mark, sizeof mark, "CORUN_TEST_MARK=m%ld_%u_%ld", (long)getpid(),
           ++seq, (long)time(NULL));
  return mark;
}

static int environ_has(const char *pid, const char *needle) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/environ", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  size_t nl = strlen(needle);
  for (ssize_t i = 0; i + (ssize_t)nl <= n; i++)
    if (memcmp(buf + i, needle, nl) == 0)
      return 1;
  return 0;
}

int tu_pid_state(long pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : 0;
}

int tu_count_marked(const char *needle) {
  DIR *d = opendir("/proc");
  if (d == NULL)
    return 0;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    /* A zombie's environment is gone; a live process shows it. */
    if (environ_has(e->d_name, needle) &&
        tu_pid_state(atol(e->d_name)) != 'Z')
      count++;
  }
  closedir(d);
  return count;
}

int tu_wait_unmarked(const char *needle, double limit_s) {
  double t0 = tu_now();
  int n;
  while ((n = tu_count_marked(needle)) > 0 && tu_now() - t0 < limit_s)
    usleep(20000);
  return n;
}

int tu_kill_marked(const char *needle) {
  DIR *d = opendir("/proc");
  if (d == NULL)
    return 0;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid = atol(e->d_name);
    if (pid > 0 && pid != (long)getpid() && environ_has(e->d_name, needle) &&
        tu_pid_state(pid) != 'Z' && kill((pid_t)pid, SIGKILL) == 0)
      count++;
  }
  closedir(d);
  return count;
}
