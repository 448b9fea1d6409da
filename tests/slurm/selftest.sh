#!/usr/bin/env bash
# What the Slurm executor relies on, checked against the cluster of
# tests/slurm/up.sh: `make test-slurm` runs it. Each line is `ok WHAT`,
# `FAIL WHAT (why)` or `info WHAT` (a measure or a behaviour that depends on
# the knobs); the last line counts them, and any FAIL exits 1. About 40 s.
#
# Uses SLURM_CONF, else SLURM_WORK/slurm.conf (default /tmp/corun-slurm).
# Every srun and sbatch runs under `timeout`, so a broken cluster fails the
# check instead of hanging it; except those the checks signal, which must be
# the shell's own children: they run `sleep 300` at most, and the exit
# cancels whatever is left.
set -u -o pipefail
export LC_ALL=C
export SLURM_CONF=${SLURM_CONF:-${SLURM_WORK:-/tmp/corun-slurm}/slurm.conf}
if [[ ! -e $SLURM_CONF ]] || ! timeout 10 scontrol ping >/dev/null 2>&1; then
  echo "selftest: no cluster answers at SLURM_CONF=$SLURM_CONF; run make slurm-up first" >&2
  exit 2
fi
tmp=$(mktemp -d /tmp/corun-slurm-selftest.XXXXXX)
cleanup() { scancel -n "$names" 2>/dev/null; rm -rf "$tmp"; }
# Every job below is named from this list, so the exit can cancel leftovers.
names=st-cancel,st-sigterm,st-trap,st-full,st-kill,st-group,st-fill
trap cleanup EXIT
cd "$tmp" || exit 2

pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1 ($2)"; fail=$((fail + 1)); }
info() { echo "info $1"; }
is() { if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }
run() { timeout 60 srun -n1 --input=none "$@"; }
# queued NAME: the state of job NAME, empty once it has left the queue.
queued() { squeue -h -n "$1" -o %T 2>/dev/null; }
# ready FILE: wait until a task wrote FILE, ready to be signalled (a job
# may wait for a slot first); fails past 30 s.
ready() {
  local i
  for ((i = 0; i < 300; i++)); do [[ -e $1 ]] && return 0; sleep 0.1; done
  bad "task started" "no $1 after 30 s"
  return 1
}
# gone NAME SECONDS: wait until job NAME left the queue; fails past SECONDS.
gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do [[ -z $(queued "$1") ]] && return 0; sleep 0.1; done
  return 1
}

# Output, status, working folder, environment.
is "stdout arrives" "$(run echo hi)" hi
run sh -c 'echo o; echo e >&2; exit 3' >o.txt 2>e.txt
is "exit code passes through" $? 3
is "stdout apart from stderr" "$(cat o.txt)" o
grep -qx e e.txt && ! grep -qx o e.txt && ok "stderr apart from stdout" || bad "stderr" "$(cat e.txt)"
# srun's own diagnostics share the task's stderr.
grep -q '^srun: error: .*exit code 3' e.txt && ok "... where srun adds 'srun: error: ... exit code 3'" ||
  bad "srun's failure line" "$(cat e.txt)"
run sh -c 'kill -TERM $$' 2>/dev/null
is "task killed by a signal: 128+N" $? 143
is "--chdir and --export" "$(run --chdir=/tmp --export=ALL,CORUN_X=42 sh -c 'echo $PWD:$CORUN_X')" /tmp:42
is "exact environment through env -i" "$(run env -i A=1 /usr/bin/env)" A=1
out=$(run --chdir="$tmp/missing" pwd 2>e.txt)
is "--chdir to a missing folder: runs in /tmp anyway, rc 0" "$out:$?" /tmp:0
grep -q "couldn't chdir" e.txt && ok "... with only a warning on stderr" || bad "chdir warning" "$(cat e.txt)"

