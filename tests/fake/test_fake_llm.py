# SPDX-License-Identifier: MIT
"""Tests of the fake LLM provider itself: both wire formats, schema-valid answers, every fault
directive, the control API and the 401 path. The fake runs as a subprocess, as the server's
integration tests use it; a few schema tests call the generator in-process."""

import hashlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fake_llm  # noqa: E402

KEY = "sk-test-key-0123456789-abcd"
OA = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
AN = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "Content-Type": "application/json"}


def spawn(tmp_path, *args):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(["/usr/bin/python3", str(HERE / "fake_llm.py"), "--port", "0",
                             "--port-file", str(port_file), "--quiet", *args],
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip().isdigit():
            return proc, int(port_file.read_text())
        assert proc.poll() is None, "fake exited with %r" % proc.returncode
        time.sleep(0.01)
    proc.kill()
    pytest.fail("fake did not start")


def stop(proc):
    proc.terminate()
    assert proc.wait(timeout=5) == 0


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    proc, p = spawn(tmp_path_factory.mktemp("fake"), "--api-key", KEY)
    yield p
    stop(proc)


class Client:
    def __init__(self, port, timeout=5):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=headers or {})
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, raw

    def json(self, method, path, body=None, headers=None):
        status, hdrs, raw = self.request(method, path, body, headers)
        return status, hdrs, json.loads(raw)

    def close(self):
        self.conn.close()


def call(port, method, path, body=None, headers=None, timeout=5):
    c = Client(port, timeout)
    try:
        return c.json(method, path, body, headers)
    finally:
        c.close()


def chat(port, model, text="hello", path="/v1/chat/completions", headers=OA, **extra):
    body = {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": text}]}
    body.update(extra)
    return call(port, "POST", path, body, headers)


def msgs(port, model, text="hello", path="/v1/messages", headers=AN, **extra):
    body = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return call(port, "POST", path, body, headers)


def json_schema_rf(schema):
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema,
                                                   "strict": True}}


# A tiny validator for the schema subset task schemas use.
def _is(v, t):
    return {"object": isinstance(v, dict), "array": isinstance(v, list),
            "string": isinstance(v, str), "boolean": isinstance(v, bool), "null": v is None,
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool)}[t]


def validate(schema, v, path="$"):
    errs = []
    if "enum" in schema and v not in schema["enum"]:
        errs.append("%s: not in enum" % path)
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_is(v, x) for x in types):
            return errs + ["%s: expected %s, got %r" % (path, t, v)]
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for r in schema.get("required", []):
            if r not in v:
                errs.append("%s: missing %s" % (path, r))
        for k, x in v.items():
            if k in props:
                errs += validate(props[k], x, path + "." + k)
            elif schema.get("additionalProperties") is False:
                errs.append("%s: extra %s" % (path, k))
    elif isinstance(v, list):
        if len(v) < schema.get("minItems", 0):
            errs.append("%s: fewer than minItems" % path)
        if len(v) > schema.get("maxItems", 1 << 30):
            errs.append("%s: more than maxItems" % path)
        if schema.get("uniqueItems") and len({json.dumps(x) for x in v}) != len(v):
            errs.append("%s: items not unique" % path)
        for i, x in enumerate(v):
            errs += validate(schema.get("items", {}), x, "%s[%d]" % (path, i))
    elif isinstance(v, str):
        if len(v) < schema.get("minLength", 0) or len(v) > schema.get("maxLength", 1 << 30):
            errs.append("%s: length %d out of bounds" % (path, len(v)))
    elif _is(v, "number"):
        if "minimum" in schema and v < schema["minimum"]:
            errs.append("%s: below minimum" % path)
        if "maximum" in schema and v > schema["maximum"]:
            errs.append("%s: above maximum" % path)
        if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
            errs.append("%s: not above exclusiveMinimum" % path)
        if "exclusiveMaximum" in schema and v >= schema["exclusiveMaximum"]:
            errs.append("%s: not below exclusiveMaximum" % path)
    return errs


