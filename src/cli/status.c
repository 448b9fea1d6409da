/*
 * The status line: one line at the bottom of the terminal, on stderr, that
 * says how far the run is, what failed, what runs and how long is left:
 *
 *   [14/30] 2 failed · running 3: compile-a (4.1s), link, +1 · 12.4s · ~6s left
 *
 * Running jobs come longest-running first, with their time once they have
 * run a second; the estimate comes once some job has finished. The line is
 * composed at most ten times a second (the tick), cut to the terminal's
 * width (read again on SIGWINCH) and written straight to the descriptor,
 * never through the writers' buffers: before job output goes out it is
 * cleared, and the same text is put back after it, so the two never mix.
 * It is not drawn while a terminal writer is in the middle of a line (raw
 * output), and it is cleared for good at the end.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CLEAR "\r\x1b[K"
#define C_RESET "\x1b[0m"
#define C_BOLD "\x1b[1m"
#define C_DIM "\x1b[2m"
#define C_RED "\x1b[31m"
#define C_CYAN "\x1b[36m"
/* A running job shows its time once it has run this long. */
#define SHOW_AGE_S 1.0

static double now_s(const cli_t *c) {
  return (double)(uv_hrtime() - c->t0_ns) / 1e9;
}

/* ---- bookkeeping ----------------------------------------------------------- */

int cli_status_init(cli_t *c, size_t n) {
  c->started = calloc(n ? n : 1, sizeof *c->started);
  c->live = calloc(n ? n : 1, sizeof *c->live);
  c->live_pos = calloc(n ? n : 1, sizeof *c->live_pos);
  c->live_cap = n;
  if (c->started == NULL || c->live == NULL || c->live_pos == NULL)
    return -1;
  /* The middle dot only where the locale says UTF-8; " - " elsewhere. */
  const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
  const char *loc = "";
  for (int i = 0; i < 3 && *loc == '\0'; i++) {
    const char *v = getenv(vars[i]);
    loc = v ? v : "";
  }
  c->utf8 = strcasestr(loc, "utf-8") != NULL || strcasestr(loc, "utf8") != NULL;
  cli_status_resize(c);
  return 0;
}

void cli_status_free(cli_t *c) {
  free(c->started);
  free(c->live);
  free(c->live_pos);
  free(c->line);
  c->started = NULL;
  c->live = c->live_pos = NULL;
  c->line = NULL;
}

/* Room for job indexes below `n`: a run whose jobs arrive as it goes on
 * (--stream, --each) has more than its plan had at the start. */
static int reserve(cli_t *c, size_t n) {
  if (n <= c->live_cap)
    return 0;
  size_t cap = c->live_cap * 2 > n ? c->live_cap * 2 : n;
  double *started = realloc(c->started, cap * sizeof *started);
  if (started != NULL)
    c->started = started;
  size_t *live = realloc(c->live, cap * sizeof *live);
  if (live != NULL)
    c->live = live;
  size_t *pos = realloc(c->live_pos, cap * sizeof *pos);
  if (pos != NULL)
    c->live_pos = pos;
  if (started == NULL || live == NULL || pos == NULL)
    return -1;
  memset(pos + c->live_cap, 0, (cap - c->live_cap) * sizeof *pos);
  c->live_cap = cap;
  return 0;
}

/*
 * Running jobs are kept in the order they started, which is longest
 * running first: appended at the end, marked gone (SIZE_MAX) when over,
 * and the list squeezed when it is full. A job runs one attempt at a time,
 * so after squeezing there is always room.
 */
void cli_status_start(cli_t *c, size_t job) {
  if (reserve(c, job + 1) != 0)
    return; /* out of memory: the line leaves it out */
  if (c->live_len == c->live_cap) {
    size_t k = 0;
    for (size_t i = c->live_head; i < c->live_len; i++) {
      if (c->live[i] == SIZE_MAX)
        continue;
      c->live[k] = c->live[i];
      c->live_pos[c->live[k]] = k + 1;
      k++;
    }
    c->live_len = k;
    c->live_head = 0;
  }
  c->live[c->live_len++] = job;
  c->live_pos[job] = c->live_len;
  c->started[job] = now_s(c);
  c->n_running++;
}

