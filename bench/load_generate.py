# SPDX-License-Identifier: MIT
"""Benchmark "batch" (run through bench/batch.sh): the seed API's concurrency against the fake
provider answering after LATENCY ms.

1. save_samples_batch with N samples and a provider window of N: wall time against the ideal
   (one model latency plus the write, the write measured alone by a batch of N samples that
   carry their outputs and so make no model call).
2. N concurrent generate_samples requests from one asyncio client (one connection each, all
   sent at once): every answer must be 200; the server's thread count (/proc/PID/status) is
   sampled throughout and must stay at its idle value (the pool does not grow per request).
   Then a sustained run with wrk at N connections against hetu and, as the ceiling measured in
   the same run, wrk at N connections against the fake provider directly.

Prints "batch: figure = value unit" lines. Exits 1 when something failed (an error answer, a
server that would not start, threads that grew), never because a target was missed.
Standard library only."""

import argparse
import asyncio
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NAME = "batch"
ROOT = Path(__file__).resolve().parents[1]
errors = []


def out(figure, value, unit=""):
    print(("%s: %s = %s %s" % (NAME, figure, value, unit)).rstrip(), flush=True)


def fail(msg):
    print("%s: error: %s" % (NAME, msg), file=sys.stderr, flush=True)
    errors.append(msg)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit("%s: %s did not happen in %.0f s" % (NAME, what, timeout))


class Http:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
            c.request(method, path, body=data,
                      headers={"Content-Type": "application/json"} if data else {})
            r = c.getresponse()
            raw = r.read()
            return r.status, dict(r.getheaders()), raw
        finally:
            c.close()

    def ok(self, method, path, body=None):
        st, _, raw = self.call(method, path, body)
        if st != 200:
            raise SystemExit("%s: %s %s -> %d %s" % (NAME, method, path, st, raw[:300]))
        return json.loads(raw)


def threads_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class ThreadWatch:
    """Samples a process's thread count every 10 ms in the background."""

    def __init__(self, pid):
        self.pid = pid
        self.samples = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            n = threads_of(self.pid)
            if n is not None:
                self.samples.append(n)
            time.sleep(0.01)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


async def one_request(port, raw, results, started):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    except OSError as exc:
        results.append(("connect", str(exc)))
        return
    await started.wait()
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length)
        results.append((status, body))
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        results.append(("io", repr(exc)))
    finally:
        writer.close()


async def wave(port, path, body, n, extra=b""):
    """Opens n connections, then sends n requests at once; returns (results, seconds)."""
    data = json.dumps(body).encode()
    raw = (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n%s\r\n" % (path.encode(), len(data), extra)
           + data)
    results = []
    started = asyncio.Event()
    tasks = [asyncio.ensure_future(one_request(port, raw, results, started)) for _ in range(n)]
    await asyncio.sleep(0)
    # let the connections open before the clock starts
    for _ in range(200):
        await asyncio.sleep(0.01)
        if all(t.done() for t in tasks):
            break
    t0 = time.monotonic()
    started.set()
    await asyncio.gather(*tasks)
    return results, time.monotonic() - t0


