# SPDX-License-Identifier: MIT
"""Benchmark "stats" (run through bench/stats.sh).

1. Fills a SQLite file in the server's own schema (the server creates it, then stops) with
   HETU_BENCH_STATS_ROWS samples (1,000,000) of one task, written directly with sqlite3: inputs
   and outputs of 40-600 and 80-1,500 characters, Chinese and English, with quotes and newlines;
   3,000 distinct three-level topic paths in random order; 400 sessions; sources, models,
   providers and prompt methods mixed as generation and imports leave them; three samples in ten
   rated (five-star and pass/fail); two or three tags a sample; one input in twenty a repeat.
   The indexes are dropped while the rows go in and made again after, as the schema has them.
2. Starts the server on the file and times GET .../stats five times: the median against the
   target of 1 s.
3. What the statistics index costs an insert: 100,000 such rows appended to a file of the schema
   holding 100,000, with the index and with the schema as it was before it (samples_by_task
   instead), through INSERT ... SELECT from a staging table, so the time is SQLite's.

Prints "stats: figure = value unit" lines. Environment: HETU_BENCH_STATS_ROWS,
HETU_BENCH_STATS_DATA (where the filled file is kept between runs, default $TMPDIR),
HETU_BENCH_STATS_INSERT_ROWS (100000; 0 skips part 3)."""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from hetu_http import Client, Server  # noqa: E402

TARGET_S = 1.0
TASK_ID = None  # set from the server's answer

WORDS_ZH = ["学习", "语法", "翻译", "历史", "数学", "问题", "答案", "句子", "科学", "音乐",
            "重要", "方法", "模型", "数据", "世界", "城市", "天气", "朋友", "时间", "文化"]
WORDS_EN = ["the", "quick", "brown", "fox", "learning", "\"quoted\"", "model", "data", "river",
            "history", "a, b", "number", "answer", "question", "tone", "city", "line\nbreak"]
MODELS_IN = [("qwen-plus", "dashscope"), ("deepseek-chat", "deepseek"),
             ("gpt-4o-mini", "openai"), ("llama-3.1-70b", "together_ai")]
MODELS_OUT = [("gpt-4o", "openai"), ("claude-3-5-sonnet", "anthropic"),
              ("deepseek-chat", "deepseek"), ("qwen-max", "dashscope"),
              ("llama-3.1-405b", "fireworks_ai")]
METHODS = ["simple_prompt_builder", "few_shot_prompt_builder", "multi_shot_prompt_builder",
           "repairs_prompt_builder", "simple_chain_of_thought_prompt_builder",
           "few_shot_chain_of_thought_prompt_builder",
           "multi_shot_chain_of_thought_prompt_builder"]
EXTRA_TAGS = ["tag_%d" % i for i in range(20)] + ["标签_%d" % i for i in range(10)]


def say(figure, value, unit=""):
    print(("stats: %s = %s %s" % (figure, value, unit)).rstrip(), flush=True)


def text(rng, n):
    parts, size = [], 0
    while size < n:
        w = rng.choice(WORDS_ZH) if rng.random() < 0.5 else rng.choice(WORDS_EN)
        parts.append(w)
        size += len(w) + 1
    return " ".join(parts)[:n]


def topic_paths(rng, n):
    paths = set()
    while len(paths) < n:
        a = "领域 %d" % rng.randrange(12)
        b = "topic %d" % rng.randrange(40)
        c = "子题 %s %d" % (rng.choice(WORDS_ZH), rng.randrange(30))
        paths.add((a, b, c))
    return ["".join(p + "\x1f" for p in path) for path in sorted(paths)]


