# SPDX-License-Identifier: MIT
"""GET .../stats over real HTTP: a task with known samples (sessions, topics, human and
generated inputs and outputs, ratings of every type, tags, Chinese text, repeated inputs) and
the exact value of every key; an empty task; unknown ids; the provenance imports record; and
`hetu stats` on the command line."""

import json
import math
import subprocess
import time

import pytest

import testdb
from hetu_http import assert_error
from test_generate import check_taskrun, gen  # noqa: F401
from test_import import csv_bytes, jsonl_bytes, multipart, qs

KEYS = ["total", "topics", "sessions", "sources", "input_models", "input_providers",
        "output_models", "output_providers", "prompt_methods", "ratings", "tags", "usage",
        "input_chars", "output_chars", "exact_duplicates", "exact_duplicate_share",
        "near_duplicate_share", "keys_left_out"]


def stats_path(pid, tid):
    return "/api/projects/%s/tasks/%s/stats" % (pid, tid)


def get_stats(gen, pid, tid):
    r = gen.c.get(stats_path(pid, tid))
    assert r.status == 200, r
    body = r.json()
    assert list(body) == KEYS
    return body


def save(gen, pid, tid, session=None, **s):
    q = "?session_id=" + session if session else ""
    r = gen.c.post(gen.ds(pid, tid, "save_sample") + q, s)
    assert r.status == 200, r
    return check_taskrun(r.json(), saved=True)


def rate(gen, pid, tid, run, rating):
    r = gen.c.patch(gen.runs_path(pid, tid, "/" + run["id"]), {"rating": rating})
    assert r.status == 200, r


def nearest_rank(values, q):
    v = sorted(values)
    return v[max(1, math.ceil(q * len(v))) - 1]


def keyed(*pairs):
    return [{"key": k, "count": n} for k, n in pairs]


@pytest.fixture(scope="module")
def data(gen):
    """Six samples: A..D saved with outputs, E generated alone, F generated in a batch with a
    chain-of-thought method. A and C share an input, as do B and F (saving records the hash of
    each normalised input). A cost needs prices, which the fake provider has none of: it is
    written into the store."""
    pid, tid = gen.task()
    model = gen.model()
    seed = {"input_model_name": "in-m", "input_provider": "together_ai"}
    runs = {
        "A": save(gen, pid, tid, "S1", input="你好世界", output="好的", topic_path=["a", "b"],
                  tags=["golden"], **seed),
        "B": save(gen, pid, tid, "S1", input="hello world", output="ok", topic_path=["a"]),
        "C": save(gen, pid, tid, "S2", input="你好世界", output="好的好的",
                  topic_path=["主题", "路径"]),
        "D": save(gen, pid, tid, None, input="一" * 100, output="x"),
        "E": save(gen, pid, tid, "S2", input="为什么天是蓝的", topic_path=["a", "b"],
                  output_model_name=model, output_provider="together_ai",
                  prompt_method="default", **seed),
    }
    r = gen.c.post(gen.ds(pid, tid, "save_samples_batch") + "?session_id=S2", {"samples": [
        dict(seed, input="hello world", topic_path=["a"], output_model_name=model,
             output_provider="together_ai",
             prompt_method="simple_chain_of_thought_prompt_builder")]})
    assert r.status == 200, r
    runs["F"] = check_taskrun(r.json()[0], saved=True)
    rate(gen, pid, tid, runs["A"], {"type": "five_star", "value": 5})
    rate(gen, pid, tid, runs["B"], {"type": "five_star", "value": 3})
    rate(gen, pid, tid, runs["C"], {"type": "pass_fail", "value": True})
    rate(gen, pid, tid, runs["D"], {"type": "pass_fail", "value": False})
    rate(gen, pid, tid, runs["E"], {"type": "pass_fail_critical", "value": -1})
    # The fake provider has no prices: the costs the engine would have recorded.
    for k, cost in (("E", 0.25), ("F", 0.5)):
        testdb.sql(gen.srv.db, "UPDATE samples SET cost = ? WHERE id = ?", (cost, int(runs[k]["id"])))
    return pid, tid, model, runs


def test_counts_by_dimension(gen, data):
    pid, tid, model, runs = data
    s = get_stats(gen, pid, tid)
    assert s["total"] == 6
    assert s["sessions"] == keyed(("S2", 3), ("S1", 2), (None, 1))
    assert s["sources"] == keyed(("human", 3), ("synthetic", 3))
    assert s["input_models"] == keyed(("in-m", 3), (None, 3))
    assert s["input_providers"] == keyed(("together_ai", 3), (None, 3))
    assert s["output_providers"] == keyed((None, 4), ("together_ai", 2))
    assert s["prompt_methods"] == keyed((None, 4), ("simple_chain_of_thought_prompt_builder", 1),
                                        ("simple_prompt_builder", 1))
    assert s["tags"] == keyed(("synthetic", 6), ("synthetic_session_S2", 3),
                              ("synthetic_session_S1", 2), ("golden", 1))
    assert s["keys_left_out"] == 0


def test_topic_tree(gen, data):
    pid, tid, _, _ = data
    t = get_stats(gen, pid, tid)["topics"]

    def node(name, path, n, children):
        return {"name": name, "path": path, "sample_count": n, "children": children}
    assert t == node("root", [], 6, [
        node("a", ["a"], 4, [node("b", ["a", "b"], 2, [])]),
        node("主题", ["主题"], 1, [node("路径", ["主题", "路径"], 1, [])])])


