/* Durations: "250ms", "1.5s", "2m", "1h", "1m30s" and plain seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>


#include "corun.h"
#include "testutil.h"

static double parse_ok(const char *text) {
  double s = -1;
  int rc = corun_duration_parse(text, &s);
  if (rc != 0)
    fail_msg("\"%s\" was rejected", text);
  return s;
}

/* For sums such as 1h + 1ms, which need not be the nearest double. */
static void assert_near(double got, double want) {
  double diff = got > want ? got - want : want - got;
  if (diff > 1e-9 * (1 + want))
    fail_msg("got %.17g, expected %.17g", got, want);
}

static void parse_bad(const char *text) {
  double s = 42;
  int rc = corun_duration_parse(text, &s);
  if (rc != CORUN_EINVALID)
    fail_msg("\"%s\" gave %d, expected CORUN_EINVALID", text, rc);
  /* A rejected text leaves the output alone. */
  assert_true(s == 42);
}

static void test_duration_parses_each_unit(void **state) {
  (void)state;
  assert_true(parse_ok("250ms") == 0.25);
  assert_true(parse_ok("1.5s") == 1.5);
  assert_true(parse_ok("2m") == 120);
  assert_true(parse_ok("1h") == 3600);
  assert_true(parse_ok("1ms") == 0.001);
  assert_true(parse_ok("0s") == 0);
}

static void test_duration_parses_compound_durations(void **state) {
  (void)state;
  assert_true(parse_ok("1m30s") == 90);
  assert_true(parse_ok("1h2m3.5s") == 3723.5);
  assert_true(parse_ok("1h30m") == 5400);
  assert_true(parse_ok("2s500ms") == 2.5);
  assert_near(parse_ok("1h1ms"), 3600.001);
  assert_true(parse_ok("1.5h") == 5400);
}

static void test_duration_parses_plain_seconds(void **state) {
  (void)state;
  assert_true(parse_ok("30") == 30);
  assert_true(parse_ok("0.5") == 0.5);
  assert_true(parse_ok("0") == 0);
  assert_true(parse_ok(".5") == 0.5);
  assert_true(parse_ok("5.") == 5);
  assert_true(parse_ok("0.1") == 0.1);
  assert_near(parse_ok("1.234567890123456789012345"), 1.2345678901234568);
}

static void test_duration_accepts_up_to_a_billion_seconds(void **state) {
  (void)state;
  assert_true(parse_ok("1000000000") == 1e9);
  assert_true(parse_ok("1000000000s") == 1e9);
  assert_true(parse_ok("277777h") == 277777.0 * 3600);
  parse_bad("1000000000.5");
  parse_bad("1000000001s");
  parse_bad("277778h");
  parse_bad("277777h46m41s");
  parse_bad("99999999999999999999999999999999999999s");
  parse_bad("1000000000h");
}

static void test_duration_rejects_signs_exponents_and_words(void **state) {
  (void)state;
  parse_bad("-1s");
  parse_bad("+1s");
  parse_bad("-0");
  parse_bad("1e3");
  parse_bad("1E3s");
  parse_bad("inf");
  parse_bad("nan");
  parse_bad("infinity");
  parse_bad("0x10");
  parse_bad("1,5s");
}

static void test_duration_rejects_empty_and_junk(void **state) {
  (void)state;
  parse_bad("");
  parse_bad(" ");
  parse_bad(" 1s");
  parse_bad("1s ");
  parse_bad("1 s");
  parse_bad("1m 30s");
  parse_bad("s");
  parse_bad("ms");
  parse_bad(".");
  parse_bad(".s");
  parse_bad("1x");
  parse_bad("1sec");
  parse_bad("1H");
  parse_bad("1S");
  parse_bad("1d");
  parse_bad("1.5.5s");
  parse_bad("1..5s");
}

static void test_duration_rejects_units_out_of_order_or_repeated(void **state) {
  (void)state;
  parse_bad("30s1m");
  parse_bad("1s1s");
  parse_bad("1m1m");
  parse_bad("1ms1s");
  parse_bad("1s1h");
  parse_bad("1m30"); /* a bare number only as the whole text */
  parse_bad("1h2");
}

static void test_duration_rejects_null_arguments(void **state) {
  (void)state;
  double s = 0;
  assert_int_equal(corun_duration_parse(NULL, &s), CORUN_EINVALID);
  assert_int_equal(corun_duration_parse("1s", NULL), CORUN_EINVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_duration_parses_each_unit),
      cmocka_unit_test(test_duration_parses_compound_durations),
      cmocka_unit_test(test_duration_parses_plain_seconds),
      cmocka_unit_test(test_duration_accepts_up_to_a_billion_seconds),
      cmocka_unit_test(test_duration_rejects_signs_exponents_and_words),
      cmocka_unit_test(test_duration_rejects_empty_and_junk),
      cmocka_unit_test(test_duration_rejects_units_out_of_order_or_repeated),
      cmocka_unit_test(test_duration_rejects_null_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
