# SPDX-License-Identifier: MIT
"""Small helpers for driving a real hetu server over HTTP: start/stop the process, and a client
built on http.client that keeps the raw response bytes so tests can check the exact wire form."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import testdb

REPO = Path(__file__).resolve().parents[2]
LISTEN_RE = re.compile(r"hetu: listening on https?://([0-9.]+):(\d+)")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer",
                   "ThreadSanitizer")
START_TIMEOUT = float(os.environ.get("HETU_TEST_START_TIMEOUT", "20"))
STOP_TIMEOUT = float(os.environ.get("HETU_TEST_STOP_TIMEOUT", "20"))


def hetu_binary():
    return Path(os.environ.get("HETU_BIN", str(REPO / "build" / "hetu"))).resolve()


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.raw = raw

    def json(self):
        return json.loads(self.raw.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.raw[:300])


def encode_body(body):
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class Client:
    """One request per connection unless used through connection()."""

    def __init__(self, host, port, timeout=10.0):
        self.host = host
        self.port = port
        self.timeout = timeout

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        data = encode_body(body)
        hdrs = {}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        own = conn is None
        c = self.connection() if own else conn
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            return Response(r.status, r.headers, raw)
        finally:
            if own:
                c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # shortcuts asserting success
    def ok(self, method, path, body=None):
        r = self.request(method, path, body=body)
        assert r.status == 200, "%s %s -> %d %r" % (method, path, r.status, r.raw[:500])
        return r.json()

    def new_project(self, name="项目 project", description="描述 description"):
        body = {"name": name}
        if description is not None:
            body["description"] = description
        return self.ok("POST", "/api/project", body)

    def new_task(self, project_id, name="任务 task", instruction="把句子翻译成英文", **extra):
        body = {"name": name, "instruction": instruction}
        body.update(extra)
        return self.ok("POST", "/api/projects/%s/task" % project_id, body)


class Server:
    """A hetu server process. stdout and stderr go to files in workdir. Its database: db (a path
    or URL, "" for hetu's default), else a new empty one on the suite's backend (testdb)."""

    def __init__(self, workdir, args=None, env=None, db=None, cwd=None, binary=None, port_args=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = Path(binary) if binary else hetu_binary()
        self.own_db = db is None  # made for this server: dropped when its test is done
        self.db = db if db is not None else testdb.new_database(self.workdir)
        self.extra_args = list(args or [])
        self.env_extra = dict(env or {})
        self.cwd = cwd
        self.port_args = port_args
        self.proc = None
        self.host = None
        self.port = None
        n = 0
        while (self.workdir / ("server%d.err" % n)).exists():
            n += 1
        self.out_path = self.workdir / ("server%d.out" % n)
        self.err_path = self.workdir / ("server%d.err" % n)
        self.returncode = None

    def command(self):
        cmd = [str(self.binary), "serve"]
        if self.port_args:
            cmd += ["--host", "127.0.0.1", "--port", "0"]
        if self.db:
            cmd += ["--db", self.db]
        return cmd + testdb.server_args(self.db, self.extra_args, self.env_extra) + self.extra_args

    def start(self):
        if not self.binary.exists():
            raise AssertionError("hetu binary not found at %s (build it, or set HETU_BIN)" % self.binary)
        env = dict(os.environ)
        for k in list(env):
            if (k.startswith("HETU_") and k not in ("HETU_BIN",)) or k in ("HOST", "PORT"):
                del env[k]  # HOST and PORT: the gateway's variables, which hetu serve reads too
        env.update(self.env_extra)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.cwd)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.out_path.read_text("utf-8", "replace"))
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                self._close_files()
                raise AssertionError("hetu exited with %d before listening\n%s"
                                     % (self.proc.returncode, self.describe()))
            time.sleep(0.01)
        self.proc.kill()
        self.proc.wait()
        self._close_files()
        raise AssertionError("hetu did not print its listening line in %.0f s\n%s"
                             % (START_TIMEOUT, self.describe()))

    @property
    def client(self):
        return Client(self.host, self.port)

    @property
    def base_url(self):
        return "http://%s:%d" % (self.host, self.port)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        finally:
            self._close_files()
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signals the server and waits for it; returns the exit code (kills it on timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._close_files()
                raise AssertionError("hetu did not exit within %.0f s of signal %d\n%s"
                                     % (timeout, sig, self.describe()))
        self.returncode = self.proc.returncode
        self._close_files()
        return self.returncode

    def _close_files(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f and not f.closed:
                f.close()

    def stderr(self):
        try:
            return self.err_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def sanitizer_report(self):
        text = self.stderr()
        return [m for m in SANITIZER_MARKS if m in text]

    def describe(self, tail=8000):
        text = self.stderr()
        if len(text) > tail:
            text = "...\n" + text[-tail:]
        return "command: %s\n--- hetu stderr (%s) ---\n%s" % (" ".join(self.command()), self.err_path, text)

    def assert_clean_exit(self, sig=signal.SIGTERM):
        code = self.stop(sig)
        marks = self.sanitizer_report()
        assert code == 0 and not marks, "hetu exit code %r, sanitizer marks %r\n%s" % (
            code, marks, self.describe())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- assertions shared by the test modules ----

ID_RE = re.compile(r"^[1-9][0-9]{11}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
PROJECT_KEYS = ["v", "id", "path", "created_at", "created_by", "name", "description", "model_type"]
TASK_KEYS = ["v", "id", "path", "created_at", "created_by", "name", "description", "instruction",
             "requirements", "output_json_schema", "input_json_schema", "thinking_instruction",
             "model_type"]
REQUIREMENT_KEYS = ["id", "name", "description", "instruction", "priority", "type"]


def assert_id(value):
    assert isinstance(value, str) and ID_RE.match(value), "bad id %r" % (value,)


def assert_timestamp(value, near=None, slack=600):
    from datetime import datetime, timedelta
    assert isinstance(value, str) and TS_RE.match(value), "bad timestamp %r" % (value,)
    t = datetime.fromisoformat(value)
    assert t.utcoffset() == timedelta(0)
    if near is not None:
        assert abs((t - near).total_seconds()) < slack, "timestamp %s far from %s" % (value, near)
    return t


def error_codes():
    """{slug: HTTP status} read from the server's one error table, src/util/err.h."""
    text = (REPO / "src" / "util" / "err.h").read_text("utf-8")
    codes = {slug: int(status) for status, slug in re.findall(r'X\(\w+, (\d+), "(\w+)"', text)}
    assert "not_found" in codes and codes["invalid"] == 422, "error table not found in err.h"
    return codes


ERROR_CODES = error_codes()


def assert_error(r, status, code, field=None, mentions=()):
    """A failure answer: the status, a JSON object with a one-line `detail`, the error `code` (a
    slug of the server's error table, which must answer with `status`), `field` when given (exact
    match), and each string of `mentions` inside `detail`."""
    assert ERROR_CODES.get(code) == status, "code %r does not answer with %r" % (code, status)
    assert r.status == status, "expected %d, got %d: %r" % (status, r.status, r.raw[:500])
    ctype = r.header("Content-Type") or ""
    assert "json" in ctype.lower(), "error without a JSON content type: %r" % ctype
    body = r.json()
    assert isinstance(body, dict), body
    detail = body.get("detail")
    assert isinstance(detail, str) and detail.strip(), body
    assert "\n" not in detail, "detail is not one line: %r" % detail
    assert body.get("code") == code, "code %r, wanted %r: %r" % (body.get("code"), code, body)
    if field is not None:
        assert body.get("field") == field, "field %r, wanted %r: %r" % (body.get("field"), field, body)
        assert field.split(".")[-1].split("[")[0] in detail, "detail does not name %r: %r" % (field, detail)
    for m in mentions:
        assert m in detail, "detail %r does not mention %r" % (detail, m)
    return body
