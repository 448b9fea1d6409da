/* The JSON report of a run (SPEC §5): every selected job's result, in
 * job-file order. Written at the end by its sink, or at any time by
 * corun_run_write_report(). */
#include "internal.h"

#include <string.h>

int corun_run_write_report(const corun_run_t *run, FILE *f, int exit_code) {
  const corun_plan_t *plan = corun_run_plan(run);
  size_t n = corun_plan_job_count(plan);
  size_t counts[7] = {0};
  for (size_t i = 0; i < n; i++)
    if (corun_run_selected(run, i))
      counts[corun_run_result(run, i)->status]++;
  int code = exit_code >= 0 ? exit_code : corun_run_exit_code(run);
  const char *status = !corun_run_ended(run)      ? "running"
                       : corun_run_cancelled(run) ? "cancelled"
                       : code == 0                ? "ok"
                                                  : "failed";
  fprintf(f, "{\"corun\":1,\"status\":\"%s\",\"exit_code\":%d,\"started_at\":",
          status, code < 0 ? 1 : code);
  corun__json_time(f, corun_run_started_at(run));
  fputs(",\"duration_s\":", f);
  corun__json_num(f, corun_run_duration(run));
  fprintf(f,
          ",\"counts\":{\"ok\":%zu,\"failed\":%zu,\"timeout\":%zu,"
          "\"cancelled\":%zu,\"skipped\":%zu,\"error\":%zu},\"jobs\":[",
          counts[CORUN_OK], counts[CORUN_FAILED], counts[CORUN_TIMEOUT],
          counts[CORUN_CANCELLED], counts[CORUN_SKIPPED], counts[CORUN_ERROR]);
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    if (!corun_run_selected(run, i))
      continue;
    const corun_result_t *r = corun_run_result(run, i);
    fputs(first ? "\n  {\"name\":" : ",\n  {\"name\":", f);
    first = false;
    corun__json_cstr(f, r->name);
    fprintf(f, ",\"status\":\"%s\",", corun_status_name(r->status));
    corun__json_exit(f, r);
    fprintf(f, ",\"attempts\":%u,\"started_at\":", r->attempts);
    corun__json_time(f, r->attempts ? r->started_at : 0);
    fputs(",\"duration_s\":", f);
    corun__json_num(f, r->duration_s);
    fputs(",\"pid\":", f);
    if (r->pid > 0)
      fprintf(f, "%ld", r->pid);
    else
      fputs("null", f);
    fputs(",\"stdout\":", f);
    corun_json_string(f, r->out_tail ? r->out_tail : "", r->out_len);
    fputs(",\"stderr\":", f);
    corun_json_string(f, r->err_tail ? r->err_tail : "", r->err_len);
    fprintf(f, ",\"stdout_truncated\":%s,\"stderr_truncated\":%s,\"error\":",
            r->out_truncated ? "true" : "false",
            r->err_truncated ? "true" : "false");
    corun__json_cstr(f, r->error);
    fputs(",\"reason\":", f);
    corun__json_cstr(f, r->reason);
    fputs(",\"log_error\":", f);
    corun__json_cstr(f, r->log_error ? strerror(r->log_error) : NULL);
    fputc('}', f);
  }
  fputs(first ? "]}\n" : "\n]}\n", f);
  fflush(f);
  return ferror(f) ? CORUN_EIO : 0;
}

static int write_report(corun_run_t *run, FILE *f, int exit_code) {
  return corun_run_write_report(run, f, exit_code);
}

int corun__sink_report(corun__sink_t **out, corun_run_t *run, FILE *f) {
  return corun__sink_file(out, run, f, write_report);
}
