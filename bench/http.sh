#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark "http": wrk at 64 connections against hetu's GET /api/projects/{p}/tasks/{t} and
# POST /api/project, then against bench-hello (a bare libmicrohttpd server with the same threading
# and keep-alive) as the ceiling measured in the same run. Then an admin key is created, so
# every request needs one, on a second server, and GET task runs on the open and the keyed server
# in turns (three rounds each) with "Authorization: Bearer KEY" on the keyed one: the cost of the
# key check, as a ratio to the open server (get_task_key_ratio, target >= 0.95). Prints "http: figure = value unit"
# lines; exits non-zero only when something failed (a request error, a server that would not
# start), never because a target was missed.
# Environment: HETU_BENCH_BUILD (build directory, default build), HETU_BENCH_DURATION (10s),
# HETU_BENCH_CONNECTIONS (64), HETU_BENCH_THREADS (1, wrk threads).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HETU_BENCH_BUILD:-$root/build}"
duration="${HETU_BENCH_DURATION:-10s}"
conns="${HETU_BENCH_CONNECTIONS:-64}"
wthreads="${HETU_BENCH_THREADS:-1}"
name=http

command -v wrk >/dev/null || { echo "$name: wrk is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "$name: curl is not installed" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" >&2
fi
ninja -C "$build" hetu bench/bench-hello >&2

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

errors=0
fail() {
    echo "$name: error: $*" >&2
    errors=$((errors + 1))
}

# wait_listen OUTFILE PID: prints the port once the server printed its listening line
wait_listen() {
    local i port
    for i in $(seq 1 400); do
        port="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$1" 2>/dev/null | head -1 |
            sed 's/.*://')" || true
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# run_wrk LABEL URL [LUA]: runs wrk, prints "LABEL = req/s" and "LABEL_p99 = ms", and records
# the numbers in $tmp/LABEL.rps; counts request errors.
run_wrk() {
    local label="$1" url="$2" script="${3:-}" out="$tmp/$1.wrk"
    local args=(-t"$wthreads" -c"$conns" -d"$duration" --latency)
    [ -n "$script" ] && args+=(-s "$script")
    [ -n "${wrk_header:-}" ] && args+=(-H "$wrk_header")
    if ! wrk "${args[@]}" "$url" >"$out" 2>&1; then
        fail "wrk failed for $label: $(tr '\n' ' ' <"$out")"
        return 0
    fi
    local rps p99 total non2xx sockerr
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
            if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
            printf "%.2f", v}' "$out")"
    total="$(awk '/requests in/ {print $1}' "$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
    sockerr="$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8}' "$out")"
    if [ -z "$rps" ] || [ -z "$total" ] || [ "$total" = 0 ]; then
        fail "$label: no requests completed: $(tr '\n' ' ' <"$out")"
        return 0
    fi
    [ -n "$non2xx" ] && [ "$non2xx" != 0 ] && fail "$label: $non2xx responses were not 2xx"
    [ -n "$sockerr" ] && [ "$sockerr" != 0 ] && fail "$label: socket errors: $(grep 'Socket errors' "$out")"
    printf '%s: %s = %.0f req/s\n' "$name" "$label" "$rps"
    printf '%s: %s_p99 = %s ms\n' "$name" "$label" "$p99"
    echo "$rps" >"$tmp/$label.rps"
}

# ratio FIGURE A B [OF]: prints "FIGURE = A/B of OF" (OF: ceiling)
ratio() {
    if [ -s "$tmp/$2.rps" ] && [ -s "$tmp/$3.rps" ]; then
        awk -v a="$(cat "$tmp/$2.rps")" -v b="$(cat "$tmp/$3.rps")" -v n="$name" -v f="$1" \
            -v of="${4:-ceiling}" \
            'BEGIN { printf "%s: %s = %.2f of %s\n", n, f, (b > 0 ? a / b : 0), of }'
    fi
}

check_keep_alive() {
    if curl -s -o /dev/null -D - "$1" | grep -qi '^connection: *close'; then
        fail "$1 answers Connection: close (keep-alive broken)"
    fi
}

