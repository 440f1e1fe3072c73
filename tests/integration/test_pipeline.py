# SPDX-License-Identifier: MIT
"""The pipeline job over real HTTP against the fake provider: the tree, inputs, deduplication,
outputs and the judge in one job (exact counts, topic paths, provenance); a second run that fills
the gaps a wider breadth leaves; kill -9 in each stage and a restart that repeats no call for an
item recorded before the kill and stores no input twice; the budget (pause with its reason, spend
never past the cap with calls in flight, resume with a higher budget); cancel while running and
while paused; resume of other kinds of jobs."""

import json
import signal
import time
import urllib.parse
import urllib.request
import uuid

import pytest

import testdb
from hetu_http import assert_error
from test_import import Imp, fake_env, provider_config

STOPPED = ("completed", "completed_with_errors", "failed", "cancelled", "paused")
STAGES = ("topics", "inputs", "dedup", "outputs", "judge")


def model(tag, directives=""):
    return "pl-%s-%s%s" % (tag, uuid.uuid4().hex[:8], directives)


class Pipe(Imp):
    """A project and task on one server, with the calls these tests make."""

    def start(self, body):
        r = self.c.post(self.ds("pipelines"), body)
        assert r.status == 200, r
        out = r.json()
        assert out["status"] == "pipeline_started", out
        return out["job_id"]

    def wait(self, job_id, until=STOPPED, timeout=120):
        return self.wait_job(job_id, timeout=timeout, until=until)

    def resume(self, job_id, body=None):
        return self.c.post(self.ds("jobs/%s/resume" % job_id), body)

    def cancel(self, job_id):
        return self.c.post(self.ds("jobs/%s/cancel" % job_id))

    def tree(self):
        return self.c.ok("GET", self.ds("topics"))


def spec(models, depth=2, breadth=5, per_leaf=4, judge=True, **extra):
    body = {
        "topics": {"depth": depth, "breadth": breadth, "provider": "together_ai",
                   "model_name": models["topics"]},
        "inputs": {"per_leaf": per_leaf, "provider": "together_ai", "model_name": models["inputs"]},
        "outputs": {"provider": "together_ai", "model_name": models["outputs"],
                    "prompt_method": "simple_prompt_builder"},
    }
    if judge:
        body["judge"] = {"provider": "together_ai", "model_name": models["judge"], "keep": 3}
    body.update(extra)
    return body


def stage_models(tag, slow=None, latency=""):
    """A model per stage (each call's stage is its model), `slow` with `latency`."""
    return {s: model("%s-%s" % (tag, s), latency if s == slow else "") for s in STAGES}


def fake_calls(fake_llm, name):
    """The fake's logged requests for one model string: [(seq, text of the messages)]."""
    q = urllib.parse.urlencode({"model": name, "limit": 10000})
    with urllib.request.urlopen("%s/_requests?%s" % (fake_llm, q), timeout=30) as f:
        reqs = json.loads(f.read())["requests"]
    out = []
    for r in reqs:
        msgs = (r.get("body") or {}).get("messages") or []
        out.append((r["seq"], "\n".join(m["content"] if isinstance(m.get("content"), str)
                                        else json.dumps(m.get("content")) for m in msgs)))
    return out


def leaves(node, path=()):
    if not node["children"]:
        return [(path, node["sample_count"])]
    out = []
    for c in node["children"]:
        out += leaves(c, path + (c["name"],))
    return out


def server(start_server, fake_llm, tmp_path, window=1000, db=None, config=None):
    args = ["--job-window", str(window)] + (config or provider_config(tmp_path))
    return start_server(env=fake_env(fake_llm), args=args, db=db)


# ---- the whole path ----


def check_samples(p, models, n_leaves, per_leaf):
    runs = p.all_runs()
    tree = p.tree()
    lv = leaves(tree)
    assert len(lv) == n_leaves and all(len(path) == 2 for path, _ in lv), lv
    assert sorted(n for _, n in lv) == [per_leaf] * n_leaves, lv
    inputs = [r["input"] for r in runs]
    assert len(runs) == n_leaves * per_leaf and len(set(inputs)) == len(inputs)
    leaf_paths = {">>>>>".join(path) for path, _ in lv}
    for r in runs:
        src = r["input_source"]
        assert src["type"] == "synthetic", r
        assert src["properties"]["model_name"] == models["inputs"], r
        assert src["properties"]["model_provider"] == "together_ai", r
        assert src["properties"]["topic_path"] in leaf_paths, r
        out = r["output"]["source"]
        assert (out["type"], out["properties"]["model_name"], out["properties"]["prompt_id"]) == \
            ("synthetic", models["outputs"], "simple_prompt_builder"), r
    return runs


