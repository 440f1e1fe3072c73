# SPDX-License-Identifier: MIT
"""import_samples_from_file and import_samples_async over real HTTP: the gateway's example CSV
stored byte for byte, JSONL of every kind (string inputs, object inputs, OpenAI chat records),
provenance, malformed files of every kind rejected with the line named and nothing stored, small
files finished inside the request and large ones run as jobs (job JSON, event stream), and the
100,000-row and 10,000-row imports. Crash safety, cancel and early stop are in test_jobs.py."""

import http.client
import json
import time
import uuid

import pytest

from hetu_http import TS_RE, assert_error, assert_id, assert_timestamp

JOB_KEYS = {"id", "kind", "status", "total", "completed", "failed", "skipped", "rate", "created_at",
            "started_at", "finished_at", "error", "errors"}
END_STATUSES = ("completed", "completed_with_errors", "failed", "cancelled")
INPUT_SCHEMA = {"type": "object", "properties": {"问题": {"type": "string"}, "n": {"type": "integer"}},
                "required": ["问题"]}


def fake_env(fake_llm):
    return {"HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1", "TOGETHERAI_API_KEY": "k"}


def provider_config(directory, concurrency=2000):
    """--config args raising the provider's per-model concurrency (32 by default) so a job's
    window, not the provider limit, decides how many items are in flight."""
    path = directory / "hetu-config.json"
    path.write_text(json.dumps({"providers": {"together_ai": {"concurrency": concurrency}}}))
    return ["--config", str(path)]


def unique_model(tag, directives=""):
    return "imp-%s-%s%s" % (tag, uuid.uuid4().hex[:8], directives)


def multipart(filename, data, field="file", boundary=None):
    boundary = boundary or "hetu-" + uuid.uuid4().hex
    head = ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n' % (boundary, field, filename))
    body = head.encode("utf-8") + data + ("\r\n--%s--\r\n" % boundary).encode("ascii")
    return body, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


def qs(params):
    from urllib.parse import urlencode
    params = {k: v for k, v in params.items() if v is not None}
    return "?" + urlencode(params) if params else ""


class Imp:
    """A project and task on one server, with the calls the import tests make."""

    def __init__(self, srv, input_json_schema=None):
        self.srv = srv
        self.c = srv.client
        self.c.timeout = 120
        p = self.c.new_project()
        extra = {}
        if input_json_schema is not None:
            extra["input_json_schema"] = json.dumps(input_json_schema)
        t = self.c.new_task(p["id"], **extra)
        self.pid, self.tid = p["id"], t["id"]

    def ds(self, tail):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (self.pid, self.tid, tail)

    def upload(self, filename, data, **params):
        body, hdrs = multipart(filename, data)
        return self.c.post(self.ds("import_samples_from_file") + qs(params), body, headers=hdrs)

    def run_async(self, samples, session_id=None):
        return self.c.post(self.ds("import_samples_async") + qs({"session_id": session_id}),
                           {"samples": samples})

    def runs_page(self, limit=1000, cursor=None, **filters):
        q = dict(filters, limit=limit)
        if cursor:
            q["cursor"] = cursor
        return self.c.ok("GET", "/api/projects/%s/tasks/%s/runs%s" % (self.pid, self.tid, qs(q)))

    def all_runs(self, **filters):
        out, cursor = [], None
        while True:
            page = self.runs_page(cursor=cursor, **filters)
            out.extend(page["runs"])
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def jobs(self):
        return self.c.ok("GET", self.ds("jobs"))["jobs"]

    def job(self, job_id):
        return self.c.ok("GET", self.ds("jobs/%s" % job_id))

    def wait_job(self, job_id, timeout=120, until=END_STATUSES):
        deadline = time.monotonic() + timeout
        while True:
            j = self.job(job_id)
            if j["status"] in until:
                return j
            assert time.monotonic() < deadline, "job still %s after %d s: %r" % (
                j["status"], timeout, j)
            time.sleep(0.05)

    def assert_nothing_stored(self):
        assert self.runs_page(limit=10)["runs"] == []
        assert self.jobs() == []


