/*
 * ref_spawn — the floor for spawning: posix_spawn + waitpid, no pipes.
 *
 *   ref_spawn [-n N] [-j J] [--no-setsid] -- CMD [ARG...]
 *
 * Runs CMD N times (default 1), at most J at once (default 1). Each child
 * gets /dev/null as stdin and a session of its own (POSIX_SPAWN_SETSID, as
 * corun gives every job) and inherits stdout and stderr. Exits 1 when a
 * child failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

int main(int argc, char **argv) {
  long n = 1, j = 1;
  int setsid_flag = 1;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
      n = strtol(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
      j = strtol(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "--no-setsid")) {
      setsid_flag = 0;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: ref_spawn [-n N] [-j J] [--no-setsid] -- CMD [ARG...]\n");
      return 2;
    } else {
      break;
    }
  }
  if (i >= argc || n < 0 || j < 1) {
    fprintf(stderr, "usage: ref_spawn [-n N] [-j J] [--no-setsid] -- CMD [ARG...]\n");
    return 2;
  }
  char **cmd = argv + i;

  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    perror("ref_spawn: /dev/null");
    return 2;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, devnull, 0);
  posix_spawnattr_init(&at);
  if (setsid_flag)
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);

  long started = 0, running = 0;
  int failed = 0;
  while (started < n || running > 0) {
    while (started < n && running < j) {
      pid_t pid;
      int e = posix_spawnp(&pid, cmd[0], &fa, &at, cmd, environ);
      if (e) {
        fprintf(stderr, "ref_spawn: %s: %s\n", cmd[0], strerror(e));
        return 2;
      }
      started++;
      running++;
    }
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR)
        continue;
      perror("ref_spawn: waitpid");
      return 2;
    }
    running--;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failed = 1;
  }
  return failed;
}
