#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "export": 1,000,000 samples (Chinese and English, quotes and newlines, 1,500 shuffled
# topic paths) to openai_chat_jsonl through GET .../export, against the ceiling of
# bench-export-ceiling (the same rows read with one prepared statement, the same lines written)
# measured in the same run; the server's peak RSS. export_bench.py builds what it needs and does
# the work. Prints "export: figure = value unit" lines; exits non-zero when the bytes differ.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_EXPORT_ROWS
# (1000000), HETU_BENCH_EXPORT_5M=1 (also 5,000,000 rows: minutes to fill the first time),
# HETU_BENCH_EXPORT_DATA (where the filled databases are kept between runs, default $TMPDIR).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/export_bench.py" --build "${HETU_BENCH_BUILD:-$here/../build}" "$@"
