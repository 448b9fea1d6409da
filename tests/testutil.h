/* Helpers shared by the cmocka suites. */
#ifndef CORUN_TESTUTIL_H
#define CORUN_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
  int status;     /* exit code, or 128+signal, or -1 when it hung */
  char *out;      /* NUL-terminated stdout */
  size_t out_len;
  char *err;      /* NUL-terminated stderr */
  size_t err_len;
  double seconds; /* wall time */
} tu_result_t;

/* Run argv with `in` on stdin (NULL: /dev/null), killing it after
 * `limit_s` seconds (then status is -1). */
void tu_run(tu_result_t *r, char *const argv[], const char *in,
            double limit_s);
void tu_result_free(tu_result_t *r);

/* The built corun binary and helper program (from the environment). */
const char *tu_corun(void);
const char *tu_helper(void);
/* The source tree's root. */
const char *tu_src(void);

/* A fresh temporary folder (removed by tu_rmdir) and files in it. */
char *tu_tmpdir(void);
void tu_rmdir(const char *dir);
char *tu_write(const char *dir, const char *name, const char *text);
char *tu_read(const char *path, size_t *len);

/* A marker unique to this process and call, for CORUN_TEST_MARK=... */
const char *tu_marker(void);
/* A process's state letter from /proc/PID/stat ('R', 'S', 'Z', ...), or
 * 0 when it is gone. */
int tu_pid_state(long pid);
/* How many live processes have `needle` in their environment. */
int tu_count_marked(const char *needle);
/* Wait up to limit_s for no marked process to remain; returns the count. */
int tu_wait_unmarked(const char *needle, double limit_s);
/* SIGKILL every live process marked with `needle` (after a failed test);
 * returns how many. */
int tu_kill_marked(const char *needle);

double tu_now(void);

#endif
