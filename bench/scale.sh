#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "scale": one 20,000-item job (a file import whose every row needs an output from the
# fake provider answering after 200 ms) on 1, 2 and 3 servers sharing one throwaway PostgreSQL,
# each server with a job window of 200: throughput with N servers against N times one server's,
# measured in the same run (target >= 0.85 at 3), and the claim overhead per item (the store's
# claim statements' time in PostgreSQL, from pg_stat_statements, and the window time an item
# holds beyond its call). The work is in scale_bench.py. Prints "scale: figure = value unit" lines.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_SCALE_ITEMS (20000),
# HETU_BENCH_SCALE_WINDOW (200), HETU_BENCH_SCALE_LATENCY_MS (200), HETU_BENCH_SCALE_SERVERS
# (1,2,3).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"

command -v psql >/dev/null || { echo "scale: psql is not installed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 "$root/bench/scale_bench.py" --hetu "$build/hetu" "$@"