def check_job(j, kind=None, total=None):
    assert set(j) == JOB_KEYS, sorted(j)
    assert_id(j["id"])
    if kind:
        assert j["kind"] == kind
    assert j["status"] in ("queued", "running") + END_STATUSES
    for k in ("total", "completed", "failed"):
        assert isinstance(j[k], int) and j[k] >= 0, j
    if total is not None:
        assert j["total"] == total
    assert j["completed"] + j["failed"] <= j["total"]
    assert isinstance(j["rate"], (int, float)) and j["rate"] >= 0
    assert_timestamp(j["created_at"])
    for k in ("started_at", "finished_at"):
        assert j[k] is None or TS_RE.match(j[k]), j
    if j["status"] in END_STATUSES:
        assert j["finished_at"] is not None and j["started_at"] is not None
        assert j["finished_at"] >= j["started_at"] >= j["created_at"][:19]
    else:
        assert j["finished_at"] is None
    assert j["error"] is None or isinstance(j["error"], str)
    assert isinstance(j["errors"], list)
    for x in j["errors"]:
        assert set(x) == {"index", "detail"} and isinstance(x["index"], int) and x["detail"]
    return j


def csv_quote(s):
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_bytes(header, rows, eol="\n"):
    lines = [",".join(header)] + [",".join(csv_quote(v) for v in r) for r in rows]
    return (eol.join(lines) + eol).encode("utf-8")


