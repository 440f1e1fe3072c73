#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "batch": save_samples_batch with 1,000 samples against the fake provider answering
# after 200 ms (window 1,000) against the ideal (200 ms plus the write), and 1,000 concurrent
# generate_samples requests (all answered, thread count, throughput against 0.9 x 1000/0.2 s and
# against the fake's own ceiling measured in the same run). The work is in load_generate.py.
# Prints "batch: figure = value unit" lines; exits non-zero only when something failed.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_DURATION (10s).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"
duration="${HETU_BENCH_DURATION:-10s}"

command -v wrk >/dev/null || { echo "batch: wrk is not installed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 "$root/bench/load_generate.py" --hetu "$build/hetu" --duration "$duration"
