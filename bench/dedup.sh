#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "dedup": near-duplicate detection on a labelled set (bench/dedup_gen.py: 5,000 base
# texts, half English, half Chinese, 50 to 500 characters, each with 3 copies edited at known
# rates by insertions, deletions and swaps, and the exact Jaccard similarity of every pair in a
# family), through bench-dedup: precision and recall at Jaccard 0.8 of the pairs the signing,
# LSH banding and verification of src/dedup find, and documents/s/core signing 1,000,000 inputs.
# Prints "dedup: figure = value unit" lines.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_DEDUP_FAMILIES
# (5000), HETU_BENCH_DEDUP_SIGN (1000000), HETU_BENCH_DEDUP_THRESHOLD (0.8).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"
families="${HETU_BENCH_DEDUP_FAMILIES:-5000}"
sign="${HETU_BENCH_DEDUP_SIGN:-1000000}"
threshold="${HETU_BENCH_DEDUP_THRESHOLD:-0.8}"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" bench/bench-dedup >&2
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
/usr/bin/python3 "$root/bench/dedup_gen.py" --dir "$data" --families "$families"
"$build/bench/bench-dedup" "$data/docs.tsv" "$data/pairs.tsv" "$threshold" "$sign"
