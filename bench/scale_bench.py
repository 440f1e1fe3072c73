# SPDX-License-Identifier: MIT
"""Benchmark "scale" (run through bench/scale.sh).

A throwaway PostgreSQL (tests/pgserver.py) with pg_stat_statements loaded, and the fake provider
(tests/fake/fake_llm.py) answering every call after LATENCY ms. For N in 1, 2, 3: a fresh
database, N `hetu serve` processes on it, each with --job-window WINDOW (and the provider's
concurrency raised above it, so the job window decides), and one 20,000-row CSV file uploaded
to the first server with an output model: a job of 20,000 items, each needing one call. The
wall time runs from the upload's start to the job's `completed`, as the first server reports it.

The data looks like users' data: the rows come unsorted (the numbers in the text follow a
scrambled row index), under 28,000 three-level topic paths, with Chinese and English, quotes,
commas and a newline in every input (import_bench.row).

Figures, one a line:
- throughput with N servers (items/s) and its ideal N x WINDOW / LATENCY;
- scaling at N: throughput(N) / (N x throughput(1)), the ceiling being one server's throughput
  measured in the same run (target >= 0.85 at 3);
- claim overhead per item: the time PostgreSQL spent executing the claim statements (those
  with FOR UPDATE SKIP LOCKED) per item, from pg_stat_statements; all of the store's statements
  per item beside it; and the window time each item held beyond its call,
  (wall x N x WINDOW - items x LATENCY) / items, which counts everything else too (upload,
  loading the rows, writes, polling);
- CPU time per item of the servers, of the fake and of PostgreSQL, with the share of the
  machine's cores they used and its load average: on a machine whose cores the three share,
  CPU, not the claims, can set the pace.

Environment: HETU_BENCH_SCALE_ITEMS (20000), HETU_BENCH_SCALE_WINDOW (200),
HETU_BENCH_SCALE_LATENCY_MS (200), HETU_BENCH_SCALE_SERVERS (1,2,3), HETU_BENCH_KEEP (keep the
work directory). --trace prints the job's progress every second on stderr."""

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
sys.path.insert(0, str(ROOT / "bench"))

import pgserver  # noqa: E402
from hetu_http import Server  # noqa: E402
from import_bench import row, start_fake  # noqa: E402

TARGET = 0.85


def say(figure, value, unit=""):
    print(("scale: %s = %s %s" % (figure, value, unit)).rstrip(), flush=True)


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql], capture_output=True, text=True, timeout=600)
    if r.returncode:
        raise SystemExit("scale: psql failed: %s" % r.stderr.strip())
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def write_csv(path, n):
    with open(path, "w", encoding="utf-8") as f:
        f.write("input,topic_path\n")
        for i in range(n):
            inp, _, tp = row(i)
            inp = "%s\n第二行 second line, 编号 %d" % (inp, i)  # distinct, with a newline
            f.write('"%s",%s\n' % (inp.replace('"', '""'), ">>>>>".join(tp)))


def cpu_seconds(pids):
    """User and system CPU seconds the processes have used so far (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def pg_pids(pg):
    """The postmaster and its children (backends, writer, checkpointer...)."""
    with open(os.path.join(pg.datadir, "postmaster.pid")) as f:
        pm = int(f.readline())
    out = [pm]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pm:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def database(pg, name):
    psql(pg.url, "CREATE DATABASE " + name)
    url = pg.url.rsplit("/", 1)[0] + "/" + name
    psql(url, "CREATE EXTENSION pg_stat_statements")
    return url


def statement_ms(url):
    """(claim statements' executions and milliseconds, all statements' milliseconds) since the
    last reset, for this database's statements."""
    rows = psql(url, "SELECT coalesce(sum(calls) FILTER (WHERE query ILIKE '%skip locked%'), 0),"
                     " coalesce(sum(total_exec_time) FILTER (WHERE query ILIKE '%skip locked%'),"
                     " 0), coalesce(sum(total_exec_time), 0) FROM pg_stat_statements s"
                     " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"
                     " AND query NOT ILIKE '%pg_stat_statements%'")
    calls, claim, total = rows[0]
    top = psql(url, "SELECT round(total_exec_time), calls, regexp_replace(left(query, 70), "
                    "'\\s+', ' ', 'g') FROM pg_stat_statements s JOIN pg_database d ON "
                    "d.oid = s.dbid WHERE d.datname = current_database() ORDER BY "
                    "total_exec_time DESC LIMIT 1")
    return int(calls), float(claim), float(total), top[0] if top else None


