#!/usr/bin/env bash
# corun benchmark driver; `make bench` runs it with the programs built.
#
# Measures, in one run with all commands interleaved round by round so that
# drift of the machine hits every contender alike:
#   1. spawn throughput: N x /bin/true at -j2 and -j8 — corun, ref_spawn
#      (posix_spawn + waitpid), ref_pipes (posix_spawn + 2 pipes + epoll),
#      xargs -P, make -j, ninja, GNU parallel; wall, jobs/s, own CPU per job
#   2. output gathering: 4 jobs x 256 MiB at -j2 — corun --output none,
#      corun --log-dir on tmpfs, corun --output prefix on 80-byte lines,
#      against ref_pipes discarding and writing files
#   3. peak RSS of corun: the spawn run, and `--check` of a 100,000-job file
#      (timed too)
#   4. one trivial job, launch to exit: corun vs ref_spawn (and corun
#      --version, its start-up alone)
#   5. spawn cost of an embedding program holding 0, 100, 500 MiB of heap,
#      and of plain posix_spawn holding the same (what the kernel charges)
#   6. --each: the N items of `seq N` on a pipe, one `/bin/true ITEM` each,
#      at -j2 and -j8 — corun --each, corun with a job file of the same N
#      jobs (shell commands, as --each makes), xargs -P -I{}, GNU parallel
#
# Environment:
#   CORUN         the corun binary (default build/corun)
#   BENCH_BIN     folder of bench_measure, ref_spawn, ... (default build/bench)
#   BENCH_RUNS    rounds (default 5; 1 in quick mode)
#   BENCH_QUICK=1 small sizes, for a smoke run; figures are not meaningful
#   BENCH_NOISE   max/min spread above which a figure is called noisy (0.25)
#   BENCH_KEEP=1  keep the work folder and its raw samples
#   BENCH_VERBOSE=1  print every measurement as it is taken
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
CORUN=${CORUN:-build/corun}
BIN=${BENCH_BIN:-build/bench}
QUICK=${BENCH_QUICK:-}
[[ $QUICK == 0 ]] && QUICK=
NOISE=${BENCH_NOISE:-0.25}
VERBOSE=${BENCH_VERBOSE:-}
[[ $VERBOSE == 0 ]] && VERBOSE=

# An outer `make bench` must not hand its jobserver or flags to the make
# being measured.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS

if [[ -n $QUICK ]]; then
  RUNS=${BENCH_RUNS:-1}
  N_SPAWN=200 N_PAR=200 PAR_RUNS=1
  GATHER_BYTES=$((16 << 20))
  LAUNCH_REPS=20 EMBED_N=200 LIMIT=60
else
  RUNS=${BENCH_RUNS:-5}
  N_SPAWN=2000 N_PAR=1000 PAR_RUNS=2
  GATHER_BYTES=$((256 << 20))
  LAUNCH_REPS=100 EMBED_N=1000 LIMIT=120
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2; }
(( PAR_RUNS > RUNS )) && PAR_RUNS=$RUNS
N_LOAD=100000
GATHER_JOBS=4 GATHER_J=2 LINE=80
GATHER_TOTAL=$((GATHER_JOBS * GATHER_BYTES))
HEAPS=(0 100 500)

CORUN=$(cd "$(dirname "$CORUN")" 2>/dev/null && pwd)/$(basename "$CORUN")
BIN=$(cd "$BIN" 2>/dev/null && pwd) || { echo "bench: no folder $BIN; run 'make bench'" >&2; exit 2; }
for t in bench_measure ref_spawn ref_pipes bench_writer; do
  [[ -x $BIN/$t ]] || { echo "bench: $BIN/$t missing; run 'make bench'" >&2; exit 2; }
done
MEASURE=$BIN/bench_measure WRITER=$BIN/bench_writer

say() { printf '%s\n' "$*" >&2; }

# ---- peers -------------------------------------------------------------

install_peers() {
  local missing=()
  command -v make >/dev/null || missing+=(make)
  command -v xargs >/dev/null || missing+=(findutils)
  command -v ninja >/dev/null || missing+=(ninja-build)
  command -v parallel >/dev/null || missing+=(parallel)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "bench: installing ${missing[*]} from Debian"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
      say "bench: could not install ${missing[*]}; their rows will read n/a"
  else
    say "bench: missing ${missing[*]} (apt-get install ${missing[*]}); their rows will read n/a"
  fi
}
install_peers
have() { command -v "$1" >/dev/null; }

