/* JUnit XML of a run (SPEC §4 --junit): one testcase per selected job,
 * failed and timed-out jobs as failures, jobs that could not start as
 * errors, skipped and cancelled ones as skipped, and each job's captured
 * output. Checked against xmllint and junitparser by the test suite. */
#include "internal.h"

#include <string.h>

static int write_junit(corun_run_t *run, FILE *f, int exit_code) {
  const corun_plan_t *plan = corun_run_plan(run);
  size_t n = corun_plan_job_count(plan), tests = 0, failures = 0, errors = 0,
         skipped = 0;
  (void)exit_code;
  for (size_t i = 0; i < n; i++) {
    if (!corun_run_selected(run, i))
      continue;
    const corun_result_t *r = corun_run_result(run, i);
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
          tests, failures, errors, skipped, corun_run_duration(run));
  for (size_t i = 0; i < n; i++) {
    if (!corun_run_selected(run, i))
      continue;
    const corun_result_t *r = corun_run_result(run, i);
    fputs("  <testcase classname=\"corun\" name=\"", f);
    corun__xml_cstr(f, r->name);
    fprintf(f, "\" time=\"%.3f\">\n", r->duration_s);
    const char *sig = r->signal ? corun_signal_name(r->signal) : NULL;
    switch (r->status) {
    case CORUN_FAILED:
    case CORUN_TIMEOUT:
      fprintf(f, "    <failure type=\"%s\" message=\"",
              corun_status_name(r->status));
      if (r->status == CORUN_TIMEOUT)
        fputs("timed out", f);
      else if (r->signal)
        corun__xml_cstr(f, sig ? sig : "signal");
      else
        fprintf(f, "exit %d", r->exit_code);
      fputs("\"/>\n", f);
      break;
    case CORUN_ERROR:
      fputs("    <error message=\"", f);
      corun__xml_cstr(f, r->error ? r->error : "could not start");
      fputs("\"/>\n", f);
      break;
    case CORUN_SKIPPED:
    case CORUN_CANCELLED:
      fputs("    <skipped message=\"", f);
      corun__xml_cstr(f, r->status == CORUN_CANCELLED ? "cancelled"
                         : r->reason                  ? r->reason
                                                      : "skipped");
      fputs("\"/>\n", f);
      break;
    default:
      break;
    }
    if (r->out_len) {
      fputs("    <system-out>", f);
      corun__xml_text(f, r->out_tail, r->out_len);
      fputs("</system-out>\n", f);
    }
    if (r->err_len) {
      fputs("    <system-err>", f);
      corun__xml_text(f, r->err_tail, r->err_len);
      fputs("</system-err>\n", f);
    }
    fputs("  </testcase>\n", f);
  }
  fputs("</testsuite>\n</testsuites>\n", f);
  return 0;
}

int corun__sink_junit(corun__sink_t **out, corun_run_t *run, FILE *f) {
  return corun__sink_file(out, run, f, write_junit);
}
