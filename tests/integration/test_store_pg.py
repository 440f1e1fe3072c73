# SPDX-License-Identifier: MIT
"""hetu serve on PostgreSQL (a throwaway server from tests/pgserver.py): projects and tasks
round-trip through the API, samples and the topic tree too, /healthz names the backend, and a server that loses its database answers 503 and recovers by itself when the
database comes back, also when it restarted between two requests."""

import json
import sys
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402

pytestmark = pytest.mark.skipif(not pgserver.server_bindir(),
                                reason="PostgreSQL server binaries not installed "
                                       "(scripts/install-deps test)")


@pytest.fixture
def pg():
    with pgserver.PgServer() as server:
        yield server


def serve(start_server, pg, tmp_path):
    return start_server(db=pg.url, args=["--spool-dir", str(tmp_path / "spool")])


def test_projects_and_tasks_on_postgresql(start_server, pg, tmp_path):
    srv = serve(start_server, pg, tmp_path)
    c = srv.client
    h = c.get("/healthz")
    assert h.status == 200, h
    assert h.json()["store"]["backend"] == "postgresql"
    assert h.json()["store"]["schema_version"] == 9  # 7 as SQLite; 8, 9: the shared job queue

    p = c.new_project()
    t = c.new_task(p["id"])
    r = c.get("/api/projects/%s/tasks/%s" % (p["id"], t["id"]))
    assert r.status == 200, r
    assert r.json()["instruction"] == t["instruction"]
    r = c.get("/api/projects/%s" % p["id"])
    assert r.json()["name"] == p["name"]
    r = c.get("/api/projects/123456789012")
    assert r.status == 404
    assert r.json()["detail"] == "project 123456789012 not found"


    # a second server on the same database sees the same records (nothing is kept locally)
    other = start_server(db=pg.url, args=["--spool-dir", str(tmp_path / "spool2")])
    assert other.client.get("/api/projects/%s" % p["id"]).json()["name"] == p["name"]


def test_samples_and_topics_on_postgresql(start_server, pg, tmp_path):
    srv = serve(start_server, pg, tmp_path)
    c = srv.client
    p = c.new_project()
    t = c.new_task(p["id"])
    ds = "/api/dataset/projects/%s/tasks/%s/" % (p["id"], t["id"])
    runs = "/api/projects/%s/tasks/%s/runs" % (p["id"], t["id"])
    saved = []
    for path, tags in ((["a", "b"], ["golden"]), (["a"], []), (["ab"], ["golden"])):
        r = c.post(ds + "save_sample", {"input": "in", "output": "out", "topic_path": path,
                                        "tags": tags})
        assert r.status == 200, r
        saved.append(r.json()["id"])

    r = c.get(runs + "?topic_path=a")
    assert r.status == 200, r
    assert sorted(x["id"] for x in r.json()["runs"]) == sorted(saved[:2])  # not "ab"
    r = c.get(runs + "?tag=golden")
    assert sorted(x["id"] for x in r.json()["runs"]) == sorted([saved[0], saved[2]])
    r = c.get(runs + "/" + saved[1])
    assert r.status == 200 and r.json()["id"] == saved[1], r

    tree = c.get(ds + "topics").json()
    assert tree["sample_count"] == 3
    a = [k for k in tree["children"] if k["name"] == "a"][0]
    assert a["sample_count"] == 2 and a["children"][0]["name"] == "b"

    # a second server sees them; a deleted sample is gone for both
    other = start_server(db=pg.url, args=["--spool-dir", str(tmp_path / "spool2")])
    assert other.client.get(runs + "/" + saved[0]).status == 200
    assert c.delete(runs + "/" + saved[0]).status == 200
    assert other.client.get(runs + "/" + saved[0]).status == 404
    assert other.client.get(ds + "topics").json()["sample_count"] == 2

    # a topic goes with its subtree (not its sibling "ab"), its samples only when asked
    node = "topics?node_path=" + urllib.parse.quote(json.dumps(["a"]))
    r = c.delete(ds + node)
    assert r.status == 409, r
    r = c.delete(ds + node + "&samples=delete")
    assert r.status == 200, r
    assert r.json()["deleted_samples"] == 1
    tree = other.client.get(ds + "topics").json()
    assert tree["sample_count"] == 1 and [k["name"] for k in tree["children"]] == ["ab"]


def test_database_lost_and_back(start_server, pg, tmp_path):
    srv = serve(start_server, pg, tmp_path)
    c = srv.client
    p = c.new_project()

    pg.pause()
    r = c.get("/api/projects/%s" % p["id"])
    assert r.status == 503, r
    assert "the database is unreachable" in r.json()["detail"]
    assert c.get("/healthz").status == 503

    pg.resume()
    r = c.get("/api/projects/%s" % p["id"])
    assert r.status == 200, r
    assert r.json()["name"] == p["name"]
    assert c.get("/healthz").status == 200

    # restarted between two requests: the first request after it is answered as usual
    pg.pause()
    pg.resume()
    r = c.get("/api/projects/%s" % p["id"])
    assert r.status == 200, r
