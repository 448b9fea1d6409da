/*
 * The SVG timeline of a run (SPEC §4 --timeline), drawn from the span
 * recorder: a row per parallel slot, a bar per attempt coloured by its
 * status, with a legend of the colours, a time axis at round steps, and the
 * critical path outlined: the chain of needs that decided when the run
 * ended. Every bar is a <g class="bar"> whose <title> (the tooltip) names
 * the job, the attempt, its status and times; the name is written inside
 * the bar too where it fits, or just after it when its row is free there.
 * Legend, axis, links and notes are plain elements with a class each, so
 * that every <g> is a bar. Self-contained: no script, no external style;
 * every piece of text goes through corun__xml_text.
 *
 * Big runs stay readable: past MAX_ROWS slots, rows hold several slots
 * each; past MERGE_ABOVE attempts (or with rows shared), attempts of one
 * row that overlap, or that touch and are too thin to see, are merged into
 * one bar when they ended alike, and a note says so. Critical attempts are
 * never merged.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define LEFT 84      /* room for the row labels */
#define PLOT_W 1000  /* the time axis */
#define RIGHT 72     /* room for the name of a last, short attempt */
#define MAX_ROWS 40
#define MERGE_ABOVE 500
#define THIN_PX 3.0  /* bars thinner than this merge with their neighbours */
#define CHAR_PX 6.4  /* a character of the 11 px sans-serif, generously */

typedef struct {
  const char *name;
  const char *fill, *ink; /* the bar, and text written on it */
  const char *light;      /* merged bars */
} look_t;

static const look_t looks[] = {
    [CORUN_PENDING] = {"pending", "#bdbdbd", "#212121", "#e0e0e0"},
    [CORUN_OK] = {"ok", "#43a047", "#ffffff", "#a5d6a7"},
    [CORUN_FAILED] = {"failed", "#e53935", "#ffffff", "#ef9a9a"},
    [CORUN_TIMEOUT] = {"timeout", "#fb8c00", "#212121", "#ffcc80"},
    [CORUN_CANCELLED] = {"cancelled", "#9e9e9e", "#212121", "#d6d6d6"},
    [CORUN_SKIPPED] = {"skipped", "#e0e0e0", "#212121", "#eeeeee"},
    [CORUN_ERROR] = {"error", "#8e24aa", "#ffffff", "#ce93d8"},
};
#define N_LOOKS (sizeof looks / sizeof *looks)

static const look_t *look(corun_status_t st) {
  return (unsigned)st < N_LOOKS ? &looks[st] : &looks[0];
}

/* ---- the time axis ---------------------------------------------------------- */

/*
 * The smallest round step that cuts `total` into at most ten: 1-2-5 steps
 * of seconds up to 10 s, then 15 and 30 s; past two minutes, steps of
 * minutes and hours (30 s still allowed, written 2m30s).
 */
static double tick_step(double total) {
  static const double secs[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                0.2, 0.5, 1, 2, 5, 10, 15, 30, 60};
  static const double mins[] = {30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
                                10800, 21600, 43200, 86400};
  const double *steps = total > 120 ? mins : secs;
  size_t n = total > 120 ? sizeof mins / sizeof *mins : sizeof secs / sizeof *secs;
  for (size_t i = 0; i < n; i++)
    if (total / steps[i] <= 10.0 + 1e-9)
      return steps[i];
  double step = 86400;
  while (total / step > 10)
    step *= 2;
  return step;
}

/* "0", "0.2s", "15s" under two minutes; "30s", "1m", "2m30s", "1h",
 * "1h30m" past. */
static void tick_label(char *buf, size_t n, double v, double step, bool minutes) {
  if (v == 0) {
    snprintf(buf, n, "0");
  } else if (!minutes) {
    int decimals = step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0;
    snprintf(buf, n, "%.*fs", decimals, v);
  } else {
    long s = (long)(v + 0.5);
    long h = s / 3600, m = s / 60 % 60, sec = s % 60;
    if (h > 0 && m > 0)
      snprintf(buf, n, "%ldh%ldm", h, m);
    else if (h > 0)
      snprintf(buf, n, "%ldh", h);
    else if (sec > 0 && m > 0)
      snprintf(buf, n, "%ldm%02lds", m, sec);
    else if (sec > 0)
      snprintf(buf, n, "%lds", sec);
    else
      snprintf(buf, n, "%ldm", m);
  }
}

