# SPDX-License-Identifier: MIT
"""Jobs under pressure: a storm of 429s does not fail a job (only failures a retry cannot fix
stop it early), an early stop leaves every item that did not run with its reason, failed and
cancelled jobs resume where they stopped (no item repeated, a file import's loading finished),
and spool files no job names are removed at start."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

import testdb
from hetu_http import assert_error
from test_cli import ok
from test_import import Imp, check_job, csv_bytes, fake_env, unique_model

REPO = Path(__file__).resolve().parents[2]
KEY = "right-key"


def config(tmp_path, **provider):
    path = tmp_path / "hetu-config.json"
    path.write_text(json.dumps({"providers": {"together_ai": dict({"concurrency": 2000},
                                                                  **provider)}}))
    return ["--config", str(path)]


def samples(model, n, tag):
    return [{"input": "%s %03d" % (tag, i), "output_model_name": model,
             "output_provider": "together_ai"} for i in range(n)]


def inputs(imp):
    return [x["input"] for x in imp.all_runs()]


def db_items(db, job_id):
    return [(int(idx), int(state), error) for idx, state, error in testdb.sql(
        db, "SELECT idx, state, error FROM job_items WHERE job_id = ? ORDER BY idx", (int(job_id),))]


@pytest.fixture(scope="module")
def keyed_llm(tmp_path_factory):
    """A fake provider of its own that answers 401 unless the key is KEY."""
    d = tmp_path_factory.mktemp("keyed_llm")
    port_file = d / "port"
    log = open(d / "fake_llm.log", "wb")
    proc = subprocess.Popen(["/usr/bin/python3", str(REPO / "tests" / "fake" / "fake_llm.py"),
                             "--port", "0", "--port-file", str(port_file), "--api-key", KEY],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (port_file.exists() and port_file.read_text().strip().isdigit()):
        assert proc.poll() is None and time.monotonic() < deadline, "the keyed fake did not start"
        time.sleep(0.01)
    yield "http://127.0.0.1:%s" % port_file.read_text().strip()
    proc.terminate()
    proc.wait(timeout=5)
    log.close()


def test_429_storm_completes_with_everything_stored(start_server, fake_llm, tmp_path):
    """The first 60 calls answer 429 (Retry-After 1) and each call has 2 attempts: items fail
    with 429s before any succeeds, more than the early stop's 10. None of them is a failure a
    retry cannot fix: the job completes, every sample stored once."""
    n = 200
    args = ["--job-window", "20"] + config(tmp_path, max_attempts=2)
    imp = Imp(start_server(env=fake_env(fake_llm), args=args))
    model = unique_model("storm", "+fail429=60+retry_after=1")
    r = imp.run_async(samples(model, n, "风暴"))
    assert r.status == 200, r
    job_id = r.json()["job_id"]
    j = check_job(imp.wait_job(job_id, timeout=40), total=n)
    assert (j["status"], j["completed"], j["failed"], j["error"], j["errors"]) == \
        ("completed", n, 0, None, []), j
    got = inputs(imp)
    assert sorted(got) == sorted("风暴 %03d" % i for i in range(n))


def start_auth_job(start_server, keyed_llm, tmp_path, key, n=100):
    spool = tmp_path / "spool"
    env = {"HETU_TOGETHER_AI_BASE_URL": keyed_llm + "/v1", "TOGETHERAI_API_KEY": key}
    args = ["--job-window", "5", "--spool-dir", str(spool)] + config(tmp_path)
    imp = Imp(start_server(env=env, args=args))
    model = unique_model("auth")
    r = imp.run_async(samples(model, n, "密钥"))
    assert r.status == 200, r
    return imp, r.json()["job_id"], env, args


def test_auth_failure_stops_early_every_item_with_a_reason(start_server, keyed_llm, tmp_path):
    n = 100
    imp, job_id, _, _ = start_auth_job(start_server, keyed_llm, tmp_path, "wrong-key", n)
    j = check_job(imp.wait_job(job_id, timeout=30), total=n)
    assert j["status"] == "failed", j
    assert j["completed"] == 0 and 10 <= j["failed"] < n, j
    assert j["error"].startswith("stopped after ") and "HTTP 401" in j["error"], j
    assert len(j["errors"]) == 10 and all("HTTP 401" in x["detail"] for x in j["errors"]), j
    items = db_items(imp.srv.db, job_id)
    assert len(items) == n
    failed = [i for i in items if i[1] == 2]
    pending = [i for i in items if i[1] == 0]
    assert len(failed) == j["failed"] and len(pending) == n - j["failed"], items
    assert all("HTTP 401" in i[2] for i in failed), failed
    assert all(i[2] == "not run: the job failed: " + j["error"] for i in pending), pending[:3]


def test_resume_failed_job_completes_without_duplicates(start_server, keyed_llm, tmp_path):
    n = 100
    imp, job_id, env, args = start_auth_job(start_server, keyed_llm, tmp_path, "wrong-key", n)
    j = imp.wait_job(job_id, timeout=30)
    assert j["status"] == "failed" and j["completed"] == 0, j
    imp.srv.assert_clean_exit(signal.SIGTERM)

    # the key fixed, the same database: the job resumes
    srv = start_server(env=dict(env, TOGETHERAI_API_KEY=KEY), db=imp.srv.db, args=args)
    imp2 = Imp.__new__(Imp)
    imp2.srv, imp2.c, imp2.pid, imp2.tid = srv, srv.client, imp.pid, imp.tid
    imp2.c.timeout = 60
    assert imp2.job(job_id)["status"] == "failed"
    r = imp2.c.post(imp2.ds("jobs/%s/resume" % job_id))
    assert r.status == 200, r
    body = check_job(r.json(), total=n)
    assert (body["id"], body["status"], body["failed"], body["error"]) == \
        (job_id, "queued", 0, None), body
    j = check_job(imp2.wait_job(job_id, timeout=30), total=n)
    assert (j["status"], j["completed"], j["failed"], j["error"], j["errors"]) == \
        ("completed", n, 0, None, []), j
    got = inputs(imp2)
    assert len(got) == n and set(got) == {"密钥 %03d" % i for i in range(n)}, len(got)
    # completed: no resume any more
    r = imp2.c.post(imp2.ds("jobs/%s/resume" % job_id))
    assert_error(r, 409, "conflict", mentions=("completed",))


def test_resume_cancelled_file_import_finishes_loading(start_server, fake_llm, tmp_path):
    """A file import cancelled before its rows were all loaded keeps its spool; resumed, it
    loads the rest: every row stored once."""
    n = 60000
    spool = tmp_path / "spool"
    imp = Imp(start_server(env=fake_env(fake_llm), args=["--spool-dir", str(spool)]))
    data = csv_bytes(["input", "output"], [["行%05d" % i, "答%05d" % i] for i in range(n)])
    r = imp.upload("big.csv", data, session_id="resume")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    r = imp.c.post(imp.ds("jobs/%s/cancel" % job_id))
    assert r.status == 200, r
    j = check_job(imp.wait_job(job_id, timeout=30), total=n)
    assert j["status"] == "cancelled" and j["completed"] < n, j
    assert (spool / ("import-%s.spool" % job_id)).exists(), "the cancelled import's spool is gone"

    # through the CLI: hetu jobs resume ID
    r = ok(imp.srv, "jobs", "resume", job_id, "--json",
           env={"HETU_PROJECT": imp.pid, "HETU_TASK": imp.tid})
    assert json.loads(r.stdout)["status"] == "queued", r.stdout
    j = check_job(imp.wait_job(job_id, timeout=60), total=n)
    assert (j["status"], j["completed"], j["failed"], j["error"]) == ("completed", n, 0, None), j
    got = inputs(imp)
    assert len(got) == n and len(set(got)) == n, len(got)
    assert not (spool / ("import-%s.spool" % job_id)).exists(), "a completed import keeps its spool"


def test_resume_refusals(start_server, fake_llm):
    imp = Imp(start_server(env=fake_env(fake_llm), args=["--job-window", "2"]))
    slow = unique_model("refuse", "+latency=300")
    r = imp.run_async(samples(slow, 150, "拒绝"))
    assert r.status == 200, r
    job_id = r.json()["job_id"]
    status = imp.job(job_id)["status"]
    assert status in ("queued", "running"), status
    r = imp.c.post(imp.ds("jobs/%s/resume" % job_id))
    assert_error(r, 409, "conflict", mentions=("job %s is " % job_id, "resumed"))
    imp.wait_job(job_id, timeout=10, until=("running",))
    r = imp.c.post(imp.ds("jobs/%s/resume" % job_id))
    assert_error(r, 409, "conflict", mentions=("is running",))
    r = imp.c.post(imp.ds("jobs/%s/resume" % "999999999"))
    assert_error(r, 404, "not_found", mentions=("999999999",))
    r = imp.c.post(imp.ds("jobs/%s/cancel" % job_id))
    assert r.status == 200, r
    assert imp.wait_job(job_id, timeout=30)["status"] == "cancelled"


def test_leftover_spool_files_removed_at_start(start_server, fake_llm, tmp_path):
    spool = tmp_path / "spool"
    args = ["--spool-dir", str(spool)]
    imp = Imp(start_server(env=fake_env(fake_llm), args=args))
    n = 300
    data = csv_bytes(["input"], [["留%03d" % i] for i in range(n)])
    model = unique_model("keep", "+latency=100")
    r = imp.upload("keep.csv", data, session_id="keep", output_model_name=model,
                   output_provider="together_ai")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    r = imp.c.post(imp.ds("jobs/%s/cancel" % job_id))
    assert r.status == 200, r
    assert imp.wait_job(job_id, timeout=30)["status"] == "cancelled"
    imp.srv.assert_clean_exit(signal.SIGTERM)

    own = spool / ("import-%s.spool" % job_id)
    own.write_bytes(b"HETU-SPOOL-2\n" + b"x" * 10)  # the job's own file, whatever it holds
    leftovers = {"upload-a1B2c3": 150000, "upload-zzzzzz": 7, "import-987654321.spool": 1000}
    for name, size in leftovers.items():
        (spool / name).write_bytes(b"\0" * size)
    other = spool / "notes.txt"
    other.write_text("not a spool file")
    srv = start_server(env=fake_env(fake_llm), db=imp.srv.db, args=args)
    assert sorted(p.name for p in spool.iterdir()) == sorted([own.name, other.name])
    line = [x for x in srv.stderr().splitlines() if "removed leftover spool files" in x]
    assert len(line) == 1, srv.stderr()[-2000:]
    assert "files=3" in line[0] and "bytes=151007" in line[0], line[0]


def test_resume_right_after_cancel_runs_the_rest(start_server, fake_llm):
    """A job cancelled while its calls are in flight and resumed at once generates the rest: the
    resumed run's calls are not refused as calls of the cancelled run."""
    n = 120
    imp = Imp(start_server(env=fake_env(fake_llm)))
    model = unique_model("recancel", "+latency=300")
    r = imp.run_async([{"input": "续跑 %d" % i, "output_model_name": model,
                        "output_provider": "together_ai"} for i in range(n)])
    assert r.status == 200, r
    job_id = r.json()["job_id"]
    while imp.job(job_id)["completed"] == 0:
        time.sleep(0.05)
    r = imp.c.post(imp.ds("jobs/%s/cancel" % job_id))
    assert r.status == 200, r
    j = imp.wait_job(job_id, timeout=30)
    assert j["status"] == "cancelled" and j["completed"] < n, j
    r = imp.c.post(imp.ds("jobs/%s/resume" % job_id))
    assert r.status == 200 and r.json()["status"] == "queued", r
    j = check_job(imp.wait_job(job_id, timeout=30), total=n)
    assert (j["status"], j["completed"], j["failed"]) == ("completed", n, 0), j
