# SPDX-License-Identifier: MIT
"""Benchmark "import" (run through bench/import.sh).

1. 1,000,000-row JSONL and CSV files with outputs (about 600 bytes a row) uploaded to
   import_samples_from_file with curl (streamed); the time runs from the upload's start to the
   job's `completed`. Rows per second, and the server's peak RSS (VmHWM).
2. The ceiling, in the same run: bench-import-ceiling inserts the JSONL's rows into SQLite (one
   prepared statement, WAL, synchronous=NORMAL, a commit every 10,000 rows) into the samples
   table with its indexes and tags, and into the bare table. Ratio = import rate / ceiling rate.
3. 100,000 rows without outputs through the fake provider answering after 200 ms, job window
   1,000: the time against the ideal 100,000 / 1,000 x 0.2 s = 20 s.

With --db postgresql the servers run on a throwaway PostgreSQL (tests/pgserver.py), a fresh
database for each import, and the ceiling is psql's `\\copy` of the same rows into the same
table: the samples the JSONL import stored, copied out, the table truncated, and copied in again
(the samples table with its indexes; then a bare table with its columns only). Target for the
imports against the full table: 0.7.

Prints "import: figure = value unit" lines. Environment: HETU_BENCH_IMPORT_ROWS (1000000),
HETU_BENCH_IMPORT_GEN_ROWS (100000), HETU_BENCH_KEEP (keep the work directory)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tests"))

from hetu_http import Server  # noqa: E402

TOPICS = ["科学", "历史", "语言", "数学", "艺术", "地理", "音乐", "体育"]


def say(figure, value, unit=""):
    print(("import: %s = %s %s" % (figure, value, unit)).rstrip(), flush=True)


def row(i):
    """About 600 bytes as JSONL, shaped like users' rows: a mixed Chinese/English input and a
    multi-line output with quotes and commas, in no particular order (the numbers in the text and
    the topics follow a scrambled i), under one of 28,000 three-level topic paths."""
    h = (i * 2654435761) % 4294967296
    inp = "问题 %07d: 请把下面的句子翻译成英文，并解释其中的语法要点。The quick brown fox %d jumps over " \
          "the lazy dog, \"quoted\" words and commas, 学习很重要。" % (h % 10000000, h % 100003)
    out = "Answer %07d: Learning is important.\n这句话的意思是学习很重要；语法要点：主语+谓语+宾语。" \
          "The translation keeps the tone of the original sentence and its punctuation, " \
          "including \"quotes\", commas, and the final full stop;\n它也保留了原句的语气和标点符号。" \
          "Second sentence for length. 结束 %d." % (h % 10000000, h % 977)
    return inp, out, [TOPICS[h % 8], "子题 %d" % (h // 8 % 500), "细分 %d" % (h // 4000 % 7)]


def write_files(d, n):
    jl, csvp = d / ("rows3-%d.jsonl" % n), d / ("rows3-%d.csv" % n)
    if jl.exists() and csvp.exists():
        return jl, csvp
    with open(jl, "w", encoding="utf-8") as fj, open(csvp, "w", encoding="utf-8") as fc:
        fc.write("input,output,topic_path\n")
        for i in range(n):
            inp, out, tp = row(i)
            fj.write(json.dumps({"input": inp, "output": out, "topic_path": tp},
                                ensure_ascii=False) + "\n")
            fc.write('"%s","%s",%s\n' % (inp.replace('"', '""'), out.replace('"', '""'),
                                         ">>>>>".join(tp)))
    return jl, csvp


def write_gen_file(d, n):
    p = d / ("gen-%d.jsonl" % n)
    if not p.exists():
        with open(p, "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps({"input": "生成输出 %d: %s" % (i, row(i)[0][:80])},
                                   ensure_ascii=False) + "\n")
    return p


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def psql(url, sql, timeout=1800):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise SystemExit("import: psql failed: %s" % r.stderr.strip())
    return r.stdout.strip()


def pg_ceiling(url, work):
    """psql \\copy of the samples the server stored, copied out and back into the same table
    (truncated first), then into a bare table of the same columns; {mode: rows per second}."""
    rows = work / "samples.copy"
    psql(url, "\\copy samples TO '%s'" % rows)
    n = int(psql(url, "SELECT count(*) FROM samples"))
    psql(url, "TRUNCATE samples CASCADE; CHECKPOINT; CREATE TABLE bare (LIKE samples)")
    out = {}
    for mode, table in (("full", "samples"), ("bare", "bare")):
        t0 = time.monotonic()
        psql(url, "\\copy %s FROM '%s'" % (table, rows))
        out[mode] = n / (time.monotonic() - t0)
    rows.unlink()
    return out


class Bench:
    def __init__(self, hetu, work, env, pg=None):
        self.hetu, self.work, self.env, self.pg = hetu, work, env, pg
        self.urls = {}

    def server(self, name, args=()):
        d = self.work / name
        shutil.rmtree(d, ignore_errors=True)
        db = None
        if self.pg:  # a fresh database for each server
            db = self.pg.url.rsplit("/", 1)[0] + "/" + name.replace("-", "_")
            psql(self.pg.url, "CREATE DATABASE " + name.replace("-", "_"))
            # each run starts with what the runs before it wrote checkpointed, as the ceiling does
            psql(self.pg.url, "CHECKPOINT")
            self.urls[name] = db
        srv = Server(d, binary=self.hetu, env=self.env, db=db,
                     args=["--spool-dir", str(d / "spool"), "--log-level", "warn"] + list(args))
        srv.start()
        c = srv.client
        c.timeout = 600
        p = c.new_project()
        t = c.new_task(p["id"])
        return srv, "/api/dataset/projects/%s/tasks/%s" % (p["id"], t["id"])

    def import_file(self, srv, base, path, query=""):
        """Uploads path with curl; returns (seconds to job end, job, upload seconds)."""
        url = srv.base_url + base + "/import_samples_from_file" + query
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sS", "--fail-with-body", "-F", "file=@%s" % path, url],
                             capture_output=True, check=False)
        t_up = time.monotonic() - t0
        if out.returncode != 0:
            raise SystemExit("import: upload of %s failed: %s %s" % (path, out.stdout[:500],
                                                                      out.stderr[:500]))
        body = json.loads(out.stdout)
        job_id = body.get("job_id")
        if not job_id:
            raise SystemExit("import: no job for %s: %r" % (path, body))
        c = srv.client
        c.timeout = 60
        while True:
            j = c.ok("GET", base + "/jobs/" + job_id)
            if j["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        return time.monotonic() - t0, j, t_up


def start_fake():
    d = Path(tempfile.mkdtemp(prefix="hetu-fake-"))
    pf = d / "port"
    proc = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests" / "fake" / "fake_llm.py"),
                             "--port", "0", "--port-file", str(pf), "--no-log", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if pf.exists() and pf.read_text().strip().isdigit():
            return proc, int(pf.read_text().strip())
        time.sleep(0.01)
    proc.kill()
    raise SystemExit("import: the fake provider did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hetu", required=True)
    ap.add_argument("--ceiling", required=True)
    ap.add_argument("--rows", type=int, default=int(os.environ.get("HETU_BENCH_IMPORT_ROWS", 1000000)))
    ap.add_argument("--gen-rows", type=int,
                    default=int(os.environ.get("HETU_BENCH_IMPORT_GEN_ROWS", 100000)))
    ap.add_argument("--only", choices=["files", "gen"], default=None)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hetu-bench-import-"))
    data = Path(os.environ.get("HETU_BENCH_IMPORT_DATA", tempfile.gettempdir())) / "hetu-bench-import-data"
    data.mkdir(exist_ok=True)
    fake, fport = start_fake()
    env = {"HETU_TOGETHER_AI_BASE_URL": "http://127.0.0.1:%d/v1" % fport,
           "TOGETHERAI_API_KEY": "sk-bench", "HETU_USER": "bench"}
    pg = None
    if a.db == "postgresql":
        import pgserver
        if not pgserver.server_bindir():
            raise SystemExit("import: no PostgreSQL server binaries (scripts/install-deps test)")
        pg = pgserver.PgServer().start()
    b = Bench(a.hetu, work, env, pg)
    failed = False
    try:
        say("db", a.db)
        if a.only in (None, "files"):
            jl, csvp = write_files(data, a.rows)
            say("rows", a.rows)
            say("bytes_per_row_jsonl", round(jl.stat().st_size / a.rows))
            rates = {}
            for kind, path in (("jsonl", jl), ("csv", csvp)):
                srv, base = b.server("srv-" + kind)
                secs, j, t_up = b.import_file(srv, base, path, "?session_id=bench")
                hwm = vm_hwm_kb(srv.proc.pid)
                srv.stop()
                ok = j["status"] == "completed" and j["completed"] == a.rows
                failed |= not ok
                rates[kind] = a.rows / secs
                say("%s_status" % kind, "%s (%d of %d)" % (j["status"], j["completed"], j["total"]))
                say("%s_upload_seconds" % kind, "%.2f" % t_up, "s")
                say("%s_seconds" % kind, "%.2f" % secs, "s")
                say("%s_rows_per_s" % kind, "%.0f" % rates[kind], "rows/s")
                say("%s_peak_rss" % kind, "%.1f" % (hwm / 1024), "MB (target < 64)")
                shutil.rmtree(work / ("srv-" + kind), ignore_errors=True)
            ceilings = pg_ceiling(b.urls["srv-jsonl"], work) if pg else {}
            for mode in ("full", "bare"):
                if pg:
                    rate = ceilings[mode]
                    say("ceiling_%s_rows_per_s" % mode, "%.0f" % rate,
                        "rows/s (psql \\copy of the stored rows into %s)" %
                        ("the samples table" if mode == "full" else "a bare table"))
                else:
                    out = subprocess.run([a.ceiling] + (["--bare"] if mode == "bare" else []) +
                                         [str(jl), str(work / ("ceiling-%s.db" % mode))],
                                         capture_output=True, text=True, check=True).stdout
                    fields = dict(kv.split("=") for kv in out.split())
                    rate = float(fields["rows_per_s"])
                    say("ceiling_%s_rows_per_s" % mode, "%.0f" % rate, "rows/s")
                for kind in rates:
                    say("%s_ratio_to_ceiling_%s" % (kind, mode), "%.2f" % (rates[kind] / rate),
                        "(target >= %.1f)" % (0.7 if pg else 0.8) if mode == "full" else "")
                for f in work.glob("ceiling-%s.db*" % mode):
                    f.unlink()
        if a.only in (None, "gen"):
            n = a.gen_rows
            cfg = work / "hetu.json"
            cfg.write_text(json.dumps({"providers": {"together_ai": {
                "concurrency": 1000, "max_attempts": 2, "timeout_s": 60}}}))
            srv, base = b.server("srv-gen", ["--job-window", "1000", "--config", str(cfg)])
            model = "bench-import-%d+latency=200" % os.getpid()
            q = "?output_model_name=%s&output_provider=together_ai" % model.replace("+", "%2B")
            secs, j, _ = b.import_file(srv, base, write_gen_file(data, n), q)
            hwm = vm_hwm_kb(srv.proc.pid)
            srv.stop()
            ideal = n / 1000 * 0.2
            ok = j["status"] == "completed" and j["completed"] == n
            failed |= not ok
            say("gen_status", "%s (%d of %d, %d failed)" % (j["status"], j["completed"], j["total"],
                                                            j["failed"]))
            say("gen_seconds", "%.2f" % secs, "s (ideal %.0f s)" % ideal)
            say("gen_ratio_to_ideal", "%.2f" % (secs / ideal), "x (target <= 1.2)")
            say("gen_peak_rss", "%.1f" % (hwm / 1024), "MB")
    finally:
        fake.terminate()
        fake.wait()
        if pg:
            pg.stop()
        if not os.environ.get("HETU_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
