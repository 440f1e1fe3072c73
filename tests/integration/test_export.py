# SPDX-License-Identifier: MIT
"""Exports over real HTTP: GET .../export with every runs filter and their combinations (the exact
samples, in id order), the bytes of openai_chat_jsonl lines, the task prompt as the default system
message, gzip (the same bytes once inflated), Content-Type and Content-Disposition, errors named
before any byte, dataset splits (the export's split_name and the gateway's download_dataset_jsonl
in both its forms), and a large export: a client that goes away stops the store cursor (the
server's log line of the export says how many pages it read) and memory stays flat."""

import gzip
import json
import os
import re
import signal
import socket
import time
import urllib.parse

import pytest

from hetu_http import assert_error
from test_import import Imp, fake_env

REQS = [{"name": "简洁", "instruction": "Keep it concise"},
        {"name": "礼貌", "instruction": "Be polite"}]
TASK_PROMPT = ("把句子翻译成英文\n\nYour response should respect the following requirements:\n"
               "1) Keep it concise\n2) Be polite\n")


def chat_line(system, user, assistant):
    """Kiln's openai_chat_jsonl line (json.dumps with ensure_ascii=False)."""
    return json.dumps({"messages": [{"role": "system", "content": system},
                                    {"role": "user", "content": user},
                                    {"role": "assistant", "content": assistant}]},
                      ensure_ascii=False) + "\n"


class Env:
    def __init__(self, srv):
        self.srv = srv
        self.c = srv.client
        self.c.timeout = 60
        p = self.c.new_project(name="导出 export")
        t = self.c.new_task(p["id"], name="翻译", instruction="把句子翻译成英文", requirements=REQS)
        self.pid, self.tid = p["id"], t["id"]
        self.runs = {}  # key -> saved TaskRun

    def save(self, key, session=None, **s):
        body = {"input": key, "output": "输出 " + key}
        body.update(s)
        q = "?session_id=" + urllib.parse.quote(session) if session else ""
        r = self.c.post("/api/dataset/projects/%s/tasks/%s/save_sample%s" % (self.pid, self.tid, q),
                        body)
        assert r.status == 200, r
        self.runs[key] = r.json()
        return r.json()

    def rate(self, key, value):
        self.c.ok("PATCH", "/api/projects/%s/tasks/%s/runs/%s" % (self.pid, self.tid,
                                                                   self.runs[key]["id"]),
                  {"rating": {"type": "five_star", "value": value}})

    def export(self, headers=None, **q):
        qs = urllib.parse.urlencode(q)
        return self.c.get("/api/projects/%s/tasks/%s/export?%s" % (self.pid, self.tid, qs),
                          headers=headers)

    def users(self, **q):
        """The user messages of an openai_chat_jsonl export (the samples' inputs), in order."""
        r = self.export(format="openai_chat_jsonl", **q)
        assert r.status == 200, r
        return [json.loads(x)["messages"][1]["content"] for x in r.raw.decode().splitlines()]

    def in_id_order(self, *keys):
        return [k for _, k in sorted((int(self.runs[k]["id"]), k) for k in keys)]


@pytest.fixture(scope="module")
def env(server):
    e = Env(server)
    e.save("ab1", session="S1", topic_path="a/b", input_model_name="m",
           input_provider="together_ai")
    e.save("ab2", session="S1", topic_path=["a", "b"], input_model_name="m",
           input_provider="together_ai", tags=["golden"])
    e.save("abc", session="S2", topic_path=["a", "b", "c"], input_model_name="m",
           input_provider="together_ai")
    e.save("a", topic_path=["a"])
    e.save("ax", session="会话", topic_path=["ab"])  # "ab" is not under the topic "a"
    e.save("中文 \"引号\"\n换行\t制表", topic_path=["主题", "路径"], tags=["golden"])
    e.save("root")
    e.rate("ab1", 4)
    e.rate("abc", 2)
    e.rate("中文 \"引号\"\n换行\t制表", 5)
    return e


ALL = ("ab1", "ab2", "abc", "a", "ax", "中文 \"引号\"\n换行\t制表", "root")
ZH = "中文 \"引号\"\n换行\t制表"