def rows(rng, n, first_id, task_id):
    """The sample rows and their tag rows, as the store writes them."""
    topics = topic_paths(rng, 3000)
    sessions = ["session-%04d" % i for i in range(400)]
    inputs = []
    for i in range(n):
        sid = first_id + 2 * i
        if inputs and rng.random() < 0.05:
            inp, h = rng.choice(inputs)
        else:
            inp = "问题 %d: %s" % (i, text(rng, rng.randrange(40, 600)))
            h = rng.getrandbits(63)
            if len(inputs) < 5000:
                inputs.append((inp, h))
            else:
                inputs[rng.randrange(5000)] = (inp, h)
        out = "Answer %d: %s" % (i, text(rng, rng.randrange(80, 1500)))
        u = rng.random()
        src = "synthetic" if u < 0.6 else "file_import" if u < 0.85 else "human"
        im = ip = om = op = pm = None
        in_t = out_t = tot_t = cost = None
        if src == "synthetic":
            im, ip = rng.choice(MODELS_IN)
        elif src == "file_import" and rng.random() < 0.5:
            im, ip = MODELS_IN[0]
        if src != "file_import" and rng.random() < 0.8:
            om, op = rng.choice(MODELS_OUT)
            pm = rng.choice(METHODS)
            in_t, out_t = rng.randrange(50, 800), rng.randrange(50, 2000)
            tot_t, cost = in_t + out_t, (in_t * 2.5 + out_t * 10) / 1e6
        session = rng.choice(sessions) if rng.random() < 0.9 else None
        rating = score = None
        v = rng.random()
        if v < 0.2:
            score = rng.randrange(1, 6)
            rating = ('{"v":1,"value":%d.0,"type":"five_star","requirement_ratings":{}}' % score)
        elif v < 0.3:
            ok = rng.random() < 0.7
            score = 5.0 if ok else 1.0
            rating = ('{"v":1,"value":%s,"type":"pass_fail","requirement_ratings":{}}'
                      % ("1.0" if ok else "0.0"))
        base = "imported" if src == "file_import" else "synthetic"
        tags = [base]
        if session:
            tags.append(("imported_" if base == "imported" else "synthetic_session_") + session)
        if rng.random() < 0.1:
            tags.append(rng.choice(EXTRA_TAGS))
        tags_json = "[" + ",".join('"%s"' % t for t in tags) + "]"
        yield ((sid, task_id, 1765000000000000 + i, "bench", inp, src, "{}", sid + 1,
                1765000000000000 + i, out, "synthetic" if om else src, "{}", rating, score,
                "{}", tags_json, session, rng.choice(topics), in_t, out_t, tot_t, cost, h,
                len(inp), len(out), im, ip, om, op, pm), [(task_id, t, sid) for t in tags])


INSERT = ("INSERT INTO samples (id, task_id, created_at, created_by, input, input_source_type,"
          " input_source, output_id, output_created_at, output, output_source_type,"
          " output_source, rating, rating_score, intermediate_outputs, tags, session_id,"
          " topic_key, input_tokens, output_tokens, total_tokens, cost, input_hash, input_chars,"
          " output_chars, input_model, input_provider, output_model, output_provider,"
          " prompt_method) VALUES (" + ",".join("?" * 30) + ")")
TAG_INSERT = "INSERT OR IGNORE INTO sample_tags (task_id, tag, sample_id) VALUES (?, ?, ?)"


def proc_cpu(pid):
    """User and system CPU seconds of process pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(db, n, task_id, drop_indexes):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    indexes = []
    if drop_indexes:
        indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND"
                              " tbl_name = 'samples' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            con.execute("DROP INDEX %s" % name)
    rng = random.Random(12)
    t0 = time.time()
    batch, tags = [], []
    for row, trows in rows(rng, n, 500000000001, task_id):
        batch.append(row)
        tags.extend(trows)
        if len(batch) == 10000:
            con.executemany(INSERT, batch)
            con.executemany(TAG_INSERT, tags)
            con.commit()
            batch, tags = [], []
    con.executemany(INSERT, batch)
    con.executemany(TAG_INSERT, tags)
    con.commit()
    secs = time.time() - t0
    for _, sql in indexes:
        con.execute(sql)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return secs


def new_schema(hetu, work, name):
    """A file of the server's schema with one project and task: (path, project id, task id)."""
    db = str(work / name)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    srv = Server(work, db=db, binary=hetu)
    srv.start()
    try:
        c = Client(srv.host, srv.port, timeout=300)
        p = c.new_project()
        t = c.new_task(p["id"])
    finally:
        srv.stop()
    return db, p["id"], t["id"]


STAGE_COLUMNS = INSERT[INSERT.index("(") + 1:INSERT.index(")")]


