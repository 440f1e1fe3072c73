# SPDX-License-Identifier: MIT
"""DELETE .../topics?node_path=[...] over real HTTP: a node goes with its whole subtree and
nothing else (not a sibling whose name starts the same); samples under it make it a 409 unless
samples=delete, which deletes exactly those samples in the same write; a path only samples carry;
and the refusals (the root, an unknown path, a malformed node_path or samples value)."""

import json
import urllib.parse

import pytest

import testdb
from hetu_http import assert_error
from test_generate import gen  # noqa: F401


def grow(gen, pid, tid, path, n):
    """Adds n subtopics under path; returns their names."""
    r = gen.c.post(gen.ds(pid, tid, "generate_categories"), {
        "node_path": list(path), "num_subtopics": n, "model_name": gen.model("count=%d" % n),
        "provider": "together_ai"})
    assert r.status == 200, r
    return json.loads(r.json()["output"]["output"])["subtopics"]


def save(gen, pid, tid, path, text):
    r = gen.c.post(gen.ds(pid, tid, "save_sample"), {"input": text, "output": "ok",
                                                     "topic_path": list(path)})
    assert r.status == 200, r
    return r.json()["id"]


def delete(gen, pid, tid, path, samples=None, raw=None):
    q = "node_path=" + urllib.parse.quote(raw if raw is not None else json.dumps(path))
    if samples is not None:
        q += "&samples=" + samples
    return gen.c.delete(gen.ds(pid, tid, "topics?" + q))


def tree(gen, pid, tid):
    """{path tuple: sample_count} of every node but the root."""
    r = gen.c.get(gen.ds(pid, tid, "topics"))
    assert r.status == 200, r
    out = {}

    def walk(node):
        for k in node["children"]:
            out[tuple(k["path"])] = k["sample_count"]
            walk(k)
    walk(r.json())
    return out


def stored_topics(gen, tid):
    return sorted(tuple(p.split("\x1f")[:-1] + [n]) for p, n in testdb.sql(
        gen.srv.db, "SELECT parent_key, name FROM topics WHERE task_id = ?", (int(tid),)))


def run_ids(gen, pid, tid):
    r = gen.c.get(gen.runs_path(pid, tid))
    assert r.status == 200, r
    return sorted(x["id"] for x in r.json()["runs"])


@pytest.fixture
def grown(gen):
    """A tree: root -> a, b; a -> a1, a2; a1 -> a1x. Plus a sibling of a whose name begins with
    a's name, and one sample under it."""
    pid, tid = gen.task()
    a, b = grow(gen, pid, tid, [], 2)
    a1, a2 = grow(gen, pid, tid, [a], 2)
    grow(gen, pid, tid, [a, a1], 1)
    # the sibling "a2..." of node a: the same leading characters, a different node
    sibling = a + "2"
    save(gen, pid, tid, [sibling], "sibling sample")
    return pid, tid, a, b, a1, a2, sibling


def test_node_goes_with_its_subtree_and_nothing_else(gen, grown):
    pid, tid, a, b, a1, a2, sibling = grown
    before = tree(gen, pid, tid)
    assert len([p for p in before if p[:2] == (a, a1)]) == 2  # a1 and its child
    r = delete(gen, pid, tid, [a])
    assert r.status == 200, r
    assert r.json() == {"deleted_topics": 4, "deleted_samples": 0}
    after = tree(gen, pid, tid)
    assert sorted(after) == sorted(p for p in before if p[0] != a)
    assert (sibling,) in after and (b,) in after
    assert stored_topics(gen, tid) == [(b,)]
    assert len(run_ids(gen, pid, tid)) == 1  # the sibling's sample stays


def test_deleting_a_leaf_keeps_its_parent(gen, grown):
    pid, tid, a, b, a1, a2, sibling = grown
    r = delete(gen, pid, tid, [a, a2])
    assert r.status == 200, r
    assert r.json() == {"deleted_topics": 1, "deleted_samples": 0}
    after = tree(gen, pid, tid)
    assert (a,) in after and (a, a1) in after and (a, a2) not in after


def test_samples_under_the_node_need_samples_delete(gen, grown):
    pid, tid, a, b, a1, a2, sibling = grown
    under = [save(gen, pid, tid, [a], "s1"), save(gen, pid, tid, [a, a1], "s2"),
             save(gen, pid, tid, [a, a1, "deeper"], "s3")]
    keep = run_ids(gen, pid, tid)
    before, topics_before = tree(gen, pid, tid), stored_topics(gen, tid)
    r = delete(gen, pid, tid, [a])
    assert_error(r, 409, "conflict", field="samples", mentions=["3 samples", "samples=delete", a])
    assert tree(gen, pid, tid) == before and stored_topics(gen, tid) == topics_before
    assert run_ids(gen, pid, tid) == keep

    r = delete(gen, pid, tid, [a], samples="delete")
    assert r.status == 200, r
    assert r.json() == {"deleted_topics": 4, "deleted_samples": 3}
    assert run_ids(gen, pid, tid) == sorted(set(keep) - set(under))
    for run_id in under:
        assert_error(gen.c.get(gen.runs_path(pid, tid, "/" + run_id)), 404, "not_found")
    assert tree(gen, pid, tid)[(sibling,)] == 1


def test_a_path_only_samples_carry(gen, grown):
    pid, tid, a, b, a1, a2, sibling = grown
    s = save(gen, pid, tid, ["loose", "x"], "loose sample")
    assert_error(delete(gen, pid, tid, ["loose"]), 409, "conflict", field="samples",
                 mentions=["1 samples"])
    r = delete(gen, pid, tid, ["loose"], samples="delete")
    assert r.status == 200, r
    assert r.json() == {"deleted_topics": 0, "deleted_samples": 1}
    assert s not in run_ids(gen, pid, tid) and ("loose",) not in tree(gen, pid, tid)


def test_refusals(gen, grown):
    pid, tid, a, b, a1, a2, sibling = grown
    before = stored_topics(gen, tid)
    assert_error(delete(gen, pid, tid, []), 400, "bad_request", field="node_path",
                 mentions=["root"])
    assert_error(delete(gen, pid, tid, ["root"]), 400, "bad_request", field="node_path",
                 mentions=["root"])
    assert_error(delete(gen, pid, tid, [a, "没有这个"]), 404, "not_found", field="node_path",
                 mentions=["没有这个"])
    assert_error(delete(gen, pid, tid, None, raw="a/b"), 400, "bad_request", field="node_path")
    assert_error(delete(gen, pid, tid, None, raw='"a"'), 400, "bad_request", field="node_path")
    assert_error(gen.c.delete(gen.ds(pid, tid, "topics")), 400, "bad_request", field="node_path")
    assert_error(delete(gen, pid, tid, [a], samples="yes"), 400, "bad_request", field="samples")
    assert_error(delete(gen, pid, "999999999999", [a]), 404, "not_found")
    assert stored_topics(gen, tid) == before