# start_hetu LABEL: starts a server on its own database; sets base, get_url (a task of its own)
start_hetu() {
    HETU_LOG_LEVEL=warn "$build/hetu" serve --host 127.0.0.1 --port 0 --db "$tmp/$1.db" \
        >"$tmp/$1.out" 2>"$tmp/$1.err" &
    last_pid=$!
    pids+=("$last_pid")
    if ! port="$(wait_listen "$tmp/$1.out" "$last_pid")"; then
        echo "$name: hetu did not start: $(cat "$tmp/$1.err")" >&2
        exit 1
    fi
    base="http://127.0.0.1:$port"
    local project task
    project="$(curl -sf -H 'Content-Type: application/json' \
        -d '{"name": "bench", "description": "http benchmark"}' "$base/api/project" | json_id)" || true
    [ -n "$project" ] || { echo "$name: cannot create a project" >&2; exit 1; }
    task="$(curl -sf -H 'Content-Type: application/json' -d "$task_body" \
        "$base/api/projects/$project/task" | json_id)" || true
    [ -n "$task" ] || { echo "$name: cannot create a task" >&2; exit 1; }
    get_url="$base/api/projects/$project/tasks/$task"
}

json_id() { grep -o '"id": *"[0-9]*"' | head -1 | grep -o '[0-9]\{12\}'; }
task_body='{"name": "翻译任务", "description": "translate Chinese to English",
 "instruction": "Translate the input into fluent English.",
 "requirements": [{"name": "准确", "instruction": "Keep the meaning."}],
 "output_json_schema": "{\"type\": \"object\", \"properties\": {\"english\": {\"type\": \"string\"}}}"}'

# ---- hetu
start_hetu open
hetu_pid=$last_pid
open_url="$get_url"
size="$(curl -sf -o /dev/null -w '%{size_download}' "$get_url")" || {
    echo "$name: GET $get_url failed" >&2
    exit 1
}
check_keep_alive "$get_url"
echo "$name: get_task_body = $size bytes"

run_wrk get_task "$get_url"
run_wrk post_project "$base/api/project" "$root/bench/wrk/post_project.lua"

# ---- a second server with a key required (its first admin key made while it is open); GET
# task on the open server and on this one in turns, three rounds each, so that both see the
# same machine: get_task_key_ratio is the sum of the keyed rounds over the open ones.
start_hetu keyed
keyed_pid=$last_pid
key_url="$get_url"
key="$(curl -sf -H 'Content-Type: application/json' -d '{"name": "bench", "admin": true}' \
    "$base/api/keys" | grep -o '"key": *"hetu_[0-9a-f_]*"' | grep -o 'hetu_[0-9a-f_]*')" || true
[ -n "$key" ] || { echo "$name: cannot create an API key" >&2; exit 1; }
status="$(curl -s -o /dev/null -w '%{http_code}' "$key_url")"
[ "$status" = 401 ] || fail "GET task without a key answered $status once a key exists, not 401"
for round in 1 2 3; do
    run_wrk "open_round$round" "$open_url" >/dev/null
    wrk_header="Authorization: Bearer $key"
    run_wrk "key_round$round" "$key_url" >/dev/null
    wrk_header=""
done
cat "$tmp"/open_round*.rps 2>/dev/null | awk '{s += $1} END {if (NR) printf "%.0f\n", s / NR}' \
    >"$tmp/get_task_open.rps"
cat "$tmp"/key_round*.rps 2>/dev/null | awk '{s += $1} END {if (NR) printf "%.0f\n", s / NR}' \
    >"$tmp/get_task_key.rps"
printf '%s: get_task_key = %s req/s (mean of 3 rounds; open: %s)\n' "$name" \
    "$(cat "$tmp/get_task_key.rps")" "$(cat "$tmp/get_task_open.rps")"
for p in "$hetu_pid" "$keyed_pid"; do
    kill -0 "$p" 2>/dev/null || fail "hetu died during the run"
done

# ---- ceiling
"$build/bench/bench-hello" 0 2 >"$tmp/hello.out" 2>"$tmp/hello.err" &
hello_pid=$!
pids+=("$hello_pid")
if ! hport="$(wait_listen "$tmp/hello.out" "$hello_pid")"; then
    echo "$name: bench-hello did not start: $(cat "$tmp/hello.err")" >&2
    exit 1
fi
check_keep_alive "http://127.0.0.1:$hport/"
run_wrk hello_get "http://127.0.0.1:$hport/"
run_wrk hello_post "http://127.0.0.1:$hport/" "$root/bench/wrk/post_project.lua"

ratio get_task_ratio get_task hello_get
ratio post_project_ratio post_project hello_post
ratio get_task_key_ratio get_task_key get_task_open open

# hetu must still shut down cleanly after the load
kill -TERM "$hetu_pid"
if ! wait "$hetu_pid"; then
    fail "hetu exited non-zero after SIGTERM: $(tail -5 "$tmp/open.err")"
fi
[ "$errors" -eq 0 ]
