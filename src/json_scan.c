/*
 * The text pass of the loader (SPEC §1): UTF-8, then a strict JSON scan of
 * our own. It exists because cJSON is lenient (leading zeros, raw control
 * characters), says little about where a mistake is, and stops at 1000
 * levels of nesting with a vague error: this scan gives exact line:column
 * positions and bounds the depth before cJSON sees the text. It stops at
 * the first problem, since nothing after a syntax error can be trusted.
 */
#include "json_scan.h"

#include "internal.h"

#include <stdio.h>
#include <string.h>

/* cJSON copies a number into a 64-byte buffer before strtod. */
#define MAX_NUMBER_LEN 63

typedef struct {
  const unsigned char *s;
  size_t len;
  size_t at;      /* where the problem is */
  size_t line0;   /* lines before the text, in messages */
  int code;       /* CORUN_ESYNTAX, or CORUN_EINVALID for \u0000 */
  char msg[128];
} scan_t;

/* Note the problem at `at`; returns -1 for the scanner to pass up. */
static int stop(scan_t *sc, size_t at, int code, const char *fmt, ...)
    CORUN_PRINTF(4, 5);
static int stop(scan_t *sc, size_t at, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sc->msg, sizeof sc->msg, fmt, ap);
  va_end(ap);
  sc->at = at;
  sc->code = code;
  return -1;
}

static int scan_fail(scan_t *sc, size_t at, const char *msg) {
  return stop(sc, at, CORUN_ESYNTAX, "syntax error: %s", msg);
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

/* "LABEL:LINE:COL: message" for the problem the scan stopped at. */
static int report(const scan_t *sc, const char *label, corun_error_t *err) {
  size_t line, col;
  line_col(sc->s, sc->at, &line, &col);
  corun__err_add(err, sc->code, "%s:%zu:%zu: %s", label, sc->line0 + line, col,
                 sc->msg);
  return sc->code;
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
      /* The UTF-8 check came first: decode one character. */
      size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      snprintf(what, sizeof what, "'%.*s' (U+%04X)", (int)n,
               (const char *)sc->s + at, corun__utf8_decode(sc->s + at, n));
    }
  }
  return stop(sc, at, CORUN_ESYNTAX, "syntax error: unexpected %s%s", what,
              after);
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
    if (c < 0x20)
      return stop(sc, j, CORUN_ESYNTAX,
                  "syntax error: control character U+%04X in a string", c);
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
    /* Valid JSON, but C strings would end there: a schema error. */
    if (cp == 0)
      return stop(sc, j, CORUN_EINVALID, "strings must not contain \\u0000");
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
      return stop(sc, *i, CORUN_ESYNTAX,
                  "syntax error: unexpected '%.*s', expected a value "
                  "(true, false or null)",
                  (int)(end - *i), (const char *)sc->s + *i);
    }
  }
  *i = j;
  return 0;
}

/*
 * Check that the text is one JSON value and nothing else, the way RFC 8259
 * has it, with containers nested at most CORUN__JSON_MAX_DEPTH deep.
 * Iterative: no input can exhaust the stack. Returns 0, or -1 with sc->at,
 * sc->code and sc->msg.
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
  char stack[CORUN__JSON_MAX_DEPTH];
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
        if (depth == CORUN__JSON_MAX_DEPTH)
          return stop(sc, i, CORUN_ESYNTAX,
                      "syntax error: nesting too deep (more than %d levels)",
                      CORUN__JSON_MAX_DEPTH);
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

static bool blank(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

int corun__json_scan(const char *buf, size_t len, const char *label,
                     corun_error_t *err) {
  return corun__json_scan_line(buf, len, label, 1, err);
}

int corun__json_scan_line(const char *buf, size_t len, const char *label,
                          size_t line, corun_error_t *err) {
  scan_t sc = {.s = (const unsigned char *)buf, .len = len, .line0 = line - 1};
  size_t bad = corun__utf8_check(sc.s, len);
  if (bad < len) {
    stop(&sc, bad, CORUN_ESYNTAX, "invalid UTF-8");
    return report(&sc, label, err);
  }
  if (blank(sc.s, len)) {
    stop(&sc, 0, CORUN_ESYNTAX, "empty file, expected a JSON object");
    return report(&sc, label, err);
  }
  if (scan_json(&sc) != 0)
    return report(&sc, label, err);
  return 0;
}

int corun__json_unexpected(const char *buf, size_t len, size_t at,
                           const char *label, corun_error_t *err) {
  scan_t sc = {.s = (const unsigned char *)buf, .len = len};
  scan_unexpected(&sc, at, "");
  return report(&sc, label, err);
}
