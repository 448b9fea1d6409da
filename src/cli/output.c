/*
 * What the command line shows while a run goes on: live output in prefix,
 * group or raw mode, built on the callbacks of corun.h, written to stdout
 * and stderr without ever blocking the loop, under the status line
 * (status.c). The files (events, report, JUnit, trace, timeline) the
 * library writes.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/* ---- buffered writers ---------------------------------------------------- */

#define W_FLUSH_AT (64 * 1024)
#define PAUSE_ABOVE (4u << 20)  /* pending bytes that pause the run's output */
#define RESUME_BELOW (512u << 10)

void w_init(writer_t *w, int fd) {
  memset(w, 0, sizeof *w);
  w->fd = fd;
}

size_t w_pending(const writer_t *w) { return w->len - w->off; }

void w_flush(writer_t *w) {
  while (w->off < w->len && w->error == 0) {
    ssize_t n = write(w->fd, w->buf + w->off, w->len - w->off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return; /* the rest waits for room */
    if (n < 0)
      w->error = errno;
    else
      w->off += (size_t)n;
  }
  w->off = w->len = 0;
}

void w_put(writer_t *w, const void *p, size_t n) {
  if (w->error != 0 || n == 0)
    return; /* the reader is gone: drop it */
  if (w->len + n > w->cap && w->off > 0) {
    memmove(w->buf, w->buf + w->off, w->len - w->off);
    w->len -= w->off;
    w->off = 0;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
      cap *= 2;
    char *b = realloc(w->buf, cap);
    if (b == NULL) {
      w->error = ENOMEM;
      return;
    }
    w->buf = b;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
  if (w->fd >= 0 && w_pending(w) >= W_FLUSH_AT)
    w_flush(w);
}

void w_str(writer_t *w, const char *s) { w_put(w, s, strlen(s)); }

void w_free(writer_t *w) {
  free(w->buf);
  w->buf = NULL;
  w->off = w->len = w->cap = 0;
}

/* ---- helpers ------------------------------------------------------------- */

static double elapsed(const cli_t *c) {
  return (double)(uv_hrtime() - c->t0_ns) / 1e9;
}

static const char *job_name(const cli_t *c, size_t job) {
  return corun_plan_job(c->plan, job)->name;
}

/* A stable colour per job name, from the six that read on any background. */
static const char *name_color(const char *name) {
  static const char *colors[] = {"\x1b[36m", "\x1b[33m", "\x1b[32m",
                                 "\x1b[35m", "\x1b[34m", "\x1b[31m"};
  unsigned h = 5381;
  for (const char *s = name; *s; s++)
    h = h * 33 + (unsigned char)*s;
  return colors[h % 6];
}

/* Coloured where that writer goes to a terminal (or --color always). */
static void put_prefix(cli_t *c, writer_t *w, size_t job) {
  const char *name = job_name(c, job);
  size_t len = strlen(name);
  bool color = w == &c->err ? c->color_err : c->color;
  if (color)
    w_str(w, name_color(name));
  w_put(w, name, len);
  for (size_t i = len; i < (size_t)c->name_width; i++)
    w_put(w, " ", 1);
  w_str(w, color ? " |\x1b[0m " : " | ");
}

/* ---- callbacks ------------------------------------------------------------ */

static void on_job_start(corun_run_t *run, void *data, size_t job,
                         unsigned attempt, long pid) {
  (void)run, (void)attempt, (void)pid;
  cli_status_start(data, job);
}

static void on_output(corun_run_t *run, void *data, size_t job,
                      corun_stream_t st, const char *buf, size_t len) {
  cli_t *c = data;
  (void)run;
  if (c->mode == OUT_RAW)
    w_put(st == CORUN_STDOUT ? &c->out : &c->err, buf, len);
  else if (c->mode == OUT_GROUP)
    cli_group_add(c, job, st, buf, len);
}

static void on_line(corun_run_t *run, void *data, size_t job,
                    corun_stream_t st, const char *line, size_t len) {
  cli_t *c = data;
  (void)run;
  writer_t *w = st == CORUN_STDOUT ? &c->out : &c->err;
  put_prefix(c, w, job);
  w_put(w, line, len);
  w_put(w, "\n", 1);
}

static void on_retry(corun_run_t *run, void *data, size_t job,
                     const corun_result_t *failed, unsigned next,
                     double delay) {
  (void)run, (void)failed, (void)next, (void)delay;
  cli_status_over(data, job);
}

static void on_job_end(corun_run_t *run, void *data, size_t job,
                       const corun_result_t *r) {
  cli_t *c = data;
  (void)run;
  cli_status_end(c, job, r);
  if (c->mode == OUT_GROUP)
    cli_group_end(c, job, r);
}

int cli_output_init(cli_t *c, size_t n) {
  c->jobs_cap = n;
  if (cli_status_init(c, n) != 0)
    return -1;
  return c->mode == OUT_GROUP ? cli_group_init(c, n) : 0;
}

/* Grow one per-job array from c->jobs_cap to cap elements, zeroed. */
static int grow(void *ptr, size_t size, size_t old, size_t cap) {
  char *p = realloc(*(void **)ptr, cap * size);
  if (p == NULL)
    return -1;
  memset(p + old * size, 0, (cap - old) * size);
  *(void **)ptr = p;
  return 0;
}

int cli_output_grow(cli_t *c, size_t n) {
  if (n <= c->jobs_cap)
    return 0;
  size_t cap = c->jobs_cap * 2 > n ? c->jobs_cap * 2 : n;
  /* The status line's arrays grow by themselves (status.c). */
  if (c->groups && grow(&c->groups, sizeof *c->groups, c->jobs_cap, cap) != 0)
    return -1;
  c->jobs_cap = cap;
  return 0;
}

void cli_output_free(cli_t *c) {
  cli_group_free(c);
  cli_status_free(c);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    if (c->files[k].fd >= 0)
      close(c->files[k].fd);
    w_free(&c->files[k]);
  }
  w_free(&c->out);
  w_free(&c->err);
}

void cli_callbacks(cli_t *c, corun_callbacks_t *cb) {
  memset(cb, 0, sizeof *cb);
  cb->on_job_start = on_job_start;
  cb->on_job_end = on_job_end;
  cb->on_retry = on_retry;
  if (c->mode == OUT_RAW || c->mode == OUT_GROUP)
    cb->on_output = on_output;
  if (c->mode == OUT_PREFIX)
    cb->on_line = on_line;
}

static void on_writable(uv_poll_t *h, int status, int events);

/* Watch for room where output waits; pause the run's output while too
 * much waits, resume once most of it is out. */
static void pressure(cli_t *c) {
  size_t total = 0;
  for (int i = 0; i < CLI_WRITERS; i++) {
    writer_t *w = c->ws[i];
    if (w == NULL)
      continue;
    size_t left = w->error ? 0 : w_pending(w);
    total += left;
    if (!c->wpoll_init[i])
      continue;
    if (left > 0 && !c->wpoll_on[i]) {
      c->wpoll_on[i] = uv_poll_start(&c->wpoll[i], UV_WRITABLE, on_writable) == 0;
    } else if (left == 0 && c->wpoll_on[i]) {
      uv_poll_stop(&c->wpoll[i]);
      c->wpoll_on[i] = false;
    }
  }
  if (!c->output_paused && total > PAUSE_ABOVE && c->run != NULL) {
    c->output_paused = true;
    corun_run_pause_output(c->run, 1);
  } else if (c->output_paused && total < RESUME_BELOW && c->run != NULL) {
    c->output_paused = false;
    corun_run_pause_output(c->run, 0);
  }
}

static void on_writable(uv_poll_t *h, int status, int events) {
  cli_t *c = h->data;
  (void)events;
  writer_t *w = c->ws[h - c->wpoll];
  if (status < 0 && w->error == 0)
    w->error = EPIPE; /* POLLERR: the reader is gone */
  w_flush(w);
  cli_group_feed(c, false);
  pressure(c);
}

/* Called once per loop turn: what the jobs wrote goes out. */
void cli_flush(cli_t *c) {
  cli_group_feed(c, false);
  size_t pending = 0;
  for (int i = 0; i < CLI_WRITERS; i++)
    pending += c->ws[i] ? w_pending(c->ws[i]) : 0;
  if (pending == 0)
    return;
  /* The status line goes before the output and comes back under it,
   * unless a terminal is left inside a line (raw output). */
  cli_status_hide(c);
  if (c->out_tty && w_pending(&c->out) > 0)
    c->mid_line = c->out.buf[c->out.len - 1] != '\n';
  if (c->err_tty && w_pending(&c->err) > 0)
    c->mid_line = c->err.buf[c->err.len - 1] != '\n';
  for (int i = 0; i < CLI_WRITERS; i++)
    if (c->ws[i])
      w_flush(c->ws[i]);
  cli_status_show(c);
  pressure(c);
}

/* stdio writes output files through a writer: never blocking, and what a
 * stalled reader has not taken yet waits in the writer's buffer. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t size) {
  writer_t *w = cookie;
  if (w->error != 0) {
    errno = w->error;
    return -1;
  }
  w_put(w, buf, size);
  return (ssize_t)size;
}

FILE *cli_open_file(cli_t *c, int k, const char *path) {
  static const cookie_io_functions_t io = {NULL, cookie_write, NULL, NULL};
  if (strcmp(path, "-") == 0)
    return fopencookie(&c->out, "w", io);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  struct stat st;
  if (fd < 0)
    return NULL;
  if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    w_init(&c->files[k], fd);
    FILE *f = fopencookie(&c->files[k], "w", io);
    if (f == NULL) {
      close(fd);
      c->files[k].fd = -1;
    }
    return f;
  }
  FILE *f = fdopen(fd, "w");
  if (f == NULL)
    close(fd);
  return f;
}

void cli_output_start(cli_t *c, uv_loop_t *loop) {
  c->ws[0] = &c->out;
  c->ws[1] = &c->err;
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++)
    c->ws[2 + k] = c->files[k].fd >= 0 ? &c->files[k] : NULL;
  for (int i = 0; i < CLI_WRITERS; i++) {
    struct stat st;
    if (c->ws[i] == NULL)
      continue;
    int fd = c->ws[i]->fd;
    c->saved_flags[i] = fcntl(fd, F_GETFL);
    /* Only pipes and sockets: a file never blocks, and a terminal shared
     * with the shell is left as it is. uv_poll_init makes it non-blocking. */
    if (c->saved_flags[i] < 0 || fstat(fd, &st) != 0 ||
        !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
      continue;
    if (uv_poll_init(loop, &c->wpoll[i], fd) == 0) {
      c->wpoll[i].data = c;
      c->wpoll_init[i] = true;
    }
  }
}

