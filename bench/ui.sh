#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "ui": the web interface in Debian's chromium (playwright-core): the bytes of the
# first load of / (every response's body, uncompressed; target < 250 KB) and the time from
# navigation to the first rendered rows of the samples page of a task holding 100,000
# users'-shaped samples (target < 500 ms). The work is in ui_bench.mjs; the rows come from
# ui_data.py. Prints "ui: figure = value unit" lines. Environment: HETU_BENCH_BUILD (build
# directory, default build), HETU_BENCH_UI_ROWS (100000), HETU_BENCH_UI_RUNS (5),
# HETU_BENCH_UI_DATA (where the generated file is kept, default $TMPDIR),
# HETU_BENCH_UI_STRICT=1 (exit non-zero when a figure misses its target).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"

command -v node >/dev/null || { echo "ui: node is not installed" >&2; exit 1; }
[ -x /usr/bin/chromium ] || [ -n "${HETU_CHROMIUM:-}" ] || { echo "ui: chromium is not installed" >&2; exit 1; }
if [ ! -d "$root/node_modules/playwright-core" ]; then
    (cd "$root" && npm ci --no-audit --no-fund >&2)
fi
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu >&2
HETU_BIN="$build/hetu" exec node "$root/bench/ui_bench.mjs" "$@"
