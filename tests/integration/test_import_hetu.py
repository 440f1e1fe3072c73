# SPDX-License-Identifier: MIT
"""A hetu_jsonl export read back by import_samples_from_file: each line's stored fields (rating,
sources, repair, usage, session) become the new sample's, its tags stay exactly as they were,
whether the file is small (saved inside the request) or large (loaded by a job); stored fields
no sample could have are refused with the line and field named. A CSV export's rating and
session_id columns are read back too."""

import json

import pytest

from hetu_http import assert_error
from test_import import Imp, fake_env, jsonl_bytes


@pytest.fixture
def srv(start_server, fake_llm):
    return start_server(env=fake_env(fake_llm))


def hetu_line(i):
    """A line as the hetu_jsonl export writes a stored sample."""
    rated = i % 3
    return {
        "input": "问题 %d：\"引号\"\n第二行" % i,
        "output": "答案 %d, 逗号" % i,
        "topic_path": ["语言", "中文 %d" % (i % 4)] if i % 2 else [],
        "tags": ["synthetic", "批次_%d" % (i % 5)] if i % 2 else ["imported"],
        "rating": [None,
                   {"v": 1, "value": float(1 + i % 5), "type": "five_star",
                    "requirement_ratings": {}},
                   {"v": 1, "value": 1.0, "type": "pass_fail", "requirement_ratings": {}}][rated],
        "repair_instructions": "更正式" if i % 7 == 0 else None,
        "repaired_output": ({"v": 1, "output": "修好的 %d" % i,
                             "source": {"type": "human", "properties": {"created_by": "bob"}}}
                            if i % 7 == 0 else None),
        "intermediate_outputs": {"chain_of_thought": "想 %d" % i} if i % 4 == 1 else {},
        "session_id": "会话-%d" % (i % 2) if i % 3 else None,
        "input_source": {"type": "synthetic",
                         "properties": {"model_name": "qwen-max", "model_provider": "dashscope",
                                        "adapter_name": "kiln_data_gen"}},
        "output_source": {"type": "synthetic",
                          "properties": {"model_name": "gpt-4o-%d" % (i % 3),
                                         "model_provider": "openai",
                                         "adapter_name": "hetu_data_gen",
                                         "prompt_id": "few_shot_prompt_builder"}},
        "usage": ({"input_tokens": 10 + i, "output_tokens": 20, "total_tokens": 30 + i,
                   "cost": 0.125 * i} if i % 2 else
                  {"input_tokens": None, "output_tokens": None, "total_tokens": None,
                   "cost": None}),
        "id": "%d" % (900000 + i),
        "created_at": "2026-01-02T03:04:05.123456+00:00",
        "created_by": "alice",
    }


def check_run(run, line):
    """The stored run has every stored field of the line; its id, time and creator are its own."""
    assert run["input"] == line["input"]
    assert run["output"]["output"] == line["output"]
    assert run["tags"] == line["tags"]
    assert run["output"]["rating"] == line["rating"]
    assert run["repair_instructions"] == line["repair_instructions"]
    assert run["repaired_output"] == line["repaired_output"]
    assert run["intermediate_outputs"] == line["intermediate_outputs"]
    assert run["input_source"] == line["input_source"]
    assert run["output"]["source"] == line["output_source"]
    assert run["usage"] == line["usage"]
    assert run["id"] != line["id"] and run["created_by"] != "alice"


def session_of(imp, run):
    """The session a run belongs to, as the runs filter finds it."""
    for s in ("会话-0", "会话-1"):
        if any(x["id"] == run["id"] for x in imp.all_runs(session_id=s)):
            return s
    return None