/* ---- the critical path -------------------------------------------------------- */

/*
 * From the job whose last attempt ended last, back through the need that
 * ended last, and so on while there is one that ran: the chain that set
 * the run's length. crit[job] is set for each job on it; `last` holds each
 * job's last span index + 1 (0: it never ran). Returns how many.
 */
static size_t critical_path(corun_run_t *run, const corun__span_t *sp,
                            const size_t *last, size_t jobs,
                            unsigned char *crit, size_t *chain) {
  const corun_plan_t *plan = corun__run_plan(run);
  size_t cur = SIZE_MAX, len = 0;
  for (size_t j = 0; j < jobs; j++)
    if (last[j] && (cur == SIZE_MAX || sp[last[j] - 1].t1 > sp[last[cur] - 1].t1))
      cur = j;
  while (cur != SIZE_MAX && !crit[cur]) {
    crit[cur] = 1;
    chain[len++] = cur;
    const char *const *needs = corun_plan_job(plan, cur)->needs;
    size_t next = SIZE_MAX;
    for (size_t k = 0; needs && needs[k]; k++) {
      size_t d;
      if (corun_plan_find(plan, needs[k], &d) != 0 || d >= jobs || !last[d])
        continue;
      if (next == SIZE_MAX || sp[last[d] - 1].t1 > sp[last[next] - 1].t1)
        next = d;
    }
    cur = next;
  }
  return len;
}

/* ---- drawing ----------------------------------------------------------------- */

typedef struct {
  FILE *f;
  corun_run_t *run;
  double total;  /* seconds the axis spans */
  double top;    /* y of the first row */
  int row_h;
  size_t rows, lanes;
} canvas_t;

static double x_of(const canvas_t *cv, double t) {
  return LEFT + PLOT_W * t / cv->total;
}

static size_t row_of(const canvas_t *cv, unsigned lane) {
  return cv->lanes > MAX_ROWS ? (size_t)lane * MAX_ROWS / cv->lanes : lane;
}

/* One attempt: its bar, the name inside when it fits (else just after it,
 * when its row is free up to `room_to`, in seconds), its tooltip. */
static void draw_bar(const canvas_t *cv, const corun__span_t *s, bool crit,
                     double room_to) {
  FILE *f = cv->f;
  const char *name = corun__run_job_name(cv->run, s->job);
  const look_t *lk = look(s->status);
  double x = x_of(cv, s->t0), w = PLOT_W * (s->t1 - s->t0) / cv->total;
  if (w < 1)
    w = 1;
  double y = cv->top + (double)row_of(cv, s->lane) * cv->row_h + 2;
  fprintf(f, "<g class=\"%s\"><title>", crit ? "bar critical" : "bar");
  corun__xml_cstr(f, name);
  fprintf(f, " (attempt %u): %s, %.3fs, from %.3fs%s</title>", s->attempt,
          corun_status_name(s->status), s->t1 - s->t0, s->t0,
          crit ? "; on the critical path" : "");
  fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"",
          x, y, w, cv->row_h - 4, lk->fill);
  if (crit)
    fputs(" stroke=\"#111111\" stroke-width=\"2\"", f);
  fputs("/>", f);
  size_t len = strlen(name);
  double text_w = (double)len * CHAR_PX + 8;
  if (cv->row_h >= 18 && w >= text_w) {
    fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"%.0f\" fill=\"%s\">", x + 4,
            y + cv->row_h / 2.0 + 2, lk->ink);
    corun__xml_text(f, name, len);
    fputs("</text>", f);
  } else if (cv->row_h >= 18 &&
             x + w + text_w <= (room_to < cv->total ? x_of(cv, room_to)
                                                    : LEFT + PLOT_W + RIGHT)) {
    fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"%.0f\" fill=\"#333333\">",
            x + w + 3, y + cv->row_h / 2.0 + 2);
    corun__xml_text(f, name, len);
    fputs("</text>", f);
  }
  fputs("</g>\n", f);
}

/* Attempts of one row that ended alike, merged into one bar: how many,
 * when, and the first few names. */