void cli_output_close(cli_t *c) {
  for (int i = 0; i < CLI_WRITERS; i++) {
    if (c->wpoll_init[i])
      uv_close((uv_handle_t *)&c->wpoll[i], NULL);
    c->wpoll_on[i] = false;
  }
}

/*
 * The last of the output, once the loop is done: blocking again, as it
 * was. With limit_s > 0 (corun was stopped), a reader that does not read
 * gets that long, then what is left is dropped.
 */
void cli_output_finish(cli_t *c, double limit_s) {
  if (limit_s > 0) {
    /* Still non-blocking: feed and flush while the readers take it. */
    double t0 = elapsed(c);
    for (;;) {
      cli_group_feed(c, false);
      struct pollfd pfd[CLI_WRITERS];
      int which[CLI_WRITERS];
      nfds_t n = 0;
      for (int i = 0; i < CLI_WRITERS; i++) {
        writer_t *w = c->ws[i];
        if (c->wpoll_init[i] && w_pending(w) > 0 && w->error == 0) {
          which[n] = i;
          pfd[n++] = (struct pollfd){w->fd, POLLOUT, 0};
        }
      }
      if (n == 0 || elapsed(c) - t0 >= limit_s)
        break;
      if (poll(pfd, n, 100) > 0)
        for (nfds_t k = 0; k < n; k++)
          w_flush(c->ws[which[k]]);
    }
    /* A reader that did not take it all in time gets no more. */
    for (int i = 0; i < CLI_WRITERS; i++) {
      writer_t *w = c->ws[i];
      if (c->wpoll_init[i] && w_pending(w) > 0) {
        w->off = w->len = 0;
        if (w->error == 0)
          w->error = EAGAIN;
      }
    }
  }
  for (int i = 0; i < CLI_WRITERS; i++)
    if (c->wpoll_init[i])
      fcntl(c->ws[i]->fd, F_SETFL, c->saved_flags[i]);
  cli_group_feed(c, true);
  for (int i = 0; i < CLI_WRITERS; i++)
    if (c->ws[i])
      w_flush(c->ws[i]);
}
