# SPDX-License-Identifier: MIT
"""Dataset splits over real HTTP, as the gateway served them over Kiln 0.15: each split type's
part sizes on 1,000 runs, no run in two parts and the union the filtered set; each filter
(five-star and pass/fail ratings, thinking models through intermediate outputs, tag::);
reproducible seeds; a split frozen against later samples; Kiln's key order in the raw body; the
/api/finetune and unprefixed paths; the runs list through a split; errors naming the field."""

import json
import re
import urllib.parse

import pytest

from hetu_http import assert_error, assert_id, assert_timestamp
from test_generate import gen  # noqa: F401

SPLIT_KEYS = ["v", "id", "path", "created_at", "created_by", "name", "description", "splits",
              "split_contents", "filter", "model_type"]
TYPES = {
    "train_test": [("train", 0.8, 800), ("test", 0.2, 200)],
    "train_val": [("train", 0.8, 800), ("val", 0.2, 200)],
    "train_test_val": [("train", 0.6, 600), ("test", 0.2, 200), ("val", 0.2, 200)],
    "train_test_val_80": [("train", 0.8, 800), ("test", 0.1, 100), ("val", 0.1, 100)],
    "all": [("all", 1.0, 1000)],
}


def splits_path(pid, tid, finetune=True, rest=""):
    return "/api%s/projects/%s/tasks/%s/dataset_splits%s" % (
        "/finetune" if finetune else "", pid, tid, rest)


def create(gen, pid, tid, finetune=True, **body):
    r = gen.c.post(splits_path(pid, tid, finetune), body)
    assert r.status == 200, r
    return check_split(r)


def check_split(r):
    """The DatasetSplit in Kiln's key order, checked on the raw body."""
    d = json.loads(r.raw, object_pairs_hook=lambda pairs: pairs)
    assert [k for k, _ in d] == SPLIT_KEYS, [k for k, _ in d]
    body = r.json()
    check_split_body(body, d)
    return body


def check_split_body(body, pairs=None):
    assert body["v"] == 1 and body["model_type"] == "dataset_split"
    assert_id(body["id"])
    assert body["path"] is None
    assert_timestamp(body["created_at"])
    assert isinstance(body["created_by"], str) and body["created_by"]
    for s in body["splits"]:
        assert list(s.keys()) == ["name", "description", "percentage"]
    # split_contents lists the parts in the order of splits
    assert list(body["split_contents"]) == [s["name"] for s in body["splits"]]
    if pairs is not None:
        contents = dict(pairs)["split_contents"]
        assert [k for k, _ in contents] == [s["name"] for s in body["splits"]]


def save_batch(gen, pid, tid, samples):
    r = gen.c.post(gen.ds(pid, tid, "save_samples_batch"), {"samples": samples})
    assert r.status == 200, r
    return [run["id"] for run in r.json()]


def rate(gen, pid, tid, run_id, rating):
    r = gen.c.patch(gen.runs_path(pid, tid, "/" + run_id), {"rating": rating})
    assert r.status == 200, r


@pytest.fixture(scope="module")
def thousand(gen):
    pid, tid = gen.task()
    ids = save_batch(gen, pid, tid, [{"input": "输入 %d" % i, "output": "输出 %d" % i}
                                     for i in range(1000)])
    assert len(set(ids)) == 1000
    return pid, tid, ids


@pytest.mark.parametrize("split_type", sorted(TYPES))
def test_sizes_of_1000_runs(gen, thousand, split_type):
    pid, tid, ids = thousand
    d = create(gen, pid, tid, dataset_split_type=split_type, filter_id="all", name="sizes",
               description="每种类型")
    want = TYPES[split_type]
    assert d["splits"] == [{"name": n, "description": None, "percentage": p} for n, p, _ in want]
    assert [(n, len(d["split_contents"][n])) for n, _, _ in want] == [(n, k) for n, _, k in want]
    seen = [i for part in d["split_contents"].values() for i in part]
    assert len(seen) == len(set(seen)), "a run is in two parts"
    assert set(seen) == set(ids)
    assert d["name"] == "sizes" and d["description"] == "每种类型" and d["filter"] == "all"
    # shuffled, not in creation order
    assert seen != sorted(seen)


