#!/bin/bash
# A workstation without a scheduler: GNU parallel runs the shards side by side, then the merge. The one-liner:
#   parallel -j4 'tokenscope eval --data DATA --sweep --shard {}/4 --threads 2 --format json --journal s{}.sqlite > s{}.json' ::: 1 2 3 4 && tokenscope eval --merge s?.json
# This script is that line with the settings of shard.sbatch (DATA, MODEL, OUT, EVAL_ARGS, TOKENSCOPE) plus
# SHARDS and THREADS per shard.
set -euo pipefail
: "${DATA:?set DATA to the dataset folder}"
export DATA MODEL EVAL_ARGS
export OUT=${OUT:-tokenscope-shards} TOKENSCOPE=${TOKENSCOPE:-tokenscope} THREADS=${THREADS:-1}
SHARDS=${SHARDS:-4}
mkdir -p "$OUT"
# shellcheck disable=SC2016
parallel --halt now,fail=1 -j "$SHARDS" \
  '"$TOKENSCOPE" eval --data "$DATA" ${MODEL:+--model "$MODEL"} ${EVAL_ARGS:---sweep} --shard {}/'"$SHARDS"' --threads "$THREADS" --format json --journal "$OUT/shard-{}.sqlite" > "$OUT/shard-{}.json"' \
  ::: $(seq 1 "$SHARDS")
"$TOKENSCOPE" eval --merge "$OUT"/shard-*.json --format json > "$OUT/merged.json"
"$TOKENSCOPE" eval --merge "$OUT"/shard-*.json --format text
