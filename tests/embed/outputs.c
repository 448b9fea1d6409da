/*
 * An embedder that asks libcorun for all five files of a run — the JSON
 * report, the events stream, JUnit XML, the Chrome trace and the SVG
 * timeline — through corun.h alone, on a libuv loop of its own. run.sh
 * runs it and the command line on the same job file and compares the
 * files: they must be the same bytes, timestamps and pids aside.
 *
 * Usage: outputs JOBFILE REPORT EVENTS JUNIT TRACE TIMELINE
 * Exit status: the run's (0 or 1), or 2 when something else went wrong.
 *
 * Build: cc outputs.c $(pkg-config --cflags --libs corun)
 */
#include <corun.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const format_names[CORUN_FORMAT_COUNT] = {
    "report", "events", "junit", "trace", "timeline",
};

typedef struct {
  int run_ends;
  int exit_code;
} state_t;

static void on_run_end(corun_run_t *run, void *data, int exit_code) {
  state_t *st = data;
  (void)run;
  st->run_ends++;
  st->exit_code = exit_code;
}

int main(int argc, char **argv) {
  if (argc != 2 + CORUN_FORMAT_COUNT) {
    fprintf(stderr,
            "usage: %s JOBFILE REPORT EVENTS JUNIT TRACE TIMELINE\n",
            argv[0]);
    return 2;
  }
  int rc = 2;
  FILE *files[CORUN_FORMAT_COUNT] = {0};
  corun_plan_t *plan = NULL;
  corun_run_t *run = NULL;
  corun_error_t err = {0};
  uv_loop_t loop;
  int loop_ok = 0, e;
  state_t st = {0, -1};
  corun_run_options_t opts;

  /* Every file is opened before anything runs, as the command line does. */
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    files[k] = fopen(argv[2 + k], "w");
    if (files[k] == NULL) {
      fprintf(stderr, "outputs: %s %s: %s\n", format_names[k], argv[2 + k],
              strerror(errno));
      goto out;
    }
  }

  if (corun_plan_load_file(&plan, argv[1], &err) != 0) {
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "%s\n", err.messages[i]);
    if (err.count == 0)
      fprintf(stderr, "%s: %s\n", argv[1], corun_strerror(err.code));
    goto out;
  }

  e = uv_loop_init(&loop);
  if (e != 0) {
    fprintf(stderr, "outputs: uv_loop_init: %s\n", uv_strerror(e));
    goto out;
  }
  loop_ok = 1;

  memset(&opts, 0, sizeof opts); /* defaults throughout, as the CLI's */
  opts.cb.on_run_end = on_run_end;
  opts.data = &st;
  if ((e = corun_run_new(&run, &loop, plan, &opts, &err)) != 0) {
    fprintf(stderr, "outputs: corun_run_new: %s\n", corun_strerror(e));
    for (size_t i = 0; i < err.count; i++)
      fprintf(stderr, "%s\n", err.messages[i]);
    goto out;
  }
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    if ((e = corun_run_add_output(run, (corun_format_t)k, files[k])) != 0) {
      fprintf(stderr, "outputs: corun_run_add_output(%s): %s\n",
              format_names[k], corun_strerror(e));
      goto out;
    }
  }
  if ((e = corun_run_start(run)) != 0) {
    fprintf(stderr, "outputs: corun_run_start: %s\n", corun_strerror(e));
    goto out;
  }
  uv_run(&loop, UV_RUN_DEFAULT);

  if (st.run_ends != 1 || !corun_run_ended(run)) {
    fprintf(stderr, "outputs: on_run_end fired %d times, ended %d\n",
            st.run_ends, corun_run_ended(run));
    goto out;
  }
  if (corun_run_exit_code(run) != st.exit_code) {
    fprintf(stderr, "outputs: corun_run_exit_code %d, on_run_end said %d\n",
            corun_run_exit_code(run), st.exit_code);
    goto out;
  }
  rc = st.exit_code;
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    int oe = corun_run_output_error(run, (corun_format_t)k);
    if (oe != 0) {
      fprintf(stderr, "outputs: writing the %s: %s\n", format_names[k],
              strerror(oe));
      rc = 2;
    }
  }

out:
  if (run != NULL && corun_run_free(run) != 0) {
    fprintf(stderr, "outputs: corun_run_free failed\n");
    rc = 2;
  }
  if (loop_ok) {
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
      fprintf(stderr, "outputs: the loop still has handles\n");
      rc = 2;
    }
  }
  corun_plan_free(plan);
  corun_error_release(&err);
  for (int k = 0; k < CORUN_FORMAT_COUNT; k++) {
    if (files[k] != NULL && fclose(files[k]) != 0) {
      fprintf(stderr, "outputs: closing the %s: %s\n", format_names[k],
              strerror(errno));
      rc = 2;
    }
  }
  return rc;
}
