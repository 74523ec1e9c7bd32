#!/usr/bin/env bash
# Media load test: `switchboard serve` (release build) anchoring CALLS concurrent calls whose
# audio crosses the relay both ways. A SIPp trunk places the calls (CALL_RATE per second) and
# streams a µ-law tone on each (rtp_stream, 50 packets/s); one SIPp answers for every agent
# and echoes each RTP packet back (-rtp_echo), so the switch relays caller → agent and
# agent → caller: 2 × 50 × CALLS packets per second once all calls are up. Each call lasts
# HOLD_S seconds. The script samples the calls in progress, and at the end prints the relay's
# own figures (packets relayed, added latency from the kernel's arrival stamp to the send) and
# the kernel's UDP receive errors during the run. Everything runs on 127.0.0.1 and stops by
# itself.
#
#   tests/sipp/media_load.sh                        # 2000 calls, 200 calls/s, 60 s each
#   CALLS=200 CALL_RATE=100 HOLD_S=20 tests/sipp/media_load.sh
#   REALTIME_PRIORITY=10 tests/sipp/media_load.sh   # media workers SCHED_FIFO at 10 (as root)
set -euo pipefail
cd "$(dirname "$0")/../.."
CALLS=${CALLS:-2000}
CALL_RATE=${CALL_RATE:-200}
HOLD_S=${HOLD_S:-60}
REALTIME_PRIORITY=${REALTIME_PRIORITY:-0}
SIP_PORT=${SIP_PORT:-36060}
HTTP_PORT=${HTTP_PORT:-39080}
AGENT_PORT=${AGENT_PORT:-36070}
ECHO_PORT=${ECHO_PORT:-46000}
WORK=$(mktemp -d)
command -v sipp >/dev/null || { echo "sipp missing: apt-get install -y sip-tester" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox missing: apt-get install -y sox" >&2; exit 1; }
cargo build --release --quiet --bin switchboard
BINARY=${BINARY:-target/release/switchboard}
sox -n -r 8000 -c 1 -e u-law "$WORK/tone-pcmu.wav" synth 2 sine 1000 vol 0.5

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
udp_errors() { awk '/^Udp:/ { if (++n == 2) print $4 + $6 }' /proc/net/snmp; }
# Datagrams the kernel dropped on the switch's own RTP sockets (ports 20000-39999, the
# [live.media] range of media_load.toml): the last column of /proc/net/udp, per socket.
switch_drops() {
    awk 'function hex(text,   value, index_) { value = 0
             for (index_ = 1; index_ <= length(text); index_++)
                 value = value * 16 + index("0123456789ABCDEF", substr(text, index_, 1)) - 1
             return value }
         NR > 1 { split($2, local, ":"); port = hex(local[2]);
                  if (port >= 20000 && port <= 39999) { sockets++; drops += $NF } }
         END { printf "%d %d\n", sockets, drops }' /proc/net/udp
}

# The scenario with this run's scheduling of the media workers (it names no file relative to
# itself, so a copy works; its last table is [live.media]).
SCENARIO="$WORK/media_load.toml"
{ cat tests/sipp/media_load.toml; echo "realtime_priority = $REALTIME_PRIORITY"; } > "$SCENARIO"

ulimit -n 65536 2>/dev/null || true
"$BINARY" serve "$SCENARIO" --sip 127.0.0.1:$SIP_PORT --http 127.0.0.1:$HTTP_PORT \
    --data "$WORK/data" 2>"$WORK/server.log" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do curl -sf http://127.0.0.1:$HTTP_PORT/health >/dev/null && break; sleep 0.1; done

(cd "$WORK" && exec sipp -sf "$OLDPWD/tests/sipp/agent_answer.xml" -i 127.0.0.1 -p $AGENT_PORT \
    -mi 127.0.0.1 -mp $ECHO_PORT -rtp_echo -nostdin -max_socket 8192 >/dev/null 2>&1) &
PIDS+=("$!")
AGENTS=$((CALLS + CALLS / 10))
{ echo SEQUENTIAL; for n in $(seq "$AGENTS"); do echo "load-$n;"; done; } > "$WORK/agents.csv"
(cd "$WORK" && sipp 127.0.0.1:$SIP_PORT -sf "$OLDPWD/tests/sipp/register_many.xml" \
    -inf agents.csv -key contact_port $AGENT_PORT -i 127.0.0.1 -p $((AGENT_PORT + 1)) \
    -m "$AGENTS" -r 500 -nostdin -timeout 30 >/dev/null 2>&1) || true
