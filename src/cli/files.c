/*
 * Files the command line writes once a run has ended: JUnit XML, a Chrome
 * trace-event JSON, and an SVG timeline. The last two are drawn from the
 * spans recorded for every attempt (output.c): one lane per parallel slot.
 */
#include "cli.h"

#include <string.h>

/* XML text: escaped, with the characters XML 1.0 cannot hold dropped and
 * bytes that are not UTF-8 replaced, by way of the JSON writer's rules. */
static void xml_text(FILE *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\n': case '\t': case '\r': putc(ch, f); break;
    default:
      if (ch < 0x20)
        fputs("\xEF\xBF\xBD", f);
      else if (ch < 0x80)
        putc(ch, f);
      else {
        /* Copy a valid UTF-8 sequence, replace anything else. */
        size_t len = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 ? 2 : 0;
        bool ok = len > 0 && i + len <= n && ch <= 0xF4;
        for (size_t k = 1; ok && k < len; k++)
          ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok) {
          fwrite(s + i, 1, len, f);
          i += len - 1;
        } else {
          fputs("\xEF\xBF\xBD", f);
        }
      }
    }
  }
}

static void xml_cstr(FILE *f, const char *s) { xml_text(f, s, strlen(s)); }

int cli_write_junit(const cli_t *c, FILE *f) {
  size_t n = corun_plan_job_count(c->plan), tests = 0, failures = 0,
         errors = 0, skipped = 0;
  for (size_t i = 0; i < n; i++) {
    if (!corun_plan_job_selected(c->plan, i))
      continue;
    const corun_result_t *r = corun_run_result(c->run, i);
    tests++;
    failures += r->status == CORUN_FAILED || r->status == CORUN_TIMEOUT;
    errors += r->status == CORUN_ERROR;
    skipped += r->status == CORUN_SKIPPED || r->status == CORUN_CANCELLED;
  }
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<testsuites>\n"
          "<testsuite name=\"corun\" tests=\"%zu\" failures=\"%zu\" "
          "errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
          tests, failures, errors, skipped, corun_run_duration(c->run));
  for (size_t i = 0; i < n; i++) {
    if (!corun_plan_job_selected(c->plan, i))
      continue;
    const corun_result_t *r = corun_run_result(c->run, i);
    fputs("  <testcase classname=\"corun\" name=\"", f);
    xml_cstr(f, r->name);
    fprintf(f, "\" time=\"%.3f\">\n", r->duration_s);
    switch (r->status) {
    case CORUN_FAILED:
    case CORUN_TIMEOUT:
      fprintf(f, "    <failure type=\"%s\" message=\"", corun_status_name(r->status));
      if (r->status == CORUN_TIMEOUT)
        fputs("timed out", f);
      else if (r->signal)
        xml_cstr(f, corun_signal_name(r->signal) ? corun_signal_name(r->signal) : "signal");
      else
        fprintf(f, "exit %d", r->exit_code);
      fputs("\"/>\n", f);
      break;
    case CORUN_ERROR:
      fputs("    <error message=\"", f);
      xml_cstr(f, r->error ? r->error : "could not start");
      fputs("\"/>\n", f);
      break;
    case CORUN_SKIPPED:
    case CORUN_CANCELLED:
      fputs("    <skipped message=\"", f);
      xml_cstr(f, r->status == CORUN_CANCELLED ? "cancelled"
                  : r->reason                  ? r->reason
                                               : "skipped");
      fputs("\"/>\n", f);
      break;
    default:
      break;
    }
    if (r->out_len) {
      fputs("    <system-out>", f);
      xml_text(f, r->out_tail, r->out_len);
      fputs("</system-out>\n", f);
    }
    if (r->err_len) {
      fputs("    <system-err>", f);
      xml_text(f, r->err_tail, r->err_len);
      fputs("</system-err>\n", f);
    }
    fputs("  </testcase>\n", f);
  }
  fputs("</testsuite>\n</testsuites>\n", f);
  return fflush(f);
}

int cli_write_trace(const cli_t *c, FILE *f) {
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
  fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"corun\"}}", f);
  for (size_t i = 0; i < c->n_lanes; i++)
    fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%zu,"
               "\"args\":{\"name\":\"slot %zu\"}}", i + 1, i + 1);
  for (size_t i = 0; i < c->n_spans; i++) {
    const span_t *s = &c->spans[i];
    const char *name = corun_plan_job(c->plan, s->job)->name;
    fputs(",\n{\"name\":", f);
    corun_json_string(f, name, strlen(name));
    fprintf(f,
            ",\"cat\":\"job\",\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.0f,"
            "\"dur\":%.0f,\"args\":{\"status\":\"%s\",\"attempt\":%u}}",
            s->lane + 1, s->t0 * 1e6, (s->t1 - s->t0) * 1e6,
            corun_status_name(s->status), s->attempt);
  }
  fputs("\n]}\n", f);
  return fflush(f);
}

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

int cli_write_timeline(const cli_t *c, FILE *f) {
  double total = corun_run_duration(c->run);
  if (total <= 0)
    total = 0.001;
  const int left = 70, width = 1000, lane_h = 22, top = 30;
  int height = top + (int)(c->n_lanes ? c->n_lanes : 1) * lane_h + 30;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "font-family=\"sans-serif\" font-size=\"11\">\n"
          "<title>corun run, %.3fs</title>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
          "<text x=\"%d\" y=\"18\">corun: %zu attempts in %.3fs</text>\n",
          left + width + 20, height, total, left, c->n_spans, total);
  for (size_t l = 0; l < c->n_lanes; l++)
    fprintf(f, "<text x=\"4\" y=\"%zu\">slot %zu</text>\n",
            top + l * lane_h + 15, l + 1);
  for (int k = 0; k <= 10; k++) {
    int x = left + width * k / 10;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eeeeee\"/>"
            "<text x=\"%d\" y=\"%d\" fill=\"#666666\">%.2fs</text>\n",
            x, top, x, height - 25, x - 10, height - 10, total * k / 10);
  }
  for (size_t i = 0; i < c->n_spans; i++) {
    const span_t *s = &c->spans[i];
    const char *name = corun_plan_job(c->plan, s->job)->name;
    double x = left + width * s->t0 / total;
    double w = width * (s->t1 - s->t0) / total;
    if (w < 1)
      w = 1;
    fprintf(f,
            "<g><title>");
    xml_cstr(f, name);
    fprintf(f, " (attempt %u): %s, %.3fs, from %.3fs</title>"
               "<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"%d\" "
               "rx=\"2\" fill=\"%s\"/>",
            s->attempt, corun_status_name(s->status), s->t1 - s->t0, s->t0, x,
            (size_t)top + s->lane * (size_t)lane_h + 2, w, lane_h - 4,
            status_color(s->status));
    if (w > 40) {
      fprintf(f, "<text x=\"%.1f\" y=\"%zu\" fill=\"#ffffff\">", x + 3,
              (size_t)top + s->lane * (size_t)lane_h + 15);
      xml_cstr(f, name);
      fputs("</text>", f);
    }
    fputs("</g>\n", f);
  }
  fputs("</svg>\n", f);
  return fflush(f);
}
