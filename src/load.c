/*
 * The loader: a job file (UTF-8 JSON, SPEC §1) into a sealed plan.
 *
 * It works in three passes so that every problem can be reported, not
 * only the first:
 *   1. the text: UTF-8, then a strict JSON scan of our own that gives
 *      exact line:column positions and bounds the nesting depth before
 *      cJSON (which would stop at 1000 levels with a vague error) sees it;
 *   2. the tree from cJSON: duplicate keys anywhere, then the keys, types
 *      and ranges of SPEC §1, each reported with its JSON path;
 *   3. the plan: one corun_plan_add_job() per job and corun_plan_seal(),
 *      which check needs, pools and cycles.
 * This is the only file that reads JSON with cJSON.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deep enough for any job file, well inside cJSON's own limit of 1000. */
#define MAX_DEPTH 512
/* cJSON copies a number into a 64-byte buffer before strtod. */
#define MAX_NUMBER_LEN 63
/* A job file this big is a mistake (a device, a log file, /dev/zero). */
#define MAX_FILE_SIZE ((size_t)256 << 20)
/* Strings quoted in messages are cut after this many bytes. */
#define QUOTE_MAX 100
#define MAX_PARALLEL 100000
#define MAX_POOL_SLOTS 100000
#define MAX_RETRIES 1000
#define MAX_SECONDS 1e9
/* kill_grace 0 means "SIGKILL at once", but 0 in a desc means the default. */
#define KILL_AT_ONCE 0.001

static const char DURATION_MSG[] =
    "expected a number of seconds or a duration like \"1m30s\"";

/* ---- growing strings -------------------------------------------------- */

typedef struct {
  char *s;
  size_t len, cap;
  bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *p, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *g = realloc(b->s, cap);
    if (g == NULL) {
      b->oom = true;
      return;
    }
    b->s = g;
    b->cap = cap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_cut(sbuf_t *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->s[len] = '\0';
  }
}

static const char *sb_get(const sbuf_t *b) {
  return b->s != NULL && !b->oom ? b->s : "";
}

/*
 * Append `s` as a double-quoted string a reader can trust: quotes,
 * backslashes and control characters escaped (a message stays one line),
 * long text cut on a character boundary.
 */
static void sb_quote(sbuf_t *b, const char *s) {
  sb_add(b, "\"", 1);
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
    if (n >= QUOTE_MAX && (*p & 0xC0) != 0x80) {
      sb_str(b, "...");
      break;
    }
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      sb_add(b, e, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", *p);
      sb_str(b, e);
    } else {
      sb_add(b, (const char *)p, 1);
    }
  }
  sb_add(b, "\"", 1);
}

/* ---- the loading context and its messages ----------------------------- */

typedef struct {
  corun_plan_t *plan;
  corun_error_t *err;
  const char *label;
  int code;     /* the first error's code, 0 while none */
  bool oom;
  sbuf_t path;  /* JSON path of the value being checked */
  sbuf_t quote; /* scratch for one quoted string in a message */
  /* Effective job names, for duplicates (see check_name). */
  const char **names; /* per job: its name, NULL for "job-N" */
  size_t *table;      /* open addressing: job index + 1, 0 empty */
  size_t table_cap;
} ctx_t;

static void note(ctx_t *c, int code) {
  if (c->code == 0)
    c->code = code;
}

static void nomem(ctx_t *c) {
  c->oom = true;
  note(c, UV_ENOMEM);
}

static const char *quoted(ctx_t *c, const char *s) {
  sb_cut(&c->quote, 0);
  sb_quote(&c->quote, s);
  if (c->quote.oom)
    nomem(c);
  return sb_get(&c->quote);
}

/* "LABEL: PATH: message" for a problem at the current JSON path. */
static void fail(ctx_t *c, int code, const char *fmt, ...) CORUN_PRINTF(3, 4);
static void fail(ctx_t *c, int code, const char *fmt, ...) {
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  note(c, code);
  if (r < 0 || c->path.oom) {
    free(r < 0 ? NULL : msg);
    nomem(c);
    return;
  }
  corun__err_add(c->err, code, "%s: %s: %s", c->label,
                 c->path.len ? sb_get(&c->path) : "top level", msg);
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

/* Extend the path by an object key; returns the length to go back to. */
static size_t path_key(ctx_t *c, const char *key) {
  size_t mark = c->path.len;
  if (plain_key(key)) {
    if (mark > 0)
      sb_add(&c->path, ".", 1);
    sb_str(&c->path, key);
  } else {
    sb_add(&c->path, "[", 1);
    sb_quote(&c->path, key);
    sb_add(&c->path, "]", 1);
  }
  return mark;
}

static size_t path_index(ctx_t *c, size_t i) {
  size_t mark = c->path.len;
  char s[32];
  snprintf(s, sizeof s, "[%zu]", i);
  sb_str(&c->path, s);
  return mark;
}

static void path_back(ctx_t *c, size_t mark) { sb_cut(&c->path, mark); }

/* ---- pass 1: the text ------------------------------------------------- */

/* The offset of the first byte that is not well-formed UTF-8, or len. */
static size_t utf8_check(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0)
        lo = 0xA0; /* overlong */
      else if (c == 0xED)
        hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0)
        lo = 0x90; /* overlong */
      else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    } else {
      return i; /* continuation byte, overlong C0/C1, or F5..FF */
    }
    if (len - i <= need)
      return i;
    if (s[i + 1] < lo || s[i + 1] > hi)
      return i;
    for (size_t k = 2; k <= need; k++)
      if ((s[i + k] & 0xC0) != 0x80)
        return i;
    i += need + 1;
  }
  return len;
}