void cli_status_over(cli_t *c, size_t job) {
  size_t p = job < c->live_cap ? c->live_pos[job] : 0;
  if (p == 0)
    return;
  c->live[p - 1] = SIZE_MAX;
  c->live_pos[job] = 0;
  c->n_running--;
  while (c->live_head < c->live_len && c->live[c->live_head] == SIZE_MAX)
    c->live_head++;
  if (c->live_head == c->live_len)
    c->live_head = c->live_len = 0;
}

/* A job ended: counted done, failed when it fails the run (the summary's
 * rule), and its time feeds the estimate when it ran. */
void cli_status_end(cli_t *c, size_t job, const corun_result_t *r) {
  cli_status_over(c, job);
  c->n_done++;
  if (r->status != CORUN_OK && r->status != CORUN_SKIPPED &&
      !(corun_plan_job(c->plan, job)->allow_failure &&
        r->status != CORUN_CANCELLED))
    c->n_failed++;
  if (r->attempts > 0 && r->status != CORUN_SKIPPED &&
      r->status != CORUN_ERROR) {
    c->timed_s += r->duration_s;
    c->n_timed++;
  }
}

/* The terminal's width: stderr's, else $COLUMNS, else 80. */
void cli_status_resize(cli_t *c) {
  struct winsize ws;
  int cols = 0;
  if (ioctl(c->err.fd, TIOCGWINSZ, &ws) == 0)
    cols = ws.ws_col;
  if (cols <= 0) {
    const char *e = getenv("COLUMNS");
    cols = e ? atoi(e) : 0;
  }
  c->cols = cols > 0 ? cols : 80;
}

/* ---- composing the line ------------------------------------------------------ */

/* The line being built: its bytes and how many columns they take. */
typedef struct {
  char *b;
  size_t len, cap;
  int cols;
  bool failed; /* out of memory */
} text_t;

static void t_put(text_t *t, const char *s, size_t n, int cols) {
  if (t->failed)
    return;
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n + 1)
      cap *= 2;
    char *b = realloc(t->b, cap);
    if (b == NULL) {
      t->failed = true;
      return;
    }
    t->b = b;
    t->cap = cap;
  }
  memcpy(t->b + t->len, s, n);
  t->len += n;
  t->b[t->len] = '\0';
  t->cols += cols;
}

/* ASCII text: one column a byte (job names are ASCII). */
static void t_str(text_t *t, const char *s) { t_put(t, s, strlen(s), (int)strlen(s)); }

static void t_color(text_t *t, bool on, const char *code) {
  if (on)
    t_put(t, code, strlen(code), 0);
}

