# SPDX-License-Identifier: MIT
"""Every answer carries X-Request-Id, and the server's log line of the request carries the same
id: a client's own sane id is kept, anything else is replaced by 16 random hex digits."""

import re
import time

import pytest

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def request_lines(srv, request_id, least=1):
    """The server's log lines that carry request_id, once there are at least `least` of them or
    after 5 s (it logs after answering, and jobs log later: wait a little)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [x for x in srv.stderr().splitlines() if "request_id=%s" % request_id in x]
        if len(lines) >= least or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_generated_ids_are_distinct_and_logged(server):
    ids = []
    for path in ("/healthz", "/api/projects", "/no/such/path"):
        r = server.client.get(path)
        rid = r.header("X-Request-Id")
        assert HEX16.match(rid or ""), (path, rid)
        ids.append(rid)
        lines = request_lines(server, rid)
        assert len(lines) == 1 and " request " in lines[0] and "path=%s" % path in lines[0], lines
    assert len(set(ids)) == 3


@pytest.mark.parametrize("given", ["abc-123", "trace:4bf92f3577b34da6/a3ce929d0e0e4736",
                                   "x" * 64])
def test_a_sane_client_id_is_kept(server, given):
    r = server.client.get("/api/projects", headers={"X-Request-Id": given})
    assert r.status == 200
    assert r.header("X-Request-Id") == given
    assert len(request_lines(server, given)) == 1


@pytest.mark.parametrize("given", ["x" * 65, "has space", "quote\"d", "caf\u00e9"])
def test_an_insane_client_id_is_replaced(server, given):
    r = server.client.get("/api/projects", headers={"X-Request-Id": given})
    assert r.status == 200
    assert HEX16.match(r.header("X-Request-Id") or ""), r.header("X-Request-Id")


def test_errors_and_streams_carry_it_too(server):
    p = server.client.new_project()
    t = server.client.new_task(p["id"])
    r = server.client.get("/api/projects/%s/tasks/%s/export?format=nope" % (p["id"], t["id"]))
    assert r.status == 400 and HEX16.match(r.header("X-Request-Id") or "")
    r = server.client.get("/api/projects/%s/tasks/%s/export?format=csv" % (p["id"], t["id"]),
                          headers={"X-Request-Id": "export-1"})
    assert r.status == 200 and r.header("X-Request-Id") == "export-1"
    lines = request_lines(server, "export-1")
    # the export's own end line and the request line, both with the id
    assert sorted(x.split()[2] for x in lines) == ["export", "request"], lines


def test_engine_lines_for_a_call_carry_the_request_id(hetu_bin, fake_llm, tmp_path):
    """The engine thread logs a retry of a model call (a 500 from the provider, then a success)
    with the id of the request the call was made for, and lines of other requests do not."""
    from test_generate import GenEnv, start_gen_server
    srv = start_gen_server(tmp_path / "gen", fake_llm)
    try:
        g = GenEnv(srv, fake_llm)
        pid, tid = g.task()
        model = g.model("fail500=1")
        r = g.c.post(g.ds(pid, tid, "generate_samples"),
                     {"topic": [], "num_samples": 2, "model_name": model, "provider": "together_ai"},
                     headers={"X-Request-Id": "gen-retry-1"})
        assert r.status == 200 and r.header("X-Request-Id") == "gen-retry-1", r
        assert g.fake.calls(model) == 2
        lines = request_lines(srv, "gen-retry-1")
        assert [x.split()[2] for x in lines] == ["model", "request"], lines
        retry = lines[0]
        assert " model call retried provider=together_ai model=%s attempt=1 " % model in retry
        assert "error=\"HTTP 500: " in retry, retry
        assert retry.endswith(" request_id=gen-retry-1"), retry
        # every retry line belongs to that request
        retries = [x for x in srv.stderr().splitlines() if " model call retried " in x]
        assert retries == [retry]
    finally:
        srv.assert_clean_exit()


def test_a_jobs_lines_carry_the_id_of_the_request_that_made_it(hetu_bin, fake_llm, tmp_path):
    """A file import of 101 rows runs as a job: the job's end, and the engine's retry of one of
    its model calls (a 500, then a success), carry the upload's request id."""
    from test_generate import start_gen_server
    from test_import import Imp, csv_bytes, multipart, unique_model
    srv = start_gen_server(tmp_path / "job", fake_llm)
    try:
        imp = Imp(srv)
        model = unique_model("rid", "+fail500=1")
        data = csv_bytes(["input", "output"], [["问 %d" % i, ""] for i in range(101)])
        body, hdrs = multipart("rows.csv", data)
        hdrs["X-Request-Id"] = "import-job-1"
        r = imp.c.post(imp.ds("import_samples_from_file") + "?output_model_name=%s"
                       "&output_provider=together_ai" % model.replace("+", "%2B"), body,
                       headers=hdrs)
        assert r.status == 200 and r.json()["status"] == "import_started", r
        j = imp.wait_job(r.json()["job_id"])
        assert j["status"] == "completed" and j["completed"] == 101, j
        lines = request_lines(srv, "import-job-1", least=4)
        assert sorted(" ".join(x.split()[2:4]) for x in lines) == \
            ["job finished", "job running", "model call", "request method=POST"], lines
        retry = [x for x in lines if " model call retried " in x][0]
        assert "model=%s " % model in retry and "error=\"HTTP 500: " in retry, retry
        # the other requests' lines (the project, the task, the job polls) do not carry it
        assert len([x for x in srv.stderr().splitlines() if "import-job-1" in x]) == 4
    finally:
        srv.assert_clean_exit()


def test_a_near_duplicate_jobs_lines_carry_the_id_of_the_request_that_made_it(server):
    from test_dedup_near import Dup
    d = Dup(server)
    d.fill([("a", "the quick brown fox jumps over the lazy dog"),
            ("b", "the quick brown fox jumps over the lazy dog again")])
    r = d.c.post(d.ds("duplicates"), {}, headers={"X-Request-Id": "dedup-job-1"})
    assert r.status == 200 and r.header("X-Request-Id") == "dedup-job-1", r
    assert d.wait_job(r.json()["id"])["status"] == "completed"
    lines = request_lines(server, "dedup-job-1", least=3)
    assert sorted(" ".join(x.split()[2:4]) for x in lines) == \
        ["job finished", "job running", "request method=POST"], lines
