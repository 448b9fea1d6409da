/*
 * Runs, output: what jobs write, as the library hands it on (SPEC §5):
 * byte-exact chunks and log files (4 x 50 MiB), output right before an
 * exit, lines (floods, no final newline, pieces of line_max), the tails,
 * the JSON report's contents, an unusable log folder.
 *
 * CORUN_SLOW=0 shrinks the big-output test (for slow runs under valgrind).
 * The harness is in run_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corun.h"
#include "run_harness.h"
#include "testutil.h"

static int slow_tests(void) {
  const char *v = getenv("CORUN_SLOW");
  return !(v != NULL && strcmp(v, "0") == 0);
}

/* ---- output integrity ----------------------------------------------------- */

static void check_log(const char *path, uint64_t want_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("%s: %s", path, strerror(errno));
  static char chunk[1 << 20];
  uint64_t off = 0;
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
    uint64_t bad = pattern_check(chunk, k, off);
    if (bad != UINT64_MAX) {
      fclose(f);
      fail_msg("%s: wrong byte at offset %llu", path, (unsigned long long)bad);
    }
    off += k;
  }
  fclose(f);
  if (off != want_len)
    fail_msg("%s: %llu bytes, want %llu", path, (unsigned long long)off,
             (unsigned long long)want_len);
}

static void test_run_big_binary_output_is_logged_intact(void **state) {
  (void)state;
  uint64_t n = slow_tests() ? 50ull * MIB + 777 : 4ull * MIB + 777;
  tctx_t *t = t_new();
  char steps[64];
  corun_job_desc_t d = {0};
  for (int i = 0; i < 3; i++) {
    d.name = i == 0 ? "big/one" : i == 1 ? "big2" : "big3";
    snprintf(steps, sizeof steps, "bytes %llu", (unsigned long long)n);
    add(t, d, steps);
  }
  d.name = "big4";
  snprintf(steps, sizeof steps, "ebytes %llu", (unsigned long long)n);
  add(t, d, steps);
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 4;
  o.log_dir = fmt(t, "%s/logs", t->dir);
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 60);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->max_running, 4);
  for (size_t j = 0; j < 4; j++) {
    const corun_result_t *x = res(r, j);
    assert_status(x, CORUN_OK);
    int s = j == 3 ? 1 : 0;
    assert_int_equal(r->out_bytes[j][s], n);
    assert_int_equal(r->out_bytes[j][!s], 0);
    const char *tail = s ? x->err_tail : x->out_tail;
    size_t tlen = s ? x->err_len : x->out_len;
    assert_int_equal(tlen, 64 * 1024);
    assert_int_equal(s ? x->err_truncated : x->out_truncated, 1);
    assert_int_equal(s ? x->out_len : x->err_len, 0);
    assert_int_equal(s ? x->out_truncated : x->err_truncated, 0);
    assert_true(pattern_check(tail, tlen, n - tlen) == UINT64_MAX);
  }
  const char *names[] = {"big_one", "big2", "big3", "big4"};
  for (int j = 0; j < 4; j++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.%s", o.log_dir, names[j],
             j == 3 ? "err" : "out");
    check_log(path, n);
    snprintf(path, sizeof path, "%s/%s.%s", o.log_dir, names[j],
             j == 3 ? "out" : "err");
    check_log(path, 0);
  }
  t_finish(t);
}

