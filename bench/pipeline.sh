#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "pipeline": one pipeline job of 10,000 samples (depth 2, breadth 10, 100 inputs a
# leaf) against the fake provider answering after 200 ms, with the engine's default window; its
# wall time against the critical-path ideal computed in the same run from the window the engine
# used (target: at most 1.3 times it), and the estimate's tokens against the job's.
# The work is in pipeline_bench.py. Prints "pipeline: figure = value unit" lines.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_PIPELINE_LATENCY_MS
# (200), HETU_BENCH_PIPELINE_BREADTH (10), HETU_BENCH_PIPELINE_PER_LEAF (100).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu >&2
exec /usr/bin/python3 "$root/bench/pipeline_bench.py" --hetu "$build/hetu" "$@"
