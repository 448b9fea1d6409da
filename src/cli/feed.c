/*
 * Jobs that arrive while the run goes on (SPEC §11): --stream reads a job
 * file of JSON Lines, --each makes one job per item of a template, from
 * the arguments or from the lines of standard input. Input is read on the
 * loop as it arrives, never with a blocking read: a pipe, FIFO, socket
 * or terminal is watched with a uv_poll_t; a regular file cannot block
 * and is read at once. Every line becomes a submission to the open run;
 * at the end of the input the run is told no more will come.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `w` as one word for a POSIX shell: bare when nothing in it is special,
 * else in single quotes, with each ' written as '\''. */
char *cli_shell_word(const char *w) {
  static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789_-+=.,/:@%^";
  size_t n = strlen(w), quotes = 0;
  if (n > 0 && strspn(w, plain) == n)
    return strdup(w);
  for (const char *p = w; *p; p++)
    quotes += *p == '\'';
  char *out = malloc(n + 3 * quotes + 3);
  if (out == NULL)
    return NULL;
  char *o = out;
  *o++ = '\'';
  for (const char *p = w; *p; p++) {
    if (*p == '\'') {
      memcpy(o, "'\\''", 4);
      o += 4;
    } else {
      *o++ = *p;
    }
  }
  *o++ = '\'';
  *o = '\0';
  return out;
}

/* TEMPLATE with {} replaced by the quoted item and {#} by its number. */
static char *fill(const char *tmpl, const char *item, size_t number) {
  char *word = cli_shell_word(item);
  if (word == NULL)
    return NULL;
  char num[24];
  snprintf(num, sizeof num, "%zu", number);
  size_t wl = strlen(word), nl = strlen(num), len = 0;
  for (const char *p = tmpl; *p;) {
    if (strncmp(p, "{}", 2) == 0)
      len += wl, p += 2;
    else if (strncmp(p, "{#}", 3) == 0)
      len += nl, p += 3;
    else
      len++, p++;
  }
  char *out = malloc(len + 1), *o = out;
  for (const char *p = tmpl; out != NULL && *p;) {
    if (strncmp(p, "{}", 2) == 0) {
      memcpy(o, word, wl);
      o += wl, p += 2;
    } else if (strncmp(p, "{#}", 3) == 0) {
      memcpy(o, num, nl);
      o += nl, p += 3;
    } else {
      *o++ = *p++;
    }
  }
  if (out != NULL)
    *o = '\0';
  free(word);
  return out;
}

static void report(feed_t *f, corun_error_t *err) {
  for (size_t i = 0; i < err->count; i++)
    fprintf(stderr, "%s\n", err->messages[i]);
  if (err->count == 0)
    fprintf(stderr, "%s:%zu: %s\n", f->label, f->line, corun_strerror(err->code));
  f->bad++;
  if (f->on_bad)
    f->on_bad(f);
}

/* One item or one stream line: a job of the open run. */
static void take(feed_t *f, const char *s, size_t n) {
  if (f->done)
    return; /* stopped (a halt) in the middle of a read */
  f->line++;
  corun_error_t err = {0};
  int rc;
  size_t index = 0;
  if (f->tmpl != NULL) {
    char *item = strndup(s, n);
    char *cmd = item ? fill(f->tmpl, item, f->line) : NULL;
    corun_job_desc_t d = {0};
    d.shell = cmd;
    rc = cmd ? corun_run_submit(f->run, &d, &index, &err) : UV_ENOMEM;
    free(item);
    free(cmd);
  } else {
    /* Blank lines separate nothing in JSON Lines: pass over them. */
    size_t k = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
      k++;
    if (k == n)
      return;
    rc = corun_run_submit_json(f->run, s, n, f->label, f->line, &index, &err);
  }
  if (rc != 0) {
    report(f, &err);
  } else {
    f->submitted = index + 1;
    if (f->on_job)
      f->on_job(f, index);
  }
  corun_error_release(&err);
}

