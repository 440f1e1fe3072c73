#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "import": 1,000,000-row JSONL and CSV files with outputs (~600 bytes a row) through
# import_samples_from_file (upload start to job completed), against the ceiling of
# bench-import-ceiling (the same rows into SQLite: prepared statement, WAL, commit every 10,000);
# the server's peak RSS; 100,000 rows without outputs through the fake provider at 200 ms with a
# job window of 1,000 against the ideal 20 s. The work is in import_bench.py.
# Prints "import: figure = value unit" lines; exits non-zero when an import did not complete.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_IMPORT_ROWS
# (1000000), HETU_BENCH_IMPORT_GEN_ROWS (100000), HETU_BENCH_IMPORT_DATA (where the generated
# files are kept between runs, default $TMPDIR).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"

command -v curl >/dev/null || { echo "import: curl is not installed" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu bench/bench-import-ceiling >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 "$root/bench/import_bench.py" --hetu "$build/hetu" \
    --ceiling "$build/bench/bench-import-ceiling" "$@"
