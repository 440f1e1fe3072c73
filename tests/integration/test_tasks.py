# SPDX-License-Identifier: MIT
"""Tasks over real HTTP: shapes and key order, requirements defaults, schema text validation,
the API's singular/plural paths, 404s, and cascade from the project."""

from datetime import datetime, timezone
import json

import pytest

from hetu_http import (REQUIREMENT_KEYS, TASK_KEYS, assert_error, assert_id, assert_timestamp)

INPUT_SCHEMA = {"type": "object", "properties": {"问题": {"type": "string"}}, "required": ["问题"]}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "score": {"type": "integer", "minimum": 1}},
    "required": ["answer"],
}


@pytest.fixture
def project(client):
    return client.new_project(name="task tests 任务")


def task_path(pid, tid=None, plural=False):
    base = "/api/projects/%s/%s" % (pid, "tasks" if plural else "task")
    return base if tid is None else base + "/" + tid


def check_task(t, **expect):
    assert list(t.keys()) == TASK_KEYS
    assert t["v"] == 1
    assert_id(t["id"])
    assert t["path"] is None
    assert_timestamp(t["created_at"], near=datetime.now(timezone.utc))
    assert isinstance(t["created_by"], str) and t["created_by"]
    assert t["model_type"] == "task"
    assert isinstance(t["requirements"], list)
    for req in t["requirements"]:
        assert list(req.keys()) == REQUIREMENT_KEYS
        assert_id(req["id"])
        assert req["priority"] in (0, 1, 2, 3)
        assert req["type"] == "five_star"
    for s in ("input_json_schema", "output_json_schema"):
        assert t[s] is None or isinstance(t[s], str)
    for k, v in expect.items():
        assert t[k] == v, (k, t[k], v)


def test_create_minimal_task(client, project):
    r = client.post(task_path(project["id"]), {"name": "Translate", "instruction": "Translate to French."})
    assert r.status == 200, r
    t = r.json()
    check_task(t, name="Translate", instruction="Translate to French.", requirements=[],
               input_json_schema=None, output_json_schema=None, thinking_instruction=None)
    assert t["description"] == ""


def test_create_full_task_round_trips_chinese(client, project):
    reqs = [
        {"name": "准确性", "instruction": "翻译必须准确", "priority": 0, "description": "最重要"},
        {"name": "流畅", "instruction": "译文通顺"},
        {"name": "格式", "instruction": "保持格式", "priority": 3, "type": "five_star"},
    ]
    body = {
        "name": "中文翻译任务",
        "description": "把中文句子翻译成英文",
        "instruction": "请将输入的中文翻译成英文，保持语气。",
        "requirements": reqs,
        "input_json_schema": json.dumps(INPUT_SCHEMA, ensure_ascii=False),
        "output_json_schema": json.dumps(OUTPUT_SCHEMA),
        "thinking_instruction": "先逐句思考，再给出译文。",
    }
    r = client.post(task_path(project["id"]), body)
    assert r.status == 200, r
    t = r.json()
    check_task(t, name=body["name"], description=body["description"], instruction=body["instruction"],
               thinking_instruction=body["thinking_instruction"])
    assert json.loads(t["input_json_schema"]) == INPUT_SCHEMA
    assert json.loads(t["output_json_schema"]) == OUTPUT_SCHEMA
    assert len(t["requirements"]) == 3
    got = t["requirements"]
    assert [q["name"] for q in got] == ["准确性", "流畅", "格式"]
    assert [q["instruction"] for q in got] == [q["instruction"] for q in reqs]
    assert [q["priority"] for q in got] == [0, 2, 3]
    assert got[0]["description"] == "最重要"
    assert got[1]["description"] == ""
    assert len({q["id"] for q in got}) == 3
    for text in (body["name"], body["instruction"], body["thinking_instruction"], "准确性", "问题"):
        assert text.encode("utf-8") in r.raw
    assert b"\\u" not in r.raw
    g = client.get(task_path(project["id"], t["id"], plural=True))
    assert g.status == 200
    assert g.json() == t
    assert b"\\u" not in g.raw


def test_list_tasks_is_bare_list(client, project):
    empty = client.get(task_path(project["id"], plural=True))
    assert empty.status == 200
    assert empty.json() == []
    made = [client.new_task(project["id"], name="t%d" % i) for i in range(3)]
    other = client.new_project(name="other")
    foreign = client.new_task(other["id"], name="foreign")
    lst = client.ok("GET", task_path(project["id"], plural=True))
    assert isinstance(lst, list)
    assert sorted(x["id"] for x in lst) == sorted(x["id"] for x in made)
    by_id = {x["id"]: x for x in lst}
    for t in made:
        assert by_id[t["id"]] == t
        assert list(by_id[t["id"]].keys()) == TASK_KEYS
    assert foreign["id"] not in by_id
    assert len({t["id"] for t in made} | {foreign["id"], project["id"], other["id"]}) == 6


