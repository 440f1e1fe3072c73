# SPDX-License-Identifier: MIT
"""Saved samples over real HTTP: listing with each filter, cursor pagination, get, rating
(five-star and pass/fail) and tags through PATCH, delete, and the topic tree's sample counts.
Samples here carry their outputs, so no model is called."""

import json
import urllib.parse

import pytest

from hetu_http import assert_error
from test_generate import check_taskrun, gen  # noqa: F401


def save(gen, pid, tid, query="", **s):
    body = {"input": "in", "output": "out"}
    body.update(s)
    r = gen.c.post(gen.ds(pid, tid, "save_sample") + query, body)
    assert r.status == 200, r
    return check_taskrun(r.json(), saved=True)


def listing(gen, pid, tid, **q):
    qs = urllib.parse.urlencode(q)
    r = gen.c.get(gen.runs_path(pid, tid, "?" + qs if qs else ""))
    assert r.status == 200, r
    body = r.json()
    assert sorted(body.keys()) == ["next_cursor", "runs"]
    for run in body["runs"]:
        check_taskrun(run, saved=True)
    return body


def ids(body):
    return sorted(r["id"] for r in body["runs"])


@pytest.fixture(scope="module")
def data(gen):
    """One task with samples spread over topics, sessions, tags, sources and ratings."""
    pid, tid = gen.task()
    runs = {}
    runs["ab1"] = save(gen, pid, tid, "?session_id=S1", input="ab1", topic_path="a/b",
                       input_model_name="m", input_provider="together_ai")
    runs["ab2"] = save(gen, pid, tid, "?session_id=S1", input="ab2", topic_path=["a", "b"],
                       input_model_name="m", input_provider="together_ai", tags=["golden"])
    runs["abc"] = save(gen, pid, tid, "?session_id=S2", input="abc", topic_path=["a", "b", "c"],
                       input_model_name="m", input_provider="together_ai")
    runs["a"] = save(gen, pid, tid, input="a", topic_path=["a"])
    runs["ax"] = save(gen, pid, tid, "?session_id=%E4%BC%9A%E8%AF%9D", input="ax",
                      topic_path=["ab"])  # "ab" must not match the prefix "a"
    runs["zh"] = save(gen, pid, tid, input="zh", topic_path=["主题", "路径"])
    runs["root"] = save(gen, pid, tid, input="root")
    return pid, tid, runs


def test_list_all(gen, data):
    pid, tid, runs = data
    body = listing(gen, pid, tid)
    assert ids(body) == sorted(r["id"] for r in runs.values())
    assert body["next_cursor"] is None


def test_filter_topic_prefix(gen, data):
    pid, tid, runs = data
    assert ids(listing(gen, pid, tid, topic_path="a")) == sorted(
        runs[k]["id"] for k in ("ab1", "ab2", "abc", "a"))
    assert ids(listing(gen, pid, tid, topic_path="a/b")) == sorted(
        runs[k]["id"] for k in ("ab1", "ab2", "abc"))
    assert ids(listing(gen, pid, tid, topic_path="a>>>>>b>>>>>c")) == [runs["abc"]["id"]]
    assert ids(listing(gen, pid, tid, topic_path="ab")) == [runs["ax"]["id"]]
    assert ids(listing(gen, pid, tid, topic_path="主题")) == [runs["zh"]["id"]]
    assert listing(gen, pid, tid, topic_path="nope")["runs"] == []


def test_filter_session_tag_source(gen, data):
    pid, tid, runs = data
    assert ids(listing(gen, pid, tid, session_id="S1")) == sorted(
        runs[k]["id"] for k in ("ab1", "ab2"))
    assert ids(listing(gen, pid, tid, session_id="会话")) == [runs["ax"]["id"]]
    assert runs["ax"]["tags"] == ["synthetic", "synthetic_session_会话"]
    assert ids(listing(gen, pid, tid, tag="golden")) == [runs["ab2"]["id"]]
    assert ids(listing(gen, pid, tid, tag="synthetic_session_S2")) == [runs["abc"]["id"]]
    assert ids(listing(gen, pid, tid, source="synthetic")) == sorted(
        runs[k]["id"] for k in ("ab1", "ab2", "abc"))
    other = ids(listing(gen, pid, tid, source=runs["a"]["input_source"]["type"]))
    assert runs["a"]["input_source"]["type"] != "synthetic"
    assert other == sorted(runs[k]["id"] for k in ("a", "ax", "zh", "root"))
    assert ids(listing(gen, pid, tid, session_id="S1", topic_path="a/b", tag="golden")) == [
        runs["ab2"]["id"]]


