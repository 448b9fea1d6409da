/*
 * What the loader's files share, and nothing outside them includes.
 * load.c walks a parsed job file into a plan; load_check.c checks each
 * value it meets and words every message, with the JSON path of the value
 * in it, so that the walk reads as the structure of a job file and the
 * wording of SPEC §1's rules lives in one place. (load_file.c, which only
 * reads a file into a buffer, needs none of this.)
 */
#ifndef CORUN_LOAD_H
#define CORUN_LOAD_H

#include "internal.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- the loading context (messages: load_check.c) ----------------------- */

typedef struct corun__load_ctx_s {
  corun_plan_t *plan;
  corun_error_t *err;
  const char *label;
  int code;     /* the first error's code, 0 while none */
  bool oom;
  corun__buf_t path;  /* JSON path of the value being checked */
  corun__buf_t quote; /* scratch for one quoted string in a message */
  /* Effective job names, for duplicates (see check_name in load.c). */
  const char **names; /* per job: its name, NULL for "job-N" */
  size_t *table;      /* open addressing: job index + 1, 0 empty */
  size_t table_cap;
} corun__load_ctx_t;

/* Keep the first error's code as the one to return. */
void corun__load_note(corun__load_ctx_t *c, int code);
/* Out of memory: noted, and reported once at the end. */
void corun__load_nomem(corun__load_ctx_t *c);
/* `s` quoted and escaped for a message; valid until the next call. */
const char *corun__load_quoted(corun__load_ctx_t *c, const char *s);
/* "LABEL: PATH: message" for a problem at the current JSON path. */
void corun__load_fail(corun__load_ctx_t *c, int code, const char *fmt, ...)
    CORUN_PRINTF(3, 4);

/* Extend the JSON path by an object key or an array index; each returns the
 * length to give corun__load_path_back() once the value is done. */
size_t corun__load_path_key(corun__load_ctx_t *c, const char *key);
size_t corun__load_path_index(corun__load_ctx_t *c, size_t i);
void corun__load_path_back(corun__load_ctx_t *c, size_t mark);

/* ---- the keys and their checks (load_check.c) --------------------------- */

/* The keys of a job, which are also the bits of `present` below. */
enum {
  CORUN__LOAD_NAME,
  CORUN__LOAD_CMD,
  CORUN__LOAD_CWD,
  CORUN__LOAD_ENV,
  CORUN__LOAD_NEEDS,
  CORUN__LOAD_TIMEOUT,
  CORUN__LOAD_KILL_GRACE,
  CORUN__LOAD_RETRIES,
  CORUN__LOAD_RETRY_DELAY,
  CORUN__LOAD_RETRY_BACKOFF,
  CORUN__LOAD_STDIN,
  CORUN__LOAD_POOL,
  CORUN__LOAD_ALLOW_FAILURE,
  CORUN__LOAD_KEY_COUNT
};

/* The keys of the top-level object. */
enum {
  CORUN__LOAD_TOP_CORUN,
  CORUN__LOAD_TOP_JOBS,
  CORUN__LOAD_TOP_MAX_PARALLEL,
  CORUN__LOAD_TOP_HALT,
  CORUN__LOAD_TOP_POOLS,
  CORUN__LOAD_TOP_DEFAULTS,
  CORUN__LOAD_TOP_COUNT
};

/* The settings of one job, or of "defaults": each key present or not.
 * Strings and subtrees are borrowed from the cJSON tree. */
typedef struct {
  unsigned present; /* bit (1 << CORUN__LOAD_*) for every key given */
  const char *name, *cwd, *stdin_text, *pool;
  const cJSON *cmd, *env, *needs;
  double timeout, kill_grace, retry_delay;
  unsigned retries;
  bool retry_backoff, allow_failure;
} corun__load_settings_t;

/* Which top-level key `key` is (CORUN__LOAD_TOP_*); for any other, report
 * it with a guess at what was meant and return -1. The path is at the key. */
int corun__load_top_key(corun__load_ctx_t *c, const char *key);

/* Check every key of a job object, or of "defaults" (in_defaults), and
 * note in `s` what each one gives. */
void corun__load_settings(corun__load_ctx_t *c, const cJSON *obj,
                          bool in_defaults, corun__load_settings_t *s);

/* A whole number in [lo, hi] into *out, or report that it is not one and
 * return false. */
bool corun__load_uint(corun__load_ctx_t *c, const cJSON *v, unsigned lo,
                      unsigned hi, unsigned *out);

#endif