def test_validator_rejects_bad_values():
    s = {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "array", "items": {"type": "string", "maxLength": 2}, "minItems": 1}}}
    assert validate(s, {"a": ["ok"]}) == []
    assert validate(s, {}) and validate(s, {"a": []}) and validate(s, {"a": ["long"]})
    assert validate(s, {"a": [1]}) and validate(s, [])


SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 30, "maxLength": 40},
        "code": {"type": "string", "maxLength": 3},
        "count": {"type": "integer", "minimum": 10, "maximum": 12},
        "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "ok": {"type": "boolean"},
        "colour": {"type": "string", "enum": ["red", "green"]},
        "maybe": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
        "samples": {"type": "array", "items": {
            "type": "object", "properties": {"input": {"type": "string"},
                                             "level": {"type": "integer", "minimum": 1}},
            "required": ["input", "level"], "additionalProperties": False}},
    },
    "required": ["title", "code", "count", "score", "ok", "colour", "maybe", "tags", "samples"],
    "additionalProperties": False,
}


def tag(text):
    return hashlib.sha1(text.encode()).hexdigest()[:6]


# ---------------------------------------------------------------------------------------------
# OpenAI wire format


def test_openai_plain_answer_shape(port):
    status, hdrs, r = chat(port, "t-shape", "What is a cat?")
    assert status == 200 and hdrs["content-type"] == "application/json"
    assert r["object"] == "chat.completion" and r["model"] == "t-shape"
    assert r["id"].startswith("chatcmpl-") and isinstance(r["created"], int)
    (choice,) = r["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert content.startswith("fake answer %s: " % tag("What is a cat?"))
    u = r["usage"]
    assert u["prompt_tokens"] > 0 and u["completion_tokens"] > 0
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    _, _, r2 = chat(port, "t-shape", "What is a dog?")
    assert r2["choices"][0]["message"]["content"] != content
    _, _, r3 = chat(port, "t-shape", "What is a cat?")
    assert r3["choices"][0]["message"]["content"] == content
    assert r3["usage"] == u
    # longer prompt, more prompt tokens
    _, _, r4 = chat(port, "t-shape", "What is a cat? " * 50)
    assert r4["usage"]["prompt_tokens"] > u["prompt_tokens"]


def test_openai_path_without_v1(port):
    status, _, r = chat(port, "t-nov1", path="/chat/completions")
    assert status == 200 and r["object"] == "chat.completion"


def test_openai_json_schema_answer_is_valid(port):
    status, _, r = chat(port, "t-schema", "make one", response_format=json_schema_rf(SCHEMA),
                        temperature=0.2, max_completion_tokens=500)
    assert status == 200
    value = json.loads(r["choices"][0]["message"]["content"])
    assert validate(SCHEMA, value) == []
    assert len(set(value["tags"])) == len(value["tags"])
    assert len({s["input"] for s in value["samples"]}) == len(value["samples"]) == 3


def test_exactly_n_sets_array_length(port):
    schema = {"type": "object", "properties": {"subtopics": {"type": "array",
                                                             "items": {"type": "string"}}},
              "required": ["subtopics"]}
    for n in (1, 7, 25):
        _, _, r = chat(port, "t-exact", "Generate exactly %d subtopics of Cooking." % n,
                       response_format=json_schema_rf(schema))
        items = json.loads(r["choices"][0]["message"]["content"])["subtopics"]
        assert len(items) == n and len(set(items)) == n
    capped = dict(schema, properties={"subtopics": {"type": "array", "items": {"type": "string"},
                                                    "maxItems": 4}})
    _, _, r = chat(port, "t-exact", "exactly 9 please", response_format=json_schema_rf(capped))
    assert len(json.loads(r["choices"][0]["message"]["content"])["subtopics"]) == 4


def test_json_object_mode_with_schema_in_prompt(port):
    schema = {"type": "object", "properties": {"names": {"type": "array",
                                                         "items": {"type": "string"}}},
              "required": ["names"]}
    fenced = "Reply in JSON matching:\n```json\n%s\n```\nGive exactly 2 names." % json.dumps(
        schema)
    _, _, r = chat(port, "t-jsonobj", fenced, response_format={"type": "json_object"})
    v = json.loads(r["choices"][0]["message"]["content"])
    assert validate(schema, v) == [] and len(v["names"]) == 2
    # unfenced, after a brace that is not a schema; no response_format at all
    bare = 'Example {"a": 1} then the schema %s. Exactly 4 names.' % json.dumps(schema)
    _, _, r = chat(port, "t-jsonobj", bare)
    v = json.loads(r["choices"][0]["message"]["content"])
    assert validate(schema, v) == [] and len(v["names"]) == 4
    # json_object with no schema: still a JSON object
    _, _, r = chat(port, "t-jsonobj", "answer in json", response_format={"type": "json_object"})
    assert isinstance(json.loads(r["choices"][0]["message"]["content"]), dict)
    # the real API refuses json_object when no message mentions JSON
    status, _, r = chat(port, "t-jsonobj", "hi", response_format={"type": "json_object"})
    assert status == 400 and r["error"]["param"] == "messages"


def test_openai_forced_function_call(port):
    params = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
    status, _, r = chat(port, "t-tools", "weather?",
                        tools=[{"type": "function", "function": {"name": "get_weather",
                                                                 "parameters": params}}],
                        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert status == 200
    choice = r["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    (tc,) = choice["message"]["tool_calls"]
    assert tc["type"] == "function" and tc["function"]["name"] == "get_weather"
    assert validate(params, json.loads(tc["function"]["arguments"])) == []


def test_openai_request_errors(port):
    status, _, r = call(port, "POST", "/v1/chat/completions", {"model": "t-err"}, OA)
    assert status == 400 and r["error"]["param"] == "messages"
    assert set(r["error"]) == {"message", "type", "param", "code"}
    status, _, r = call(port, "POST", "/v1/chat/completions", b"{nope", OA)
    assert status == 400 and r["error"]["type"] == "invalid_request_error"
    status, _, r = chat(port, "t-err", response_format={"type": "xml"})
    assert status == 400 and r["error"]["param"] == "response_format.type"
    status, _, r = call(port, "GET", "/v1/nothing-here", None, OA)
    assert status == 404 and "error" in r


# ---------------------------------------------------------------------------------------------
# Anthropic wire format


def test_anthropic_plain_answer_shape(port):
    status, hdrs, r = msgs(port, "t-an", "Tell me about owls",
                           system=[{"type": "text", "text": "Be brief."}])
    assert status == 200
    assert r["type"] == "message" and r["role"] == "assistant" and r["model"] == "t-an"
    assert r["id"].startswith("msg_") and r["stop_reason"] == "end_turn"
    (block,) = r["content"]
    assert block["type"] == "text"
    assert block["text"].startswith("fake answer %s: " % tag("Tell me about owls"))
    assert r["usage"]["input_tokens"] > 0 and r["usage"]["output_tokens"] > 0
    status, _, r = msgs(port, "t-an", path="/messages")
    assert status == 200 and r["type"] == "message"


def test_anthropic_forced_tool(port):
    tools = [{"name": "other", "input_schema": {"type": "object", "properties": {}}},
             {"name": "emit", "description": "x", "input_schema": SCHEMA}]
    status, _, r = msgs(port, "t-antool", "Give exactly 2 samples.", tools=tools,
                        tool_choice={"type": "tool", "name": "emit"})
    assert status == 200 and r["stop_reason"] == "tool_use"
    (block,) = r["content"]
    assert block["type"] == "tool_use" and block["name"] == "emit"
    assert block["id"].startswith("toolu_")
    assert validate(SCHEMA, block["input"]) == [] and len(block["input"]["samples"]) == 2
    status, _, r = msgs(port, "t-antool", tools=tools, tool_choice={"type": "tool",
                                                                    "name": "missing"})
    assert status == 400 and r["type"] == "error"


def test_anthropic_request_errors(port):
    body = {"model": "t-anerr", "messages": [{"role": "user", "content": "x"}]}
    status, _, r = call(port, "POST", "/v1/messages", body, AN)
    assert status == 400
    assert r == {"type": "error", "error": {"type": "invalid_request_error",
                                            "message": "max_tokens: Field required"}}
    no_version = {k: v for k, v in AN.items() if k != "anthropic-version"}
    status, _, r = msgs(port, "t-anerr", headers=no_version)
    assert status == 400 and "anthropic-version" in r["error"]["message"]


def test_401_in_each_shape(port):
    for headers in ({}, {"Authorization": "Bearer sk-wrong-key-9999"},
                    {"Authorization": "Basic abc"}):
        status, _, r = chat(port, "t-401", headers=headers)
        assert status == 401 and set(r["error"]) == {"message", "type", "param", "code"}
    status, _, r = chat(port, "t-401", headers={"Authorization": "Bearer sk-wrong-key-9999"})
    assert r["error"]["code"] == "invalid_api_key" and "sk-wrong-key-9999" not in json.dumps(r)
    for key in (None, "sk-wrong"):
        h = {"anthropic-version": "2023-06-01"}
        if key:
            h["x-api-key"] = key
        status, _, r = msgs(port, "t-401", headers=h)
        assert status == 401 and r["type"] == "error"
        assert r["error"]["type"] == "authentication_error"
    # the Anthropic header does not authenticate OpenAI calls and vice versa
    assert chat(port, "t-401", headers=AN)[0] == 401
    assert msgs(port, "t-401", headers=dict(OA, **{"anthropic-version": "2023-06-01"}))[0] == 401


# ---------------------------------------------------------------------------------------------
# Fault directives


def test_latency(port):
    t0 = time.monotonic()
    status, _, _ = chat(port, "t-lat+latency=250")
    assert status == 200 and time.monotonic() - t0 >= 0.25
    t0 = time.monotonic()
    chat(port, "t-lat")
    assert time.monotonic() - t0 < 0.2


def test_fail429_counts_per_model_string_across_connections(port):
    m = "t-429+fail429=2+retry_after=3"
    for _ in range(2):
        status, h, r = chat(port, m)  # new connection each time
        assert status == 429 and r["error"]["code"] == "rate_limit_exceeded"
        assert h["retry-after"] == "3" and h["x-ratelimit-remaining-requests"] == "0"
        assert h["x-ratelimit-reset-requests"] == "3s"
        assert chat(port, "t-429+fail429=2")[0] == 429  # another string, its own counter
    assert chat(port, m)[0] == 200
    assert chat(port, m)[0] == 200
    status, h, r = msgs(port, "t-429an+fail429=1")
    assert status == 429 and r["error"]["type"] == "rate_limit_error"
    assert h["retry-after"] == "1" and h["anthropic-ratelimit-requests-remaining"] == "0"
    assert msgs(port, "t-429an+fail429=1")[0] == 200


def test_fail500_and_529_then_success(port):
    status, _, r = chat(port, "t-500+fail500=1")
    assert status == 500 and r["error"]["type"] == "server_error"
    assert chat(port, "t-500+fail500=1")[0] == 200
    status, _, r = msgs(port, "t-529+fail529=1")
    assert status == 529 and r["error"]["type"] == "overloaded_error"
    assert msgs(port, "t-529+fail529=1")[0] == 200
    # phases run in order: 429 first, then 500, then success
    m = "t-phase+fail500=1+fail429=1"
    assert [chat(port, m)[0] for _ in range(3)] == [429, 500, 200]


def test_fail400param(port):
    m = "t-400p+fail400param=temperature"
    status, _, r = chat(port, m, temperature=0.5)
    assert status == 400 and r["error"]["param"] == "temperature"
    assert r["error"]["code"] == "unsupported_parameter" and "temperature" in r["error"]["message"]
    assert chat(port, m)[0] == 200  # without the parameter
    assert chat(port, m, temperature=0.5)[0] == 400  # every time it is present
    m = "t-400p+fail400param=response_format"
    status, _, r = chat(port, m, response_format=json_schema_rf(SCHEMA))
    assert status == 400 and r["error"]["param"] == "response_format"
    status, _, r = msgs(port, "t-400pa+fail400param=temperature", temperature=1)
    assert status == 400 and r["type"] == "error" and "temperature" in r["error"]["message"]


def test_unknown_directive_is_rejected(port):
    status, _, r = chat(port, "t-unk+latncy=5")
    assert status == 400 and r["error"]["param"] == "model" and "latncy" in r["error"]["message"]


def test_hang_keeps_socket_open(port):
    c = Client(port, timeout=0.4)
    with pytest.raises(socket.timeout):
        c.request("POST", "/v1/chat/completions",
                  {"model": "t-hang+hang", "messages": [{"role": "user", "content": "x"}]}, OA)
    c.close()
    _, _, st = call(port, "GET", "/_stats")
    assert st["by_model"]["t-hang+hang"]["requests"] == 1


def test_truncate(port):
    c = Client(port)
    c.conn.request("POST", "/v1/chat/completions", json.dumps(
        {"model": "t-trunc+truncate", "messages": [{"role": "user", "content": "x"}]}), OA)
    r = c.conn.getresponse()
    assert r.status == 200
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    c.close()


def test_badjson(port):
    status, _, raw = Client(port).request("POST", "/v1/chat/completions", {
        "model": "t-badjson+badjson", "messages": [{"role": "user", "content": "x"}]}, OA)
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(raw)


def test_drop_first_call_then_answer(port):
    body = {"model": "t-drop+drop", "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        call(port, "POST", "/v1/chat/completions", body, OA)
    assert call(port, "POST", "/v1/chat/completions", body, OA)[0] == 200
    body["model"] = "t-drop2+drop=2"
    for _ in range(2):
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            call(port, "POST", "/v1/chat/completions", body, OA)
    assert call(port, "POST", "/v1/chat/completions", body, OA)[0] == 200


def test_schemabad_first_n_answers_invalid(port):
    m = "t-sbad+schemabad=2"
    for _ in range(2):
        _, _, r = chat(port, m, response_format=json_schema_rf(SCHEMA))
        assert validate(SCHEMA, json.loads(r["choices"][0]["message"]["content"])) != []
    _, _, r = chat(port, m, response_format=json_schema_rf(SCHEMA))
    assert validate(SCHEMA, json.loads(r["choices"][0]["message"]["content"])) == []
    tools = [{"name": "emit", "input_schema": SCHEMA}]
    _, _, r = msgs(port, "t-sbadan+schemabad=1", tools=tools,
                   tool_choice={"type": "tool", "name": "emit"})
    assert validate(SCHEMA, r["content"][0]["input"]) != []


def test_count_and_dupes(port):
    schema = {"type": "object", "properties": {"items": {
        "type": "array", "items": {"type": "string"}, "minItems": 5, "maxItems": 5}},
        "required": ["items"]}
    for k in (2, 8):
        _, _, r = chat(port, "t-count+count=%d" % k, "exactly 5",
                       response_format=json_schema_rf(schema))
        assert len(json.loads(r["choices"][0]["message"]["content"])["items"]) == k
    _, _, r = chat(port, "t-dupes+dupes", "exactly 5", response_format=json_schema_rf(schema))
    items = json.loads(r["choices"][0]["message"]["content"])["items"]
    assert len(items) == 5 and len(set(items)) < 5


def test_think_fence_reasoning_content(port):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    rf = json_schema_rf(schema)
    _, _, r = chat(port, "t-think+think", "q", response_format=rf)
    content = r["choices"][0]["message"]["content"]
    assert content.startswith("<think>") and "</think>" in content
    assert validate(schema, json.loads(content.split("</think>", 1)[1])) == []
    _, _, r = chat(port, "t-fence+fence", "q", response_format=rf)
    content = r["choices"][0]["message"]["content"]
    prose, _, rest = content.partition("```json\n")
    assert prose.strip() and rest.rstrip().endswith("```")
    assert validate(schema, json.loads(rest.rstrip()[:-3])) == []
    _, _, r = chat(port, "t-rc+reasoning_content", "q", response_format=rf)
    msg = r["choices"][0]["message"]
    assert msg["reasoning_content"] and validate(schema, json.loads(msg["content"])) == []
    _, _, r = msgs(port, "t-rcan+reasoning_content+think", "q")
    assert [b["type"] for b in r["content"]] == ["thinking", "text"]
    assert r["content"][1]["text"].startswith("<think>")


def test_length_and_leakkey(port):
    _, _, r = chat(port, "t-len+length", "some question here")
    assert r["choices"][0]["finish_reason"] == "length"
    _, _, r = msgs(port, "t-len+length", "some question here")
    assert r["stop_reason"] == "max_tokens"
    for _ in range(2):
        _, _, r = chat(port, "t-len2+length=2", "some question here")
        assert r["choices"][0]["finish_reason"] == "length"
    _, _, r = chat(port, "t-len2+length=2", "some question here")
    assert r["choices"][0]["finish_reason"] == "stop"
    _, _, r = msgs(port, "t-len1+length=1", "q")
    assert r["stop_reason"] == "max_tokens"
    _, _, r = msgs(port, "t-len1+length=1", "q")
    assert r["stop_reason"] == "end_turn"


def test_maxout(port):
    status, _, r = msgs(port, "t-max+maxout=100", "q")  # sends max_tokens 256
    assert status == 400 and r["error"]["message"] == (
        "max_tokens: 256 > 100, which is the maximum allowed number of output tokens for "
        "t-max+maxout=100")
    status, _, r = msgs(port, "t-max2+maxout=256", "q")
    assert status == 200
    status, _, r = chat(port, "t-max3+maxout=100", "q")  # no max_tokens sent
    assert status == 200
    status, _, r = chat(port, "t-max3+maxout=100", "q", max_completion_tokens=101)
    assert status == 400 and r["error"]["param"] == "max_completion_tokens", r
    status, _, r = chat(port, "t-leak+leakkey+fail500=1")
    assert status == 500 and KEY in r["error"]["message"]
    status, _, r = chat(port, "t-leak2+leakkey=2+fail500=1")
    assert status == 500 and r["error"]["message"].count(KEY) == 2


def test_fail503_says_when_to_retry(port):
    status, headers, r = chat(port, "t-503+fail503=1+retry_after=7")
    assert status == 503 and headers["retry-after"] == "7"
    assert r["error"]["message"] == "The service is temporarily unavailable."
    assert chat(port, "t-503+fail503=1+retry_after=7")[0] == 200


# ---------------------------------------------------------------------------------------------
# HTTP behaviour and control API


def test_keep_alive_pipelining_and_expect_continue(port):
    c = Client(port)
    for i in range(3):
        assert c.json("POST", "/v1/chat/completions", {
            "model": "t-ka", "messages": [{"role": "user", "content": str(i)}]}, OA)[0] == 200
    c.close()
    body = json.dumps({"model": "t-pipe", "messages": [{"role": "user", "content": "p"}]})
    req = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: %d\r\n\r\n%s" % (KEY, len(body), body)).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req * 3)
        data = b""
        while data.count(b"HTTP/1.1 200") < 3 or not data.endswith(b"}"):
            chunk = s.recv(65536)
            assert chunk
            data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 3
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (KEY, len(body))).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body.encode())
        assert s.recv(100).startswith(b"HTTP/1.1 200 OK")


def test_control_api(port):
    assert call(port, "POST", "/_reset")[0] == 200
    _, _, st = call(port, "GET", "/_stats")
    assert st["requests"] == 0 and st["by_model"] == {}
    m = "t-ctl+latency=300"
    threads = [threading.Thread(target=chat, args=(port, m, "hello %d" % i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chat(port, "t-ctl-b", "secret prompt piece", temperature=0.7)
    _, _, st = call(port, "GET", "/_stats")
    assert st["requests"] == 7 and st["in_flight"] == 0
    bm = st["by_model"][m]
    assert bm["requests"] == 6 and bm["max_in_flight"] == 6 and bm["max_rpm"] == 6
    assert bm["status"] == {"200": 6}
    assert st["by_model"]["t-ctl-b"]["max_in_flight"] == 1 and st["max_in_flight"] >= 6
    _, _, log = call(port, "GET", "/_requests?limit=2")
    assert len(log["requests"]) == 2
    last = log["requests"][-1]
    assert last["path"] == "/v1/chat/completions" and last["status"] == 200
    assert last["body"]["temperature"] == 0.7
    assert last["body"]["messages"][-1]["content"] == "secret prompt piece"
    assert last["headers"]["authorization"] == "Bearer ..." + KEY[-4:]
    assert KEY not in json.dumps(log)
    _, _, log = call(port, "GET", "/_requests?model=" + m.replace("+", "%2B"))
    assert len(log["requests"]) == 6
    assert call(port, "POST", "/_reset")[0] == 200
    _, _, log = call(port, "GET", "/_requests")
    assert log["requests"] == []
    # counters cleared: a fail429=1 model fails once more after reset
    assert chat(port, "t-ctl-c+fail429=1")[0] == 429
    call(port, "POST", "/_reset")
    assert chat(port, "t-ctl-c+fail429=1")[0] == 429


# ---- prompt caching


def _oa_usage(port, model, system, text):
    st, _, b = call(port, "POST", "/v1/chat/completions", {
        "model": model, "messages": [{"role": "system", "content": system},
                                     {"role": "user", "content": text}]}, OA)
    assert st == 200, b
    return b["usage"]


def test_openai_cache_directive_reports_the_seen_prefix(port):
    system = "S" * 400  # 100 tokens
    model = "cache-oa+cache=100"
    first = _oa_usage(port, model, system, "one")
    assert first["prompt_tokens_details"] == {"cached_tokens": 0}
    again = _oa_usage(port, model, system, "two, longer")
    # the prompt is "S..." + "\n" + "two, longer": 412 characters, 103 tokens
    assert (again["prompt_tokens"], again["prompt_tokens_details"]) == (103, {"cached_tokens": 100})
    assert again["total_tokens"] == 103 + again["completion_tokens"]
    # per model string; a prefix shorter than cache=N is never cached; no directive, no caching
    assert _oa_usage(port, "cache-oa2+cache=100", system, "x")["prompt_tokens_details"] == {
        "cached_tokens": 0}
    short = "T" * 99
    _oa_usage(port, model, short, "a")
    assert _oa_usage(port, model, short, "b")["prompt_tokens_details"]["cached_tokens"] == 0
    _oa_usage(port, "cache-oa3", system, "a")
    assert _oa_usage(port, "cache-oa3", system, "b")["prompt_tokens_details"] == {
        "cached_tokens": 0}
    # without a system message the first message is the prefix
    st, _, b = call(port, "POST", "/v1/chat/completions", {
        "model": model, "messages": [{"role": "user", "content": "U" * 200}]}, OA)
    st, _, b = call(port, "POST", "/v1/chat/completions", {
        "model": model, "messages": [{"role": "user", "content": "U" * 200},
                                     {"role": "assistant", "content": "ok"},
                                     {"role": "user", "content": "more"}]}, OA)
    assert b["usage"]["prompt_tokens_details"] == {"cached_tokens": 50}
    assert call(port, "POST", "/_reset")[0] == 200
    assert _oa_usage(port, model, system, "after reset")["prompt_tokens_details"] == {
        "cached_tokens": 0}


def _an_usage(port, model, system, text="hi"):
    st, _, b = msgs(port, model, text, system=system)
    assert st == 200, b
    return b["usage"]


def test_anthropic_cache_control_writes_then_reads(port):
    blocks = [{"type": "text", "text": "A" * 396},
              {"type": "text", "text": "B" * 3, "cache_control": {"type": "ephemeral"}}]
    # the prefix: both blocks joined by a newline, 400 characters, 100 tokens; the whole prompt
    # adds "\n" + "hi": 403 characters, 101 tokens
    model = "cache-an"
    first = _an_usage(port, model, blocks)
    assert (first["input_tokens"], first["cache_creation_input_tokens"],
            first["cache_read_input_tokens"]) == (1, 100, 0)
    again = _an_usage(port, model, blocks)
    assert (again["input_tokens"], again["cache_creation_input_tokens"],
            again["cache_read_input_tokens"]) == (1, 0, 100)
    # only up to the last marked block; nothing without a mark, or with a plain string
    tail = blocks + [{"type": "text", "text": "C" * 40}]
    u = _an_usage(port, model, tail)
    assert (u["input_tokens"], u["cache_read_input_tokens"]) == (11, 100)  # 444 chars: 111
    unmarked = [{"type": "text", "text": "A" * 400}]
    for system in (unmarked, unmarked, "A" * 400, "A" * 400):
        u = _an_usage(port, "cache-an2", system)
        assert (u["input_tokens"], u["cache_creation_input_tokens"],
                u["cache_read_input_tokens"]) == (101, 0, 0)
    # another model string has its own cache; cache=N sets the shortest prefix cached
    assert _an_usage(port, "cache-an3", blocks)["cache_creation_input_tokens"] == 100
    assert _an_usage(port, "cache-an4+cache=401", blocks)["cache_creation_input_tokens"] == 0
    assert _an_usage(port, "cache-an4+cache=401", blocks)["cache_read_input_tokens"] == 0


def test_cache_directive_needs_a_length(port):
    st, _, b = chat(port, "m+cache")
    assert st == 400 and "cache needs a length" in b["error"]["message"]


def test_log_is_bounded_and_can_be_disabled(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    proc, p = spawn(tmp_path / "a", "--log-size", "5")
    try:
        for i in range(8):
            chat(p, "t-bound", str(i), headers={})
        _, _, log = call(p, "GET", "/_requests")
        assert [e["body"]["messages"][-1]["content"] for e in log["requests"]] == \
            ["3", "4", "5", "6", "7"]
    finally:
        stop(proc)
    proc, p = spawn(tmp_path / "b", "--no-log")
    try:
        assert chat(p, "t-nolog", headers={})[0] == 200  # no --api-key: any key passes
        assert call(p, "GET", "/_requests")[2]["requests"] == []
        assert call(p, "GET", "/_stats")[2]["requests"] == 1
    finally:
        stop(proc)


def test_start_in_thread():
    h = fake_llm.start_in_thread(api_keys=["k1"])
    try:
        assert h.base_url == "http://127.0.0.1:%d" % h.port
        status, _, r = chat(h.port, "t-thread", headers={"Authorization": "Bearer k1"})
        assert status == 200 and r["object"] == "chat.completion"
    finally:
        h.stop()
    with pytest.raises(OSError):
        socket.create_connection((h.host, h.port), timeout=1)


# ---------------------------------------------------------------------------------------------
# The value generator, in-process


SPOILABLE = [
    SCHEMA,
    {"type": "string"}, {"type": "integer", "minimum": 3}, {"type": "number"},
    {"type": "boolean"}, {"type": "array", "items": {"type": "string"}},
    {"type": "object", "properties": {"a": {"type": "integer"}}},
    {"type": "string", "enum": ["a", "b"]},
]


@pytest.mark.parametrize("schema", SPOILABLE)
def test_generated_valid_and_spoiled_invalid(schema):
    gen = fake_llm.ValueGen(schema, "abc123")
    assert validate(schema, gen.value(schema)) == []
    assert validate(schema, gen.spoil(schema, gen.value(schema))) != []


def test_refs_combinators_and_recursion():
    tree = {"$defs": {"node": {"type": "object", "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["name", "children"]}}, "$ref": "#/$defs/node"}
    v = fake_llm.ValueGen(tree, "t").value(tree)
    assert isinstance(v["name"], str) and isinstance(v["children"], list)
    depth, node = 0, v
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth < 12
    s = {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5}]}
    assert fake_llm.ValueGen(s, "t").value(s) == 5
    s = {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                   {"properties": {"b": {"type": "boolean"}}, "required": ["b"]}]}
    v = fake_llm.ValueGen(s, "t").value(s)
    assert isinstance(v["a"], str) and isinstance(v["b"], bool)


def test_find_schema_in_text():
    assert fake_llm.find_schema_in_text("no braces here") is None
    assert fake_llm.find_schema_in_text('{"type": "frog"} and {"a": 1}') is None
    s = fake_llm.find_schema_in_text('x {"a": {"type": "cat"}} {"type": "array"}')
    assert s == {"type": "array"}
    s = fake_llm.find_schema_in_text('wrapped {"schema": {"type": "object"}}')
    assert s == {"type": "object"}
    s = fake_llm.find_schema_in_text('{"type":"integer"}\n```json\n{"type": "string"}\n```')
    assert s == {"type": "string"}