/* 1-based line and column (in characters) of byte offset `at`. */
static void line_col(const unsigned char *s, size_t at, size_t *line,
                     size_t *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < at; i++) {
    if (s[i] == '\n') {
      (*line)++;
      *col = 1;
    } else if ((s[i] & 0xC0) != 0x80) {
      (*col)++;
    }
  }
}

/* "LABEL:LINE:COL: message" for a problem in the text. */
static void fail_at(ctx_t *c, int code, const unsigned char *s, size_t at,
                    const char *msg) {
  size_t line, col;
  line_col(s, at, &line, &col);
  note(c, code);
  corun__err_add(c->err, code, "%s:%zu:%zu: %s", c->label, line, col, msg);
}

typedef struct {
  const unsigned char *s;
  size_t len;
  size_t at;      /* where the problem is */
  int code;       /* CORUN_ESYNTAX, or CORUN_EINVALID for \u0000 */
  char msg[128];
} scan_t;

static int scan_fail(scan_t *sc, size_t at, const char *msg) {
  sc->at = at;
  sc->code = CORUN_ESYNTAX;
  snprintf(sc->msg, sizeof sc->msg, "syntax error: %s", msg);
  return -1;
}

/* "unexpected 'x'" for the character at `at`, or "... end of input". */
static int scan_unexpected(scan_t *sc, size_t at, const char *after) {
  char what[48];
  if (at >= sc->len) {
    snprintf(what, sizeof what, "end of input");
  } else {
    unsigned char c = sc->s[at];
    if (c >= 0x20 && c < 0x7f) {
      snprintf(what, sizeof what, "'%c'", c);
    } else if (c < 0x80) {
      snprintf(what, sizeof what, "U+%04X", c);
    } else {
      /* Pass 1 checked the UTF-8 already: decode one character. */
      size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      unsigned cp = c & (0x3F >> (n - 1));
      for (size_t k = 1; k < n; k++)
        cp = (cp << 6) | (sc->s[at + k] & 0x3F);
      snprintf(what, sizeof what, "'%.*s' (U+%04X)", (int)n,
               (const char *)sc->s + at, cp);
    }
  }
  sc->at = at;
  sc->code = CORUN_ESYNTAX;
  snprintf(sc->msg, sizeof sc->msg, "syntax error: unexpected %s%s", what,
           after);
  return -1;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    unsigned char c = p[k];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    v = v * 16 + d;
  }
  *out = v;
  return 0;
}

