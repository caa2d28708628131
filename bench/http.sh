#!/usr/bin/env bash
# HTTP/1 hello world under wrk: bench/src/bin/http_server.rs on Spindle and on tokio, for each
# worker count, alternating which runtime goes first each round. The server and wrk are pinned
# to different cores (taskset), so neither steals the other's: on a 2-core machine the server
# gets core 0 and wrk core 1. Prints, per worker count, each round's requests/s and p99 and the
# medians with the round-to-round spread, and the Spindle/tokio ratios.
#
#   bench/http.sh                         # workers 1 and 2, 6 rounds, wrk -t1 -c64 -d5s
#   ROUNDS=2 DURATION=3s WORKERS="1" bench/http.sh
#
# Env: ROUNDS (6), DURATION (5s), THREADS (wrk threads, 1), CONNS (64), WORKERS (server worker
# counts to run, "1 2"), SERVER_CPUS (taskset list for the server, "0"), WRK_CPUS (for wrk,
# "1"), PORT (base loopback port, 18080). With one core, or without taskset, nothing is pinned.
# The server is built in the workspace's own target/ (or $CARGO_TARGET_DIR).
set -euo pipefail

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-1}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-"1 2"}
SERVER_CPUS=${SERVER_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
PORT=${PORT:-18080}
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "http.sh: installing wrk" >&2
    if ! apt-get install -y wrk >/dev/null 2>&1; then
        apt-get update >/dev/null && apt-get install -y wrk >/dev/null
    fi
fi

cargo build --release -p spindle-bench --bin http_server >&2
SERVER="${CARGO_TARGET_DIR:-target}/release/http_server"

pin_server=() pin_wrk=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    pin_server=(taskset -c "$SERVER_CPUS")
    pin_wrk=(taskset -c "$WRK_CPUS")
    pinning="server on cores $SERVER_CPUS, wrk on cores $WRK_CPUS"
else
    pinning="not pinned (one core, or no taskset)"
fi

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

# run RUNTIME WORKERS PORT: sets RPS and P99_US (in the calling shell, so the trap sees the
# server).
run() {
    local rt=$1 workers=$2 port=$3 out
    "${pin_server[@]}" "$SERVER" --runtime "$rt" --port "$port" --workers "$workers" &
    server_pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.05
    done
    out=$("${pin_wrk[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
        "http://127.0.0.1:$port/")
    stop_server
    echo "$out" | sed 's/^/    /' >&2
    RPS=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    P99_US=$(to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        echo "http.sh: $rt: wrk reported errors" >&2
    fi
}

# stats "v1 v2 ...": "median min max"
stats() {
    echo "$1" | tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s %s %s", m, a[1], a[NR] }'
}

echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS alternating round(s), $pinning"
port=$PORT
for workers in $WORKERS; do
    s_rps="" t_rps="" s_p99="" t_p99=""
    echo
    echo "### $workers server worker(s)"
    echo
    echo "| round | first | spindle req/s | tokio req/s | spindle/tokio | spindle p99 | tokio p99 |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    for round in $(seq "$ROUNDS"); do
        if (( round % 2 )); then order="spindle tokio"; else order="tokio spindle"; fi
        for rt in $order; do
            echo "workers $workers, round $round: $rt" >&2
            port=$((port + 1))
            run "$rt" "$workers" "$port"
            if [[ $rt == spindle ]]; then sr=$RPS sp=$P99_US; else tr=$RPS tp=$P99_US; fi
        done
        s_rps+=" $sr" t_rps+=" $tr" s_p99+=" $sp" t_p99+=" $tp"
        awk -v r="$round" -v f="${order%% *}" -v sr="$sr" -v tr="$tr" -v sp="$sp" -v tp="$tp" \
            'BEGIN { printf "| %s | %s | %.0f | %.0f | %.2f | %.0f µs | %.0f µs |\n",
                r, f, sr, tr, sr / tr, sp, tp }'
    done
    read -r srm srlo srhi <<<"$(stats "${s_rps# }")"
    read -r trm trlo trhi <<<"$(stats "${t_rps# }")"
    read -r spm _ _ <<<"$(stats "${s_p99# }")"
    read -r tpm _ _ <<<"$(stats "${t_p99# }")"
    awk -v srm="$srm" -v srlo="$srlo" -v srhi="$srhi" -v trm="$trm" -v trlo="$trlo" \
        -v trhi="$trhi" -v spm="$spm" -v tpm="$tpm" 'BEGIN {
        printf "| median (min-max) | | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %.0f µs | %.0f µs |\n",
            srm, srlo, srhi, trm, trlo, trhi, srm / trm, spm, tpm
        printf "\n%s worker(s): req/s spindle/tokio %.2f (goal >= 1.10), p99 spindle/tokio %.2f (goal <= 1.00)\n",
            "'"$workers"'", srm / trm, spm / tpm }'
done
