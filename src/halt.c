/*
 * Halt policies (SPEC §3), in one place: the grammar, its one message, and
 * whether a policy is met by the counts so far. The scheduler acts on the
 * answer; the loader, the plan, runs and the command line check policies
 * here.
 *
 *   never | fail-fast | (soon|now),(fail|success)=N   with 1 <= N <= 1000000
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char corun__halt_expected[] =
    "expected \"never\", \"fail-fast\", \"soon,fail=N\", \"now,fail=N\", "
    "\"soon,success=N\" or \"now,success=N\"";

int corun__halt_parse(const char *text, corun__halt_t *h) {
  memset(h, 0, sizeof *h);
  if (text == NULL)
    return CORUN_EINVALID;
  if (strcmp(text, "never") == 0)
    return 0;
  if (strcmp(text, "fail-fast") == 0) {
    h->when = CORUN__HALT_SOON;
    h->n = 1;
    return 0;
  }
  const char *p = text;
  if (strncmp(p, "soon,", 5) == 0)
    h->when = CORUN__HALT_SOON;
  else if (strncmp(p, "now,", 4) == 0)
    h->when = CORUN__HALT_NOW;
  else
    return CORUN_EINVALID;
  p = strchr(p, ',') + 1;
  if (strncmp(p, "fail=", 5) == 0) {
    p += 5;
  } else if (strncmp(p, "success=", 8) == 0) {
    h->on_success = true;
    p += 8;
  } else {
    return CORUN_EINVALID;
  }
  if (*p < '1' || *p > '9')
    return CORUN_EINVALID;
  char *end;
  errno = 0;
  unsigned long n = strtoul(p, &end, 10);
  if (*end != '\0' || errno != 0 || n > 1000000)
    return CORUN_EINVALID;
  h->n = (unsigned)n;
  return 0;
}

bool corun__halt_met(const corun__halt_t *h, unsigned successes,
                     unsigned failures) {
  if (h->when == CORUN__HALT_NEVER)
    return false;
  return (h->on_success ? successes : failures) >= h->n;
}

int corun_halt_check(const char *policy, corun_error_t *err) {
  corun__halt_t h;
  if (corun__halt_parse(policy, &h) == 0)
    return 0;
  corun__err_add(err, CORUN_EINVALID, "halt: %s", corun__halt_expected);
  return CORUN_EINVALID;
}
