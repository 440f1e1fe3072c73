# SPDX-License-Identifier: MIT
"""Benchmark "pipeline" (run through bench/pipeline.sh).

Starts the fake provider (tests/fake/fake_llm.py) and a server whose openai provider points at
it with nothing but its address and key configured (so the engine's default window), makes a
task whose instruction and requirements mix Chinese and English with quotes, asks for the dry
run's estimate (with nothing stored: the default lengths; then with three samples as long
as the fake's answers stored, so lengths are measured), then runs the pipeline: depth 2, breadth 10, 100 inputs a leaf, every call
answered after LATENCY ms (the fake's latency directive), with the default deduplication
(exact): the fake's inputs differ from leaf to leaf, so all 10,000 reach the outputs stage.

The ideal is the critical path at the window the engine used: the stages depend on each other
(the root's subtopics, then the level-1 nodes' subtopics, then the leaves' inputs, then the
outputs), and a stage's calls cannot take less than ceil(calls / window) rounds of LATENCY:
    ideal = sum over stages of ceil(calls / window) * LATENCY
with window = the engine's window for the model (GET /api/providers, sampled while the job runs;
the widest seen, so the ideal is the smallest), capped by the job window of the server (items
of a job in flight). Wall time: from the POST to the job's end. Target: wall / ideal <= 1.3.

Prints "pipeline: figure = value unit" lines."""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from hetu_http import Server  # noqa: E402

TARGET = 1.3
JOB_WINDOW = 1000  # serve's default --job-window
KEY = "sk-bench-pipeline"
STAGES = ["topics", "inputs", "dedup", "outputs", "judge"]


def say(figure, value, unit=""):
    print(("pipeline: %s = %s %s" % (figure, value, unit)).rstrip(), flush=True)


def start_fake(workdir):
    port_file = workdir / "fake.port"
    log = open(workdir / "fake.log", "wb")
    proc = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests" / "fake" / "fake_llm.py"),
                             "--port", "0", "--port-file", str(port_file), "--no-log"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip().isdigit():
            return proc, "http://127.0.0.1:%s" % port_file.read_text().strip()
        time.sleep(0.02)
    proc.kill()
    sys.exit("pipeline: the fake provider did not start")


def window_of(c, model):
    """The engine's window for openai/model (the provider's while the model has no lane)."""
    for p in c.ok("GET", "/api/providers")["providers"]:
        if p["name"] != "openai":
            continue
        for w in p.get("windows") or []:
            if w.get("model") == model:
                return w["window"]
        return p["window"]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hetu", required=True)
    args = ap.parse_args()
    latency = int(os.environ.get("HETU_BENCH_PIPELINE_LATENCY_MS", "200"))
    breadth = int(os.environ.get("HETU_BENCH_PIPELINE_BREADTH", "10"))
    per_leaf = int(os.environ.get("HETU_BENCH_PIPELINE_PER_LEAF", "100"))
    work = Path(tempfile.mkdtemp(prefix="hetu-bench-pipeline-"))
    fake, base = start_fake(work)
    env = {"HETU_OPENAI_BASE_URL": base + "/v1", "OPENAI_API_KEY": KEY, "HETU_BIN": args.hetu}
    srv = Server(work / "srv", env=env, binary=args.hetu).start()
    try:
        run(srv.client, latency, breadth, per_leaf)
    finally:
        srv.stop()
        fake.terminate()
        fake.wait()


def run(c, latency, breadth, per_leaf):
    c.timeout = 120
    model = "bench-model+latency=%d" % latency
    p = c.new_project(name="基准 pipeline bench")
    t = c.new_task(p["id"], name="客服回复 \"support\" replies",
                   instruction="为顾客的问题写一段礼貌的回复。Answer the customer's question "
                               "politely, quoting the \"policy\" where it applies; 用中文或英文回答。",
                   requirements=[{"name": "礼貌 polite", "instruction": "语气友好 (\"friendly\")"},
                                 {"name": "准确 accurate",
                                  "instruction": "Never invent a 'policy' that does not exist"}])
    path = "/api/dataset/projects/%s/tasks/%s/" % (p["id"], t["id"])
    body = {"topics": {"depth": 2, "breadth": breadth,
                       "human_guidance": ["产品线 \"product lines\"", "具体问题 specific issues"]},
            "inputs": {"per_leaf": per_leaf},
            "outputs": {"provider": "openai", "model_name": model}}
    # the estimate with nothing stored (the documented default lengths), then with three
    # samples as long as the fake's answers stored at the root (lengths measured on them)
    est_default = c.ok("POST", path + "pipelines", dict(body, dry_run=True))["estimate"]
    for i in range(3):
        text = "generated_samples %06x %d" % (i, i + 1)
        c.ok("POST", path + "save_sample", {
            "input": text, "output": "fake answer %06x: %s" % (i, text), "input_provider": "openai",
            "input_model_name": "m", "output_provider": "openai", "output_model_name": "m"})
    est = c.ok("POST", path + "pipelines", dict(body, dry_run=True))["estimate"]
    seen = []
    t0 = time.monotonic()
    job_id = c.ok("POST", path + "pipelines", body)["job_id"]
    while True:
        job = c.ok("GET", path + "jobs/" + job_id)
        w = window_of(c, model)
        if w:
            seen.append(w)
        if job["status"] not in ("queued", "running"):
            break
        time.sleep(0.25)
    wall = time.monotonic() - t0
    if job["status"] != "completed":
        sys.exit("pipeline: the job ended %s: %s" % (job["status"], job.get("error")))
    window = min(max(seen), JOB_WINDOW)
    st = job["stages"]
    # the dependent chain: the root's call, the level-1 nodes' calls, the leaves', the outputs'
    chain = [1, breadth, breadth * breadth, st["outputs"]["calls"]]
    assert st["topics"]["calls"] == 1 + breadth, st["topics"]
    assert st["inputs"]["calls"] == breadth * breadth, st["inputs"]
    ideal = sum(math.ceil(n / window) for n in chain) * latency / 1000.0
    samples = st["outputs"]["produced"]
    say("samples", samples)
    say("calls", sum(st[s]["calls"] for s in st))
    say("window", window, "calls (engine, for the model)")
    say("wall", "%.2f" % wall, "s")
    say("ideal", "%.2f" % ideal, "s (critical path at the window)")
    say("ratio", "%.2f" % (wall / ideal), "(target <= %.1f)" % TARGET)
    for s in ("topics", "inputs", "outputs"):
        e, a = est["stages"][s], st[s]
        say("%s tokens in estimated/actual" % s, "%d/%d" % (e["input_tokens"], a["input_tokens"]))
        say("%s tokens out estimated/actual" % s,
            "%d/%d" % (e["output_tokens"], a["output_tokens"]))
    at = sum(st[s]["input_tokens"] + st[s]["output_tokens"] for s in st)
    for label, e in (("with stored samples", est), ("defaults, nothing stored", est_default)):
        et = e["total"]["input_tokens"] + e["total"]["output_tokens"]
        say("tokens estimated/actual (%s)" % label,
            "%d/%d (%+.1f%%)" % (et, at, 100.0 * (et - at) / at))
    if samples != breadth * breadth * per_leaf:
        sys.exit("pipeline: %d samples, not %d" % (samples, breadth * breadth * per_leaf))


if __name__ == "__main__":
    main()