def test_task_under_wrong_project_is_404(client, project):
    t = client.new_task(project["id"])
    other = client.new_project(name="other")
    assert_error(client.get(task_path(other["id"], t["id"], plural=True)), 404, "not_found", mentions=[t["id"]])
    assert_error(client.patch(task_path(other["id"], t["id"]), {"name": "x"}), 404, "not_found")
    assert_error(client.delete(task_path(other["id"], t["id"])), 404, "not_found")
    assert client.ok("GET", task_path(project["id"], t["id"], plural=True)) == t


def test_unknown_ids_are_404_naming_the_id(client, project):
    pid = project["id"]
    assert_error(client.get(task_path(pid, "999999999997", plural=True)), 404, "not_found", mentions=["999999999997"])
    assert_error(client.patch(task_path(pid, "999999999997"), {"name": "x"}), 404, "not_found", mentions=["999999999997"])
    assert_error(client.delete(task_path(pid, "999999999997")), 404, "not_found", mentions=["999999999997"])
    assert_error(client.get(task_path("999999999996", plural=True)), 404, "not_found", mentions=["999999999996"])
    assert_error(client.post(task_path("999999999996"), {"name": "n", "instruction": "i"}), 404, "not_found",
                 mentions=["999999999996"])
    assert_error(client.get(task_path("999999999996", "999999999997", plural=True)), 404, "not_found")


@pytest.mark.parametrize("body,field", [
    ({"instruction": "i"}, "name"),
    ({"name": "n"}, "instruction"),
    ({"name": "", "instruction": "i"}, "name"),
    ({"name": "x" * 121, "instruction": "i"}, "name"),
    ({"name": 3, "instruction": "i"}, "name"),
    ({"name": "n", "instruction": ["i"]}, "instruction"),
    ({"name": "n", "instruction": None}, "instruction"),
    ({"name": "n", "instruction": "i", "description": 1}, "description"),
    ({"name": "n", "instruction": "i", "thinking_instruction": 5}, "thinking_instruction"),
    ({"name": "n", "instruction": "i", "requirements": "be good"}, "requirements"),
    ({"name": "n", "instruction": "i", "input_json_schema": 12}, "input_json_schema"),
])
def test_create_validation(client, project, body, field):
    r = client.post(task_path(project["id"]), body)
    assert_error(r, 422, "invalid", field=field)
    assert client.ok("GET", task_path(project["id"], plural=True)) == []


@pytest.mark.parametrize("req,part", [
    ({"instruction": "i"}, "name"),
    ({"name": "n"}, "instruction"),
    ({"name": "n", "instruction": "i", "priority": 4}, "priority"),
    ({"name": "n", "instruction": "i", "priority": -1}, "priority"),
    ({"name": "n", "instruction": "i", "priority": "high"}, "priority"),
    ({"name": "n", "instruction": "i", "priority": 1.5}, "priority"),
    ("just a string", "requirements"),
])
def test_requirement_validation(client, project, req, part):
    body = {"name": "n", "instruction": "i", "requirements": [{"name": "ok", "instruction": "ok"}, req]}
    r = client.post(task_path(project["id"]), body)
    err = assert_error(r, 422, "invalid")
    assert part in err["detail"], err
    assert "requirements" in (err.get("field") or ""), err
    assert part in (err.get("field") or ""), err
    assert client.ok("GET", task_path(project["id"], plural=True)) == []


BAD_SCHEMAS = [
    "not json at all",
    "{\"type\": \"object\"",
    "[]",
    "\"object\"",
    "{}",
    "{\"type\": \"array\", \"items\": {\"type\": \"string\"}}",
    "{\"type\": \"string\"}",
    "",
]


@pytest.mark.parametrize("schema_field", ["input_json_schema", "output_json_schema"])
@pytest.mark.parametrize("text", BAD_SCHEMAS)
def test_bad_schema_text_is_400_naming_field(client, project, schema_field, text):
    body = {"name": "n", "instruction": "i", schema_field: text}
    r = client.post(task_path(project["id"]), body)
    assert_error(r, 400, "bad_request", field=schema_field)
    assert client.ok("GET", task_path(project["id"], plural=True)) == []


@pytest.mark.parametrize("schema_field", ["input_json_schema", "output_json_schema"])
def test_schema_as_object_is_rejected(client, project, schema_field):
    # the wire form is JSON text; an object in its place is the wrong type (or bad schema text)
    r = client.post(task_path(project["id"]), {"name": "n", "instruction": "i", schema_field: OUTPUT_SCHEMA})
    assert_error(r, 422, "invalid", field=schema_field)


def test_schema_null_means_none(client, project):
    t = client.new_task(project["id"], input_json_schema=None, output_json_schema=None)
    assert t["input_json_schema"] is None and t["output_json_schema"] is None


