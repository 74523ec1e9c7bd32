#!/usr/bin/env bash
# Live two-site failover, measured: two `switchboard serve` sites in network namespaces behind
# Kamailio's dispatcher (OPTIONS every 1 s, down after 3 misses), SIPp callers at 10 calls/s,
# and KILLS kills with `kill -9` (20 by default), alternating between the sites, each followed
# by a restart. Prints one line per kill (RTO, time to the first answer, calls failed during
# detection, lost waiting, dropped) and then the median and worst RTO. The invariants of
# tests/live_failover.rs are checked at the end (no call answered twice, one CDR per call that
# ended normally). Needs root, Kamailio and SIPp; see docs/failover.md, "Live failover".
#
#   scripts/failover-live.sh               # 20 kills, about 7 minutes
#   KILLS=4 scripts/failover-live.sh
#   FAILOVER_FOLDER=/tmp/failover scripts/failover-live.sh   # keep the logs and CDRs there
set -euo pipefail
cd "$(dirname "$0")/.."
export FAILOVER_KILLS=${KILLS:-20}
exec cargo test --test live_failover -- --ignored --exact kills_in_a_row --nocapture --test-threads 1