REGISTERED=$(curl -s -H 'Authorization: Bearer load-test' http://127.0.0.1:$HTTP_PORT/health | \
    sed -n 's/.*"registered_agents":\([0-9]*\).*/\1/p')
echo "registered agents: ${REGISTERED:-?} of $AGENTS"
[ "${REGISTERED:-0}" = "$AGENTS" ] || { echo "not every agent registered; see $WORK" >&2; exit 1; }

ERRORS_BEFORE=$(udp_errors)
START=$(date +%s)
set +e
(cd "$WORK" && exec timeout $((HOLD_S + CALLS / CALL_RATE + 60)) sipp 127.0.0.1:$SIP_PORT \
    -sf "$OLDPWD/tests/sipp/caller_rtp_stream.xml" -s sales -d $((HOLD_S * 1000)) \
    -i 127.0.0.1 -p $((AGENT_PORT + 2)) -mi 127.0.0.1 -mp 48000 \
    -r "$CALL_RATE" -m "$CALLS" -l "$CALLS" -nostdin -timeout $((HOLD_S + CALLS / CALL_RATE + 40)) \
    -trace_screen -max_socket 8192 >/dev/null 2>&1) &
TRUNK=$!
PIDS+=("$TRUNK")
PEAK=0
MAX_DROPS=0
# CPU the switch used while every call was up: ticks and seconds over the samples that saw
# CALLS calls in progress at both ends.
HZ=$(getconf CLK_TCK)
FULL_TICKS=0
FULL_S=0
LAST_TICKS=
LAST_T=
LAST_FULL=0
while kill -0 "$TRUNK" 2>/dev/null; do
    sleep 5
    read -r SOCKETS DROPS < <(switch_drops)
    [ "$DROPS" -gt "$MAX_DROPS" ] && MAX_DROPS=$DROPS
    NOW=$(curl -s -H 'Authorization: Bearer load-test' http://127.0.0.1:$HTTP_PORT/health | \
        sed -n 's/.*"calls_in_progress":\([0-9]*\).*/\1/p')
    LOAD=$(cut -d' ' -f1 /proc/loadavg)
    # CPU the switch used so far (utime + stime, in clock ticks).
    TICKS=$(awk '{ print $14 + $15 }' /proc/$SERVER/stat 2>/dev/null || echo 0)
    T=$(date +%s)
    FULL=0
    [ "${NOW:-0}" -ge "$CALLS" ] && FULL=1
    if [ "$FULL" = 1 ] && [ "$LAST_FULL" = 1 ]; then
        FULL_TICKS=$((FULL_TICKS + TICKS - LAST_TICKS))
        FULL_S=$((FULL_S + T - LAST_T))
    fi
    LAST_TICKS=$TICKS LAST_T=$T LAST_FULL=$FULL
    echo "t=$((T - START))s calls_in_progress=${NOW:-?} rtp_sockets=$SOCKETS socket_drops=$DROPS switch_cpu_s=$(awk -v t="$TICKS" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }') load=$LOAD"
    [ "${NOW:-0}" -gt "$PEAK" ] && PEAK=$NOW
done
wait "$TRUNK"; TRUNK_STATUS=$?
set -e
ERRORS_AFTER=$(udp_errors)
SCREEN=$(ls "$WORK"/*_screen.log 2>/dev/null | head -1 || true)
OK=$(grep -m1 "Successful call" "$SCREEN" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$3); print $3}' || true)
FAILED=$(grep -m1 "Failed call" "$SCREEN" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$3); print $3}' || true)
kill -TERM "$SERVER"; wait "$SERVER" || true
echo "trunk exit $TRUNK_STATUS: calls ok ${OK:-?}, failed ${FAILED:-?}; peak calls in progress $PEAK"
echo "kernel UDP receive errors during the run, all sockets (SIPp's included): $((ERRORS_AFTER - ERRORS_BEFORE))"
echo "datagrams dropped on the switch's RTP sockets (largest sample): $MAX_DROPS"
if [ "$FULL_S" -gt 0 ]; then
    echo "switch CPU while all $CALLS calls were up: $(awk -v t="$FULL_TICKS" -v hz="$HZ" -v s="$FULL_S" 'BEGIN { printf "%.2f", t / hz / s }') s per second over $FULL_S s"
else
    echo "switch CPU while all $CALLS calls were up: not measured (never $CALLS calls in progress at two samples in a row)"
fi
grep "media relay" "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | sed 's/.*media relay/media relay/'
echo "work folder: $WORK"
