/*
 * The loader's checks of single values, and the words of its messages.
 *
 * load.c walks a job file's tree and hands each key here, where its type
 * and range are checked against SPEC §1 and any problem is reported with
 * the JSON path of the value, so that one run can name every mistake in
 * a file rather than stop at the first. An unknown key gets a guess at
 * the key that was meant, since a typo is by far its likeliest cause.
 * Nothing here changes the plan: what a key gives is only noted in a
 * corun__load_settings_t for load.c to build the job from.
 */
#include "load.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings quoted in messages are cut after this many bytes. */
#define QUOTE_MAX 100
#define MAX_RETRIES 1000
#define MAX_SECONDS 1e9
/* kill_grace 0 means "SIGKILL at once", but 0 in a desc means the default. */
#define KILL_AT_ONCE 0.001

static const char DURATION_MSG[] =
    "expected a number of seconds or a duration like \"1m30s\"";

/* ---- quoting ---------------------------------------------------------- */

/*
 * Append `s` as a double-quoted string a reader can trust: quotes,
 * backslashes and control characters escaped (a message stays one line),
 * long text cut on a character boundary.
 */
static void append_quoted(corun__buf_t *b, const char *s) {
  corun__buf_add(b, "\"", 1);
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
    if (n >= QUOTE_MAX && (*p & 0xC0) != 0x80) {
      corun__buf_str(b, "...");
      break;
    }
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      corun__buf_add(b, e, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      corun__buf_printf(b, "\\u%04x", *p);
    } else {
      corun__buf_add(b, p, 1);
    }
  }
  corun__buf_add(b, "\"", 1);
}

/* ---- the context's messages and JSON path ----------------------------- */

void corun__load_note(corun__load_ctx_t *c, int code) {
  if (c->code == 0)
    c->code = code;
}

void corun__load_nomem(corun__load_ctx_t *c) {
  c->oom = true;
  corun__load_note(c, UV_ENOMEM);
}

const char *corun__load_quoted(corun__load_ctx_t *c, const char *s) {
  corun__buf_cut(&c->quote, 0);
  append_quoted(&c->quote, s);
  if (c->quote.failed)
    corun__load_nomem(c);
  return corun__buf_cstr(&c->quote);
}

void corun__load_fail(corun__load_ctx_t *c, int code, const char *fmt, ...) {
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  corun__load_note(c, code);
  if (r < 0 || c->path.failed) {
    free(r < 0 ? NULL : msg);
    corun__load_nomem(c);
    return;
  }
  corun__err_add(c->err, code, "%s: %s: %s", c->label,
                 c->path.len ? corun__buf_cstr(&c->path) : "top level", msg);
  free(msg);
}

/* Whether `key` reads well after a dot in a path: FOO, max_parallel. */
static bool plain_key(const char *key) {
  size_t n = 0;
  for (const char *p = key; *p; p++, n++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '_' || (n > 0 && ((*p >= '0' && *p <= '9') || *p == '-'));
    if (!ok)
      return false;
  }
  return n > 0 && n <= QUOTE_MAX;
}

size_t corun__load_path_key(corun__load_ctx_t *c, const char *key) {
  size_t mark = c->path.len;
  if (plain_key(key)) {
    if (mark > 0)
      corun__buf_add(&c->path, ".", 1);
    corun__buf_str(&c->path, key);
  } else {
    corun__buf_add(&c->path, "[", 1);
    append_quoted(&c->path, key);
    corun__buf_add(&c->path, "]", 1);
  }
  return mark;
}

size_t corun__load_path_index(corun__load_ctx_t *c, size_t i) {
  size_t mark = c->path.len;
  corun__buf_printf(&c->path, "[%zu]", i);
  return mark;
}

void corun__load_path_back(corun__load_ctx_t *c, size_t mark) {
  corun__buf_cut(&c->path, mark);
}

/* ---- the keys, and a guess at a mistyped one -------------------------- */

/* In the order of the CORUN__LOAD_* keys. */
static const char *const job_keys[] = {
    "name",        "cmd",           "cwd",   "env",  "needs",
    "timeout",     "kill_grace",    "retries",
    "retry_delay", "retry_backoff", "stdin", "pool", "allow_failure",
    NULL};
_Static_assert(sizeof job_keys / sizeof *job_keys == CORUN__LOAD_KEY_COUNT + 1,
               "job_keys and CORUN__LOAD_* differ");

static const char *const default_keys[] = {
    "cwd",         "env",           "timeout", "kill_grace", "retries",
    "retry_delay", "retry_backoff", "stdin",   "pool",       "allow_failure",
    NULL};

/* In the order of the CORUN__LOAD_TOP_* keys. */
static const char *const top_keys[] = {
    "corun", "jobs", "max_parallel", "halt", "pools", "defaults", NULL};
_Static_assert(sizeof top_keys / sizeof *top_keys == CORUN__LOAD_TOP_COUNT + 1,
               "top_keys and CORUN__LOAD_TOP_* differ");

