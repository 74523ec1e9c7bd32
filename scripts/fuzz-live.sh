#!/usr/bin/env bash
# A bounded run of the live runtime's cargo-fuzz targets (live/fuzz): FUZZ_S seconds of
# libFuzzer per target, seeded with the RFC 4475 torture cases. Any crash fails the run and
# leaves the input under live/fuzz/artifacts/TARGET/ (replay it with
# `cargo fuzz run --fuzz-dir live/fuzz TARGET FILE`).
#
#   scripts/fuzz-live.sh                       # 20 s per target (what .ci/run does)
#   FUZZ_S=600 scripts/fuzz-live.sh sip_message
#
# cargo-fuzz builds with unstable compiler flags (the sanitizer and coverage options).
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them, so no nightly toolchain is needed;
# the address sanitizer's runtime ships with the stable standard library on x86_64 Linux.
# The build goes under the workspace's target/ (target/fuzz), not a second target folder.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_S=${FUZZ_S:-20}
TARGETS=${*:-"sip_message switch_datagrams"}
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT
cp live/tests/torture/valid/* live/tests/torture/invalid/* "$SEEDS"/
for TARGET in $TARGETS; do
    CORPUS=$(mktemp -d)
    LOG="$CORPUS.log"
    # -max_total_time bounds the run; a crash, a leak or a timeout of one input exits non-zero.
    set +e
    cargo fuzz run --fuzz-dir live/fuzz --target-dir target/fuzz "$TARGET" "$CORPUS" "$SEEDS" -- \
        -max_total_time="$FUZZ_S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$LOG" 2>&1
    STATUS=$?
    set -e
    rm -rf "$CORPUS"
    if [ "$STATUS" != 0 ]; then
        tail -n 60 "$LOG" >&2
        echo "fuzz target $TARGET failed (status $STATUS); see live/fuzz/artifacts/$TARGET/" >&2
        exit "$STATUS"
    fi
    RUNS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG")
    rm -f "$LOG"
    echo "fuzz target $TARGET: ${RUNS:-?} inputs in ${FUZZ_S} s without a crash"
done