def run_wrk(url, script, conns, duration, env=None):
    cmd = ["wrk", "-t2", "-c%d" % conns, "-d%s" % duration, "--timeout", "10s", "-s", script, url]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    text = p.stdout + p.stderr
    rps = total = None
    non2xx = sockerr = 0
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Requests/sec:"):
            rps = float(s.split()[1])
        elif "requests in" in s:
            total = int(s.split()[0])
        elif s.startswith("Non-2xx or 3xx responses:"):
            non2xx = int(s.split()[-1])
        elif s.startswith("Socket errors:"):
            parts = s.replace(",", "").split()
            sockerr = sum(int(parts[i]) for i in (3, 5, 7, 9))
    if p.returncode != 0 or rps is None:
        fail("wrk failed against %s: %s" % (url, text.strip().replace("\n", " | ")))
    return rps, total, non2xx, sockerr, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hetu", default=str(ROOT / "build" / "hetu"))
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--duration", default="10s")
    args = ap.parse_args()
    n, lat = args.n, args.latency
    tmp = Path(tempfile.mkdtemp(prefix="hetu-bench-batch-"))
    procs = []

    def cleanup():
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    try:
        # the fake provider, without its request log (as in its own throughput table)
        fake = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests/fake/fake_llm.py"), "--port",
                                 "0", "--port-file", str(tmp / "fport"), "--no-log", "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=open(tmp / "fake.err", "wb"))
        procs.append(fake)
        fport = int(wait_for(lambda: (tmp / "fport").exists() and (tmp / "fport").read_text().strip(),
                             10, "the fake provider starting"))
        cfg = {"providers": {"together_ai": {"concurrency": n, "max_attempts": 1, "timeout_s": 60}}}
        (tmp / "hetu.json").write_text(json.dumps(cfg))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HETU_")}
        env.update({"HETU_TOGETHER_AI_BASE_URL": "http://127.0.0.1:%d/v1" % fport,
                    "TOGETHERAI_API_KEY": "sk-bench", "HETU_LOG_LEVEL": "warn",
                    "HETU_USER": "bench"})
        hout = open(tmp / "hetu.out", "wb")
        hetu = subprocess.Popen([args.hetu, "serve", "--host", "127.0.0.1", "--port", "0", "--db",
                                 str(tmp / "bench.db"), "--config", str(tmp / "hetu.json")],
                                stdout=hout, stderr=open(tmp / "hetu.err", "wb"), env=env)
        procs.append(hetu)

        def listening():
            t = (tmp / "hetu.out").read_text()
            return t.rsplit(":", 1)[1].strip() if "listening on" in t else None
        port = int(wait_for(listening, 20, "hetu starting"))
        api = Http(port)
        pid = api.ok("POST", "/api/project", {"name": "batch bench"})["id"]
        tid = api.ok("POST", "/api/projects/%s/task" % pid, {
            "name": "翻译", "instruction": "Translate the input into English.",
            "requirements": [{"name": "准确", "instruction": "Keep the meaning."}]})["id"]
        ds = "/api/dataset/projects/%s/tasks/%s/" % (pid, tid)
        model = "bench+latency=%d" % lat
        time.sleep(0.3)
        idle_threads = threads_of(hetu.pid)
        out("server_threads_idle", idle_threads, "threads")

        # ---- 1. save_samples_batch
        def batch(with_output, tag):
            samples = []
            for i in range(n):
                s = {"input": "样本 %s %d: 今天天气很好。" % (tag, i), "topic_path": ["天气", "晴天"],
                     "input_model_name": "bench", "input_provider": "together_ai",
                     "prompt_method": "default"}
                if with_output:
                    s["output"] = "The weather is fine today (%d)." % i
                else:
                    s["output_model_name"] = model
                    s["output_provider"] = "together_ai"
                samples.append(s)
            t0 = time.monotonic()
            st, hdrs, raw = api.call("POST", ds + "save_samples_batch", {"samples": samples})
            took = time.monotonic() - t0
            if st != 200:
                fail("save_samples_batch -> %d %s" % (st, raw[:300]))
                return None
            runs = json.loads(raw)
            if len(runs) != n or hdrs.get("X-Hetu-Failed", "0") != "0":
                fail("save_samples_batch saved %d of %d (X-Hetu-Failed %s)"
                     % (len(runs), n, hdrs.get("X-Hetu-Failed")))
            return took

        batch(True, "warm")  # warm the store
        writes = [w for w in (batch(True, "w%d" % i) for i in range(args.repeat)) if w is not None]
        with ThreadWatch(hetu.pid) as tw1:
            models = [m for m in (batch(False, "m%d" % i) for i in range(args.repeat)) if m is not None]
        if writes and models:
            write = statistics.median(writes)
            wall = statistics.median(models)
            ideal = lat / 1000.0 + write
            out("batch_write_%d" % n, "%.3f" % write, "s (median; outputs given, no model call)")
            out("batch_wall_%d" % n, "%.3f" % wall, "s (median of %s)"
                % ", ".join("%.3f" % m for m in models))
            out("batch_ideal_%d" % n, "%.3f" % ideal, "s (%.1f s latency + write)" % (lat / 1000))
            out("batch_ratio", "%.2f" % (wall / ideal), "x ideal (median; target <= 1.2)")
            out("batch_ratio_best", "%.2f" % (min(models) / (lat / 1000.0 + min(writes))),
                "x ideal (best run against the best write)")
        # the same burst of n model calls sent straight to the fake by this client: what the
        # fake itself needs for n concurrent calls (an upper bound: it includes this client)
        chat = {"model": model, "messages": [{"role": "system", "content": "Translate."},
                                             {"role": "user", "content": "今天天气很好。"}]}
        fres, ftook = asyncio.run(wave(fport, "/v1/chat/completions", chat, n,
                                       b"Authorization: Bearer sk-bench\r\n"))
        if sum(1 for r in fres if r[0] == 200) != n:
            fail("the fake answered %d of %d burst calls" % (sum(1 for r in fres if r[0] == 200), n))
        out("fake_burst_%d" % n, "%.3f" % ftook, "s (%d concurrent calls straight to the fake)" % n)
        if models:
            out("batch_vs_fake_burst", "%.2f" % (statistics.median(models) / (ftook + write)),
                "x (fake burst + write)")
        out("server_threads_max_during_batch", max(tw1.samples) if tw1.samples else "?", "threads")

        # ---- 2. N concurrent generate_samples requests
        body = {"topic": ["天气"], "num_samples": 1, "model_name": model, "provider": "together_ai"}
        with ThreadWatch(hetu.pid) as tw2:
            results, took = asyncio.run(wave(port, ds + "generate_samples", body, n))
        ok = sum(1 for r in results if r[0] == 200)
        bad = [r for r in results if r[0] != 200]
        out("generate_wave_ok", "%d/%d" % (ok, n), "answered 200")
        if bad:
            fail("%d of %d generate_samples requests failed; first: %r" % (len(bad), n, bad[0]))
        else:
            for st, raw in results[:3]:
                items = json.loads(json.loads(raw)["output"]["output"])["generated_samples"]
                if len(items) != 1:
                    fail("generate_samples answered %d items, not 1" % len(items))
        out("generate_wave_wall", "%.3f" % took, "s for %d requests" % n)
        out("generate_wave_throughput", "%.0f" % (n / took), "req/s")

        # sustained: wrk against hetu, then the fake alone (the ceiling)
        lua = tmp / "gen.lua"
        lua.write_text(
            'wrk.method = "POST"\nwrk.path = "%s"\nwrk.headers["Content-Type"] = '
            '"application/json"\nwrk.body = %s\n' % (ds + "generate_samples", json.dumps(json.dumps(body))))
        with ThreadWatch(hetu.pid) as tw3:
            h_rps, h_total, h_non2xx, h_sock, _ = run_wrk("http://127.0.0.1:%d" % port, str(lua), n,
                                                          args.duration)
        fake_rps, f_total, f_non2xx, f_sock, _ = run_wrk(
            "http://127.0.0.1:%d" % fport, str(ROOT / "tests/fake/bench_wrk.lua"), n, args.duration,
            env={"FAKE_MODEL": model})
        if h_rps is not None:
            out("generate_sustained", "%.0f" % h_rps, "req/s (wrk -c%d %s; %s requests)"
                % (n, args.duration, h_total))
            if h_non2xx or h_sock:
                fail("wrk against hetu: %d non-2xx, %d socket errors" % (h_non2xx, h_sock))
        if fake_rps is not None:
            out("fake_ceiling", "%.0f" % fake_rps, "req/s (wrk -c%d straight to the fake)" % n)
            if f_non2xx or f_sock:
                fail("wrk against the fake: %d non-2xx, %d socket errors" % (f_non2xx, f_sock))
        target = 0.9 * n / (lat / 1000.0)
        out("throughput_target", "%.0f" % target, "req/s (0.9 x %d / %.1f s)" % (n, lat / 1000))
        if h_rps is not None:
            out("generate_vs_target", "%.2f" % (h_rps / target), "of target")
        if h_rps is not None and fake_rps:
            out("generate_vs_fake_ceiling", "%.2f" % (h_rps / fake_rps), "of ceiling")
        all_samples = tw2.samples + tw3.samples
        peak = max(all_samples) if all_samples else None
        out("server_threads_max_under_load", peak, "threads (idle %s)" % idle_threads)
        if peak is not None and idle_threads is not None and peak > idle_threads:
            fail("server threads grew from %d to %d under load" % (idle_threads, peak))
        if hetu.poll() is not None:
            fail("hetu died: %s" % (tmp / "hetu.err").read_text()[-500:])
        hetu.send_signal(signal.SIGTERM)
        try:
            rc = hetu.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        if rc != 0:
            fail("hetu exited %r after SIGTERM: %s" % (rc, (tmp / "hetu.err").read_text()[-500:]))
    finally:
        cleanup()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
