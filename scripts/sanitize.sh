#!/usr/bin/env bash
# Memory-safety checks beyond the CI gate: the workspace's tests under AddressSanitizer and
# LeakSanitizer (needs the nightly toolchain; skipped with a message when it is missing), and
# a subset under valgrind's memcheck with full leak checking. Not part of scripts/test-all.sh:
# it takes several minutes and needs nightly. RELIABILITY.md records its latest result.
#
#   bash scripts/sanitize.sh            # both
#   bash scripts/sanitize.sh asan       # AddressSanitizer + LeakSanitizer only
#   bash scripts/sanitize.sh valgrind   # valgrind only
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
what=${1:-all}
target=x86_64-unknown-linux-gnu

# The facade's tests that need no external server (the example tests start redis-server and
# MariaDB; they add nothing here but minutes).
facade_tests=(--test shutdown --test stress --test tasks --test time --test net --test sync
    --test wait_gather --test million_timers)

step() { printf '\n=== %s ===\n' "$*"; }

asan() {
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "sanitize: no nightly toolchain here (rustup toolchain install nightly);" \
            "skipping AddressSanitizer and LeakSanitizer"
        return 0
    fi
    step "AddressSanitizer + LeakSanitizer (nightly): executor, timer, io"
    # A separate target dir: sanitizer flags rebuild every crate.
    export RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address"
    export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1"
    export CARGO_TARGET_DIR=target/asan
    cargo +nightly test --target "$target" -p spindle-executor -p spindle-timer -p spindle-io \
        --lib --tests
    step "AddressSanitizer + LeakSanitizer (nightly): facade"
    cargo +nightly test --target "$target" -p spindle --lib "${facade_tests[@]}"
    unset RUSTFLAGS RUSTDOCFLAGS ASAN_OPTIONS CARGO_TARGET_DIR
}

valgrind_subset() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "sanitize: installing valgrind"
        apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
    fi
    step "valgrind memcheck: executor smoke, shutdown, stress"
    export CARGO_TARGET_DIR=target/valgrind
    cargo test --no-run -p spindle-executor --test smoke
    cargo test --no-run -p spindle --test shutdown --test stress
    local vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1)
    for name in smoke shutdown stress; do
        local bin
        bin=$(find target/valgrind/debug/deps -maxdepth 1 -type f -executable \
            -name "${name}-*" | head -n 1)
        echo "--- valgrind $bin"
        # One test thread: valgrind serialises threads anyway, and output stays readable.
        "${vg[@]}" "$bin" --test-threads=1
    done
    unset CARGO_TARGET_DIR
}

case "$what" in
    asan) asan ;;
    valgrind) valgrind_subset ;;
    all) asan; valgrind_subset ;;
    *) echo "usage: $0 [asan|valgrind|all]" >&2; exit 2 ;;
esac
step "sanitize: clean"