def test_export_bytes_and_headers(env):
    r = env.export(format="openai_chat_jsonl", system_message="系统 \"提示\"")
    assert r.status == 200, r
    want = "".join(chat_line("系统 \"提示\"", k, "输出 " + k) for k in env.in_id_order(*ALL))
    assert r.raw.decode("utf-8") == want
    assert r.header("Content-Type") == "application/jsonl"
    cd = r.header("Content-Disposition")
    assert cd.startswith('attachment; filename="__.openai_chat_jsonl.jsonl"; '), cd
    assert cd.endswith("filename*=UTF-8''%E7%BF%BB%E8%AF%91.openai_chat_jsonl.jsonl"), cd


def test_default_system_message_is_the_task_prompt(env):
    r = env.export(format="openai_chat_jsonl", tag="golden")
    assert r.status == 200, r
    want = "".join(chat_line(TASK_PROMPT, k, "输出 " + k) for k in env.in_id_order("ab2", ZH))
    assert r.raw.decode("utf-8") == want


@pytest.mark.parametrize("query,keys", [
    ({}, ALL),
    ({"topic_path": "a"}, ("ab1", "ab2", "abc", "a")),
    ({"topic_path": "a/b"}, ("ab1", "ab2", "abc")),
    ({"topic_path": "主题"}, (ZH,)),
    ({"session_id": "S1"}, ("ab1", "ab2")),
    ({"session_id": "会话"}, ("ax",)),
    ({"tag": "golden"}, ("ab2", ZH)),
    ({"rating": "4"}, ("ab1", ZH)),
    ({"rating": "2"}, ("ab1", "abc", ZH)),
    ({"source": "synthetic"}, ("ab1", "ab2", "abc")),
    ({"topic_path": "a", "rating": "2"}, ("ab1", "abc")),
    ({"session_id": "S1", "tag": "golden", "topic_path": "a/b"}, ("ab2",)),
    ({"source": "synthetic", "rating": "3"}, ("ab1",)),
    ({"topic_path": "nope"}, ()),
])
def test_filters(env, query, keys):
    assert env.users(**query) == env.in_id_order(*keys)


def test_gzip_is_the_same_bytes(env):
    plain = env.export(format="openai_chat_jsonl", topic_path="a")
    for accept in ("identity", "gzip", None):
        h = {"Accept-Encoding": accept} if accept else None
        z = env.export(headers=h, format="openai_chat_jsonl", topic_path="a", compress="gzip")
        assert z.status == 200, z
        assert z.header("Content-Type") == "application/gzip"
        assert z.header("Content-Encoding") is None
        assert z.raw[:2] == b"\x1f\x8b"
        assert gzip.decompress(z.raw) == plain.raw
        assert re.search(r'filename="[^"]*\.jsonl\.gz"', z.header("Content-Disposition"))
    assert len(plain.raw.splitlines()) == 4


def test_other_formats(env):
    r = env.export(format="csv")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/csv")
    assert r.raw.decode().splitlines()[0] == (
        "input,output,topic_path,tags,rating,session_id,input_model,output_model,created_at")
    r = env.export(format="hetu_jsonl", session_id="S1")
    assert r.status == 200, r
    lines = [json.loads(x) for x in r.raw.decode().splitlines()]
    assert [x["input"] for x in lines] == env.in_id_order("ab1", "ab2")


def test_errors_before_any_byte(env):
    r = env.export(format="nope")
    assert_error(r, 400, "bad_request", field="format",
                 mentions=["nope", "openai_chat_jsonl", "hetu_jsonl", "csv"])
    assert r.header("Content-Disposition") is None
    assert_error(env.export(), 400, "bad_request", field="format", mentions=["openai_chat_jsonl"])
    assert_error(env.export(format="openai_chat_jsonl", data_strategy="all"), 400, "bad_request",
                 field="data_strategy")
    assert_error(env.export(format="openai_chat_jsonl", compress="zip"), 400, "bad_request",
                 field="compress")
    assert_error(env.export(format="openai_chat_jsonl", rating="9"), 422, "invalid",
                 field="rating")
    assert_error(env.export(format="openai_chat_jsonl", split_name="train"), 400, "bad_request",
                 field="dataset_id")
    r = env.c.get("/api/projects/%s/tasks/999999999999/export?format=csv" % env.pid)
    not_found(r, "task_id", "999999999999")
    r = env.c.get("/api/projects/999999999999/tasks/%s/export?format=csv" % env.tid)
    not_found(r, "project_id", "999999999999")


