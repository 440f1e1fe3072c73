# SPDX-License-Identifier: MIT
"""A job's life across a clean stop: SIGTERM a server in the middle of an import whose rows need
outputs (so every item goes through the fake provider), start it again on the same database and
spool directory, and find the job completed with every row stored once and none counted failed:
items in flight at the stop are pending again, not failures."""

import signal
import time

import pytest

from test_import import Imp, check_job, csv_bytes, fake_env, provider_config, unique_model

ROWS = 5000
WINDOW = 500
LATENCY_MS = 200


def server_args(tmp_path):
    return (["--job-window", str(WINDOW), "--spool-dir", str(tmp_path / "spool")] +
            provider_config(tmp_path))


def start_import(imp, kind, model):
    if kind == "file":
        data = csv_bytes(["input", "topic_path"], [["行%05d" % i, "批%d" % (i % 7)] for i in range(ROWS)])
        r = imp.upload("term.csv", data, session_id="term", output_model_name=model,
                       output_provider="together_ai")
    else:
        samples = [{"input": "行%05d" % i, "output_model_name": model,
                    "output_provider": "together_ai"} for i in range(ROWS)]
        r = imp.run_async(samples, session_id="term")
    assert r.status == 200, r
    body = r.json()
    assert (body["status"], body["sample_count"]) == ("import_started", ROWS), body
    return body["job_id"]


def running_with_some_done(imp, job_id):
    """Polls until some items are done and most are not; returns the job."""
    deadline = time.monotonic() + 120
    while True:
        j = imp.job(job_id)
        if j["completed"] >= ROWS // 10:
            assert j["status"] == "running" and j["completed"] <= ROWS * 8 // 10, \
                "the job went too far before the test could stop the server: %r" % j
            return j
        assert j["status"] in ("queued", "running"), j
        assert time.monotonic() < deadline, j
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["async", "file"])
def test_sigterm_mid_import_then_restart_completes(start_server, fake_llm, tmp_path, kind):
    imp = Imp(start_server(env=fake_env(fake_llm), args=server_args(tmp_path)))
    model = unique_model("term", "+latency=%d" % LATENCY_MS)
    job_id = start_import(imp, kind, model)
    before = running_with_some_done(imp, job_id)
    imp.srv.assert_clean_exit(signal.SIGTERM)

    srv = start_server(env=fake_env(fake_llm), db=imp.srv.db, args=server_args(tmp_path))
    imp2 = Imp.__new__(Imp)
    imp2.srv, imp2.c, imp2.pid, imp2.tid = srv, srv.client, imp.pid, imp.tid
    imp2.c.timeout = 120
    j = imp2.job(job_id)
    assert j["failed"] == 0 and j["errors"] == [], j
    assert j["completed"] >= before["completed"], (before, j)
    j = check_job(imp2.wait_job(job_id, timeout=120), total=ROWS)
    assert (j["status"], j["completed"], j["failed"], j["error"], j["errors"]) == \
        ("completed", ROWS, 0, None, []), j
    inputs = [x["input"] for x in imp2.all_runs()]
    assert len(inputs) == ROWS, "%d samples for %d rows" % (len(inputs), ROWS)
    assert set(inputs) == {"行%05d" % i for i in range(ROWS)}