def jsonl_bytes(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


@pytest.fixture
def plain(start_server, fake_llm):
    return Imp(start_server(env=fake_env(fake_llm)))


# ---- the gateway's example file ----

GATEWAY_ROWS = [
    ("他说\"学习\"很重要", "He said \"learning\" is important"),
    ("苹果, 香蕉, 和橙子", "apples, bananas, and oranges"),
    ("你好世界", "你好，世界！"),
    ("多行\n输入\r\n文本", "多行输出, \"引号\""),
    ("  前后空格  ", "\"\""),
    ("表情 😀 和 ñ", "ok"),
]


def test_gateway_example_csv_byte_for_byte(plain):
    # Written by hand as the gateway's own example: doubled quotes, commas inside quotes.
    data = ('input,output\n'
            '"他说""学习""很重要","He said ""learning"" is important"\n'
            '"苹果, 香蕉, 和橙子","apples, bananas, and oranges"\n'
            '你好世界,"你好，世界！"\n'
            '"多行\n输入\r\n文本","多行输出, ""引号"""\n'
            '"  前后空格  ",""""""\n'
            '表情 😀 和 ñ,ok\n').encode("utf-8")
    r = plain.upload("example.csv", data, session_id="S1")
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "import_completed"
    assert body["sample_count"] == len(GATEWAY_ROWS)
    assert isinstance(body["message"], str) and body["message"]
    assert "job_id" not in body
    runs = plain.all_runs()
    got = sorted((x["input"], x["output"]["output"]) for x in runs)
    assert got == sorted(GATEWAY_ROWS)
    for x in runs:
        assert x["input_source"] == {"type": "file_import", "properties": {"file_name": "example.csv"}}
        assert x["output"]["source"]["type"] == "file_import"
        assert x["output"]["source"]["properties"]["file_name"] == "example.csv"
        assert x["tags"] == ["imported", "imported_S1"]
    assert plain.jobs() == []


def test_csv_bom_crlf_and_optional_columns(plain):
    rows = [["问1", "答1", "科学>>>>>物理", "简短", "a,b"],
            ["问2", "答2", "", "", ""],
            ["问3", "答3", "科学", "", "only"]]
    data = b"\xef\xbb\xbf" + csv_bytes(["input", "output", "topic_path", "human_guidance", "tags"],
                                        rows, eol="\r\n")
    r = plain.upload("opts.csv", data, session_id="s2", input_model_name="in-m",
                     input_provider="together_ai", output_model_name="out-m",
                     output_provider="together_ai")
    assert r.status == 200 and r.json()["sample_count"] == 3, r
    runs = {x["input"]: x for x in plain.all_runs()}
    assert set(runs) == {"问1", "问2", "问3"}
    assert runs["问1"]["tags"] == ["imported", "imported_s2", "a", "b"]
    assert runs["问2"]["tags"] == ["imported", "imported_s2"]
    assert runs["问3"]["tags"] == ["imported", "imported_s2", "only"]
    props = runs["问1"]["input_source"]["properties"]
    assert runs["问1"]["input_source"]["type"] == "file_import"
    assert props["file_name"] == "opts.csv"
    assert props["model_name"] == "in-m" and props["model_provider"] == "together_ai"
    assert props["topic_path"] == "科学>>>>>物理"
    out = runs["问1"]["output"]
    assert out["output"] == "答1"
    assert out["source"]["properties"]["model_name"] == "out-m"
    assert "topic_path" not in runs["问2"]["input_source"]["properties"]
    # the topic filter finds them where the file put them
    sci = plain.runs_page(topic_path="科学")["runs"]
    assert {x["input"] for x in sci} == {"问1", "问3"}  # a topic includes its subtopics
    phys = plain.runs_page(topic_path="科学/物理")["runs"]
    assert {x["input"] for x in phys} == {"问1"}


# ---- JSONL of each kind ----

def test_jsonl_string_inputs(plain):
    objs = [{"input": "第%d个 \"输入\", 逗号" % i, "output": "输出 %d\n第二行" % i,
             "topic_path": ["主题", "子%d" % (i % 2)], "human_guidance": "指导",
             "tags": ["t%d" % i]} for i in range(5)]
    r = plain.upload("strings.jsonl", jsonl_bytes(objs), session_id="J1")
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    runs = {x["input"]: x for x in plain.all_runs()}
    assert set(runs) == {o["input"] for o in objs}
    for o in objs:
        x = runs[o["input"]]
        assert x["output"]["output"] == o["output"]
        assert x["tags"] == ["imported", "imported_J1", o["tags"][0]]
        assert x["input_source"]["type"] == "file_import"
        assert x["input_source"]["properties"]["file_name"] == "strings.jsonl"
        assert x["input_source"]["properties"]["topic_path"] == "主题>>>>>" + o["topic_path"][1]


def test_jsonl_object_inputs_with_input_schema(start_server, fake_llm):
    imp = Imp(start_server(env=fake_env(fake_llm)), input_json_schema=INPUT_SCHEMA)
    objs = [{"input": {"问题": "为什么天是蓝的？", "n": 1}, "output": "散射"},
            {"input": {"问题": "引号\"和, 逗号"}, "output": "ok"}]
    r = imp.upload("objects.jsonl", jsonl_bytes(objs), session_id="O")
    assert r.status == 200 and r.json()["sample_count"] == 2, r
    got = {}
    for x in imp.all_runs():
        assert isinstance(x["input"], str)  # object inputs are JSON text
        got[json.dumps(json.loads(x["input"]), sort_keys=True)] = x["output"]["output"]
    assert got == {json.dumps(o["input"], sort_keys=True): o["output"] for o in objs}
    # an input that breaks the schema: 422 naming the line, nothing stored
    bad = jsonl_bytes([objs[0], {"input": {"n": 2}, "output": "x"}])
    r = imp.upload("bad.jsonl", bad)
    assert assert_error(r, 422, "invalid", mentions=["line 2"])["field"] == "input", r
    assert len(imp.all_runs()) == 2


def test_jsonl_chat_records(plain):
    model = unique_model("chat")
    recs = [{"messages": [{"role": "system", "content": "你是翻译"},
                          {"role": "user", "content": "翻译：你好 %d" % i},
                          {"role": "assistant", "content": "Hello %d" % i}]} for i in range(3)]
    recs.append({"input": "mixed in", "output": "plain line"})
    r = plain.upload("chat.jsonl", jsonl_bytes(recs), session_id="C", output_model_name=model,
                     output_provider="together_ai")
    assert r.status == 200 and r.json()["sample_count"] == 4, r
    runs = {x["input"]: x["output"]["output"] for x in plain.all_runs()}
    assert runs == {"翻译：你好 0": "Hello 0", "翻译：你好 1": "Hello 1", "翻译：你好 2": "Hello 2",
                    "mixed in": "plain line"}


def test_rows_without_output_use_the_output_model(plain, fake_llm):
    model = unique_model("gen")
    data = csv_bytes(["input", "output"], [["要生成 1", ""], ["已有", "给定输出"], ["要生成 2", ""]])
    r = plain.upload("mixed.csv", data, session_id="G", output_model_name=model,
                     output_provider="together_ai", input_model_name="seed-model",
                     input_provider="together_ai")
    assert r.status == 200 and r.json()["sample_count"] == 3, r
    runs = {x["input"]: x for x in plain.all_runs()}
    assert runs["已有"]["output"]["output"] == "给定输出"
    for k in ("要生成 1", "要生成 2"):
        out = runs[k]["output"]
        assert out["output"].startswith("fake answer "), out
        assert out["source"]["type"] == "synthetic"
        assert out["source"]["properties"]["model_name"] == model
        assert out["source"]["properties"]["model_provider"] == "together_ai"
        assert runs[k]["input_source"]["type"] == "file_import"
        assert runs[k]["input_source"]["properties"]["model_name"] == "seed-model"
    calls = json.loads(_get(fake_llm, "/_requests?model=%s" % model.replace("+", "%2B")))["requests"]
    assert len(calls) == 2  # no call for the row that had an output


def _get(base, path):
    from urllib.request import urlopen
    with urlopen(base + path, timeout=10) as f:
        return f.read().decode("utf-8")


# ---- malformed files: 400/422 naming the line, nothing stored ----

MALFORMED = [
    # name, bytes, status, code, field, what the detail mentions
    ("unterminated_quote.csv", b'input,output\nok,fine\n"never closed,x\nmore,rows\n',
     400, "bad_request", "file", ["line 3", "column"]),
    ("quote_inside.csv", b'input,output\nok,fine\nab"c,x\n', 400, "bad_request", "file",
     ["line 3", "column 3"]),
    ("after_quote.csv", b'input,output\nok,fine\n"ab"x,y\n', 400, "bad_request", "file",
     ["line 3", "column"]),
    ("no_input.csv", b'output\nx\n', 400, "bad_request", "file", ["line 1", "input"]),
    ("empty_input.csv", b'input,output\nok,fine\n,x\n', 400, "bad_request", "file", ["line 3"]),
    ("bad_utf8.csv", b'input,output\nok,fine\nab\xff\xfe,x\n', 400, "bad_request", "file",
     ["line 3", "UTF-8"]),
    ("bad_json.jsonl", b'{"input":"a","output":"b"}\n{"input": "c", oops}\n', 400, "bad_json",
     "file", ["line 2"]),
    ("missing_input.jsonl", b'{"input":"a","output":"b"}\n{"output":"b"}\n', 400, "bad_request",
     "file", ["line 2", "input"]),
    ("not_object.jsonl", b'{"input":"a","output":"b"}\n[1,2]\n', 400, "bad_request", "file",
     ["line 2"]),
    ("bad_utf8.jsonl", b'{"input":"a","output":"b"}\n{"input":"\xc3\x28","output":"b"}\n', 400,
     "bad_json", "file", ["line 2"]),
    ("empty.csv", b'', 400, "bad_request", "file", []),
    ("empty.jsonl", b'', 400, "bad_request", "file", []),
    ("header_only.csv", b'input,output\n', 400, "bad_request", "file", []),
    ("blank.jsonl", b'\n\n', 400, "bad_request", "file", []),
    ("notes.txt", b'input,output\na,b\n', 400, "bad_request", "file", [".csv", ".jsonl"]),
    ("noext", b'input,output\na,b\n', 400, "bad_request", "file", [".csv"]),
    ("needs_model.csv", b'input,output\na,b\nno output here,\n', 422, "invalid", "output_provider",
     ["line 3"]),
    ("needs_model.jsonl", b'{"input":"a","output":"b"}\n{"input":"c"}\n', 422, "invalid",
     "output_provider", ["line 2"]),
]


@pytest.mark.parametrize("name,data,status,code,field,mentions", MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_file_rejected_nothing_stored(plain, name, data, status, code, field, mentions):
    r = plain.upload(name, data, session_id="bad")
    # the field is the upload part (or the option it lacks); the detail names the line instead
    assert assert_error(r, status, code, mentions=mentions)["field"] == field, r
    plain.assert_nothing_stored()


def test_malformed_after_many_good_rows_nothing_stored(plain):
    """The bad row comes after thousands of good ones (past any buffer or batch): still nothing."""
    rows = [["行 %d" % i, "出 %d" % i] for i in range(5000)]
    data = csv_bytes(["input", "output"], rows) + b'"broken,x\n'
    r = plain.upload("late.csv", data)
    assert_error(r, 400, "bad_request", mentions=["line 5002"])
    data = jsonl_bytes({"input": "行 %d" % i, "output": "x"} for i in range(5000)) + b'{"input": 1}\n'
    r = plain.upload("late.jsonl", data)
    assert assert_error(r, 400, "bad_request", mentions=["line 5001"])["field"] == "file", r
    plain.assert_nothing_stored()


def test_missing_key_rejected_at_upload(start_server, fake_llm):
    imp = Imp(start_server(env={"HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1"}))
    data = csv_bytes(["input"], [["x%d" % i] for i in range(200)])
    r = imp.upload("k.csv", data, output_model_name="m", output_provider="together_ai")
    assert_error(r, 400, "bad_request", mentions=["TOGETHERAI_API_KEY"])
    imp.assert_nothing_stored()


def test_upload_without_file_part(plain):
    body, hdrs = multipart("a.csv", b"input,output\na,b\n", field="other")
    r = plain.c.post(plain.ds("import_samples_from_file"), body, headers=hdrs)
    assert_error(r, 422, "invalid", field="file", mentions=["file"])
    r = plain.c.post(plain.ds("import_samples_from_file"), {"samples": []})
    assert_error(r, 415, "unsupported_media_type")
    plain.assert_nothing_stored()


def test_upload_size_limit_413(start_server, fake_llm):
    imp = Imp(start_server(env=fake_env(fake_llm), args=["--max-upload-size", "100000"]))
    data = csv_bytes(["input", "output"], [["行 %d" % i, "x" * 50] for i in range(3000)])
    assert len(data) > 100000
    assert_error(imp.upload("big.csv", data), 413, "too_large")
    imp.assert_nothing_stored()
    ok = csv_bytes(["input", "output"], [["行 %d" % i, "x"] for i in range(10)])
    assert imp.upload("small.csv", ok).status == 200


def test_unknown_task_404(plain):
    body, hdrs = multipart("a.csv", b"input,output\na,b\n")
    r = plain.c.post("/api/dataset/projects/%s/tasks/999999999999/import_samples_from_file"
                     % plain.pid, body, headers=hdrs)
    assert_error(r, 404, "not_found")


# ---- small vs large, job JSON, events ----

def test_100_rows_inline_101_rows_job(plain):
    r = plain.upload("h.csv", csv_bytes(["input", "output"], [["a%d" % i, "b"] for i in range(100)]))
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    assert r.json()["sample_count"] == 100
    assert plain.jobs() == []
    r = plain.upload("h1.jsonl", jsonl_bytes({"input": "c%d" % i, "output": "d"} for i in range(101)),
                     session_id="big")
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "import_started" and body["sample_count"] == 101
    assert_id(body["job_id"])
    j = plain.wait_job(body["job_id"])
    check_job(j, kind="import_file", total=101)
    assert j["status"] == "completed" and j["completed"] == 101 and j["failed"] == 0, j
    assert j["error"] is None and j["errors"] == []
    assert [x["id"] for x in plain.jobs()] == [body["job_id"]]
    check_job(plain.jobs()[0])
    runs = plain.all_runs(tag="imported_big")
    assert sorted(x["input"] for x in runs) == sorted("c%d" % i for i in range(101))
    assert all(x["input_source"]["properties"]["file_name"] == "h1.jsonl" for x in runs)


def _comparable(run):
    """A run without what differs between two imports of the same row (ids, timestamps)."""
    if isinstance(run, dict):
        return {k: _comparable(v) for k, v in run.items() if k not in ("id", "created_at")}
    if isinstance(run, list):
        return [_comparable(v) for v in run]
    return run


def test_job_rows_stored_as_inline_rows(start_server, fake_llm):
    """A file of over 100 rows is loaded by a job, a smaller one inside the request; the two
    paths build a row's sample separately and must store the same thing: sources, tags (the
    defaults first, repeats dropped), topic paths (a leading "root" dropped), outputs."""
    srv = start_server(env=fake_env(fake_llm))
    inline, job = Imp(srv), Imp(srv)
    rows = []
    for i in range(40):
        topic = ["", "root>>>>>科学>>>>>子题 %d" % i, "历史", "a>>>>>b>>>>>c"][i % 4]
        tags = ["", "t%d" % (i % 3), "imported,x y,t1"][i % 3]
        rows.append(["问题 %d, \"引号\"" % i, "答案 %d\n第二行" % i, topic, tags])
    params = dict(session_id="same", input_model_name="seed-m", input_provider="together_ai",
                  output_model_name="out-m", output_provider="together_ai")
    header = ["input", "output", "topic_path", "tags"]
    r = inline.upload("rows.csv", csv_bytes(header, rows), **params)
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    r = job.upload("rows.csv", csv_bytes(header, rows * 3), **params)
    assert r.status == 200 and r.json()["status"] == "import_started", r
    assert job.wait_job(r.json()["job_id"])["status"] == "completed"
    want = {x["input"]: _comparable(x) for x in inline.all_runs()}
    got = job.all_runs()
    assert len(want) == 40 and len(got) == 120
    for x in got:
        assert _comparable(x) == want[x["input"]], x["input"]
    sample = want["问题 1, \"引号\""]
    assert sample["input_source"]["properties"] == {
        "file_name": "rows.csv", "model_name": "seed-m", "model_provider": "together_ai",
        "topic_path": "科学>>>>>子题 1"}
    assert sample["output"]["source"]["properties"] == {
        "file_name": "rows.csv", "model_name": "out-m", "model_provider": "together_ai"}
    assert sample["tags"] == ["imported", "imported_same", "t1"]
    assert want["问题 2, \"引号\""]["tags"] == ["imported", "imported_same", "x y", "t1"]
    topics = job.c.ok("GET", job.ds("topics"))
    assert topics["sample_count"] == 120


def test_topic_with_a_control_character_rejected_at_upload(plain):
    """A topic name holding a newline (possible inside a quoted CSV field) is refused with its
    line before anything is stored, in small files and in large ones alike."""
    for n in (3, 150):
        rows = [["q%d" % i, "a", "t"] for i in range(n)] + [["bad", "a", "x>>>>>two\nlines"]]
        r = plain.upload("ctl.csv", csv_bytes(["input", "output", "topic_path"], rows))
        assert_error(r, 422, "invalid", mentions=["line %d" % (n + 2), "topic_path", "control"])
        plain.assert_nothing_stored()


def read_events(srv, path, timeout=120):
    """The frames of an event stream, read until the server closes it: [(event, data)]."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    conn.request("GET", path, headers={"Accept": "text/event-stream"})
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read()[:300])
    assert r.getheader("Content-Type", "").startswith("text/event-stream")
    frames, event, data = [], None, []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "event stream still open after %d s" % timeout
        line = r.readline()  # decodes the chunked framing
        if not line:
            break
        line = line.decode("utf-8").rstrip("\r\n")
        if line == "":
            if event is not None or data:
                frames.append((event, "\n".join(data)))
            event, data = None, []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    conn.close()
    return frames


def test_events_stream_progress_then_end(start_server, fake_llm, tmp_path):
    imp = Imp(start_server(env=fake_env(fake_llm),
                           args=["--job-window", "50"] + provider_config(tmp_path)))
    model = unique_model("ev", "+latency=20")
    n = 1500
    r = imp.upload("ev.csv", csv_bytes(["input"], [["事件 %d" % i] for i in range(n)]),
                   output_model_name=model, output_provider="together_ai")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    frames = read_events(imp.srv, imp.ds("jobs/%s/events" % job_id))
    assert len(frames) >= 3, frames
    names = [f[0] for f in frames]
    assert names[-1] == "end" and set(names[:-1]) == {"progress"}, names
    jobs = [check_job(json.loads(d)) for _, d in frames]
    assert all(j["id"] == job_id and j["total"] == n for j in jobs)
    progress = [j["completed"] for j in jobs[:-1]]
    assert progress == sorted(progress)
    assert any(0 < c < n for c in progress), progress  # saw it mid-way
    end = jobs[-1]
    assert end["status"] == "completed" and end["completed"] == n and end["failed"] == 0, end
    assert end == imp.job(job_id) or (end["completed"], end["status"]) == (
        imp.job(job_id)["completed"], imp.job(job_id)["status"])
    # a stream opened after the end gives the end frame at once
    frames = read_events(imp.srv, imp.ds("jobs/%s/events" % job_id), timeout=10)
    assert frames[-1][0] == "end" and json.loads(frames[-1][1])["completed"] == n


# ---- import_samples_async ----

def test_import_samples_async(plain, fake_llm):
    model = unique_model("async", "+latency=300")
    samples = [{"input": "异步 %d" % i, "output": "给定 %d" % i, "topic_path": ["异步"]}
               for i in range(30)]
    samples += [{"input": "生成 %d" % i, "output_model_name": model, "output_provider": "together_ai",
                 "input_model_name": "seed", "input_provider": "together_ai"} for i in range(20)]
    t0 = time.monotonic()
    r = plain.run_async(samples, session_id="A1")
    took = time.monotonic() - t0
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "import_started" and body["sample_count"] == 50
    assert isinstance(body["message"], str) and body["message"]
    assert_id(body["job_id"])
    assert took < 0.3, "answered after %.2f s: not at once" % took  # the model waits 300 ms
    j = plain.job(body["job_id"])
    check_job(j, kind="import_samples", total=50)
    assert j["status"] in ("queued", "running")
    j = plain.wait_job(body["job_id"], timeout=60)
    check_job(j)
    assert (j["status"], j["completed"], j["failed"]) == ("completed", 50, 0), j
    runs = {x["input"]: x for x in plain.all_runs()}
    assert len(runs) == 50
    assert runs["异步 3"]["output"]["output"] == "给定 3"
    assert runs["异步 3"]["tags"][0] == "synthetic" and "synthetic_session_A1" in runs["异步 3"]["tags"]
    assert runs["生成 7"]["output"]["output"].startswith("fake answer ")
    assert runs["生成 7"]["output"]["source"]["properties"]["model_name"] == model
    calls = json.loads(_get(fake_llm, "/_requests?model=%s" % model.replace("+", "%2B")))["requests"]
    assert len(calls) == 20


def test_import_samples_async_bad_body_creates_nothing(plain):
    r = plain.run_async([{"input": "ok", "output": "x"}, {"output": "no input"}])
    assert_error(r, 422, "invalid", field="samples[1].input")
    r = plain.run_async([{"input": "needs a model"}])
    assert r.status == 422, r
    plain.assert_nothing_stored()


def test_text_longer_than_the_limit_rejected_at_upload(plain):
    """An input or output over 1,000,000 characters (still under the reader's 1 MiB field
    limit) is refused at upload as save_sample refuses it; exactly the limit is kept."""
    at_limit, over = "字" + "x" * 999999, "x" * 1000001
    for header, row, field in ((["input", "output"], [over, "o"], "input"),
                               (["input", "output"], ["i", over], "output")):
        r = plain.upload("long.csv", csv_bytes(header, [["a", "b"], row]))
        assert_error(r, 422, "invalid", mentions=["line 3", field, "1000000"])
        plain.assert_nothing_stored()
    r = plain.upload("ok.csv", csv_bytes(["input", "output"], [[at_limit, at_limit]]))
    assert r.status == 200 and r.json()["sample_count"] == 1, r
    assert plain.all_runs()[0]["input"] == at_limit


# ---- files read in batches on worker threads ----

def test_bad_lines_far_into_a_large_file(plain):
    """JSON Lines are parsed by two workers at once, half a megabyte a batch: with bad lines
    several batches apart, the answer still names the first one, and nothing is stored."""
    rows = [{"input": "行 %d " % i + "字" * (i % 40), "output": "出 %d" % i} for i in range(60000)]
    good = jsonl_bytes(rows)
    lines = good.split(b"\n")
    assert len(good) > 6 * 512 * 1024
    for first, second in ((25000, 45000), (45000, 59999), (3, 59999)):
        bad = list(lines)
        bad[first] = b'{"input": "x", oops}'
        bad[second] = b'{"input": 7}'
        r = plain.upload("far.jsonl", b"\n".join(bad))
        assert_error(r, 400, "bad_json", mentions=["line %d" % (first + 1)])
        assert "line %d " % (second + 1) not in r.json()["detail"]
        plain.assert_nothing_stored()
    r = plain.upload("far.jsonl", good)
    assert r.status == 200 and r.json()["status"] == "import_started", r
    assert plain.wait_job(r.json()["job_id"])["status"] == "completed"
    got = plain.all_runs()
    assert sorted(x["input"] for x in got) == sorted(x["input"] for x in rows)


def test_multiline_csv_fields_across_batches_byte_for_byte(plain):
    """CSV is read in batches too (by one worker, in order): quoted fields holding newlines, CRLF
    and doubled quotes, cut anywhere by the batch boundaries, all come back byte for byte."""
    rows = []
    for i in range(20000):
        text = "第%d行\n第二行, \"引号\" %s\r\n末尾" % (i, "长" * (i % 97))
        rows.append([text, "输出 %d\n多行" % i])
    data = csv_bytes(["input", "output"], rows, eol="\r\n")
    assert len(data) > 4 * 512 * 1024
    r = plain.upload("multi.csv", data)
    assert r.status == 200 and r.json()["status"] == "import_started", r
    assert plain.wait_job(r.json()["job_id"])["status"] == "completed"
    got = {x["input"]: x["output"]["output"] for x in plain.all_runs()}
    assert got == {a: b for a, b in rows}


def test_client_gone_midway_through_a_large_upload(start_server, fake_llm, tmp_path):
    """The client closes the connection with the upload half sent, while workers are reading
    its batches: the server drops the upload within moments (no spool file left, nothing
    stored), not at the connection timeout, and goes on serving; the exit check at teardown
    (and the sanitizer run) catches a worker left behind."""
    import socket
    spool = tmp_path / "spool"
    imp = Imp(start_server(env=fake_env(fake_llm), args=["--spool-dir", str(spool)]))
    body, hdrs = multipart("gone.jsonl", jsonl_bytes(
        {"input": "行 %d" % i, "output": "出 %d" % i} for i in range(200000)))
    assert len(body) > 8 * 512 * 1024
    for kind in ("jsonl", "csv"):
        if kind == "csv":
            body, hdrs = multipart("gone.csv", csv_bytes(
                ["input", "output"], [["行 %d" % i, "出\n%d" % i] for i in range(200000)]))
        sock = socket.create_connection((imp.srv.host, imp.srv.port))
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                % (imp.ds("import_samples_from_file"), hdrs["Content-Type"], len(body)))
        sock.sendall(head.encode("ascii") + body[:len(body) // 2])
        sock.close()  # at once: the end of stream queued behind data the server has yet to read
        deadline = time.monotonic() + 10
        while any(p.name.startswith("upload-") for p in spool.iterdir()):
            assert time.monotonic() < deadline, (kind, sorted(p.name for p in spool.iterdir()))
            time.sleep(0.05)
        imp.assert_nothing_stored()
    r = imp.upload("after.csv", csv_bytes(["input", "output"], [["a", "b"]]))
    assert r.status == 200 and r.json()["sample_count"] == 1, r


def test_client_half_closes_after_a_complete_upload(start_server, fake_llm, tmp_path):
    """A client may send the whole body, shut its sending side and wait for the answer: the
    upload must be answered (the watcher above only drops bodies that can no longer complete)."""
    import socket
    imp = Imp(start_server(env=fake_env(fake_llm)))
    body, hdrs = multipart("half.jsonl", jsonl_bytes(
        {"input": "行 %d" % i, "output": "出 %d" % i} for i in range(60000)))
    for _ in range(3):
        sock = socket.create_connection((imp.srv.host, imp.srv.port))
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (imp.ds("import_samples_from_file"),
                                                   hdrs["Content-Type"], len(body)))
        sock.sendall(head.encode("ascii") + body)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(60)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        job = json.loads(answer.split(b"\r\n\r\n", 1)[1])["job_id"]
        assert imp.wait_job(job)["status"] == "completed"


# ---- big imports ----

def test_100000_rows_with_outputs(start_server, fake_llm):
    imp = Imp(start_server(env=fake_env(fake_llm)))
    n = 100000
    lines = ['input,output,topic_path']
    for i in range(n):
        lines.append('"第%d行, ""引号""",输出%d,批次%d' % (i, i, i % 10))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    t0 = time.monotonic()
    r = imp.upload("big.csv", data, session_id="big")
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "import_started" and body["sample_count"] == n
    j = imp.wait_job(body["job_id"], timeout=180)
    took = time.monotonic() - t0
    assert (j["status"], j["completed"], j["failed"], j["total"]) == ("completed", n, 0, n), j
    # count independently of the job: page through every run (1000 a page)
    seen = set()
    cursor = None
    pages = 0
    while True:
        page = imp.runs_page(cursor=cursor)
        for x in page["runs"]:
            seen.add(x["input"])
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == n // 1000  # a full last page has no next_cursor: the server looks one row ahead
    assert len(seen) == n
    for i in (0, 1, 4999, 54321, n - 1):
        assert '第%d行, "引号"' % i in seen
    spot = imp.runs_page(limit=5, topic_path="批次7")["runs"]
    assert spot and all(x["input_source"]["properties"]["topic_path"] == "批次7" for x in spot)
    assert all(x["output"]["output"] == "输出" + x["input"][1:x["input"].index("行")] for x in spot)
    print("100000-row import: %.1f s" % took)


def test_10000_rows_without_outputs_through_fake(start_server, fake_llm, tmp_path):
    imp = Imp(start_server(env=fake_env(fake_llm),
                           args=["--job-window", "1000"] + provider_config(tmp_path)))
    model = unique_model("10k", "+latency=5")
    n = 10000
    data = jsonl_bytes({"input": "生成输出 %d" % i} for i in range(n))
    r = imp.upload("gen.jsonl", data, session_id="g10k", output_model_name=model,
                   output_provider="together_ai")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    j = imp.wait_job(r.json()["job_id"], timeout=120)
    assert (j["status"], j["completed"], j["failed"]) == ("completed", n, 0), j
    runs = imp.all_runs()
    assert len(runs) == n
    assert len({x["input"] for x in runs}) == n
    assert all(x["output"]["output"].startswith("fake answer ") for x in runs[:50])
    stats = json.loads(_get(fake_llm, "/_stats"))
    assert stats["calls"][model] == n  # every row exactly one call: no retries, no repeats
