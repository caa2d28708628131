#!/usr/bin/env bash
# Runs every check Spindle has: formatting, lints, unit and integration tests, the loom
# models, and a quick side-by-side benchmark run. Works on a fresh Debian machine with
# only Rust installed; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n=== %s ===\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "real peers for the examples' tests (redis-server, mariadb)"
bash scripts/install-peers.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc -D warnings (every public item documented, every intra-doc link resolves)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "cargo test (workspace, all features)"
cargo test --workspace --all-features

# loom: a separate target dir, since --cfg loom rebuilds every crate.
loom() {
    local preemptions=$1
    shift
    RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=$preemptions \
        cargo test --release "$@"
}
step "loom: executor task state word"
loom 3 -p spindle-executor --lib
step "loom: executor sleep/wake handshake, driver hand-off, blocking-pool shutdown"
loom 2 -p spindle-executor --test loom_runtime
step "loom: IO readiness and slot reuse"
loom 3 -p spindle-io --lib
step "loom: timer cancel/reset/register races"
loom 3 -p spindle-timer --lib

step "benchmark smoke run (spindle vs tokio, quick sizes)"
cargo run --release -p spindle-bench --bin compare -- --quick

step "mini_redis under redis-benchmark (quick: -c 200 -n 20000, zero errors, read-back)"
bash scripts/load-redis.sh --quick

step "all checks passed"