def insert_cost(hetu, work, n):
    """Rows per second of n rows appended (commits of 10,000, after n rows already there) to a
    fresh file, with the schema and with its old index. The rows wait in a staging table, so
    the time is SQLite's: INSERT ... SELECT runs in C, index maintenance included."""
    res = {}
    all_rows = None
    for variant in ("with", "without"):
        db, _, tid = new_schema(hetu, work, "insert-%s.db" % variant)
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        if variant == "without":
            con.execute("DROP INDEX samples_stats")
            con.execute("CREATE INDEX samples_by_task ON samples(task_id, id)")
        if all_rows is None:
            all_rows = list(rows(random.Random(5), 2 * n, 500000000001, int(tid)))
        con.execute("CREATE TEMP TABLE stage (%s)" % STAGE_COLUMNS)
        con.execute("CREATE TEMP TABLE stage_tags (task_id, tag, sample_id)")
        con.executemany("INSERT INTO stage VALUES (%s)" % ",".join("?" * 30),
                        [r for r, _ in all_rows])
        con.executemany("INSERT INTO stage_tags VALUES (?, ?, ?)",
                        [t for _, ts in all_rows for t in ts])
        con.execute("CREATE INDEX stage_tags_by_sample ON stage_tags(sample_id)")
        con.commit()
        ids = [r[0] for r, _ in all_rows]

        def load(lo, hi):
            con.execute("INSERT INTO samples (%s) SELECT %s FROM stage WHERE rowid > ? AND"
                        " rowid <= ?" % (STAGE_COLUMNS, STAGE_COLUMNS), (lo, hi))
            con.execute("INSERT OR IGNORE INTO sample_tags SELECT * FROM stage_tags"
                        " WHERE sample_id >= ? AND sample_id < ?", (ids[lo], ids[hi - 1] + 1))
            con.commit()
        for i in range(0, n, 10000):
            load(i, min(n, i + 10000))
        t0, c0 = time.time(), time.process_time()
        for i in range(n, 2 * n, 10000):
            load(i, min(2 * n, i + 10000))
        # rows per second of wall time, and per CPU second (steadier on a shared machine)
        res[variant] = (n / (time.time() - t0), n / (time.process_time() - c0))
        con.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hetu", required=True)
    args = ap.parse_args()
    n = int(os.environ.get("HETU_BENCH_STATS_ROWS", "1000000"))
    data = Path(os.environ.get("HETU_BENCH_STATS_DATA", tempfile.gettempdir()))
    data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hetu-bench-stats-"))
    db = data / ("stats-%d.db" % n)
    ids = data / ("stats-%d.ids" % n)
    if not db.exists() or not ids.exists():
        path, pid, tid = new_schema(args.hetu, work, "fill.db")
        secs = fill(path, n, int(tid), True)
        say("fill_seconds", "%.1f" % secs, "s")
        os.replace(path, db)
        ids.write_text("%s %s\n" % (pid, tid))
    pid, tid = ids.read_text().split()
    say("rows", n)
    say("db_megabytes", "%.0f" % (db.stat().st_size / 1e6), "MB")

    srv = Server(work, db=str(db), binary=args.hetu)
    srv.start()
    try:
        c = Client(srv.host, srv.port, timeout=300)
        times, cpus = [], []
        path = "/api/projects/%s/tasks/%s/stats" % (pid, tid)
        for i in range(6):
            t0, c0 = time.time(), proc_cpu(srv.proc.pid)
            r = c.get(path)
            dt = time.time() - t0
            cpus.append(proc_cpu(srv.proc.pid) - c0)
            if r.status != 200:
                print("stats: GET %s answered %d: %s" % (path, r.status, r.raw[:300]),
                      file=sys.stderr)
                return 1
            times.append(dt)
        body = r.json()
        if body["total"] != n:
            print("stats: total %s, expected %d" % (body["total"], n), file=sys.stderr)
            return 1
        # the first request reads the file into the page cache: reported, not in the median
        say("first_request_seconds", "%.3f" % times[0], "s")
        med = statistics.median(times[1:])
        say("seconds_1m" if n == 1000000 else "seconds_%d" % n, "%.3f" % med, "s")
        say("target", "%.1f" % TARGET_S, "s")
        say("ratio_to_target", "%.2f" % (med / TARGET_S))
        # CPU the server spent on a request (both its threads), and the machine's load: on a
        # shared machine the wall time follows the load, the CPU time much less
        say("server_cpu_seconds_1m" if n == 1000000 else "server_cpu_seconds_%d" % n,
            "%.3f" % statistics.median(cpus[1:]), "s")
        say("load_average", "%.1f" % os.getloadavg()[0])
    finally:
        srv.stop()

    m = int(os.environ.get("HETU_BENCH_STATS_INSERT_ROWS", "100000"))
    if m == 0:
        return 0
    res = insert_cost(args.hetu, work, m)
    say("insert_rows_per_s_with_stats_index", "%.0f" % res["with"][0], "rows/s")
    say("insert_rows_per_s_without", "%.0f" % res["without"][0], "rows/s")
    say("insert_ratio", "%.2f" % (res["with"][0] / res["without"][0]))
    say("insert_rows_per_cpu_s_with_stats_index", "%.0f" % res["with"][1], "rows/s")
    say("insert_rows_per_cpu_s_without", "%.0f" % res["without"][1], "rows/s")
    say("insert_cpu_ratio", "%.2f" % (res["with"][1] / res["without"][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
