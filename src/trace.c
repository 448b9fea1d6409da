/* The Chrome trace-event JSON of a run (SPEC §4 --trace): one complete
 * event per attempt on the thread of its lane, from the span recorder. */
#include "internal.h"

#include <string.h>

static int write_trace(corun_run_t *run, FILE *f, int exit_code) {
  size_t n, lanes;
  const corun__span_t *sp = corun__spans(corun__run_spans(run), &n, &lanes);
  (void)exit_code;
  fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", f);
  fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"corun\"}}", f);
  for (size_t i = 0; i < lanes; i++)
    fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%zu,"
               "\"args\":{\"name\":\"slot %zu\"}}", i + 1, i + 1);
  for (size_t i = 0; i < n; i++) {
    const corun__span_t *s = &sp[i];
    const char *name = corun__run_job_name(run, s->job);
    fputs(",\n{\"name\":", f);
    corun_json_string(f, name, strlen(name));
    fprintf(f,
            ",\"cat\":\"job\",\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.0f,"
            "\"dur\":%.0f,\"args\":{\"status\":\"%s\",\"attempt\":%u}}",
            s->lane + 1, s->t0 * 1e6, (s->t1 - s->t0) * 1e6,
            corun_status_name(s->status), s->attempt);
  }
  fputs("\n]}\n", f);
  return 0;
}

int corun__sink_trace(corun__sink_t **out, corun_run_t *run, FILE *f) {
  if (corun__run_spans(run) == NULL)
    return UV_ENOMEM;
  return corun__sink_file(out, run, f, write_trace);
}
