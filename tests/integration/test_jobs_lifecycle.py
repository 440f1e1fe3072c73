# SPDX-License-Identifier: MIT
"""A job's life across a clean stop: SIGTERM a server in the middle of an import whose rows need
outputs (so every item goes through the fake provider), start it again on the same database and
spool directory, and find the job completed with every row stored once and none counted failed:
items in flight at the stop are pending again, not failures."""

import json
import signal
import time

import pytest

import testdb
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


def wait_items(db, job_id, n):
    """Waits until the file import has stored n items (every row loaded); read-only."""
    deadline = time.monotonic() + 60
    while True:
        got = int(testdb.sql(db, "SELECT count(*) FROM job_items WHERE job_id = ?",
                             (int(job_id),))[0][0])
        if got == n:
            return
        assert time.monotonic() < deadline, "%d items of %d stored" % (got, n)
        time.sleep(0.05)


@pytest.mark.skipif(testdb.ON_POSTGRESQL, reason="older versions ran on SQLite only: no PostgreSQL "
                    "database holds items stored as JSON")
def test_file_import_items_stored_as_json_by_older_versions_still_run(start_server, fake_llm,
                                                                         tmp_path):
    """Older versions stored a file import's items as JSON; a job left pending by one of them
    runs to the same samples as items stored as spooled rows."""
    n = 200
    args = ["--job-window", "50", "--spool-dir", str(tmp_path / "spool")] + provider_config(tmp_path)
    imp = Imp(start_server(env=fake_env(fake_llm), args=args))
    model = unique_model("old", "+latency=1000")
    data = csv_bytes(["input", "topic_path", "tags"], [["旧%03d" % i, "科学>>>>>子题", "t1"]
                                                       for i in range(n)])
    r = imp.upload("old.csv", data, session_id="old", output_model_name=model,
                   output_provider="together_ai")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    wait_items(imp.srv.db, job_id, n)
    imp.srv.assert_clean_exit(signal.SIGTERM)

    # Every other pending item rewritten as the JSON an older version stored.
    import sqlite3
    con = sqlite3.connect(imp.srv.db)
    rows = con.execute("SELECT idx, payload FROM job_items WHERE job_id = ? AND state = 0",
                       (int(job_id),)).fetchall()
    old = [idx for idx, payload in rows if idx % 2 and isinstance(payload, bytes)]
    assert len(old) >= n // 2 - 20, len(old)
    for idx in old:
        payload = json.dumps({"input": "旧%03d" % idx, "topic_path": ["root", "科学", "子题"],
                              "tags": ["t1"], "output_model_name": model,
                              "output_provider": "together_ai"}, ensure_ascii=False)
        con.execute("UPDATE job_items SET payload = ? WHERE job_id = ? AND idx = ?",
                    (payload, int(job_id), idx))
    con.commit()
    con.close()

    srv = start_server(env=fake_env(fake_llm), db=imp.srv.db, args=args)
    imp2 = Imp.__new__(Imp)
    imp2.srv, imp2.c, imp2.pid, imp2.tid = srv, srv.client, imp.pid, imp.tid
    imp2.c.timeout = 120
    j = imp2.wait_job(job_id, timeout=120)
    assert (j["status"], j["completed"], j["failed"], j["errors"]) == ("completed", n, 0, []), j
    runs = imp2.all_runs()
    assert sorted(x["input"] for x in runs) == ["旧%03d" % i for i in range(n)]

    def shape(run):
        return json.dumps([run["input_source"], run["tags"],
                           run["output"]["source"]], sort_keys=True, ensure_ascii=False)

    by_input = {x["input"]: shape(x) for x in runs}
    assert by_input["旧%03d" % old[0]] == by_input["旧%03d" % (old[0] - 1)]
    assert len(set(by_input.values())) == 1, set(by_input.values())
