#!/usr/bin/env bash
# Prints one digest line per result file of every bundled scenario (summary.json without its
# wall_s, intervals.csv, every histogram), for fixed seeds, plus the figure digest of one
# replication of each: a change meant only to make the engine or the simulator faster must
# leave every line unchanged. Usage: scripts/results-digest.sh [BINARY_DIR] > digest.txt
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run() { # name, scenario, extra arguments
    local name="$1" scenario="$2"
    shift 2
    "$bin/switchboard" sim "$scenario" --quiet --threads 2 --out "$work/$name" "$@" >/dev/null
    (
        cd "$work/$name"
        sed -E 's/"wall_s": *[0-9.e+-]+/"wall_s": 0/' summary.json | sha256sum | sed "s|-|$name/summary.json|"
        for file in intervals.csv $(find histograms -type f | sort); do
            sha256sum "$file" | sed "s|  |  $name/|"
        done
    )
}
run mmc scenarios/mmc.toml --replications 8
run retail-center scenarios/retail-center.toml --replications 4
run follow-the-sun scenarios/follow-the-sun.toml --replications 2
run smb-saas scenarios/smb-saas.toml --replications 3
run bank-failover scenarios/bank-failover.toml --replications 3
run bank-failover-active-standby scenarios/bank-failover-active-standby.toml --replications 3
run plan-verify scenarios/plan-verify.toml --replications 4
run large-mmc scenarios/large-mmc.toml --duration 10h
run singles-day scenarios/singles-day.toml --duration 3h --replications 2
for scenario in mmc retail-center follow-the-sun smb-saas bank-failover \
    bank-failover-active-standby plan-verify; do
    echo "$scenario: $("$bin/examples/replication_figures" "scenarios/$scenario.toml")"
done
echo "large-mmc: $("$bin/examples/replication_figures" scenarios/large-mmc.toml)"
if [ "${FULL_DAY:-1}" = 1 ]; then
    echo "singles-day: $("$bin/examples/replication_figures" scenarios/singles-day.toml)"
fi
