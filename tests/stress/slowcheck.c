/*
 * A slow reader and checker of corun's prefix-mode output, for the flood
 * scenario of tests/stress/run.sh; and a generator and checker of large
 * outputs for the group-mode scenario.
 *
 *   slowcheck SLOW_SECONDS WIDTH NAME=COUNT...
 *   slowcheck gen NAME BYTES
 *   slowcheck group PAUSE_SECONDS NAME=BYTES...
 *
 * Reads standard input in tiny pieces with pauses for SLOW_SECONDS, then at
 * full speed until EOF. Every line must be `NAME<pad> | PAYLOAD` with the
 * names padded to the longest one given, and PAYLOAD the next line of the
 * test program's `lines COUNT WIDTH` step for that job: numbered from 0,
 * consecutive, whole, byte for byte. At EOF every job must have given its
 * COUNT lines. Prints one summary line; exits 0 when all was right, 1 with
 * the first problems described otherwise, 2 on a usage error.
 *
 * `gen` writes BYTES bytes of NAME's stream to stdout, fast: lines of 127
 * pseudo-random letters and a newline, every 8 bytes a function of NAME
 * and their offset, so a byte lost, doubled or moved anywhere in a
 * gigabyte changes what follows. `group` reads `--output group` output:
 * after PAUSE_SECONDS without reading at all (a reader that falls behind),
 * it expects each NAME once, in any order, as a header `== NAME (ok, ...)`
 * and then exactly the BYTES bytes `gen NAME BYTES` writes, compared byte
 * for byte as they come; then one summary line, exit status as above.
 */
#include <errno.h>
#include <stdint.h>
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

/* ---- gen and group ------------------------------------------------------ */

#define BLK (64u << 10) /* a multiple of 128 (the line) and 8 (the word) */

static uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t name_seed(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return mix(h);
}

/* Block `blk` (bytes blk*BLK .. +BLK) of the stream of `seed`. */
static void fill_block(uint64_t seed, uint64_t blk, unsigned char *b) {
  static unsigned char letter[256];
  if (letter[0] == 0)
    for (int i = 0; i < 256; i++)
      letter[i] = (unsigned char)('a' + i % 26);
  uint64_t w0 = blk * (BLK / 8);
  for (size_t w = 0; w < BLK / 8; w++) {
    uint64_t x = mix(seed ^ ((w0 + w) * 0xd6e8feb86659fd93ull));
    for (int k = 0; k < 8; k++)
      b[w * 8 + (size_t)k] = letter[(x >> (8 * k)) & 0xff];
  }
  for (size_t i = 127; i < BLK; i += 128)
    b[i] = '\n';
}

