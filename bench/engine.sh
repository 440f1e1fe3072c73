#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "engine": 10,000 calls with a JSON schema through the provider engine against the
# fake provider (tests/fake/fake_llm.py --no-log) answering after 200 ms, at most 1,000 in flight.
# Prints "engine: figure = value unit" lines: wall time against the ideal 10,000 / 1,000 x 0.2 s,
# their ratio, the engine thread's CPU time per call and the peak RSS, for the event loop
# (epoll + curl_multi_socket_action), the median of three runs; then the same run with one curl
# multi handle as one_multi_* lines.
# Connections start cold (the run opens its 1,000 connections); the warm_* lines repeat it on a
# warmed-up connection pool. Exits non-zero only when something failed, never for a missed target.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_CALLS (10000),
# HETU_BENCH_WINDOW (1000), HETU_BENCH_LATENCY_MS (200).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"
calls="${HETU_BENCH_CALLS:-10000}"
window="${HETU_BENCH_WINDOW:-1000}"
latency="${HETU_BENCH_LATENCY_MS:-200}"
name=engine

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" bench/bench-engine >&2

tmp="$(mktemp -d)"
fake_pid=""
cleanup() {
    if [ -n "$fake_pid" ]; then
        kill -TERM "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# the fake keeps one socket per call in flight
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
/usr/bin/python3 "$root/tests/fake/fake_llm.py" --port 0 --port-file "$tmp/port" --no-log \
    >"$tmp/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 200); do
    [ -s "$tmp/port" ] && break
    kill -0 "$fake_pid" 2>/dev/null || { cat "$tmp/fake.log" >&2; exit 1; }
    sleep 0.05
done
[ -s "$tmp/port" ] || { echo "$name: error: the fake provider did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$tmp/port")/v1"

run() { # WARMUP PREFIX [SHARDS]
    "$build/bench/bench-engine" --base-url "$url" --calls "$calls" --window "$window" \
        --latency-ms "$latency" --warmup "$1" ${3:+--shards "$3"} >"$tmp/out"
    if [ -z "$2" ]; then
        grep -E '^engine: (wall_time|ideal|ratio|cpu_per_call|peak_rss|failed_calls) ' "$tmp/out"
    else
        grep -E '^engine: (wall_time|ratio|cpu_per_call) ' "$tmp/out" | sed "s/^engine: /engine: $2/"
    fi
}

# The counted run three times, reported by its median CPU per call (the figure drifts 10-20 %
# from run to run on a shared 2-core machine), with all three CPU figures.
median_run() { # WARMUP PREFIX
    for i in 1 2 3; do
        run "$1" "$2" >"$tmp/run$i"
        cpu="$(sed -n "s/^engine: ${2}cpu_per_call = \([0-9.]*\) us/\1/p" "$tmp/run$i")"
        echo "${cpu:-0} $i" >>"$tmp/cpus$2"
    done
    mid="$(sort -n "$tmp/cpus$2" | sed -n 2p | cut -d' ' -f2)"
    cat "$tmp/run$mid"
    echo "engine: ${2}cpu_per_call_runs = $(cut -d' ' -f1 "$tmp/cpus$2" | paste -sd' ') us"
}

# a first run the fake needs for itself (its first thousand connections and code paths), not
# counted; every counted run then opens its own connections unless it says warm_
"$build/bench/bench-engine" --base-url "$url" --calls "$window" --window "$window" \
    --latency-ms "$latency" --warmup 0 >/dev/null
median_run 0 ""
run "$window" "warm_"
# the same as the first, with the transfers in one curl multi handle (see struct shard in
# src/llm/engine_int.h)
run 0 "one_multi_" 1
