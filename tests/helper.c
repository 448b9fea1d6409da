/*
 * A small program for the process tests. Its arguments are steps, run in
 * order:
 *   out TEXT        write TEXT and a newline to stdout
 *   err TEXT        write TEXT and a newline to stderr
 *   nonl TEXT       write TEXT to stdout, no newline
 *   bytes N         write N bytes of a repeating binary pattern to stdout
 *   ebytes N        the same to stderr
 *   lines N WIDTH   write N numbered lines of WIDTH bytes (newline included)
 *   sleep S         sleep S seconds (fractions allowed)
 *   cat             copy stdin to stdout until EOF
 *   env NAME        print NAME=value, or NAME unset
 *   cwd             print the working directory
 *   ignterm         ignore SIGTERM from now on
 *   fork N S        start N grandchildren that sleep S seconds, holding
 *                   stdout and stderr open
 *   kill SIG        send itself signal number SIG
 *   exit N          exit with status N
 * It exits 0 when the steps run out.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0)
      exit(99);
    p += w;
    n -= (size_t)w;
  }
}

static void nap(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

/* Byte i of the pattern: every value 0..255, NUL and newline included. */
static void pattern(int fd, long long n) {
  static char buf[65536];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (char)((i * 7 + 3) & 0xFF);
  long long off = 0;
  while (off < n) {
    size_t chunk = (size_t)(n - off < (long long)sizeof buf ? n - off : (long long)sizeof buf);
    /* The pattern is a function of the absolute offset, so it stays right
     * across chunk boundaries: sizeof buf is a multiple of 256. */
    put(fd, buf, chunk);
    off += (long long)chunk;
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char *a = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(s, "out") == 0 || strcmp(s, "err") == 0) {
      int fd = s[0] == 'o' ? 1 : 2;
      put(fd, a, strlen(a));
      put(fd, "\n", 1);
      i++;
    } else if (strcmp(s, "nonl") == 0) {
      put(1, a, strlen(a));
      i++;
    } else if (strcmp(s, "bytes") == 0 || strcmp(s, "ebytes") == 0) {
      pattern(s[0] == 'b' ? 1 : 2, atoll(a));
      i++;
    } else if (strcmp(s, "lines") == 0) {
      long n = atol(a);
      int width = i + 2 < argc ? atoi(argv[i + 2]) : 80;
      char *line = malloc((size_t)width + 32);
      for (long k = 0; k < n; k++) {
        int len = snprintf(line, (size_t)width + 32, "%08ld ", k);
        while (len < width - 1) {
          line[len] = (char)('a' + (k + len) % 26);
          len++;
        }
        line[len++] = '\n';
        put(1, line, (size_t)len);
      }
      free(line);
      i += 2;
    } else if (strcmp(s, "sleep") == 0) {
      nap(atof(a));
      i++;
    } else if (strcmp(s, "cat") == 0) {
      char buf[65536];
      ssize_t n;
      while ((n = read(0, buf, sizeof buf)) > 0)
        put(1, buf, (size_t)n);
    } else if (strcmp(s, "env") == 0) {
      const char *v = getenv(a);
      if (v)
        printf("%s=%s\n", a, v);
      else
        printf("%s unset\n", a);
      fflush(stdout);
      i++;
    } else if (strcmp(s, "cwd") == 0) {
      char buf[4096];
      if (getcwd(buf, sizeof buf))
        printf("%s\n", buf);
      fflush(stdout);
    } else if (strcmp(s, "ignterm") == 0) {
      signal(SIGTERM, SIG_IGN);
    } else if (strcmp(s, "fork") == 0) {
      int n = atoi(a);
      double secs = i + 2 < argc ? atof(argv[i + 2]) : 300;
      for (int k = 0; k < n; k++) {
        pid_t pid = fork();
        if (pid == 0) {
          nap(secs);
          _exit(0);
        }
      }
      i += 2;
    } else if (strcmp(s, "kill") == 0) {
      int sig = atoi(a);
      signal(sig, SIG_DFL);
      kill(getpid(), sig);
      nap(5);
      i++;
    } else if (strcmp(s, "exit") == 0) {
      exit(atoi(a));
    } else {
      fprintf(stderr, "helper: unknown step %s\n", s);
      return 64;
    }
  }
  return 0;
}
