/* libFuzzer target: the two text writers every output file goes through,
 * fed whatever bytes a job might print.
 *
 * corun_json_string() must write one JSON string: cJSON reads `[ "..." ]`
 * back, and a strict reader of this file's own (no raw control character,
 * only JSON's escapes, no lone surrogate escape, well-formed UTF-8) decodes
 * it to the input with each byte that is not UTF-8 as U+FFFD.
 *
 * corun__xml_text() must write text any XML 1.0 parser takes, as character
 * data and inside an attribute: well-formed UTF-8 (corun__utf8_check and
 * this file's own check, from the Unicode standard's table 3-7), only
 * XML's Char production, no raw `<`, `>` or quote, and `&` only starting
 * an entity or a character reference to a Char. Read back as a parser
 * reads it (a raw CR is a newline), it is the input with each byte that is
 * not UTF-8, and each character XML cannot hold, as U+FFFD.
 *
 * Any violation aborts. */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "fuzz_writers: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                \
    }                                                                         \
  } while (0)

typedef struct {
  uint8_t *p;
  size_t n;
} out_t;

static void put(out_t *o, const void *s, size_t n) {
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

static void put_cp(out_t *o, unsigned cp) {
  uint8_t b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (uint8_t)cp, n = 1;
  } else if (cp < 0x800) {
    b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (uint8_t)(0xE0 | cp >> 12);
    b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (uint8_t)(0xF0 | cp >> 18);
    b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    b[3] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 4;
  }
  put(o, b, n);
}

/* The well-formed UTF-8 sequences of the Unicode standard's table 3-7:
 * the length of the one at s[0..n), or 0. */
static size_t well_formed(const uint8_t *s, size_t n) {
  uint8_t c = s[0], lo = 0x80, hi = 0xBF;
  size_t k;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    k = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4)
    k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else
    return 0;
  if (n < k || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < k; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return k;
}

static unsigned code_point(const uint8_t *s, size_t k) {
  static const uint8_t lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  unsigned cp = s[0] & lead_mask[k];
  for (size_t i = 1; i < k; i++)
    cp = cp << 6 | (s[i] & 0x3F);
  return cp;
}

/* XML 1.0's Char production. */
static bool xml_char(unsigned cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* What a reader must get back: the input, each byte that is not UTF-8 as
 * U+FFFD, and for XML each character it cannot hold as U+FFFD too. */
static void expected(const uint8_t *s, size_t n, bool xml, out_t *o) {
  for (size_t i = 0; i < n;) {
    size_t k = well_formed(s + i, n - i);
    if (k == 0)
      put_cp(o, 0xFFFD), i++;
    else if (xml && !xml_char(code_point(s + i, k)))
      put_cp(o, 0xFFFD), i += k;
    else
      put(o, s + i, k), i += k;
  }
}

static unsigned hex4(const uint8_t *s, size_t n, size_t at) {
  CHECK(at + 4 <= n);
  unsigned v = 0;
  for (size_t i = at; i < at + 4; i++) {
    uint8_t c = s[i];
    unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 16u;
    CHECK(d < 16);
    v = v << 4 | d;
  }
  return v;
}

/* Read one JSON string literal that is the whole of s, strictly. */
static void json_decode(const uint8_t *s, size_t n, out_t *o) {
  CHECK(n >= 2 && s[0] == '"' && s[n - 1] == '"');
  for (size_t i = 1; i < n - 1;) {
    uint8_t c = s[i];
    CHECK(c >= 0x20 && c != '"');
    if (c != '\\') {
      size_t k = well_formed(s + i, n - 1 - i);
      CHECK(k > 0);
      put(o, s + i, k);
      i += k;
      continue;
    }
    CHECK(i + 1 < n - 1);
    const char *simple = strchr("\"\\/bfnrt", s[i + 1]);
    if (simple != NULL && s[i + 1] != '\0') {
      static const char val[] = "\"\\/\b\f\n\r\t";
      put(o, &val[simple - "\"\\/bfnrt"], 1);
      i += 2;
      continue;
    }
    CHECK(s[i + 1] == 'u');
    unsigned cp = hex4(s, n - 1, i + 2);
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      CHECK(i + 1 < n - 1 && s[i] == '\\' && s[i + 1] == 'u');
      unsigned lo = hex4(s, n - 1, i + 2);
      CHECK(lo >= 0xDC00 && lo <= 0xDFFF);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 6;
    }
    CHECK(cp < 0xDC00 || cp > 0xDFFF);
    put_cp(o, cp);
  }
}

