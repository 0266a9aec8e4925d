#!/bin/bash
# samples/cluster/parallel.sh end to end (CI runs this): 3 shards side by side under GNU parallel, their merge, and
# an unsharded run of the same eval, compared on every count-derived figure (timings aside).
#   TOKENSCOPE=.build/release/tokenscope bash Tests/Distributed/parallel_local.sh [DATA]
# DATA defaults to Fashion-MNIST where it is installed, else to 300 random 28x28 images written here as IDX files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export TOKENSCOPE=${TOKENSCOPE:-$root/.build/release/tokenscope}
work=$(mktemp -d /tmp/tokenscope-parallel.XXXXXX)
trap 'rm -rf "$work"' EXIT
DATA=${1:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ]; then
  DATA=$work/data
  mkdir -p "$DATA"
  # IDX: magic, count, rows, cols (big-endian), then the bytes.
  { printf '\x00\x00\x08\x03\x00\x00\x01\x2c\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((300 * 784)) /dev/urandom; } > "$DATA/t10k-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01\x00\x00\x01\x2c'; head -c 300 /dev/urandom | od -An -v -tu1 | tr -s ' ' '\n' | grep . | while read -r b; do printf "\\x$(printf %02x $((b % 10)))"; done; } > "$DATA/t10k-labels-idx1-ubyte"
fi
export DATA OUT=$work/out SHARDS=3 THREADS=1
export EVAL_ARGS="--limit 300 --method none --method tome --method evit --method dvt"
"$root/samples/cluster/parallel.sh"
# shellcheck disable=SC2086
"$TOKENSCOPE" eval --data "$DATA" $EVAL_ARGS --threads 2 --format json > "$work/whole.json"
python3 - "$work/whole.json" "$OUT/merged.json" <<'PY'
import json, sys
whole, merged = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["method", "images", "correct", "macs_sum", "accuracy", "macs_mean", "exit_shares", "exit_counts"]
bad = sum(any(a.get(k) != b.get(k) for k in keys) for a, b in zip(whole["results"], merged["results"]))
bad += len(whole["results"]) != len(merged["results"])
print(f"parallel: {len(merged['merged'])} shards, {merged['selected']} images, {len(merged['results'])} methods: "
      + ("merged == unsharded" if not bad else f"{bad} differences"))
sys.exit(1 if bad else 0)
PY