def not_found(r, field, what):
    """A 404 whose field is `field` and whose detail names the missing id."""
    body = assert_error(r, 404, "not_found", mentions=(what,))
    assert body["field"] == field, body


def test_unknown_dataset_id_404(env):
    r = env.export(format="openai_chat_jsonl", dataset_id="123456789012", split_name="train")
    not_found(r, "dataset_id", "123456789012")


def make_split(env):
    r = env.c.post("/api/finetune/projects/%s/tasks/%s/dataset_splits" % (env.pid, env.tid),
                   {"dataset_split_type": "train_test", "filter_id": "all", "name": "切分 一"})
    assert r.status == 200, r
    return r.json()


def test_split_parts(env):
    split = make_split(env)
    by_id = {v["id"]: k for k, v in env.runs.items()}
    for part in ("train", "test"):
        want = [by_id[i] for i in split["split_contents"][part]]  # the split's own order
        assert env.users(dataset_id=split["id"], split_name=part) == want
    assert sorted(split["split_contents"]["train"] + split["split_contents"]["test"]) == sorted(
        r["id"] for r in env.runs.values())
    r = env.export(format="openai_chat_jsonl", dataset_id=split["id"], split_name="val")
    assert_error(r, 400, "bad_request", field="split_name", mentions=["val"])
    r = env.export(format="openai_chat_jsonl", dataset_id=split["id"])
    assert_error(r, 400, "bad_request", field="split_name")


@pytest.mark.parametrize("prefix", ["/api/finetune", "/api"])
def test_download_dataset_jsonl(env, prefix):
    split = make_split(env)
    by_id = {v["id"]: k for k, v in env.runs.items()}
    q = {"project_id": env.pid, "task_id": env.tid, "dataset_id": split["id"],
         "split_name": "train", "format_type": "openai_chat_jsonl", "data_strategy": "final_only"}
    path = prefix + "/download_dataset_jsonl?"
    r = env.c.get(path + urllib.parse.urlencode(q))
    assert r.status == 200, r
    keys = [by_id[i] for i in split["split_contents"]["train"]]  # as Kiln writes a part
    assert r.raw.decode() == "".join(chat_line(TASK_PROMPT, k, "输出 " + k) for k in keys)
    assert r.header("Content-Type") == "application/jsonl"
    assert r.header("Content-Disposition").startswith(
        'attachment; filename="__ _ -- split-train -- format-openai_chat_jsonl -- no-cot.jsonl"')
    r = env.c.get(path + urllib.parse.urlencode(dict(q, custom_system_message="自定义")))
    assert r.raw.decode() == "".join(chat_line("自定义", k, "输出 " + k) for k in keys)
    r = env.c.get(path + urllib.parse.urlencode(
        dict(q, system_message_generator="short_prompt_builder")))
    assert r.raw.decode() == "".join(chat_line("把句子翻译成英文", k, "输出 " + k) for k in keys)
    r = env.c.get(path + urllib.parse.urlencode(
        dict(q, system_message_generator="few_shot_prompt_builder")))
    assert_error(r, 400, "bad_request", field="system_message_generator")
    r = env.c.get(path + urllib.parse.urlencode(dict(q, format_type="jsonl")))
    assert_error(r, 400, "bad_request", field="format_type", mentions=["jsonl"])
    r = env.c.get(path + urllib.parse.urlencode(dict(q, split_name="val")))
    assert_error(r, 404, "not_found", field="split_name")
    r = env.c.get(path + urllib.parse.urlencode(dict(q, dataset_id="123456789012")))
    not_found(r, "dataset_id", "123456789012")
    for k in q:
        r = env.c.get(path + urllib.parse.urlencode({a: b for a, b in q.items() if a != k}))
        assert_error(r, 422, "invalid", field=k)


# ---- a large export ----

N_LARGE = 20000
ROW = "长" * 300 + " text %d with \"quotes\" and\nnewlines"  # ~1 KB of JSON per line


