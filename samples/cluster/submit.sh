#!/bin/bash
# Queues an eval as SHARDS array tasks and a merge that runs once all of them have succeeded.
#   DATA=/data/imagenet MODEL=deit_small.safetensors SHARDS=16 samples/cluster/submit.sh
# Prints the two job ids; the result lands in $OUT/merged.json, merged.txt and tradeoff.svg.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARDS=${SHARDS:-8}
export OUT=${OUT:-tokenscope-shards}
mkdir -p "$OUT"
array=$(sbatch --parsable --array=1-"$SHARDS" --output="$OUT/shard-%a.log" "$here/shard.sbatch")
merge=$(sbatch --parsable --dependency=afterok:"${array%%;*}" --output="$OUT/merge.log" "$here/merge.sbatch")
echo "$array $merge"
