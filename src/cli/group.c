/*
 * Group mode (--output group): each job's output is kept until it ends,
 * then printed whole under a header line. Memory stays bounded whatever
 * the jobs write: past SPILL_AT bytes a stream goes on in an unlinked
 * temporary file. A finished job's output is queued and fed to stdout
 * and stderr a chunk at a time, as fast as the reader takes it, so a
 * gigabyte of output never sits in memory either.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPILL_AT (1u << 20) /* per stream of a job, in memory */
#define CHUNK (64u << 10)   /* fed to a writer at a time */
#define FEED_BELOW (256u << 10)

/* One stream of one job: bytes in memory, then in a file. */
typedef struct {
  writer_t mem; /* an fd -1 writer: a growing buffer */
  int fd;       /* the spill file, -1 none */
  uint64_t spilled, sent;
  char last;    /* the last byte written, for the closing newline */
  uint64_t total;
} stream_t;

struct group_s {
  stream_t s[2];
  char *header;
  size_t header_sent; /* how much of the header went out */
  int stage;          /* 0 header, 1 stdout, 2 stderr, 3 done */
  struct group_s *next;
};

/* An unlinked file in $TMPDIR (or /tmp); -1 when none can be had. */
static int spill_file(void) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  char path[4096];
  snprintf(path, sizeof path, "%s/corun-group-XXXXXX", dir);
  fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0)
    unlink(path);
  return fd;
}

static bool write_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return false;
    b += w;
    n -= (size_t)w;
  }
  return true;
}

static group_t *group_of(cli_t *c, size_t job) {
  if (c->groups[job] == NULL) {
    group_t *g = calloc(1, sizeof *g);
    if (g == NULL)
      return NULL;
    for (int k = 0; k < 2; k++) {
      w_init(&g->s[k].mem, -1);
      g->s[k].fd = -1;
    }
    c->groups[job] = g;
  }
  return c->groups[job];
}

void cli_group_add(cli_t *c, size_t job, corun_stream_t st, const char *b,
                   size_t n) {
  group_t *g = group_of(c, job);
  if (g == NULL || n == 0)
    return;
  stream_t *s = &g->s[st == CORUN_STDOUT ? 0 : 1];
  s->total += n;
  s->last = b[n - 1];
  if (s->fd < 0 && s->mem.len + n > SPILL_AT)
    s->fd = spill_file();
  /* Without a file (no temporary folder), memory it is. */
  if (s->fd >= 0 && write_all(s->fd, b, n))
    s->spilled += n;
  else
    w_put(&s->mem, b, n);
}

static void group_free(group_t *g) {
  for (int k = 0; k < 2; k++) {
    w_free(&g->s[k].mem);
    if (g->s[k].fd >= 0)
      close(g->s[k].fd);
  }
  free(g->header);
  free(g);
}

void cli_group_end(cli_t *c, size_t job, const corun_result_t *r) {
  group_t *g = c->groups[job];
  c->groups[job] = NULL;
  if (r->status == CORUN_SKIPPED) {
    if (g)
      group_free(g);
    return;
  }
  if (g == NULL && (g = group_of(c, job)) == NULL)
    return;
  c->groups[job] = NULL;
  const char *name = corun_plan_job(c->plan, job)->name;
  if (asprintf(&g->header, "%s== %s (%s, %.2fs)%s\n", c->color ? "\x1b[1m" : "",
               name, corun_status_name(r->status), r->duration_s,
               c->color ? "\x1b[0m" : "") < 0)
    g->header = NULL;
  /* In order: behind every job that ended before it. */
  group_t **tail = &c->replay;
  while (*tail)
    tail = &(*tail)->next;
  *tail = g;
  cli_group_feed(c, false);
}

/* Hand on up to CHUNK bytes of a stream; false once it is all out. */
static bool feed_stream(stream_t *s, writer_t *w) {
  uint64_t size = s->mem.len + s->spilled;
  if (s->sent >= size) {
    if (s->total > 0 && s->last != '\n') {
      w_put(w, "\n", 1);
      s->last = '\n';
    }
    return false;
  }
  if (s->sent < s->mem.len) {
    size_t n = s->mem.len - (size_t)s->sent;
    if (n > CHUNK)
      n = CHUNK;
    w_put(w, s->mem.buf + s->sent, n);
    s->sent += n;
    return true;
  }
  char buf[CHUNK];
  ssize_t n = pread(s->fd, buf, sizeof buf, (off_t)(s->sent - s->mem.len));
  if (n <= 0) {
    s->sent = size; /* the file failed us: what is left is lost */
    return true;
  }
  w_put(w, buf, (size_t)n);
  s->sent += (uint64_t)n;
  return true;
}

void cli_group_feed(cli_t *c, bool all) {
  while (c->replay != NULL) {
    group_t *g = c->replay;
    writer_t *w = g->stage == 2 ? &c->err : &c->out;
    if (!all && w->fd >= 0 && w->error == 0 && w_pending(w) >= FEED_BELOW)
      return; /* the reader is behind: more when it has caught up */
    if (g->stage == 0) {
      if (g->header)
        w_str(&c->out, g->header);
      g->stage = 1;
    } else if (g->stage < 3 && !feed_stream(&g->s[g->stage - 1], w)) {
      if (g->stage == 1)
        w_flush(&c->out);
      g->stage++;
    } else if (g->stage == 3) {
      c->replay = g->next;
      group_free(g);
    }
  }
}

int cli_group_init(cli_t *c, size_t n) {
  c->groups = calloc(n ? n : 1, sizeof *c->groups);
  return c->groups ? 0 : -1;
}

void cli_group_free(cli_t *c) {
  size_t n = c->plan ? corun_plan_job_count(c->plan) : 0;
  for (size_t i = 0; c->groups && i < n; i++)
    if (c->groups[i])
      group_free(c->groups[i]);
  free(c->groups);
  c->groups = NULL;
  while (c->replay) {
    group_t *g = c->replay;
    c->replay = g->next;
    group_free(g);
  }
}