@pytest.mark.parametrize("n", [40, 130])
def test_hetu_jsonl_read_back(srv, n):
    imp = Imp(srv)
    lines = [hetu_line(i) for i in range(n)]
    r = imp.upload("export.jsonl", jsonl_bytes(lines))
    assert r.status == 200, r
    if n > 100:
        assert r.json()["status"] == "import_started"
        assert imp.wait_job(r.json()["job_id"])["status"] == "completed"
    else:
        assert r.json()["status"] == "import_completed"
    runs = {x["input"]: x for x in imp.all_runs()}
    assert len(runs) == n
    for line in lines:
        check_run(runs[line["input"]], line)
    for i in (0, 1, 2, 3):
        assert session_of(imp, runs[lines[i]["input"]]) == lines[i]["session_id"]
    # rated ones are found by the rating filter with their score (pass is 5)
    best = {x["input"] for x in imp.all_runs(rating=5)}
    assert best == {x["input"] for x in lines
                    if x["rating"] and (x["rating"]["type"] == "pass_fail"
                                        or x["rating"]["value"] == 5.0)}
    # topic paths as save_sample stores them
    with_topic = runs[lines[1]["input"]]
    assert with_topic["input_source"]["properties"].get("topic_path") is None  # kept as given
    topics = imp.c.ok("GET", imp.ds("topics"))
    assert topics["sample_count"] == n


@pytest.mark.parametrize("field,value,message", [
    ("rating", {"type": "five_star", "value": 7},
     "line 2: rating must be a five_star rating of 1 to 5, or a pass_fail or pass_fail_critical "
     "one"),
    ("input_source", {"type": "robot", "properties": {}},
     "line 2: input_source must be an object whose type is human, synthetic or file_import"),
    ("usage", {"input_tokens": 1.5}, "line 2: usage token counts must be whole numbers, at least 0"),
    ("session_id", "a\nb", "line 2: session_id must be one line of 1 to 200 bytes"),
])
def test_bad_stored_fields_refused_nothing_stored(srv, field, value, message):
    imp = Imp(srv)
    bad = dict(hetu_line(1), **{field: value})
    r = imp.upload("export.jsonl", jsonl_bytes([hetu_line(0), bad]))
    assert_error(r, 422, "invalid", field=field)
    assert r.json()["detail"] == message
    imp.assert_nothing_stored()


def test_csv_export_rating_and_session_read_back(srv):
    imp = Imp(srv)
    data = ('"input","output","topic_path","tags","rating","session_id","input_model",'
            '"output_model","created_at"\r\n'
            '"他说：""你好""\n再见","He said, ""Hello""","语言>>>>>中文","synthetic,翻译","4","s1",'
            '"qwen-max","gpt-4o","2026-01-02T03:04:05.123456+00:00"\r\n'
            '"a,b","c","","","fail","","","",""\r\n'
            '"x","y","","","critical","","","",""\r\n'
            '"plain","z","","","","","","",""\r\n').encode("utf-8")
    r = imp.upload("export.csv", data)
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    runs = {x["input"]: x for x in imp.all_runs()}
    first = runs["他说：\"你好\"\n再见"]
    assert first["output"]["rating"] == {"v": 1, "value": 4.0, "type": "five_star",
                                         "requirement_ratings": {}}
    assert first["tags"] == ["imported", "synthetic", "翻译"]
    assert [x["input"] for x in imp.all_runs(session_id="s1")] == [first["input"]]
    assert runs["a,b"]["output"]["rating"]["type"] == "pass_fail"
    assert runs["a,b"]["output"]["rating"]["value"] == 0.0
    assert runs["x"]["output"]["rating"]["type"] == "pass_fail_critical"
    assert runs["x"]["output"]["rating"]["value"] == -1.0
    assert runs["plain"]["output"]["rating"] is None
    r = imp.upload("bad.csv", b'input,output,rating\nq,a,six\n')
    # the field is the upload part; the detail names the line
    assert assert_error(r, 400, "bad_request")["field"] == "file"
    assert r.json()["detail"] == 'line 2: rating must be 1 to 5, pass, fail or critical, not "six"'
