#!/usr/bin/env bash
# corun under valgrind memcheck, for running the CLI suite with it: any
# memory error or definite leak makes corun exit 97, which fails the test.
# valgrind's own words go to a log file per process, not to corun's stderr.
dir=${CORUN_VALGRIND_LOGS:-${TMPDIR:-/tmp}/corun-valgrind}
mkdir -p "$dir"
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
  --error-exitcode=97 --log-file="$dir/corun.%p.log" \
  "${CORUN_REAL_BIN:?}" "$@"