/* "4.1s", "12.4s", "2m05s", "1h02m". */
static void fmt_secs(char *buf, size_t n, double s) {
  if (s < 60)
    snprintf(buf, n, "%.1fs", s);
  else if (s < 3600)
    snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
  else
    snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

/* "~6s left", "~2m10s left", "~1h05m left". */
static void fmt_left(char *buf, size_t n, double s) {
  int whole = (int)(s + 0.999);
  if (whole < 1)
    whole = 1;
  if (whole < 60)
    snprintf(buf, n, "~%ds left", whole);
  else if (whole < 3600)
    snprintf(buf, n, "~%dm%02ds left", whole / 60, whole % 60);
  else
    snprintf(buf, n, "~%dh%02dm left", whole / 3600, whole / 60 % 60);
}

/*
 * Seconds left, from the mean time of the jobs that finished: the jobs not
 * started yet take that long each, a running one what it has left of it
 * (a fifth of its age once it is past it), shared out over the slots.
 * Negative while nothing has finished.
 */
static double estimate(const cli_t *c, double now) {
  if (c->n_timed == 0)
    return -1;
  double mean = c->timed_s / (double)c->n_timed;
  size_t busy = c->n_done + c->n_running;
  size_t waiting = busy < c->n_selected ? c->n_selected - busy : 0;
  double work = (double)waiting * mean, longest = 0;
  for (size_t i = c->live_head; i < c->live_len; i++) {
    if (c->live[i] == SIZE_MAX)
      continue;
    double age = now - c->started[c->live[i]];
    double left = age < mean ? mean - age : age / 5;
    work += left;
    if (left > longest)
      longest = left;
  }
  busy = waiting + c->n_running;
  size_t slots = c->slots ? c->slots : 1;
  if (busy < slots)
    slots = busy ? busy : 1;
  double eta = work / (double)slots;
  return eta > longest ? eta : longest;
}

/*
 * Compose the line for a terminal c->cols wide, kept to one column less so
 * that it never wraps. The counts come first and always; the names of
 * running jobs fill the room that is left, with "+N" for the rest. When
 * there is no room for the first name, the estimate goes, then the time
 * (when that makes room), then the names' times, and the first name is
 * cut; when even the counts do not fit, cut() cuts the line.
 */
static void compose(cli_t *c, text_t *t) {
  const bool col = c->color_err;
  const char *sep = c->utf8 ? " \xc2\xb7 " : " - ";
  const size_t sep_len = strlen(sep);
  const int max = c->cols > 1 ? c->cols - 1 : 1;
  double now = now_s(c);
  char done[48], failed[32], running[32], elapsed[24], left[32];
  snprintf(done, sizeof done, "[%zu/%zu]", c->n_done, c->n_selected);
  snprintf(failed, sizeof failed, "%zu failed", c->n_failed);
  snprintf(running, sizeof running, "running %zu", c->n_running);
  fmt_secs(elapsed, sizeof elapsed, now);
  double eta = c->n_done < c->n_selected ? estimate(c, now) : -1;
  if (eta >= 0)
    fmt_left(left, sizeof left, eta);
  bool show_left = eta >= 0, show_time = true;
  int head = (int)strlen(done) + (c->n_failed ? 1 + (int)strlen(failed) : 0) +
             (c->n_running ? (c->n_failed ? 3 : 1) + (int)strlen(running) : 0);
  int tail = 3 + (int)strlen(elapsed) + (show_left ? 3 + (int)strlen(left) : 0);
  /* What the first running job's name needs: the estimate goes for it,
   * then the time, when that makes it fit. */
  int first = 0;
  for (size_t i = c->live_head; i < c->live_len && first == 0; i++)
    if (c->live[i] != SIZE_MAX)
      first = (int)strlen(corun_plan_job(c->plan, c->live[i])->name) + 2 +
              (c->n_running > 1 ? 4 : 0);
  if (show_left && (head + tail > max || max - head - tail < first)) {
    show_left = false;
    tail = 3 + (int)strlen(elapsed);
  }
  if (head + tail > max || (max - head - tail < first && max - head >= first)) {
    show_time = false;
    tail = 0;
  }

  t_color(t, col, C_BOLD);
  t_str(t, done);
  t_color(t, col, C_RESET);
  if (c->n_failed) {
    t_str(t, " ");
    t_color(t, col, C_RED);
    t_str(t, failed);
    t_color(t, col, C_RESET);
  }
  if (c->n_running) {
    if (c->n_failed)
      t_put(t, sep, sep_len, 3);
    else
      t_str(t, " ");
    t_color(t, col, C_CYAN);
    t_str(t, running);
    t_color(t, col, C_RESET);
    /* Names while they fit, keeping room for ", +N". */
    int room = max - head - tail - 2;
    size_t shown = 0;
    for (size_t i = c->live_head; i < c->live_len && room > 0; i++) {
      size_t job = c->live[i];
      if (job == SIZE_MAX)
        continue;
      const char *name = corun_plan_job(c->plan, job)->name;
      char age[32] = "";
      double a = now - c->started[job];
      if (a >= SHOW_AGE_S) {
        char s[24];
        fmt_secs(s, sizeof s, a);
        snprintf(age, sizeof age, " (%s)", s);
      }
      size_t rest = c->n_running - shown - 1;
      char more[32] = "";
      if (rest > 0)
        snprintf(more, sizeof more, ", +%zu", rest);
      int lead = shown ? 2 : 0;
      int need = lead + (int)strlen(name) + (int)strlen(age);
      if (need + (int)strlen(more) > room && *age) {
        age[0] = '\0'; /* the name without its time */
        need = lead + (int)strlen(name);
      }
      if (need + (int)strlen(more) > room) {
        /* The first name, cut, rather than none at all. */
        int fit = room - (int)strlen(more) - lead - 1;
        if (shown == 0 && fit >= 4) {
          t_str(t, ": ");
          t_put(t, name, (size_t)fit, fit);
          t_put(t, c->utf8 ? "\xe2\x80\xa6" : "~", c->utf8 ? 3 : 1, 1);
          shown++;
        }
        break;
      }
      t_str(t, shown ? ", " : ": ");
      t_str(t, name);
      if (*age) {
        t_color(t, col, C_DIM);
        t_str(t, age);
        t_color(t, col, C_RESET);
      }
      room -= need;
      shown++;
    }
    if (shown > 0 && shown < c->n_running) {
      char more[32];
      snprintf(more, sizeof more, ", +%zu", c->n_running - shown);
      t_str(t, more);
    }
  }
  if (show_time) {
    t_put(t, sep, sep_len, 3);
    t_str(t, elapsed);
  }
  if (show_left) {
    t_put(t, sep, sep_len, 3);
    t_color(t, col, C_DIM);
    t_str(t, left);
    t_color(t, col, C_RESET);
  }
}

/* Cut `t` to `max` columns: escapes and "\r" take none, a UTF-8
 * character (the separator's dot, the ellipsis) one. */
static void cut(text_t *t, int max) {
  int cols = 0;
  size_t i = 0;
  while (i < t->len) {
    unsigned char ch = (unsigned char)t->b[i];
    if (ch == 0x1b) {
      while (i < t->len && t->b[i] != 'm')
        i++;
      i++;
      continue;
    }
    if (ch < 0x20) {
      i++;
      continue;
    }
    size_t k = ch < 0x80 ? 1 : ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2;
    if (cols + 1 > max)
      break;
    cols++;
    i += k;
  }
  if (i < t->len) {
    t->len = i;
    t->b[i] = '\0';
    t->cols = cols;
  }
}

/* ---- drawing ------------------------------------------------------------------ */

/* Straight to the terminal, never through the buffers. */
static void raw_err(cli_t *c, const char *s, size_t n) {
  while (n > 0 && c->err.error == 0) {
    ssize_t k = write(c->err.fd, s, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      c->err.error = errno;
      return;
    }
    s += k;
    n -= (size_t)k;
  }
}

void cli_status_hide(cli_t *c) {
  if (c->progress_shown) {
    raw_err(c, CLEAR, strlen(CLEAR));
    c->progress_shown = false;
  }
}

/* Put the last composed line back (after job output went out above it). */
void cli_status_show(cli_t *c) {
  if (!c->progress || c->progress_shown || c->line_len == 0 || c->mid_line)
    return;
  raw_err(c, c->line, c->line_len);
  c->progress_shown = true;
}

/* Compose the line afresh and draw it over the old one in one write:
 * "\r", the text, then clear what is left of the old. */
void cli_progress(cli_t *c, bool final) {
  if (!c->progress)
    return;
  if (final) {
    cli_status_hide(c);
    return;
  }
  text_t t = {0};
  t_put(&t, "\r", 1, 0);
  compose(c, &t);
  cut(&t, c->cols > 1 ? c->cols - 1 : 1);
  if (c->color_err)
    t_put(&t, C_RESET, strlen(C_RESET), 0);
  t_put(&t, "\x1b[K", 3, 0);
  if (t.failed) {
    free(t.b);
    return;
  }
  free(c->line);
  c->line = t.b;
  c->line_len = t.len;
  if (c->mid_line)
    return;
  raw_err(c, c->line, c->line_len);
  c->progress_shown = true;
}