static int key_index(const char *const *keys, const char *key) {
  for (int i = 0; keys[i]; i++)
    if (strcmp(keys[i], key) == 0)
      return i;
  return -1;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Edit distance with transpositions, ignoring case; for short words. */
static size_t distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  size_t d[33][33];
  if (n > 32 || m > 32)
    return SIZE_MAX;
  for (size_t i = 0; i <= n; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= m; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= n; i++) {
    for (size_t j = 1; j <= m; j++) {
      size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
      size_t v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v)
        v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  }
  return d[n][m];
}

/* The known key `key` is most likely a typo of, or NULL. */
static const char *near_miss(const char *const *keys, const char *key) {
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; keys[i]; i++) {
    size_t d = distance(key, keys[i]);
    size_t limit = strlen(keys[i]) <= 4 ? 1 : 2;
    if (d <= limit && d < best_d) {
      best = keys[i];
      best_d = d;
    }
  }
  return best;
}

static void unknown_key(corun__load_ctx_t *c, const char *const *keys,
                        const char *key) {
  const char *hint = near_miss(keys, key);
  if (hint != NULL)
    corun__load_fail(c, CORUN_EINVALID, "unknown key %s (did you mean \"%s\"?)",
                     corun__load_quoted(c, key), hint);
  else if (keys == top_keys && key_index(job_keys, key) >= 0)
    corun__load_fail(
        c, CORUN_EINVALID,
        "unknown key %s (a setting for every job goes in \"defaults\")",
        corun__load_quoted(c, key));
  else
    corun__load_fail(c, CORUN_EINVALID, "unknown key %s",
                     corun__load_quoted(c, key));
}

int corun__load_top_key(corun__load_ctx_t *c, const char *key) {
  int i = key_index(top_keys, key);
  if (i < 0)
    unknown_key(c, top_keys, key);
  return i;
}

/* ---- numbers and durations -------------------------------------------- */

/* A whole number in [lo, hi]; JSON has no integer type of its own. */
static bool get_uint(const cJSON *v, double lo, double hi, unsigned *out) {
  if (!cJSON_IsNumber(v))
    return false;
  double d = v->valuedouble;
  /* The range check comes first: only then is the cast defined. */
  if (!(d >= lo && d <= hi) || d != (double)(unsigned)d)
    return false;
  *out = (unsigned)d;
  return true;
}

bool corun__load_uint(corun__load_ctx_t *c, const cJSON *v, unsigned lo,
                      unsigned hi, unsigned *out) {
  if (get_uint(v, lo, hi, out))
    return true;
  corun__load_fail(c, CORUN_EINVALID, "expected an integer from %u to %u",
                   lo, hi);
  return false;
}

/* A duration: a number of seconds, or a string for corun_duration_parse. */
static bool get_duration(corun__load_ctx_t *c, const cJSON *v, bool positive,
                         double *out) {
  double d;
  if (cJSON_IsNumber(v)) {
    d = v->valuedouble;
    if (d < 0) {
      corun__load_fail(c, CORUN_EINVALID, "must not be negative");
      return false;
    }
    if (!(d <= MAX_SECONDS)) {
      corun__load_fail(c, CORUN_EINVALID, "too long (at most %.0f seconds)",
                       MAX_SECONDS);
      return false;
    }
  } else if (!cJSON_IsString(v) ||
             corun_duration_parse(v->valuestring, &d) != 0) {
    corun__load_fail(c, CORUN_EINVALID, "%s", DURATION_MSG);
    return false;
  }
  if (positive && d == 0) {
    corun__load_fail(c, CORUN_EINVALID,
                     "must be more than 0 (leave it out for no time limit)");
    return false;
  }
  *out = d;
  return true;
}

/* ---- the settings of a job or of "defaults" --------------------------- */

static void check_cmd(corun__load_ctx_t *c, const cJSON *v) {
  if (cJSON_IsString(v)) {
    if (v->valuestring[0] == '\0')
      corun__load_fail(c, CORUN_EINVALID, "expected a non-empty string");
    return;
  }
  if (!cJSON_IsArray(v)) {
    corun__load_fail(c, CORUN_EINVALID,
                     "expected a string or an array of strings");
    return;
  }
  if (v->child == NULL) {
    corun__load_fail(c, CORUN_EINVALID, "expected a non-empty array");
    return;
  }
  size_t i = 0;
  for (const cJSON *a = v->child; a; a = a->next, i++) {
    size_t mark = corun__load_path_index(c, i);
    if (!cJSON_IsString(a))
      corun__load_fail(c, CORUN_EINVALID, "expected a string");
    else if (i == 0 && a->valuestring[0] == '\0')
      corun__load_fail(c, CORUN_EINVALID,
                       "expected the program to run, not \"\"");
    corun__load_path_back(c, mark);
  }
}

