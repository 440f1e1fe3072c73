# SPDX-License-Identifier: MIT
"""Projects over real HTTP: shapes and key order, UTF-8 round trips, validation, 404s, cascade."""

from datetime import datetime, timezone
import json
import re

import pytest

from hetu_http import PROJECT_KEYS, assert_error, assert_id, assert_timestamp

ZH_NAME = "中文项目：数据生成「测试」"
ZH_DESC = "这是一个用于生成合成数据的项目，包含标点：，。！？以及 emoji 🚀"


def check_project(p, name, description):
    assert list(p.keys()) == PROJECT_KEYS
    assert p["v"] == 1
    assert_id(p["id"])
    assert p["path"] is None
    assert_timestamp(p["created_at"], near=datetime.now(timezone.utc))
    assert isinstance(p["created_by"], str) and p["created_by"]
    assert p["name"] == name
    assert p["description"] == description
    assert p["model_type"] == "project"


def test_create_returns_project(client):
    r = client.post("/api/project", {"name": "Alpha", "description": "first"})
    assert r.status == 200, r
    assert "json" in r.header("Content-Type")
    check_project(r.json(), "Alpha", "first")


def test_create_without_description(client):
    p = client.new_project(name="No description", description=None)
    assert list(p.keys()) == PROJECT_KEYS
    assert p["name"] == "No description"
    assert p["description"] == ""


def test_chinese_round_trips_as_raw_utf8(client):
    r = client.post("/api/project", {"name": ZH_NAME, "description": ZH_DESC})
    assert r.status == 200, r
    check_project(r.json(), ZH_NAME, ZH_DESC)
    assert ZH_NAME.encode("utf-8") in r.raw and ZH_DESC.encode("utf-8") in r.raw
    assert b"\\u" not in r.raw
    pid = r.json()["id"]
    g = client.get("/api/projects/" + pid)
    assert g.status == 200
    assert g.json() == r.json()
    assert ZH_DESC.encode("utf-8") in g.raw and b"\\u" not in g.raw
    lst = client.get("/api/projects")
    assert ZH_NAME.encode("utf-8") in lst.raw and b"\\u" not in lst.raw


def test_escaped_input_is_stored_as_text(client):
    # \u escapes in the request (what json.dumps sends by default) decode to the same text
    body = json.dumps({"name": ZH_NAME, "description": "引号 \" 反斜杠 \\ 换行\n制表\t"}).encode()
    assert b"\\u" in body
    r = client.post("/api/project", body)
    assert r.status == 200, r
    p = r.json()
    assert p["name"] == ZH_NAME
    assert p["description"] == "引号 \" 反斜杠 \\ 换行\n制表\t"
    assert client.get("/api/projects/" + p["id"]).json() == p


def test_get_list_and_ids_unique(client):
    made = [client.new_project(name="list %d" % i) for i in range(5)]
    ids = [p["id"] for p in made]
    assert len(set(ids)) == 5
    r = client.get("/api/projects")
    assert r.status == 200
    body = r.json()
    assert list(body.keys()) == ["projects"]
    by_id = {p["id"]: p for p in body["projects"]}
    for p in made:
        assert by_id[p["id"]] == p
        assert list(by_id[p["id"]].keys()) == PROJECT_KEYS
        assert client.ok("GET", "/api/projects/" + p["id"]) == p


def test_patch_name_then_description(client):
    p = client.new_project(name="before", description="desc before")
    r = client.patch("/api/projects/" + p["id"], {"name": "之后 after"})
    assert r.status == 200, r
    q = r.json()
    assert list(q.keys()) == PROJECT_KEYS
    assert q["name"] == "之后 after"
    assert q["description"] == "desc before"
    for k in ("id", "created_at", "created_by", "v", "model_type"):
        assert q[k] == p[k]
    q2 = client.ok("PATCH", "/api/projects/" + p["id"], {"description": "新的描述"})
    assert q2["name"] == "之后 after" and q2["description"] == "新的描述"
    assert client.ok("GET", "/api/projects/" + p["id"]) == q2
    listed = [x for x in client.ok("GET", "/api/projects")["projects"] if x["id"] == p["id"]]
    assert listed == [q2]


