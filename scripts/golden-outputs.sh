#!/usr/bin/env bash
# Runs every bundled scenario (and the cost, sweep, plan, compare and check commands on them)
# with fixed seeds into one folder, so that a refactoring can be checked to leave every output
# byte-identical: run it before and after, then `diff -r BEFORE AFTER`. summary.json's wall_s
# (the run's wall-clock time) is replaced by 0 so that it does not count as a difference.
#
#   scripts/golden-outputs.sh target/release/switchboard out/golden-before
set -euo pipefail
switchboard=$(realpath "$1")
rm -rf "$2"
mkdir -p "$2"
out=$(realpath "$2")
cd "$(dirname "$0")/.."

normalise_wall() {
    find "$1" -name summary.json -exec sed -i -E 's/"wall_s": [0-9.e+-]+/"wall_s": 0/' {} +
}

sim() {
    local name=$1
    shift
    "$switchboard" sim "scenarios/$name.toml" --quiet --threads 2 --out "$out/sim/$name" "$@" \
        >"$out/sim/$name.stdout"
}
mkdir -p "$out/sim"
for name in bank-failover bank-failover-active-standby follow-the-sun mmc plan-verify \
    retail-center smb-saas; do
    sim "$name" --replications 3
done
sim large-mmc --duration 2h
sim singles-day --duration 1h --replications 1
"$switchboard" sim scenarios/mmc.toml --replications 3 --json --quiet --threads 2 \
    | sed -E 's/"wall_s": [0-9.e+-]+/"wall_s": 0/' >"$out/sim/mmc.json"

mkdir -p "$out/cost"
"$switchboard" cost scenarios/usage/double-11-year.toml --exchange-rate USD_CNY=7.1 \
    --out "$out/cost/double-11" >"$out/cost/double-11.stdout"
"$switchboard" cost scenarios/usage/flat-small-shop.toml --currency USD \
    --exchange-rate USD_CNY=7.1 --json >"$out/cost/flat-small-shop.json"
"$switchboard" cost scenarios/smb-saas.toml --replications 2 --threads 2 \
    --exchange-rate USD_CNY=7.1 --out "$out/cost/smb-saas" >"$out/cost/smb-saas.stdout"
cp -r "$out/sim/smb-saas" "$out/cost/smb-folder"
"$switchboard" cost "$out/cost/smb-folder" --exchange-rate USD_CNY=7.1 \
    --out "$out/cost/smb-folder" >"$out/cost/smb-folder.stdout"

mkdir -p "$out/sweep"
"$switchboard" sweep scenarios/sweep-agents.toml --replications 2 --threads 2 --quiet \
    --out "$out/sweep/agents" >"$out/sweep/agents.stdout"

mkdir -p "$out/plan"
"$switchboard" plan staff scenarios/forecast-day.csv --aht 3m --sl 80/20 --patience 1m \
    --shrinkage 30% --out "$out/plan/forecast.csv" >"$out/plan/forecast.stdout"
"$switchboard" plan staff scenarios/plan-verify.toml --sl 80/20 --verify --replications 4 \
    --json >"$out/plan/verify.json"
"$switchboard" plan staff scenarios/plan-verify.toml --sl 80/20 --verify --replications 4 \
    >"$out/plan/verify.stdout"

mkdir -p "$out/compare"
"$switchboard" compare scenarios/bank-failover-active-standby.toml scenarios/bank-failover.toml \
    --replications 3 --threads 2 --out "$out/compare/bank" >"$out/compare/bank.stdout"
"$switchboard" chaos scenarios/bank-failover.toml --runs 4 --threads 2 >"$out/compare/chaos.stdout"

mkdir -p "$out/check"
for file in scenarios/*.toml; do
    "$switchboard" check "$file" >"$out/check/$(basename "$file").stdout" 2>&1 || true
done

"$switchboard" report "$out/sim/bank-failover" >/dev/null

normalise_wall "$out"
# Commands print the folder they wrote; the folder's own name is not a difference.
find "$out" -name '*.stdout' -exec sed -i "s#$out#OUT#g" {} +
echo "outputs in $out"
