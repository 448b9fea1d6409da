#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1 for the Slurm executor's tests
# (SPEC §8); `make slurm-up` runs it, and CI runs it before the test stages.
#
#   bash tests/slurm/up.sh
#   export SLURM_CONF=/tmp/corun-slurm/slurm.conf    # then srun, squeue... work
#   bash tests/slurm/down.sh
#
# Needs root on Debian 12 and no systemd: the daemons are started by hand.
# slurmctld, slurmd, slurm-client and munge are installed when missing.
# Everything the cluster writes (configuration, munge key and socket, state,
# logs, pid files) stays in SLURM_WORK, and it uses a munged of its own, so
# it neither needs nor disturbs a munged the machine may already run.
#
# Running it again is fine: when the cluster of SLURM_WORK is up with the
# same configuration, it only checks that it answers; when a knob changed,
# it stops the old one (down.sh) and starts anew.
#
# Environment:
#   SLURM_WORK=DIR      where the cluster lives (default /tmp/corun-slurm)
#   SLOTS=N             job slots the node declares (default 8), more than
#                       the cores on purpose, see below
#   PROCTRACK=linuxproc default; children that leave the task's process
#                       tree (setsid, double fork) outlive the step
#   PROCTRACK=cgroup    kills those too when a step ends (needs cgroup v1,
#                       whose freezer it uses)
#   INACTIVE_LIMIT=S    seconds before slurmctld ends a job whose srun is
#                       gone without a word (default 30; 0 means never)
#   SLURM_PORT=N        slurmctld's port; slurmd takes the next (default 6817)
set -euo pipefail

WORK=${SLURM_WORK:-/tmp/corun-slurm}
SLOTS=${SLOTS:-8}
PROCTRACK=${PROCTRACK:-linuxproc}
INACTIVE_LIMIT=${INACTIVE_LIMIT:-30}
PORT=${SLURM_PORT:-6817}
here=$(cd "$(dirname "$0")" && pwd)