# ---- work folders and inputs ---------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/corun-bench.XXXXXX") || exit 2
SHM=
if [[ -d /dev/shm && -w /dev/shm ]] && [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
  avail=$(( $(stat -f -c '%a * %S' /dev/shm) ))
  (( avail > 3 * GATHER_TOTAL )) && SHM=$(mktemp -d /dev/shm/corun-bench.XXXXXX)
fi
if [[ -n $SHM ]]; then FILES_FS="tmpfs ($SHM)"; else SHM=$WORK/files; mkdir -p "$SHM"; FILES_FS="disk ($SHM, no tmpfs with room)"; fi
cleanup() {
  if [[ -n ${BENCH_KEEP:-} && ${BENCH_KEEP:-} != 0 ]]; then
    rm -rf "$SHM"; say "bench: raw samples kept in $WORK"
  else
    rm -rf "$WORK" "$SHM"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
SAMPLES=$WORK/samples.tsv
: >"$SAMPLES"

# Job files, written with awk so that 100,000 jobs take no time.
jobfile() { # FILE COUNT CMD-JSON-ARRAY
  awk -v n="$2" -v cmd="$3" 'BEGIN {
    printf "{\"corun\": 1, \"jobs\": [\n";
    for (i = 1; i <= n; i++) printf "  {\"cmd\": %s}%s\n", cmd, (i < n ? "," : "");
    printf "]}\n" }' >"$1"
}
jobfile "$WORK/true.json" "$N_SPAWN" '["/bin/true"]'
jobfile "$WORK/one.json" 1 '["/bin/true"]'
# The jobs --each makes of `seq N_SPAWN` with '/bin/true {}', as a job file.
awk -v n="$N_SPAWN" 'BEGIN {
  printf "{\"corun\": 1, \"jobs\": [\n";
  for (i = 1; i <= n; i++) printf "  {\"cmd\": \"/bin/true %d\"}%s\n", i, (i < n ? "," : "");
  printf "]}\n" }' >"$WORK/each.json"
jobfile "$WORK/gather.json" "$GATHER_JOBS" "[\"$WRITER\", \"$GATHER_BYTES\"]"
jobfile "$WORK/lines.json" "$GATHER_JOBS" "[\"$WRITER\", \"$GATHER_BYTES\", \"$LINE\"]"
# The 100,000-job file is named and has needs, so that loading also checks
# names and plans an order: groups of 100 jobs, each needing its group's first.
awk -v n="$N_LOAD" 'BEGIN {
  printf "{\"corun\": 1, \"max_parallel\": 2, \"jobs\": [\n";
  for (i = 0; i < n; i++) {
    head = i - i % 100;
    printf "  {\"name\": \"t%d\", \"cmd\": [\"/bin/true\", \"%d\"]", i, i;
    if (i != head) printf ", \"needs\": [\"t%d\"]", head;
    printf "}%s\n", (i < n - 1 ? "," : "") }
  printf "]}\n" }' >"$WORK/load.json"
seq "$N_SPAWN" >"$WORK/args"
seq "$N_PAR" >"$WORK/args_par"
mkdir -p "$WORK/make" "$WORK/ninja"
awk -v n="$N_SPAWN" 'BEGIN {
  printf ".PHONY: all"; for (i = 1; i <= n; i++) printf " t%d", i; printf "\n";
  printf "all:"; for (i = 1; i <= n; i++) printf " t%d", i; printf "\n";
  for (i = 1; i <= n; i++) printf "t%d:\n\t@/bin/true\n", i }' >"$WORK/make/Makefile"
awk -v n="$N_SPAWN" 'BEGIN {
  printf "rule run\n  command = /bin/true\n";
  for (i = 1; i <= n; i++) printf "build t%d: run\n", i }' >"$WORK/ninja/build.ninja"

# ---- can corun run jobs? ---------------------------------------------------

CORUN_NA= PREFIX_NA= LOGDIR_NA= EMBED_NA= EACH_NA=
first_line() { sed -n '/./{p;q}' "$1" | cut -c1-100; }
if [[ ! -x $CORUN ]]; then
  CORUN_NA="no binary at $CORUN"