static int gen_main(const char *name, unsigned long long n) {
  static unsigned char b[BLK];
  uint64_t seed = name_seed(name);
  for (uint64_t blk = 0, off = 0; off < n; blk++) {
    fill_block(seed, blk, b);
    size_t take = n - off < BLK ? (size_t)(n - off) : BLK;
    for (size_t done = 0; done < take;) {
      ssize_t w = write(1, b + done, take - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return 1;
      done += (size_t)w;
    }
    off += take;
  }
  return 0;
}

typedef struct {
  const char *name;
  unsigned long long size;
  uint64_t seed;
  int seen;
} section_t;

static int group_main(double pause, int argc, char **argv) {
  static section_t sec[MAX_JOBS];
  size_t n_sec = 0;
  for (int a = 0; a < argc; a++) {
    char *eq = strchr(argv[a], '=');
    if (eq == NULL || n_sec == MAX_JOBS) {
      fprintf(stderr, "slowcheck: bad section argument %s\n", argv[a]);
      return 2;
    }
    *eq = '\0';
    sec[n_sec].name = argv[a];
    sec[n_sec].size = strtoull(eq + 1, NULL, 10);
    sec[n_sec].seed = name_seed(argv[a]);
    n_sec++;
  }
  if (pause > 0)
    usleep((useconds_t)(pause * 1e6));
  static unsigned char buf[1 << 20], want[BLK];
  static char head[MAX_LINE];
  size_t head_len = 0;
  section_t *cur = NULL;      /* inside a section's body */
  unsigned long long off = 0; /* bytes of its body so far */
  uint64_t have_blk = UINT64_MAX;
  unsigned long long total = 0;
  size_t sections = 0;
  int bad = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      perror("slowcheck: read");
      return 1;
    }
    if (n == 0)
      break;
    total += (unsigned long long)n;
    if (bad)
      continue; /* drain, so that corun is not cut off */
    size_t i = 0;
    while (i < (size_t)n && !bad) {
      if (cur == NULL) {
        /* A header line. */
        unsigned char *nl = memchr(buf + i, '\n', (size_t)n - i);
        size_t take = (size_t)((nl ? nl : buf + n) - (buf + i));
        if (head_len + take >= sizeof head) {
          fprintf(stderr, "slowcheck: at byte %llu: no header line\n",
                  total - (unsigned long long)n + i);
          bad = 1;
          break;
        }
        memcpy(head + head_len, buf + i, take);
        head_len += take;
        i += take;
        if (nl == NULL)
          break;
        i++;
        head[head_len] = '\0';
        head_len = 0;
        for (size_t k = 0; k < n_sec && cur == NULL; k++) {
          size_t nl_ = strlen(sec[k].name);
          if (strncmp(head, "== ", 3) == 0 &&
              strncmp(head + 3, sec[k].name, nl_) == 0 &&
              strncmp(head + 3 + nl_, " (ok, ", 6) == 0)
            cur = &sec[k];
        }
        if (cur == NULL || cur->seen) {
          fprintf(stderr, "slowcheck: %s header: \"%.200s\"\n",
                  cur ? "repeated" : "unexpected", head);
          bad = 1;
          break;
        }
        cur->seen = 1;
        sections++;
        off = 0;
        have_blk = UINT64_MAX;
        /* A stream that does not end with a newline gets one. */
        cur->size += cur->size % 128 != 0;
        if (cur->size == 0)
          cur = NULL;
        continue;
      }
      /* The body: compare with the stream, a block at a time. */
      unsigned long long left = cur->size - off;
      size_t take = (size_t)n - i;
      if (take > left)
        take = (size_t)left;
      while (take > 0) {
        uint64_t blk = off / BLK;
        size_t in = (size_t)(off % BLK);
        if (blk != have_blk) {
          fill_block(cur->seed, blk, want);
          have_blk = blk;
        }
        size_t k = BLK - in < take ? BLK - in : take;
        /* The added newline after a stream cut mid-line. */
        if (off + k == cur->size && cur->size % 128 != 0)
          want[in + k - 1] = '\n';
        if (memcmp(buf + i, want + in, k) != 0) {
          size_t d = 0;
          while (buf[i + d] == want[in + d])
            d++;
          fprintf(stderr, "slowcheck: %s: byte %llu of its output differs "
                  "(0x%02x, expected 0x%02x)\n", cur->name, off + d,
                  buf[i + d], want[in + d]);
          bad = 1;
          break;
        }
        i += k;
        off += k;
        take -= k;
      }
      if (!bad && off == cur->size)
        cur = NULL;
    }
  }
  if (!bad && cur != NULL) {
    fprintf(stderr, "slowcheck: %s: %llu bytes of %llu, then EOF\n", cur->name,
            off, cur->size);
    bad = 1;
  }
  if (!bad && head_len > 0) {
    fprintf(stderr, "slowcheck: stray bytes at the end: \"%.*s\"\n",
            (int)(head_len > 200 ? 200 : head_len), head);
    bad = 1;
  }
  for (size_t k = 0; k < n_sec && !bad; k++)
    if (!sec[k].seen) {
      fprintf(stderr, "slowcheck: no section for %s\n", sec[k].name);
      bad = 1;
    }
  printf("slowcheck: %zu sections, %llu bytes, %d problems\n", sections, total,
         bad);
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "gen") == 0)
    return gen_main(argv[2], strtoull(argv[3], NULL, 10));
  if (argc >= 4 && strcmp(argv[1], "group") == 0)
    return group_main(atof(argv[2]), argc - 3, argv + 3);
  if (argc < 4) {
    fprintf(stderr, "usage: slowcheck SLOW_SECONDS WIDTH NAME=COUNT...\n"
                    "       slowcheck gen NAME BYTES\n"
                    "       slowcheck group PAUSE_SECONDS NAME=BYTES...\n");
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
