#!/bin/bash
# A real Slurm on this machine: installs Debian's slurm-wlm and munge, writes a one-node slurm.conf for localhost,
# starts munged, slurmctld and slurmd, submits samples/cluster's array (3 shards, one --shard auto each) and its
# dependent merge, waits, and compares the merged result with an unsharded run of the same eval. Stops the daemons
# it started, whatever happens. Run as root:
#   bash Tests/Distributed/slurm_local.sh [DATA] [EVAL_ARGS]
# DATA defaults to /usr/share/datasets/fashion-mnist, EVAL_ARGS to "--limit 600 --method none --method tome
# --method evit --method dvt". Exit 0 only when every count-derived figure matches (timings aside).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${1:-/usr/share/datasets/fashion-mnist}
export EVAL_ARGS=${2:-"--limit 600 --method none --method tome --method evit --method dvt"}
SHARDS=3
work=$(mktemp -d /tmp/tokenscope-slurm.XXXXXX)
export OUT=$work/out
export DATA

say() { echo "[slurm_local] $*"; }

missing=()
for pkg in slurm-wlm munge; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# TOKENSCOPE: a tokenscope binary to use as it is; default: this checkout, built for release.
if [ -z "${TOKENSCOPE:-}" ]; then
  say "building tokenscope (release)"
  (cd "$root" && swift build -c release 2>&1 | tail -1)
  TOKENSCOPE=$root/.build/release/tokenscope
fi
export TOKENSCOPE

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024) - 512 }' /proc/meminfo)
mkdir -p "$work"/{state,spool,log,munge} "$OUT"
conf=$work/slurm.conf
# linuxproc and task/none: no cgroups to rely on in a container; cons_tres with CR_CPU lets the shards share the node.
cat > "$conf" <<CONF
ClusterName=tokenscope-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmdSpoolDir=$work/spool
StateSaveLocation=$work/state
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf

munge_pid=""
stop() {
  say "stopping the daemons"
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/slurmctld.pid" ] && kill "$(cat "$work/slurmctld.pid")" 2>/dev/null || true
  [ -n "$munge_pid" ] && kill "$munge_pid" 2>/dev/null || true
  sleep 1
}
trap stop EXIT

# munge: a key of our own and a socket under $work, so no system munged is touched.
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
munge_pid=$(cat "$work/munge/munged.pid")
echo "AuthInfo=socket=$work/munge/munge.socket" >> "$conf"
say "munged $munge_pid"

slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  [ "$state" = "idle" ] && break
  sleep 1
done
say "node: $(sinfo -h -N -o '%N %t %c CPUs')"
[ "$state" = "idle" ] || { say "the node did not come up"; tail -20 "$work/log/slurmd.log" "$work/log/slurmctld.log"; exit 1; }

say "submitting $SHARDS shards and the merge: eval $EVAL_ARGS on $DATA"
ids=$(SHARDS=$SHARDS "$root/samples/cluster/submit.sh")
array=${ids%% *}
merge=${ids##* }
say "array job $array, merge job $merge (afterok:$array)"
for _ in $(seq 1200); do
  left=$(squeue -h -j "$array,$merge" 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] && break
  sleep 1
done
scontrol show job "$merge" 2>/dev/null | grep -o "JobState=[A-Z]*" || true
for f in "$OUT"/shard-*.log "$OUT"/merge.log; do [ -s "$f" ] && { say "$f:"; cat "$f"; }; done
[ -s "$OUT/merged.json" ] || { say "no merged result"; tail -20 "$work/log/slurmctld.log"; exit 1; }
say "shards: $(ls "$OUT"/shard-*.json | xargs -n1 basename | tr '\n' ' ')"
say "merged (Slurm):"
cat "$OUT/merged.txt"

say "unsharded run for comparison"
# shellcheck disable=SC2086
"$TOKENSCOPE" eval --data "$DATA" $EVAL_ARGS --format json > "$work/whole.json" 2>/dev/null
python3 - "$work/whole.json" "$OUT/merged.json" <<'PY'
import json, sys
whole, merged = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["method", "images", "correct", "macs_sum", "accuracy", "macs_mean", "exit_shares", "exit_counts"]
bad = 0
for a, b in zip(whole["results"], merged["results"]):
    diff = [k for k in keys if a.get(k) != b.get(k)]
    print(("same " if not diff else "DIFFERENT ") + a["method"] + (" " + ", ".join(diff) if diff else ""))
    bad += bool(diff)
if len(whole["results"]) != len(merged["results"]) or whole["selected"] != merged["selected"]:
    bad += 1
print(f"{len(merged['merged'])} shards, {merged['selected']} images: " + ("merged == unsharded" if not bad else f"{bad} differences"))
sys.exit(1 if bad else 0)
PY