#define GROUP_NAMES 8
typedef struct {
  corun_status_t status;
  size_t row, count;
  double t0, t1;
  size_t span[GROUP_NAMES]; /* the first few */
} group_t;

static void draw_merged(const canvas_t *cv, const corun__span_t *sp,
                        const group_t *g) {
  FILE *f = cv->f;
  double x = x_of(cv, g->t0), w = PLOT_W * (g->t1 - g->t0) / cv->total;
  if (w < 1)
    w = 1;
  double y = cv->top + (double)g->row * cv->row_h + 2;
  fprintf(f, "<g class=\"bar merged\"><title>%zu attempts, all %s, from %.3fs to %.3fs: ",
          g->count, corun_status_name(g->status), g->t0, g->t1);
  for (size_t i = 0; i < g->count && i < GROUP_NAMES; i++) {
    if (i)
      fputs(", ", f);
    corun__xml_cstr(f, corun__run_job_name(cv->run, sp[g->span[i]].job));
  }
  fprintf(f, "%s</title><rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" "
             "fill=\"%s\"/></g>\n",
          g->count > GROUP_NAMES ? ", \xE2\x80\xA6" : "", x, y, w, cv->row_h - 4,
          look(g->status)->light);
}

/* The legend: a key per status a bar can have, the critical path's
 * outline, and the merged bars' look when there are any. Returns nothing;
 * everything sits on one line at `y`. */
static void draw_legend(FILE *f, double y, bool merged) {
  static const corun_status_t keys[] = {CORUN_OK, CORUN_FAILED, CORUN_TIMEOUT,
                                        CORUN_CANCELLED, CORUN_ERROR};
  double x = LEFT;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    const look_t *lk = look(keys[i]);
    fprintf(f, "<rect class=\"key\" x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
               "rx=\"2\" fill=\"%s\"/><text class=\"legend\" x=\"%.0f\" y=\"%.0f\">%s</text>\n",
            x, y - 10, lk->fill, x + 16, y, lk->name);
    x += 16 + (double)strlen(lk->name) * CHAR_PX + 14;
  }
  fprintf(f, "<rect class=\"key critical\" x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
             "rx=\"2\" fill=\"#ffffff\" stroke=\"#111111\" stroke-width=\"2\"/>"
             "<text class=\"legend\" x=\"%.0f\" y=\"%.0f\">critical path</text>\n",
          x, y - 10, x + 16, y);
  x += 16 + 13 * CHAR_PX + 14;
  if (merged)
    fprintf(f, "<rect class=\"key merged\" x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
               "fill=\"%s\"/>"
               "<text class=\"legend\" x=\"%.0f\" y=\"%.0f\">merged attempts (lighter)</text>\n",
            x, y - 10, looks[CORUN_OK].light, x + 16, y);
}

/*
 * The bars of every row, merging when `merge` is set: an attempt joins the
 * open group of its row that ended alike when it overlaps it, or touches
 * it while too thin to see; otherwise it opens a new one. Groups of one
 * are plain bars. Attempts that went well are drawn first, the others on
 * top, so that no failure hides under a merged bar. Returns how many bars
 * were merged groups; *merged_spans counts the attempts in them.
 */