/* Read XML text as a parser reads character data, strictly. (In an
 * attribute a parser also reads a raw tab or newline as a space.) */
static void xml_decode(const uint8_t *s, size_t n, out_t *o) {
  static const struct {
    const char *ref;
    char c;
  } ENTITIES[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'},
                  {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < n;) {
    size_t k = well_formed(s + i, n - i);
    CHECK(k > 0);
    unsigned cp = code_point(s + i, k);
    CHECK(xml_char(cp));
    CHECK(cp != '<' && cp != '>' && cp != '"' && cp != '\'');
    if (cp == '\r') {
      /* A parser reads a raw CR, or CR LF, as LF. */
      put(o, "\n", 1);
      i += i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
      continue;
    }
    if (cp != '&') {
      put(o, s + i, k);
      i += k;
      continue;
    }
    const uint8_t *semi = memchr(s + i, ';', n - i);
    CHECK(semi != NULL);
    size_t len = (size_t)(semi - (s + i)) + 1;
    bool known = false;
    for (size_t e = 0; e < sizeof ENTITIES / sizeof ENTITIES[0] && !known; e++)
      if (len == strlen(ENTITIES[e].ref) &&
          memcmp(s + i, ENTITIES[e].ref, len) == 0) {
        put(o, &ENTITIES[e].c, 1);
        known = true;
      }
    if (!known) {
      /* &#DDD; or &#xHHH; naming a Char */
      CHECK(len >= 4 && s[i + 1] == '#');
      bool hex = s[i + 2] == 'x';
      unsigned long v = 0;
      for (size_t d = i + 2 + hex; d < i + len - 1; d++) {
        uint8_t c = s[d];
        CHECK((c >= '0' && c <= '9') ||
              (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))));
        v = v * (hex ? 16 : 10) +
            (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        CHECK(v <= 0x10FFFF);
      }
      CHECK(i + 2 + hex < i + len - 1 && xml_char((unsigned)v));
      put_cp(o, (unsigned)v);
    }
    i += len;
  }
}

typedef void (*writer_fn)(FILE *f, const char *s, size_t n);

/* The writer's output for `data`, in memory (free() it). */
static uint8_t *write_to_memory(writer_fn w, const uint8_t *data, size_t size,
                                size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  CHECK(f != NULL);
  w(f, (const char *)data, size);
  CHECK(fclose(f) == 0);
  return (uint8_t *)buf;
}

static void check_same(const out_t *got, const out_t *want) {
  CHECK(got->n == want->n && memcmp(got->p, want->p, got->n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A byte is 3 at most once read back (U+FFFD); what is read back is never
   * longer than what was written. */
  out_t want = {malloc(3 * size + 1), 0}, got;
  CHECK(want.p != NULL);

  size_t len;
  uint8_t *json = write_to_memory(corun_json_string, data, size, &len);
  got = (out_t){malloc(len + 1), 0};
  CHECK(got.p != NULL);
  json_decode(json, len, &got);
  expected(data, size, false, &want);
  check_same(&got, &want);
  /* And cJSON, as an embedder's parser, reads it the same. */
  char *doc = malloc(len + 2);
  CHECK(doc != NULL);
  doc[0] = '[';
  memcpy(doc + 1, json, len);
  doc[len + 1] = ']';
  cJSON *arr = cJSON_ParseWithLength(doc, len + 2);
  CHECK(arr != NULL && cJSON_GetArraySize(arr) == 1 &&
        cJSON_IsString(cJSON_GetArrayItem(arr, 0)));
  /* cJSON stops at a NUL: compare up to the first one. */
  const char *v = cJSON_GetArrayItem(arr, 0)->valuestring;
  size_t upto = strnlen((const char *)want.p, want.n);
  CHECK(strlen(v) == upto && memcmp(v, want.p, upto) == 0);
  cJSON_Delete(arr);
  free(doc);
  free(json);
  free(got.p);

  want.n = 0;
  uint8_t *xml = write_to_memory(corun__xml_text, data, size, &len);
  CHECK(corun__utf8_check(xml, len) == len);
  got = (out_t){malloc(len + 1), 0};
  CHECK(got.p != NULL);
  xml_decode(xml, len, &got);
  expected(data, size, true, &want);
  check_same(&got, &want);
  free(xml);

  free(want.p);
  free(got.p);
  return 0;
}
