#!/usr/bin/env bash
# The cluster example of docs/cluster.md, run for real: a single-node Slurm runs a sweep as an
# array job of three shards and a dependent merge job, with the very sbatch files the guide
# shows, and the merged folder must equal an unsharded run of the same sweep byte for byte
# (but the wall-clock `wall_s` of each point's summary.json). .ci/run calls it.
#
#   scripts/cluster/slurm-sweep-check.sh target/debug/switchboard
set -euo pipefail
switchboard=$(realpath "$1")
cd "$(dirname "$0")/../.."

started_here=false
if ! sinfo --noheader >/dev/null 2>&1; then
    bash scripts/cluster/start-slurm.sh
    started_here=true
fi
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    if $started_here; then
        bash scripts/cluster/stop-slurm.sh
    fi
}
trap cleanup EXIT

export SWEEP=scenarios/sweep-agents.toml SHARDS=3 OUT="$work/sharded" SWITCHBOARD="$switchboard"
export REPLICATIONS=2
array=$(sbatch --parsable --array=0-$((SHARDS - 1)) --output="$work/shard-%a.log" \
    --export=ALL scripts/cluster/sweep.sbatch)
if ! timeout 300 sbatch --wait --dependency="afterok:${array}" --output="$work/merge.log" \
    --export=ALL scripts/cluster/merge.sbatch >/dev/null; then
    echo "the Slurm sweep failed; its logs:" >&2
    tail -n 20 "$work"/*.log >&2 || true
    exit 1
fi
"$switchboard" sweep "$SWEEP" --replications "$REPLICATIONS" --threads 2 --quiet \
    --out "$work/whole"
for folder in "$work/whole" "$OUT/merged"; do
    find "$folder" -name summary.json -exec sed -i -E 's/"wall_s": [0-9.e+-]+/"wall_s": 0/' {} +
done
if ! diff -r "$work/whole" "$OUT/merged"; then
    echo "the merged Slurm shards differ from the unsharded sweep" >&2
    exit 1
fi
points=$(find "$OUT/merged/points" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "slurm: array job ${array} ran ${SHARDS} shards of ${points} points; merged = unsharded"