# Job id and node, as a runner learns them.
out=$(run sh -c 'echo $SLURM_JOB_ID $SLURMD_NODENAME')
[[ $out =~ ^[0-9]+\ localhost$ ]] && ok "SLURM_JOB_ID, SLURMD_NODENAME in the task's environment" ||
  bad "job id in environment" "$out"
run -v true 2>e.txt
grep -qE '^srun: jobid [0-9]+: nodes\(1\):`localhost' e.txt && ok "srun -v names job id and node" ||
  bad "srun -v" "$(grep jobid e.txt)"

# Latency of one tiny job, one after the other.
lat=()
for _ in $(seq 11); do t=$(now); run /bin/true; lat+=("$(ms "$t")"); done
mapfile -t lat < <(printf '%s\n' "${lat[@]}" | sort -n)
info "srun -n1 /bin/true: median ${lat[5]} ms (min ${lat[0]}, max ${lat[10]}, 11 runs)"

# Impossible requests end at submit with rc 1 (an impossible CPU count only
# because up.sh sets EnforcePartLimits=ALL).
t=$(now); run -p nosuch true 2>e.txt; rc=$?; d=$(ms "$t")
is "no such partition: rc 1" $rc 1
grep -q 'srun: error: .*[Ii]nvalid partition' e.txt && info "no such partition: refused in $d ms" ||
  bad "no such partition message" "$(cat e.txt)"
t=$(now); run -c 9999 true 2>e.txt; rc=$?; d=$(ms "$t")
is "more CPUs than the node has: rc 1" $rc 1
grep -q 'More processors requested than permitted' e.txt && info "more CPUs: refused in $d ms" ||
  bad "more CPUs message" "$(cat e.txt)"
t=$(now); run --mem=100T true 2>e.txt; rc=$?; d=$(ms "$t")
is "more memory than the node has: rc 1" $rc 1
info "more memory: refused in $d ms"
run --mem=256M true
is "--mem=256M accepted (RealMemory set)" $? 0

# A job that waits for a slot says so on srun's stderr, mixed with the
# task's own; -Q hides these two lines.
slots=$(scontrol show node localhost | sed -n 's/.*CPUTot=\([0-9]*\).*/\1/p')
run -J st-fill -c "$slots" sh -c 'touch fill.ready; sleep 3' & fill=$!
ready fill.ready
run sh -c 'echo task-err >&2' 2>e.txt
grep -q 'queued and waiting for resources' e.txt && grep -q task-err e.txt &&
  ok "a pending srun says 'queued and waiting for resources' on stderr" ||
  bad "pending message" "$(cat e.txt)"
wait $fill

# Stopping. SIGTERM to srun does not reach the task: srun kills it (rc 137)
# and the job leaves the queue.
srun -n1 --input=none -J st-sigterm sh -c 'touch sigterm.ready; exec sleep 300' 2>/dev/null & p=$!
ready sigterm.ready
t=$(now); kill -TERM $p; wait $p; rc=$?; d=$(ms "$t")
is "SIGTERM to srun: rc 137" $rc 137
((d < 3000)) && ok "... within 3 s ($d ms)" || bad "srun SIGTERM slow" "$d ms"
gone st-sigterm 5 && ok "... and the job leaves the queue" || bad "job after srun SIGTERM" "$(queued st-sigterm)"

# The graceful way: scancel --signal=TERM sends TERM to every process of the
# step, and the job stays; a plain scancel then ends it.
srun -n1 --input=none -J st-trap \
  sh -c 'trap "echo got-term" TERM; touch trap.ready; for i in $(seq 100); do sleep 0.1; done' \
  >o.txt 2>/dev/null & p=$!
ready trap.ready
scancel --signal=TERM -n st-trap
for _ in $(seq 50); do grep -q got-term o.txt && break; sleep 0.1; done
grep -q got-term o.txt && ok "scancel --signal=TERM: the task gets TERM" || bad "TERM delivered" "$(cat o.txt)"
is "... and the job stays" "$(queued st-trap)" RUNNING
t=$(now); scancel -n st-trap; wait $p; rc=$?; d=$(ms "$t")
gone st-trap 10 && ok "plain scancel of a task that ignores TERM: gone (KILL after KillWait)" ||
  bad "job after scancel" "$(queued st-trap)"