def test_odd_counts_round_as_kiln(gen):
    """7 runs in 60/20/20: round(4.2) = 4, round(1.4) = 1, the rest (2) to the last part; 5 runs
    in 80/10/10: round(0.5) = 0 (half to even), so val takes 1."""
    pid, tid = gen.task()
    save_batch(gen, pid, tid, [{"input": "a%d" % i, "output": "o"} for i in range(7)])
    d = create(gen, pid, tid, dataset_split_type="train_test_val", filter_id="all")
    assert [len(v) for v in d["split_contents"].values()] == [4, 1, 2]
    pid, tid = gen.task()
    save_batch(gen, pid, tid, [{"input": "b%d" % i, "output": "o"} for i in range(5)])
    d = create(gen, pid, tid, dataset_split_type="train_test_val_80", filter_id="all")
    assert [len(v) for v in d["split_contents"].values()] == [4, 0, 1]


@pytest.fixture(scope="module")
def filtered(gen):
    """Runs with each kind of rating, tags, and thinking from a reasoning model and from a chain
    of thought prompt."""
    pid, tid = gen.task()
    names = ["five1", "five2", "five3", "five4", "five5", "pass", "fail", "crit_pass",
             "crit_fail", "unrated", "tagged", "tagged_other"]
    samples = [{"input": n, "output": "out " + n} for n in names]
    samples[10]["tags"] = ["金标", "x"]
    samples[11]["tags"] = ["金标x"]
    runs = dict(zip(names, save_batch(gen, pid, tid, samples)))
    for i in range(1, 6):
        rate(gen, pid, tid, runs["five%d" % i], {"type": "five_star", "value": i})
    rate(gen, pid, tid, runs["pass"], {"type": "pass_fail", "value": True})
    rate(gen, pid, tid, runs["fail"], {"type": "pass_fail", "value": False})
    rate(gen, pid, tid, runs["crit_pass"], {"type": "pass_fail_critical", "value": 1})
    rate(gen, pid, tid, runs["crit_fail"], {"type": "pass_fail_critical", "value": -1})
    for name, model, method in [("reasoning", gen.model("think"), "default"),
                                ("cot", gen.model(), "simple_chain_of_thought_prompt_builder"),
                                ("reasoning_rated", gen.model("think"), "default")]:
        r = gen.c.post(gen.ds(pid, tid, "save_sample"), {
            "input": name, "output_model_name": model, "output_provider": "together_ai",
            "prompt_method": method})
        assert r.status == 200, r
        runs[name] = r.json()["id"]
        inter = r.json()["intermediate_outputs"]
        assert ("chain_of_thought" if name == "cot" else "reasoning") in inter, inter
    rate(gen, pid, tid, runs["reasoning_rated"], {"type": "five_star", "value": 4})
    return pid, tid, runs


@pytest.mark.parametrize("filter_id,names", [
    ("all", None),
    ("high_rating", ["five4", "five5", "pass", "crit_pass", "reasoning_rated"]),
    ("thinking_model", ["reasoning", "cot", "reasoning_rated"]),
    ("thinking_model_high_rated", ["reasoning_rated"]),
    ("tag::金标", ["tagged"]),
    ("tag::nobody", []),
])
def test_filters_select_exactly(gen, filtered, filter_id, names):
    pid, tid, runs = filtered
    d = create(gen, pid, tid, dataset_split_type="all", filter_id=filter_id)
    assert d["filter"] == filter_id
    want = set(runs.values()) if names is None else {runs[n] for n in names}
    assert set(d["split_contents"]["all"]) == want
    assert len(d["split_contents"]["all"]) == len(want)


