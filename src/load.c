/*
 * The loader: a job file (UTF-8 JSON, SPEC §1) into a sealed plan.
 *
 * It works in three passes so that every problem can be reported, not
 * only the first:
 *   1. the text: UTF-8 and strict JSON, with exact line:column positions
 *      and a bound on the nesting depth (json_scan.c), before cJSON sees it;
 *   2. the tree from cJSON: duplicate keys anywhere, then the keys, types
 *      and ranges of SPEC §1, each reported with its JSON path;
 *   3. the plan: one corun_plan_add_job() per job and corun_plan_seal(),
 *      which check needs, pools and cycles.
 * This file is the walk of the tree: it takes each part of a job file in
 * turn, hands every value to load_check.c to be checked and reported, and
 * builds the plan's jobs from what passes. load_file.c reads a file for
 * it. Only these loader files read JSON with cJSON.
 */
#include "load.h"
#include "json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARALLEL 100000
#define MAX_POOL_SLOTS 100000

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
 * key once. Recursion is bounded by the scan's CORUN__JSON_MAX_DEPTH.
 */
static void check_dups(corun__load_ctx_t *c, cJSON *item) {
  if (cJSON_IsObject(item)) {
    size_t n = 0;
    for (cJSON *m = item->child; m; m = m->next)
      n++;
    bool *dup = n ? calloc(n, sizeof *dup) : NULL;
    if (n && (dup == NULL || find_dups(item, n, dup) != 0)) {
      free(dup);
      corun__load_nomem(c);
      return;
    }
    size_t i = 0;
    for (cJSON *m = item->child, *next; m; m = next, i++) {
      next = m->next;
      size_t mark = corun__load_path_key(c, m->string);
      if (dup[i]) {
        corun__load_fail(c, CORUN_EINVALID, "duplicate key %s",
                         corun__load_quoted(c, m->string));
        cJSON_Delete(cJSON_DetachItemViaPointer(item, m));
      } else {
        check_dups(c, m);
      }
      corun__load_path_back(c, mark);
    }
    free(dup);
  } else if (cJSON_IsArray(item)) {
    size_t i = 0;
    for (cJSON *m = item->child; m; m = m->next, i++) {
      size_t mark = corun__load_path_index(c, i);
      check_dups(c, m);
      corun__load_path_back(c, mark);
    }
  }
}

/* ---- job names -------------------------------------------------------- */

