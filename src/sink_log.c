/* The log sink (--log-dir): every attempt's full output in DIR/NAME.out
 * and DIR/NAME.err, attempts one after the other; a '/' in a name becomes
 * '_'. The files are opened before the attempt starts, so a job waits
 * (or ends `error`) rather than run without its log. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  corun__sink_t base; /* per job: a log_job_t */
  char *dir;
} log_sink_t;

typedef struct {
  int fd[2]; /* stdout's and stderr's files, -1 closed */
  int err;   /* errno of its first failed write */
} log_job_t;

static log_job_t *log_of(log_sink_t *ls, size_t job) {
  return corun__sink_job(&ls->base, job);
}

static void log_close(log_sink_t *ls, size_t job) {
  for (int k = 0; k < 2; k++) {
    if (log_of(ls, job)->fd[k] >= 0)
      close(log_of(ls, job)->fd[k]);
    log_of(ls, job)->fd[k] = -1;
  }
}

static int log_prepare(corun__sink_t *s, size_t job, unsigned attempt,
                       char *why, size_t why_len) {
  log_sink_t *ls = (log_sink_t *)s;
  const char *name = corun__run_job_name(s->run, job);
  for (int k = 0; k < 2; k++) {
    char *path = NULL;
    int e = 0;
    if (asprintf(&path, "%s/%s.%s", ls->dir, name, k ? "err" : "out") < 0) {
      path = NULL;
      e = ENOMEM;
    } else {
      for (char *c = path + strlen(ls->dir) + 1; *c; c++)
        if (*c == '/')
          *c = '_';
      /* Every attempt's output is kept, one after the other. */
      int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
                  (attempt > 1 ? O_APPEND : O_TRUNC);
      log_of(ls, job)->fd[k] = open(path, flags, 0644);
      e = log_of(ls, job)->fd[k] < 0 ? errno : 0;
    }
    free(path);
    if (e != 0) {
      log_close(ls, job);
      snprintf(why, why_len, "%s: cannot open a log file: %s", ls->dir,
               strerror(e));
      /* Out of descriptors: the job waits for a running one to end. */
      if (e == EMFILE || e == ENFILE || e == ENOMEM)
        return CORUN__START_LATER;
      return uv_translate_sys_error(e);
    }
  }
  return 0;
}

static void log_bytes(corun__sink_t *s, size_t job, corun_stream_t st,
                      const char *b, size_t n) {
  log_sink_t *ls = (log_sink_t *)s;
  int *fd = &log_of(ls, job)->fd[st == CORUN_STDOUT ? 0 : 1];
  while (n > 0 && *fd >= 0) {
    ssize_t w = write(*fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      /* A full disk: the log is cut here, the job goes on, and the result
       * says so. */
      if (log_of(ls, job)->err == 0)
        log_of(ls, job)->err = errno;
      close(*fd);
      *fd = -1;
      return;
    }
    b += w;
    n -= (size_t)w;
  }
}

static void log_attempt_end(corun__sink_t *s, size_t job, corun_result_t *res) {
  log_sink_t *ls = (log_sink_t *)s;
  log_close(ls, job);
  if (log_of(ls, job)->err != 0)
    res->log_error = log_of(ls, job)->err;
}

static void log_job_added(corun__sink_t *s, size_t job) {
  log_job_t *j = corun__sink_job(s, job);
  j->fd[0] = j->fd[1] = -1;
}

static void log_free(corun__sink_t *s) { free(((log_sink_t *)s)->dir); }

static const corun__sink_ops_t log_ops = {
    .prepare = log_prepare,
    .bytes = log_bytes,
    .attempt_end = log_attempt_end,
    .job_added = log_job_added,
    .free = log_free,
};

int corun__sink_log(corun__sink_t **out, corun_run_t *run, const char *dir) {
  log_sink_t *ls = corun__sink_new(sizeof *ls, &log_ops, run, sizeof(log_job_t));
  *out = &ls->base;
  if (ls == NULL)
    return UV_ENOMEM;
  if ((ls->dir = strdup(dir)) == NULL) {
    corun__sink_free(&ls->base);
    *out = NULL;
    return UV_ENOMEM;
  }
  return 0;
}