def test_seed_reproduces(gen, thousand):
    pid, tid, _ = thousand
    a = create(gen, pid, tid, dataset_split_type="train_test_val", filter_id="all", seed=12345)
    b = create(gen, pid, tid, dataset_split_type="train_test_val", filter_id="all", seed=12345)
    c = create(gen, pid, tid, dataset_split_type="train_test_val", filter_id="all", seed=12346)
    assert a["id"] != b["id"]
    assert a["split_contents"] == b["split_contents"]
    assert c["split_contents"]["train"] != a["split_contents"]["train"]
    assert set(c["split_contents"]["train"]) != set(a["split_contents"]["train"])
    # a negative seed is a seed too; without one, each split is shuffled anew
    n1 = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all", seed=-7)
    n2 = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all", seed=-7)
    assert n1["split_contents"] == n2["split_contents"]
    r1 = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all")
    r2 = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all")
    assert r1["split_contents"]["train"] != r2["split_contents"]["train"]


def test_frozen_against_later_samples(gen):
    pid, tid = gen.task()
    first = save_batch(gen, pid, tid, [{"input": "f%d" % i, "output": "o"} for i in range(10)])
    d = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all", seed=1)
    later = save_batch(gen, pid, tid, [{"input": "l%d" % i, "output": "o"} for i in range(10)])
    listed = gen.c.get(splits_path(pid, tid)).json()
    assert listed == [d]
    got = gen.c.get(splits_path(pid, tid, rest="/" + d["id"]))
    assert got.status == 200 and check_split(got) == d
    # deleting a run leaves its id in the split (as Kiln keeps it) ...
    gone = d["split_contents"]["train"][0]
    assert gen.c.delete(gen.runs_path(pid, tid, "/" + gone)).status == 200
    assert gen.c.get(splits_path(pid, tid, rest="/" + d["id"])).json() == d
    # ... and the runs listed through the split are those still stored
    body = gen.c.get(gen.runs_path(pid, tid, "?dataset_id=%s&split_name=train" % d["id"])).json()
    assert [r["id"] for r in body["runs"]] == d["split_contents"]["train"][1:]
    # a new split sees the later samples
    d2 = create(gen, pid, tid, dataset_split_type="all", filter_id="all")
    assert set(d2["split_contents"]["all"]) == (set(first) | set(later)) - {gone}


def test_both_paths_and_list_order(gen):
    pid, tid = gen.task()
    save_batch(gen, pid, tid, [{"input": "p%d" % i, "output": "o"} for i in range(4)])
    a = create(gen, pid, tid, finetune=True, dataset_split_type="train_test", filter_id="all")
    b = create(gen, pid, tid, finetune=False, dataset_split_type="all", filter_id="all",
               name=None, description=None)
    for finetune in (True, False):
        r = gen.c.get(splits_path(pid, tid, finetune))
        assert r.status == 200, r
        body = r.json()
        assert isinstance(body, list), "a bare list"
        assert body == [a, b], "oldest first"
        pairs = json.loads(r.raw, object_pairs_hook=lambda p: p)
        for item, d in zip(pairs, body):
            assert [k for k, _ in item] == SPLIT_KEYS
            check_split_body(d, item)
        got = gen.c.get(splits_path(pid, tid, finetune, "/" + b["id"]))
        assert got.status == 200 and check_split(got) == b
    # an empty task's list
    pid2, tid2 = gen.task()
    assert gen.c.get(splits_path(pid2, tid2)).json() == []


def test_default_name(gen):
    pid, tid = gen.task()
    for extra in ({}, {"name": ""}, {"name": None}):
        d = create(gen, pid, tid, dataset_split_type="all", filter_id="all", **extra)
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", d["name"]), d["name"]
        assert d["description"] is None
    d = create(gen, pid, tid, dataset_split_type="all", filter_id="all", name="训练集 v1")
    assert d["name"] == "训练集 v1" and d["split_contents"] == {"all": []}