def test_rating_patch_and_filter(gen, data):
    pid, tid, runs = data
    path = gen.runs_path(pid, tid, "/")
    r = gen.c.ok("PATCH", path + runs["ab1"]["id"], {"rating": {"type": "five_star", "value": 4}})
    check_taskrun(r, saved=True)
    assert r["output"]["rating"]["type"] == "five_star" and r["output"]["rating"]["value"] == 4
    assert r["id"] == runs["ab1"]["id"] and r["input"] == "ab1"
    assert gen.c.ok("GET", path + runs["ab1"]["id"])["output"]["rating"]["value"] == 4
    gen.c.ok("PATCH", path + runs["abc"]["id"], {"rating": {"type": "five_star", "value": 2}})
    r = gen.c.ok("PATCH", path + runs["zh"]["id"], {"rating": {"type": "pass_fail", "value": True}})
    assert r["output"]["rating"]["type"] == "pass_fail"
    assert ids(listing(gen, pid, tid, rating=4)) == sorted(runs[k]["id"] for k in ("ab1", "zh"))
    assert ids(listing(gen, pid, tid, rating=2)) == sorted(
        runs[k]["id"] for k in ("ab1", "zh", "abc"))
    assert ids(listing(gen, pid, tid, rating=5)) == [runs["zh"]["id"]]
    # clearing a rating
    r = gen.c.ok("PATCH", path + runs["abc"]["id"], {"rating": None})
    assert r["output"]["rating"] is None
    assert runs["abc"]["id"] not in ids(listing(gen, pid, tid, rating=1))
    # tags replace, and the tag filter follows
    r = gen.c.ok("PATCH", path + runs["root"]["id"], {"tags": ["x", "标签"]})
    assert r["tags"] == ["x", "标签"]
    assert ids(listing(gen, pid, tid, tag="标签")) == [runs["root"]["id"]]
    gen.c.ok("PATCH", path + runs["root"]["id"], {"tags": ["synthetic"]})
    assert listing(gen, pid, tid, tag="标签")["runs"] == []


@pytest.mark.parametrize("body,field", [
    ({"rating": {"type": "five_star", "value": 6}}, "rating.value"),
    ({"rating": {"type": "five_star", "value": 0}}, "rating.value"),
    ({"rating": {"type": "five_star", "value": 2.5}}, "rating.value"),
    ({"rating": {"type": "five_star"}}, "rating.value"),
    ({"rating": {"type": "pass_fail", "value": "yes"}}, "rating.value"),
    ({"rating": {"type": "stars", "value": 3}}, "rating.type"),
    ({"rating": 5}, "rating"),
    ({"tags": "x"}, "tags"),
    ({"tags": [1]}, "tags[0]"),
    ({"color": "red"}, "color"),
])
def test_patch_bad_bodies(gen, data, body, field):
    pid, tid, runs = data
    assert_error(gen.c.patch(gen.runs_path(pid, tid, "/" + runs["a"]["id"]), body), 422, "invalid",
                 field=field)


def test_unknown_ids_404(gen, data):
    pid, tid, runs = data
    rid = runs["a"]["id"]
    for p, t, r in (("999999999999", tid, rid), (pid, "999999999999", rid),
                    (pid, tid, "999999999999")):
        assert_error(gen.c.get(gen.runs_path(p, t, "/" + r)), 404, "not_found")
        assert_error(gen.c.patch(gen.runs_path(p, t, "/" + r), {"tags": []}), 404, "not_found")
        assert_error(gen.c.delete(gen.runs_path(p, t, "/" + r)), 404, "not_found")
    assert_error(gen.c.get(gen.runs_path("999999999999", tid)), 404, "not_found")
    # a run of another task is not found through this one
    pid2, tid2 = gen.task()
    assert_error(gen.c.get(gen.runs_path(pid2, tid2, "/" + rid)), 404, "not_found")