static void test_run_output_right_before_exit_is_kept(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  char steps[128];
  enum { N = 16 };
  for (int i = 0; i < N; i++) {
    switch (i % 4) {
    case 0: snprintf(steps, sizeof steps, "nonl last-words-%d exit %d", i, i % 3); break;
    case 1: snprintf(steps, sizeof steps, "err e%d nonl last-words-%d", i, i); break;
    case 2: snprintf(steps, sizeof steps, "bytes 300000 nonl last-words-%d exit 1", i); break;
    default: snprintf(steps, sizeof steps, "nonl last-words-%d kill 9", i); break;
    }
    add(t, d, steps);
  }
  add_sh(t, d, "printf 'shell-last'; exit 7");
  seal(t);
  corun_run_options_t o = {0};
  o.jobs = 8;
  rec_t *r = rec_new(t);
  r->want_output = 1;
  start(t, r, &o);
  t_loop(t, 20);
  for (int i = 0; i < N; i++) {
    const corun_result_t *x = res(r, (size_t)i);
    char want[64];
    int wl = snprintf(want, sizeof want, "last-words-%d", i);
    const buf_t *b = &r->out[i][0];
    assert_true(b->len >= (size_t)wl);
    assert_memory_equal(b->p + b->len - wl, want, (size_t)wl);
    assert_true(x->out_len >= (size_t)wl);
    assert_memory_equal(x->out_tail + x->out_len - wl, want, (size_t)wl);
    if (i % 4 == 2) {
      assert_int_equal(b->len, 300000 + (size_t)wl);
      assert_true(pattern_check(b->p, 300000, 0) == UINT64_MAX);
    } else {
      assert_int_equal(b->len, (size_t)wl);
    }
    if (i % 4 == 1)
      assert_err(x, fmt(t, "e%d\n", i));
    if (i % 4 == 3) {
      assert_status(x, CORUN_FAILED);
      assert_int_equal(x->signal, SIGKILL);
    } else {
      int code = i % 4 == 0 ? i % 3 : i % 4 == 2 ? 1 : 0;
      assert_status(x, code ? CORUN_FAILED : CORUN_OK);
      assert_int_equal(x->exit_code, code);
    }
  }
  assert_out(res(r, N), "shell-last");
  assert_int_equal(res(r, N)->exit_code, 7);
  t_finish(t);
}

static void test_run_line_floods_stay_whole_and_ordered(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 20000 80");
  size_t b = add(t, d, "lines 20000 80");
  seal(t);
  rec_t *r = rec_new(t);
  r->line_w = 80;
  start(t, r, NULL);
  t_loop(t, 30);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->n_lines[a][0], 20000);
  assert_int_equal(r->n_lines[b][0], 20000);
  assert_int_equal(r->line_bad[a], 0);
  assert_int_equal(r->line_bad[b], 0);
  assert_int_equal(r->n_lines[a][1], 0);
  assert_int_equal(r->out_bytes[a][0], 20000 * 80);
  assert_int_equal(r->out_bytes[b][0], 20000 * 80);
  t_finish(t);
}

static void test_run_last_line_without_newline_is_a_line(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "out first nonl second err e1 nonl third");
  size_t b = add_sh(t, d, "printf '\\n\\nx\\n\\ny'; printf 'tail' >&2");
  size_t c = add(t, d, "exit 0");
  size_t e = add(t, d, "nonl only exit 4");
  seal(t);
  rec_t *r = rec_new(t);
  r->want_lines = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_string_equal(r->lines[a][0].p, "first\nsecondthird\n");
  assert_int_equal(r->n_lines[a][0], 2);
  assert_string_equal(r->lines[a][1].p, "e1\n");
  assert_string_equal(r->lines[b][0].p, "\n\nx\n\ny\n");
  assert_int_equal(r->n_lines[b][0], 5);
  assert_string_equal(r->lines[b][1].p, "tail\n");
  assert_int_equal(r->n_lines[c][0] + r->n_lines[c][1], 0);
  assert_string_equal(r->lines[e][0].p, "only\n");
  assert_status(res(r, e), CORUN_FAILED);
  t_finish(t);
}