def test_patch_task_fields(client, project):
    t = client.new_task(project["id"], name="orig", instruction="orig instruction",
                        requirements=[{"name": "r1", "instruction": "ri1"}])
    p = task_path(project["id"], t["id"])
    u = client.ok("PATCH", p, {"name": "新名字"})
    check_task(u, name="新名字", instruction="orig instruction", requirements=t["requirements"])
    for k in ("id", "created_at", "created_by", "description", "input_json_schema", "output_json_schema"):
        assert u[k] == t[k]
    u = client.ok("PATCH", p, {"instruction": "新的指令", "description": "描述",
                               "thinking_instruction": "想一想"})
    check_task(u, name="新名字", instruction="新的指令", description="描述", thinking_instruction="想一想")
    u = client.ok("PATCH", p, {"output_json_schema": json.dumps(OUTPUT_SCHEMA),
                               "input_json_schema": json.dumps(INPUT_SCHEMA, ensure_ascii=False)})
    assert json.loads(u["output_json_schema"]) == OUTPUT_SCHEMA
    assert json.loads(u["input_json_schema"]) == INPUT_SCHEMA
    u = client.ok("PATCH", p, {"requirements": [{"name": "r2", "instruction": "ri2", "priority": 1}]})
    assert [(q["name"], q["instruction"], q["priority"]) for q in u["requirements"]] == [("r2", "ri2", 1)]
    assert u["name"] == "新名字" and u["instruction"] == "新的指令"
    g = client.ok("GET", task_path(project["id"], t["id"], plural=True))
    assert g == u
    assert [x for x in client.ok("GET", task_path(project["id"], plural=True)) if x["id"] == t["id"]] == [u]


@pytest.mark.parametrize("body,status,code,field", [
    ({"name": ""}, 422, "invalid", "name"),
    ({"name": "x" * 121}, 422, "invalid", "name"),
    ({"instruction": 1}, 422, "invalid", "instruction"),
    ({"requirements": [{"name": "n", "instruction": "i", "priority": 9}]}, 422, "invalid",
     "requirements[0].priority"),
    ({"output_json_schema": "{\"type\": \"array\"}"}, 400, "bad_request", "output_json_schema"),
    ({"input_json_schema": "nope"}, 400, "bad_request", "input_json_schema"),
    ({"requirements": [{"name": "n", "instruction": "i", "priority": "1.5"}]}, 422, "invalid",
     "requirements[0].priority"),
])
def test_patch_validation_changes_nothing(client, project, body, status, code, field):
    t = client.new_task(project["id"])
    r = client.patch(task_path(project["id"], t["id"]), body)
    assert_error(r, status, code, field=field)
    assert client.ok("GET", task_path(project["id"], t["id"], plural=True)) == t


def test_delete_task(client, project):
    a = client.new_task(project["id"], name="a")
    b = client.new_task(project["id"], name="b")
    r = client.delete(task_path(project["id"], a["id"]))
    assert r.status == 200, r
    body = r.json()
    assert list(body.keys()) == ["message"] and body["message"]
    assert_error(client.get(task_path(project["id"], a["id"], plural=True)), 404, "not_found", mentions=[a["id"]])
    assert client.ok("GET", task_path(project["id"], plural=True)) == [b]
    assert_error(client.delete(task_path(project["id"], a["id"])), 404, "not_found", mentions=[a["id"]])


def test_delete_project_cascades_to_tasks(client, project):
    a = client.new_task(project["id"], name="a")
    b = client.new_task(project["id"], name="b")
    client.ok("DELETE", "/api/projects/" + project["id"])
    for t in (a, b):
        assert_error(client.get(task_path(project["id"], t["id"], plural=True)), 404, "not_found")
    assert_error(client.get(task_path(project["id"], plural=True)), 404, "not_found", mentions=[project["id"]])


def test_singular_and_plural_paths(client, project):
    t = client.new_task(project["id"])
    # GET one lives under /tasks/, PATCH and DELETE under /task/
    r = client.get(task_path(project["id"], t["id"]))
    assert_error(r, 405, "method_not_allowed")
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    assert {"PATCH", "DELETE"} <= allow, allow
    r = client.request("PUT", task_path(project["id"], t["id"], plural=True), body={"name": "x"})
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in (r.header("Allow") or "")
    r = client.post(task_path(project["id"], plural=True), {"name": "n", "instruction": "i"})
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in (r.header("Allow") or "")
    r = client.get(task_path(project["id"]))
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in (r.header("Allow") or "")
    assert client.ok("GET", task_path(project["id"], plural=True)) == [t]


def test_malformed_json_on_task(client, project):
    r = client.post(task_path(project["id"]), b'{"name": "n",\n "instruction": }')
    body = assert_error(r, 400, "bad_json")
    assert "line 2" in body["detail"], body
