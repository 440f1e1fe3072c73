# SPDX-License-Identifier: MIT
"""Benchmark "export" (run through bench/export.sh).

Data: a Hetu SQLite file (schema made by the server itself) filled directly with sqlite3 with N
samples that look like users' data: inputs of ~150 characters and outputs of ~400, Chinese and
English mixed, quotes, commas and newlines inside; 1,500 distinct topic paths (two or three
levels) in shuffled order, 300 sessions, a third rated, a few tags. Kept between runs in
HETU_BENCH_EXPORT_DATA (default: the temporary directory).

1. The ceiling: bench-export-ceiling reads the same rows with one prepared statement and writes
   the same openai_chat_jsonl lines into /dev/null (it counts its bytes); run before and after
   the server, the faster run counts.
2. The server: GET .../export?format=openai_chat_jsonl with curl into /dev/null; rows per
   second, the ratio to the ceiling (target >= 0.7), bytes (must equal the ceiling's), and the
   server's peak RSS (VmHWM) from its start to the export's end (target < 64 MB).
Both run at 1,000,000 rows; with HETU_BENCH_EXPORT_5M=1 also at 5,000,000.

Prints "export: figure = value unit" lines."""

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from hetu_http import Server  # noqa: E402

INSTRUCTION = "把句子翻译成英文，并解释语法要点"
REQUIREMENTS = [{"name": "简洁", "instruction": "Keep it concise"},
                {"name": "准确", "instruction": "Keep the meaning; \"quote\" names as given"}]
SYSTEM = INSTRUCTION + ("\n\nYour response should respect the following requirements:\n"
                        "1) Keep it concise\n2) Keep the meaning; \"quote\" names as given\n")
WORDS_ZH = ["学习", "语法", "句子", "翻译", "历史", "科学", "音乐", "数学", "地理", "重要", "问题", "答案"]
WORDS_EN = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "learning", "matters",
            "\"quoted\"", "commas,", "and", "newlines"]


def say(figure, value, unit=""):
    print(("export: %s = %s %s" % (figure, value, unit)).rstrip(), flush=True)


def text(rng, n):
    parts, size = [], 0
    while size < n:
        r = rng.random()
        if r < 0.45:
            w = rng.choice(WORDS_ZH)
        elif r < 0.9:
            w = " " + rng.choice(WORDS_EN)
        elif r < 0.95:
            w = "，"
        else:
            w = "\n"
        parts.append(w)
        size += len(w)
    return "".join(parts)


def topics(rng):
    out = []
    for a in range(15):
        for b in range(20):
            out.append("领域%d\x1f子题 %d\x1f" % (a, b))
            for c in range(4):
                out.append("领域%d\x1f子题 %d\x1fsub %d\x1f" % (a, b, c))
    rng.shuffle(out)
    return out


def make_db(hetu, work, n):
    """A database with one task of n samples; returns (path, project id, task id)."""
    db = work / ("export-%d.db" % n)
    ids = work / ("export-%d.ids" % n)
    if db.exists() and ids.exists():
        pid, tid = ids.read_text().split()
        return db, pid, tid
    for p in work.glob("export-%d.db*" % n):
        p.unlink()
    srv = Server(work / ("make-%d" % n), binary=hetu, db=str(db), args=["--log-level", "warn"])
    srv.start()
    c = srv.client
    p = c.new_project(name="导出 bench")
    t = c.new_task(p["id"], name="翻译", instruction=INSTRUCTION, requirements=REQUIREMENTS)
    tid = t["id"]
    srv.stop()
    t0 = time.monotonic()
    con = sqlite3.connect(str(db))
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    # indexes are built once after the rows (much faster than kept up to date row by row)
    indexes = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'samples' "
        "AND sql IS NOT NULL")]
    for name, in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                             "tbl_name = 'samples' AND sql IS NOT NULL").fetchall():
        con.execute("DROP INDEX %s" % name)
    cols = {r[1]: r for r in con.execute("PRAGMA table_info(samples)")}
    # columns added after this script was written: NOT NULL without a default get 0
    extra = [name for name, r in cols.items() if r[3] and r[4] is None and name not in (
        "id", "task_id", "created_at", "created_by", "input", "input_source_type", "input_source",
        "output_id", "output_created_at", "output", "output_source_type", "output_source")]
    names = ["id", "task_id", "created_at", "created_by", "input", "input_source_type",
             "input_source", "output_id", "output_created_at", "output", "output_source_type",
             "output_source", "rating", "rating_score", "tags", "session_id", "topic_key"] + extra
    sql = "INSERT INTO samples (%s) VALUES (%s)" % (", ".join(names), ", ".join("?" * len(names)))
    rng = random.Random(12)
    tps = topics(rng)
    base = 300000000000
    src = '{"model_name": "m", "model_provider": "together_ai", "adapter_name": "hetu"}'
    pool_in = [text(rng, 150) for _ in range(4096)]  # the row number makes each one distinct
    pool_out = [text(rng, 400) for _ in range(4096)]
    batch = []
    for i in range(n):
        rated = rng.random() < 0.33
        score = rng.randint(1, 5) if rated else None
        row = [base + 2 * i, int(tid), 1795515330000000 + i, "bench",
               "问题 %d：" % i + pool_in[rng.randrange(4096)], "synthetic", src, base + 2 * i + 1,
               1795515330000000 + i, "Answer %d: " % i + pool_out[rng.randrange(4096)], "synthetic", src,
               '{"type": "five_star", "value": %d}' % score if rated else None, score,
               '["golden"]' if i % 97 == 0 else "[]", "会话 %d" % rng.randrange(300),
               rng.choice(tps)] + [0] * len(extra)
        batch.append(row)
        if len(batch) == 10000:
            con.executemany(sql, batch)
            con.commit()
            batch = []
    if batch:
        con.executemany(sql, batch)
    con.commit()
    for sql in indexes:
        con.execute(sql)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print("export: (filled %d rows in %.0f s)" % (n, time.monotonic() - t0), file=sys.stderr)
    ids.write_text("%s %s" % (p["id"], t["id"]))
    return db, p["id"], t["id"]


