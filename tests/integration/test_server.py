# SPDX-License-Identifier: MIT
"""The server as a process: routing errors, body limits, keep-alive, health, concurrency,
persistence across restarts, shutdown on signals, logging, and configuration precedence."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import testdb
from hetu_http import (PROJECT_KEYS, SANITIZER_MARKS, assert_error, assert_id, free_port,
                       hetu_binary)


# ---------------------------------------------------------------- health and routing errors

def test_healthz(client):
    r = client.get("/healthz")
    assert r.status == 200, r
    assert "json" in r.header("Content-Type")
    body = r.json()
    assert body["status"] == "ok"
    assert isinstance(body["store"], dict) and body["store"], body


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/projects/123456789012/nope",
                                  "/api/projects/123456789012/tasks/123456789012/extra",
                                  "/api/project/123456789012", "/healthz/x"])
def test_unknown_path_is_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/projects", {"GET"}),
    ("PUT", "/api/projects/123456789012", {"GET", "PATCH", "DELETE"}),
    ("POST", "/api/projects/123456789012", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/project", {"POST"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/api/projects/123456789012/tasks", {"GET"}),
])
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    body = {"name": "x"} if method in ("POST", "PUT") else None
    r = client.request(method, path, body=body)
    assert_error(r, 405, "method_not_allowed")
    allow = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
    assert allowed <= allow, allow
    assert method not in allow


# ---------------------------------------------------------------- body limit

BIG = {"name": "big", "description": "d" * 1100}
SMALL = {"name": "small", "description": "d" * 900}


def _check_limit(srv):
    c = srv.client
    assert len(json.dumps(SMALL)) < 1024 < len(json.dumps(BIG))
    assert c.post("/api/project", SMALL).status == 200
    assert_error(c.post("/api/project", BIG), 413, "too_large")
    names = [p["name"] for p in c.ok("GET", "/api/projects")["projects"]]
    assert names == ["small"]


def test_body_limit_flag(start_server):
    _check_limit(start_server(args=["--max-body-size", "1024"]))


def test_body_limit_env(start_server):
    _check_limit(start_server(env={"HETU_MAX_BODY_SIZE": "1024"}))


def test_body_limit_chunked(start_server):
    srv = start_server(args=["--max-body-size", "1024"])
    data = json.dumps(BIG).encode()
    conn = srv.client.connection()
    try:
        conn.request("POST", "/api/project", body=iter([data[:600], data[600:]]), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        r = conn.getresponse()
        raw = r.read()
    finally:
        conn.close()
    assert r.status == 413, raw
    assert json.loads(raw)["detail"]
    # a chunked body under the limit is read whole
    conn = srv.client.connection()
    try:
        data = json.dumps(SMALL).encode()
        conn.request("POST", "/api/project", body=iter([data[:10], data[10:]]), encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        r = conn.getresponse()
        raw = r.read()
    finally:
        conn.close()
    assert r.status == 200, raw
    assert json.loads(raw)["description"] == SMALL["description"]


def test_default_body_limit_allows_large_bodies(client):
    # far above any small fixed buffer (descriptions are capped at 10,000 characters)
    desc = "长描述" * 3300
    r = client.post("/api/project", {"name": "large body", "description": desc})
    assert r.status == 200, r
    assert client.ok("GET", "/api/projects/" + r.json()["id"])["description"] == desc


# ---------------------------------------------------------------- keep-alive

def test_keep_alive_reuses_connection(client):
    conn = client.connection()
    try:
        conn.request("GET", "/api/projects")
        r1 = conn.getresponse()
        r1.read()
        assert r1.status == 200
        assert (r1.getheader("Connection") or "").lower() != "close"
        sock = conn.sock
        assert sock is not None, "client closed the connection: the server asked it to"
        local = sock.getsockname()
        body = json.dumps({"name": "keep-alive"}).encode()
        conn.request("POST", "/api/project", body=body, headers={"Content-Type": "application/json"})
        r2 = conn.getresponse()
        raw = r2.read()
        assert r2.status == 200, raw
        assert (r2.getheader("Connection") or "").lower() != "close"
        assert conn.sock is sock and sock.getsockname() == local
        pid = json.loads(raw)["id"]
        conn.request("GET", "/api/projects/" + pid)
        r3 = conn.getresponse()
        assert r3.status == 200 and json.loads(r3.read())["id"] == pid
        assert conn.sock is sock
    finally:
        conn.close()


def test_keep_alive_survives_error_answers(client):
    conn = client.connection()
    try:
        conn.request("GET", "/api/projects/999999999999")
        r = conn.getresponse()
        r.read()
        assert r.status == 404
        sock = conn.sock
        assert sock is not None
        conn.request("POST", "/api/project", body=b'{"name": 5}', headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 422
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        assert conn.sock is sock
    finally:
        conn.close()


# ---------------------------------------------------------------- concurrency

def test_concurrent_creates_get_unique_ids(client):
    def work(i):
        out = []
        for j in range(5):
            r = client.post("/api/project", {"name": "并发 %d-%d" % (i, j)})
            assert r.status == 200, r
            out.append(r.json())
        return out

    with ThreadPoolExecutor(32) as ex:
        made = [p for batch in ex.map(work, range(32)) for p in batch]
    ids = [p["id"] for p in made]
    assert len(ids) == 160 and len(set(ids)) == 160
    for i in ids:
        assert_id(i)
    listed = {p["id"]: p for p in client.ok("GET", "/api/projects")["projects"]}
    for p in made:
        assert listed[p["id"]] == p


# ---------------------------------------------------------------- persistence

def _populate(c):
    projects = []
    for i in range(3):
        p = c.new_project(name="持久化项目 %d" % i, description="描述 %d" % i)
        for k in range(2):
            c.new_task(p["id"], name="任务 %d.%d" % (i, k), instruction="指令 %d" % k,
                       description="任务描述",
                       requirements=[{"name": "要求", "instruction": "要清楚", "priority": k}],
                       output_json_schema=json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}),
                       thinking_instruction="思考")
        projects.append(p)
    c.ok("PATCH", "/api/projects/" + projects[0]["id"], {"name": "改过的名字"})
    t = c.ok("GET", "/api/projects/%s/tasks" % projects[1]["id"])
    c.ok("PATCH", "/api/projects/%s/task/%s" % (projects[1]["id"], t[0]["id"]), {"instruction": "新指令"})
    c.ok("DELETE", "/api/projects/%s/task/%s" % (projects[1]["id"], t[1]["id"]))
    c.ok("DELETE", "/api/projects/" + projects[2]["id"])


def _snapshot(c):
    r = c.get("/api/projects")
    assert r.status == 200
    projects = r.json()["projects"]
    tasks = {}
    for p in projects:
        tr = c.get("/api/projects/%s/tasks" % p["id"])
        assert tr.status == 200
        tasks[p["id"]] = tr.raw
    return r.raw, tasks


def test_restart_keeps_projects_and_tasks(start_server, tmp_path):
    a = start_server()
    _populate(a.client)
    before = _snapshot(a.client)
    a.assert_clean_exit()
    if not testdb.ON_POSTGRESQL:
        assert Path(a.db).exists()
    b = start_server(db=a.db if testdb.ON_POSTGRESQL else "sqlite:" + a.db)
    after = _snapshot(b.client)
    assert json.loads(after[0]) == json.loads(before[0])
    assert after[0] == before[0]  # byte for byte, order included
    assert after[1] == before[1]
    assert len(json.loads(after[0])["projects"]) == 2
    # ids issued after a restart never collide with earlier ones
    old = {p["id"] for p in json.loads(before[0])["projects"]}
    for raw in before[1].values():
        old |= {t["id"] for t in json.loads(raw)}
    fresh = b.client.new_project(name="after restart")
    assert fresh["id"] not in old
    t = b.client.new_task(fresh["id"])
    assert t["id"] not in old


@pytest.mark.skipif(testdb.ON_POSTGRESQL, reason="where the default SQLite file goes: the same "
                    "on both passes")
def test_default_db_path(start_server, tmp_path):
    srv = start_server(db="", cwd=str(tmp_path))
    srv.client.new_project(name="default db")
    srv.assert_clean_exit()
    assert (tmp_path / "hetu-data" / "hetu.db").is_file()


@pytest.mark.skipif(testdb.ON_POSTGRESQL, reason="a SQLite file named by HETU_DB: the same on "
                    "both passes")
def test_db_from_env(start_server, tmp_path):
    db = tmp_path / "envdir" / "env.db"
    db.parent.mkdir()
    srv = start_server(db="", env={"HETU_DB": str(db)}, cwd=str(tmp_path))
    p = srv.client.new_project(name="env db")
    srv.assert_clean_exit()
    assert db.is_file()
    assert not (tmp_path / "hetu-data").exists()
    srv2 = start_server(db=str(db))
    assert srv2.client.ok("GET", "/api/projects/" + p["id"]) == p


# ---------------------------------------------------------------- shutdown

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_cleanly(start_server, sig):
    srv = start_server()
    srv.client.new_project()
    srv.assert_clean_exit(sig)


def test_idle_keep_alive_connection_does_not_hold_shutdown(start_server):
    srv = start_server()
    conn = srv.client.connection()
    try:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        t0 = time.monotonic()
        srv.assert_clean_exit()
        assert time.monotonic() - t0 < 5, "an idle keep-alive connection delayed shutdown"
    finally:
        conn.close()


def test_in_flight_request_finishes_after_sigterm(start_server, tmp_path):
    srv = start_server()
    body = json.dumps({"name": "在途请求", "description": "x" * 200}, ensure_ascii=False).encode()
    head = ("POST /api/project HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    try:
        s.sendall(head + body[:50])
        time.sleep(0.3)
        srv.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert srv.running(), "server exited with a request in flight\n" + srv.describe()
        # no new request is served once shutdown began
        try:
            probe = socket.create_connection((srv.host, srv.port), timeout=1)
        except OSError:
            pass
        else:
            with probe:
                probe.settimeout(1)
                try:
                    probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    got = probe.recv(100)
                except OSError:
                    got = b""
                assert not got.startswith(b"HTTP/1.1 200"), "a new request was served during shutdown"
        s.sendall(body[50:])
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        status_line = data.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 200"), data[:500]
        rest = data.split(b"\r\n\r\n", 1)[1]
        # read to the end of the body (the server may close after it)
        hdrs = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
        m = re.search(r"content-length: *(\d+)", hdrs)
        if m:
            while len(rest) < int(m.group(1)):
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            assert json.loads(rest[: int(m.group(1))])["name"] == "在途请求"
    finally:
        s.close()
    assert srv.wait(timeout=10) == 0, srv.describe()
    assert not srv.sanitizer_report(), srv.describe()
    again = start_server(db=srv.db)
    names = [p["name"] for p in again.client.ok("GET", "/api/projects")["projects"]]
    assert names == ["在途请求"]


# ---------------------------------------------------------------- logging

TEXT_LINE = re.compile(r'^(\S+) (debug|info|warn|error) (\S+)((?: [\w.]+=(?:"(?:[^"\\]|\\.)*"|\S*))*)$')
TEXT_PAIR = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _exercise(srv):
    c = srv.client
    c.get("/api/projects")
    c.get("/api/no/such/path")
    c.post("/api/project", {"name": "log me"})


def _request_lines_text(text):
    out = []
    for line in text.splitlines():
        m = TEXT_LINE.match(line)
        if m and m.group(3) == "request":
            fields = {k: (json.loads(v) if v.startswith('"') else v)
                      for k, v in TEXT_PAIR.findall(m.group(4))}
            out.append((m.group(1), m.group(2), fields))
    return out


def _request_records_json(text):
    return [r for r in (json.loads(line) for line in text.splitlines() if line.strip())
            if r.get("msg") == "request"]


def test_text_request_log(start_server):
    srv = start_server()
    _exercise(srv)
    srv.assert_clean_exit()
    lines = _request_lines_text(srv.stderr())
    assert lines, "no request lines in stderr:\n" + srv.stderr()
    seen = {(f.get("method"), f.get("path"), f.get("status")) for _, _, f in lines}
    assert ("GET", "/api/projects", "200") in seen, lines
    assert ("GET", "/api/no/such/path", "404") in seen, lines
    assert ("POST", "/api/project", "200") in seen, lines
    for ts, level, f in lines:
        datetime.fromisoformat(ts)
        assert level == "info"
        assert float(f["duration_ms"]) >= 0


def test_json_request_log(start_server):
    srv = start_server(args=["--log-format", "json"])
    _exercise(srv)
    srv.assert_clean_exit()
    text = srv.stderr()
    for line in text.splitlines():
        if line.strip():
            json.loads(line)  # every line is a JSON object
    recs = _request_records_json(text)
    assert recs, text
    for r in recs:
        assert {"ts", "level", "msg", "method", "path", "status", "duration_ms"} <= set(r)
        assert list(r)[:3] == ["ts", "level", "msg"]
        datetime.fromisoformat(r["ts"])
        assert r["level"] == "info"
        assert float(r["duration_ms"]) >= 0
    seen = {(r["method"], r["path"], int(r["status"])) for r in recs}
    assert ("GET", "/api/no/such/path", 404) in seen and ("POST", "/api/project", 200) in seen


def _request_logged(srv):
    _exercise(srv)
    srv.assert_clean_exit()
    text = srv.stderr()
    return bool(_request_lines_text(text)) or "\"msg\":\"request\"" in text


def _config(tmp_path, **cfg):
    path = tmp_path / ("config-%d.json" % len(list(tmp_path.glob("config-*.json"))))
    path.write_text(json.dumps(cfg))
    return str(path)


def test_log_level_flag_warn_silences_requests(start_server):
    assert not _request_logged(start_server(args=["--log-level", "warn"]))


def test_log_level_env(start_server):
    assert not _request_logged(start_server(env={"HETU_LOG_LEVEL": "warn"}))


def test_log_level_flag_beats_env(start_server):
    assert _request_logged(start_server(args=["--log-level", "info"], env={"HETU_LOG_LEVEL": "error"}))


def test_log_level_config_and_env_beats_config(start_server, tmp_path):
    cfg = _config(tmp_path, log_level="warn")
    assert not _request_logged(start_server(args=["--config", cfg]))
    assert _request_logged(start_server(args=["--config", cfg], env={"HETU_LOG_LEVEL": "info"}))
    assert not _request_logged(start_server(env={"HETU_CONFIG": cfg}))


def test_log_format_config_env_flag(start_server, tmp_path):
    cfg = _config(tmp_path, log_format="json")
    srv = start_server(args=["--config", cfg])
    _exercise(srv)
    srv.assert_clean_exit()
    assert _request_records_json(srv.stderr())
    srv = start_server(args=["--config", cfg], env={"HETU_LOG_FORMAT": "text"})
    _exercise(srv)
    srv.assert_clean_exit()
    assert _request_lines_text(srv.stderr())
    srv = start_server(args=["--log-format", "json"], env={"HETU_LOG_FORMAT": "text"})
    _exercise(srv)
    srv.assert_clean_exit()
    assert _request_records_json(srv.stderr())


def test_port_and_body_limit_from_config_env_flag(start_server, tmp_path):
    p1, p2 = free_port(), free_port()
    db = str(tmp_path / "cfg.db")
    cfg = _config(tmp_path, host="127.0.0.1", port=p1, db=db, max_body_size=1024)
    srv = start_server(args=["--config", cfg], db="", port_args=False)
    assert srv.port == p1
    assert_error(srv.client.post("/api/project", BIG), 413, "too_large")
    srv.client.new_project(name="cfg")
    srv.assert_clean_exit()
    assert os.path.isfile(db)
    srv = start_server(args=["--config", cfg], db="", port_args=False,
                       env={"HETU_PORT": str(p2), "HETU_MAX_BODY_SIZE": "100000"})
    assert srv.port == p2
    assert srv.client.post("/api/project", BIG).status == 200
    assert len(srv.client.ok("GET", "/api/projects")["projects"]) == 2  # same db from the config
    srv.assert_clean_exit()
    srv = start_server(args=["--config", cfg, "--port", "0", "--host", "127.0.0.1"], db="",
                       port_args=False, env={"HETU_PORT": str(p2)})
    assert srv.port not in (p1, p2)


def test_threads_option(start_server):
    srv = start_server(args=["--threads", "1"])
    assert srv.client.get("/healthz").status == 200
    srv = start_server(env={"HETU_THREADS": "4"})
    assert srv.client.get("/healthz").status == 200


# ---------------------------------------------------------------- command line

def _run(args, timeout=15, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HETU_")}
    return subprocess.run([str(hetu_binary())] + args, capture_output=True, timeout=timeout,
                          cwd=cwd, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help(hetu_bin, args):
    p = _run(args)
    assert p.returncode == 0, p
    out = (p.stdout + p.stderr).decode()
    if args == ["serve", "--help"]:
        for opt in ("--host", "--port", "--db", "--config", "--log-level", "--log-format",
                    "--max-body-size", "--threads"):
            assert opt in out, "%s missing from serve --help:\n%s" % (opt, out)
    else:
        assert "serve" in out


@pytest.mark.parametrize("args", [
    ["serve", "--port", "notaport"],
    ["serve", "--port", "70000"],
    ["serve", "--log-level", "loud"],
    ["serve", "--log-format", "xml"],
    ["serve", "--max-body-size", "-5"],
    ["serve", "--no-such-flag"],
    ["serve", "--config", "/nonexistent/hetu.json"],
    ["no-such-command"],
])
def test_bad_command_line_fails(hetu_bin, tmp_path, args):
    p = _run(args + (["--db", str(tmp_path / "x.db")] if args[0] == "serve" else []), cwd=str(tmp_path))
    assert p.returncode != 0, p
    err = p.stderr.decode()
    assert err.strip(), "no message on stderr"
    assert not any(m in err for m in SANITIZER_MARKS), err


def test_bad_config_file_fails(hetu_bin, tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"port": "eighty",\n')
    p = _run(["serve", "--config", str(cfg), "--db", str(tmp_path / "x.db")], cwd=str(tmp_path))
    assert p.returncode != 0, p
    assert p.stderr.decode().strip()


def test_project_shape_through_client_lib_headers(client):
    # what the gateway's client sends: JSON content type, a Bearer header, requests' user agent
    r = client.post("/api/project", {"name": "from client"},
                    headers={"Authorization": "Bearer test-key", "User-Agent": "python-requests/2.31.0",
                             "Accept": "*/*", "Accept-Encoding": "gzip, deflate"})
    assert r.status == 200, r
    assert list(r.json().keys()) == PROJECT_KEYS
