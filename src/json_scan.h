/*
 * The text pass of the loader: a job file's bytes checked as UTF-8 and as
 * strict JSON before any parser sees them, so that a mistake in the text
 * is reported at its exact line and column. It knows nothing of cJSON or
 * of the job-file schema; load.c does the rest.
 */
#ifndef CORUN_JSON_SCAN_H
#define CORUN_JSON_SCAN_H

#include "corun.h"

#include <stddef.h>

/* The deepest nesting of arrays and objects the scan lets through: deep
 * enough for any job file, well inside cJSON's own limit of 1000, and the
 * bound on the loader's recursive walks of the tree. */
#define CORUN__JSON_MAX_DEPTH 512

/*
 * Check that buf[0..len) is well-formed UTF-8, not blank, and exactly one
 * JSON value as RFC 8259 has it, nested at most CORUN__JSON_MAX_DEPTH
 * deep, with no \u0000 in its strings. On the first problem, add
 * "LABEL:LINE:COL: message" to `err` and return CORUN_ESYNTAX (or
 * CORUN_EINVALID for \u0000); otherwise return 0.
 */
int corun__json_scan(const char *buf, size_t len, const char *label,
                     corun_error_t *err);

/* The same for a text that is line `line` of a larger one (a stream of
 * JSON Lines): positions in messages count from there. */
int corun__json_scan_line(const char *buf, size_t len, const char *label,
                          size_t line, corun_error_t *err);

/*
 * For text that corun__json_scan() accepted but a parser then rejected at
 * byte offset `at`: add "LABEL:LINE:COL: syntax error: unexpected ..." to
 * `err` and return CORUN_ESYNTAX.
 */
int corun__json_unexpected(const char *buf, size_t len, size_t at,
                           const char *label, corun_error_t *err);

#endif
