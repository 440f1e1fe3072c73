#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "stats": GET .../stats over 1,000,000 samples of one task (a SQLite file in the
# server's schema, filled directly: mixed Chinese and English texts, 3,000 unsorted topic paths,
# sessions, models, ratings, tags, repeats), the median of 5 timed requests against the target
# of 1 s; and what the statistics index costs inserts (100,000 rows with and without it).
# The work is in stats_bench.py. Prints "stats: figure = value unit" lines.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_STATS_ROWS
# (1000000), HETU_BENCH_STATS_DATA (where the filled file is kept between runs, default $TMPDIR),
# HETU_BENCH_STATS_INSERT_ROWS (100000; 0 skips the insert part).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu >&2
exec /usr/bin/python3 "$root/bench/stats_bench.py" --hetu "$build/hetu" "$@"