static void test_run_long_lines_come_in_pieces_of_line_max(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "lines 3 251 lines 2 101 lines 1 100 nonl tail");
  seal(t);
  corun_run_options_t o = {0};
  o.line_max = 100;
  rec_t *r = rec_new(t);
  r->want_lines = 1;
  start(t, r, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  buf_t want = {0};
  char line[512];
  for (long k = 0; k < 3; k++) {
    size_t n = steps_line(line, k, 251);
    assert_int_equal(n, 250);
    for (size_t off = 0; off < n; off += 100) {
      size_t piece = n - off < 100 ? n - off : 100;
      buf_add(&want, line + off, piece);
      buf_add(&want, "\n", 1);
    }
  }
  for (long k = 0; k < 2; k++) {
    size_t n = steps_line(line, k, 101);
    buf_add(&want, line, n);
    buf_add(&want, "\n", 1);
  }
  size_t n = steps_line(line, 0, 100);
  buf_add(&want, line, n);
  buf_add(&want, "\n", 1);
  buf_add(&want, "tail\n", 5);
  assert_int_equal(r->n_lines[a][0], 9 + 2 + 1 + 1);
  assert_int_equal(r->lines[a][0].len, want.len);
  assert_memory_equal(r->lines[a][0].p, want.p, want.len);
  buf_free(&want);
  t_finish(t);

  /* Lines longer than a pipe read, with the default line_max of 64 KiB. */
  t = t_new();
  a = add(t, d, "lines 2 200001");
  seal(t);
  r = rec_new(t);
  r->want_lines = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  char *big = malloc(200032);
  assert_non_null(big);
  size_t off = 0;
  const char *got = r->lines[a][0].p;
  assert_int_equal(r->n_lines[a][0], 2 * 4);
  for (long k = 0; k < 2; k++) {
    size_t len = steps_line(big, k, 200001);
    assert_int_equal(len, 200000);
    for (size_t p = 0; p < len; p += 65536) {
      size_t piece = len - p < 65536 ? len - p : 65536;
      assert_memory_equal(got + off, big + p, piece);
      assert_int_equal(got[off + piece], '\n');
      off += piece + 1;
    }
  }
  assert_int_equal(off, r->lines[a][0].len);
  free(big);
  t_finish(t);
}

static void test_run_output_chunks_concatenate_to_what_was_written(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "bytes 3000017 ebytes 1000003");
  size_t b = add(t, d, "out one err two bytes 70000 out three");
  seal(t);
  rec_t *r = rec_new(t);
  r->want_output = 1;
  start(t, r, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  assert_int_equal(r->out[a][0].len, 3000017);
  assert_int_equal(r->out[a][1].len, 1000003);
  assert_true(pattern_check(r->out[a][0].p, 3000017, 0) == UINT64_MAX);
  assert_true(pattern_check(r->out[a][1].p, 1000003, 0) == UINT64_MAX);
  assert_true(r->out_calls[a] > 2);
  const buf_t *o = &r->out[b][0];
  assert_int_equal(o->len, 4 + 70000 + 6);
  assert_memory_equal(o->p, "one\n", 4);
  assert_true(pattern_check(o->p + 4, 70000, 0) == UINT64_MAX);
  assert_memory_equal(o->p + 70004, "three\n", 6);
  assert_string_equal(r->out[b][1].p, "two\n");
  t_finish(t);
}

/* ---- tails and the JSON report -------------------------------------------- */

static void test_run_tail_keeps_last_bytes(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  size_t a = add(t, d, "bytes 5000");
  size_t b = add(t, d, "bytes 1000");
  size_t c = add(t, d, "bytes 999 ebytes 1001");
  size_t e = add_sh(t, d,
                    "i=0; while [ $i -lt 500 ]; do printf '%04d\\n' $i; "
                    "i=$((i+1)); done");
  seal(t);
  corun_run_options_t o = {0};
  o.tail_bytes = 1000;
  rec_t *r = start(t, NULL, &o);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 0);
  const corun_result_t *x = res(r, a);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 1);
  assert_true(pattern_check(x->out_tail, 1000, 4000) == UINT64_MAX);
  assert_int_equal(x->err_len, 0);
  assert_int_equal(x->err_truncated, 0);
  x = res(r, b);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 0);
  assert_true(pattern_check(x->out_tail, 1000, 0) == UINT64_MAX);
  x = res(r, c);
  assert_int_equal(x->out_len, 999);
  assert_int_equal(x->out_truncated, 0);
  assert_true(pattern_check(x->out_tail, 999, 0) == UINT64_MAX);
  assert_int_equal(x->err_len, 1000);
  assert_int_equal(x->err_truncated, 1);
  assert_true(pattern_check(x->err_tail, 1000, 1) == UINT64_MAX);
  /* Many small writes wrap the ring. */
  x = res(r, e);
  assert_int_equal(x->out_len, 1000);
  assert_int_equal(x->out_truncated, 1);
  buf_t want = {0};
  for (int i = 300; i < 500; i++) {
    char s[16];
    snprintf(s, sizeof s, "%04d\n", i);
    buf_add(&want, s, 5);
  }
  assert_memory_equal(x->out_tail, want.p, 1000);
  buf_free(&want);
  t_finish(t);
}