def test_depth_2_breadth_5_then_6_fills_only_the_gaps(start_server, fake_llm, tmp_path):
    p = Pipe(server(start_server, fake_llm, tmp_path))
    models = stage_models("tree")
    job_id = p.start(spec(models))
    j = p.wait(job_id)
    assert (j["status"], j["error"], j["failed"]) == ("completed", None, 0), j
    st = j["stages"]
    assert (st["topics"]["items"], st["topics"]["produced"], st["topics"]["calls"]) == (31, 30, 6)
    assert (st["inputs"]["items"], st["inputs"]["produced"], st["inputs"]["calls"]) == (25, 100, 25)
    assert (st["dedup"]["items"], st["dedup"]["produced"], st["dedup"]["calls"]) == (25, 100, 0)
    assert (st["outputs"]["done"], st["outputs"]["produced"], st["outputs"]["calls"]) == \
        (100, 100, 100)
    assert (st["judge"]["done"], st["judge"]["produced"], st["judge"]["calls"]) == (100, 100, 100)
    assert j["spent"]["calls"] == 6 + 25 + 100 + 100
    assert j["spent"]["tokens"] == sum(s["input_tokens"] + s["output_tokens"] for s in st.values())
    assert set(st["outputs"]["estimate"]) >= {"calls", "input_tokens", "output_tokens"}
    runs = check_samples(p, models, 25, 4)
    assert all("judge_reasoning" in r["intermediate_outputs"] for r in runs)
    assert len(fake_calls(fake_llm, models["outputs"])) == 100

    # breadth 6: one new child per node, samples for the new leaves alone
    job2 = p.start(spec(models, breadth=6))
    j2 = p.wait(job2)
    assert (j2["status"], j2["failed"]) == ("completed", 0), j2
    assert j2["stages"]["topics"]["produced"] == 1 + 5 + 6
    assert j2["stages"]["outputs"]["done"] == 11 * 4
    check_samples(p, models, 36, 4)
    assert len(fake_calls(fake_llm, models["outputs"])) == 144


def test_near_duplicates_dropped_before_outputs(start_server, fake_llm, tmp_path):
    """The fake's inputs of one call ("generated_samples TAG 1", "... 2") share one of the two
    word pairs each has (Jaccard 1/3): near deduplication at 0.2 keeps one per call, exact
    deduplication alone keeps them all."""
    srv = server(start_server, fake_llm, tmp_path)
    near, exact = Pipe(srv), Pipe(srv)
    job_near = near.start(spec(stage_models("near"), depth=1, breadth=2, per_leaf=4, judge=False,
                               dedup={"exact": True, "near": True, "threshold": 0.2}))
    job_exact = exact.start(spec(stage_models("exact"), depth=1, breadth=2, per_leaf=4,
                                 judge=False))
    jn, je = near.wait(job_near), exact.wait(job_exact)
    assert (jn["status"], je["status"]) == ("completed", "completed"), (jn, je)
    assert (jn["stages"]["inputs"]["produced"], jn["stages"]["dedup"]["produced"]) == (8, 2), jn
    assert (je["stages"]["inputs"]["produced"], je["stages"]["dedup"]["produced"]) == (8, 8), je
    assert (len(near.all_runs()), len(exact.all_runs())) == (2, 8)


# ---- kill -9 in each stage ----


def recorded_before_kill(db, job_id, stage):
    """The items of stage recorded (done) when the server died: their payloads."""
    rows = testdb.sql(db, "SELECT payload FROM job_items WHERE job_id = ? AND stage = ? AND "
                      "state = 1", (int(job_id), stage))
    payloads = [json.loads(testdb.text(r[0])) for r in rows]
    if stage == "judge":
        ids = [int(x["run_id"]) for x in payloads]
        inputs = {r[0] for r in testdb.sql(
            db, "SELECT input FROM samples WHERE id IN (%s)" % ",".join("?" * len(ids)), ids)}
        return payloads, inputs
    return payloads, None


