# SPDX-License-Identifier: MIT
"""GET /openapi.json and GET /docs: the document is OpenAPI 3.1 as far as a structural check and
JSON Schema's own meta-schema can tell; it has exactly the routes of src/http/routes.c (read
from the compiler's preprocessed table, so it cannot drift); the request schemas accept the JSON
examples of README.md; real answers match the documented answer schemas; /docs is a page that
loads nothing from elsewhere."""

import ast
import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest

from hetu_http import REPO, assert_error

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# ---- OpenAPI 3.1, structurally: the objects Hetu's document may use, with no unknown keys ----


def _obj(props, required=()):
    s = {"type": "object", "properties": props, "patternProperties": {"^x-": {}},
         "additionalProperties": False}
    if required:
        s["required"] = list(required)
    return s


_STR = {"type": "string"}
_SCHEMA = {"type": ["object", "boolean"]}  # checked on its own with the 2020-12 meta-schema
_MEDIA = _obj({"schema": _SCHEMA, "example": {}, "examples": {"type": "object"},
               "encoding": {"type": "object"}})
_CONTENT = {"type": "object", "additionalProperties": _MEDIA}
_PARAM = _obj({"name": _STR, "in": {"enum": ["query", "header", "path", "cookie"]},
               "description": _STR, "required": {"type": "boolean"}, "deprecated": {"type": "boolean"},
               "schema": _SCHEMA, "style": _STR, "explode": {"type": "boolean"}},
              required=("name", "in", "schema"))
_PARAM["if"] = {"properties": {"in": {"const": "path"}}}
_PARAM["then"] = {"properties": {"required": {"const": True}}, "required": ["required"]}
_HEADER = _obj({"description": _STR, "required": {"type": "boolean"}, "schema": _SCHEMA,
                "$ref": _STR})
_RESPONSE = _obj({"description": _STR, "content": _CONTENT,
                  "headers": {"type": "object", "additionalProperties": _HEADER},
                  "links": {"type": "object"}}, required=("description",))
_SECURITY = {"type": "array", "items": {"type": "object", "additionalProperties": {
    "type": "array", "items": _STR}}}
_OPERATION = _obj({
    "tags": {"type": "array", "items": _STR}, "summary": _STR, "description": _STR,
    "operationId": _STR, "parameters": {"type": "array", "items": _PARAM},
    "requestBody": _obj({"description": _STR, "content": _CONTENT, "required": {"type": "boolean"}},
                        required=("content",)),
    "responses": {"type": "object", "minProperties": 1, "additionalProperties": False,
                  "patternProperties": {"^([1-5]([0-9]{2}|XX)|default)$": _RESPONSE}},
    "security": _SECURITY, "deprecated": {"type": "boolean"}}, required=("responses",))
OPENAPI_31 = _obj({
    "openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"},
    "info": _obj({"title": _STR, "version": _STR, "description": _STR, "summary": _STR},
                 required=("title", "version")),
    "jsonSchemaDialect": _STR,
    "servers": {"type": "array"},
    "tags": {"type": "array", "items": _obj({"name": _STR, "description": _STR}, ("name",))},
    "paths": {"type": "object", "additionalProperties": False, "patternProperties": {
        "^/": _obj(dict({m: _OPERATION for m in METHODS}, summary=_STR, description=_STR,
                        parameters={"type": "array", "items": _PARAM}))}},
    "components": _obj({
        "schemas": {"type": "object", "additionalProperties": _SCHEMA,
                    "propertyNames": {"pattern": "^[a-zA-Z0-9._-]+$"}},
        "headers": {"type": "object", "additionalProperties": _HEADER},
        "securitySchemes": {"type": "object", "additionalProperties": _obj(
            {"type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
             "scheme": _STR, "description": _STR, "bearerFormat": _STR}, ("type",))}}),
    "security": _SECURITY,
}, required=("openapi", "info", "paths"))


@pytest.fixture(scope="module")
def doc(server):
    r = server.client.get("/openapi.json")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    return r.json()


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def walk(node, where="#"):
    """Every (location, value) of a JSON value."""
    yield where, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, where + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s/%d" % (where, i))