def test_bad_list_queries(gen, data):
    pid, tid, _ = data
    for q, field in (("limit=0", "limit"), ("limit=abc", "limit"), ("rating=9", "rating"),
                     ("cursor=../../x", "cursor")):
        assert_error(gen.c.get(gen.runs_path(pid, tid, "?" + q)), 422, "invalid", field=field)


def test_cursor_pagination(gen):
    pid, tid = gen.task()
    want = sorted(save(gen, pid, tid, input="p%02d" % i, topic_path=["pg"])["id"] for i in range(11))
    seen, cursor, pages = [], None, 0
    while True:
        q = {"limit": 4, "topic_path": "pg"}
        if cursor:
            q["cursor"] = cursor
        body = listing(gen, pid, tid, **q)
        pages += 1
        assert len(body["runs"]) <= 4
        seen += [r["id"] for r in body["runs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["runs"]) == 4
        assert pages < 10
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11
    assert sorted(seen) == want
    # exactly a page's worth leaves no dangling cursor
    body = listing(gen, pid, tid, limit=11)
    assert len(body["runs"]) == 11 and body["next_cursor"] is None


def test_delete(gen):
    pid, tid = gen.task()
    a = save(gen, pid, tid, input="del-a", topic_path=["t"])
    b = save(gen, pid, tid, input="del-b", topic_path=["t"])
    r = gen.c.delete(gen.runs_path(pid, tid, "/" + a["id"]))
    assert r.status == 200, r
    assert isinstance(r.json().get("message"), str)
    assert_error(gen.c.get(gen.runs_path(pid, tid, "/" + a["id"])), 404, "not_found")
    assert_error(gen.c.delete(gen.runs_path(pid, tid, "/" + a["id"])), 404, "not_found")
    assert ids(listing(gen, pid, tid)) == [b["id"]]
    tree = gen.c.ok("GET", gen.ds(pid, tid, "topics"))
    assert tree["sample_count"] == 1


def test_topic_tree_counts(gen, data):
    pid, tid, runs = data
    tree = gen.c.ok("GET", gen.ds(pid, tid, "topics"))
    assert list(tree.keys()) == ["name", "path", "sample_count", "children"]
    assert tree["name"] == "root" and tree["path"] == []
    assert tree["sample_count"] == len(runs)

    def node(path):
        n = tree
        for name in path:
            n = [k for k in n["children"] if k["name"] == name][0]
        return n

    assert node(["a"])["sample_count"] == 4
    assert node(["a"])["path"] == ["a"]
    assert node(["a", "b"])["sample_count"] == 3
    assert node(["a", "b", "c"])["sample_count"] == 1
    assert node(["a", "b", "c"])["path"] == ["a", "b", "c"]
    assert node(["ab"])["sample_count"] == 1
    assert node(["主题"])["sample_count"] == 1 and node(["主题", "路径"])["sample_count"] == 1
    assert sorted(k["name"] for k in tree["children"]) == sorted(["a", "ab", "主题"])


def test_topic_tree_merges_generated_and_sample_nodes(gen):
    pid, tid = gen.task()
    model = gen.model()
    r = gen.c.post(gen.ds(pid, tid, "generate_categories"),
                   {"node_path": ["root", "x"], "num_subtopics": 2, "model_name": model,
                    "provider": "together_ai"})
    assert r.status == 200, r
    names = json.loads(r.json()["output"]["output"])["subtopics"]
    save(gen, pid, tid, input="s1", topic_path=["x", names[0]])
    save(gen, pid, tid, input="s2", topic_path=["x", names[0]])
    save(gen, pid, tid, input="s3", topic_path=["x"])
    tree = gen.c.ok("GET", gen.ds(pid, tid, "topics"))
    assert [k["name"] for k in tree["children"]] == ["x"]
    x = tree["children"][0]
    assert x["sample_count"] == 3
    kids = {k["name"]: k for k in x["children"]}
    assert sorted(kids) == sorted(names), "a sample's node and the generated node are one node"
    assert kids[names[0]]["sample_count"] == 2 and kids[names[1]]["sample_count"] == 0


def test_few_shot_uses_pass_fail_and_skips_deleted(gen):
    pid, tid = gen.task()
    p = gen.runs_path(pid, tid, "/")
    passed = save(gen, pid, tid, input="pf-pass", output="pf-pass-out")
    failed = save(gen, pid, tid, input="pf-fail", output="pf-fail-out")
    gone = save(gen, pid, tid, input="pf-gone", output="pf-gone-out")
    gen.c.ok("PATCH", p + passed["id"], {"rating": {"type": "pass_fail", "value": True}})
    gen.c.ok("PATCH", p + failed["id"], {"rating": {"type": "pass_fail", "value": False}})
    gen.c.ok("PATCH", p + gone["id"], {"rating": {"type": "five_star", "value": 5}})
    assert gen.c.delete(p + gone["id"]).status == 200
    model = gen.model()
    r = gen.c.post(gen.ds(pid, tid, "save_sample"), {
        "input": "q", "output_model_name": model, "output_provider": "together_ai",
        "prompt_method": "few_shot_prompt_builder"})
    assert r.status == 200, r
    system = gen.fake.requests(model)[0]["body"]["messages"][0]["content"]
    assert "pf-pass-out" in system
    assert "pf-fail" not in system and "pf-gone" not in system


# ---- requirement ratings and repairs (what the review screen writes) ----

OUTPUT_KEYS = ["v", "id", "path", "created_at", "created_by", "output", "source", "rating",
               "model_type"]


def requirement_ids(gen, pid, tid):
    r = gen.c.get("/api/projects/%s/tasks/%s" % (pid, tid))
    assert r.status == 200, r
    return [x["id"] for x in r.json()["requirements"]]


def exported_answers(gen, pid, tid, tag):
    r = gen.c.get("/api/projects/%s/tasks/%s/export?format=openai_chat_jsonl&tag=%s"
                  % (pid, tid, tag))
    assert r.status == 200, r
    return [json.loads(x)["messages"][2]["content"] for x in r.raw.decode().splitlines()]


def test_requirement_ratings_are_kept_as_kiln_keeps_them(gen):
    pid, tid = gen.task()
    r1, r2 = requirement_ids(gen, pid, tid)
    run = save(gen, pid, tid, input="rated")
    path = gen.runs_path(pid, tid, "/" + run["id"])
    r = gen.c.ok("PATCH", path, {"rating": {"type": "five_star", "value": 4, "requirement_ratings": {
        r1: {"type": "five_star", "value": 5}, r2: {"type": "pass_fail_critical", "value": -1}}}})
    want = {r1: {"value": 5.0, "type": "five_star"}, r2: {"value": -1.0, "type": "pass_fail_critical"}}
    for got in (r, gen.c.ok("GET", path)):
        rating = got["output"]["rating"]
        assert (rating["type"], rating["value"]) == ("five_star", 4)
        assert rating["requirement_ratings"] == want
        assert [list(v) for v in rating["requirement_ratings"].values()] == [["value", "type"]] * 2
    r = gen.c.ok("PATCH", path, {"rating": {"type": "pass_fail", "value": True, "requirement_ratings": {
        r2: {"type": "pass_fail", "value": False}}}})
    assert r["output"]["rating"]["requirement_ratings"] == {r2: {"value": 0.0, "type": "pass_fail"}}
    r = gen.c.ok("PATCH", path, {"rating": {"type": "five_star", "value": 3}})
    assert r["output"]["rating"]["requirement_ratings"] == {}


@pytest.mark.parametrize("ratings,field", [
    ({"no-such-requirement": {"type": "five_star", "value": 5}},
     "rating.requirement_ratings.no-such-requirement"),
    ({"R0": {"type": "five_star", "value": 6}}, "rating.requirement_ratings.R0.value"),
    ({"R0": {"type": "five_star", "value": 2.5}}, "rating.requirement_ratings.R0.value"),
    ({"R0": {"type": "pass_fail", "value": -1}}, "rating.requirement_ratings.R0.value"),
    ({"R0": {"type": "stars", "value": 3}}, "rating.requirement_ratings.R0.type"),
    ({"R0": {"type": "five_star"}}, "rating.requirement_ratings.R0.value"),
    ({"R0": {"value": 3}}, "rating.requirement_ratings.R0.type"),
    ({"R0": {"type": "five_star", "value": 3, "note": "x"}}, "rating.requirement_ratings.R0.note"),
    ({"R0": 5}, "rating.requirement_ratings.R0"),
    ([5], "rating.requirement_ratings"),
])
def test_bad_requirement_ratings(gen, ratings, field):
    pid, tid = gen.task()
    r0 = requirement_ids(gen, pid, tid)[0]
    run = save(gen, pid, tid, input="bad rating")
    if isinstance(ratings, dict):
        ratings = {k.replace("R0", r0): v for k, v in ratings.items()}
    field = field.replace("R0", r0)
    path = gen.runs_path(pid, tid, "/" + run["id"])
    assert_error(gen.c.patch(path, {"rating": {"type": "five_star", "value": 4,
                                               "requirement_ratings": ratings}}),
                 422, "invalid", field=field)
    assert gen.c.ok("GET", path)["output"]["rating"] is None


def test_repair_is_stored_shown_and_exported(gen):
    pid, tid = gen.task()
    run = save(gen, pid, tid, input="repair me", output="原来的输出", tags=["fixme"])
    path = gen.runs_path(pid, tid, "/" + run["id"])
    r = gen.c.ok("PATCH", path, {"repaired_output": "修正后的输出", "repair_instructions": "更礼貌一些"})
    for got in (r, gen.c.ok("GET", path)):
        rep = got["repaired_output"]
        assert list(rep) == OUTPUT_KEYS, rep
        assert (rep["output"], rep["rating"], rep["model_type"], rep["v"]) == (
            "修正后的输出", None, "task_output", 1)
        assert rep["source"] == {"type": "human", "properties": {"created_by": run["created_by"]}}
        assert rep["created_by"] == run["created_by"] and rep["id"] != run["output"]["id"]
        assert got["repair_instructions"] == "更礼貌一些"
        assert got["output"]["output"] == "原来的输出"
    assert exported_answers(gen, pid, tid, "fixme") == ["修正后的输出"]
    # instructions alone change; the repair stays
    r = gen.c.ok("PATCH", path, {"repair_instructions": "简短"})
    assert r["repair_instructions"] == "简短" and r["repaired_output"]["output"] == "修正后的输出"
    r = gen.c.ok("PATCH", path, {"repaired_output": None, "repair_instructions": None})
    assert r["repaired_output"] is None and r["repair_instructions"] is None
    assert exported_answers(gen, pid, tid, "fixme") == ["原来的输出"]


def test_repair_follows_the_output_schema(gen):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"]}
    pid, tid = gen.task(output_json_schema=json.dumps(schema))
    run = save(gen, pid, tid, input="structured", output={"answer": "old"})
    path = gen.runs_path(pid, tid, "/" + run["id"])
    assert_error(gen.c.patch(path, {"repaired_output": "plain text"}), 422, "invalid",
                 field="repaired_output")
    assert_error(gen.c.patch(path, {"repaired_output": {"answer": 5}}), 422, "invalid",
                 field="repaired_output")
    assert gen.c.ok("GET", path)["repaired_output"] is None
    r = gen.c.ok("PATCH", path, {"repaired_output": {"answer": "new"}})
    assert json.loads(r["repaired_output"]["output"]) == {"answer": "new"}
    r = gen.c.ok("PATCH", path, {"repaired_output": '{"answer": "text form"}'})
    assert json.loads(r["repaired_output"]["output"]) == {"answer": "text form"}


@pytest.mark.parametrize("body,field", [
    ({"repaired_output": 5}, "repaired_output"),
    ({"repaired_output": ""}, "repaired_output"),
    ({"repaired_output": {"a": 1}}, "repaired_output"),  # an object needs an output schema
    ({"repair_instructions": 5}, "repair_instructions"),
    ({"repair_instructions": ""}, "repair_instructions"),
])
def test_bad_repairs(gen, data, body, field):
    pid, tid, runs = data
    path = gen.runs_path(pid, tid, "/" + runs["a"]["id"])
    assert_error(gen.c.patch(path, body), 422, "invalid", field=field)
    got = gen.c.ok("GET", path)
    assert got["repaired_output"] is None and got["repair_instructions"] is None
