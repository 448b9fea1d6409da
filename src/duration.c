/*
 * Durations as people write them in job files and on the command line:
 * "250ms", "1.5s", "2m", "1h", "1m30s", "1h2m3.5s", or a bare number of
 * seconds ("30", "0.5").
 */
#include "internal.h"

/* Longer than any real timeout; keeps every value exact in a uv timer. */
#define DURATION_MAX 1e9

/* Units, largest first: each may appear once, and only in this order. */
enum { UNIT_H, UNIT_M, UNIT_S, UNIT_MS, UNIT_NONE };

static const double unit_seconds[] = {3600.0, 60.0, 1.0, 0.001};

/*
 * Read a non-negative decimal number ("12", "1.5", ".5", "5.") at *p
 * without strtod, so that neither the locale's decimal point nor
 * exponents, signs, "inf" or "nan" are accepted. Fraction digits past the
 * 17th cannot change a double and are skipped. Returns 0 when *p holds no
 * digit, or when the whole part is already past DURATION_MAX.
 */
static int read_number(const char **p, double *value) {
  const char *s = *p;
  double whole = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    whole = whole * 10 + (*s - '0');
    if (whole > DURATION_MAX)
      return 0;
  }
  double frac = 0, scale = 1;
  if (*s == '.') {
    s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
      if (scale < 1e17) {
        frac = frac * 10 + (*s - '0');
        scale *= 10;
      }
    }
  }
  if (digits == 0)
    return 0;
  *value = whole + frac / scale;
  *p = s;
  return 1;
}

static int read_unit(const char **p) {
  const char *s = *p;
  int unit;
  if (s[0] == 'h')
    unit = UNIT_H;
  else if (s[0] == 'm' && s[1] == 's')
    unit = UNIT_MS;
  else if (s[0] == 'm')
    unit = UNIT_M;
  else if (s[0] == 's')
    unit = UNIT_S;
  else
    return UNIT_NONE;
  *p = s + (unit == UNIT_MS ? 2 : 1);
  return unit;
}

int corun_duration_parse(const char *text, double *seconds) {
  if (text == NULL || seconds == NULL || *text == '\0')
    return CORUN_EINVALID;
  const char *p = text;
  double total = 0, value;
  int last = -1;
  while (*p != '\0') {
    if (!read_number(&p, &value))
      return CORUN_EINVALID;
    int unit = read_unit(&p);
    if (unit == UNIT_NONE) {
      /* A bare number is the whole text or nothing: "1m30" is a typo. */
      if (last != -1 || *p != '\0')
        return CORUN_EINVALID;
      total = value;
      break;
    }
    if (unit <= last)
      return CORUN_EINVALID;
    last = unit;
    total += value * unit_seconds[unit];
    if (total > DURATION_MAX)
      return CORUN_EINVALID;
  }
  if (!(total <= DURATION_MAX))
    return CORUN_EINVALID;
  *seconds = total;
  return 0;
}
