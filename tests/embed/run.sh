#!/usr/bin/env bash
# Install corun into a temporary prefix, build the example embedder
# against it with nothing but pkg-config, and run it.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
extra=${2:-} # e.g. -fsanitize=address,undefined, as the library was built
prefix=$(mktemp -d /tmp/corun-prefix.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
# -o corun: the install takes $build/corun; the copy at the top of the
# tree is the default build's and is left alone (it may be running).
env -u MAKEFLAGS -u MAKELEVEL make -s -C "$src" -o corun BUILD="$build" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# Only the public API is exported from the shared library.
others=$(nm -D --defined-only "$prefix/lib/libcorun.so" | awk '{print $3}' | grep -v '^corun_' || true)
if [ -n "$others" ]; then
  echo "libcorun.so exports more than corun_*:" $others >&2
  exit 1
fi
cc -Wall -Wextra -Werror $extra -o "$prefix/embed" "$src/tests/embed/embed.c" \
  $(pkg-config --cflags --libs corun)
LD_LIBRARY_PATH="$prefix/lib" "$prefix/embed"

# The same five files from the command line and from an embedder that asks
# for them through corun.h alone (outputs.c) must be the same bytes, once
# what differs between any two runs is blanked out: times and pids. The
# job file runs one job at a time in a fixed order (max_parallel 1, needs
# in chains), so everything else — order, lanes, statuses, text — is fixed.
cc -Wall -Wextra -Werror $extra -o "$prefix/outputs" "$src/tests/embed/outputs.c" \
  $(pkg-config --cflags --libs corun)
jobfile="$src/tests/embed/outputs.json"
names=(report.json events.jsonl junit.xml trace.json timeline.svg)
mkdir "$prefix/cli" "$prefix/lib-run"
set +e
CORUN_EMBED_MARK="$prefix/cli/flaky.mark" "$prefix/bin/corun" --output none -q \
  --report "$prefix/cli/report.json" --events "$prefix/cli/events.jsonl" \
  --junit "$prefix/cli/junit.xml" --trace "$prefix/cli/trace.json" \
  --timeline "$prefix/cli/timeline.svg" "$jobfile"
cli_rc=$?
CORUN_EMBED_MARK="$prefix/lib-run/flaky.mark" LD_LIBRARY_PATH="$prefix/lib" \
  "$prefix/outputs" "$jobfile" "$prefix/lib-run/report.json" \
  "$prefix/lib-run/events.jsonl" "$prefix/lib-run/junit.xml" \
  "$prefix/lib-run/trace.json" "$prefix/lib-run/timeline.svg"
lib_rc=$?
set -e

# Only these differ legitimately between two runs of the same plan:
#  report    "started_at" (ISO time; null stays null), "duration_s", "pid"
#  events    "t", "duration_s", "pid"
#  junit     time="..." on the suite and each testcase
#  trace     "ts", "dur" (microseconds)
#  timeline  the run's length in <title> and the heading, the axis (how
#            many round steps fit the run's length, and where), each bar's
#            "%.3fs" length and start in its <title>, the bar's x and width,
#            the critical path's links between bars (their x), and the name
#            drawn in or beside a bar, which appears only where it fits: that
#            is the bar's length against the run's, a matter of timing.
normalise() {
  LC_ALL=C sed -E \
    -e 's/"started_at":"[^"]*"/"started_at":"TIME"/g' \
    -e 's/"(duration_s|t)":[0-9]+\.[0-9]+/"\1":SECS/g' \
    -e 's/"pid":[0-9]+,"stdout"/"pid":PID,"stdout"/g' \
    -e 's/^(\{"event":"start",.*"attempt":[0-9]+,"pid":)[0-9]+/\1PID/' \
    -e 's/ time="[0-9]+\.[0-9]+"/ time="SECS"/g' \
    -e 's/"ts":[0-9]+,"dur":[0-9]+,/"ts":US,"dur":US,/g' \
    -e 's/^<title>corun run, [0-9]+\.[0-9]+s<\/title>$/<title>corun run, SECS<\/title>/' \
    -e 's/^(<text class="heading" [^>]*>corun: [0-9]+ attempts of [0-9]+ jobs in )[0-9]+\.[0-9]+s/\1SECS/' \
    -e '/^<line class="tick" /d' \
    -e 's/(\(attempt [0-9]+\): [a-z]+, )[0-9]+\.[0-9]+s, from [0-9]+\.[0-9]+s/\1SECS, from SECS/' \
    -e 's/<rect x="[0-9]+\.[0-9]" (y="[0-9]+") width="[0-9]+\.[0-9]" /<rect x="X" \1 width="W" /' \
    -e 's/^(<line class="critical-link") x1="[0-9.]+" (y1="[0-9]+") x2="[0-9.]+"/\1 x1="X" \2 x2="X"/' \
    -e 's/<text class="name" [^>]*>[^<]*<\/text>//' \
    "$1"
}
bad=0
for f in "${names[@]}"; do
  for side in cli lib-run; do
    if [ ! -s "$prefix/$side/$f" ]; then
      echo "embed outputs: $side wrote no $f" >&2
      bad=1
    fi
    normalise "$prefix/$side/$f" >"$prefix/$side/$f.norm" || bad=1
  done
  if ! cmp -s "$prefix/cli/$f.norm" "$prefix/lib-run/$f.norm"; then
    echo "embed outputs: $f differs between the CLI and the library (normalised):" >&2
    diff -u --label "cli/$f" --label "library/$f" \
      "$prefix/cli/$f.norm" "$prefix/lib-run/$f.norm" >&2 || true
    bad=1
  fi
done
if [ "$cli_rc" != 1 ] || [ "$lib_rc" != 1 ]; then
  echo "embed outputs: exit codes: CLI $cli_rc, library $lib_rc (both should be 1)" >&2
  bad=1
fi
for side in cli lib-run; do
  last=$(tail -n 1 "$prefix/$side/events.jsonl")
  case "$last" in
    '{"event":"done","status":"failed","exit_code":1,"t":'*) ;;
    *) echo "embed outputs: $side events do not end with done: $last" >&2; bad=1 ;;
  esac
done
# The normalisation must leave the substance in place: the run's outcome
# and the job text, non-ASCII and the invalid byte (as U+FFFD) included.
for want in \
  '"counts":{"ok":2,"failed":2,"timeout":1,"cancelled":0,"skipped":1,"error":0}' \
  '"stdout":"héllo wörld ✓ 日本 <&>\"'"'"'\ttab\u0001\nbad byte: � end\nno newline at the end"' \
  '"name":"slow","status":"timeout","exit_code":null,"signal":"SIGTERM"' \
  '"name":"broken","status":"failed","exit_code":3' \
  '"reason":"need broken failed"' \
  '"name":"flaky","status":"ok","exit_code":0,"signal":null,"attempts":2'; do
  if ! grep -qF -- "$want" "$prefix/lib-run/report.json.norm"; then
    echo "embed outputs: the report lacks $want" >&2
    bad=1
  fi
done
if [ "$bad" != 0 ]; then
  echo "embed outputs: FAILED (files kept in $prefix)" >&2
  trap - EXIT
  exit 1
fi
echo "embed outputs: ${#names[@]} files identical, exit codes $cli_rc and $lib_rc"
