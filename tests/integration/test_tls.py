# SPDX-License-Identifier: MIT
"""HTTPS with --tls-cert/--tls-key: a self-signed certificate made by the `openssl` command for
127.0.0.1, a server started with it, and real requests through Python's ssl module trusting only
that certificate. What touches the socket is checked over TLS too: requests parked while a model
answers (suspend and resume), a client that leaves while its request waits (the server sees it
gone and cancels the model call), file uploads and streamed answers. A plain HTTP request to the
TLS port gets no answer, and files that cannot serve TLS stop the server at start, naming the
option."""

import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest

from hetu_http import Client, Server, hetu_binary
from test_generate import (CONFIG, Fake, assert_call_cancelled, leave_pending_generate,
                           provider_env)
from test_http_hardening import assert_idle_upload_dropped
from test_import import multipart


def openssl_cert(directory, name, cn="127.0.0.1"):
    """A self-signed EC certificate for 127.0.0.1 and its key: (cert path, key path)."""
    cert, key = directory / (name + "-cert.pem"), directory / (name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


class TLSClient(Client):
    """The tests' client over HTTPS, trusting one certificate and checking the host name."""

    def __init__(self, host, port, cafile, timeout=30.0):
        super().__init__(host, port, timeout)
        self.ctx = ssl.create_default_context(cafile=str(cafile))

    @property
    def base_url(self):
        return "https://%s:%d" % (self.host, self.port)

    def connection(self):
        return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                           context=self.ctx)


class TLSEnv:
    def __init__(self, srv, cert, fake_base):
        self.srv = srv
        self.cert = cert
        self.c = TLSClient(srv.host, srv.port, cert)
        self.fake = Fake(fake_base)
        p = self.c.new_project(name="tls")
        t = self.c.new_task(p["id"], name="翻译", instruction="把句子翻译成英文")
        self.pid, self.tid = p["id"], t["id"]

    def ds(self, tail):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (self.pid, self.tid, tail)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    return d, openssl_cert(d, "server")


@pytest.fixture(scope="module")
def tls(hetu_bin, fake_llm, certs, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tls")
    cfg = workdir / "hetu.json"
    cfg.write_text(json.dumps(CONFIG))
    cert, key = certs[1]
    srv = Server(workdir, args=["--config", str(cfg), "--tls-cert", str(cert), "--tls-key",
                                str(key)], env=provider_env(fake_llm)).start()
    yield TLSEnv(srv, cert, fake_llm)
    srv.assert_clean_exit()


def test_listening_line_says_https(tls):
    assert "hetu: listening on https://127.0.0.1:%d\n" % tls.srv.port in \
        tls.srv.out_path.read_text("utf-8")


def test_get_and_post_with_a_body(tls):
    conn = tls.c.connection()
    try:
        r = tls.c.post("/api/project", {"name": "项目 over TLS", "description": "d"}, conn=conn)
        assert r.status == 200, r
        made = r.json()
        assert made["name"] == "项目 over TLS"
        assert len(r.header("X-Request-Id")) == 16
        # the same connection serves the next request (keep-alive over TLS)
        r = tls.c.get("/api/projects/%s" % made["id"], conn=conn)
        assert r.status == 200 and r.json() == made
    finally:
        conn.close()
    assert conn.sock is None


def test_certificate_is_the_one_given(tls, certs):
    with socket.create_connection((tls.srv.host, tls.srv.port), timeout=10) as raw:
        with tls.c.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            der = s.getpeercert(binary_form=True)
    assert ssl.DER_cert_to_PEM_cert(der).strip() == certs[1][0].read_text().strip()


def test_pending_request_is_resumed(tls):
    """generate_samples parks the request while the model answers (200 ms), then resumes it."""
    model = "tls-" + str(time.monotonic_ns()) + "+latency=200"
    t0 = time.monotonic()
    r = tls.c.post(tls.ds("generate_samples"), {"topic": [], "num_samples": 2,
                                                "model_name": model, "provider": "together_ai"})
    assert r.status == 200, r
    assert len(json.loads(r.json()["output"]["output"])["generated_samples"]) == 2
    assert time.monotonic() - t0 >= 0.2
    assert tls.fake.calls(model) == 1


def test_client_gone_cancels_the_model_call(tls):
    model = "tls-gone-" + str(time.monotonic_ns()) + "+latency=3000"
    raw = socket.create_connection((tls.srv.host, tls.srv.port), timeout=5)
    s = tls.c.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    t0 = leave_pending_generate(s, tls.fake, tls.ds("generate_samples"), model)
    assert_call_cancelled(tls.fake, model, t0)
    assert tls.c.get("/healthz").status == 200


def test_upload_then_streamed_export(tls):
    # 100 rows of 2 KB each: the upload arrives in many TLS records
    rows = [("输入 %03d %s" % (i, "x" * 2000), "output %03d" % i) for i in range(100)]
    data = ("input,output\n" + "".join("%s,%s\n" % r for r in rows)).encode("utf-8")
    body, hdrs = multipart("rows.csv", data)
    r = tls.c.post(tls.ds("import_samples_from_file"), body, headers=hdrs)
    assert r.status == 200, r
    assert r.json()["sample_count"] == 100
    # the export is a streamed answer: the same 100 rows come back over TLS
    r = tls.c.get("/api/projects/%s/tasks/%s/export?format=hetu_jsonl" % (tls.pid, tls.tid))
    assert r.status == 200, r
    assert r.header("Content-Length") is None  # streamed, not sized up front
    got = sorted((x["input"], x["output"])
                 for x in map(json.loads, r.raw.decode("utf-8").splitlines()))
    assert got == sorted(rows)


def test_job_events_stream_waits_then_ends(tls):
    """A job's event stream parks while nothing changes (the model answers in 500 ms), is
    resumed, and ends with the job, all over TLS."""
    model = "tls-ev-" + str(time.monotonic_ns()) + "+latency=500"
    data = ("input\n" + "".join("事件 %d\n" % i for i in range(101))).encode("utf-8")
    body, hdrs = multipart("ev.csv", data)
    r = tls.c.post(tls.ds("import_samples_from_file") + "?output_model_name=%s&output_provider="
                   "together_ai" % model.replace("+", "%2B"), body, headers=hdrs)
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    t0 = time.monotonic()
    r = tls.c.get(tls.ds("jobs/%s/events" % job_id))
    assert r.status == 200 and r.header("Content-Type").startswith("text/event-stream"), r
    assert time.monotonic() - t0 >= 0.4  # it waited for the model
    frames = [f for f in r.raw.decode("utf-8").split("\n\n") if f.strip()]
    names = [f.split("\n")[0] for f in frames]
    assert names[-1] == "event: end" and set(names[:-1]) == {"event: progress"}, names
    end = json.loads(frames[-1].split("\n", 1)[1][len("data: "):])
    assert end["status"] == "completed" and end["completed"] == 101, end
    assert tls.fake.calls(model) == 101


def test_a_stalled_upload_is_dropped_with_its_spool_file(start_server, certs, tmp_path):
    """The upload watch works on the socket under TLS too: an upload that stops sending is shut
    down after --upload-idle-timeout, and its spool file goes."""
    cert, key = certs[1]
    spool = tmp_path / "spool"
    srv = start_server(args=["--tls-cert", str(cert), "--tls-key", str(key),
                             "--upload-idle-timeout", "1", "--spool-dir", str(spool)])
    c = TLSClient(srv.host, srv.port, cert)
    pid = c.new_project()["id"]
    path = "/api/dataset/projects/%s/tasks/%s/import_samples_from_file" % (
        pid, c.new_task(pid)["id"])
    body, hdrs = multipart("stall.jsonl", b'{"input": "x"}\n' * 100)
    sock = c.ctx.wrap_socket(socket.create_connection((srv.host, srv.port), timeout=10),
                             server_hostname="127.0.0.1")
    try:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                     b"Content-Length: %d\r\n\r\n" % (path.encode(), hdrs["Content-Type"].encode(),
                                                     500 << 20) + body[:1000])
        assert_idle_upload_dropped(sock, spool)
    finally:
        sock.close()
    assert c.get("/healthz").status == 200


