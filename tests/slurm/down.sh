#!/usr/bin/env bash
# Stop the cluster tests/slurm/up.sh started in SLURM_WORK (default
# /tmp/corun-slurm), and only that: its jobs, slurmd, slurmctld, its munged.
# Safe to run when nothing is up; the folder is kept for its logs.
set -uo pipefail

WORK=${SLURM_WORK:-/tmp/corun-slurm}
MARK="CORUN_SLURM_WORK=$WORK"
export SLURM_CONF="$WORK/slurm.conf"

# alive PID: the process runs (an exited daemon stays a zombie until PID 1
# reaps it, and kill -0 succeeds on a zombie).
alive() {
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  [[ $stat != *") Z "* ]]
}

# marked: the pids whose environment holds up.sh's mark, that is the daemons
# of this cluster and the slurmstepd processes its slurmd started.
marked() {
  local env
  for env in /proc/[0-9]*/environ; do
    if tr '\0' '\n' 2>/dev/null <"$env" | grep -qxF "$MARK"; then
      env=${env#/proc/}; echo "${env%/environ}"
    fi
  done
}

# Stopping slurmd leaves running steps alone: slurmstepd, the tasks and
# their sruns would live on. So every job is cancelled first, and the queue
# watched until it is empty (TERM, then KILL KillWait=2 s later).
pid=$(cat "$WORK/slurmctld.pid" 2>/dev/null)
if [[ -n $pid && -e $SLURM_CONF ]] && alive "$pid"; then
  mapfile -t jobs < <(timeout 10 squeue -h -o %i 2>/dev/null)
  if ((${#jobs[@]} > 0)); then
    timeout 10 scancel "${jobs[@]}" 2>/dev/null
    for _ in $(seq 50); do
      [[ -z $(timeout 5 squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
    left=$(timeout 5 squeue -h -o '%i %T' 2>/dev/null | tr '\n' ' ')
    [[ -n $left ]] && echo "down.sh: jobs still queued after 10 s: $left" >&2
  fi
fi

# stop GRACE PID...: TERM, up to GRACE seconds to exit, then KILL.
stop() {
  local grace=$1 pid left i
  shift
  kill -TERM "$@" 2>/dev/null
  for ((i = 0; i < grace * 5; i++)); do
    left=()
    for pid; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return
    set -- "${left[@]}"
    sleep 0.2
  done
  for pid; do
    alive "$pid" || continue
    echo "down.sh: pid $pid still alive after $grace s, SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
  done
}

# descendants PID...: the given pids and all their descendants, from /proc.
descendants() {
  local -A kids=()
  local stat pid ppid more
  for stat in /proc/[0-9]*/stat; do
    { stat=$(<"$stat"); } 2>/dev/null || continue
    pid=${stat%% *}
    stat=${stat##*) }   # what follows the command name, which may hold spaces
    stat=${stat#* }
    ppid=${stat%% *}
    kids[$ppid]+=" $pid"
  done
  local todo=("$@")
  while ((${#todo[@]} > 0)); do
    pid=${todo[0]}
    todo=("${todo[@]:1}")
    echo "$pid"
    read -ra more <<<"${kids[$pid]:-}"
    todo+=("${more[@]}")
  done
}

# The daemons by their pid files; a pid file outlives its daemon, so the
# mark tells whether the pid is still ours.
pids=()
for f in slurmd slurmctld munged; do
  pid=$(cat "$WORK/$f.pid" 2>/dev/null) || continue
  tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "$MARK" && pids+=("$pid")
done
((${#pids[@]} > 0)) && stop 10 "${pids[@]}"
# Then whatever else carries the mark, with its tasks: a slurmstepd whose job
# could not be cancelled (a dead slurmctld), a daemon whose pid file is gone.
mapfile -t pids < <(marked)
if ((${#pids[@]} > 0)); then
  for pid in "${pids[@]}"; do
    echo "down.sh: stopping pid $pid left by the cluster: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" >&2
  done
  mapfile -t tree < <(descendants "${pids[@]}")
  stop 2 "${tree[@]}"
fi
rm -f "$WORK"/{slurmd,slurmctld,munged}.pid

# proctrack/cgroup (cgroup v1) leaves empty slurm_localhost folders behind;
# rmdir takes only empty ones, so another cluster's stay.
if [[ -e $WORK/cgroup.conf ]]; then
  for d in /sys/fs/cgroup/*/slurm_localhost; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
fi
exit 0