static int is_iso_time(const char *s) {
  /* 2026-01-01T10:00:00.000Z */
  const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (strlen(s) != strlen(shape))
    return 0;
  for (size_t i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
      return 0;
  return 1;
}

static void test_run_report_is_valid_json_in_file_order(void **state) {
  (void)state;
  tctx_t *t = t_new();
  const char *h = jq(t, tu_helper());
  load_json(t, fmt(t,
      "{\"jobs\":["
      "{\"name\":\"z-last\",\"cmd\":[%s,\"out\",\"z\"],\"needs\":[\"bin\"],\"env\":{%s}},"
      "{\"name\":\"bin\",\"cmd\":\"printf '\\\\377\\\\376 ok\\\\001\\\\177'\",\"env\":{%s}},"
      "{\"name\":\"bad\",\"cmd\":[%s,\"err\",\"quote\\\" back\\\\ tab\\t\",\"exit\",\"3\"],\"env\":{%s}},"
      "{\"name\":\"sig\",\"cmd\":[%s,\"kill\",\"9\"],\"env\":{%s}},"
      "{\"name\":\"skip\",\"cmd\":[%s],\"needs\":[\"bad\"],\"env\":{%s}},"
      "{\"name\":\"err\",\"cmd\":[\"corun-no-such-command-zz9\"],\"env\":{%s}}]}",
      h, jmark(t), jmark(t), h, jmark(t), h, jmark(t), h, jmark(t), jmark(t)));
  rec_t *r = start(t, NULL, NULL);
  t_loop(t, 20);
  assert_int_equal(r->exit_code, 1);
  cJSON *root = report_of(r->run, -1);
  assert_int_equal(jget(root, "corun")->valueint, 1);
  assert_string_equal(jget(root, "status")->valuestring, "failed");
  assert_int_equal(jget(root, "exit_code")->valueint, 1);
  assert_true(is_iso_time(jget(root, "started_at")->valuestring));
  assert_true(cJSON_IsNumber(jget(root, "duration_s")));
  const cJSON *counts = jget(root, "counts");
  assert_int_equal(jget(counts, "ok")->valueint, 2);
  int vg = under_valgrind();
  assert_int_equal(jget(counts, "failed")->valueint, vg ? 3 : 2);
  assert_int_equal(jget(counts, "timeout")->valueint, 0);
  assert_int_equal(jget(counts, "cancelled")->valueint, 0);
  assert_int_equal(jget(counts, "skipped")->valueint, 1);
  assert_int_equal(jget(counts, "error")->valueint, vg ? 0 : 1);
  const cJSON *jobs = jget(root, "jobs");
  assert_int_equal(cJSON_GetArraySize(jobs), 6);
  const char *names[] = {"z-last", "bin", "bad", "sig", "skip", "err"};
  const char *statuses[] = {"ok",      "ok",      "failed",
                            "failed",  "skipped", vg ? "failed" : "error"};
  for (int i = 0; i < 6; i++) {
    const cJSON *j = cJSON_GetArrayItem(jobs, i);
    const corun_result_t *x = res(r, (size_t)i);
    assert_string_equal(jget(j, "name")->valuestring, names[i]);
    assert_string_equal(jget(j, "status")->valuestring, statuses[i]);
    assert_string_equal(x->name, names[i]);
    assert_string_equal(corun_status_name(x->status), statuses[i]);
    assert_int_equal(jget(j, "attempts")->valueint, (int)x->attempts);
    const cJSON *pid = jget(j, "pid");
    const cJSON *st = jget(j, "started_at");
    assert_true(cJSON_IsNumber(jget(j, "duration_s")));
    assert_true(cJSON_IsString(jget(j, "stdout")));
    assert_true(cJSON_IsString(jget(j, "stderr")));
    assert_true(cJSON_IsBool(jget(j, "stdout_truncated")));
    assert_true(cJSON_IsBool(jget(j, "stderr_truncated")));
    if (x->pid > 0) {
      assert_true(cJSON_IsNumber(pid));
      assert_int_equal((long)pid->valuedouble, x->pid);
      assert_true(is_iso_time(st->valuestring));
      assert_true(jget(j, "duration_s")->valuedouble >= 0);
      assert_int_equal(x->attempts, 1);
    } else {
      assert_true(cJSON_IsNull(pid));
    }
  }
  const cJSON *z = cJSON_GetArrayItem(jobs, 0);
  assert_int_equal(jget(z, "exit_code")->valueint, 0);
  assert_true(cJSON_IsNull(jget(z, "signal")));
  assert_true(cJSON_IsNull(jget(z, "error")));
  assert_string_equal(jget(z, "stdout")->valuestring, "z\n");
  const cJSON *bin = cJSON_GetArrayItem(jobs, 1);
  assert_string_equal(jget(bin, "stdout")->valuestring,
                      "\xEF\xBF\xBD\xEF\xBF\xBD ok\x01\x7f");
  assert_false(cJSON_IsTrue(jget(bin, "stdout_truncated")));
  const cJSON *bad = cJSON_GetArrayItem(jobs, 2);
  assert_int_equal(jget(bad, "exit_code")->valueint, 3);
  assert_true(cJSON_IsNull(jget(bad, "signal")));
  assert_string_equal(jget(bad, "stderr")->valuestring, "quote\" back\\ tab\t\n");
  const cJSON *sig = cJSON_GetArrayItem(jobs, 3);
  assert_true(cJSON_IsNull(jget(sig, "exit_code")));
  assert_string_equal(jget(sig, "signal")->valuestring, "SIGKILL");
  const cJSON *skip = cJSON_GetArrayItem(jobs, 4);
  assert_int_equal(jget(skip, "attempts")->valueint, 0);
  assert_true(cJSON_IsNull(jget(skip, "started_at")));
  const cJSON *err = cJSON_GetArrayItem(jobs, 5);
  if (!vg) {
    assert_true(cJSON_IsString(jget(err, "error")));
    assert_non_null(strstr(jget(err, "error")->valuestring,
                           "No such file or directory"));
    assert_true(cJSON_IsNull(jget(err, "exit_code")));
  }
  cJSON_Delete(root);
  /* The run started the dependency first, whatever the file order. */
  assert_true(ev_find(r, EV_START, 0) > ev_find(r, EV_END, 1));
  t_finish(t);
}

/* ---- log files ------------------------------------------------------------ */

static void test_run_unusable_log_dir_is_an_error_before_anything_runs(void **state) {
  (void)state;
  tctx_t *t = t_new();
  corun_job_desc_t d = {0};
  add(t, d, "out never");
  seal(t);
  free(tu_write(t->dir, "file", "x"));
  corun_run_options_t o = {0};
  o.log_dir = fmt(t, "%s/file/logs", t->dir);
  corun_run_t *run = (corun_run_t *)&run;
  corun_error_t err = {0};
  int rc = corun_run_new(&run, &t->loop, t->plan, &o, &err);
  assert_true(rc < 0);
  assert_null(run);
  assert_true(err.count >= 1);
  assert_non_null(strstr(err.messages[0], "file/logs"));
  corun_error_release(&err);
  t_finish(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_big_binary_output_is_logged_intact),
      cmocka_unit_test(test_run_output_right_before_exit_is_kept),
      cmocka_unit_test(test_run_line_floods_stay_whole_and_ordered),
      cmocka_unit_test(test_run_last_line_without_newline_is_a_line),
      cmocka_unit_test(test_run_long_lines_come_in_pieces_of_line_max),
      cmocka_unit_test(test_run_output_chunks_concatenate_to_what_was_written),
      cmocka_unit_test(test_run_tail_keeps_last_bytes),
      cmocka_unit_test(test_run_report_is_valid_json_in_file_order),
      cmocka_unit_test(test_run_unusable_log_dir_is_an_error_before_anything_runs),
  };
  return RUN_SUITE("test_run_output", tests);
}
