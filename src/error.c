/* Error messages, codes and the small allocation helpers every module uses. */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *corun_version(void) { return CORUN_VERSION_STRING; }

const char *corun_strerror(int err) {
  switch (err) {
  case 0: return "success";
  case CORUN_EINVALID: return "invalid job description";
  case CORUN_ESYNTAX: return "job file is not valid JSON";
  case CORUN_ECYCLE: return "dependency cycle";
  case CORUN_ENOJOB: return "no such job";
  case CORUN_ESTATE: return "operation not allowed in this state";
  case CORUN_EIO: return "input/output error";
  default: return err < 0 ? uv_strerror(err) : "unknown error";
  }
}

const char *corun_status_name(corun_status_t status) {
  switch (status) {
  case CORUN_OK: return "ok";
  case CORUN_FAILED: return "failed";
  case CORUN_TIMEOUT: return "timeout";
  case CORUN_CANCELLED: return "cancelled";
  case CORUN_SKIPPED: return "skipped";
  case CORUN_ERROR: return "error";
  case CORUN_PENDING: break;
  }
  return "pending";
}

void corun_error_release(corun_error_t *err) {
  if (err == NULL)
    return;
  for (size_t i = 0; i < err->count; i++)
    free(err->messages[i]);
  free(err->messages);
  err->messages = NULL;
  err->count = 0;
  err->code = 0;
}

void corun__err_vadd(corun_error_t *err, int code, const char *fmt,
                     va_list ap) {
  if (err == NULL)
    return;
  if (err->code == 0)
    err->code = code;
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    return; /* out of memory: the code still says what happened */
  char **grown = realloc(err->messages, (err->count + 1) * sizeof *grown);
  if (grown == NULL) {
    free(msg);
    return;
  }
  err->messages = grown;
  err->messages[err->count++] = msg;
}

void corun__err_add(corun_error_t *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  corun__err_vadd(err, code, fmt, ap);
  va_end(ap);
}

char *corun__strdup(const char *s) { return s ? strdup(s) : NULL; }

int corun__grow(void *ptr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 8;
  while (n < need)
    n *= 2;
  void *p = realloc(*(void **)ptr, n * size);
  if (p == NULL)
    return UV_ENOMEM;
  *(void **)ptr = p;
  *cap = n;
  return 0;
}

const char *corun_signal_name(int sig) {
  static const struct { int sig; const char *name; } names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
      {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
      {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
      {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
      {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
      {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
      {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
      {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},   {SIGSYS, "SIGSYS"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig)
      return names[i].name;
  return NULL;
}
