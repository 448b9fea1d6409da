/*
 * Reading a job file: corun_plan_load_file() with a path, or "-" for
 * standard input.
 *
 * It only turns a file into a buffer and hands that to
 * corun_plan_load_buffer() (load.c), so that a file and a buffer are
 * loaded by the same code and report the same mistakes. What it adds is
 * what only a file has: a reason it cannot be read, worded as cat would
 * word it; a bound on its size, so that a device or a log file named by
 * mistake is refused rather than read into memory; and the folder that
 * relative cwds in it are relative to.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A job file this big is a mistake (a device, a log file, /dev/zero). */
#define MAX_FILE_SIZE ((size_t)256 << 20)

/* "PATH: reason" for a file that cannot be read, as cat would say it. */
static int io_fail(const char *path, int errnum, corun_error_t *err) {
  char buf[128];
  const char *why = errnum == EFBIG ? "file too large (more than 256 MiB)"
                                    : strerror_r(errnum, buf, sizeof buf);
  int code = errnum == ENOMEM ? UV_ENOMEM : CORUN_EIO;
  corun__err_add(err, code, "%s: %s", path, why);
  return code;
}

/* Read all of fd; `hint` is its size when known. Returns 0 or an errno. */
static int read_all(int fd, size_t hint, char **out, size_t *len) {
  size_t cap = hint + 1 > 4096 ? hint + 1 : 4096, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return ENOMEM;
  for (;;) {
    if (n == cap) {
      if (cap > MAX_FILE_SIZE) {
        free(buf);
        return EFBIG;
      }
      char *g = realloc(buf, cap * 2);
      if (g == NULL) {
        free(buf);
        return ENOMEM;
      }
      buf = g;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      return e;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (n > MAX_FILE_SIZE) {
    free(buf);
    return EFBIG;
  }
  *out = buf;
  *len = n;
  return 0;
}

int corun_plan_load_file(corun_plan_t **plan, const char *path,
                         corun_error_t *err) {
  if (plan == NULL)
    return CORUN_EINVALID;
  *plan = NULL;
  if (path == NULL || path[0] == '\0') {
    corun__err_add(err, CORUN_EIO, "no job file given");
    return CORUN_EIO;
  }
  char *buf = NULL, *base = NULL;
  size_t len = 0;
  int rc, e;
  if (strcmp(path, "-") == 0) {
    if ((e = read_all(0, 0, &buf, &len)) != 0)
      return io_fail("<stdin>", e, err);
    base = getcwd(NULL, 0); /* NULL: the plan treats it as the same */
    rc = corun_plan_load_buffer(plan, buf, len, "<stdin>", base, err);
    free(buf);
    free(base);
    return rc;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_fail(path, errno, err);
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    e = errno;
    if (e == 0 || S_ISDIR(st.st_mode))
      e = EISDIR;
    close(fd);
    return io_fail(path, e, err);
  }
  size_t hint = S_ISREG(st.st_mode) && st.st_size > 0 &&
                        (uint64_t)st.st_size <= MAX_FILE_SIZE
                    ? (size_t)st.st_size
                    : 0;
  e = read_all(fd, hint, &buf, &len);
  close(fd);
  if (e != 0)
    return io_fail(path, e, err);
  /* Relative cwds are relative to the job file's folder, made absolute. */
  char *copy = corun__strdup(path);
  if (copy == NULL) {
    free(buf);
    return io_fail(path, ENOMEM, err);
  }
  base = realpath(dirname(copy), NULL);
  e = errno;
  free(copy);
  if (base == NULL) {
    free(buf);
    return io_fail(path, e, err);
  }
  rc = corun_plan_load_buffer(plan, buf, len, path, base, err);
  free(buf);
  free(base);
  return rc;
}
