/*
 * embed_cost — what spawning costs a program that embeds libcorun while it
 * holds a large heap (a build tool, a CI runner). A fork()-based spawn
 * copies the page tables of every touched page; a vfork/posix_spawn-style
 * spawn does not, so the cost per job should not grow with the heap.
 *
 *   embed_cost [-m MIB] [-n JOBS] [-j PARALLEL] [--ref]
 *
 * Allocates and touches MIB MiB (default 0), builds a plan of JOBS jobs
 * (default 2000) running /bin/true in code, runs it with
 * corun_run_blocking() at PARALLEL jobs at once (default 2) and prints one
 * line: status=… mib=… jobs=… wall=SECONDS us_per_job=… (the run only, not
 * building the plan or touching the heap). status is the run's exit code,
 * or 2 when something failed before it (with a message on stderr).
 *
 * With --ref the same jobs are run without corun, by plain posix_spawn
 * (new session, stdin /dev/null) and waitpid: what the kernel charges for
 * the heap whoever spawns.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corun.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

extern char **environ;

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

/* The same jobs without corun: 0, or 1 when one failed, or 2. */
static int run_plain(long jobs, long par) {
  static char *const argv_true[] = {"/bin/true", NULL};
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0)
    return 2;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, devnull, 0);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  long started = 0, running = 0;
  int rc = 0;
  while (started < jobs || running > 0) {
    while (started < jobs && running < par) {
      pid_t pid;
      if (posix_spawn(&pid, argv_true[0], &fa, &at, argv_true, environ))
        return 2;
      started++;
      running++;
    }
    int st;
    if (wait(&st) < 0)
      return 2;
    running--;
    if (!WIFEXITED(st) || WEXITSTATUS(st))
      rc = 1;
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(devnull);
  return rc;
}

static int report_error(const char *what, int rc, corun_error_t *err) {
  fprintf(stderr, "embed_cost: %s: %s\n", what, corun_strerror(rc));
  for (size_t i = 0; i < err->count; i++)
    fprintf(stderr, "  %s\n", err->messages[i]);
  corun_error_release(err);
  printf("status=2\n");
  return 2;
}

int main(int argc, char **argv) {
  long mib = 0, jobs = 2000, par = 2;
  int plain = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-m") && i + 1 < argc)
      mib = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-n") && i + 1 < argc)
      jobs = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-j") && i + 1 < argc)
      par = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--ref"))
      plain = 1;
    else {
      fprintf(stderr, "usage: embed_cost [-m MIB] [-n JOBS] [-j PARALLEL] [--ref]\n");
      return 2;
    }
  }
  if (mib < 0 || jobs < 1 || par < 1) {
    fprintf(stderr, "embed_cost: bad arguments\n");
    return 2;
  }

  /* The embedding program's heap: allocated and touched. */
  size_t heap_len = (size_t)mib << 20;
  unsigned char *heap = NULL;
  if (heap_len) {
    heap = malloc(heap_len);
    if (!heap) {
      fprintf(stderr, "embed_cost: cannot allocate %ld MiB\n", mib);
      return 2;
    }
    memset(heap, 0x5a, heap_len);
  }

  if (plain) {
    double t0 = now();
    int rc = run_plain(jobs, par);
    double wall = now() - t0;
    unsigned sum = 0;
    for (size_t off = 0; off < heap_len; off += 1u << 20)
      sum += heap[off];
    printf("status=%d mib=%ld jobs=%ld wall=%.6f us_per_job=%.2f check=%u\n",
           rc, mib, jobs, wall, wall * 1e6 / (double)jobs, sum & 0xff);
    free(heap);
    return rc;
  }

  corun_error_t err = {0};
  corun_plan_t *plan = NULL;
  int rc = corun_plan_new(&plan, "embed_cost", NULL);
  if (rc)
    return report_error("corun_plan_new", rc, &err);
  static const char *const argv_true[] = {"/bin/true", NULL};
  for (long k = 0; k < jobs; k++) {
    corun_job_desc_t d;
    memset(&d, 0, sizeof d);
    d.argv = argv_true;
    rc = corun_plan_add_job(plan, &d, &err);
    if (rc)
      return report_error("corun_plan_add_job", rc, &err);
  }
  rc = corun_plan_seal(plan, &err);
  if (rc)
    return report_error("corun_plan_seal", rc, &err);

  corun_run_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.jobs = (unsigned)par;
  corun_run_t *run = NULL;
  double t0 = now();
  rc = corun_run_blocking(&run, plan, &opts, &err);
  double wall = now() - t0;
  if (rc < 0)
    return report_error("corun_run_blocking", rc, &err);

  /* Keep the heap alive and observable until after the run. */
  unsigned sum = 0;
  for (size_t off = 0; off < heap_len; off += 1u << 20)
    sum += heap[off];
  printf("status=%d mib=%ld jobs=%ld wall=%.6f us_per_job=%.2f check=%u\n", rc,
         mib, jobs, wall, wall * 1e6 / (double)jobs, sum & 0xff);
  corun_run_free(run);
  corun_plan_free(plan);
  free(heap);
  return rc;
}
