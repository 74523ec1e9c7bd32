#!/usr/bin/env bash
# Chat load on one machine (docs/performance.md, "Chat over WebSocket"): `switchboard serve`
# (release build) with one chat queue and AGENTS agents who hold two chats each, and the load
# generator `examples/chat_load.rs`: AGENTS agent sockets, SESSIONS customer sockets, RATE
# messages per second through the switch (customers' and agents' answers together) for
# DURATION_S seconds once every session is connected. It prints the load average before and
# after, then the generator's figures: sessions, msg/s, p50/p99/max latency, errors.
#
#   scripts/chat-load.sh                                  # 10,000 sessions, 5,000 msg/s, 30 s
#   SESSIONS=2000 AGENTS=1000 RATE=1000 DURATION_S=10 scripts/chat-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-10000}
AGENTS=${AGENTS:-5000}
RATE=${RATE:-5000}
DURATION_S=${DURATION_S:-30}
HTTP_PORT=${HTTP_PORT:-38180}
SIP_PORT=${SIP_PORT:-35160}
# Every session is a socket in each process, every agent too.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((SESSIONS + AGENTS + 100)) ]; then
    echo "ulimit -n is $(ulimit -n): too few descriptors for $SESSIONS sessions and $AGENTS agents" >&2
    exit 1
fi
cargo build --release --quiet --bin switchboard --example chat_load
WORK=$(mktemp -d)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=test-token
# The short test's center (tests/live_chat_load.rs) with AGENTS agents and room for every socket.
sed "s/^count = 20$/count = $AGENTS/" tests/chat/load-center.toml >"$WORK/center.toml"
printf '\n[live.chat]\nmax_sockets = %d\n' $((SESSIONS + AGENTS + 100)) >>"$WORK/center.toml"
grep -q "^count = $AGENTS$" "$WORK/center.toml"
target/release/switchboard serve "$WORK/center.toml" --sip 127.0.0.1:$SIP_PORT \
    --http 127.0.0.1:$HTTP_PORT --data "$WORK/data" 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do
    curl -sf http://127.0.0.1:$HTTP_PORT/health >/dev/null && break
    sleep 0.1
done
echo "before: $(uptime)"
status=0
target/release/examples/chat_load --http 127.0.0.1:$HTTP_PORT --token $TOKEN --entry web \
    --agent-prefix load- --agents "$AGENTS" --sessions "$SESSIONS" --rate "$RATE" \
    --duration "$DURATION_S" || status=$?
echo "after: $(uptime)"
kill -TERM "$SERVER"
wait "$SERVER" || true
SERVER=
# Sockets the server closed for being too far behind, and warnings and errors it logged.
echo "server: sockets too far behind $(grep -c 'too far behind' "$WORK/serve.log" || true), \
warnings and errors $(grep -cE ' (WARN|ERROR) ' "$WORK/serve.log" || true):"
grep -E ' (WARN|ERROR) ' "$WORK/serve.log" | head -5 || true
exit $status