@pytest.mark.parametrize("body,status,code,field", [
    ({"dataset_split_type": "train_90", "filter_id": "all"}, 422, "invalid", "dataset_split_type"),
    ({"filter_id": "all"}, 422, "invalid", "dataset_split_type"),
    ({"dataset_split_type": 3, "filter_id": "all"}, 422, "invalid", "dataset_split_type"),
    ({"dataset_split_type": "all", "filter_id": "best"}, 422, "invalid", "filter_id"),
    ({"dataset_split_type": "all", "filter_id": "tag::"}, 422, "invalid", "filter_id"),
    ({"dataset_split_type": "all"}, 422, "invalid", "filter_id"),
    ({"dataset_split_type": "all", "filter_id": "all", "seed": "x"}, 422, "invalid", "seed"),
    ({"dataset_split_type": "all", "filter_id": "all", "seed": 1.5}, 422, "invalid", "seed"),
    ({"dataset_split_type": "all", "filter_id": "all", "name": "n" * 121}, 422, "invalid", "name"),
    ({"dataset_split_type": "all", "filter_id": "all", "seed": "1.5"}, 422, "invalid", "seed"),
])
def test_bad_bodies(gen, body, status, code, field):
    pid, tid = gen.task()
    r = gen.c.post(splits_path(pid, tid), body)
    body_err = assert_error(r, status, code, field=field)
    assert gen.c.get(splits_path(pid, tid)).json() == [], body_err


def not_found(r, field, what):
    """A 404 whose field is `field` and whose detail names the missing id."""
    body = assert_error(r, 404, "not_found", mentions=(what,))
    assert body["field"] == field, body


def test_unknown_ids(gen):
    pid, tid = gen.task()
    body = {"dataset_split_type": "all", "filter_id": "all"}
    nobody = "999999999999"
    not_found(gen.c.post(splits_path(nobody, tid), body), "project_id", nobody)
    not_found(gen.c.post(splits_path(pid, nobody), body), "task_id", nobody)
    not_found(gen.c.get(splits_path(pid, nobody, False)), "task_id", nobody)
    not_found(gen.c.get(splits_path(pid, tid, rest="/" + nobody)), "dataset_id", nobody)
    # a split of another task is not found through this one
    pid2, tid2 = gen.task()
    other = create(gen, pid2, tid2, **body)
    not_found(gen.c.get(splits_path(pid, tid, rest="/" + other["id"])), "dataset_id", other["id"])


def test_runs_list_through_a_split(gen, thousand):
    pid, tid, _ = thousand
    d = create(gen, pid, tid, dataset_split_type="train_test_val_80", filter_id="all", seed=3)
    for part in ("train", "test", "val"):
        got, cursor = [], None
        while True:
            q = {"dataset_id": d["id"], "split_name": part, "limit": 300}
            if cursor:
                q["cursor"] = cursor
            body = gen.c.get(gen.runs_path(pid, tid, "?" + urllib.parse.urlencode(q))).json()
            got += [r["id"] for r in body["runs"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert got == d["split_contents"][part], part  # the part's own order, page after page
    body = gen.c.get(gen.runs_path(pid, tid, "?limit=1000&dataset_id=" + d["id"])).json()
    assert len(body["runs"]) == 1000
    r = gen.c.get(gen.runs_path(pid, tid, "?dataset_id=999999999999&split_name=train"))
    not_found(r, "dataset_id", "999999999999")
    r = gen.c.get(gen.runs_path(pid, tid, "?dataset_id=%s&split_name=validation" % d["id"]))
    assert_error(r, 400, "bad_request", field="split_name", mentions=("validation",))
    r = gen.c.get(gen.runs_path(pid, tid, "?split_name=train"))
    assert_error(r, 400, "bad_request", field="dataset_id")


def test_deleting_the_task_deletes_its_splits(gen):
    pid, tid = gen.task()
    save_batch(gen, pid, tid, [{"input": "d%d" % i, "output": "o"} for i in range(5)])
    d = create(gen, pid, tid, dataset_split_type="train_test", filter_id="all")
    assert gen.c.delete("/api/projects/%s/task/%s" % (pid, tid)).status == 200
    not_found(gen.c.get(splits_path(pid, tid, rest="/" + d["id"])), "task_id", tid)
    pid2, tid2 = gen.task()
    create(gen, pid2, tid2, dataset_split_type="all", filter_id="all")
    assert gen.c.delete("/api/projects/%s" % pid2).status == 200
    not_found(gen.c.get(splits_path(pid2, tid2)), "project_id", pid2)
