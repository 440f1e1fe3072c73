# SPDX-License-Identifier: MIT
"""POST .../pipelines over real HTTP against the fake provider: refusals name their field, a dry
run stores nothing, the dry-run estimate is within 10 % of what the run used on the fake (whose
usage is deterministic: ceil(characters / 4) of the prompt and of the answer), an unknown price
is reported as unknown, a configured price gives the exact cost of the estimate's tokens, and
`hetu pipeline run --dry-run` prints the estimate as a table."""

import json
import math
import subprocess
import time
import uuid

import pytest

from hetu_http import Server, assert_error

SECRET = "sk-test-pipeline-1f2e3d"
PRICED = "m-priced"
PRICE_IN, PRICE_OUT = 0.15, 0.6
CONFIG = {"providers": {"openai": {
    "max_attempts": 2, "backoff_base_ms": 5, "backoff_max_ms": 20, "schema_retries": 1,
    "concurrency": 64,
    "models": {PRICED: {"price_input_per_mtok": PRICE_IN, "price_output_per_mtok": PRICE_OUT}}}}}
STAGES = ["topics", "inputs", "dedup", "outputs", "judge"]


@pytest.fixture(scope="module")
def srv(fake_llm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pipeline")
    cfg = workdir / "hetu.json"
    cfg.write_text(json.dumps(CONFIG))
    env = {"HETU_OPENAI_BASE_URL": fake_llm + "/v1", "OPENAI_API_KEY": SECRET}
    s = Server(workdir, args=["--config", str(cfg)], env=env).start()
    s.client.timeout = 60
    yield s
    s.assert_clean_exit()


def ds(pid, tid, what):
    return "/api/dataset/projects/%s/tasks/%s/%s" % (pid, tid, what)


def new_task(c, **extra):
    p = c.new_project(name="pipeline " + uuid.uuid4().hex[:6])
    t = c.new_task(p["id"], name="jokes", instruction="Write a short joke about the topic.",
                   **extra)
    return p["id"], t["id"]


def model():
    return "m-" + uuid.uuid4().hex[:10]


def body(m, **extra):
    b = {"topics": {"depth": 1, "breadth": 2}, "inputs": {"per_leaf": 2},
         "outputs": {"provider": "openai", "model_name": m}}
    b.update(extra)
    return b


def post(c, pid, tid, b):
    return c.post(ds(pid, tid, "pipelines"), b)


def wait_job(c, pid, tid, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        j = c.ok("GET", ds(pid, tid, "jobs/%s" % job_id))
        if j["status"] in ("completed", "completed_with_errors", "failed", "cancelled",
                           "paused"):
            return j
        time.sleep(0.1)
    pytest.fail("job %s did not end: %r" % (job_id, j))


OUT = {"provider": "openai", "model_name": "m-x"}
REFUSALS = [
    ({"topics": {"depth": 2, "breadth": [3]}, "outputs": OUT}, 422, "invalid", "topics.breadth"),
    ({"topics": {"depth": 2, "breadth": [3, 0]}, "outputs": OUT}, 422, "invalid",
     "topics.breadth[1]"),
    ({"topics": {"depth": 9, "breadth": 2}, "outputs": OUT}, 422, "invalid", "topics.depth"),
    ({"outputs": dict(OUT, prompt_method="magic_prompt_builder")}, 400, "bad_request",
     "outputs.prompt_method"),
    ({"outputs": {"provider": "nosuch", "model_name": "m"}}, 400, "bad_request",
     "outputs.provider"),
    ({"outputs": OUT, "inputs": {"provider": "nosuch", "model_name": "m"}}, 400, "bad_request",
     "inputs.provider"),
    ({"outputs": OUT, "topics": {"depth": 1, "breadth": 2, "provider": "nosuch",
                                 "model_name": "m"}}, 400, "bad_request", "topics.provider"),
    ({"outputs": OUT, "judge": {"provider": "nosuch", "model_name": "m"}}, 400, "bad_request",
     "judge.provider"),
    ({"outputs": OUT, "budget": {"max_cost_usd": -1}}, 422, "invalid", "budget.max_cost_usd"),
    ({"outputs": OUT, "budget": {"max_calls": -1}}, 422, "invalid", "budget.max_calls"),
    ({"outputs": OUT, "budget": {"max_tokens": -3}}, 422, "invalid", "budget.max_tokens"),
    ({"outputs": OUT, "colour": "blue"}, 422, "invalid", "colour"),
    ({"outputs": dict(OUT, temperature=1)}, 422, "invalid", "outputs.temperature"),
    ({"outputs": OUT, "inputs": {"per_leaf": 0}}, 422, "invalid", "inputs.per_leaf"),
]


@pytest.mark.parametrize("b,status,code,field", REFUSALS,
                         ids=[r[3] for r in REFUSALS])
def test_refusals_name_their_field(srv, b, status, code, field):
    c = srv.client
    pid, tid = new_task(c)
    r = post(c, pid, tid, b)
    assert_error(r, status, code, field=field)
    assert c.ok("GET", ds(pid, tid, "jobs"))["jobs"] == []


def test_dry_run_stores_nothing(srv):
    c = srv.client
    pid, tid = new_task(c)
    r = c.ok("POST", ds(pid, tid, "pipelines"), body(model(), dry_run=True))
    assert r["status"] == "dry_run"
    assert "job_id" not in r
    est = r["estimate"]
    assert list(est["stages"]) == STAGES
    assert est["stages"]["topics"]["calls"] == 1
    assert est["stages"]["inputs"]["calls"] == 2
    assert est["stages"]["outputs"]["calls"] == 4
    assert est["stages"]["dedup"]["calls"] == 0
    assert est["stages"]["judge"]["calls"] == 0
    assert est["total"]["calls"] == 7
    assert est["samples"] == 4 and est["leaves"] == 2
    assert c.ok("GET", ds(pid, tid, "jobs"))["jobs"] == []
    tree = c.ok("GET", ds(pid, tid, "topics"))
    assert tree.get("children", []) == []
    runs = c.ok("GET", "/api/projects/%s/tasks/%s/runs" % (pid, tid))
    assert (runs["runs"] if isinstance(runs, dict) else runs) == []


def test_unknown_price_is_unknown(srv):
    c = srv.client
    pid, tid = new_task(c)
    m = model()
    est = c.ok("POST", ds(pid, tid, "pipelines"), body(m, dry_run=True))["estimate"]
    assert est["priced"] is False
    assert est["total"]["cost_usd"] is None
    assert est["stages"]["outputs"]["cost_usd"] is None
    assert est["stages"]["dedup"]["cost_usd"] == 0  # no call, nothing to price
    assert est["unpriced"] == ["openai/" + m]
    assert "cost is unknown" in est["note"] and "openai/" + m in est["note"]


def test_a_cost_cap_on_an_unknown_price_is_refused(srv):
    """A money cap the job could not count is refused when the job would start (nothing
    stored); the dry run still answers its estimate, and a priced model starts."""
    c = srv.client
    pid, tid = new_task(c)
    m = model()
    r = post(c, pid, tid, body(m, budget={"max_cost_usd": 1}))
    assert_error(r, 422, "invalid", field="budget.max_cost_usd")
    assert "openai/" + m in r.json()["detail"]
    assert c.ok("GET", ds(pid, tid, "jobs")) == {"jobs": []}
    assert c.ok("POST", ds(pid, tid, "pipelines"),
                body(m, dry_run=True, budget={"max_cost_usd": 1}))["status"] == "dry_run"
    started = c.ok("POST", ds(pid, tid, "pipelines"), body(PRICED, budget={"max_cost_usd": 1}))
    assert started["status"] == "pipeline_started"


def test_configured_price_gives_the_exact_cost(srv):
    c = srv.client
    pid, tid = new_task(c)
    est = c.ok("POST", ds(pid, tid, "pipelines"), body(PRICED, dry_run=True))["estimate"]
    assert est["priced"] is True and est["unpriced"] == []
    total = 0.0
    for name in STAGES:
        st = est["stages"][name]
        want = (st["input_tokens"] * PRICE_IN + st["output_tokens"] * PRICE_OUT) / 1e6
        assert st["cost_usd"] == pytest.approx(want, rel=1e-9, abs=1e-15), name
        total += want
    assert est["total"]["cost_usd"] == pytest.approx(total, rel=1e-9)
    assert est["stages"]["inputs"]["cost_usd"] > 0


def save_sample(c, pid, tid, text, out):
    c.ok("POST", ds(pid, tid, "save_sample"), {
        "input": text, "output": out, "input_model_name": "m", "input_provider": "openai",
        "output_model_name": "m", "output_provider": "openai"})


def test_estimate_within_ten_percent_of_the_run(srv):
    """An English task with stored samples as long as the fake's answers: the dry run's tokens
    are within 10 % of what the job spent, stage by stage and in total; the judge's prompts
    too."""
    c = srv.client
    pid, tid = new_task(c)
    # the fake answers an input as "generated_samples XXXXXX N" and an output as
    # "fake answer XXXXXX: <the input>"
    for i in range(3):
        text = "generated_samples %06x %d" % (i, i + 1)
        save_sample(c, pid, tid, text, "fake answer %06x: %s" % (i, text))
    m = model()
    # the fake repeats its inputs from leaf to leaf: no dedup, so every input gets its output
    b = body(m, topics={"depth": 2, "breadth": 3}, inputs={"per_leaf": 4},
             dedup={"exact": False}, judge={"provider": "openai", "model_name": m})
    est = c.ok("POST", ds(pid, tid, "pipelines"), dict(b, dry_run=True))["estimate"]
    r = c.ok("POST", ds(pid, tid, "pipelines"), b)
    assert r["status"] == "pipeline_started"
    assert r["estimate"]["total"] == est["total"]
    job = wait_job(c, pid, tid, r["job_id"])
    assert job["status"] == "completed", job
    assert est["samples"] == 36 and est["leaves"] == 9
    stages = job["stages"]
    actual_total = 0
    for name in ("topics", "inputs", "outputs"):
        a = stages[name]
        actual = a["input_tokens"] + a["output_tokens"]
        want = est["stages"][name]["input_tokens"] + est["stages"][name]["output_tokens"]
        assert est["stages"][name]["calls"] == a["calls"], (name, a)
        assert abs(want - actual) <= 0.10 * actual, (name, want, actual)
        actual_total += actual
    want_total = sum(est["stages"][n]["input_tokens"] + est["stages"][n]["output_tokens"]
                     for n in ("topics", "inputs", "outputs"))
    assert abs(want_total - actual_total) <= 0.10 * actual_total, (want_total, actual_total)
    # the judge's prompts are counted as sent; its answers (the fake's are a few words) are
    # expected at the documented default length
    a, e = stages["judge"], est["stages"]["judge"]
    assert e["calls"] == a["calls"] == 36
    assert abs(e["input_tokens"] - a["input_tokens"]) <= 0.10 * a["input_tokens"], (e, a)


def test_cli_dry_run_prints_the_table(srv, hetu_bin, tmp_path):
    c = srv.client
    pid, tid = new_task(c)
    f = tmp_path / "pipeline.json"
    f.write_text(json.dumps(body(model())))
    p = subprocess.run([str(hetu_bin), "pipeline", "run", str(f), "--dry-run", "-p", pid, "-t",
                        tid, "--server", srv.base_url], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["STAGE", "CALLS", "TOKENS", "IN", "TOKENS", "OUT", "COST"]
    rows = {ln.split()[0]: ln for ln in lines[1:7]}
    assert list(rows) == STAGES + ["total"]
    assert rows["topics"].split()[1] == "1"
    assert rows["outputs"].split()[1] == "4"
    assert rows["total"].split()[1] == "7"
    assert rows["outputs"].rstrip().endswith("unknown price")
    assert rows["dedup"].rstrip().endswith("$0.0000")
    assert "4 new samples, 2 new leaves" in p.stdout
    assert c.ok("GET", ds(pid, tid, "jobs"))["jobs"] == []


def run_cli(srv, hetu_bin, *args):
    return subprocess.run([str(hetu_bin), "pipeline"] + list(args) + ["--server", srv.base_url],
                          capture_output=True, text=True, timeout=120)


def test_cli_run_pause_and_resume(srv, hetu_bin, tmp_path):
    """A budget of 3 calls pauses the job (exit 5, the reason and the resume command on
    stderr); resume with a larger budget runs it to the end (exit 0) and prints the estimate
    beside what was spent."""
    c = srv.client
    pid, tid = new_task(c)
    f = tmp_path / "pipeline.json"
    f.write_text(json.dumps(body(model(), budget={"max_calls": 3}, dedup={"exact": False})))
    p = run_cli(srv, hetu_bin, "run", str(f), "-p", pid, "-t", tid)
    assert p.returncode == 5, (p.stdout, p.stderr)
    job_id = c.ok("GET", ds(pid, tid, "jobs"))["jobs"][0]["id"]
    assert "job %s paused" % job_id in p.stdout
    assert "hetu pipeline resume %s -p %s -t %s --max-calls N" % (job_id, pid, tid) in p.stderr
    assert "max_calls" in p.stderr
    assert c.ok("GET", ds(pid, tid, "jobs/" + job_id))["status"] == "paused"
    p = run_cli(srv, hetu_bin, "resume", job_id, "-p", pid, "-t", tid, "--max-calls", "100")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "job %s completed" % job_id in p.stdout, p.stdout
    rows = {ln.split()[0]: ln.split() for ln in p.stdout.splitlines()[2:7]}
    assert list(rows) == STAGES
    assert rows["outputs"][1] == "4/4"  # calls estimated/actual
    assert rows["topics"][1] == "1/1"
    job = c.ok("GET", ds(pid, tid, "jobs/" + job_id))
    assert job["status"] == "completed"
    assert job["budget"]["max_calls"] == 100