def test_patch_both_fields(client):
    p = client.new_project()
    q = client.ok("PATCH", "/api/projects/" + p["id"], {"name": "n2", "description": "d2"})
    assert (q["name"], q["description"]) == ("n2", "d2")


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"description": ["a"]}, "description"),
    ({"name": "ok", "description": 5.0}, "description"),  # (unknown keys: test_gateway_compat)
])
def test_patch_rejects_bad_fields(client, body, field):
    p = client.new_project(name="keep me", description="keep")
    r = client.patch("/api/projects/" + p["id"], body)
    assert_error(r, 422, "invalid", field=field)
    assert client.ok("GET", "/api/projects/" + p["id"]) == p


def test_delete_project(client):
    p = client.new_project(name="to delete")
    other = client.new_project(name="to keep")
    r = client.delete("/api/projects/" + p["id"])
    assert r.status == 200, r
    body = r.json()
    # the gateway's answer, word for word ("project removed")
    assert body == {"message": "项目已成功移除", "project_id": p["id"]}
    assert list(body.keys()) == ["message", "project_id"]
    assert_error(client.get("/api/projects/" + p["id"]), 404, "not_found", mentions=[p["id"]])
    ids = [x["id"] for x in client.ok("GET", "/api/projects")["projects"]]
    assert p["id"] not in ids and other["id"] in ids
    assert_error(client.delete("/api/projects/" + p["id"]), 404, "not_found", mentions=[p["id"]])
    assert_error(client.patch("/api/projects/" + p["id"], {"name": "x"}), 404, "not_found", mentions=[p["id"]])


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_project_is_404_naming_id(client, method):
    body = {"name": "x"} if method == "PATCH" else None
    r = client.request(method, "/api/projects/999999999998", body=body)
    assert_error(r, 404, "not_found", mentions=["999999999998"])


@pytest.mark.parametrize("pid", ["12345", "abc", "012345678901", "1234567890123", "..%2F..%2Fetc"])
def test_malformed_project_id_is_404(client, pid):
    assert_error(client.get("/api/projects/" + pid), 404, "not_found")


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"description": "no name"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": "项" * 121}, "name"),
    ({"name": 42}, "name"),
    ({"name": True}, "name"),
    ({"name": None}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": "ok", "description": 7}, "description"),
    ({"name": "ok", "description": {"a": 1}}, "description"),
])
def test_create_validation(client, body, field):
    before = len(client.ok("GET", "/api/projects")["projects"])
    r = client.post("/api/project", body)
    assert_error(r, 422, "invalid", field=field)
    assert len(client.ok("GET", "/api/projects")["projects"]) == before


@pytest.mark.parametrize("name", ["x" * 120, "项" * 120, "a"])
def test_name_length_counts_characters(client, name):
    p = client.new_project(name=name)
    assert p["name"] == name


def test_malformed_json_names_line_and_column(client):
    r = client.post("/api/project", b'{\n  "name": "x",\n  oops\n}')
    body = assert_error(r, 400, "bad_json")
    m = re.search(r"line (\d+),? column (\d+)", body["detail"])
    assert m, body
    assert int(m.group(1)) == 3


@pytest.mark.parametrize("raw", [
    b'{"name": "x"',
    b'{"name": "x",}',
    b'{"name": "x"} trailing',
    b'{"name": "\xff\xfe"}',
])
def test_malformed_json_is_400(client, raw):
    body = assert_error(client.post("/api/project", raw), 400, "bad_json")
    assert re.search(r"line \d+,? column \d+", body["detail"]), body


@pytest.mark.parametrize("raw", [b"hello world", b"name=x&description=y", b"<xml/>"])
def test_body_not_json_is_400(client, raw):
    assert_error(client.post("/api/project", raw, headers={"Content-Type": "text/plain"}), 400, "bad_json")


@pytest.mark.parametrize("raw", [b"[]", b'"name"', b"42", b"null"])
def test_body_not_an_object(client, raw):
    r = client.post("/api/project", raw)
    assert_error(r, 422, "invalid")


def test_empty_body_is_rejected(client):
    r = client.post("/api/project", b"")
    assert_error(r, 400, "bad_json")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_other_content_type_accepted_when_body_is_json(client, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    c = client.connection()
    try:
        c.putrequest("POST", "/api/project")
        data = json.dumps({"name": "ctype %s" % ctype}).encode()
        for k, v in headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        raw = r.read()
    finally:
        c.close()
    assert r.status == 200, raw
    assert json.loads(raw)["name"] == "ctype %s" % ctype