static size_t draw_bars(const canvas_t *cv, const corun__span_t *sp, size_t n,
                        const unsigned char *crit, bool merge,
                        const double *room, size_t *merged_spans) {
  *merged_spans = 0;
  group_t *gs = merge ? calloc(n ? n : 1, sizeof *gs) : NULL;
  if (gs == NULL) {
    for (int pass = 0; pass < 2; pass++)
      for (size_t i = 0; i < n; i++)
        if (!crit[sp[i].job] && (sp[i].status == CORUN_OK) == (pass == 0))
          draw_bar(cv, &sp[i], false, room[i]);
    return 0;
  }
  /* Per row, its open group of each status. Spans come in order of their
   * start, so each row's do too. */
  size_t *open = malloc(cv->rows * N_LOOKS * sizeof *open);
  if (open == NULL) {
    free(gs);
    return draw_bars(cv, sp, n, crit, false, room, merged_spans);
  }
  for (size_t k = 0; k < cv->rows * N_LOOKS; k++)
    open[k] = SIZE_MAX;
  const double px = cv->total / PLOT_W; /* seconds a pixel */
  size_t ng = 0;
  for (size_t i = 0; i < n; i++) {
    const corun__span_t *b = &sp[i];
    if (crit[b->job])
      continue;
    size_t row = row_of(cv, b->lane);
    size_t *o = &open[row * N_LOOKS + ((unsigned)b->status < N_LOOKS ? b->status : 0)];
    group_t *g = *o == SIZE_MAX ? NULL : &gs[*o];
    bool thin = b->t1 - b->t0 < THIN_PX * px;
    if (g && (b->t0 < g->t1 - px / 2 ||
              (thin && g->t1 - g->t0 < THIN_PX * 8 * px && b->t0 <= g->t1 + px))) {
      if (g->count < GROUP_NAMES)
        g->span[g->count] = i;
      g->count++;
      if (b->t1 > g->t1)
        g->t1 = b->t1;
      continue;
    }
    *o = ng;
    gs[ng++] = (group_t){b->status, row, 1, b->t0, b->t1, {i}};
  }
  size_t groups = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t k = 0; k < ng; k++) {
      const group_t *g = &gs[k];
      if ((g->status == CORUN_OK) != (pass == 0))
        continue;
      if (g->count == 1) {
        draw_bar(cv, &sp[g->span[0]], false, room[g->span[0]]);
      } else {
        draw_merged(cv, sp, g);
        groups++;
        *merged_spans += g->count;
      }
    }
  }
  free(open);
  free(gs);
  return groups;
}

