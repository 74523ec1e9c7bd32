#!/usr/bin/env bash
# The recovery point of asynchronous callback replication, measured live: the two sites of
# tests/live_failover.rs with `[live.failover] replication = "async"`, REQUESTS callback
# requests (150 by default) at RATE a second (50) made at north beside the carrier's 10 calls a
# second, north's gauges `switchboard_callbacks_unreplicated` and `…_oldest_ms` read every
# 20 ms meanwhile; then `kill -9` of north and the count south takes over from etcd. Prints the
# median and peak of the gauge, the oldest age seen and the requests lost. Needs root,
# Kamailio, SIPp and etcd; see docs/failover.md, "Replicated callback requests".
#
#   scripts/failover-rpo.sh
#   REQUESTS=300 RATE=100 scripts/failover-rpo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export FAILOVER_RPO_REQUESTS=${REQUESTS:-150}
export FAILOVER_RPO_RATE=${RATE:-50}
exec cargo test --test live_failover -- --ignored --exact asynchronous_recovery_point_under_load --nocapture --test-threads 1
