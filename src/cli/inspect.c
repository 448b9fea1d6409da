/* Looking at a plan without running it: --check, --list, --dry-run and
 * --graph, each over the selected jobs in an order that respects needs. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* One word for a POSIX shell, quoted only when it needs it. */
static void put_word(FILE *f, const char *w) {
  char *q = cli_shell_word(w);
  fputs(q ? q : w, f);
  free(q);
}

static void put_command(FILE *f, const corun_job_desc_t *d) {
  if (d->argv) {
    for (size_t i = 0; d->argv[i]; i++) {
      if (i)
        putc(' ', f);
      put_word(f, d->argv[i]);
    }
  } else {
    fputs("sh -c ", f);
    put_word(f, d->shell);
  }
}

/* A DOT identifier: every name is quoted, so any allowed character works. */
static void dot_id(FILE *f, const char *s) {
  putc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      putc('\\', f);
    putc(*s, f);
  }
  putc('"', f);
}

static void graph(const corun_plan_t *p, const unsigned char *selected) {
  size_t n = corun_plan_job_count(p);
  const size_t *order = corun_plan_order(p);
  printf("digraph corun {\n  rankdir=LR;\n  node [shape=box];\n");
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    if (!selected[i])
      continue;
    const corun_job_desc_t *d = corun_plan_job(p, i);
    fputs("  ", stdout);
    dot_id(stdout, d->name);
    fputs(d->allow_failure ? " [style=dashed];\n" : ";\n", stdout);
    for (size_t e = 0; d->needs && d->needs[e]; e++) {
      fputs("  ", stdout);
      dot_id(stdout, d->needs[e]);
      fputs(" -> ", stdout);
      dot_id(stdout, d->name);
      fputs(";\n", stdout);
    }
  }
  printf("}\n");
}

static void dry_run(const corun_job_desc_t *d) {
  printf("%s: ", d->name);
  put_command(stdout, d);
  putchar('\n');
  if (d->needs && d->needs[0]) {
    printf("    needs:");
    for (size_t e = 0; d->needs[e]; e++)
      printf(" %s", d->needs[e]);
    putchar('\n');
  }
  if (d->cwd)
    printf("    cwd: %s\n", d->cwd);
  if (d->pool)
    printf("    pool: %s\n", d->pool);
  if (d->timeout_s > 0)
    printf("    timeout: %gs\n", d->timeout_s);
  if (d->retries)
    printf("    retries: %u\n", d->retries);
  if (d->allow_failure)
    printf("    allow_failure: true\n");
}

int cli_inspect(const corun_plan_t *p, const unsigned char *selected,
                int action) {
  if (action == OPT_CHECK)
    return 0;
  if (action == OPT_GRAPH) {
    graph(p, selected);
    return 0;
  }
  size_t n = corun_plan_job_count(p);
  const size_t *order = corun_plan_order(p);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    if (!selected[i])
      continue;
    const corun_job_desc_t *d = corun_plan_job(p, i);
    if (action == OPT_LIST)
      printf("%s\n", d->name);
    else
      dry_run(d);
  }
  return 0;
}
