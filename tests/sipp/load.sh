#!/usr/bin/env bash
# Live load test: `switchboard serve` (release build) with 200 auto-answering agents (one SIPp
# answering for all of them) and a SIPp trunk placing calls at increasing rates, each rate for
# DURATION_S seconds. For each rate it prints the calls placed, failed and the p50/p99 setup
# time (INVITE sent → 200 OK received, measured by the trunk SIPp). Everything runs on
# 127.0.0.1 and stops by itself.
#
#   tests/sipp/load.sh                  # rates 100 200 400 700 1000, 60 s each
#   RATES="50 100" DURATION_S=10 tests/sipp/load.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RATES=${RATES:-"100 200 400 700 1000"}
DURATION_S=${DURATION_S:-60}
TALK_MS=${TALK_MS:-100}
SIP_PORT=${SIP_PORT:-35060}
HTTP_PORT=${HTTP_PORT:-38080}
AGENT_PORT=${AGENT_PORT:-35070}
WORK=$(mktemp -d)
command -v sipp >/dev/null || { echo "sipp missing: apt-get install -y sip-tester" >&2; exit 1; }
cargo build --release --quiet --bin switchboard
BINARY=target/release/switchboard

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BINARY" serve tests/sipp/load.toml --sip 127.0.0.1:$SIP_PORT --http 127.0.0.1:$HTTP_PORT \
    --data "$WORK/data" 2>"$WORK/server.log" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do curl -sf http://127.0.0.1:$HTTP_PORT/health >/dev/null && break; sleep 0.1; done

(cd "$WORK" && exec sipp -sf "$OLDPWD/tests/sipp/agent_answer.xml" -i 127.0.0.1 -p $AGENT_PORT \
    -nostdin -max_socket 4096 >/dev/null 2>&1) &
PIDS+=("$!")
{ echo SEQUENTIAL; for n in $(seq 200); do echo "load-$n;load-password;"; done; } > "$WORK/agents.csv"
(cd "$WORK" && sipp 127.0.0.1:$SIP_PORT -sf "$OLDPWD/tests/sipp/register_many.xml" \
    -inf agents.csv -key contact_port $AGENT_PORT -i 127.0.0.1 -p $((AGENT_PORT + 1)) \
    -m 200 -r 200 -nostdin -timeout 20 -timeout_error >/dev/null 2>&1)
echo "registered agents: $(curl -s http://127.0.0.1:$HTTP_PORT/health)"

printf '%8s %8s %8s %8s %10s %10s\n' rate placed ok failed p50_ms p99_ms
for RATE in $RATES; do
    CALLS=$((RATE * DURATION_S))
    RUN="$WORK/rate-$RATE"
    mkdir -p "$RUN"
    set +e
    (cd "$RUN" && timeout $((DURATION_S + 60)) sipp 127.0.0.1:$SIP_PORT \
        -sf "$OLDPWD/tests/sipp/caller.xml" -s sales -d "$TALK_MS" -i 127.0.0.1 -p $((AGENT_PORT + 2)) \
        -r "$RATE" -m "$CALLS" -l $((RATE * 10)) -nostdin -timeout $((DURATION_S + 40)) \
        -trace_stat -trace_rtt -rtt_freq 1 -trace_screen -max_socket 4096 >/dev/null 2>&1)
    set -e
    SCREEN=$(ls "$RUN"/*_screen.log 2>/dev/null | head -1)
    OK=$(grep -m1 "Successful call" "$SCREEN" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
    FAILED=$(grep -m1 "Failed call" "$SCREEN" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
    # The rtt file: one line per call, the setup time in ms in the second column.
    RTT=$(ls "$RUN"/*_rtt.csv 2>/dev/null | head -1)
    read -r P50 P99 < <(tail -n +2 "$RTT" | awk -F';' '{print $2}' | sort -g | \
        awk '{v[NR]=$1} END {if (NR==0) {print "- -"} else {print v[int(NR*0.50)+(NR*0.50>int(NR*0.50))], v[int(NR*0.99)+(NR*0.99>int(NR*0.99))]}}')
    printf '%8s %8s %8s %8s %10s %10s\n' "$RATE" "$CALLS" "${OK:-?}" "${FAILED:-?}" "$P50" "$P99"
done
kill -TERM "$SERVER"; wait "$SERVER" || true
echo "server log and SIPp files: $WORK"