def export_log_lines(srv):
    out = []
    for line in srv.stderr().splitlines():
        if " export " in " %s " % line or '"msg":"export"' in line or line.startswith("export"):
            out.append(line)
    return out


def log_field(line, key):
    m = re.search(r'\b%s=(\S+)' % key, line)
    return m.group(1) if m else None


def rss(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(key)


def import_large(srv):
    imp = Imp(srv)
    data = "".join(json.dumps({"input": ROW % i, "output": "输出 %d" % i}, ensure_ascii=False) + "\n"
                   for i in range(N_LARGE)).encode("utf-8")
    r = imp.upload("large.jsonl", data)
    assert r.status == 200, r
    j = imp.wait_job(r.json()["job_id"], timeout=300)
    assert (j["status"], j["completed"]) == ("completed", N_LARGE), j
    return imp


def wait_export_lines(srv, n, timeout=30):
    deadline = time.monotonic() + timeout
    while len(export_log_lines(srv)) < n:
        assert time.monotonic() < deadline, srv.describe()
        time.sleep(0.05)
    return export_log_lines(srv)


def test_large_export(start_server, fake_llm):
    large = import_large(start_server(env=fake_env(fake_llm)))
    disconnect_stops_the_cursor(large)
    full_export_reads_every_page_memory_flat(large)
    stopping_cuts_an_export_short(large)


def disconnect_stops_the_cursor(large):
    srv = large.srv
    before = len(export_log_lines(srv))
    s = socket.create_connection((srv.host, srv.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("GET /api/projects/%s/tasks/%s/export?format=openai_chat_jsonl HTTP/1.1\r\n"
               "Host: x\r\n\r\n" % (large.pid, large.tid)).encode())
    got = b""
    while len(got) < 200000:
        chunk = s.recv(65536)
        assert chunk, got[:300]
        got += chunk
    assert got.startswith(b"HTTP/1.1 200")
    s.close()
    line = wait_export_lines(srv, before + 1)[before]
    assert log_field(line, "end") == "client_gone", line
    rows, pages = int(log_field(line, "rows")), int(log_field(line, "pages"))
    # what the socket buffers held when the client left, not the 20,000 rows
    assert rows < N_LARGE // 2 and pages < 20, line
    # the server is still well and a later page is never read for that export
    time.sleep(0.5)
    assert export_log_lines(srv)[before] == line


def full_export_reads_every_page_memory_flat(large):
    srv = large.srv
    before = len(export_log_lines(srv))
    pid = srv.proc.pid
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
    base = rss(pid, "VmRSS")
    r = large.c.get("/api/projects/%s/tasks/%s/export?format=openai_chat_jsonl" % (large.pid,
                                                                                 large.tid))
    assert r.status == 200
    lines = r.raw.decode().splitlines()
    assert len(lines) == N_LARGE and len(r.raw) > 20 * 1024 * 1024
    assert json.loads(lines[12345])["messages"][1]["content"] == ROW % 12345
    line = wait_export_lines(srv, before + 1)[before]
    assert log_field(line, "end") == "complete", line
    assert int(log_field(line, "rows")) == N_LARGE, line
    grew = rss(pid, "VmHWM") - base
    if not os.environ.get("HETU_SANITIZED"):
        # a ~25 MB answer: the server holds a page (about 1 MB), not the answer
        assert grew < 12 * 1024 * 1024, grew


# ---- hetu export ----

def test_cli_export(env, tmp_path):
    from test_cli import EXIT_SERVER, EXIT_USAGE, clean_env, hetu, ok, read_pty
    import pty
    import subprocess
    from hetu_http import hetu_binary

    srv = env.srv
    ids = ["-p", env.pid, "-t", env.tid]
    want = env.export(format="openai_chat_jsonl", topic_path="a").raw
    f = tmp_path / "a.jsonl"
    r = ok(srv, "export", *ids, "-f", "openai_chat_jsonl", "--topic", "a", "-o", f)
    assert f.read_bytes() == want and r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]
    r = ok(srv, "export", *ids, "--format", "openai_chat_jsonl", "--topic", "a")
    assert r.stdout.encode() == want
    r = ok(srv, "export", *ids, "-f", "openai_chat_jsonl", "--session", "S1", "--tag", "golden",
           "--system-message", "系统")
    assert r.stdout == chat_line("系统", "ab2", "输出 ab2")
    g = tmp_path / "a.jsonl.gz"
    ok(srv, "export", *ids, "-f", "openai_chat_jsonl", "--topic", "a", "--gzip", "-o", g)
    assert gzip.decompress(g.read_bytes()) == want
    # a refused export leaves no file, and says why
    bad = tmp_path / "bad.jsonl"
    r = hetu(srv, "export", *ids, "-f", "nope", "-o", bad)
    assert r.returncode == EXIT_SERVER and "openai_chat_jsonl" in r.stderr, r.stderr
    assert not bad.exists() and not (tmp_path / "bad.jsonl.part").exists()
    r = hetu(srv, "export", *ids)
    assert r.returncode == EXIT_USAGE and "--format" in r.stderr
    # a terminal gets a bar of bytes and lines
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(hetu_binary()), "export", *ids, "-f", "openai_chat_jsonl",
                             "-o", str(tmp_path / "t.jsonl")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave,
                            env=clean_env(HETU_URL=srv.base_url))
    os.close(slave)
    raw = read_pty(master, proc)
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0, raw
    frames = [x for x in raw.decode().replace("\r\n", "\n").split("\r") if x.strip()]
    assert re.match(r"export %d lines \[-+\] [\d.]+ (KiB|B)" % len(ALL), frames[-1]), frames


