#!/usr/bin/env bash
# Live load test: `switchboard serve` (release build, default [live] settings) with AGENTS
# auto-answering agents (one SIPp answering for all of them, each registered with digest
# credentials) and a SIPp trunk placing calls at each rate of RATES for DURATION_S seconds,
# RUNS times in a row. After each run it waits for the transaction table to empty (64·T1 =
# 32 s with the default T1) and prints the calls placed, answered and failed, the p50/p99
# setup time (INVITE sent → 200 OK received, measured by the trunk SIPp), the server's RSS
# before the run and after the table emptied, and the transactions left; then how many inputs
# kept the server's event loop busy for more than 5 ms and 50 ms. Everything runs on
# 127.0.0.1 and stops by itself.
#
#   tests/sipp/load.sh                                   # 2,000 calls/s, 60 s, twice
#   RATES="100 1000" DURATION_S=10 RUNS=1 tests/sipp/load.sh
#   BINARY=target/debug/switchboard RATES=100 DURATION_S=5 SIP_T1=200ms tests/sipp/load.sh
#
# PROFILE=1 runs the server under callgrind (valgrind) and prints the instructions it executed
# per call in each run (the counters are dumped before the run and after the table drained,
# so registration and start-up are left out); only low rates fit:
#
#   PROFILE=1 RATES=20 DURATION_S=10 RUNS=2 AGENTS=20 tests/sipp/load.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RATES=${RATES:-"2000"}
DURATION_S=${DURATION_S:-60}
RUNS=${RUNS:-2}
AGENTS=${AGENTS:-1000}
TALK_MS=${TALK_MS:-100}
SIP_PORT=${SIP_PORT:-35060}
HTTP_PORT=${HTTP_PORT:-38080}
AGENT_PORT=${AGENT_PORT:-35070}
DRAIN_S=${DRAIN_S:-45}
WORK=$(mktemp -d)
command -v sipp >/dev/null || { echo "sipp missing: apt-get install -y sip-tester" >&2; exit 1; }
if [ -z "${BINARY:-}" ]; then
    cargo build --release --quiet --bin switchboard
    BINARY=target/release/switchboard
fi
TOKEN=load-test
health() { curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$HTTP_PORT/health; }
# Inputs the event loop handled, and those it was busy with for longer than 5 ms and 50 ms
# (`switchboard_event_loop_busy_seconds`; counted since the server started).
loop_busy() {
    curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$HTTP_PORT/metrics | awk '
        /^switchboard_event_loop_busy_seconds_bucket\{le="0.005"\}/ {within_5 = $2}
        /^switchboard_event_loop_busy_seconds_bucket\{le="0.05"\}/ {within_50 = $2}
        /^switchboard_event_loop_busy_seconds_count/ {count = $2}
        END {printf "%d %d %d\n", count, count - within_5, count - within_50}'
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# The scenario and its agents' credentials, HA1 = MD5(agent:realm:password).
sed "s/^count = 1000$/count = $AGENTS/" tests/sipp/load.toml > "$WORK/load.toml"
# A shorter T1 (SIP_T1=200ms) makes short runs drain sooner; it goes into the [live] table.
if [ -n "${SIP_T1:-}" ]; then sed -i "s/^\[live\]\$/[live]\nsip_t1 = \"$SIP_T1\"/" "$WORK/load.toml"; fi
{
    echo 'realm = "switchboard"'
    for n in $(seq "$AGENTS"); do
        echo "[agents.load-$n]"
        echo "md5 = \"$(printf '%s' "load-$n:switchboard:load-password" | md5sum | cut -d' ' -f1)\""
    done
} > "$WORK/load-secrets.toml"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

WRAPPER=()
if [ -n "${PROFILE:-}" ]; then
    command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install -y valgrind" >&2; exit 1; }
    WRAPPER=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out")
fi
"${WRAPPER[@]}" "$BINARY" serve "$WORK/load.toml" --sip 127.0.0.1:$SIP_PORT --http 127.0.0.1:$HTTP_PORT \
    --data "$WORK/data" 2>"$WORK/server.log" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 600); do curl -sf http://127.0.0.1:$HTTP_PORT/health >/dev/null && break; sleep 0.1; done
# Instructions since the last dump (callgrind zeroes its counters at each dump).
instructions_since_dump() {
    callgrind_control -d "$SERVER" >/dev/null 2>&1
    local latest
    latest=$(ls -t "$WORK"/callgrind.out.* | head -1)
    awk '/^(summary|totals):/ {print $2; exit}' "$latest"
}

(cd "$WORK" && exec sipp -sf "$OLDPWD/tests/sipp/agent_answer.xml" -i 127.0.0.1 -p $AGENT_PORT \
    -nostdin -max_socket 4096 -buff_size 4194304 >/dev/null 2>&1) &