case $WORK in /*) ;; *) echo "up.sh: SLURM_WORK must be an absolute path" >&2; exit 2 ;; esac
for n in "$SLOTS" "$INACTIVE_LIMIT" "$PORT"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "up.sh: '$n' is not a number" >&2; exit 2; }
done
case $PROCTRACK in linuxproc | cgroup) ;; *)
  echo "up.sh: PROCTRACK must be linuxproc or cgroup, not '$PROCTRACK'" >&2; exit 2 ;;
esac
if [[ $(id -u) != 0 ]]; then
  echo "up.sh: needs root (the daemons run as root)" >&2; exit 2
fi
mkdir -p "$WORK"/{state,spool,munge}
# munged wants its socket's folder searchable by all; it holds the key too,
# so it is not listable.
chmod 0711 "$WORK/munge"

# Every daemon started here carries this variable in its environment, and so
# do the slurmstepd processes slurmd starts: down.sh finds by it whatever the
# cluster left behind, and nothing else.
MARK="CORUN_SLURM_WORK=$WORK"

# Packages. The Debian image's policy-rc.d keeps their postinst scripts from
# starting services; the lock timeout waits for another apt run instead of
# failing on it.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v srun >/dev/null || ! command -v munged >/dev/null; then
  echo "up.sh: installing slurmctld, slurmd, slurm-client, munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 slurmctld slurmd slurm-client munge >/dev/null
fi

# The configuration. Clients find it through SLURM_CONF, the daemons via -f.
# Without RealMemory the node has 1 MB and every --mem above it is refused;
# 10% is left over so that slurmd does not drain the node for lack of it.
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
# Tasks are not bound to cores (task/none, even with cgroups): the node
# declares more CPUs than there are, and binding to those fails.
if [[ $PROCTRACK == cgroup ]]; then
  proctrack=proctrack/cgroup
else
  proctrack=proctrack/linuxproc
fi
cat >"$WORK/slurm.conf.new" <<CONF
# Written by tests/slurm/up.sh; rewritten on each run.
ClusterName=corun
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge/munge.socket
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=$proctrack
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$WORK/jobcomp.log
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
# A job that cannot start when submitted waits for slurmctld's scheduler
# pass, about once a second; declaring more slots than cores lets many short
# jobs start at submit. The node trusts this file, not its hardware.
SlurmdParameters=config_overrides
# A job whose srun vanished together with srun's helper (kill -9 of srun's
# process group) holds its slot until this many seconds pass; 0 is forever.
InactiveLimit=$INACTIVE_LIMIT
# Refuse at submit what can never run (more CPUs than the node has) instead
# of leaving it pending forever. A real cluster may not set this.
EnforcePartLimits=ALL
KillWait=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$SLOTS RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
if [[ $PROCTRACK == cgroup ]]; then
  echo 'CgroupPlugin=autodetect' >"$WORK/cgroup.conf.new"
fi

# alive PIDFILE NAME: the process of PIDFILE runs and is NAME (a stale pid
# file may name a pid reused since; an exited daemon is a zombie until
# PID 1 reaps it, so the state is tested rather than kill -0).
alive() {
  local pid stat
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  { stat=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
  [[ $stat == *"($2) "[^Z]* ]]
}
export SLURM_CONF="$WORK/slurm.conf"

# Already up with this very configuration: only check that it answers.
if alive "$WORK/slurmctld.pid" slurmctld && alive "$WORK/slurmd.pid" slurmd &&
   cmp -s "$WORK/slurm.conf.new" "$WORK/slurm.conf" &&
   { [[ $PROCTRACK != cgroup ]] || cmp -s "$WORK/cgroup.conf.new" "$WORK/cgroup.conf"; } &&
   timeout 30 srun -n1 --input=none true; then
  rm -f "$WORK/slurm.conf.new" "$WORK/cgroup.conf.new"
  echo "slurm already up: SLURM_CONF=$SLURM_CONF"
  exit 0
fi
# Otherwise whatever runs of an earlier cluster here goes first, and what
# this run starts goes again if it fails, so that no half cluster stays.
SLURM_WORK=$WORK bash "$here/down.sh"
trap 'if (($? != 0)); then SLURM_WORK=$WORK bash "$here/down.sh"; fi' EXIT
mv "$WORK/slurm.conf.new" "$WORK/slurm.conf"
if [[ $PROCTRACK == cgroup ]]; then
  mv "$WORK/cgroup.conf.new" "$WORK/cgroup.conf"
else
  rm -f "$WORK/cgroup.conf"
fi

# Another cluster (another SLURM_WORK, or the machine's own) on these ports
# would take our commands; better to say so than to wait for a timeout.
for p in "$PORT" $((PORT + 1)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "up.sh: port $p is taken; stop that Slurm or set SLURM_PORT" >&2; exit 1
  fi
done

# munge authenticates every Slurm message. A key made here and a socket of
# our own; munged forks and writes its pid file once it is ready.
[[ -s $WORK/munge/munge.key ]] || mungekey --create --keyfile="$WORK/munge/munge.key"
chmod 0600 "$WORK/munge/munge.key"
env "$MARK" /usr/sbin/munged --socket="$WORK/munge/munge.socket" \
  --key-file="$WORK/munge/munge.key" --pid-file="$WORK/munged.pid" \
  --log-file="$WORK/munged.log" --seed-file="$WORK/munge/munge.seed"
munge -S "$WORK/munge/munge.socket" -n | unmunge -S "$WORK/munge/munge.socket" >/dev/null

# The daemons fork into the background and write the pid files named above.
# slurmctld starts with -c, from no saved state: jobs a killed controller
# saved as running would otherwise come back and hold their slots.
env "$MARK" /usr/sbin/slurmctld -c -f "$SLURM_CONF"
env "$MARK" /usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
state=
for _ in $(seq 100); do
  state=$(sinfo -h -o %T 2>/dev/null) || true
  [[ $state == idle ]] && break
  sleep 0.2
done
if [[ $state != idle ]]; then
  echo "up.sh: the node is '${state:-not answering}' after 20 s" >&2
  tail -n 20 "$WORK/slurmctld.log" "$WORK/slurmd.log" >&2
  exit 1
fi
# One real job. Bounded: srun waits forever for a node that never comes.
timeout 30 srun -n1 --input=none true
echo "slurm up: SLURM_CONF=$SLURM_CONF ($SLOTS slots, proctrack/$PROCTRACK)"
