/* The sink behind every file written once the run has ended (report,
 * JUnit, trace, timeline): each format is only its write function. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

typedef struct {
  corun__sink_t base;
  FILE *f;
  corun__write_fn write;
} file_sink_t;

static void file_run_end(corun__sink_t *s, int exit_code) {
  file_sink_t *fs = (file_sink_t *)s;
  errno = 0;
  int rc = fs->write(s->run, fs->f, exit_code);
  if ((rc != 0 || fflush(fs->f) != 0 || ferror(fs->f)) && s->error == 0)
    s->error = errno ? errno : EIO;
}

static const corun__sink_ops_t file_ops = {
    .run_end = file_run_end,
};

int corun__sink_file(corun__sink_t **out, corun_run_t *run, FILE *f,
                     corun__write_fn write) {
  file_sink_t *fs = corun__sink_new(sizeof *fs, &file_ops, run, 0);
  *out = &fs->base;
  if (fs == NULL)
    return UV_ENOMEM;
  fs->f = f;
  fs->write = write;
  return 0;
}