def resolve(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def validator(doc, schema):
    """A 2020-12 validator for a schema of the document (its $refs point into the document)."""
    root = {"components": doc["components"], "allOf": [schema]}
    return jsonschema.Draft202012Validator(root)


def template_re(path):
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def find_operation(doc, method, url_path):
    hits = [(p, op) for p, m, op in operations(doc) if m == method and template_re(p).match(url_path)]
    assert len(hits) == 1, (method, url_path, [p for p, _ in hits])
    return hits[0]


# ---- the document ----


def test_is_openapi_31(doc):
    jsonschema.Draft202012Validator(OPENAPI_31).validate(doc)
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    declared = {t["name"] for t in doc["tags"]}
    for path, method, op in operations(doc):
        # the path parameters are exactly the template's names
        names = re.findall(r"\{([^}]+)\}", path)
        assert [p["name"] for p in op.get("parameters", []) if p["in"] == "path"] == names, path
        assert set(op["tags"]) <= declared, (path, op["tags"])
        for p in op.get("parameters", []):
            jsonschema.Draft202012Validator.check_schema(p["schema"])
        for _, media in (op.get("requestBody") or {}).get("content", {}).items():
            jsonschema.Draft202012Validator.check_schema(media["schema"])
            assert media["schema"] != {}, (method, path)
        for status, answer in op["responses"].items():
            for _, media in answer.get("content", {}).items():
                jsonschema.Draft202012Validator.check_schema(media["schema"])
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    refs = [v for _, node in walk(doc) if isinstance(node, dict) for k, v in node.items()
            if k == "$ref"]
    assert len(refs) > 100
    for ref in set(refs):
        resolve(doc, ref)  # every $ref resolves inside the document


def routes_of_the_table():
    """(METHOD, pattern) of every row of http_routes, read from routes.c as the compiler sees it
    (macros expanded, adjacent strings joined)."""
    build = Path(os.environ.get("HETU_BUILD_DIR", REPO / "build"))
    commands = json.loads((build / "compile_commands.json").read_text())
    entry = next(c for c in commands if c["file"].endswith("src/http/routes.c"))
    argv = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
    keep, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("-o", "-MF", "-MQ", "-MT"):
            skip = True
        elif a not in ("-c", "-MD", "-MMD"):
            keep.append(a)
    out = subprocess.run(keep + ["-E", "-P"], cwd=entry["directory"], check=True,
                         capture_output=True, text=True).stdout
    table = out[out.index("http_routes[] = {"):]
    table = table[:table.index("};")]
    rows = re.findall(r'\{\s*"([A-Z]+)"\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+),', table)
    return [(m, "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', p))) for m, p in rows]


def test_has_exactly_the_routes_of_the_table(doc):
    table = routes_of_the_table()
    assert ("GET", "/healthz") in table and ("GET", "/openapi.json") in table
    assert len(table) == len(set(table)), "a route is listed twice"
    documented = [(m.upper(), p) for p, m, _ in operations(doc)]
    assert sorted(documented) == sorted(table)


def test_error_answers_use_the_error_table(doc):
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "code"]
    codes = error["properties"]["code"]["enum"]
    header = (REPO / "src/util/err.h").read_text()
    assert codes == re.findall(r'X\(\w+, \d+, "(\w+)"', header)
    op = doc["paths"]["/api/projects/{project_id}"]["get"]
    assert op["responses"]["404"]["description"] == "Error: not_found"
    assert op["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    post = doc["paths"]["/api/project"]["post"]
    assert post["responses"]["422"]["description"] == "Error: invalid"
    assert post["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"


def test_query_parameters_and_streams(doc, client):
    runs = doc["paths"]["/api/projects/{project_id}/tasks/{task_id}/runs"]["get"]
    assert [p["name"] for p in runs["parameters"]] == [
        "project_id", "task_id", "topic_path", "session_id", "tag", "rating", "judge_rating",
        "judged", "source", "dataset_id", "split_name", "limit", "cursor"]
    export = doc["paths"]["/api/projects/{project_id}/tasks/{task_id}/export"]["get"]
    fmt = next(p for p in export["parameters"] if p["name"] == "format")
    assert fmt["required"] is True and fmt["in"] == "query"
    # the formats are the server's own list, as an unknown one's error names them
    p = client.new_project()["id"]
    t = client.new_task(p)["id"]
    r = client.get("/api/projects/%s/tasks/%s/export?format=nope" % (p, t))
    assert_error(r, 400, "bad_request", field="format")
    assert fmt["schema"]["enum"] == r.json()["detail"].split("the formats: ")[1].split(", ")
    assert len(fmt["schema"]["enum"]) > 10
    dedup = doc["paths"]["/api/dataset/projects/{project_id}/tasks/{task_id}/save_sample"]["post"]
    assert next(q for q in dedup["parameters"] if q["name"] == "dedup")["schema"] == {
        "type": "string", "enum": ["keep", "skip", "fail"]}
    assert sorted(export["responses"]["200"]["content"]) == [
        "application/gzip", "application/json", "application/jsonl", "text/csv; charset=utf-8"]
    events = doc["paths"]["/api/dataset/projects/{project_id}/tasks/{task_id}/jobs/{job_id}/events"]
    assert list(events["get"]["responses"]["200"]["content"]) == ["text/event-stream"]
    upload = doc["paths"]["/api/dataset/projects/{project_id}/tasks/{task_id}/"
                          "import_samples_from_file"]["post"]
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    assert doc["paths"]["/api/projects"]["get"]["security"] == [{"bearer": []}]


def test_is_built_once_and_answered_the_same(server):
    a = server.client.get("/openapi.json")
    b = server.client.get("/openapi.json")
    assert a.status == 200 and b.status == 200 and a.raw == b.raw


# ---- the README's examples ----


def readme_requests():
    """(method, path or operationId, body) of every JSON request body README.md shows: curl
    commands with -d, `METHOD /path` with `{...}` in the text, and the Python client's calls."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lexer = shlex.shlex(block.replace("\\\n", " "), posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        starts = [i for i, t in enumerate(tokens) if t == "curl"] + [len(tokens)]
        for a, b in zip(starts, starts[1:]):
            cmd = tokens[a:b]
            if "-d" not in cmd:
                continue
            body = json.loads(cmd[cmd.index("-d") + 1])
            method = cmd[cmd.index("-X") + 1] if "-X" in cmd else "POST"
            url = next(t for t in cmd if "localhost" in t)
            found.append((method.lower(), "/" + url.split("/", 1)[1].split("?")[0], body))
    for method, path, body in re.findall(
            r"`(POST|PATCH|PUT)\s+(/[^`\s]+)`\s+with\s+`(\{[^`]*\})`", text):
        try:
            found.append((method.lower(), path, json.loads(body)))
        except ValueError:
            pass  # a sketch of the keys ({"job_id", "action"}), not an example
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        for name, args in re.findall(r"client\.(\w+)\(project_id, task_id, (\{.*?\})\)", block,
                                     re.S):
            found.append(("post", name, ast.literal_eval(args)))
    return found


def test_request_schemas_accept_the_readme_examples(doc):
    examples = readme_requests()
    seen = set()
    for method, path, body in examples:
        if path.startswith("/"):
            template, op = find_operation(doc, method, path)
        else:  # a client method, named as the operation
            template, op = next((p, o) for p, m, o in operations(doc) if o["operationId"] == path)
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        v = validator(doc, schema)
        errors = ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in v.iter_errors(body)]
        assert errors == [], (method, path, errors)
        assert not v.is_valid([body]), "the schema of %s %s accepts anything" % (method, template)
        seen.add(op["operationId"])
    assert {"project_create", "task_create", "generate_categories", "duplicates_start"} <= seen, seen
    assert len(examples) >= 5, examples


# ---- real answers match the documented answers ----


class Checker:
    def __init__(self, doc, client):
        self.doc, self.c, self.checked = doc, client, set()

    def call(self, method, path, body=None, status=200):
        r = self.c.request(method.upper(), path, body=body)
        assert r.status == status, r
        template, op = find_operation(self.doc, method.lower(), path.split("?")[0])
        answer = op["responses"][str(status)]
        ctype = r.header("Content-Type").split(";")[0] if status == 200 else "application/json"
        types = {t.split(";")[0]: m for t, m in answer["content"].items()}
        assert ctype in types, (method, template, ctype, list(types))
        if ctype == "application/json":
            v = validator(self.doc, types[ctype]["schema"])
            errors = ["%s: %s" % ("/".join(map(str, e.path)), e.message)
                      for e in v.iter_errors(r.json())]
            assert errors == [], (method, template, errors)
        # every answer carries X-Request-Id; Hetu's own headers on it are documented
        documented = {h.lower() for h in answer.get("headers", {})}
        assert "x-request-id" in documented and r.header("X-Request-Id")
        for name in r.headers.keys():
            if name.lower().startswith("x-hetu-") or name.lower() == "content-disposition":
                assert name.lower() in documented, (method, template, name)
        self.checked.add((method.upper(), template))
        return r


def wait_for_job(client, ds, job_id):
    deadline = time.monotonic() + 20
    while client.get(ds + "/jobs/" + job_id).json()["status"] != "completed":
        assert time.monotonic() < deadline, "job %s did not complete" % job_id
        time.sleep(0.05)


def test_answers_match_the_documented_schemas(doc, client):
    k = Checker(doc, client)
    k.call("GET", "/healthz")
    p = k.call("POST", "/api/project", {"name": "openapi", "description": "d"}).json()["id"]
    k.call("GET", "/api/projects")
    k.call("PATCH", "/api/projects/%s" % p, {"description": "e"})
    k.call("GET", "/api/projects/%s" % p)
    t = k.call("POST", "/api/projects/%s/task" % p, {
        "name": "t", "instruction": "Answer.",
        "requirements": [{"name": "tone", "instruction": "Be kind"}]}).json()["id"]
    k.call("GET", "/api/projects/%s/tasks" % p)
    k.call("GET", "/api/projects/%s/tasks/%s" % (p, t))
    k.call("PATCH", "/api/projects/%s/task/%s" % (p, t), {"description": "x"})
    ds = "/api/dataset/projects/%s/tasks/%s" % (p, t)
    run = k.call("POST", ds + "/save_sample?session_id=s1", {
        "input": "hello", "output": "world", "topic_path": ["a", "b"], "tags": ["x"]}).json()
    r = k.call("POST", ds + "/save_samples_batch?dedup=skip",
               {"samples": [{"input": "h2", "output": "w2"}, {"input": "hello", "output": "w"}]})
    assert r.header("X-Hetu-Skipped") == "1" and r.header("X-Hetu-Failed") == "0"
    k.call("POST", ds + "/save_samples_batch?detailed=true",
           {"samples": [{"input": "h3", "output": "w3"}]})
    job = k.call("POST", ds + "/import_samples_async",
                 {"samples": [{"input": "h4", "output": "w4"}]}).json()["job_id"]
    k.call("GET", ds + "/topics")
    k.call("GET", ds + "/jobs")
    k.call("GET", ds + "/jobs/%s" % job)
    wait_for_job(client, ds, job)
    k.call("POST", ds + "/jobs/%s/cancel" % job)  # a completed job stays as it is
    k.call("POST", ds + "/jobs/%s/resume" % job, status=409)
    assert b"event: end" in k.call("GET", ds + "/jobs/%s/events" % job).raw
    near = k.call("POST", ds + "/duplicates", {"threshold": 0.8}).json()
    assert near["kind"] == "near_duplicates"
    wait_for_job(client, ds, near["id"])
    k.call("GET", ds + "/duplicates?job_id=%s&limit=10" % near["id"])
    k.call("POST", ds + "/duplicates/resolve", {"job_id": near["id"], "action": "tag"})
    runs = "/api/projects/%s/tasks/%s/runs" % (p, t)
    k.call("GET", runs + "?limit=2")
    k.call("GET", runs + "/" + run["id"])
    k.call("PATCH", runs + "/" + run["id"], {"rating": {"type": "five_star", "value": 5}})
    for base in ("/api/finetune/projects/%s/tasks/%s" % (p, t),
                 "/api/projects/%s/tasks/%s" % (p, t)):
        split = k.call("POST", base + "/dataset_splits",
                       {"dataset_split_type": "train_test", "filter_id": "all"}).json()
        k.call("GET", base + "/dataset_splits")
        k.call("GET", base + "/dataset_splits/" + split["id"])
    k.call("GET", "/api/projects/%s/tasks/%s/stats" % (p, t))
    k.call("GET", "/api/projects/%s/tasks/%s/export?format=csv" % (p, t))
    k.call("GET", "/api/projects/%s/tasks/%s/export?format=openai_chat_jsonl&compress=gzip" % (p, t))
    k.call("GET", "/api/projects/%s/tasks/%s/export?format=sharegpt&llamafactory=true" % (p, t))
    k.call("GET", "/api/finetune/download_dataset_jsonl?project_id=%s&task_id=%s&dataset_id=%s"
           "&split_name=train&format_type=final_only&data_strategy=final_only" % (p, t, split["id"]),
           status=400)
    k.call("GET", "/openapi.json")
    k.call("GET", "/docs")
    k.call("DELETE", runs + "/" + run["id"])
    k.call("DELETE", "/api/projects/%s/task/%s" % (p, t))
    k.call("DELETE", "/api/projects/%s" % p)
    r = k.call("GET", "/api/projects/%s" % p, status=404)
    assert_error(r, 404, "not_found")
    # the 42 routes of the table but the model calls (their answer is a TaskRun, checked above),
    # the upload, one of the two download paths (and the routes this test does not know yet)
    assert len(k.checked) == 38, sorted(k.checked)


# ---- the page ----


def test_docs_is_a_page_that_loads_nothing_from_elsewhere(client):
    r = client.get("/docs")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    page = r.raw.decode("utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "/openapi.json" in page
    # no URL with a scheme or protocol-relative, no external script, style, font or image
    assert re.findall(r"(?i)\b(?:https?|ftp|wss?):", page) == []
    assert re.findall(r"""(?i)(?:src|href|action)\s*=\s*["']?//""", page) == []
    assert re.findall(r"(?i)<(?:script|img|iframe)[^>]*\bsrc\s*=", page) == []
    assert re.findall(r"(?i)<link\b|@import|url\(", page) == []
