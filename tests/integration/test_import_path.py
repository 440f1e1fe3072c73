# SPDX-License-Identifier: MIT
"""The one way a file's rows go into the store: whichever way a row is imported (a small file
saved inside the request, a large one loaded by a job, CSV or JSON Lines), its topic path is
stored as save_sample stores the same path, a bare "root" included."""

import pytest

from test_import import Imp, csv_bytes, fake_env, jsonl_bytes


@pytest.fixture
def imp(start_server, fake_llm):
    return Imp(start_server(env=fake_env(fake_llm)))


# (the topic path as a file row gives it, the same path as a save_sample body gives it)
PATHS = [("root", ["root"]), ("root", "root"), ("root>>>>>科学", ["root", "科学"]),
         ("科学>>>>>root", ["科学", "root"])]


def saved_topic(imp, path, i):
    r = imp.c.post(imp.ds("save_sample"), {"input": "saved %d" % i, "output": "o",
                                           "topic_path": path})
    assert r.status == 200, r
    return r.json()["input_source"]["properties"].get("topic_path")


def imported_topics(imp, runs):
    return {x["input"]: x["input_source"]["properties"].get("topic_path") for x in runs}


def test_root_alone_stored_as_save_sample_stores_it(imp):
    want = [saved_topic(imp, body_path, i) for i, (_, body_path) in enumerate(PATHS)]
    assert want == [None, None, "科学", "科学>>>>>root"]
    saved = len(imp.all_runs())

    # A small CSV and a small JSON Lines file: saved inside the request.
    rows = [["csv %d" % i, "o", row_path] for i, (row_path, _) in enumerate(PATHS)]
    r = imp.upload("small.csv", csv_bytes(["input", "output", "topic_path"], rows))
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    r = imp.upload("small.jsonl", jsonl_bytes(
        {"input": "jsonl %d" % i, "output": "o", "topic_path": row_path.split(">>>>>")}
        for i, (row_path, _) in enumerate(PATHS)))
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    got = imported_topics(imp, imp.all_runs())
    for i in range(len(PATHS)):
        assert got["csv %d" % i] == want[i], (PATHS[i], got["csv %d" % i])
        assert got["jsonl %d" % i] == want[i], (PATHS[i], got["jsonl %d" % i])

    # A file of over 100 rows: loaded by a job.
    rows = [["job %d" % i, "o", PATHS[i % len(PATHS)][0]] for i in range(120)]
    r = imp.upload("large.csv", csv_bytes(["input", "output", "topic_path"], rows))
    assert r.status == 200 and r.json()["status"] == "import_started", r
    assert imp.wait_job(r.json()["job_id"])["status"] == "completed"
    got = imported_topics(imp, imp.all_runs())
    assert len(got) == saved + 8 + 120
    for i in range(120):
        assert got["job %d" % i] == want[i % len(PATHS)], (i, got["job %d" % i])

    # The topic tree holds every "root" row at the root itself, as it holds the saved ones.
    assert imp.c.ok("GET", imp.ds("topics")) == {
        "name": "root", "path": [], "sample_count": 132, "children": [
            {"name": "科学", "path": ["科学"], "sample_count": 66, "children": [
                {"name": "root", "path": ["科学", "root"], "sample_count": 33, "children": []}]}]}
