/*
 * What every launcher shares: the list of backends, and the environment a
 * job sees (the launcher's base environment with the job's own sets and
 * unsets applied), which each backend hands on in its own way.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

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

char **corun__launch_env(char *const *base, const char *const *env) {
  size_t n = 0, k = 0;
  while (base[n] != NULL)
    n++;
  while (env[k] != NULL)
    k++;
  char **out = malloc((n + k + 1) * sizeof *out);
  if (out == NULL)
    return NULL;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!named_in(env, 0, base[i], name_len(base[i])))
      out[m++] = base[i];
  for (size_t e = 0; e < k; e++) {
    /* An unset adds nothing; of several sets of one name the last wins. */
    if (strchr(env[e], '=') != NULL &&
        !named_in(env, e + 1, env[e], name_len(env[e])))
      out[m++] = (char *)env[e];
  }
  out[m] = NULL;
  return out;
}