/* Job i's name as the plan will have it: its own, or "job-N". */
static const char *job_name(const corun__load_ctx_t *c, size_t i,
                            char buf[32]) {
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
static void check_name(corun__load_ctx_t *c, size_t idx) {
  char buf[32], obuf[32];
  const char *name = job_name(c, idx, buf);
  bool given = c->names[idx] != NULL;
  /* A default name is the job's own doing: the message names the job. */
  size_t mark = given ? corun__load_path_key(c, "name") : c->path.len;
  size_t len = strlen(name);
  if (len > CORUN_NAME_MAX) {
    corun__load_fail(c, CORUN_EINVALID,
                     "name too long (%zu characters, at most %d)", len,
                     CORUN_NAME_MAX);
    corun__load_path_back(c, mark);
    return;
  }
  if (!corun__name_valid(name)) {
    corun__load_fail(
        c, CORUN_EINVALID,
        "invalid name %s: use 1 to 200 of A-Z a-z 0-9 _ . : / @ + -",
        corun__load_quoted(c, name));
    corun__load_path_back(c, mark);
    return;
  }
  size_t mask = c->table_cap - 1;
  size_t h = corun__hash(name, len) & mask;
  for (; c->table[h] != 0; h = (h + 1) & mask) {
    size_t other = c->table[h] - 1;
    if (strcmp(job_name(c, other, obuf), name) == 0) {
      if (given)
        corun__load_fail(c, CORUN_EINVALID,
                         "duplicate name %s (also jobs[%zu])",
                         corun__load_quoted(c, name), other);
      else
        corun__load_fail(
            c, CORUN_EINVALID,
            "its default name %s is already used by jobs[%zu]: give it a name",
            corun__load_quoted(c, name), other);
      corun__load_path_back(c, mark);
      return;
    }
  }
  c->table[h] = idx + 1;
  corun__load_path_back(c, mark);
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

#define PICK(field, key)                                                       \
  ((own->present & (1u << CORUN__LOAD_##key)) ? own->field : def->field)

/* A job's description built from its settings over the defaults, with
 * the vectors it points into. */
typedef struct {
  corun_job_desc_t d;
  const char **argv, **needs;
  char **env;
} built_t;

static void unbuild(built_t *b) {
  free(b->argv);
  free(b->needs);
  free_vector(b->env);
}

/* 0, or -1 when out of memory (noted in the context). */
static int build(corun__load_ctx_t *c, const corun__load_settings_t *own,
                 const corun__load_settings_t *def, built_t *b) {
  memset(b, 0, sizeof *b);
  corun_job_desc_t *d = &b->d;
  d->name = own->name;
  if (cJSON_IsString(own->cmd)) {
    d->shell = own->cmd->valuestring;
  } else if ((b->argv = string_vector(own->cmd)) == NULL) {
    goto nomem;
  }
  d->argv = b->argv;
  d->cwd = PICK(cwd, CWD);
  d->pool = PICK(pool, POOL);
  d->stdin_text = PICK(stdin_text, STDIN);
  d->timeout_s = PICK(timeout, TIMEOUT);
  d->kill_grace_s = PICK(kill_grace, KILL_GRACE);
  d->retry_delay_s = PICK(retry_delay, RETRY_DELAY);
  d->retries = PICK(retries, RETRIES);
  d->retry_backoff = PICK(retry_backoff, RETRY_BACKOFF);
  d->allow_failure = PICK(allow_failure, ALLOW_FAILURE);
  if (own->needs != NULL && (b->needs = string_vector(own->needs)) == NULL)
    goto nomem;
  d->needs = b->needs;
  if (own->env != NULL || def->env != NULL) {
    if ((b->env = merge_env(def->env, own->env)) == NULL)
      goto nomem;
    d->env = (const char *const *)b->env;
  }
  return 0;
nomem:
  unbuild(b);
  corun__load_nomem(c);
  return -1;
}

/* Hand the job to the plan, which copies it. */
static void add_job(corun__load_ctx_t *c, const corun__load_settings_t *own,
                    const corun__load_settings_t *def) {
  built_t b;
  if (build(c, own, def, &b) != 0)
    return;
  int rc = corun_plan_add_job(c->plan, &b.d, c->err);
  if (rc != 0)
    corun__load_note(c, rc);
  unbuild(&b);
}

#undef PICK

static void load_jobs(corun__load_ctx_t *c, cJSON *jobs,
                      const corun__load_settings_t *def) {
  size_t n = count_members(jobs);
  size_t cap = 64;
  while (cap < 2 * n)
    cap *= 2;
  c->names = calloc(n ? n : 1, sizeof *c->names);
  c->table = calloc(cap, sizeof *c->table);
  c->table_cap = cap;
  if (c->names == NULL || c->table == NULL) {
    corun__load_nomem(c);
    return;
  }
  size_t i = 0;
  cJSON *next;
  for (cJSON *j = jobs->child; j; j = next, i++) {
    next = j->next;
    size_t mark = corun__load_path_index(c, i);
    if (!cJSON_IsObject(j)) {
      corun__load_fail(c, CORUN_EINVALID, "expected an object");
      corun__load_path_back(c, mark);
      continue;
    }
    corun__load_settings_t s = {0};
    corun__load_settings(c, j, false, &s);
    if (!(s.present & (1u << CORUN__LOAD_CMD)))
      corun__load_fail(c, CORUN_EINVALID, "missing required key \"cmd\"");
    if (!(s.present & (1u << CORUN__LOAD_NAME)) || s.name != NULL) {
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
        c->names[i] = corun__pjob(c->plan, c->plan->n_jobs - 1)->d.name;
      cJSON_Delete(cJSON_DetachItemViaPointer(jobs, j));
    }
    corun__load_path_back(c, mark);
  }
}

static void load_pools(corun__load_ctx_t *c, const cJSON *pools) {
  if (!cJSON_IsObject(pools)) {
    corun__load_fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  for (const cJSON *p = pools->child; p; p = p->next) {
    size_t mark = corun__load_path_key(c, p->string);
    unsigned slots;
    if (corun__load_uint(c, p, 1, MAX_POOL_SLOTS, &slots)) {
      int rc = corun_plan_add_pool(c->plan, p->string, slots, c->err);
      if (rc != 0)
        corun__load_note(c, rc);
    }
    corun__load_path_back(c, mark);
  }
}

static void load_top(corun__load_ctx_t *c, cJSON *root) {
  if (!cJSON_IsObject(root)) {
    corun__load_fail(c, CORUN_EINVALID, "expected an object");
    return;
  }
  cJSON *jobs = NULL;
  corun__load_settings_t def = {0};
  for (cJSON *m = root->child; m; m = m->next) {
    size_t mark = corun__load_path_key(c, m->string);
    unsigned u;
    int rc;
    switch (corun__load_top_key(c, m->string)) {
    case CORUN__LOAD_TOP_CORUN:
      if (!cJSON_IsNumber(m))
        corun__load_fail(c, CORUN_EINVALID, "expected the format version 1");
      else if (m->valuedouble != 1)
        corun__load_fail(
            c, CORUN_EINVALID,
            "unsupported format version: this corun reads version 1");
      break;
    case CORUN__LOAD_TOP_JOBS:
      if (!cJSON_IsArray(m))
        corun__load_fail(c, CORUN_EINVALID, "expected an array of jobs");
      else
        jobs = m;
      break;
    case CORUN__LOAD_TOP_MAX_PARALLEL:
      if (corun__load_uint(c, m, 1, MAX_PARALLEL, &u))
        corun_plan_set_max_parallel(c->plan, u);
      break;
    case CORUN__LOAD_TOP_HALT: /* the plan checks it and says what is wrong */
      if (!cJSON_IsString(m)) {
        corun__load_fail(c, CORUN_EINVALID, "expected a string");
      } else if ((rc = corun_plan_set_halt(c->plan, m->valuestring,
                                           c->err)) != 0) {
        if (rc == UV_ENOMEM)
          corun__load_nomem(c);
        corun__load_note(c, rc);
      }
      break;
    case CORUN__LOAD_TOP_POOLS:
      load_pools(c, m);
      break;
    case CORUN__LOAD_TOP_DEFAULTS:
      if (!cJSON_IsObject(m))
        corun__load_fail(c, CORUN_EINVALID, "expected an object");
      else
        corun__load_settings(c, m, true, &def);
      break;
    default: /* corun__load_top_key() has said what is wrong */
      break;
    }
    corun__load_path_back(c, mark);
  }
  if (jobs != NULL) {
    size_t mark = corun__load_path_key(c, "jobs");
    load_jobs(c, jobs, &def);
    corun__load_path_back(c, mark);
  } else if (cJSON_GetObjectItemCaseSensitive(root, "jobs") == NULL) {
    corun__load_fail(c, CORUN_EINVALID, "missing required key \"jobs\"");
  }
}

/* ---- the entry points ------------------------------------------------- */

int corun__load(corun_plan_t *plan, const char *buf, size_t len,
                corun_error_t *err) {
  corun__load_ctx_t c = {.plan = plan, .err = err, .label = plan->label};
  if (plan->sealed || plan->n_jobs > 0) {
    corun__err_add(err, CORUN_ESTATE, "%s: the plan is not empty", c.label);
    return CORUN_ESTATE;
  }
  const char *s = buf;
  if (s == NULL)
    len = 0;
  /* A byte order mark is no part of the JSON, and positions start after. */
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
    s += 3;
    len -= 3;
  }
  int rc = corun__json_scan(s, len, c.label, err);
  if (rc != 0)
    return rc;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
  if (root == NULL) {
    /* The scan accepted the text, so this is cJSON running out of memory
     * or disagreeing with RFC 8259; its end pointer says where. */
    size_t at =
        end != NULL && end >= s && end <= s + len ? (size_t)(end - s) : 0;
    return corun__json_unexpected(s, len, at, c.label, err);
  }
  check_dups(&c, root);
  load_top(&c, root);
  if (c.oom || c.path.failed || c.quote.failed) {
    corun__load_note(&c, UV_ENOMEM);
    corun__err_add(err, UV_ENOMEM, "%s: out of memory", c.label);
  }
  if (c.code == 0 && (rc = corun_plan_seal(plan, err)) != 0)
    corun__load_note(&c, rc);
  cJSON_Delete(root);
  corun__buf_free(&c.path);
  corun__buf_free(&c.quote);
  free(c.names);
  free(c.table);
  return c.code;
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
  *plan = p;
  return 0;
}

/*
 * Move the plan's messages about the job (PLAN: jobs[N].key: ...) to the
 * stream's place (LABEL: key: ...), so that every message about a line
 * names the line.
 */
static void relabel(corun_error_t *from, const char *label,
                    corun_error_t *err) {
  for (size_t i = 0; i < from->count; i++) {
    const char *m = from->messages[i];
    const char *at = strstr(m, ": jobs[");
    const char *end = at ? strchr(at + 7, ']') : NULL;
    if (end != NULL && (end[1] == '.' || end[1] == ':'))
      corun__err_add(err, from->code, "%s: %s", label,
                     end[1] == '.' ? end + 2 : end + 3);
    else
      corun__err_add(err, from->code, "%s: %s", label, m);
  }
}

int corun_run_submit_json(corun_run_t *run, const char *buf, size_t len,
                          const char *label, size_t line, size_t *index,
                          corun_error_t *err) {
  if (label == NULL)
    label = "<stream>";
  int rc = corun__json_scan_line(buf, len, label, line ? line : 1, err);
  if (rc != 0)
    return rc;
  char where[4096];
  snprintf(where, sizeof where, "%s:%zu", label, line ? line : 1);
  cJSON *root = cJSON_ParseWithLength(buf, len);
  if (root == NULL) {
    corun__err_add(err, UV_ENOMEM, "%s: out of memory", where);
    return UV_ENOMEM;
  }
  corun__load_ctx_t c = {.err = err, .label = where};
  if (!cJSON_IsObject(root)) {
    corun__load_fail(&c, CORUN_EINVALID, "expected a job object");
  } else {
    check_dups(&c, root);
    corun__load_settings_t s = {0}, none = {0};
    corun__load_settings(&c, root, false, &s);
    if (!(s.present & (1u << CORUN__LOAD_CMD)))
      corun__load_fail(&c, CORUN_EINVALID, "missing required key \"cmd\"");
    built_t b;
    if (c.code == 0 && build(&c, &s, &none, &b) == 0) {
      corun_error_t mine = {0};
      if ((rc = corun_run_submit(run, &b.d, index, &mine)) != 0) {
        corun__load_note(&c, rc);
        relabel(&mine, where, err);
      }
      corun_error_release(&mine);
      unbuild(&b);
    }
  }
  if (c.oom || c.path.failed || c.quote.failed) {
    corun__load_note(&c, UV_ENOMEM);
    corun__err_add(err, UV_ENOMEM, "%s: out of memory", where);
  }
  cJSON_Delete(root);
  corun__buf_free(&c.path);
  corun__buf_free(&c.quote);
  return c.code;
}