def markers(stage, payloads, judged_inputs, tree):
    """Text that a call for each recorded item carries, and only such a call."""
    if stage == "topics":
        names = {path[0] for path, _ in leaves(tree)}
        out = []
        for x in payloads:
            if x["level"] == 0:
                out.append(("root", names))
            elif x["level"] == 1:
                out.append((x["path"][-1], None))
        return out
    if stage == "inputs":
        return [(x["path"][-1], None) for x in payloads]
    if stage == "outputs":
        return [(x["input"], None) for x in payloads]
    return [(t, None) for t in judged_inputs]


@pytest.mark.parametrize("stage,done_at_least", [("topics", 1), ("inputs", 2), ("outputs", 5),
                                                 ("judge", 5)])
def test_kill_9_in_a_stage_then_restart_repeats_nothing(start_server, fake_llm, tmp_path, stage,
                                                        done_at_least):
    srv = server(start_server, fake_llm, tmp_path, window=4)
    p = Pipe(srv)
    models = stage_models("kill-" + stage, slow=stage, latency="+latency=400")
    job_id = p.start(spec(models))
    deadline = time.monotonic() + 120
    while True:
        j = p.job(job_id)
        s = j.get("stages", {}).get(stage, {})
        if s.get("done", 0) >= done_at_least and s.get("pending", 0) > 0:
            break
        assert j["status"] in ("queued", "running") and time.monotonic() < deadline, j
        time.sleep(0.01)
    srv.stop(sig=signal.SIGKILL)
    killed_at = max([seq for m in models.values() for seq, _ in fake_calls(fake_llm, m)])
    payloads, judged = recorded_before_kill(srv.db, job_id, stage)
    assert len(payloads) >= done_at_least

    srv2 = server(start_server, fake_llm, tmp_path, window=4, db=srv.db)
    p2 = Pipe.__new__(Pipe)
    p2.srv, p2.c, p2.pid, p2.tid = srv2, srv2.client, p.pid, p.tid
    p2.c.timeout = 120
    j = p2.wait(job_id)
    assert (j["status"], j["failed"], j["error"]) == ("completed", 0, None), j
    assert j["stages"]["outputs"]["done"] == 100 and j["stages"]["judge"]["done"] == 100, j
    check_samples(p2, models, 25, 4)
    later = [text for seq, text in fake_calls(fake_llm, models[stage]) if seq > killed_at]
    assert later, "the restarted job made no %s call: the kill came too late" % stage
    for marker, absent in markers(stage, payloads, judged, p2.tree()):
        if absent is not None:  # the root's call: the one that names no level-1 node
            repeated = [t for t in later if not any(n in t for n in absent)]
        else:
            repeated = [t for t in later if marker in t]
        assert not repeated, "a %s call for %r was made again after the restart" % (stage, marker)


# ---- the budget ----


def test_budget_pauses_before_the_cap_and_resume_goes_on(start_server, fake_llm, tmp_path):
    p = Pipe(server(start_server, fake_llm, tmp_path))
    models = stage_models("budget", slow="outputs", latency="+latency=200")
    body = spec(models, depth=1, breadth=2, per_leaf=5, judge=False, budget={"max_calls": 8})
    job_id = p.start(body)
    j = p.wait(job_id)
    assert j["status"] == "paused", j
    assert j["error"] == "budget: max_calls 8 would be passed (spent 8, next item about 1)", j
    assert j["budget"] == {"max_calls": 8, "max_tokens": None, "max_cost_usd": None}, j
    assert j["created_at"] <= j["started_at"], j
    assert j["spent"]["calls"] == 8
    calls = sum(len(fake_calls(fake_llm, m)) for m in models.values())
    assert calls == 8, "%d calls made under a cap of 8" % calls
    assert len(p.all_runs()) == 5

    # a paused job stays paused; a resume with a higher budget finishes without repeats
    time.sleep(0.5)
    assert p.job(job_id)["status"] == "paused"
    r = p.resume(job_id, {"budget": {"max_calls": 100}})
    assert r.status == 200 and r.json()["status"] == "queued", r
    j = p.wait(job_id, until=("completed", "completed_with_errors", "failed", "cancelled"))
    assert (j["status"], j["error"]) == ("completed", None), j
    assert j["budget"] == {"max_calls": 100, "max_tokens": None, "max_cost_usd": None}, j
    assert j["spent"]["calls"] == 13
    assert sum(len(fake_calls(fake_llm, m)) for m in models.values()) == 13
    inputs = [x["input"] for x in p.all_runs()]
    assert len(inputs) == 10 and len(set(inputs)) == 10
    assert len(fake_calls(fake_llm, models["outputs"])) == 10


