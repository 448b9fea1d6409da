/* The events stream (SPEC §5 --events): one JSON object a line, flushed
 * as it happens, `done` always last. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  corun__sink_t base;
  FILE *f;
} events_sink_t;

#define EF(s) (((events_sink_t *)(s))->f)

static void head(corun__sink_t *s, const char *event) {
  fprintf(EF(s), "{\"event\":\"%s\"", event);
}

static void job_field(corun__sink_t *s, size_t job) {
  const char *n = corun__run_job_name(s->run, job);
  fputs(",\"job\":", EF(s));
  corun_json_string(EF(s), n, strlen(n));
}

static void tail(corun__sink_t *s) {
  fprintf(EF(s), ",\"t\":%.3f}\n", corun__run_now(s->run));
  if (fflush(EF(s)) != 0 && s->error == 0)
    s->error = errno ? errno : EIO;
}

static void ev_start(corun__sink_t *s, size_t job, unsigned attempt,
                     long pid) {
  head(s, "start");
  job_field(s, job);
  fprintf(EF(s), ",\"attempt\":%u,\"pid\":%ld", attempt, pid);
  tail(s);
}

static void ev_line(corun__sink_t *s, size_t job, corun_stream_t st,
                    const char *line, size_t len) {
  head(s, "line");
  job_field(s, job);
  fprintf(EF(s), ",\"stream\":\"%s\",\"text\":",
          st == CORUN_STDOUT ? "stdout" : "stderr");
  corun_json_string(EF(s), line, len);
  tail(s);
}

static void ev_exit(corun__sink_t *s, size_t job, const corun_result_t *r) {
  FILE *f = EF(s);
  head(s, "exit");
  job_field(s, job);
  fprintf(f, ",\"status\":\"%s\",", corun_status_name(r->status));
  corun__json_exit(f, r);
  fprintf(f, ",\"attempt\":%u,\"duration_s\":%.3f", r->attempts, r->duration_s);
  if (r->error) {
    fputs(",\"error\":", f);
    corun__json_cstr(f, r->error);
  }
  tail(s);
}

static void ev_retry(corun__sink_t *s, size_t job, const corun_result_t *failed,
                     unsigned next, double delay) {
  ev_exit(s, job, failed);
  head(s, "retry");
  job_field(s, job);
  fprintf(EF(s), ",\"attempt\":%u,\"delay_s\":%.3f", next, delay);
  tail(s);
}

static void ev_job_end(corun__sink_t *s, size_t job, const corun_result_t *r) {
  if (r->status != CORUN_SKIPPED) {
    ev_exit(s, job, r);
    return;
  }
  head(s, "skip");
  job_field(s, job);
  fputs(",\"reason\":", EF(s));
  corun__json_cstr(EF(s), r->reason ? r->reason : "skipped");
  tail(s);
}

static void ev_halt(corun__sink_t *s, const char *policy) {
  head(s, "halt");
  fputs(",\"policy\":", EF(s));
  corun__json_cstr(EF(s), policy);
  tail(s);
}

static void ev_run_end(corun__sink_t *s, int exit_code) {
  const char *status = exit_code == 0                ? "ok"
                       : corun_run_cancelled(s->run) ? "cancelled"
                                                     : "failed";
  fprintf(EF(s), "{\"event\":\"done\",\"status\":\"%s\",\"exit_code\":%d",
          status, exit_code);
  tail(s);
}

static const corun__sink_ops_t events_ops = {
    .start = ev_start,
    .line = ev_line,
    .retry = ev_retry,
    .job_end = ev_job_end,
    .halt = ev_halt,
    .run_end = ev_run_end,
};

int corun__sink_events(corun__sink_t **out, corun_run_t *run, FILE *f) {
  events_sink_t *es = corun__sink_new(sizeof *es, &events_ops, run, 0);
  *out = &es->base;
  if (es == NULL)
    return UV_ENOMEM;
  es->f = f;
  return 0;
}
