/*
 * The plan: jobs as plain C descriptions, their names, pools and needs,
 * checked and resolved into a graph with a topological order.
 * Everything here is O(jobs + edges).
 */
#include "internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL(p) ((p)->label ? (p)->label : "plan")

static uint64_t hash_str(const char *s) { return corun__hash(s, strlen(s)); }

#define CHUNK (64 * 1024)

/* Bump allocation from the plan's arena, aligned for pointers. */
static void *arena_alloc(corun_plan_t *p, size_t n) {
  n = (n + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
  corun__chunk_t *c = p->arena;
  if (c == NULL || c->cap - c->used < n) {
    size_t cap = n > CHUNK / 4 ? n : CHUNK;
    corun__chunk_t *nc = malloc(sizeof *nc + cap);
    if (nc == NULL)
      return NULL;
    nc->used = 0;
    nc->cap = cap;
    if (c != NULL && cap != CHUNK) {
      /* A large block goes behind the current chunk, which stays open. */
      nc->next = c->next;
      c->next = nc;
    } else {
      nc->next = c;
      p->arena = nc;
    }
    c = nc;
  }
  void *r = c->data + c->used;
  c->used += n;
  return r;
}

static char *arena_strdup(corun_plan_t *p, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = arena_alloc(p, n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

bool corun__name_valid(const char *name) {
  size_t n = 0;
  for (const char *c = name; *c; c++, n++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || strchr("_.:/@+-", *c) != NULL))
      return false;
  }
  return n >= 1 && n <= CORUN_NAME_MAX;
}

int corun_plan_new(corun_plan_t **out, const char *label,
                   const char *base_dir) {
  *out = NULL;
  corun_plan_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return UV_ENOMEM;
  p->jobs.size = sizeof(corun__job_t);
  p->label = corun__strdup(label ? label : "plan");
  p->base_dir = base_dir ? corun__strdup(base_dir) : NULL;
  if (p->label == NULL || (base_dir && p->base_dir == NULL)) {
    corun_plan_free(p);
    return UV_ENOMEM;
  }
  *out = p;
  return 0;
}


void corun_plan_free(corun_plan_t *p) {
  if (p == NULL)
    return;
  /* A job's strings and vectors live in the arena, freed below. */
  corun__svec_free(&p->jobs);
  for (size_t i = 0; i < p->n_pools; i++)
    free(p->pool_names[i]);
  free(p->pool_names);
  free(p->pool_slots);
  free(p->label);
  free(p->base_dir);
  free(p->halt);
  free(p->order);
  free(p->edges);
  free(p->hash);
  while (p->arena != NULL) {
    corun__chunk_t *c = p->arena;
    p->arena = c->next;
    free(c);
  }
  free(p);
}

/* Copy a NULL-terminated string vector into the arena; *n its length. */
static int copy_strv(corun_plan_t *p, const char *const *v,
                     const char *const **out, size_t *n) {
  *out = NULL;
  if (n)
    *n = 0;
  if (v == NULL)
    return 0;
  size_t k = 0;
  while (v[k])
    k++;
  char **c = arena_alloc(p, (k + 1) * sizeof *c);
  if (c == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < k; i++)
    if ((c[i] = arena_strdup(p, v[i])) == NULL)
      return UV_ENOMEM;
  c[k] = NULL;
  *out = (const char *const *)c;
  if (n)
    *n = k;
  return 0;
}

/* The hash maps names to index+1; it is rebuilt when it gets half full. */
static int hash_find(const corun_plan_t *p, const char *name, size_t *idx) {
  if (p->hash_cap == 0)
    return 0;
  size_t mask = p->hash_cap - 1;
  for (size_t h = hash_str(name) & mask;; h = (h + 1) & mask) {
    size_t v = p->hash[h];
    if (v == 0)
      return 0;
    if (strcmp(corun__pjob(p, v - 1)->d.name, name) == 0) {
      *idx = v - 1;
      return 1;
    }
  }
}

static void hash_put(corun_plan_t *p, size_t idx) {
  size_t mask = p->hash_cap - 1;
  size_t h = hash_str(corun__pjob(p, idx)->d.name) & mask;
  while (p->hash[h] != 0)
    h = (h + 1) & mask;
  p->hash[h] = idx + 1;
}

static int hash_reserve(corun_plan_t *p, size_t n) {
  if (n * 2 <= p->hash_cap)
    return 0;
  size_t cap = p->hash_cap ? p->hash_cap : 64;
  while (n * 2 > cap)
    cap *= 2;
  size_t *h = calloc(cap, sizeof *h);
  if (h == NULL)
    return UV_ENOMEM;
  free(p->hash);
  p->hash = h;
  p->hash_cap = cap;
  for (size_t i = 0; i < p->n_jobs; i++)
    hash_put(p, i);
  return 0;
}

int corun_plan_find(const corun_plan_t *p, const char *name, size_t *index) {
  size_t i;
  if (name == NULL || !hash_find(p, name, &i))
    return CORUN_ENOJOB;
  if (index)
    *index = i;
  return 0;
}

static bool duration_ok(double v) { return isfinite(v) && v >= 0 && v <= 1e9; }

static char *resolve_cwd(corun_plan_t *p, const char *cwd) {
  if (cwd[0] == '/' || p->base_dir == NULL)
    return arena_strdup(p, cwd);
  size_t b = strlen(p->base_dir), n = strlen(cwd);
  char *s = arena_alloc(p, b + n + 2);
  if (s != NULL) {
    memcpy(s, p->base_dir, b);
    s[b] = '/';
    memcpy(s + b + 1, cwd, n + 1);
  }
  return s;
}

/* Check and copy one job description (its needs are resolved later). */
static int add_job(corun_plan_t *p, const corun_job_desc_t *d,
                   corun_error_t *err) {
  /* Messages and default names use the job's position among all the
   * jobs given, whether or not earlier ones were accepted. */
  size_t idx = p->n_tried++;
  int bad = 0;
#define BAD(...)                                                              \
  do {                                                                        \
    corun__err_add(err, CORUN_EINVALID, __VA_ARGS__);                         \
    bad = 1;                                                                  \
  } while (0)
  char defname[32];
  const char *name = d->name;
  if (name == NULL) {
    snprintf(defname, sizeof defname, "job-%zu", idx + 1);
    name = defname;
  }
  size_t other;
  if (!corun__name_valid(name))
    BAD("%s: jobs[%zu].name: invalid name \"%.200s\": use 1 to 200 of "
        "A-Z a-z 0-9 _ . : / @ + -",
        LABEL(p), idx, name);
  else if (hash_find(p, name, &other))
    BAD("%s: jobs[%zu].name: duplicate name \"%s\" (also jobs[%zu])",
        LABEL(p), idx, name, corun__pjob(p, other)->pos);
  if ((d->argv == NULL) == (d->shell == NULL))
    BAD("%s: jobs[%zu].cmd: give exactly one of an argv or a shell string",
        LABEL(p), idx);
  else if (d->argv && (d->argv[0] == NULL || d->argv[0][0] == '\0'))
    BAD("%s: jobs[%zu].cmd: expected a non-empty array whose first item "
        "names a program",
        LABEL(p), idx);
  else if (d->shell && d->shell[0] == '\0')
    BAD("%s: jobs[%zu].cmd: expected a non-empty string", LABEL(p), idx);
  if (!duration_ok(d->timeout_s))
    BAD("%s: jobs[%zu].timeout: out of range", LABEL(p), idx);
  if (!duration_ok(d->kill_grace_s))
    BAD("%s: jobs[%zu].kill_grace: out of range", LABEL(p), idx);
  if (!duration_ok(d->retry_delay_s))
    BAD("%s: jobs[%zu].retry_delay: out of range", LABEL(p), idx);
  if (d->retries > 1000)
    BAD("%s: jobs[%zu].retries: expected at most 1000", LABEL(p), idx);
  if (d->pool && !corun__name_valid(d->pool))
    BAD("%s: jobs[%zu].pool: invalid pool name", LABEL(p), idx);
  for (size_t i = 0; d->env && d->env[i]; i++) {
    const char *e = d->env[i];
    if (e[0] == '=' || e[0] == '\0')
      BAD("%s: jobs[%zu].env: empty variable name", LABEL(p), idx);
  }
  for (size_t i = 0; d->needs && d->needs[i]; i++)
    if (!corun__name_valid(d->needs[i]))
      BAD("%s: jobs[%zu].needs[%zu]: invalid job name \"%.200s\"", LABEL(p),
          idx, i, d->needs[i]);
#undef BAD
  if (bad)
    return CORUN_EINVALID;

  size_t slot = p->n_jobs;
  if (corun__svec_reserve(&p->jobs, slot + 1) || hash_reserve(p, slot + 1))
    goto nomem;
  corun__job_t *j = corun__pjob(p, slot);
  memset(j, 0, sizeof *j);
  j->dep_head = j->dep_tail = CORUN__NO_JOB;
  j->d = *d;
  j->d.name = NULL;
  j->d.argv = j->d.env = j->d.needs = NULL;
  j->d.shell = j->d.cwd = j->d.pool = j->d.stdin_text = NULL;
  j->pool = -1;
  j->pos = idx;
  /* On failure, what was copied stays in the arena until the plan goes. */
  if ((j->d.name = arena_strdup(p, name)) == NULL ||
      copy_strv(p, d->argv, &j->d.argv, NULL) ||
      copy_strv(p, d->env, &j->d.env, NULL) ||
      copy_strv(p, d->needs, &j->d.needs, &j->n_needs) ||
      (d->shell && (j->d.shell = arena_strdup(p, d->shell)) == NULL) ||
      (d->cwd && (j->d.cwd = resolve_cwd(p, d->cwd)) == NULL) ||
      (d->pool && (j->d.pool = arena_strdup(p, d->pool)) == NULL) ||
      (d->stdin_text &&
       (j->d.stdin_text = arena_strdup(p, d->stdin_text)) == NULL))
    goto nomem;
  if (j->d.kill_grace_s == 0)
    j->d.kill_grace_s = CORUN_DEFAULT_KILL_GRACE;
  p->n_jobs++;
  hash_put(p, slot);
  return 0;
nomem:
  corun__err_add(err, UV_ENOMEM, "%s: out of memory", LABEL(p));
  return UV_ENOMEM;
}

int corun_plan_add_job(corun_plan_t *p, const corun_job_desc_t *d,
                       corun_error_t *err) {
  if (p->sealed) {
    corun__err_add(err, CORUN_ESTATE, "%s: jobs cannot be added to a sealed plan",
                   LABEL(p));
    return CORUN_ESTATE;
  }
  return add_job(p, d, err);
}

int corun_plan_add_pool(corun_plan_t *p, const char *name, unsigned slots,
                        corun_error_t *err) {
  if (p->sealed) {
    corun__err_add(err, CORUN_ESTATE, "%s: pools cannot be added to a sealed plan",
                   LABEL(p));
    return CORUN_ESTATE;
  }
  if (name == NULL || !corun__name_valid(name)) {
    corun__err_add(err, CORUN_EINVALID,
                   "%s: pools: invalid pool name \"%.200s\"", LABEL(p),
                   name ? name : "");
    return CORUN_EINVALID;
  }
  for (size_t i = 0; i < p->n_pools; i++) {
    if (strcmp(p->pool_names[i], name) == 0) {
      corun__err_add(err, CORUN_EINVALID, "%s: pools.%s: duplicate pool",
                     LABEL(p), name);
      return CORUN_EINVALID;
    }
  }
  if (slots < 1) {
    corun__err_add(err, CORUN_EINVALID,
                   "%s: pools.%s: expected an integer of at least 1",
                   LABEL(p), name);
    return CORUN_EINVALID;
  }
  size_t cap = p->cap_pools;
  if (corun__grow(&p->pool_names, &cap, p->n_pools + 1, sizeof(char *)) ||
      corun__grow(&p->pool_slots, &p->cap_pools, p->n_pools + 1,
                  sizeof(unsigned)))
    goto nomem;
  p->cap_pools = cap < p->cap_pools ? cap : p->cap_pools;
  if ((p->pool_names[p->n_pools] = strdup(name)) == NULL)
    goto nomem;
  p->pool_slots[p->n_pools++] = slots;
  return 0;
nomem:
  corun__err_add(err, UV_ENOMEM, "%s: out of memory", LABEL(p));
  return UV_ENOMEM;
}

int corun_plan_set_max_parallel(corun_plan_t *p, unsigned n) {
  if (p->sealed)
    return CORUN_ESTATE;
  p->max_parallel = n;
  return 0;
}

int corun_plan_set_halt(corun_plan_t *p, const char *policy,
                        corun_error_t *err) {
  corun__halt_t h;
  if (p->sealed) {
    corun__err_add(err, CORUN_ESTATE, "%s: the plan is sealed", LABEL(p));
    return CORUN_ESTATE;
  }
  if (policy == NULL || corun__halt_parse(policy, &h) != 0) {
    corun__err_add(err, CORUN_EINVALID, "%s: halt: %s", LABEL(p),
                   corun__halt_expected);
    return CORUN_EINVALID;
  }
  char *s = strdup(policy);
  if (s == NULL)
    return UV_ENOMEM;
  free(p->halt);
  p->halt = s;
  return 0;
}

/*
 * Report the cycle the depth-first search just closed: `stack[0..depth)`
 * is the search's current path, and its last job needs `from`, which is on
 * that path; the cycle is the path from `from` on, back to `from`.
 */
static void report_cycle(corun_plan_t *p, const size_t *stack, size_t depth,
                         size_t from, corun_error_t *err) {
  /* stack[k..depth) is the cycle, starting at the job `from`. */
  size_t k = depth;
  while (k > 0 && stack[k - 1] != from)
    k--;
  if (k > 0)
    k--;
  size_t len = 0;
  for (size_t i = k; i < depth; i++)
    len += strlen(corun__pjob(p, stack[i])->d.name) + 4;
  len += strlen(corun__pjob(p, from)->d.name) + 1;
  char *s = malloc(len);
  if (s == NULL)
    return;
  char *w = s;
  for (size_t i = k; i < depth; i++)
    w += sprintf(w, "%s -> ", corun__pjob(p, stack[i])->d.name);
  strcpy(w, corun__pjob(p, from)->d.name);
  corun__err_add(err, CORUN_ECYCLE, "%s: jobs[%zu].needs: dependency cycle: %s",
                 LABEL(p), corun__pjob(p, from)->pos, s);
  free(s);
}

/*
 * Iterative DFS over needs: colour 0 new, 1 on the stack, 2 done. Every
 * back edge is a cycle; each is reported once, from the job that closes it.
 */
static int find_cycles(corun_plan_t *p, corun_error_t *err) {
  size_t n = p->n_jobs;
  unsigned char *colour = calloc(n ? n : 1, 1);
  size_t *stack = malloc((n ? n : 1) * sizeof *stack);
  size_t *edge = malloc((n ? n : 1) * sizeof *edge);
  if (!colour || !stack || !edge) {
    free(colour);
    free(stack);
    free(edge);
    return UV_ENOMEM;
  }
  int found = 0;
  for (size_t root = 0; root < n; root++) {
    if (colour[root])
      continue;
    size_t depth = 0;
    stack[depth] = root;
    edge[depth++] = 0;
    colour[root] = 1;
    while (depth > 0) {
      size_t v = stack[depth - 1];
      corun__job_t *j = corun__pjob(p, v);
      if (edge[depth - 1] < j->n_needs) {
        size_t w = j->need_idx[edge[depth - 1]++];
        if (colour[w] == 0) {
          colour[w] = 1;
          stack[depth] = w;
          edge[depth++] = 0;
        } else if (colour[w] == 1) {
          report_cycle(p, stack, depth, w, err);
          found = 1;
        }
      } else {
        colour[v] = 2;
        depth--;
      }
    }
  }
  free(colour);
  free(stack);
  free(edge);
  return found ? CORUN_ECYCLE : 0;
}

/* `to` needs `from`: append to from's dependents, in room made before. */
static void add_edge(corun_plan_t *p, size_t from, size_t to) {
  corun__job_t *f = corun__pjob(p, from);
  size_t e = p->n_edges++;
  p->edges[e].to = to;
  p->edges[e].next = CORUN__NO_JOB;
  if (f->dep_tail == CORUN__NO_JOB)
    f->dep_head = e;
  else
    p->edges[f->dep_tail].next = e;
  f->dep_tail = e;
}

int corun_plan_seal(corun_plan_t *p, corun_error_t *err) {
  if (p->sealed)
    return 0;
  size_t n = p->n_jobs;
  int rc = 0;
  size_t edges = 0;
  /* mark[t] == i + 1: job i named t already (duplicates in O(edges)). */
  size_t *mark = calloc(n ? n : 1, sizeof *mark);
  if (mark == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    corun__job_t *j = corun__pjob(p, i);
    if (j->d.pool) {
      for (size_t k = 0; k < p->n_pools; k++)
        if (strcmp(p->pool_names[k], j->d.pool) == 0)
          j->pool = (int)k;
      if (j->pool < 0) {
        corun__err_add(err, CORUN_EINVALID, "%s: jobs[%zu].pool: unknown pool \"%s\"",
                       LABEL(p), j->pos, j->d.pool);
        rc = CORUN_EINVALID;
      }
    }
    j->need_idx = arena_alloc(p, (j->n_needs ? j->n_needs : 1) * sizeof(size_t));
    if (j->need_idx == NULL) {
      free(mark);
      return UV_ENOMEM;
    }
    memset(j->need_idx, 0, (j->n_needs ? j->n_needs : 1) * sizeof(size_t));
    for (size_t k = 0; k < j->n_needs; k++) {
      size_t t;
      if (!hash_find(p, j->d.needs[k], &t)) {
        corun__err_add(err, CORUN_EINVALID, "%s: jobs[%zu].needs[%zu]: unknown job \"%s\"",
                       LABEL(p), j->pos, k, j->d.needs[k]);
        rc = CORUN_EINVALID;
      } else if (t == i) {
        corun__err_add(err, CORUN_ECYCLE, "%s: jobs[%zu].needs[%zu]: job \"%s\" needs itself",
                       LABEL(p), j->pos, k, j->d.name);
        if (rc == 0)
          rc = CORUN_ECYCLE;
      } else {
        if (mark[t] == i + 1) {
          corun__err_add(err, CORUN_EINVALID,
                         "%s: jobs[%zu].needs[%zu]: \"%s\" is named twice", LABEL(p),
                         j->pos, k, j->d.needs[k]);
          rc = CORUN_EINVALID;
        }
        mark[t] = i + 1;
        j->need_idx[k] = t;
      }
    }
    edges += j->n_needs;
  }
  free(mark);
  if (rc != 0)
    return rc;
  if ((rc = find_cycles(p, err)) != 0)
    return rc;

  /* Each job's dependents as a list in job order, then Kahn's algorithm
   * for the order. */
  p->edges = malloc((edges ? edges : 1) * sizeof *p->edges);
  p->cap_edges = edges ? edges : 1;
  p->order = malloc((n ? n : 1) * sizeof(size_t));
  p->cap_order = n ? n : 1;
  size_t *indeg = calloc(n ? n : 1, sizeof(size_t));
  size_t *heap = malloc((n ? n : 1) * sizeof(size_t));
  if (!p->edges || !p->order || !indeg || !heap) {
    free(indeg);
    free(heap);
    corun__err_add(err, UV_ENOMEM, "%s: out of memory", LABEL(p));
    return UV_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    corun__job_t *j = corun__pjob(p, i);
    for (size_t k = 0; k < j->n_needs; k++)
      add_edge(p, j->need_idx[k], i);
  }
  /* Kahn's algorithm with a min-heap: a topological order that keeps
   * file order wherever needs allow. */
  corun__heap_t h = {heap, 0};
  size_t on = 0;
  for (size_t i = 0; i < n; i++) {
    indeg[i] = corun__pjob(p, i)->n_needs;
    if (indeg[i] == 0)
      corun__heap_push(&h, i);
  }
  while (h.n > 0) {
    size_t v = corun__heap_pop(&h);
    p->order[on++] = v;
    for (size_t e = corun__pjob(p, v)->dep_head; e != CORUN__NO_JOB;
         e = p->edges[e].next)
      if (--indeg[p->edges[e].to] == 0)
        corun__heap_push(&h, p->edges[e].to);
  }
  free(indeg);
  free(heap);
  p->sealed = true;
  return 0;
}

int corun_plan_select(const corun_plan_t *p, const char *const *names,
                      size_t n, unsigned char *selected, corun_error_t *err) {
  if (!p->sealed)
    return CORUN_ESTATE;
  size_t nj = p->n_jobs;
  if (n == 0) {
    memset(selected, 1, nj);
    return 0;
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (corun_plan_find(p, names[i], NULL) != 0) {
      corun__err_add(err, CORUN_ENOJOB, "%s: no job named \"%s\"", LABEL(p),
                     names[i]);
      rc = CORUN_ENOJOB;
    }
  }
  if (rc != 0)
    return rc;
  size_t *stack = malloc((nj ? nj : 1) * sizeof *stack);
  if (stack == NULL)
    return UV_ENOMEM;
  memset(selected, 0, nj);
  size_t depth = 0;
  for (size_t i = 0; i < n; i++) {
    size_t idx;
    corun_plan_find(p, names[i], &idx);
    if (!selected[idx]) {
      selected[idx] = 1;
      stack[depth++] = idx;
    }
  }
  while (depth > 0) {
    const corun__job_t *j = corun__pjob(p, stack[--depth]);
    for (size_t k = 0; k < j->n_needs; k++) {
      size_t t = j->need_idx[k];
      if (!selected[t]) {
        selected[t] = 1;
        stack[depth++] = t;
      }
    }
  }
  free(stack);
  return 0;
}

size_t corun_plan_job_count(const corun_plan_t *p) { return p->n_jobs; }

const corun_job_desc_t *corun_plan_job(const corun_plan_t *p, size_t i) {
  return i < p->n_jobs ? &corun__pjob(p, i)->d : NULL;
}

const size_t *corun_plan_order(const corun_plan_t *p) { return p->order; }

unsigned corun_plan_max_parallel(const corun_plan_t *p) {
  return p->max_parallel;
}

const char *corun_plan_halt(const corun_plan_t *p) {
  return p->halt ? p->halt : "never";
}

size_t corun_plan_pool_count(const corun_plan_t *p) { return p->n_pools; }

const char *corun_plan_pool(const corun_plan_t *p, size_t i, unsigned *slots) {
  if (i >= p->n_pools)
    return NULL;
  if (slots)
    *slots = p->pool_slots[i];
  return p->pool_names[i];
}

int corun__plan_open(corun_plan_t *p) {
  if (!p->sealed && corun_plan_seal(p, NULL) != 0)
    return UV_ENOMEM;
  p->open = true;
  return 0;
}

/*
 * One more job for an open plan. Its needs must name jobs appended before
 * it, so no cycle can form and appending keeps `order` topological; each
 * need becomes an edge at the end of the needed job's list. The checks of
 * corun_plan_add_job() come first, with their messages, then those of the
 * needs and the pool (which a plan makes when sealed): a job with problems
 * of both kinds hears of all of them.
 */
int corun__plan_append(corun_plan_t *p, const corun_job_desc_t *d,
                       size_t *index, corun_error_t *err) {
  if (!p->open)
    return CORUN_ESTATE;
  size_t pos = p->n_tried, n = 0;
  corun_error_t nerr = {0}; /* said after add_job()'s messages */
  int rc = 0;
  while (d->needs && d->needs[n])
    n++;
  for (size_t k = 0; k < n; k++) {
    size_t t;
    if (!corun__name_valid(d->needs[k]))
      continue; /* add_job says so */
    if (!hash_find(p, d->needs[k], &t)) {
      corun__err_add(&nerr, CORUN_EINVALID,
                     "%s: jobs[%zu].needs[%zu]: unknown job \"%s\" (a job can "
                     "need only jobs submitted before it)",
                     LABEL(p), pos, k, d->needs[k]);
      rc = CORUN_EINVALID;
    }
    for (size_t m = 0; m < k; m++)
      if (strcmp(d->needs[m], d->needs[k]) == 0) {
        corun__err_add(&nerr, CORUN_EINVALID,
                       "%s: jobs[%zu].needs[%zu]: \"%s\" is named twice",
                       LABEL(p), pos, k, d->needs[k]);
        rc = CORUN_EINVALID;
        break;
      }
  }
  int pool = -1;
  for (size_t k = 0; d->pool && k < p->n_pools; k++)
    if (strcmp(p->pool_names[k], d->pool) == 0)
      pool = (int)k;
  if (d->pool && pool < 0 && corun__name_valid(d->pool)) {
    corun__err_add(&nerr, CORUN_EINVALID, "%s: jobs[%zu].pool: unknown pool \"%s\"",
                   LABEL(p), pos, d->pool);
    rc = CORUN_EINVALID;
  }
  size_t *need_idx = NULL;
  if (rc == 0) {
    need_idx = arena_alloc(p, (n ? n : 1) * sizeof(size_t));
    if (need_idx == NULL ||
        corun__grow(&p->order, &p->cap_order, p->n_jobs + 1, sizeof(size_t)) ||
        corun__grow(&p->edges, &p->cap_edges, p->n_edges + n, sizeof *p->edges)) {
      corun__err_add(err, UV_ENOMEM, "%s: out of memory", LABEL(p));
      return UV_ENOMEM;
    }
    for (size_t k = 0; k < n; k++)
      hash_find(p, d->needs[k], &need_idx[k]);
  }
  int added = add_job(p, d, err);
  if (rc != 0) {
    for (size_t k = 0; k < nerr.count; k++)
      corun__err_add(err, CORUN_EINVALID, "%s", nerr.messages[k]);
    corun_error_release(&nerr);
    if (added == 0) {
      /* Only its needs or pool were wrong: take the job back out. Its name
       * went into the table last, so no other name's probe passes it. */
      size_t i = --p->n_jobs, mask = p->hash_cap - 1;
      size_t h = hash_str(corun__pjob(p, i)->d.name) & mask;
      while (p->hash[h] != i + 1)
        h = (h + 1) & mask;
      p->hash[h] = 0;
    }
    return added != 0 ? added : rc;
  }
  if (added != 0)
    return added;
  size_t i = p->n_jobs - 1;
  corun__job_t *j = corun__pjob(p, i);
  j->pool = pool;
  j->need_idx = need_idx;
  for (size_t k = 0; k < n; k++)
    add_edge(p, need_idx[k], i);
  p->order[i] = i;
  *index = i;
  return 0;
}