def stopping_cuts_an_export_short(large):
    """A server that stops mid-export ends the answer without its last chunk: the client sees a
    broken download, never a complete-looking short file."""
    srv = large.srv
    s = socket.create_connection((srv.host, srv.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("GET /api/projects/%s/tasks/%s/export?format=openai_chat_jsonl HTTP/1.1\r\n"
               "Host: x\r\n\r\n" % (large.pid, large.tid)).encode())
    got = s.recv(65536)
    assert got.startswith(b"HTTP/1.1 200") and b"chunked" in got.split(b"\r\n\r\n")[0].lower()
    srv.send_signal(signal.SIGTERM)
    s.settimeout(30)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    s.close()
    assert len(got) < 20 * 1024 * 1024 and not got.endswith(b"\r\n0\r\n\r\n"), got[-100:]
    assert srv.wait() == 0


def hetu_lines(c, pid, tid):
    r = c.get("/api/projects/%s/tasks/%s/export?format=hetu_jsonl" % (pid, tid))
    assert r.status == 200, r
    return [json.loads(x) for x in r.raw.decode().splitlines()]


def test_hetu_jsonl_export_import_export_round_trip(env):
    from test_import import Imp
    first = hetu_lines(env.c, env.pid, env.tid)
    assert len(first) == len(ALL)
    imp = Imp(env.srv)
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in first).encode("utf-8")
    r = imp.upload("export.jsonl", data)
    assert r.status == 200 and r.json()["status"] == "import_completed", r
    again = hetu_lines(imp.c, imp.pid, imp.tid)
    own = ("id", "created_at", "created_by")
    assert [{k: v for k, v in x.items() if k not in own} for x in again] == \
        [{k: v for k, v in x.items() if k not in own} for x in first]
    assert {x["id"] for x in again}.isdisjoint({x["id"] for x in first})  # new samples there
    by_input = {x["input"]: x for x in first}
    assert by_input[ZH]["rating"]["value"] == 5.0 and by_input[ZH]["tags"] == ["synthetic", "golden"]
    assert by_input["ab1"]["session_id"] == "S1" and by_input["abc"]["topic_path"] == ["a", "b", "c"]


def test_llamafactory_entry_names_the_file(env):
    r = env.export(format="sharegpt", llamafactory="true")
    assert r.status == 200, r
    assert r.json() == {"翻译": {
        "file_name": "翻译.sharegpt.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                 "assistant_tag": "gpt", "system_tag": "system"}}}
    r = env.export(format="alpaca", llamafactory="true", compress="gzip")
    assert r.json()["翻译"]["file_name"] == "翻译.alpaca.jsonl.gz"
    assert_error(env.export(format="csv", llamafactory="true"), 400, "bad_request", field="format")
    assert_error(env.export(format="sharegpt", llamafactory="yes"), 400, "bad_request",
                 field="llamafactory")
