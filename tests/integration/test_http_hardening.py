# SPDX-License-Identifier: MIT
"""HTTP tricks a hostile or careless client plays, spoken in raw bytes where a client library
would hide them: request smuggling shapes, encoded NULs in paths, over-long heads, a client that
writes its whole too-large body before reading, and stalled uploads that would hold the server's
descriptors and threads."""

import http.client
import json
import os
import socket
import time
import uuid

import pytest


def exchange(srv, raw, timeout=10):
    """Sends raw bytes, reads until the server closes; returns (status, headers, body)."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as sock:
        sock.sendall(raw)
        with sock.makefile("rb") as f:
            return parse(f.read())


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def assert_json_error(result, status, code):
    got, headers, body = result
    assert got == status, result
    assert headers["content-type"] == "application/json", result
    assert json.loads(body)["code"] == code, result
    return json.loads(body)


def project_count(srv):
    return len(srv.client.ok("GET", "/api/projects")["projects"])


# ---- request smuggling shapes (RFC 9112 §6.3) ----

BODY = b'{"name": "smuggled", "description": ""}'


@pytest.mark.parametrize("framing,detail", [
    pytest.param(b"Content-Length: %d\r\nContent-Length: 5\r\n" % len(BODY),
                 "the request has differing Content-Length headers", id="two-lengths"),
    pytest.param(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(BODY),
                 "the request has both Content-Length and Transfer-Encoding",
                 id="length-and-chunked"),
    pytest.param(b"Transfer-Encoding: gzip, chunked\r\n",
                 "the only Transfer-Encoding taken is chunked, sent once", id="gzip-chunked"),
    pytest.param(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                 "the only Transfer-Encoding taken is chunked, sent once", id="chunked-twice"),
])
def test_smuggling_shapes_are_400_and_close(server, framing, detail):
    before = project_count(server)
    body = BODY
    if b"chunked" in framing:
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    # no Connection: close: the server must close by itself (exchange reads until it does)
    raw = (b"POST /api/project HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           + framing + b"\r\n" + body)
    result = exchange(server, raw)
    assert assert_json_error(result, 400, "bad_request")["detail"] == detail
    assert result[1]["connection"] == "close"
    assert project_count(server) == before


# ---- percent-encoding in paths ----

@pytest.mark.parametrize("tail", ["%00", "%zz", "%4", "%0"])
def test_bad_percent_escape_in_path_is_400(server, tail):
    pid = server.client.new_project()["id"]
    for path in ("/healthz" + tail, "/api/projects/%s%s" % (pid, tail)):
        raw = b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()
        detail = assert_json_error(exchange(server, raw), 400, "bad_request")["detail"]
        assert "percent-escape" in detail, detail
    # the same paths, well formed, still answer
    raw = b"GET /api/projects/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % pid.encode()
    assert exchange(server, raw)[0] == 200


# ---- over-long heads: answered by the router, in JSON ----

def test_request_line_over_8k_is_json_414(server):
    path = b"/api/projects/" + b"a" * (9 * 1024)
    raw = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path
    detail = assert_json_error(exchange(server, raw), 414, "uri_too_long")["detail"]
    assert "the limit is 8192 bytes" in detail


@pytest.mark.parametrize("size", [40 * 1024, 60 * 1024])
def test_headers_over_32k_are_json_431(server, size):
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % (b"v" * size)
    detail = assert_json_error(exchange(server, raw), 431, "headers_too_large")["detail"]
    assert "the limit is 32768 bytes" in detail


def test_headers_under_32k_are_served(server):
    raw = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: %s\r\n\r\n"
           % (b"v" * (30 * 1024)))
    assert exchange(server, raw)[0] == 200


# ---- a too-large body written whole before the answer is read ----

LIMIT = 4 << 20


def multipart(filename, data):
    boundary = "hetu-" + uuid.uuid4().hex
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n' % (boundary, filename))
    body = head.encode() + data + ("\r\n--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=%s" % boundary


@pytest.fixture
def small_limits(start_server):
    return start_server(args=["--max-body-size", str(LIMIT), "--max-upload-size", str(LIMIT)])


def new_task(srv):
    pid = srv.client.new_project()["id"]
    tid = srv.client.new_task(pid)["id"]
    return "/api/dataset/projects/%s/tasks/%s/import_samples_from_file" % (pid, tid)


def test_client_writing_twice_the_limit_reads_the_413(small_limits):
    """http.client writes the whole body before it reads: it must get the 413, not a reset."""
    srv = small_limits
    body = json.dumps({"name": "big", "description": "d" * (2 * LIMIT)}).encode()
    upload, ctype = multipart("big.csv", b"input,output\n" + b"a,b\n" * (2 * LIMIT // 4))
    task_path = new_task(srv)
    for path, data, ctype in (("/api/project", body, "application/json"),
                              (task_path, upload, ctype)):
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": ctype})
            r = conn.getresponse()
            out = json.loads(r.read())
        finally:
            conn.close()
        assert r.status == 413, out
        assert out["code"] == "too_large"
        assert out["detail"] == ("request body too large: %d bytes, the limit is %d bytes"
                                 % (len(data), LIMIT))
        assert r.getheader("Connection") == "close"
    assert project_count(srv) == 1  # the task's project, and no other


# ---- stalled uploads ----

def test_an_upload_past_the_drop_bound_within_its_limit_is_imported(server):
    """The 413 drop bound (64 MiB) limits what is read past the limit, not the upload: a 70 MB
    file under the default 1 GiB limit is imported whole (it was cut off at 64 MiB)."""
    rows = 70
    data = b"input,output\n" + b"".join(b"%d %s,ok\n" % (i, b"x" * 999_000)
                                        for i in range(rows))
    assert len(data) > 64 << 20
    upload, ctype = multipart("big.csv", data)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=300)
    try:
        conn.request("POST", new_task(server), body=upload, headers={"Content-Type": ctype})
        r = conn.getresponse()
        out = json.loads(r.read())
    finally:
        conn.close()
    assert r.status == 200, out
    assert (out["status"], out["sample_count"]) == ("import_completed", rows), out


def stall_upload(srv, path, sent, declared=500 << 20):
    """Opens an upload declaring `declared` bytes and sends `sent` of them; returns the socket."""
    body, ctype = multipart("stall.jsonl", b'{"input": "x"}\n' * (sent // 15 + 1))
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                 % (path.encode(), ctype.encode(), declared) + body[:sent])
    return sock


def threads_of(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        return int(next(line for line in f if line.startswith("Threads:")).split()[1])


def healthz_ms(srv):
    """The fastest of five /healthz calls, in ms: a blocked server is slow at every one, a busy
    test machine only at some."""
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    times = []
    for _ in range(5):
        t = time.monotonic()
        assert exchange(srv, raw, timeout=5)[0] == 200
        times.append((time.monotonic() - t) * 1000)
    return min(times)


def test_stalled_uploads_are_capped_and_cost_no_thread(start_server, tmp_path):
    """50 uploads that sent 1 MiB and stalled: each holds no thread of its own, /healthz answers
    at once, and the 51st upload is turned away with 503 and Retry-After."""
    srv = start_server(args=["--max-uploads", "50", "--spool-dir", str(tmp_path / "spool")])
    path = new_task(srv)
    threads = threads_of(srv)
    socks = [stall_upload(srv, path, 1 << 20) for _ in range(50)]
    try:
        deadline = time.monotonic() + 10
        while len([p for p in os.listdir(tmp_path / "spool") if p.startswith("upload-")]) < 50:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)  # the batches of 1 MiB each have been read
        assert threads_of(srv) <= threads + 1
        assert healthz_ms(srv) < 1000  # blocked, it would wait for the stalled uploads (5 s timeout)
        raw = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
               b"Content-Length: 1000\r\n\r\n" % path.encode())
        result = exchange(srv, raw)
        assert_json_error(result, 503, "unavailable")
        assert result[1]["retry-after"] == "5"
    finally:
        for s in socks:
            s.close()


def assert_idle_upload_dropped(sock, spool):
    """Once the stalled upload on sock has its spool file, the server (--upload-idle-timeout 1)
    closes the connection after about a second and removes the file."""
    deadline = time.monotonic() + 5
    while not [p for p in os.listdir(spool) if p.startswith("upload-")]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    sock.settimeout(10)
    try:
        assert sock.recv(65536) == b""  # the server closed the connection
    except ConnectionResetError:
        pass
    assert 0.8 < time.monotonic() - started < 3
    deadline = time.monotonic() + 2
    while [p for p in os.listdir(spool) if p.startswith("upload-")]:
        assert time.monotonic() < deadline, os.listdir(spool)
        time.sleep(0.05)


def test_an_upload_that_sends_nothing_is_dropped_with_its_spool_file(start_server, tmp_path):
    spool = tmp_path / "spool"
    srv = start_server(args=["--upload-idle-timeout", "1", "--spool-dir", str(spool)])
    path = new_task(srv)
    sock = stall_upload(srv, path, 1024)
    try:
        assert_idle_upload_dropped(sock, spool)
    finally:
        sock.close()
    assert healthz_ms(srv) < 1000  # blocked, it would wait for the stalled uploads (5 s timeout)
