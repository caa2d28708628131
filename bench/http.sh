#!/usr/bin/env bash
# HTTP/1 hello world under wrk: bench/src/bin/http_server.rs on Spindle, then on tokio,
# alternating for ROUNDS rounds; prints requests/s and p99 latency for each and the
# Spindle/tokio ratio.
#
#   bench/http.sh            # 2 rounds, wrk -t2 -c64 -d10s --latency
#   ROUNDS=1 DURATION=5s bench/http.sh
#
# Env: ROUNDS (2), DURATION (10s), THREADS (2), CONNS (64), WORKERS (server worker threads;
# default: available cores), PORT (base loopback port, 18080).
set -euo pipefail

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18080}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}

if ! command -v wrk >/dev/null; then
    echo "http.sh: installing wrk" >&2
    if ! apt-get install -y wrk >/dev/null 2>&1; then
        apt-get update >/dev/null && apt-get install -y wrk >/dev/null
    fi
fi

cargo build --release -p spindle-bench --bin http_server >&2
SERVER="$CARGO_TARGET_DIR/release/http_server"

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT INT TERM

# wrk's latency distribution prints p99 as e.g. "99%  1.23ms"; normalise to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1e6; else f = 1;
        printf "%.0f", n * f }'
}

# run RUNTIME PORT: sets RPS and P99_US (in the calling shell, so the trap sees the server).
run() {
    local rt=$1 port=$2 out
    "$SERVER" --runtime "$rt" --port "$port" ${WORKERS:+--workers "$WORKERS"} &
    server_pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.05
    done
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$port/")
    stop_server
    echo "$out" | sed 's/^/    /' >&2
    RPS=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    P99_US=$(to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        echo "http.sh: $rt: wrk reported errors" >&2
    fi
}

declare -a s_rps s_p99 t_rps t_p99
for round in $(seq "$ROUNDS"); do
    echo "round $round: spindle" >&2
    run spindle "$PORT"
    s_rps+=("$RPS"); s_p99+=("$P99_US")
    echo "round $round: tokio" >&2
    run tokio "$((PORT + 1))"
    t_rps+=("$RPS"); t_p99+=("$P99_US")
done

echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS round(s), spindle then tokio each round"
echo
echo "| round | spindle req/s | tokio req/s | req/s spindle/tokio | spindle p99 | tokio p99 | p99 spindle/tokio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for i in "${!s_rps[@]}"; do
    awk -v r="$((i + 1))" -v sr="${s_rps[$i]}" -v tr="${t_rps[$i]}" \
        -v sp="${s_p99[$i]}" -v tp="${t_p99[$i]}" 'BEGIN {
        printf "| %s | %.0f | %.0f | %.2f | %.0f µs | %.0f µs | %.2f |\n",
            r, sr, tr, sr / tr, sp, tp, sp / tp }'
done
echo "${s_rps[*]}|${t_rps[*]}|${s_p99[*]}|${t_p99[*]}" | awk -F'|' '
    function mean(s,   a, n, i, t) { n = split(s, a, " "); t = 0; for (i = 1; i <= n; i++) t += a[i]; return t / n }
    { sr = mean($1); tr = mean($2); sp = mean($3); tp = mean($4)
      printf "| mean | %.0f | %.0f | %.2f | %.0f µs | %.0f µs | %.2f |\n", sr, tr, sr / tr, sp, tp, sp / tp }'