def test_plain_http_to_the_tls_port_gets_no_answer(tls):
    c = http.client.HTTPConnection(tls.srv.host, tls.srv.port, timeout=10)
    try:
        with pytest.raises(ConnectionResetError):
            c.request("GET", "/healthz")
            c.getresponse()
    finally:
        c.close()
    assert tls.c.get("/healthz").status == 200


# ---- files that cannot serve TLS ----

def start_error(workdir, *args, gnutls_leaks=False):
    """Runs `hetu serve` with args, which must stop it at start: (exit code, stderr).
    gnutls_leaks: GnuTLS (3.7.9) leaks the certificate it failed to parse, which LeakSanitizer
    is told to leave aside (nothing of Hetu's own is suppressed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if gnutls_leaks:
        supp = workdir / "lsan.supp"
        supp.write_text("leak:libgnutls.so\n")
        env["LSAN_OPTIONS"] = "suppressions=%s" % supp
    p = subprocess.run([str(hetu_binary()), "serve", "--host", "127.0.0.1", "--port", "0",
                        "--db", str(workdir / "hetu.db"), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30, env=env)
    assert "listening" not in p.stdout.decode()
    return p.returncode, p.stderr.decode("utf-8", "replace")


def test_bad_files_stop_the_server_naming_the_option(certs, tmp_path):
    d, (cert, key) = certs
    _, other_key = openssl_cert(tmp_path, "other", cn="other")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("this is no certificate\n")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    cases = [
        (["--tls-cert", str(not_pem), "--tls-key", str(key)],
         "--tls-cert %s: no PEM certificate in it" % not_pem),
        (["--tls-cert", str(cert), "--tls-key", str(not_pem)],
         "--tls-key %s: no PEM private key in it" % not_pem),
        (["--tls-cert", str(d / "missing.pem"), "--tls-key", str(key)],
         "--tls-cert %s: cannot read it: No such file or directory" % (d / "missing.pem")),
        (["--tls-cert", str(cert)], "--tls-key is needed with --tls-cert"),
        (["--tls-key", str(key)], "--tls-cert is needed with --tls-key"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)],
         "cannot start TLS with --tls-cert %s and --tls-key %s: GnuTLS failed to setup x509 "
         "certificate/key: The certificate and the given key do not match." % (cert, other_key)),
        (["--tls-cert", str(broken), "--tls-key", str(key)],
         "cannot start TLS with --tls-cert %s and --tls-key %s: GnuTLS failed" % (broken, key)),
    ]
    for i, (args, message) in enumerate(cases):
        code, err = start_error(tmp_path / ("s%d" % i), *args, gnutls_leaks=i == len(cases) - 1)
        assert code == 1, (args, code, err)
        assert "cannot start the HTTP server" in err and message in err, (args, err)


def test_environment_names_the_files(hetu_bin, certs, tmp_path):
    cert, key = certs[1]
    srv = Server(tmp_path, env={"HETU_TLS_CERT": str(cert), "HETU_TLS_KEY": str(key)}).start()
    try:
        r = TLSClient(srv.host, srv.port, cert).get("/healthz")
        assert r.status == 200 and r.json()["status"] == "ok"
    finally:
        srv.assert_clean_exit()
