/*
 * What every launcher shares: the list of backends, the environment a job
 * sees (the launcher's base environment with the job's own sets and unsets
 * applied), which each backend hands on in its own way, and how a job's
 * program is found on the PATH its own environment sets, as the shell
 * would find it.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const corun__launcher_ops_t *const backends[] = {
    &corun__launch_local,
};

const corun__launcher_ops_t *corun__launcher_find(const char *name) {
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp(backends[i]->name, name) == 0)
      return backends[i];
  return NULL;
}

/* The length of the name in "NAME=VALUE" (or of "NAME", an unset). */
static size_t name_len(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* Whether env[from..] names the variable of `entry` (name length n). */
static bool named_in(const char *const *env, size_t from, const char *entry,
                     size_t n) {
  for (size_t k = from; env[k] != NULL; k++)
    if (name_len(env[k]) == n && memcmp(env[k], entry, n) == 0)
      return true;
  return false;
}

char **corun__launch_env(char *const *base, const char *const *env,
                         const char *mark) {
  static const char *const none[] = {NULL};
  size_t n = 0, k = 0;
  if (env == NULL)
    env = none;
  while (base[n] != NULL)
    n++;
  while (env[k] != NULL)
    k++;
  char **out = malloc((n + k + 2) * sizeof *out);
  if (out == NULL)
    return NULL;
  size_t m = 0;
  size_t mark_name = mark ? name_len(mark) : 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = name_len(base[i]);
    /* An inherited mark (corun inside a corun job) gives way to ours. */
    if (!named_in(env, 0, base[i], len) &&
        !(mark && len == mark_name && memcmp(base[i], mark, len) == 0))
      out[m++] = base[i];
  }
  for (size_t e = 0; e < k; e++) {
    /* An unset adds nothing; of several sets of one name the last wins. */
    size_t len = name_len(env[e]);
    if (strchr(env[e], '=') != NULL && !named_in(env, e + 1, env[e], len) &&
        !(mark && len == mark_name && memcmp(env[e], mark, len) == 0))
      out[m++] = (char *)env[e];
  }
  if (mark != NULL)
    out[m++] = (char *)mark;
  out[m] = NULL;
  return out;
}

const char *corun__launch_job_path(const char *const *env) {
  const char *path = NULL;
  for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
    if (strncmp(env[i], "PATH=", 5) == 0)
      path = env[i] + 5;
    else if (strcmp(env[i], "PATH") == 0)
      path = "/bin:/usr/bin";
  }
  return path;
}

int corun__launch_search_path(const char *name, const char *path,
                              const char *cwd, char *out, size_t out_len) {
  if (strchr(name, '/') != NULL) {
    snprintf(out, out_len, "%s", name);
    return 0;
  }
  int err = ENOENT;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    int dir_len = (int)(end - p);
    int n;
    if (dir_len == 0)
      n = snprintf(out, out_len, "%s/%s", cwd ? cwd : ".", name);
    else if (p[0] != '/' && cwd != NULL)
      n = snprintf(out, out_len, "%s/%.*s/%s", cwd, dir_len, p, name);
    else
      n = snprintf(out, out_len, "%.*s/%s", dir_len, p, name);
    struct stat st;
    if (n > 0 && (size_t)n < out_len && stat(out, &st) == 0 &&
        S_ISREG(st.st_mode)) {
      if (access(out, X_OK) == 0)
        return 0;
      err = EACCES;
    }
    if (*end == '\0')
      return err;
    p = end;
  }
}
