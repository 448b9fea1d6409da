/* The SVG timeline of a run (SPEC §4 --timeline): a lane per parallel
 * slot, a bar per attempt coloured by its status, names and times in each
 * bar's title. Self-contained: no script, no external style. */
#include "internal.h"

static const char *status_color(corun_status_t st) {
  switch (st) {
  case CORUN_OK: return "#4caf50";
  case CORUN_FAILED: return "#e53935";
  case CORUN_TIMEOUT: return "#fb8c00";
  case CORUN_CANCELLED: return "#9e9e9e";
  case CORUN_ERROR: return "#8e24aa";
  default: return "#bdbdbd";
  }
}

static int write_timeline(corun_run_t *run, FILE *f, int exit_code) {
  size_t n, lanes;
  const corun__span_t *sp = corun__spans(corun__run_spans(run), &n, &lanes);
  (void)exit_code;
  double total = corun_run_duration(run);
  if (total <= 0)
    total = 0.001;
  const int left = 70, width = 1000, lane_h = 22, top = 30;
  int height = top + (int)(lanes ? lanes : 1) * lane_h + 30;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "font-family=\"sans-serif\" font-size=\"11\">\n"
          "<title>corun run, %.3fs</title>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
          "<text x=\"%d\" y=\"18\">corun: %zu attempts in %.3fs</text>\n",
          left + width + 20, height, total, left, n, total);
  for (size_t l = 0; l < lanes; l++)
    fprintf(f, "<text x=\"4\" y=\"%zu\">slot %zu</text>\n",
            top + l * lane_h + 15, l + 1);
  for (int k = 0; k <= 10; k++) {
    int x = left + width * k / 10;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eeeeee\"/>"
            "<text x=\"%d\" y=\"%d\" fill=\"#666666\">%.2fs</text>\n",
            x, top, x, height - 25, x - 10, height - 10, total * k / 10);
  }
  for (size_t i = 0; i < n; i++) {
    const corun__span_t *s = &sp[i];
    const char *name = corun__run_job_name(run, s->job);
    double x = left + width * s->t0 / total;
    double w = width * (s->t1 - s->t0) / total;
    if (w < 1)
      w = 1;
    fputs("<g><title>", f);
    corun__xml_cstr(f, name);
    fprintf(f, " (attempt %u): %s, %.3fs, from %.3fs</title>"
               "<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"%d\" "
               "rx=\"2\" fill=\"%s\"/>",
            s->attempt, corun_status_name(s->status), s->t1 - s->t0, s->t0, x,
            (size_t)top + s->lane * (size_t)lane_h + 2, w, lane_h - 4,
            status_color(s->status));
    if (w > 40) {
      fprintf(f, "<text x=\"%.1f\" y=\"%zu\" fill=\"#ffffff\">", x + 3,
              (size_t)top + s->lane * (size_t)lane_h + 15);
      corun__xml_cstr(f, name);
      fputs("</text>", f);
    }
    fputs("</g>\n", f);
  }
  fputs("</svg>\n", f);
  return 0;
}

int corun__sink_timeline(corun__sink_t **out, corun_run_t *run, FILE *f) {
  if (corun__run_spans(run) == NULL)
    return UV_ENOMEM;
  return corun__sink_file(out, run, f, write_timeline);
}