/* A string starting at the quote at *i; *i ends after its closing quote. */
static int scan_string(scan_t *sc, size_t *i) {
  const unsigned char *s = sc->s;
  size_t start = *i, j = start + 1;
  for (;;) {
    if (j >= sc->len)
      return scan_fail(sc, start, "unterminated string");
    unsigned char c = s[j];
    if (c == '"')
      break;
    if (c == '\n')
      return scan_fail(sc, j, "string not closed before the end of the line "
                              "(a line break inside a string is written \\n)");
    if (c < 0x20) {
      char m[64];
      snprintf(m, sizeof m, "control character U+%04X in a string", c);
      return scan_fail(sc, j, m);
    }
    if (c != '\\') {
      j++;
      continue;
    }
    if (j + 1 >= sc->len)
      return scan_fail(sc, start, "unterminated string");
    unsigned char e = s[j + 1];
    if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
      j += 2;
      continue;
    }
    if (e != 'u')
      return scan_fail(sc, j, "invalid escape in a string");
    unsigned cp, lo;
    if (sc->len - j < 6 || hex4(s + j + 2, &cp) != 0)
      return scan_fail(sc, j, "invalid \\u escape");
    if (cp == 0) {
      sc->at = j;
      sc->code = CORUN_EINVALID;
      snprintf(sc->msg, sizeof sc->msg,
               "strings must not contain \\u0000");
      return -1;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return scan_fail(sc, j, "invalid \\u escape: unpaired surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (sc->len - j < 12 || s[j + 6] != '\\' || s[j + 7] != 'u' ||
          hex4(s + j + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
        return scan_fail(sc, j, "invalid \\u escape: unpaired surrogate");
      j += 6;
    }
    j += 6;
  }
  *i = j + 1;
  return 0;
}

static bool is_digit(const scan_t *sc, size_t j) {
  return j < sc->len && sc->s[j] >= '0' && sc->s[j] <= '9';
}

/* A number as RFC 8259 has it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(scan_t *sc, size_t *i) {
  size_t start = *i, j = start;
  if (sc->s[j] == '-')
    j++;
  if (!is_digit(sc, j))
    return scan_fail(sc, start, "invalid number");
  if (sc->s[j] == '0') {
    j++;
    if (is_digit(sc, j))
      return scan_fail(sc, start, "invalid number (leading zero)");
  } else {
    while (is_digit(sc, j))
      j++;
  }
  if (j < sc->len && sc->s[j] == '.') {
    j++;
    if (!is_digit(sc, j))
      return scan_fail(sc, start, "invalid number");
    while (is_digit(sc, j))
      j++;
  }
  if (j < sc->len && (sc->s[j] == 'e' || sc->s[j] == 'E')) {
    j++;
    if (j < sc->len && (sc->s[j] == '+' || sc->s[j] == '-'))
      j++;
    if (!is_digit(sc, j))
      return scan_fail(sc, start, "invalid number");
    while (is_digit(sc, j))
      j++;
  }
  if (j - start > MAX_NUMBER_LEN)
    return scan_fail(sc, start, "number too long");
  *i = j;
  return 0;
}

/* true, false or null; a misspelling is named whole, where it starts. */
static int scan_literal(scan_t *sc, size_t *i, const char *word) {
  size_t j = *i;
  for (const char *w = word; *w; w++, j++) {
    if (j >= sc->len || sc->s[j] != (unsigned char)*w) {
      size_t end = *i;
      while (end < sc->len && end - *i < 20 &&
             ((sc->s[end] >= 'a' && sc->s[end] <= 'z') ||
              (sc->s[end] >= 'A' && sc->s[end] <= 'Z')))
        end++;
      char m[96];
      snprintf(m, sizeof m, "unexpected '%.*s', expected a value "
               "(true, false or null)", (int)(end - *i), (const char *)sc->s + *i);
      return scan_fail(sc, *i, m);
    }
  }
  *i = j;
  return 0;
}

/*
 * Check that the text is one JSON value and nothing else, the way RFC 8259
 * has it (cJSON is more lenient: leading zeros, raw control characters),
 * with containers nested at most MAX_DEPTH deep. Iterative: no input can
 * exhaust the stack. Returns 0, or -1 with sc->at, sc->code and sc->msg.
 */
enum scan_state { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, COLON, AFTER };

/* What the scanner wanted where it stopped, for the message. */
static const char *expected(enum scan_state st, const char *stack,
                            size_t depth, unsigned char c) {
  bool obj = depth > 0 && stack[depth - 1] == '{';
  switch (st) {
  case AFTER:
    if (depth == 0)
      return " after the JSON value";
    return obj ? ", expected ',' or '}'" : ", expected ',' or ']'";
  case KEY:
    return c == '}' ? ", expected a key (a comma cannot come last)"
                    : ", expected a key in double quotes";
  case KEY_OR_CLOSE: return ", expected a key in double quotes or '}'";
  case COLON: return ", expected ':'";
  case VALUE:
    return c == ']' || c == '}' ? ", expected a value (a comma cannot come last)"
                                : ", expected a value";
  case VALUE_OR_CLOSE: return ", expected a value or ']'";
  }
  return "";
}

static int scan_json(scan_t *sc) {
  enum scan_state st = VALUE;
  char stack[MAX_DEPTH];
  size_t depth = 0, i = 0;
  const unsigned char *s = sc->s;
  for (;;) {
    while (i < sc->len &&
           (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
      i++;
    if (i >= sc->len) {
      if (depth == 0 && st == AFTER)
        return 0;
      return scan_unexpected(sc, i, expected(st, stack, depth, 0));
    }
    unsigned char c = s[i];
    switch (st) {
    case AFTER:
      if (depth == 0)
        return scan_unexpected(sc, i, expected(st, stack, depth, c));
      if (c == ',') {
        st = stack[depth - 1] == '{' ? KEY : VALUE;
        i++;
      } else if (c == (stack[depth - 1] == '{' ? '}' : ']')) {
        depth--;
        i++;
      } else {
        return scan_unexpected(sc, i, expected(st, stack, depth, c));
      }
      break;
    case KEY_OR_CLOSE:
    case KEY:
      if (c == '}' && st == KEY_OR_CLOSE) {
        depth--;
        i++;
        st = AFTER;
      } else if (c == '"') {
        if (scan_string(sc, &i) != 0)
          return -1;
        st = COLON;
      } else {
        return scan_unexpected(sc, i, expected(st, stack, depth, c));
      }
      break;
    case COLON:
      if (c != ':')
        return scan_unexpected(sc, i, expected(st, stack, depth, c));
      i++;
      st = VALUE;
      break;
    case VALUE_OR_CLOSE:
    case VALUE:
      if (c == ']' && st == VALUE_OR_CLOSE) {
        depth--;
        i++;
        st = AFTER;
        break;
      }
      if (c == ']' || c == '}' || c == ',' || c == ':')
        return scan_unexpected(sc, i, expected(st, stack, depth, c));
      st = AFTER;
      if (c == '{' || c == '[') {
        if (depth == MAX_DEPTH) {
          char m[64];
          snprintf(m, sizeof m, "nesting too deep (more than %d levels)",
                   MAX_DEPTH);
          return scan_fail(sc, i, m);
        }
        stack[depth++] = (char)c;
        st = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
        i++;
      } else if (c == '"') {
        if (scan_string(sc, &i) != 0)
          return -1;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (scan_number(sc, &i) != 0)
          return -1;
      } else if (c == 't') {
        if (scan_literal(sc, &i, "true") != 0)
          return -1;
      } else if (c == 'f') {
        if (scan_literal(sc, &i, "false") != 0)
          return -1;
      } else if (c == 'n') {
        if (scan_literal(sc, &i, "null") != 0)
          return -1;
      } else {
        return scan_unexpected(sc, i, ", expected a value");
      }
      break;
    }
  }
}

/* ---- pass 2: duplicate keys ------------------------------------------- */

typedef struct {
  const char *key;
  size_t idx;
} keyref_t;

static int keyref_cmp(const void *a, const void *b) {
  const keyref_t *x = a, *y = b;
  int r = strcmp(x->key, y->key);
  return r != 0 ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Mark in dup[] every member of `obj` whose key an earlier member has.
 * Small objects compare pairwise; big ones (an env of thousands of keys)
 * sort, so that no input makes this quadratic.
 */
static int find_dups(const cJSON *obj, size_t n, bool *dup) {
  if (n <= 16) {
    size_t i = 0;
    for (const cJSON *a = obj->child; a; a = a->next, i++)
      for (const cJSON *b = obj->child; b != a; b = b->next)
        if (strcmp(a->string, b->string) == 0) {
          dup[i] = true;
          break;
        }
    return 0;
  }
  keyref_t *refs = malloc(n * sizeof *refs);
  if (refs == NULL)
    return UV_ENOMEM;
  size_t i = 0;
  for (const cJSON *a = obj->child; a; a = a->next, i++)
    refs[i] = (keyref_t){a->string, i};
  qsort(refs, n, sizeof *refs, keyref_cmp);
  for (i = 1; i < n; i++)
    if (strcmp(refs[i].key, refs[i - 1].key) == 0)
      dup[refs[i].idx] = true;
  free(refs);
  return 0;
}

/*
 * Report every key that appears twice in one object, anywhere in the
 * tree, and drop the later copies so that the checks that follow see each
 * key once. Recursion is bounded by MAX_DEPTH.
 */
static void check_dups(ctx_t *c, cJSON *item) {
  if (cJSON_IsObject(item)) {
    size_t n = 0;
    for (cJSON *m = item->child; m; m = m->next)
      n++;
    bool *dup = n ? calloc(n, sizeof *dup) : NULL;
    if (n && (dup == NULL || find_dups(item, n, dup) != 0)) {
      free(dup);
      nomem(c);
      return;
    }
    size_t i = 0;
    for (cJSON *m = item->child, *next; m; m = next, i++) {
      next = m->next;
      size_t mark = path_key(c, m->string);
      if (dup[i]) {
        fail(c, CORUN_EINVALID, "duplicate key %s", quoted(c, m->string));
        cJSON_Delete(cJSON_DetachItemViaPointer(item, m));
      } else {
        check_dups(c, m);
      }
      path_back(c, mark);
    }
    free(dup);
  } else if (cJSON_IsArray(item)) {
    size_t i = 0;
    for (cJSON *m = item->child; m; m = m->next, i++) {
      size_t mark = path_index(c, i);
      check_dups(c, m);
      path_back(c, mark);
    }
  }
}

/* ---- pass 2: keys, types and ranges ----------------------------------- */

enum {
  K_NAME,
  K_CMD,
  K_CWD,
  K_ENV,
  K_NEEDS,
  K_TIMEOUT,
  K_KILL_GRACE,
  K_RETRIES,
  K_RETRY_DELAY,
  K_RETRY_BACKOFF,
  K_STDIN,
  K_POOL,
  K_ALLOW_FAILURE,
  K_COUNT
};

/* In the order of the K_* above. */
static const char *const job_keys[] = {
    "name",        "cmd",           "cwd",   "env",  "needs",
    "timeout",     "kill_grace",    "retries",
    "retry_delay", "retry_backoff", "stdin", "pool", "allow_failure",
    NULL};
_Static_assert(sizeof job_keys / sizeof *job_keys == K_COUNT + 1,
               "job_keys and K_* differ");

static const char *const default_keys[] = {
    "cwd",         "env",           "timeout", "kill_grace", "retries",
    "retry_delay", "retry_backoff", "stdin",   "pool",       "allow_failure",
    NULL};

enum { T_CORUN, T_JOBS, T_MAX_PARALLEL, T_HALT, T_POOLS, T_DEFAULTS, T_COUNT };

static const char *const top_keys[] = {
    "corun", "jobs", "max_parallel", "halt", "pools", "defaults", NULL};
_Static_assert(sizeof top_keys / sizeof *top_keys == T_COUNT + 1,
               "top_keys and T_* differ");

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

static void unknown_key(ctx_t *c, const char *const *keys, const char *key) {
  const char *hint = near_miss(keys, key);
  if (hint != NULL)
    fail(c, CORUN_EINVALID, "unknown key %s (did you mean \"%s\"?)",
         quoted(c, key), hint);
  else if (keys == top_keys && key_index(job_keys, key) >= 0)
    fail(c, CORUN_EINVALID,
         "unknown key %s (a setting for every job goes in \"defaults\")",
         quoted(c, key));
  else
    fail(c, CORUN_EINVALID, "unknown key %s", quoted(c, key));
}

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

/* A duration: a number of seconds, or a string for corun_duration_parse. */
static bool get_duration(ctx_t *c, const cJSON *v, bool positive,
                         double *out) {
  double d;
  if (cJSON_IsNumber(v)) {
    d = v->valuedouble;
    if (d < 0) {
      fail(c, CORUN_EINVALID, "must not be negative");
      return false;
    }
    if (!(d <= MAX_SECONDS)) {
      fail(c, CORUN_EINVALID, "too long (at most %.0f seconds)", MAX_SECONDS);
      return false;
    }
  } else if (!cJSON_IsString(v) ||
             corun_duration_parse(v->valuestring, &d) != 0) {
    fail(c, CORUN_EINVALID, "%s", DURATION_MSG);
    return false;
  }
  if (positive && d == 0) {
    fail(c, CORUN_EINVALID,
         "must be more than 0 (leave it out for no time limit)");
    return false;
  }
  *out = d;
  return true;
}

/* The settings of one job, or of "defaults": each key present or not. */
typedef struct {
  unsigned present; /* bit (1 << K_*) for every key given */
  const char *name, *cwd, *stdin_text, *pool;
  const cJSON *cmd, *env, *needs;
  double timeout, kill_grace, retry_delay;
  unsigned retries;
  bool retry_backoff, allow_failure;
} settings_t;

static void check_cmd(ctx_t *c, const cJSON *v) {
  if (cJSON_IsString(v)) {
    if (v->valuestring[0] == '\0')
      fail(c, CORUN_EINVALID, "expected a non-empty string");
    return;
  }
  if (!cJSON_IsArray(v)) {
    fail(c, CORUN_EINVALID, "expected a string or an array of strings");
    return;
  }
  if (v->child == NULL) {
    fail(c, CORUN_EINVALID, "expected a non-empty array");
    return;
  }
  size_t i = 0;
  for (const cJSON *a = v->child; a; a = a->next, i++) {
    size_t mark = path_index(c, i);
    if (!cJSON_IsString(a))
      fail(c, CORUN_EINVALID, "expected a string");
    else if (i == 0 && a->valuestring[0] == '\0')
      fail(c, CORUN_EINVALID, "expected the program to run, not \"\"");
    path_back(c, mark);
  }
}

static void check_env(ctx_t *c, const cJSON *v) {
  if (!cJSON_IsObject(v)) {
    fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  for (const cJSON *e = v->child; e; e = e->next) {
    size_t mark = path_key(c, e->string);
    if (e->string[0] == '\0' || strchr(e->string, '=') != NULL)
      fail(c, CORUN_EINVALID,
           "invalid variable name %s (empty or containing '=')",
           quoted(c, e->string));
    if (!cJSON_IsString(e) && !cJSON_IsNull(e))
      fail(c, CORUN_EINVALID, "expected a string or null");
    path_back(c, mark);
  }
}

static void check_needs(ctx_t *c, const cJSON *v) {
  if (!cJSON_IsArray(v)) {
    fail(c, CORUN_EINVALID, "expected an array of job names");
    return;
  }
  size_t i = 0;
  for (const cJSON *a = v->child; a; a = a->next, i++) {
    size_t mark = path_index(c, i);
    if (!cJSON_IsString(a))
      fail(c, CORUN_EINVALID, "expected a string");
    else if (!corun__name_valid(a->valuestring))
      fail(c, CORUN_EINVALID, "invalid job name %s",
           quoted(c, a->valuestring));
    path_back(c, mark);
  }
}

static void check_string(ctx_t *c, const cJSON *v, bool nonempty,
                         const char **out) {
  if (!cJSON_IsString(v))
    fail(c, CORUN_EINVALID, "expected a string");
  else if (nonempty && v->valuestring[0] == '\0')
    fail(c, CORUN_EINVALID, "expected a non-empty string");
  else
    *out = v->valuestring;
}

static void check_bool(ctx_t *c, const cJSON *v, bool *out) {
  if (!cJSON_IsBool(v))
    fail(c, CORUN_EINVALID, "expected true or false");
  else
    *out = cJSON_IsTrue(v);
}

/* One key of a job or of "defaults"; the path is at the key already. */
static void check_setting(ctx_t *c, int key, const cJSON *v,
                          settings_t *s) {
  s->present |= 1u << key;
  switch (key) {
  case K_NAME:
    check_string(c, v, false, &s->name);
    break;
  case K_CMD:
    check_cmd(c, v);
    s->cmd = v;
    break;
  case K_CWD:
    check_string(c, v, true, &s->cwd);
    break;
  case K_ENV:
    check_env(c, v);
    s->env = v;
    break;
  case K_NEEDS:
    check_needs(c, v);
    s->needs = v;
    break;
  case K_TIMEOUT:
    get_duration(c, v, true, &s->timeout);
    break;
  case K_KILL_GRACE:
    if (get_duration(c, v, false, &s->kill_grace) && s->kill_grace == 0)
      s->kill_grace = KILL_AT_ONCE;
    break;
  case K_RETRY_DELAY:
    get_duration(c, v, false, &s->retry_delay);
    break;
  case K_RETRIES:
    if (!get_uint(v, 0, MAX_RETRIES, &s->retries))
      fail(c, CORUN_EINVALID, "expected an integer from 0 to %d",
           MAX_RETRIES);
    break;
  case K_RETRY_BACKOFF:
    check_bool(c, v, &s->retry_backoff);
    break;
  case K_ALLOW_FAILURE:
    check_bool(c, v, &s->allow_failure);
    break;
  case K_STDIN:
    check_string(c, v, false, &s->stdin_text);
    break;
  case K_POOL:
    check_string(c, v, false, &s->pool);
    if (s->pool != NULL && !corun__name_valid(s->pool)) {
      fail(c, CORUN_EINVALID, "invalid pool name %s", quoted(c, s->pool));
      s->pool = NULL;
    }
    break;
  }
}

/* Every key of a job object, or of "defaults" (in_defaults). */
static void check_settings(ctx_t *c, const cJSON *obj, bool in_defaults,
                           settings_t *s) {
  for (const cJSON *m = obj->child; m; m = m->next) {
    size_t mark = path_key(c, m->string);
    int key = key_index(job_keys, m->string);
    if (key < 0)
      unknown_key(c, in_defaults ? default_keys : job_keys, m->string);
    else if (in_defaults && (key == K_NAME || key == K_NEEDS || key == K_CMD))
      fail(c, CORUN_EINVALID, "not allowed in defaults (set it in each job)");
    else
      check_setting(c, key, m, s);
    path_back(c, mark);
  }
}

/* ---- job names -------------------------------------------------------- */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Job i's name as the plan will have it: its own, or "job-N". */
static const char *job_name(const ctx_t *c, size_t i, char buf[32]) {
  if (c->names[i] != NULL)
    return c->names[i];
  snprintf(buf, 32, "job-%zu", i + 1);
  return buf;
}

/*
 * Check job idx's name (syntax, and duplicates among the jobs so far), with
 * the same words as corun_plan_add_job. The loader checks names itself
 * rather than leave it to the plan because the plan only counts the jobs
 * it accepted: once one job is rejected, the positions and "job-N" names
 * it would give the jobs after it are off by one.
 */
static void check_name(ctx_t *c, size_t idx) {
  char buf[32], obuf[32];
  const char *name = job_name(c, idx, buf);
  bool given = c->names[idx] != NULL;
  /* A default name is the job's own doing: the message names the job. */
  size_t mark = given ? path_key(c, "name") : c->path.len;
  size_t len = strlen(name);
  if (len > CORUN_NAME_MAX) {
    fail(c, CORUN_EINVALID, "name too long (%zu characters, at most %d)", len,
         CORUN_NAME_MAX);
    path_back(c, mark);
    return;
  }
  if (!corun__name_valid(name)) {
    fail(c, CORUN_EINVALID,
         "invalid name %s: use 1 to 200 of A-Z a-z 0-9 _ . : / @ + -",
         quoted(c, name));
    path_back(c, mark);
    return;
  }
  size_t mask = c->table_cap - 1;
  size_t h = hash_name(name) & mask;
  for (; c->table[h] != 0; h = (h + 1) & mask) {
    size_t other = c->table[h] - 1;
    if (strcmp(job_name(c, other, obuf), name) == 0) {
      if (given)
        fail(c, CORUN_EINVALID, "duplicate name %s (also jobs[%zu])",
             quoted(c, name), other);
      else
        fail(c, CORUN_EINVALID,
             "its default name %s is already used by jobs[%zu]: give it a name",
             quoted(c, name), other);
      path_back(c, mark);
      return;
    }
  }
  c->table[h] = idx + 1;
  path_back(c, mark);
}

/* ---- pass 3: descriptions for the plan -------------------------------- */

static size_t count_members(const cJSON *v) {
  size_t n = 0;
  for (const cJSON *m = v ? v->child : NULL; m; m = m->next)
    n++;
  return n;
}

/* A NULL-terminated array of the strings of a JSON array (borrowed). */
static const char **string_vector(const cJSON *arr) {
  const char **v = calloc(count_members(arr) + 1, sizeof *v);
  size_t i = 0;
  for (const cJSON *a = arr->child; v && a; a = a->next)
    v[i++] = a->valuestring;
  return v;
}

static char *env_entry(const cJSON *e) {
  char *s = NULL;
  if (cJSON_IsNull(e))
    return corun__strdup(e->string);
  if (asprintf(&s, "%s=%s", e->string, e->valuestring) < 0)
    return NULL;
  return s;
}

static void free_vector(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/*
 * The job's environment: the defaults' entries the job does not name,
 * then the job's own, as "K=V" (set) and "K" (unset). NULL on no memory;
 * an empty vector when neither sets anything.
 */
static char **merge_env(const cJSON *def, const cJSON *own) {
  char **v = calloc(count_members(def) + count_members(own) + 1, sizeof *v);
  if (v == NULL)
    return NULL;
  size_t n = 0;
  for (const cJSON *d = def ? def->child : NULL; d; d = d->next) {
    if (own != NULL && cJSON_GetObjectItemCaseSensitive(own, d->string))
      continue;
    if ((v[n++] = env_entry(d)) == NULL)
      goto nomem;
  }
  for (const cJSON *o = own ? own->child : NULL; o; o = o->next)
    if ((v[n++] = env_entry(o)) == NULL)
      goto nomem;
  return v;
nomem:
  free_vector(v);
  return NULL;
}

#define PICK(field, key) \
  ((own->present & (1u << (key))) ? own->field : def->field)

/* Build job idx's description from its settings over the defaults and
 * hand it to the plan, which copies it. */
static void add_job(ctx_t *c, const settings_t *own, const settings_t *def) {
  corun_job_desc_t d = {0};
  const char **argv = NULL, **needs = NULL;
  char **env = NULL;
  d.name = own->name;
  if (cJSON_IsString(own->cmd)) {
    d.shell = own->cmd->valuestring;
  } else if ((argv = string_vector(own->cmd)) == NULL) {
    goto nomem;
  }
  d.argv = argv;
  d.cwd = PICK(cwd, K_CWD);
  d.pool = PICK(pool, K_POOL);
  d.stdin_text = PICK(stdin_text, K_STDIN);
  d.timeout_s = PICK(timeout, K_TIMEOUT);
  d.kill_grace_s = PICK(kill_grace, K_KILL_GRACE);
  d.retry_delay_s = PICK(retry_delay, K_RETRY_DELAY);
  d.retries = PICK(retries, K_RETRIES);
  d.retry_backoff = PICK(retry_backoff, K_RETRY_BACKOFF);
  d.allow_failure = PICK(allow_failure, K_ALLOW_FAILURE);
  if (own->needs != NULL && (needs = string_vector(own->needs)) == NULL)
    goto nomem;
  d.needs = needs;
  if (own->env != NULL || def->env != NULL) {
    if ((env = merge_env(def->env, own->env)) == NULL)
      goto nomem;
    d.env = (const char *const *)env;
  }
  int rc = corun_plan_add_job(c->plan, &d, c->err);
  if (rc != 0)
    note(c, rc);
  free(argv);
  free(needs);
  free_vector(env);
  return;
nomem:
  free(argv);
  free(needs);
  free_vector(env);
  nomem(c);
}

#undef PICK

static void load_jobs(ctx_t *c, cJSON *jobs, const settings_t *def) {
  size_t n = count_members(jobs);
  size_t cap = 64;
  while (cap < 2 * n)
    cap *= 2;
  c->names = calloc(n ? n : 1, sizeof *c->names);
  c->table = calloc(cap, sizeof *c->table);
  c->table_cap = cap;
  if (c->names == NULL || c->table == NULL) {
    nomem(c);
    return;
  }
  size_t i = 0;
  cJSON *next;
  for (cJSON *j = jobs->child; j; j = next, i++) {
    next = j->next;
    size_t mark = path_index(c, i);
    if (!cJSON_IsObject(j)) {
      fail(c, CORUN_EINVALID, "expected an object");
      path_back(c, mark);
      continue;
    }
    settings_t s = {0};
    check_settings(c, j, false, &s);
    if (!(s.present & (1u << K_CMD)))
      fail(c, CORUN_EINVALID, "missing required key \"cmd\"");
    if (!(s.present & (1u << K_NAME)) || s.name != NULL) {
      c->names[i] = s.name;
      check_name(c, i);
    }
    /* Once anything is wrong the plan is dropped: keep checking only. */
    if (c->code == 0)
      add_job(c, &s, def);
    if (c->code == 0) {
      /* The plan has its own copy now: the job's tree can go, and its name
       * is looked up in the plan from here on. */
      if (c->names[i] != NULL)
        c->names[i] = c->plan->jobs[c->plan->n_jobs - 1].d.name;
      cJSON_Delete(cJSON_DetachItemViaPointer(jobs, j));
    }
    path_back(c, mark);
  }
}

static void load_pools(ctx_t *c, const cJSON *pools) {
  if (!cJSON_IsObject(pools)) {
    fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  for (const cJSON *p = pools->child; p; p = p->next) {
    size_t mark = path_key(c, p->string);
    unsigned slots;
    if (!get_uint(p, 1, MAX_POOL_SLOTS, &slots)) {
      fail(c, CORUN_EINVALID, "expected an integer from 1 to %d",
           MAX_POOL_SLOTS);
    } else {
      int rc = corun_plan_add_pool(c->plan, p->string, slots, c->err);
      if (rc != 0)
        note(c, rc);
    }
    path_back(c, mark);
  }
}

static void load_top(ctx_t *c, cJSON *root) {
  if (!cJSON_IsObject(root)) {
    fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  cJSON *jobs = NULL;
  settings_t def = {0};
  for (cJSON *m = root->child; m; m = m->next) {
    size_t mark = path_key(c, m->string);
    unsigned u;
    int rc;
    switch (key_index(top_keys, m->string)) {
    case T_CORUN:
      if (!cJSON_IsNumber(m))
        fail(c, CORUN_EINVALID, "expected the format version 1");
      else if (m->valuedouble != 1)
        fail(c, CORUN_EINVALID,
             "unsupported format version: this corun reads version 1");
      break;
    case T_JOBS:
      if (!cJSON_IsArray(m))
        fail(c, CORUN_EINVALID, "expected an array of jobs");
      else
        jobs = m;
      break;
    case T_MAX_PARALLEL:
      if (!get_uint(m, 1, MAX_PARALLEL, &u))
        fail(c, CORUN_EINVALID, "expected an integer from 1 to %d",
             MAX_PARALLEL);
      else
        corun_plan_set_max_parallel(c->plan, u);
      break;
    case T_HALT: /* the plan checks the policy and says what is wrong */
      if (!cJSON_IsString(m)) {
        fail(c, CORUN_EINVALID, "expected a string");
      } else if ((rc = corun_plan_set_halt(c->plan, m->valuestring,
                                           c->err)) != 0) {
        if (rc == UV_ENOMEM)
          nomem(c);
        note(c, rc);
      }
      break;
    case T_POOLS:
      load_pools(c, m);
      break;
    case T_DEFAULTS:
      if (!cJSON_IsObject(m))
        fail(c, CORUN_EINVALID, "expected an object");
      else
        check_settings(c, m, true, &def);
      break;
    default:
      unknown_key(c, top_keys, m->string);
      break;
    }
    path_back(c, mark);
  }
  if (jobs != NULL) {
    size_t mark = path_key(c, "jobs");
    load_jobs(c, jobs, &def);
    path_back(c, mark);
  } else if (cJSON_GetObjectItemCaseSensitive(root, "jobs") == NULL) {
    fail(c, CORUN_EINVALID, "missing required key \"jobs\"");
  }
}

/* ---- the entry points ------------------------------------------------- */

static bool blank(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

int corun__load(corun_plan_t *plan, const char *buf, size_t len,
                corun_error_t *err) {
  ctx_t c = {.plan = plan, .err = err, .label = plan->label};
  if (plan->sealed || plan->n_jobs > 0) {
    corun__err_add(err, CORUN_ESTATE, "%s: the plan is not empty", c.label);
    return CORUN_ESTATE;
  }
  const unsigned char *s = (const unsigned char *)buf;
  if (s == NULL)
    len = 0;
  if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
    s += 3;
    len -= 3;
  }
  size_t bad = utf8_check(s, len);
  if (bad < len) {
    fail_at(&c, CORUN_ESYNTAX, s, bad, "invalid UTF-8");
    return c.code;
  }
  if (blank(s, len)) {
    fail_at(&c, CORUN_ESYNTAX, s, 0, "empty file, expected a JSON object");
    return c.code;
  }
  scan_t sc = {.s = s, .len = len};
  if (scan_json(&sc) != 0) {
    fail_at(&c, sc.code, s, sc.at, sc.msg);
    return c.code;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)s, len, &end, 0);
  if (root == NULL) {
    /* The scan accepted the text, so this is cJSON running out of memory
     * or disagreeing with RFC 8259; its end pointer says where. */
    size_t at = end != NULL && end >= (const char *)s &&
                        end <= (const char *)s + len
                    ? (size_t)(end - (const char *)s)
                    : 0;
    scan_unexpected(&sc, at, "");
    fail_at(&c, CORUN_ESYNTAX, s, at, sc.msg);
    return c.code;
  }
  check_dups(&c, root);
  load_top(&c, root);
  if (c.oom || c.path.oom || c.quote.oom) {
    note(&c, UV_ENOMEM);
    corun__err_add(err, UV_ENOMEM, "%s: out of memory", c.label);
  }
  if (c.code == 0) {
    int rc = corun_plan_seal(plan, err);
    if (rc != 0)
      note(&c, rc);
  }
  cJSON_Delete(root);
  free(c.path.s);
  free(c.quote.s);
  free(c.names);
  free(c.table);
  return c.code;
}

static int load(corun_plan_t **out, const char *buf, size_t len,
                const char *label, const char *base_dir, corun_error_t *err) {
  corun_plan_t *p = NULL;
  int rc = corun_plan_new(&p, label, base_dir);
  if (rc != 0) {
    corun__err_add(err, rc, "%s: out of memory", label);
    return rc;
  }
  rc = corun__load(p, buf, len, err);
  if (rc != 0) {
    corun_plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int corun_plan_load_buffer(corun_plan_t **plan, const char *buf, size_t len,
                           const char *label, const char *base_dir,
                           corun_error_t *err) {
  if (plan == NULL)
    return CORUN_EINVALID;
  *plan = NULL;
  if (label == NULL)
    label = "<buffer>";
  if (buf == NULL && len > 0) {
    corun__err_add(err, CORUN_EINVALID, "%s: no buffer given", label);
    return CORUN_EINVALID;
  }
  return load(plan, buf, len, label, base_dir, err);
}

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
    rc = load(plan, buf, len, "<stdin>", base, err);
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
  rc = load(plan, buf, len, path, base, err);
  free(buf);
  free(base);
  return rc;
}