static void split(feed_t *f, const char *b, size_t n) {
  while (n > 0) {
    const char *nl = memchr(b, '\n', n);
    if (nl == NULL) {
      char *g = realloc(f->carry, f->carry_len + n);
      if (g == NULL)
        return;
      f->carry = g;
      memcpy(f->carry + f->carry_len, b, n);
      f->carry_len += n;
      return;
    }
    size_t k = (size_t)(nl - b);
    if (f->carry_len > 0) {
      char *g = realloc(f->carry, f->carry_len + k);
      if (g != NULL) {
        f->carry = g;
        memcpy(f->carry + f->carry_len, b, k);
        take(f, f->carry, f->carry_len + k);
      }
      f->carry_len = 0;
    } else {
      take(f, b, k);
    }
    b += k + 1;
    n -= k + 1;
  }
}

static void stop_reading(feed_t *f) {
  if (f->polled && !uv_is_closing((uv_handle_t *)&f->poll)) {
    uv_close((uv_handle_t *)&f->poll, NULL);
    uv_close((uv_handle_t *)&f->resume, NULL);
  }
}

static void finish(feed_t *f) {
  if (f->carry_len > 0)
    take(f, f->carry, f->carry_len);
  f->carry_len = 0;
  f->done = true;
  stop_reading(f);
  corun_run_close_input(f->run);
}

/*
 * --each reads its items as xargs does, not far ahead of the jobs: once
 * the job submitted AHEAD items ago has not started yet (its jobs start
 * in order), reading waits, so that an endless or fast input (`yes |`)
 * neither fills memory nor keeps the loop from the jobs. A check handle
 * looks again after each turn of the loop (a job ended, another started).
 */
#define AHEAD 1024

static bool too_far_ahead(const feed_t *f) {
  if (f->tmpl == NULL || f->submitted < AHEAD)
    return false;
  const corun_result_t *res = corun_run_result(f->run, f->submitted - AHEAD);
  return res != NULL && res->status == CORUN_PENDING && res->attempts == 0;
}

static void on_readable(uv_poll_t *h, int status, int events);

static void on_resume(uv_check_t *h) {
  feed_t *f = h->data;
  if (too_far_ahead(f))
    return;
  uv_check_stop(h);
  uv_poll_start(&f->poll, UV_READABLE | UV_DISCONNECT, on_readable);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  feed_t *f = h->data;
  (void)events;
  char buf[65536];
  for (int round = 0; round < 16 && !f->done; round++) {
    if (status == 0 && too_far_ahead(f)) {
      uv_poll_stop(h);
      uv_check_start(&f->resume, on_resume);
      return;
    }
    ssize_t n = status < 0 ? 0 : read(f->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      finish(f);
      return;
    }
    split(f, buf, (size_t)n);
  }
}

/* An input that cannot block: read it all now. */
static void read_all(feed_t *f) {
  char buf[65536];
  ssize_t n;
  while ((n = read(f->fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      split(f, buf, (size_t)n);
  finish(f);
}

int cli_feed_start(feed_t *f, uv_loop_t *loop) {
  if (f->items != NULL) {
    for (size_t i = 0; i < f->n_items; i++)
      take(f, f->items[i], strlen(f->items[i]));
    finish(f);
    return 0;
  }
  struct stat st;
  if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode)) {
    read_all(f);
    return 0;
  }
  f->saved_flags = fcntl(f->fd, F_GETFL);
  int rc = uv_poll_init(loop, &f->poll, f->fd);
  /* epoll refuses what never blocks but is not a regular file (/dev/null). */
  if (rc == UV_EPERM) {
    read_all(f);
    return 0;
  }
  if (rc != 0) {
    /* Nothing was read: the run ends with no job, and fails. */
    fprintf(stderr, "corun: %s: cannot read: %s\n", f->label, uv_strerror(rc));
    f->bad++;
    if (f->on_bad)
      f->on_bad(f);
    finish(f);
    return 0;
  }
  f->polled = true;
  f->poll.data = f;
  uv_check_init(loop, &f->resume);
  f->resume.data = f;
  return uv_poll_start(&f->poll, UV_READABLE | UV_DISCONNECT, on_readable);
}

void cli_feed_stop(feed_t *f) {
  stop_reading(f);
  if (!f->done) {
    f->done = true;
    corun_run_close_input(f->run);
  }
}

void cli_feed_free(feed_t *f) {
  if (f->polled && f->saved_flags >= 0)
    fcntl(f->fd, F_SETFL, f->saved_flags);
  free(f->carry);
  f->carry = NULL;
}
