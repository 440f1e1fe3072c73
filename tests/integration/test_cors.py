# SPDX-License-Identifier: MIT
"""CORS: off by default (no Access-Control-* header on any answer, a preflight is a plain 405);
with --cors-origin, a preflight from an allowed origin is answered 204 with the path's methods
and the headers a client may send, and every answer to an allowed origin (success, error,
stream) carries Access-Control-Allow-Origin and the exposed headers. An origin not allowed gets
no Access-Control-* header at all. While CORS is on, every answer says Vary: Origin."""

import json

import pytest

from hetu_http import assert_error

APP = "https://app.example.com"
DEV = "http://localhost:3000"
EVIL = "https://evil.example"
EXPOSE = "X-Request-Id, X-Hetu-Ignored-Fields, Content-Disposition"
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id"


def cors_headers(r):
    return {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def preflight(c, path, origin, method="POST", conn=None):
    hdrs = {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type"}
    return c.request("OPTIONS", path, headers=hdrs, conn=conn)


def assert_actual(r, origin):
    assert cors_headers(r) == {"Access-Control-Allow-Origin": origin,
                               "Access-Control-Expose-Headers": EXPOSE}, dict(r.headers)
    assert r.header("Vary") == "Origin"


def assert_plain_405(r, allow, vary=None):
    assert_error(r, 405, "method_not_allowed")
    assert r.header("Allow") == allow
    assert cors_headers(r) == {} and r.header("Vary") == vary, dict(r.headers)


@pytest.fixture(scope="module")
def cors(hetu_bin, tmp_path_factory):
    from hetu_http import Server
    srv = Server(tmp_path_factory.mktemp("cors"),
                 args=["--cors-origin", APP, "--cors-origin", DEV + "/"]).start()
    yield srv
    srv.assert_clean_exit()


def test_default_off(client):
    r = client.get("/api/projects", headers={"Origin": APP})
    assert r.status == 200
    assert cors_headers(r) == {} and r.header("Vary") is None, dict(r.headers)
    assert_plain_405(preflight(client, "/api/project", APP), "POST")


def test_preflight_from_an_allowed_origin(cors):
    c = cors.client
    conn = c.connection()
    try:
        r = preflight(c, "/api/project", APP, conn=conn)
        assert r.status == 204 and r.raw == b""
        assert cors_headers(r) == {"Access-Control-Allow-Origin": APP,
                                   "Access-Control-Allow-Methods": "POST",
                                   "Access-Control-Allow-Headers": ALLOW_HEADERS,
                                   "Access-Control-Max-Age": "600",
                                   "Access-Control-Expose-Headers": EXPOSE}, dict(r.headers)
        assert r.header("Vary") == "Origin"
        assert len(r.header("X-Request-Id")) == 16
        # the connection is kept for the actual request that follows
        r = c.post("/api/project", {"name": "cors"}, headers={"Origin": APP}, conn=conn)
        assert r.status == 200
        assert_actual(r, APP)
    finally:
        conn.close()
    # a path with several methods lists them all, for the second origin (given with a slash)
    pid = r.json()["id"]
    r = preflight(c, "/api/projects/%s" % pid, DEV, method="DELETE")
    assert r.status == 204
    assert r.header("Access-Control-Allow-Methods") == "GET, PATCH, DELETE"
    assert r.header("Access-Control-Allow-Origin") == DEV


def test_actual_answers_carry_the_headers(cors):
    c = cors.client
    p = c.new_project()
    t = c.new_task(p["id"])
    r = c.get("/api/projects/%s" % p["id"], headers={"Origin": APP})
    assert r.status == 200 and r.json()["id"] == p["id"]
    assert_actual(r, APP)
    # errors: from a handler, from the router, from body parsing
    r = c.get("/api/projects/999999999999", headers={"Origin": DEV})
    assert_error(r, 404, "not_found")
    assert_actual(r, DEV)
    r = c.request("PUT", "/api/projects", headers={"Origin": APP})
    assert_error(r, 405, "method_not_allowed")
    assert_actual(r, APP)
    r = c.post("/api/project", b"{nope", headers={"Origin": APP})
    assert_error(r, 400, "bad_json")
    assert_actual(r, APP)
    # a streamed answer
    c.ok("POST", "/api/dataset/projects/%s/tasks/%s/save_sample" % (p["id"], t["id"]),
         {"input": "in", "output": "out"})
    r = c.get("/api/projects/%s/tasks/%s/export?format=hetu_jsonl" % (p["id"], t["id"]),
              headers={"Origin": APP})
    assert r.status == 200 and [json.loads(x)["input"] for x in r.raw.decode().splitlines()] == ["in"]
    assert_actual(r, APP)


def test_an_origin_not_allowed_gets_none(cors):
    c = cors.client
    for origin in (EVIL, APP + ":8443", "https://app.example.com.evil.example", "null"):
        r = c.get("/api/projects", headers={"Origin": origin})
        assert r.status == 200
        assert cors_headers(r) == {} and r.header("Vary") == "Origin", (origin, dict(r.headers))
        assert_plain_405(preflight(c, "/api/project", origin), "POST", vary="Origin")


def test_options_without_preflight_headers_is_405(cors):
    c = cors.client
    assert_plain_405(c.request("OPTIONS", "/api/project"), "POST", vary="Origin")
    # an Origin alone is not a preflight: the 405 is an answer to that origin
    r = c.request("OPTIONS", "/api/project", headers={"Origin": APP})
    assert_error(r, 405, "method_not_allowed")
    assert r.header("Allow") == "POST"
    assert_actual(r, APP)
    # neither is Access-Control-Request-Method alone
    r = c.request("OPTIONS", "/api/project", headers={"Access-Control-Request-Method": "POST"})
    assert_plain_405(r, "POST", vary="Origin")


def test_any_origin(start_server):
    srv = start_server(args=["--cors-origin", "*"])
    c = srv.client
    for origin in (EVIL, DEV):
        r = preflight(c, "/api/projects", origin, method="GET")
        assert r.status == 204
        assert r.header("Access-Control-Allow-Origin") == origin
        assert r.header("Access-Control-Allow-Methods") == "GET"
        assert_actual(c.get("/healthz", headers={"Origin": origin}), origin)
    # without an Origin, no Access-Control-* header even so, and still Vary
    r = c.get("/healthz")
    assert cors_headers(r) == {} and r.header("Vary") == "Origin"


def test_environment_and_config_file(start_server, tmp_path):
    srv = start_server(env={"HETU_CORS_ORIGIN": "%s, %s" % (APP, DEV)})
    for origin in (APP, DEV):
        assert_actual(srv.client.get("/healthz", headers={"Origin": origin}), origin)
    assert cors_headers(srv.client.get("/healthz", headers={"Origin": EVIL})) == {}
    cfg = tmp_path / "hetu.json"
    cfg.write_text(json.dumps({"cors_origin": EVIL}))
    srv = start_server(args=["--config", str(cfg)])
    assert_actual(srv.client.get("/healthz", headers={"Origin": EVIL}), EVIL)
    assert cors_headers(srv.client.get("/healthz", headers={"Origin": APP})) == {}


@pytest.mark.parametrize("bad", ["https://app.example.com/path", "app.example.com", "https://",
                                 "https://a.example?x=1"])
def test_a_bad_origin_stops_the_server(hetu_bin, tmp_path, bad):
    import subprocess
    p = subprocess.run([str(hetu_bin), "serve", "--port", "0", "--db", str(tmp_path / "h.db"),
                        "--cors-origin", APP, "--cors-origin", bad],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 1
    assert ("--cors-origin: '%s' is not an origin (scheme://host[:port], or *)" % bad) in \
        p.stderr.decode(), p.stderr.decode()