static int write_timeline(corun_run_t *run, FILE *f, int exit_code) {
  size_t n, lanes;
  const corun__span_t *sp = corun__spans(corun__run_spans(run), &n, &lanes);
  (void)exit_code;
  const corun_plan_t *plan = corun__run_plan(run);
  size_t jobs = corun_plan_job_count(plan), selected = 0, skipped = 0;
  for (size_t j = 0; j < jobs; j++) {
    if (!corun__run_selected(run, j))
      continue;
    selected++;
    skipped += corun_run_result(run, j)->status == CORUN_SKIPPED;
  }
  double total = corun_run_duration(run);
  for (size_t i = 0; i < n; i++)
    if (sp[i].t1 > total)
      total = sp[i].t1;
  if (total <= 0)
    total = 0.001;

  /* Per job: its first and last span + 1, its place on the critical
   * path; per span: how far its row is free after it. */
  size_t *last = calloc(jobs ? jobs : 1, sizeof *last);
  size_t *first = calloc(jobs ? jobs : 1, sizeof *first);
  size_t *chain = calloc(jobs ? jobs : 1, sizeof *chain);
  unsigned char *crit = calloc(jobs ? jobs : 1, 1);
  double *room = calloc(n ? n : 1, sizeof *room);
  double *next_t0 = calloc(lanes ? lanes : 1, sizeof *next_t0);
  int rc = 0;
  if (last == NULL || first == NULL || chain == NULL || crit == NULL ||
      room == NULL || next_t0 == NULL) {
    rc = UV_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (sp[i].job >= jobs)
      continue;
    last[sp[i].job] = i + 1;
    if (first[sp[i].job] == 0)
      first[sp[i].job] = i + 1;
  }
  size_t crit_len = critical_path(run, sp, last, jobs, crit, chain);
  /* A row is free after an attempt until the next attempt on its slot
   * starts, or the run ends; rows that hold several slots have no room to
   * spare. */
  for (size_t l = 0; l < lanes; l++)
    next_t0[l] = total;
  for (size_t i = n; i-- > 0;) {
    room[i] = lanes > MAX_ROWS ? 0 : next_t0[sp[i].lane];
    next_t0[sp[i].lane] = sp[i].t0;
  }

  canvas_t cv = {f, run, total, 0, 22, 0, lanes};
  cv.rows = lanes > MAX_ROWS ? MAX_ROWS : (lanes ? lanes : 1);
  if (cv.rows > 16)
    cv.row_h = 14;
  /* A run that merges has a note, under the legend. */
  bool merge = n > MERGE_ABOVE || lanes > MAX_ROWS;
  cv.top = merge ? 80 : 62;
  double plot_h = (double)cv.rows * cv.row_h;
  int width = LEFT + PLOT_W + RIGHT;
  int height = (int)(cv.top + plot_h + 34);

  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
          "<title>corun run, %.3fs</title>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
          width, height, width, height, total);
  fprintf(f, "<text class=\"heading\" x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">"
             "corun: %zu attempts of %zu jobs in %.3fs",
          LEFT, n, selected, total);
  if (skipped)
    fprintf(f, ", %zu skipped", skipped);
  fputs("</text>\n", f);
  draw_legend(f, 42, merge);

  /* Rows: a label each, shaded alternately. */
  for (size_t r = 0; r < cv.rows; r++) {
    double y = cv.top + (double)r * cv.row_h;
    if (r % 2)
      fprintf(f, "<rect class=\"row\" x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\" "
                 "fill=\"#f5f5f5\"/>\n", LEFT, y, PLOT_W, cv.row_h);
    if (lanes > MAX_ROWS) {
      size_t lo = (r * lanes + MAX_ROWS - 1) / MAX_ROWS + 1;
      size_t hi = ((r + 1) * lanes + MAX_ROWS - 1) / MAX_ROWS;
      fprintf(f, "<text class=\"slot\" x=\"4\" y=\"%.0f\" fill=\"#555555\">slots %zu\xE2\x80\x93%zu</text>\n",
              y + cv.row_h / 2.0 + 4, lo, hi);
    } else if (r < lanes) {
      fprintf(f, "<text class=\"slot\" x=\"4\" y=\"%.0f\" fill=\"#555555\">slot %zu</text>\n",
              y + cv.row_h / 2.0 + 4, r + 1);
    }
  }

  /* The axis: a line and a label at every round step. */
  double step = tick_step(total);
  double bottom = cv.top + plot_h;
  for (size_t k = 0; (double)k * step <= total * (1 + 1e-9); k++) {
    double v = (double)k * step, x = x_of(&cv, v);
    char label[32];
    tick_label(label, sizeof label, v, step, total > 120);
    fprintf(f, "<line class=\"tick\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
               "stroke=\"#dddddd\"/><text class=\"tick\" x=\"%.1f\" y=\"%.0f\" "
               "fill=\"#555555\" text-anchor=\"middle\">%s</text>\n",
            x, cv.top - 4, x, bottom + 4, x, bottom + 18, label);
  }

  size_t merged_spans = 0;
  size_t groups = draw_bars(&cv, sp, n, crit, merge, room, &merged_spans);

  /* The critical path on top: the links from each need's end to the start
   * of what needed it, then its attempts, outlined. */
  for (size_t c = crit_len; c-- > 1;) {
    const corun__span_t *need = &sp[last[chain[c]] - 1];
    const corun__span_t *next = &sp[first[chain[c - 1]] - 1];
    double y0 = cv.top + (double)row_of(&cv, need->lane) * cv.row_h + cv.row_h / 2.0;
    double y1 = cv.top + (double)row_of(&cv, next->lane) * cv.row_h + cv.row_h / 2.0;
    fprintf(f, "<line class=\"critical-link\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" "
               "y2=\"%.0f\" stroke=\"#111111\" stroke-width=\"1.5\" "
               "stroke-dasharray=\"3 2\"/>\n",
            x_of(&cv, need->t1), y0, x_of(&cv, next->t0), y1);
  }
  for (size_t i = 0; i < n; i++)
    if (crit[sp[i].job])
      draw_bar(&cv, &sp[i], true, room[i]);

  if (merge) {
    fprintf(f, "<text class=\"note\" x=\"%d\" y=\"64\" fill=\"#555555\">", LEFT);
    if (lanes > MAX_ROWS)
      fprintf(f, "%zu slots drawn as %zu rows; ", lanes, cv.rows);
    if (groups > 0)
      fprintf(f, "%zu attempts that overlap or are too short to see are merged "
                 "into %zu bars (hover for what each holds)",
              merged_spans, groups);
    else
      fputs("no attempts needed merging", f);
    fputs("</text>\n", f);
  }
  fputs("</svg>\n", f);
done:
  free(last);
  free(first);
  free(chain);
  free(crit);
  free(room);
  free(next_t0);
  return rc;
}

int corun__sink_timeline(corun__sink_t **out, corun_run_t *run, FILE *f) {
  if (corun__run_spans(run) == NULL)
    return UV_ENOMEM;
  return corun__sink_file(out, run, f, write_timeline);
}