def run(a, pg, fake, work, csv, n_servers):
    """Returns (wall seconds, claim statements, their ms, all statements' ms, CPU seconds of
    the servers, of the fake, of PostgreSQL)."""
    url = database(pg, "scale_%d" % n_servers)
    cfg = work / "hetu.json"
    cfg.write_text(json.dumps({"providers": {"together_ai": {
        "concurrency": 4 * a.window, "max_attempts": 2, "timeout_s": 60}}}))
    env = {"HETU_TOGETHER_AI_BASE_URL": "http://127.0.0.1:%d/v1" % fake[1],
           "TOGETHERAI_API_KEY": "sk-bench", "HETU_USER": "bench"}
    servers = []
    try:
        for i in range(n_servers):
            d = work / ("n%d-srv%d" % (n_servers, i))
            servers.append(Server(d, binary=a.hetu, env=env, db=url,
                                  args=["--job-window", str(a.window), "--config", str(cfg),
                                        "--spool-dir", str(d / "spool"),
                                        "--log-level", "warn"]).start())
        c = servers[0].client
        c.timeout = 120
        p = c.new_project(name="扩展 scale bench")
        t = c.new_task(p["id"], name="翻译 \"translate\"",
                       instruction="把句子翻译成英文，并解释语法。Translate and explain.")
        base = "/api/dataset/projects/%s/tasks/%s" % (p["id"], t["id"])
        psql(url, "SELECT pg_stat_statements_reset()")
        model = "scale-bench-%d-%d+latency=%d" % (os.getpid(), n_servers, a.latency)
        q = "?output_model_name=%s&output_provider=together_ai" % model.replace("+", "%2B")
        groups = ([s.proc.pid for s in servers], [fake[0].pid], pg_pids(pg))
        cpu0 = [cpu_seconds(g) for g in groups]
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-sS", "--fail-with-body", "-F", "file=@%s" % csv,
                              servers[0].base_url + base + "/import_samples_from_file" + q],
                             capture_output=True, check=False)
        body = json.loads(out.stdout or b"{}")
        if out.returncode or "job_id" not in body:
            raise SystemExit("scale: the upload failed: %s %s" % (out.stdout[:500],
                                                                  out.stderr[:500]))
        shown = 0.0
        while True:
            j = c.ok("GET", base + "/jobs/" + body["job_id"])
            if j["status"] not in ("queued", "running"):
                break
            if a.trace and time.monotonic() - shown >= 1:
                shown = time.monotonic()
                print("scale: %d servers, %.1f s: %s, %d done" % (
                    n_servers, shown - t0, j["status"], j["completed"]), file=sys.stderr)
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu = [cpu_seconds(g) - c0 for g, c0 in zip(groups, cpu0)]
        if (j["status"], j["completed"]) != ("completed", a.items):
            raise SystemExit("scale: with %d servers the job ended %s, %d of %d: %s" % (
                n_servers, j["status"], j["completed"], j["total"], j.get("error")))
        stored = psql(url, "SELECT count(*), count(DISTINCT job_item) FROM samples")[0]
        if stored != [str(a.items), str(a.items)]:
            raise SystemExit("scale: %s samples (distinct items) for %d items" % (stored, a.items))
        claims, claim_ms, all_ms, top = statement_ms(url)
        if top:
            say("servers_%d_slowest_statement" % n_servers, "%s ms in %s calls:" % (top[0], top[1]),
                top[2])
        return (wall, claims, claim_ms, all_ms) + tuple(cpu)
    finally:
        for s in servers:
            s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hetu", required=True)
    ap.add_argument("--items", type=int, default=int(os.environ.get("HETU_BENCH_SCALE_ITEMS",
                                                                    20000)))
    ap.add_argument("--window", type=int, default=int(os.environ.get("HETU_BENCH_SCALE_WINDOW",
                                                                     200)))
    ap.add_argument("--latency", type=int,
                    default=int(os.environ.get("HETU_BENCH_SCALE_LATENCY_MS", 200)))
    ap.add_argument("--servers", default=os.environ.get("HETU_BENCH_SCALE_SERVERS", "1,2,3"))
    ap.add_argument("--trace", action="store_true", help="the job's progress every second")
    a = ap.parse_args()
    counts = [int(x) for x in a.servers.split(",")]
    if not pgserver.server_bindir():
        raise SystemExit("scale: no PostgreSQL server binaries (scripts/install-deps test)")
    work = Path(tempfile.mkdtemp(prefix="hetu-bench-scale-"))
    fake, fport = start_fake()
    pg = pgserver.PgServer().start()
    try:
        psql(pg.url, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        pg.pause()
        pg.resume()
        csv = work / "scale.csv"
        write_csv(csv, a.items)
        say("items", a.items, "(rows unsorted, 28,000 topic paths, Chinese and English, quotes, "
                              "newlines)")
        say("window", a.window, "items in flight a server")
        say("latency", a.latency, "ms a call")
        rate = {}
        for n in counts:
            wall, claims, claim_ms, all_ms, cpu_srv, cpu_fake, cpu_pg = run(
                a, pg, (fake, fport), work, csv, n)
            rate[n] = a.items / wall
            ideal = n * a.window * 1000.0 / a.latency
            held = (wall * n * a.window - a.items * a.latency / 1000.0) / a.items
            say("servers_%d_seconds" % n, "%.2f" % wall, "s (ideal %.2f s)" % (a.items / ideal))
            say("servers_%d_items_per_s" % n, "%.0f" % rate[n], "items/s (ideal %.0f)" % ideal)
            say("servers_%d_ratio_to_ideal" % n, "%.2f" % (rate[n] / ideal))
            if 1 in rate:
                say("servers_%d_scaling" % n, "%.2f" % (rate[n] / (n * rate[1])),
                    "of %d x one server's %.0f items/s%s" % (
                        n, rate[1], " (target >= %.2f)" % TARGET if n == 3 else ""))
            say("servers_%d_claim_ms_per_item" % n, "%.3f" % (claim_ms / a.items),
                "ms (%d claim statements, %.0f ms in PostgreSQL)" % (claims, claim_ms))
            say("servers_%d_store_ms_per_item" % n, "%.3f" % (all_ms / a.items),
                "ms (every statement of the run)")
            say("servers_%d_window_ms_per_item" % n, "%.1f" % (held * 1000),
                "ms held beyond the call")
            say("servers_%d_cpu_ms_per_item" % n, "%.2f/%.2f/%.2f" % (
                cpu_srv * 1000 / a.items, cpu_fake * 1000 / a.items, cpu_pg * 1000 / a.items),
                "ms (servers/fake/PostgreSQL; %.0f%% of the run's %d cores, load %.1f)" % (
                    100 * (cpu_srv + cpu_fake + cpu_pg) / (wall * os.cpu_count()),
                    os.cpu_count(), os.getloadavg()[0]))
    finally:
        pg.stop()
        fake.terminate()
        fake.wait()
        if not os.environ.get("HETU_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