PIDS+=("$!")
# One SIPp per agent, eight at a time, each from its own port: SIPp answers a digest
# challenge with the -au/-ap of its command line only, so each agent needs its own run.
register_agent() {
    sipp 127.0.0.1:$SIP_PORT -sf tests/sipp/register.xml -s "load-$1" -au "load-$1" \
        -ap load-password -key contact_port $AGENT_PORT -key expires 3600 -i 127.0.0.1 \
        -p $((AGENT_PORT + 100 + $1)) -m 1 -nostdin -timeout 10 -timeout_error \
        -trace_err -error_file "$WORK/register-$1.log" >/dev/null 2>&1 || true
}
export -f register_agent
export SIP_PORT AGENT_PORT WORK
seq "$AGENTS" | xargs -P 8 -I{} bash -c 'register_agent {}'
REGISTERED=$(health | sed -n 's/.*"registered_agents":\([0-9]*\).*/\1/p')
echo "registered agents: $REGISTERED of $AGENTS"
[ "$REGISTERED" = "$AGENTS" ] || { echo "not every agent registered; see $WORK" >&2; exit 1; }

printf '%6s %4s %8s %8s %8s %7s %7s %10s %10s %12s %s\n' \
    rate run placed ok failed p50_ms p99_ms rss_before rss_after transactions \
    "${PROFILE:+instructions_per_call}"
for RATE in $RATES; do
  for RUN_NUMBER in $(seq "$RUNS"); do
    CALLS=$((RATE * DURATION_S))
    RUN="$WORK/rate-$RATE-$RUN_NUMBER"
    mkdir -p "$RUN"
    RSS_BEFORE=$(rss_mib "$SERVER")
    read -r INPUTS_BEFORE OVER_5_BEFORE OVER_50_BEFORE < <(loop_busy)
    if [ -n "${PROFILE:-}" ]; then instructions_since_dump >/dev/null; fi
    set +e
    (cd "$RUN" && timeout $((DURATION_S + 60)) sipp 127.0.0.1:$SIP_PORT \
        -sf "$OLDPWD/tests/sipp/caller.xml" -s sales -d "$TALK_MS" -i 127.0.0.1 -p $((AGENT_PORT + 2)) \
        -r "$RATE" -m "$CALLS" -l $((RATE * 10)) -nostdin -timeout $((DURATION_S + 40)) \
        -trace_stat -trace_rtt -rtt_freq 1 -trace_screen -max_socket 4096 -buff_size 4194304 >/dev/null 2>&1)
    set -e
    SCREEN=$(ls "$RUN"/*_screen.log 2>/dev/null | head -1)
    OK=$(grep -m1 "Successful call" "$SCREEN" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
    FAILED=$(grep -m1 "Failed call" "$SCREEN" | awk -F'|' '{gsub(/ /,"",$3); print $3}')
    # The rtt file: one line per call, the setup time in ms in the second column.
    RTT=$(ls "$RUN"/*_rtt.csv 2>/dev/null | head -1)
    read -r P50 P99 < <(tail -n +2 "$RTT" | awk -F';' '{print $2}' | sort -g | \
        awk '{v[NR]=$1} END {if (NR==0) {print "- -"} else {print v[int(NR*0.50)+(NR*0.50>int(NR*0.50))], v[int(NR*0.99)+(NR*0.99>int(NR*0.99))]}}')
    # Wait for the table to empty: every transaction ends 64·T1 after its call.
    LEFT=?
    for _ in $(seq $((DRAIN_S * 2))); do
        LEFT=$(health | sed -n 's/.*"transactions":\([0-9]*\).*/\1/p')
        [ "$LEFT" = 0 ] && break
        sleep 0.5
    done
    PER_CALL=
    if [ -n "${PROFILE:-}" ]; then PER_CALL=$(( $(instructions_since_dump) / CALLS )); fi
    printf '%6s %4s %8s %8s %8s %7s %7s %7s MiB %7s MiB %12s %s\n' "$RATE" "$RUN_NUMBER" "$CALLS" \
        "${OK:-?}" "${FAILED:-?}" "$P50" "$P99" "$RSS_BEFORE" "$(rss_mib "$SERVER")" "$LEFT" "$PER_CALL"
    read -r INPUTS OVER_5 OVER_50 < <(loop_busy)
    echo "  event loop, run $RUN_NUMBER: $((INPUTS - INPUTS_BEFORE)) inputs, $((OVER_5 - OVER_5_BEFORE)) busy > 5 ms, $((OVER_50 - OVER_50_BEFORE)) busy > 50 ms"
  done
done
kill -TERM "$SERVER"; wait "$SERVER" || true
echo "server log and SIPp files: $WORK"