def test_token_budget_counts_calls_in_flight(start_server, fake_llm, tmp_path):
    """Paused by a call budget once every stage has run, then resumed with a token budget room
    for about ten more outputs of the 35 left: the job pauses again, and what its calls spent
    (every call in flight landed first) stays within the cap. Without reserving what calls in
    flight will spend, all 35 would start at once and pass it."""
    p = Pipe(server(start_server, fake_llm, tmp_path))
    models = stage_models("tokens", slow="outputs", latency="+latency=300")
    job_id = p.start(spec(models, depth=1, breadth=2, per_leaf=20, judge=False,
                          budget={"max_calls": 8}))
    j = p.wait(job_id)
    assert (j["status"], j["stages"]["outputs"]["done"]) == ("paused", 5), j
    out = j["stages"]["outputs"]
    per_output = (out["input_tokens"] + out["output_tokens"]) / 5
    cap = int(j["spent"]["tokens"] + 10.5 * per_output)
    r = p.resume(job_id, {"budget": {"max_tokens": cap}})
    assert r.status == 200, r
    j = p.wait(job_id)
    assert j["status"] == "paused", j
    assert j["error"].startswith("budget: max_tokens %d would be passed (spent " % cap), j
    assert j["spent"]["tokens"] <= cap, j
    assert 5 < j["stages"]["outputs"]["done"] < 40, j
    assert j["spent"]["calls"] == sum(len(fake_calls(fake_llm, m)) for m in models.values())

    r = p.resume(job_id, {"budget": {"max_tokens": cap * 100}})
    assert r.status == 200, r
    j = p.wait(job_id)
    assert (j["status"], j["error"]) == ("completed", None), j
    assert len(fake_calls(fake_llm, models["outputs"])) == 40
    assert len(fake_calls(fake_llm, models["inputs"])) == 2


def test_cost_budget_pauses_with_the_reason(start_server, fake_llm, tmp_path):
    """Priced at one dollar a token: a cost cap behaves as the token cap does, and the pause
    names it with what was spent and what the next call would cost."""
    cfg = tmp_path / "priced.json"
    cfg.write_text(json.dumps({"providers": {"together_ai": {
        "concurrency": 2000, "price_input_per_mtok": 1000000, "price_output_per_mtok": 1000000}}}))
    p = Pipe(server(start_server, fake_llm, tmp_path, config=["--config", str(cfg)]))
    models = stage_models("cost", slow="outputs", latency="+latency=300")
    job_id = p.start(spec(models, depth=1, breadth=2, per_leaf=20, judge=False,
                          budget={"max_calls": 8}))
    j = p.wait(job_id)
    assert (j["status"], j["stages"]["outputs"]["done"]) == ("paused", 5), j
    assert j["spent"]["cost_usd"] == j["spent"]["tokens"], j
    out = j["stages"]["outputs"]
    cap = j["spent"]["cost_usd"] + 10.5 * out["cost_usd"] / 5
    r = p.resume(job_id, {"budget": {"max_cost_usd": cap}})
    assert r.status == 200, r
    j = p.wait(job_id)
    assert j["status"] == "paused", j
    assert j["error"].startswith("budget: max_cost_usd %.2f would be passed (spent " % cap), j
    assert ", next call about " in j["error"], j
    assert j["spent"]["cost_usd"] <= cap and 5 < j["stages"]["outputs"]["done"] < 40, j
    assert j["budget"] == {"max_cost_usd": cap, "max_calls": None, "max_tokens": None}, j


