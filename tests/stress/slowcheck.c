/*
 * A slow reader and checker of corun's prefix-mode output, for the flood
 * scenario of tests/stress/run.sh.
 *
 *   slowcheck SLOW_SECONDS WIDTH NAME=COUNT...
 *
 * Reads standard input in tiny pieces with pauses for SLOW_SECONDS, then at
 * full speed until EOF. Every line must be `NAME<pad> | PAYLOAD` with the
 * names padded to the longest one given, and PAYLOAD the next line of the
 * test program's `lines COUNT WIDTH` step for that job: numbered from 0,
 * consecutive, whole, byte for byte. At EOF every job must have given its
 * COUNT lines. Prints one summary line; exits 0 when all was right, 1 with
 * the first problems described otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 256
#define MAX_LINE 4096
#define MAX_REPORTS 10

typedef struct {
  const char *name;
  size_t len;
  long want, got;
} job_t;

static job_t jobs[MAX_JOBS];
static size_t n_jobs, name_width;
static int width;
static char alpha[MAX_LINE + 64]; /* "abc...zabc..." */
static long problems, lines_seen;
static unsigned long long bytes_seen;

static void problem(const char *what, const char *line, size_t len) {
  problems++;
  if (problems <= MAX_REPORTS)
    fprintf(stderr, "slowcheck: line %ld: %s: \"%.*s\"\n", lines_seen, what,
            (int)(len > 120 ? 120 : len), line);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One whole line, without its newline. */
static void check_line(const char *s, size_t n) {
  lines_seen++;
  const char *sp = memchr(s, ' ', n);
  if (sp == NULL) {
    problem("no prefix", s, n);
    return;
  }
  size_t nl = (size_t)(sp - s);
  job_t *j = NULL;
  for (size_t i = 0; i < n_jobs && j == NULL; i++)
    if (jobs[i].len == nl && memcmp(jobs[i].name, s, nl) == 0)
      j = &jobs[i];
  if (j == NULL) {
    problem("unknown job name", s, n);
    return;
  }
  size_t pre = name_width + 3; /* NAME, padding, " | " */
  if (n < pre || memcmp(s + name_width, " | ", 3) != 0) {
    problem("malformed prefix", s, n);
    return;
  }
  for (size_t i = nl; i < name_width; i++)
    if (s[i] != ' ') {
      problem("malformed padding", s, n);
      return;
    }
  const char *p = s + pre;
  size_t pn = n - pre;
  /* The payload: "%08ld " then letters up to WIDTH-1 bytes. */
  char num[32];
  int k = snprintf(num, sizeof num, "%08ld ", j->got);
  if (pn != (size_t)width - 1 || memcmp(p, num, (size_t)k) != 0) {
    problem(pn != (size_t)width - 1 ? "wrong length (cut or joined line)"
                                    : "out of order or missing line",
            s, n);
    /* Resynchronize on the number seen, so that one loss is one report. */
    char *end;
    long seen = strtol(p, &end, 10);
    if (end != p && seen >= j->got)
      j->got = seen + 1;
    return;
  }
  if (memcmp(p + k, alpha + (j->got + k) % 26, pn - (size_t)k) != 0)
    problem("corrupted payload", s, n);
  j->got++;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: slowcheck SLOW_SECONDS WIDTH NAME=COUNT...\n");
    return 2;
  }
  double slow = atof(argv[1]);
  width = atoi(argv[2]);
  if (width < 12 || width > MAX_LINE - 256) {
    fprintf(stderr, "slowcheck: WIDTH must be 12..%d\n", MAX_LINE - 256);
    return 2;
  }
  for (size_t i = 0; i < sizeof alpha; i++)
    alpha[i] = (char)('a' + i % 26);
  for (int a = 3; a < argc; a++) {
    char *eq = strchr(argv[a], '=');
    if (eq == NULL || n_jobs == MAX_JOBS) {
      fprintf(stderr, "slowcheck: bad job argument %s\n", argv[a]);
      return 2;
    }
    *eq = '\0';
    jobs[n_jobs].name = argv[a];
    jobs[n_jobs].len = strlen(argv[a]);
    jobs[n_jobs].want = atol(eq + 1);
    if (jobs[n_jobs].len > name_width)
      name_width = jobs[n_jobs].len;
    n_jobs++;
  }

  static char buf[1 << 20];
  static char line[MAX_LINE];
  size_t have = 0; /* bytes of the current line so far */
  int overlong = 0;
  double t0 = now();
  unsigned seed = 12345;
  for (;;) {
    size_t want = sizeof buf;
    int slow_phase = now() - t0 < slow;
    if (slow_phase) {
      seed = seed * 1103515245u + 12345u;
      want = 1 + (seed >> 16) % 300;
    }
    ssize_t n = read(0, buf, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      perror("slowcheck: read");
      return 1;
    }
    if (n == 0)
      break;
    bytes_seen += (unsigned long long)n;
    const char *b = buf, *e = buf + n;
    while (b < e) {
      const char *nlp = memchr(b, '\n', (size_t)(e - b));
      size_t take = (size_t)((nlp ? nlp : e) - b);
      if (have + take > sizeof line) {
        overlong = 1;
        take = have < sizeof line ? sizeof line - have : 0;
      }
      memcpy(line + have, b, take);
      have += take;
      if (nlp == NULL)
        break;
      if (overlong)
        problem("overlong line", line, have);
      else
        check_line(line, have);
      overlong = 0;
      have = 0;
      b = nlp + 1;
    }
    if (slow_phase)
      usleep(1000);
  }
  if (have > 0) {
    lines_seen++;
    problem("last line without a newline", line, have);
  }
  for (size_t i = 0; i < n_jobs; i++)
    if (jobs[i].got != jobs[i].want) {
      problems++;
      fprintf(stderr, "slowcheck: %s: %ld lines, expected %ld\n", jobs[i].name,
              jobs[i].got, jobs[i].want);
    }
  printf("slowcheck: %ld lines, %llu bytes, %ld problems\n", lines_seen,
         bytes_seen, problems);
  return problems ? 1 : 0;
}
