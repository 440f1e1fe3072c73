# SPDX-License-Identifier: MIT
"""A judge's ratings over HTTP, kept apart from a person's: samples carrying one (brought in by a
hetu_jsonl import, whose stored fields include judge_rating) show it as the run's top-level
judge_rating while output.rating stays the person's; the runs list and the export select by
judge_rating (a minimum of the judge's rating alone) and judged=true; a hetu_jsonl export writes
it for judged samples only, and importing that export gives the same ratings back."""

import json

import pytest

from hetu_http import assert_error
from test_import import Imp, jsonl_bytes


def five(value):
    return {"v": 1, "value": float(value), "type": "five_star", "requirement_ratings": {}}


def pass_fail(value):
    return {"v": 1, "value": float(value), "type": "pass_fail", "requirement_ratings": {}}


# input -> (a person's rating, the judge's rating)
RATINGS = {
    "甲 person 5, judge 2": (five(5), five(2)),
    "乙 judge 5 only": (None, five(5)),
    "丙 person 1 only": (five(1), None),
    "丁 person pass, judge fail": (pass_fail(1), pass_fail(0)),
    "戊 neither": (None, None),
}


def line(text):
    person, judge = RATINGS[text]
    out = {"input": text, "output": "答 " + text, "tags": ["synthetic"], "rating": person,
           "intermediate_outputs": {},
           "input_source": {"type": "human", "properties": {"created_by": "alice"}},
           "output_source": {"type": "synthetic",
                             "properties": {"model_name": "m", "model_provider": "p",
                                            "adapter_name": "hetu_data_gen",
                                            "prompt_id": "simple_prompt_builder"}}}
    if judge is not None:
        out["judge_rating"] = judge
    return out


def upload(imp, lines):
    r = imp.upload("export.jsonl", jsonl_bytes(lines))
    assert r.status == 200 and r.json()["status"] == "import_completed", r


@pytest.fixture(scope="module")
def imp(server):
    i = Imp(server)
    upload(i, [line(t) for t in RATINGS])
    return i


def inputs(runs):
    return sorted(x["input"] for x in runs)


def export(imp, **q):
    r = imp.c.get("/api/projects/%s/tasks/%s/export?%s" % (
        imp.pid, imp.tid, "&".join("%s=%s" % kv for kv in q.items())))
    assert r.status == 200, r
    return [json.loads(x) for x in r.raw.decode("utf-8").splitlines()]


def test_run_shows_both_ratings_apart(imp):
    runs = {x["input"]: x for x in imp.all_runs()}
    assert len(runs) == 5
    for text, (person, judge) in RATINGS.items():
        assert runs[text]["output"]["rating"] == person, text
        assert runs[text]["judge_rating"] == judge, text
    one = imp.c.ok("GET", "/api/projects/%s/tasks/%s/runs/%s" % (
        imp.pid, imp.tid, runs["甲 person 5, judge 2"]["id"]))
    assert one["judge_rating"] == five(2) and one["output"]["rating"] == five(5)


def test_runs_list_filters_by_the_judge(imp):
    assert inputs(imp.all_runs(judge_rating=4)) == ["乙 judge 5 only"]
    assert inputs(imp.all_runs(judge_rating=1)) == [
        "丁 person pass, judge fail", "乙 judge 5 only", "甲 person 5, judge 2"]
    assert inputs(imp.all_runs(judge_rating=0)) == inputs(imp.all_runs(judge_rating=1))
    assert inputs(imp.all_runs(judged="true")) == [
        "丁 person pass, judge fail", "乙 judge 5 only", "甲 person 5, judge 2"]
    assert len(imp.all_runs(judged="false")) == 5
    # a person's minimum reads the person's rating, the judge's minimum the judge's
    assert inputs(imp.all_runs(rating=5)) == ["丁 person pass, judge fail",
                                              "甲 person 5, judge 2"]
    assert inputs(imp.all_runs(rating=5, judge_rating=2)) == ["甲 person 5, judge 2"]
    assert inputs(imp.all_runs(rating=1, judge_rating=3)) == []


@pytest.mark.parametrize("q,field", [({"judge_rating": "6"}, "judge_rating"),
                                     ({"judge_rating": "high"}, "judge_rating"),
                                     ({"judged": "yes"}, "judged")])
def test_bad_judge_filters_refused(imp, q, field):
    r = imp.c.get("/api/projects/%s/tasks/%s/runs?%s" % (
        imp.pid, imp.tid, "&".join("%s=%s" % kv for kv in q.items())))
    assert_error(r, 422, "invalid", field=field)
    r = imp.c.get("/api/projects/%s/tasks/%s/export?format=hetu_jsonl&%s" % (
        imp.pid, imp.tid, "&".join("%s=%s" % kv for kv in q.items())))
    assert_error(r, 422, "invalid", field=field)


def test_export_filters_and_writes_the_judge_rating(imp):
    assert [x["input"] for x in export(imp, format="hetu_jsonl", judge_rating=4)] == [
        "乙 judge 5 only"]
    judged = export(imp, format="hetu_jsonl", judged="true")
    assert sorted(x["input"] for x in judged) == [
        "丁 person pass, judge fail", "乙 judge 5 only", "甲 person 5, judge 2"]
    every = {x["input"]: x for x in export(imp, format="hetu_jsonl")}
    for text, (person, judge) in RATINGS.items():
        assert every[text]["rating"] == person, text
        if judge is None:
            assert "judge_rating" not in every[text], text
        else:
            assert every[text]["judge_rating"] == judge, text
    chat = export(imp, format="openai_chat_jsonl", judged="true", rating=5)
    assert [x["messages"][1]["content"] for x in chat] == ["甲 person 5, judge 2",
                                                           "丁 person pass, judge fail"]


def test_export_imported_again_keeps_both_ratings(server, imp):
    lines = export(imp, format="hetu_jsonl")
    other = Imp(server)
    upload(other, lines)
    runs = {x["input"]: x for x in other.all_runs()}
    for text, (person, judge) in RATINGS.items():
        assert runs[text]["output"]["rating"] == person, text
        assert runs[text]["judge_rating"] == judge, text
    assert inputs(other.all_runs(judge_rating=4)) == ["乙 judge 5 only"]


def test_bad_judge_rating_refused_nothing_stored(server):
    other = Imp(server)
    bad = dict(line("甲 person 5, judge 2"), judge_rating={"type": "five_star", "value": 9})
    r = other.upload("export.jsonl", jsonl_bytes([line("戊 neither"), bad]))
    assert_error(r, 422, "invalid", field="judge_rating")
    assert r.json()["detail"] == ("line 2: judge_rating must be a five_star rating of 1 to 5, or "
                                  "a pass_fail or pass_fail_critical one")
    other.assert_nothing_stored()