else
  jobfile "$WORK/smoke.json" 3 '["/bin/true"]'
  if ! timeout 20 "$CORUN" -j2 --output none "$WORK/smoke.json" </dev/null >"$WORK/smoke.out" 2>"$WORK/smoke.err"; then
    rc=$?
    CORUN_NA="corun failed (exit $rc: $(first_line "$WORK/smoke.err"))"
  fi
fi
if [[ -z $CORUN_NA ]]; then
  # prefix mode: every line comes out, once
  jobfile "$WORK/smoke_lines.json" 2 "[\"$WRITER\", \"800000\", \"$LINE\"]"
  got=$(timeout 20 "$CORUN" -j2 --output prefix "$WORK/smoke_lines.json" </dev/null 2>"$WORK/smoke.err" | wc -l)
  [[ $got == 20000 ]] || PREFIX_NA="prefix mode printed $got lines, not 20000 ($(first_line "$WORK/smoke.err"))"
  # log-dir: every byte lands in its file
  jobfile "$WORK/smoke_bytes.json" 2 "[\"$WRITER\", \"1000000\"]"
  if timeout 20 "$CORUN" -j2 --output none --log-dir "$SHM/smoke" "$WORK/smoke_bytes.json" </dev/null >/dev/null 2>"$WORK/smoke.err"; then
    got=$(cat "$SHM"/smoke/*.out 2>/dev/null | wc -c)
    [[ $got == 2000000 ]] || LOGDIR_NA="--log-dir files hold $got bytes, not 2000000"
  else
    LOGDIR_NA="--log-dir run failed ($(first_line "$WORK/smoke.err"))"
  fi
  rm -rf "$SHM/smoke"
fi
if [[ -z $CORUN_NA ]]; then
  # --each: one job per line of a pipe
  got=$(seq 3 | timeout 20 "$CORUN" -j2 --output none --report "$WORK/smoke_each.json" \
          --each '/bin/true {}' 2>"$WORK/smoke.err" && grep -o '"ok": *[0-9]*' "$WORK/smoke_each.json")
  got=${got##*:}
  [[ ${got// /} == 3 ]] || EACH_NA="--each failed ($(first_line "$WORK/smoke.err"))"
fi
[[ -n $CORUN_NA ]] && PREFIX_NA=$CORUN_NA LOGDIR_NA=$CORUN_NA EACH_NA=$CORUN_NA
# embed_cost --ref does not use corun; without libcorun it cannot be built.
if [[ ! -x $BIN/embed_cost ]]; then
  EMBED_NA="embed_cost not built (needs libcorun.a)"
else
  out=$(timeout 20 "$BIN/embed_cost" -n 10 -j 2 2>"$WORK/smoke.err" </dev/null)
  [[ $out == status=0\ * ]] || EMBED_NA="embed_cost failed (${out:-no output}; $(first_line "$WORK/smoke.err"))"
fi
[[ -n $CORUN_NA ]] && say "bench: corun rows will read n/a: $CORUN_NA"
[[ -n $EMBED_NA ]] && say "bench: embedding rows will read n/a: $EMBED_NA"

# ---- the cases -------------------------------------------------------------

CASES=()
for j in 2 8; do
  for t in corun ref_spawn ref_pipes xargs make ninja parallel; do CASES+=("spawn.$t.j$j"); done
done
CASES+=(gather.ref_pipes.discard gather.ref_pipes.files gather.corun.none gather.corun.logdir gather.corun.prefix)
CASES+=(load.corun launch.corun launch.version launch.ref_spawn)
for h in "${HEAPS[@]}"; do CASES+=("embed.lib.$h" "embed.ref.$h"); done
for j in 2 8; do
  for t in corun file xargs parallel; do CASES+=("each.$t.j$j"); done
done

# Whether a case is run at all (missing tools, corun not working).
runnable() {
  case $1 in
    *.corun.*|launch.corun|launch.version|load.corun) [[ -z $CORUN_NA ]] || return 1 ;;&
    gather.corun.prefix) [[ -z $PREFIX_NA ]] ;;
    gather.corun.logdir) [[ -z $LOGDIR_NA ]] ;;
    each.corun.*) [[ -z $EACH_NA ]] ;;
    each.file.*) [[ -z $CORUN_NA ]] ;;
    each.xargs.*) have xargs ;;
    each.parallel.*) have parallel ;;
    spawn.xargs.*) have xargs ;;
    spawn.make.*) have make ;;
    spawn.ninja.*) have ninja ;;
    spawn.parallel.*) have parallel ;;
    embed.*) [[ -x $BIN/embed_cost ]] && { [[ $1 == embed.ref.* ]] || [[ -z $EMBED_NA ]]; } ;;
    *) return 0 ;;
  esac
}

# Tmpfs pages freed a moment ago are cheap to reuse, pages handed back to
# the host long ago are not (virtual machines with free-page reporting).
# Writing and deleting as much as the case will write, right before it,
# gives every file-writing case the same start.
warm_files() {
  "$WRITER" "$GATHER_TOTAL" >"$SHM/warm" && rm -f "$SHM/warm"
}

# Sum of the sizes of DIR/*.out, or -1.
out_bytes() { cat "$1"/*.out 2>/dev/null | wc -c; }

m() { "$MEASURE" -t "$LIMIT" "$@" </dev/null; }

run_case() { # ID -> prints a bench_measure result line
  local id=$1 j out got
  case $id in
    spawn.*|each.*) j=${id##*.j} ;;
  esac
  case $id in
    spawn.corun.*)     m -o pipe -- "$CORUN" -j "$j" --output none "$WORK/true.json" ;;
    spawn.ref_spawn.*) m -o pipe -- "$BIN/ref_spawn" -n "$N_SPAWN" -j "$j" -- /bin/true ;;
    spawn.ref_pipes.*) m -o pipe -- "$BIN/ref_pipes" -n "$N_SPAWN" -j "$j" -- /bin/true ;;
    spawn.xargs.*)     m -o pipe -- xargs -P "$j" -n 1 -a "$WORK/args" /bin/true ;;
    spawn.make.*)      m -o pipe -- make -s -j "$j" -C "$WORK/make" -f Makefile ;;
    spawn.ninja.*)
      rm -f "$WORK/ninja/.ninja_log" "$WORK/ninja/.ninja_deps"
      m -o pipe -- ninja --quiet -j "$j" -C "$WORK/ninja" -f build.ninja ;;
    spawn.parallel.*)  m -o pipe -- parallel --will-cite -j "$j" -a "$WORK/args_par" /bin/true ;;
    gather.ref_pipes.discard)
      m -o null -- "$BIN/ref_pipes" -n "$GATHER_JOBS" -j "$GATHER_J" -- "$WRITER" "$GATHER_BYTES" ;;
    gather.ref_pipes.files|gather.corun.logdir)
      rm -rf "$SHM/logs"
      warm_files
      if [[ $id == gather.corun.logdir ]]; then
        out=$(m -o null -- "$CORUN" -j "$GATHER_J" --output none --log-dir "$SHM/logs" "$WORK/gather.json")
      else
        out=$(m -o null -- "$BIN/ref_pipes" -n "$GATHER_JOBS" -j "$GATHER_J" --log-dir "$SHM/logs" -- "$WRITER" "$GATHER_BYTES")
      fi
      got=$(out_bytes "$SHM/logs")
      rm -rf "$SHM/logs"
      # a run that lost bytes does not count
      [[ $got == "$GATHER_TOTAL" ]] || out="${out/status=0 /status=98 }"
      printf '%s\n' "$out" ;;
    gather.corun.none)
      m -o null -- "$CORUN" -j "$GATHER_J" --output none "$WORK/gather.json" ;;
    gather.corun.prefix)
      m -o null -- "$CORUN" -j "$GATHER_J" --output prefix "$WORK/lines.json" ;;
    load.corun)        m -o pipe -- "$CORUN" --check "$WORK/load.json" ;;
    launch.corun)      m -o pipe -r "$LAUNCH_REPS" -- "$CORUN" "$WORK/one.json" ;;
    launch.version)    m -o pipe -r "$LAUNCH_REPS" -- "$CORUN" --version ;;
    launch.ref_spawn)  m -o pipe -r "$LAUNCH_REPS" -- "$BIN/ref_spawn" -n 1 -j 1 -- /bin/true ;;
    # the items come on a pipe, as from `seq N |` (bench_measure -i)
    each.corun.*)      m -o pipe -i "$WORK/args" -- "$CORUN" -j "$j" --output none --each '/bin/true {}' ;;
    each.file.*)       m -o pipe -- "$CORUN" -j "$j" --output none "$WORK/each.json" ;;
    each.xargs.*)      m -o pipe -i "$WORK/args" -- xargs -P "$j" -I{} /bin/true {} ;;
    each.parallel.*)   m -o pipe -i "$WORK/args" -- parallel --will-cite -j "$j" /bin/true {} ;;
    embed.*)
      local ref=
      [[ $id == embed.ref.* ]] && ref=--ref
      out=$(timeout "$LIMIT" "$BIN/embed_cost" -m "${id##*.}" -n "$EMBED_N" -j 2 \
              ${ref:+"$ref"} </dev/null 2>/dev/null)
      got=$?
      [[ -n $out ]] || out="status=$got"
      printf '%s\n' "$out" ;;
  esac
}

record() { # ID ROUND RESULT-LINE
  local id=$1 round=$2 kv status=97 wall=0 cpu=0 rss=0
  for kv in $3; do
    case $kv in
      status=*) status=${kv#*=} ;;
      wall=*) wall=${kv#*=} ;;
      cpu=*) cpu=${kv#*=} ;;
      maxrss_kb=*) rss=${kv#*=} ;;
    esac
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$status" "$wall" "$cpu" "$rss" "$round" >>"$SAMPLES"
  [[ -n $VERBOSE ]] && say "  $id: $3"
  return 0
}

# ---- run -----------------------------------------------------------------

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_before=$(sed -n 's/^cpu  //p' /proc/stat)
say "bench: $RUNS round(s) of ${#CASES[@]} cases${QUICK:+ (quick mode)}; work in $WORK"
t_start=$SECONDS
n=${#CASES[@]}
for ((r = 0; r < RUNS; r++)); do
  off=$(( r * n / RUNS ))
  printf 'bench: round %d/%d ' $((r + 1)) "$RUNS" >&2
  for ((i = 0; i < n; i++)); do
    id=${CASES[$(( (i + off) % n ))]}
    runnable "$id" || continue
    [[ $id == spawn.parallel.* || $id == each.parallel.* ]] && (( r >= PAR_RUNS )) && continue
    record "$id" "$((r + 1))" "$(run_case "$id")"
    [[ -n $VERBOSE ]] || printf '.' >&2
  done
  printf ' %ds\n' $((SECONDS - t_start)) >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_after=$(sed -n 's/^cpu  //p' /proc/stat)
# Time the hypervisor gave to others while we ran, in % of all CPU time.
steal=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN {
  na = split(a, x, " "); split(b, y, " "); t = 0
  for (i = 1; i <= 8 && i <= na; i++) t += y[i] - x[i]
  if (na >= 8 && t > 0) printf "%.1f%%", 100 * (y[8] - x[8]) / t; else printf "unknown" }')

# ---- report ----------------------------------------------------------------

ver() { "$@" 2>/dev/null | head -1; }
awk -F'\t' -f "$here/report.awk" \
  -v RUNS="$RUNS" -v QUICK="${QUICK:+1}" -v NOISE="$NOISE" \
  -v N_SPAWN="$N_SPAWN" -v N_PAR="$N_PAR" -v PAR_RUNS="$PAR_RUNS" \
  -v N_LOAD="$N_LOAD" -v GATHER_JOBS="$GATHER_JOBS" -v GATHER_BYTES="$GATHER_BYTES" \
  -v GATHER_J="$GATHER_J" -v LINE="$LINE" -v LAUNCH_REPS="$LAUNCH_REPS" -v EMBED_N="$EMBED_N" \
  -v HEAPS="${HEAPS[*]}" -v FILES_FS="$FILES_FS" \
  -v CORUN_NA="$CORUN_NA" -v PREFIX_NA="$PREFIX_NA" -v LOGDIR_NA="$LOGDIR_NA" -v EMBED_NA="$EMBED_NA" \
  -v EACH_NA="$EACH_NA" \
  -v MACHINE="$(nproc) CPUs, ${cpu_model:-unknown CPU}, Linux $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)" \
  -v LOADS="load average before $load_before, after $load_after; CPU steal during the run $steal" \
  -v PEERS="$(ver make --version); $(ver xargs --version); ninja $(ver ninja --version); $(ver parallel --will-cite --version)" \
  -v ELAPSED="$((SECONDS - t_start))" \
  "$SAMPLES"