def test_ratings(gen, data):
    pid, tid, _, _ = data
    assert get_stats(gen, pid, tid)["ratings"] == {
        "five_star": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1},
        "pass_fail": {"pass": 1, "fail": 1, "critical": 1},
        "other": 0, "unrated": 1}


def test_usage_by_output_model(gen, data):
    pid, tid, model, runs = data
    s = get_stats(gen, pid, tid)
    gen_runs = [runs["E"], runs["F"]]
    sums = {k: sum(r["usage"][k] for r in gen_runs)
            for k in ("input_tokens", "output_tokens", "total_tokens")}
    assert all(sums[k] > 0 for k in sums), gen_runs
    cost = 0.75  # set in the store by the fixture
    assert s["output_models"] == [
        {"key": None, "count": 4, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
         "cost": None},
        dict({"key": model, "count": 2}, **sums, cost=cost)]
    assert s["usage"] == dict(sums, cost=cost, samples=2)


def test_lengths_in_code_points(gen, data):
    pid, tid, _, runs = data
    s = get_stats(gen, pid, tid)
    assert s["input_chars"] == {"p50": 7, "p90": 100, "p99": 100, "max": 100, "mean": 22.83}
    outs = [len(r["output"]["output"]) for r in runs.values()]
    assert sorted(outs)[:4] == [1, 2, 2, 4]
    assert s["output_chars"] == {
        "p50": nearest_rank(outs, 0.5), "p90": nearest_rank(outs, 0.9),
        "p99": nearest_rank(outs, 0.99), "max": max(outs),
        "mean": round(sum(outs) / 6, 2)}


def test_exact_duplicate_share(gen, data):
    pid, tid, _, _ = data
    s = get_stats(gen, pid, tid)
    assert s["exact_duplicates"] == 2
    # 2 repeats of 6 samples, each with a hash (written with 15 significant digits)
    assert s["exact_duplicate_share"] == pytest.approx(2 / 6, rel=1e-14)
    assert s["near_duplicate_share"] is None


def test_empty_task(gen):
    pid, tid = gen.task()
    s = get_stats(gen, pid, tid)
    assert s == {
        "total": 0,
        "topics": {"name": "root", "path": [], "sample_count": 0, "children": []},
        "sessions": [], "sources": [], "input_models": [], "input_providers": [],
        "output_models": [], "output_providers": [], "prompt_methods": [],
        "ratings": {"five_star": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
                    "pass_fail": {"pass": 0, "fail": 0, "critical": 0}, "other": 0,
                    "unrated": 0},
        "tags": [],
        "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost": None,
                  "samples": 0},
        "input_chars": None, "output_chars": None, "exact_duplicates": 0,
        "exact_duplicate_share": None, "near_duplicate_share": None, "keys_left_out": 0}


def test_unknown_ids_404(gen, data):
    pid, tid, _, _ = data
    assert_error(gen.c.get(stats_path(pid, "999999999999")), 404, "not_found")
    assert_error(gen.c.get(stats_path("999999999999", tid)), 404, "not_found")


def upload(gen, pid, tid, name, data, **params):
    body, hdrs = multipart(name, data)
    r = gen.c.post(gen.ds(pid, tid, "import_samples_from_file") + qs(params), body, headers=hdrs)
    assert r.status == 200, r
    return r.json()


@pytest.mark.parametrize("rows", [2, 150])  # inside the request; as an import job
def test_imports_record_models(gen, rows):
    pid, tid = gen.task()
    body = upload(gen, pid, tid, "rows.jsonl",
                  jsonl_bytes({"input": "问题 %d" % i, "output": "答"} for i in range(rows)),
                  input_model_name="in-m", input_provider="together_ai",
                  output_model_name="out-m", output_provider="openai", session_id="imp")
    if body["status"] == "import_started":
        gen.c.timeout = 60
        for _ in range(600):
            j = gen.c.get(gen.ds(pid, tid, "jobs/" + body["job_id"])).json()
            if j["status"] == "completed":
                break
            time.sleep(0.05)
        assert j["status"] == "completed", j
    s = get_stats(gen, pid, tid)
    assert s["total"] == rows
    assert s["sources"] == keyed(("file_import", rows))
    assert s["sessions"] == keyed(("imp", rows))
    assert s["input_models"] == keyed(("in-m", rows))
    assert s["input_providers"] == keyed(("together_ai", rows))
    assert s["output_models"] == [{"key": "out-m", "count": rows, "input_tokens": 0,
                                   "output_tokens": 0, "total_tokens": 0, "cost": None}]
    assert s["output_providers"] == keyed(("openai", rows))
    assert s["prompt_methods"] == keyed((None, rows))
    assert s["tags"] == keyed(("imported", rows), ("imported_imp", rows))


def test_cli_stats(gen, data, hetu_bin):
    pid, tid, model, _ = data
    base = ["--server", gen.srv.base_url, "-p", pid]
    out = subprocess.run([str(hetu_bin), "stats", "-t", tid, "--json"] + base, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == get_stats(gen, pid, tid)
    out = subprocess.run([str(hetu_bin), "stats", "-t", tid] + base, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "samples  6" in text
    assert "S2" in text and "主题" in text and "simple_chain_of_thought_prompt_builder" in text
    assert "exact duplicates  2 (33.3%)" in text
    assert "P50" in text and "22.83" in text
    out = subprocess.run([str(hetu_bin), "stats", "-t", "999999999999"] + base, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 3  # the server answered with an error
    assert "task 999999999999 not found" in out.stderr