def vm_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def ceiling_run(cmd):
    """Runs the ceiling into /dev/null (as curl writes the export); returns (seconds, bytes)."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.run(cmd, stdout=null, stderr=subprocess.PIPE, text=True)
    secs = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("export: %s failed: %s" % (cmd[0], p.stderr))
    return secs, int(p.stderr.split()[3])


def run(hetu, ceiling, work, n):
    db, pid, tid = make_db(hetu, work, n)
    with open(db, "rb") as f:  # the same warm page cache for both
        while f.read(1 << 24):
            pass
    secs_c, bytes_c = ceiling_run([ceiling, str(db), tid, SYSTEM])
    srv = Server(work / ("serve-%d" % n), binary=hetu, db=str(db), args=["--log-level", "warn"])
    srv.start()
    try:
        url = srv.base_url + "/api/projects/%s/tasks/%s/export?format=openai_chat_jsonl" % (pid,
                                                                                             tid)
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-w",
                              "%{size_download}", url], capture_output=True, text=True)
        secs = time.monotonic() - t0
        if out.returncode != 0:
            raise SystemExit("export: curl failed: %s" % out.stderr)
        size = int(out.stdout)
        hwm = vm_kb(srv.proc.pid, "VmHWM")
    finally:
        srv.stop()
    again = ceiling_run([ceiling, str(db), tid, SYSTEM])  # the better of before and after
    secs_c = min(secs_c, again[0])
    label = "%dk" % (n // 1000) if n < 1000000 else "%dM" % (n // 1000000)
    say("export %s rows/s" % label, "%.0f" % (n / secs))
    say("ceiling %s rows/s" % label, "%.0f" % (n / secs_c))
    say("ratio %s" % label, "%.2f" % (secs_c / secs), "(target >= 0.7)")
    say("bytes %s" % label, "%d" % size,
        "(ceiling %d: %s)" % (bytes_c, "same" if size == bytes_c else "DIFFERENT"))
    say("server peak RSS %s" % label, "%.1f" % (hwm / 1024.0), "MB (target < 64)")
    return size == bytes_c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the meson build directory")
    a = ap.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("export: curl is not installed")
    build = Path(a.build).resolve()
    if not (build / "build.ninja").exists():
        subprocess.run(["meson", "setup", str(build), str(ROOT)], check=True, stdout=sys.stderr)
    subprocess.run(["ninja", "-C", str(build), "hetu", "bench/bench-export-ceiling"], check=True,
                   stdout=sys.stderr)
    hetu, ceiling = str(build / "hetu"), str(build / "bench" / "bench-export-ceiling")
    work = Path(os.environ.get("HETU_BENCH_EXPORT_DATA") or
                Path(tempfile.gettempdir()) / "hetu-bench-export")
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(os.environ.get("HETU_BENCH_EXPORT_ROWS", "1000000"))]
    if os.environ.get("HETU_BENCH_EXPORT_5M") == "1":
        sizes.append(5000000)
    ok = True
    for n in sizes:
        ok = run(hetu, ceiling, work, n) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