info "... srun exit status then: $rc after $d ms (not to be trusted after a cancel)"
srun -n1 --input=none -J st-cancel sh -c 'trap "exit 9" TERM; touch cancel.ready; sleep 300 & wait' \
  2>/dev/null & p=$!
ready cancel.ready
scancel -n st-cancel; wait $p
is "plain scancel: the task's TERM trap decides srun's status" $? 9
srun -n1 --input=none -J st-full sh -c 'trap "echo got-term" TERM; touch full.ready; sleep 2; echo finished' \
  >o.txt 2>/dev/null & p=$!
ready full.ready
scancel --full --signal=TERM -n st-full; wait $p
is "scancel --full on an srun job: delivers nothing" "$(cat o.txt)" finished

# srun killed outright: its helper process cancels the job. Killed together
# with its whole process group: the job stays until InactiveLimit.
srun -n1 --input=none -J st-kill sh -c 'touch kill.ready; exec sleep 300' 2>/dev/null & p=$!
ready kill.ready
t=$(now); kill -KILL $p; wait $p 2>/dev/null
gone st-kill 10 && ok "SIGKILL to srun: the job leaves the queue ($(ms "$t") ms)" ||
  bad "job after srun SIGKILL" "$(queued st-kill)"
setsid srun -n1 --input=none -J st-group sh -c 'touch group.ready; exec sleep 300' 2>/dev/null & p=$!
ready group.ready
# pgid PID: the process group, the 3rd field after the command name.
pgid() { local s f; { s=$(<"/proc/$1/stat"); } 2>/dev/null && read -ra f <<<"${s##*) }" && echo "${f[2]}"; }
pg=$(pgid $p)
if [[ -n $pg && $pg != $(pgid $$) ]]; then
  kill -KILL -- "-$pg"; wait $p 2>/dev/null; sleep 2
  limit=$(scontrol show config | sed -n 's/^InactiveLimit *= *//p')
  is "SIGKILL to srun's process group: the job stays (InactiveLimit $limit)" "$(queued st-group)" RUNNING
  scancel -n st-group; gone st-group 10 || bad "scancel after group kill" "$(queued st-group)"
else
  bad "srun in a process group of its own" "pgid '$pg'"
fi

# Batch jobs, dependencies, sbatch --wait.
a=$(timeout 10 sbatch --parsable -o a.out --wrap 'echo A')
timeout 10 sbatch --parsable -d "afterok:$a" -o b.out --wrap 'echo B' >/dev/null
for _ in $(seq 100); do [[ -s b.out ]] && break; sleep 0.1; done
is "sbatch with a dependency" "$(cat a.out b.out 2>/dev/null | tr -d '\n')" AB
timeout 60 sbatch --wait -o /dev/null --wrap 'exit 4' >/dev/null
is "sbatch --wait: the script's status" $? 4

# A grandchild that leaves the task's session: killed at the step's end with
# proctrack/cgroup only.
run sh -c "setsid sh -c 'echo \$\$ >escaped.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 0.3"
sleep 0.5
esc=$(cat escaped.pid 2>/dev/null)
if [[ -z $esc ]]; then
  bad "escaped grandchild started" "no pid"
elif [[ $(cat "/proc/$esc/comm" 2>/dev/null) == sleep ]]; then
  kill -KILL "$esc"
  if scontrol show config | grep -q 'proctrack/cgroup'; then
    bad "escaped grandchild killed at step end" "it survived"
  else
    info "an escaped (setsid) grandchild outlives its step under proctrack/linuxproc"
  fi
else
  ok "escaped (setsid) grandchild killed at step end"
fi

echo "selftest: $pass passed, $fail failed in ${SECONDS} s"
((fail == 0))