def test_judge_job_pauses_at_its_budget_and_resumes(start_server, fake_llm, tmp_path):
    """A judge job (POST .../judge) is run by the same driver: one item per sample, its budget
    a hard cap, a resume with a higher one rating only the samples left."""
    p = Pipe(server(start_server, fake_llm, tmp_path))
    j = p.wait(p.start(spec(stage_models("tojudge"), depth=1, breadth=1, per_leaf=3,
                            judge=False)))
    assert j["status"] == "completed", j
    judge = model("judge-job")
    r = p.c.post(p.ds("judge"), {"provider": "together_ai", "model_name": judge,
                                 "budget": {"max_calls": 1}})
    assert r.status == 200 and r.json()["status"] == "judge_started", r
    job_id = r.json()["job_id"]
    j = p.wait(job_id)
    assert (j["kind"], j["status"]) == ("judge", "paused"), j
    assert j["error"] == "budget: max_calls 1 would be passed (spent 1, next item about 1)", j
    assert (j["stages"]["judge"]["done"], j["spent"]["calls"]) == (1, 1), j
    assert p.resume(job_id, {"budget": {"max_calls": 10}}).status == 200
    j = p.wait(job_id)
    assert (j["status"], j["stages"]["judge"]["done"], j["spent"]["calls"]) == \
        ("completed", 3, 3), j
    assert len(fake_calls(fake_llm, judge)) == 3
    assert all("judge_reasoning" in x["intermediate_outputs"] for x in p.all_runs())


def test_resume_budget_refused_for_an_import_and_for_a_running_job(start_server, fake_llm,
                                                                   tmp_path):
    p = Pipe(server(start_server, fake_llm, tmp_path))
    bad = model("imp", "+nosuchdirective")
    r = p.run_async([{"input": "行%03d" % i, "output_model_name": bad,
                      "output_provider": "together_ai"} for i in range(120)])
    assert r.status == 200, r
    imp_id = r.json()["job_id"]
    j = p.wait(imp_id)
    assert j["status"] == "failed", j
    assert_error(p.resume(imp_id, {"budget": {"max_calls": 5}}), 422, "invalid", field="budget",
                 mentions=("import_samples",))
    assert p.job(imp_id)["status"] == "failed"
    # a resume without a body still works for an import
    r = p.resume(imp_id)
    assert r.status == 200 and r.json()["status"] == "queued", r
    assert p.wait(imp_id, until=("failed",))["status"] == "failed"

    models = stage_models("resume-running", slow="outputs", latency="+latency=2000")
    job_id = p.start(spec(models, depth=1, breadth=2, per_leaf=3, judge=False))
    p.wait(job_id, until=("running",))
    assert_error(p.resume(job_id, {"budget": {"max_calls": 5}}), 409, "conflict",
                 mentions=("is running",))
    assert_error(p.resume(job_id, {"budget": {"max_calls": "many"}}), 422, "invalid")
    p.cancel(job_id)
    assert p.wait(job_id)["status"] == "cancelled"


# ---- cancel ----


def test_cancel_while_running_stops_every_stage(start_server, fake_llm, tmp_path):
    p = Pipe(server(start_server, fake_llm, tmp_path))
    models = stage_models("cancel", slow="outputs", latency="+latency=1500")
    job_id = p.start(spec(models, depth=1, breadth=3, per_leaf=10))
    deadline = time.monotonic() + 60
    while p.job(job_id)["stages"].get("outputs", {}).get("items", 0) < 30:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    r = p.cancel(job_id)
    assert r.status == 200, r
    j = p.wait(job_id)
    assert j["status"] == "cancelled", j
    calls = {s: len(fake_calls(fake_llm, m)) for s, m in models.items()}
    time.sleep(1)
    assert {s: len(fake_calls(fake_llm, m)) for s, m in models.items()} == calls
    assert p.job(job_id)["status"] == "cancelled"
    assert calls["judge"] == 0 and len(p.all_runs()) == 0

    # resumed, it finishes what was left
    r = p.resume(job_id)
    assert r.status == 200, r
    j = p.wait(job_id, until=("completed", "completed_with_errors", "failed"))
    assert j["status"] == "completed", j
    inputs = [x["input"] for x in p.all_runs()]
    assert len(inputs) == 30 and len(set(inputs)) == 30
    assert len(fake_calls(fake_llm, models["topics"])) == 1
    assert len(fake_calls(fake_llm, models["inputs"])) == 3


def test_cancel_while_paused_is_at_once(start_server, fake_llm, tmp_path):
    p = Pipe(server(start_server, fake_llm, tmp_path))
    models = stage_models("cancel-paused")
    job_id = p.start(spec(models, depth=1, breadth=2, per_leaf=2, judge=False,
                          budget={"max_calls": 2}))
    assert p.wait(job_id)["status"] == "paused"
    r = p.cancel(job_id)
    assert r.status == 200 and r.json()["status"] == "cancelled", r
    j = p.job(job_id)
    assert j["status"] == "cancelled" and j["finished_at"] is not None, j