static void check_env(corun__load_ctx_t *c, const cJSON *v) {
  if (!cJSON_IsObject(v)) {
    corun__load_fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  for (const cJSON *e = v->child; e; e = e->next) {
    size_t mark = corun__load_path_key(c, e->string);
    if (e->string[0] == '\0' || strchr(e->string, '=') != NULL)
      corun__load_fail(c, CORUN_EINVALID,
                       "invalid variable name %s (empty or containing '=')",
                       corun__load_quoted(c, e->string));
    if (!cJSON_IsString(e) && !cJSON_IsNull(e))
      corun__load_fail(c, CORUN_EINVALID, "expected a string or null");
    corun__load_path_back(c, mark);
  }
}

static void check_needs(corun__load_ctx_t *c, const cJSON *v) {
  if (!cJSON_IsArray(v)) {
    corun__load_fail(c, CORUN_EINVALID, "expected an array of job names");
    return;
  }
  size_t i = 0;
  for (const cJSON *a = v->child; a; a = a->next, i++) {
    size_t mark = corun__load_path_index(c, i);
    if (!cJSON_IsString(a))
      corun__load_fail(c, CORUN_EINVALID, "expected a string");
    else if (!corun__name_valid(a->valuestring))
      corun__load_fail(c, CORUN_EINVALID, "invalid job name %s",
                       corun__load_quoted(c, a->valuestring));
    corun__load_path_back(c, mark);
  }
}

static void check_string(corun__load_ctx_t *c, const cJSON *v, bool nonempty,
                         const char **out) {
  if (!cJSON_IsString(v))
    corun__load_fail(c, CORUN_EINVALID, "expected a string");
  else if (nonempty && v->valuestring[0] == '\0')
    corun__load_fail(c, CORUN_EINVALID, "expected a non-empty string");
  else
    *out = v->valuestring;
}

static void check_bool(corun__load_ctx_t *c, const cJSON *v, bool *out) {
  if (!cJSON_IsBool(v))
    corun__load_fail(c, CORUN_EINVALID, "expected true or false");
  else
    *out = cJSON_IsTrue(v);
}

/* One key of a job or of "defaults"; the path is at the key already. */
static void check_setting(corun__load_ctx_t *c, int key, const cJSON *v,
                          corun__load_settings_t *s) {
  s->present |= 1u << key;
  switch (key) {
  case CORUN__LOAD_NAME:
    check_string(c, v, false, &s->name);
    break;
  case CORUN__LOAD_CMD:
    check_cmd(c, v);
    s->cmd = v;
    break;
  case CORUN__LOAD_CWD:
    check_string(c, v, true, &s->cwd);
    break;
  case CORUN__LOAD_ENV:
    check_env(c, v);
    s->env = v;
    break;
  case CORUN__LOAD_NEEDS:
    check_needs(c, v);
    s->needs = v;
    break;
  case CORUN__LOAD_TIMEOUT:
    get_duration(c, v, true, &s->timeout);
    break;
  case CORUN__LOAD_KILL_GRACE:
    if (get_duration(c, v, false, &s->kill_grace) && s->kill_grace == 0)
      s->kill_grace = KILL_AT_ONCE;
    break;
  case CORUN__LOAD_RETRY_DELAY:
    get_duration(c, v, false, &s->retry_delay);
    break;
  case CORUN__LOAD_RETRIES:
    corun__load_uint(c, v, 0, MAX_RETRIES, &s->retries);
    break;
  case CORUN__LOAD_RETRY_BACKOFF:
    check_bool(c, v, &s->retry_backoff);
    break;
  case CORUN__LOAD_ALLOW_FAILURE:
    check_bool(c, v, &s->allow_failure);
    break;
  case CORUN__LOAD_STDIN:
    check_string(c, v, false, &s->stdin_text);
    break;
  case CORUN__LOAD_POOL:
    check_string(c, v, false, &s->pool);
    if (s->pool != NULL && !corun__name_valid(s->pool)) {
      corun__load_fail(c, CORUN_EINVALID, "invalid pool name %s",
                       corun__load_quoted(c, s->pool));
      s->pool = NULL;
    }
    break;
  }
}

void corun__load_settings(corun__load_ctx_t *c, const cJSON *obj,
                          bool in_defaults, corun__load_settings_t *s) {
  for (const cJSON *m = obj->child; m; m = m->next) {
    size_t mark = corun__load_path_key(c, m->string);
    int key = key_index(job_keys, m->string);
    if (key < 0)
      unknown_key(c, in_defaults ? default_keys : job_keys, m->string);
    else if (in_defaults &&
             (key == CORUN__LOAD_NAME || key == CORUN__LOAD_NEEDS ||
              key == CORUN__LOAD_CMD))
      corun__load_fail(c, CORUN_EINVALID,
                       "not allowed in defaults (set it in each job)");
    else
      check_setting(c, key, m, s);
    corun__load_path_back(c, mark);
  }
}
