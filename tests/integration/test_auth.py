# SPDX-License-Identifier: MIT
"""API keys end to end: the server is open while no key exists (and says so when it starts), the
first admin key is made through the open API, then every route but /healthz needs
"Authorization: Bearer KEY": 401 (with WWW-Authenticate) without one or with a wrong, malformed
or revoked one, 403 for a key outside its rights (admin routes, another project), 429 with
Retry-After after a burst of wrong keys from one address. Keys made with `hetu keys create --db`
on a stopped server's database work once it runs again. No key ever appears in the server's log
or in a listing."""

import json
import re
import subprocess
import sys
import uuid

import pytest

from hetu_http import REPO, SANITIZER_MARKS, assert_error, assert_id, hetu_binary

CLIENT_DIR = REPO / "clients" / "python"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

from hetu_client import HetuAPIError  # noqa: E402

KEY_RE = re.compile(r"^hetu_([1-9][0-9]{11})_([0-9a-f]{64})$")
D = "/api/dataset/projects/%s/tasks/%s"
FAIL_LIMIT, BLOCK_S = 10, 60  # AUTH_FAIL_LIMIT and AUTH_BLOCK_S in src/auth/auth.h


def bearer(key):
    return {"Authorization": "Bearer " + key}


def make_key(client, key=None, **body):
    """POST /api/keys (with key, when given): the created key's answer."""
    r = client.post("/api/keys", body, headers=bearer(key) if key else None)
    assert r.status == 200, r
    k = r.json()
    assert list(k) == ["id", "key", "name", "project", "admin"], k
    m = KEY_RE.match(k["key"])
    assert m and m.group(1) == k["id"], k
    return k


def hetu_cli(*args, env=None):
    e = {"PATH": "/usr/bin:/bin"}
    e.update(env or {})
    r = subprocess.run([str(hetu_binary())] + [str(a) for a in args], capture_output=True,
                       text=True, env=e, timeout=60)
    assert not [m for m in SANITIZER_MARKS if m in r.stderr], r.stderr
    return r


def assert_no_secret(srv, *keys, answers=()):
    """None of the keys (nor their secret part) is in the server's log or in the answers."""
    log = srv.stderr()
    for k in keys:
        secret = KEY_RE.match(k).group(2)
        assert secret not in log, "a key's secret is in the server's log"
        for a in answers:
            assert secret not in a, "a key's secret is in an answer: %r" % a[:300]


@pytest.fixture
def keyed(start_server):
    """A server with its first admin key, made while it was open."""
    srv = start_server(env={"HETU_LOG_LEVEL": "debug"})
    admin = make_key(srv.client, name="ops", admin=True)
    return srv, admin["key"]


# ---------------------------------------------------------------- open until the first key

def test_open_until_the_first_admin_key(start_server):
    srv = start_server()
    c = srv.client
    assert "no API key exists: the server is open" in srv.stderr()
    assert c.get("/api/projects").status == 200  # no header needed
    p = c.new_project()

    # the first key must be an admin key, else nobody could manage keys
    assert_error(c.post("/api/keys", {"name": "first", "project": p["id"]}), 422, "invalid",
                 field="admin")
    assert c.get("/api/projects").status == 200  # still open

    admin = make_key(c, name="ops", admin=True)
    assert admin["name"] == "ops" and admin["admin"] is True and admin["project"] is None

    r = c.get("/api/projects")
    assert_error(r, 401, "unauthorized", mentions=["Authorization: Bearer KEY"])
    assert r.header("WWW-Authenticate") == 'Bearer realm="hetu"'
    assert_error(c.post("/api/keys", {"name": "second", "admin": True}), 401, "unauthorized")
    assert c.get("/api/projects", headers=bearer(admin["key"])).json()["projects"] == [p]
    assert c.get("/healthz").status == 200

    # a restart reads the keys: still closed, and the log says so
    srv.stop()
    srv2 = start_server(db=srv.db)
    assert "API keys are required" in srv2.stderr()
    assert "no API key exists" not in srv2.stderr()
    assert_error(srv2.client.get("/api/projects/%s" % p["id"]), 401, "unauthorized")
    assert srv2.client.get("/api/projects/%s" % p["id"], headers=bearer(admin["key"])).status == 200
    assert_no_secret(srv, admin["key"])
    assert_no_secret(srv2, admin["key"])


# ---------------------------------------------------------------- wrong, malformed, revoked

def test_wrong_malformed_and_revoked_keys(keyed):
    srv, admin = keyed
    c = srv.client
    other = make_key(c, admin, name="worker")
    kid, secret = KEY_RE.match(other["key"]).groups()
    flipped = "hetu_%s_%s" % (kid, ("0" if secret[0] != "0" else "1") + secret[1:])
    for header in ["Bearer " + flipped,                        # the right id, a wrong secret
                   "Bearer hetu_999999999999_" + secret,       # no such id
                   "Bearer " + other["key"][:-1],              # cut short
                   "Bearer " + other["key"].upper(),           # not the key
                   "Basic " + other["key"],                    # not Bearer
                   "Bearer"]:
        r = c.get("/api/projects", headers={"Authorization": header})
        assert_error(r, 401, "unauthorized")
        assert r.header("WWW-Authenticate") == 'Bearer realm="hetu"'
    assert c.get("/api/projects", headers=bearer(other["key"])).status == 200
    assert c.get("/api/projects", headers={"Authorization": "bearer  %s " % other["key"]}).status == 200

    # revoked: refused at once (the server's cache is retired by the revocation)
    r = c.delete("/api/keys/%s" % other["id"], headers=bearer(admin))
    assert r.status == 200, r
    listed = r.json()
    assert listed["id"] == other["id"] and listed["revoked"] is True
    assert listed["revoked_at"] is not None
    assert_error(c.get("/api/projects", headers=bearer(other["key"])), 401, "unauthorized",
                 mentions=["revoked"])
    assert_error(c.delete("/api/keys/123456789012", headers=bearer(admin)), 404, "not_found",
                 mentions=["API key 123456789012 not found"])

    r = c.get("/api/keys", headers=bearer(admin))
    keys = r.json()["keys"]
    assert [(k["name"], k["admin"], k["revoked"]) for k in keys] == [
        ("ops", True, False), ("worker", False, True)]
    for k in keys:
        assert set(k) == {"id", "name", "project", "admin", "prefix", "created_at", "revoked",
                          "revoked_at"}
        assert k["prefix"] == "hetu_%s_" % k["id"]
    assert_no_secret(srv, admin, other["key"], answers=[r.raw.decode()])


# ---------------------------------------------------------------- what a key may do

def test_project_key_stays_in_its_project(keyed):
    srv, admin = keyed
    c = srv.client
    a = c.post("/api/project", {"name": "A"}, headers=bearer(admin)).json()
    b = c.post("/api/project", {"name": "B"}, headers=bearer(admin)).json()
    ta = c.post("/api/projects/%s/task" % a["id"], {"name": "t", "instruction": "i"},
                headers=bearer(admin)).json()
    tb = c.post("/api/projects/%s/task" % b["id"], {"name": "t", "instruction": "i"},
                headers=bearer(admin)).json()
    pk = make_key(c, admin, name="labelling", project=a["id"])
    assert pk["project"] == a["id"] and pk["admin"] is False
    h = bearer(pk["key"])

    assert c.get("/api/projects/%s" % a["id"], headers=h).json()["id"] == a["id"]
    assert c.get("/api/projects/%s/tasks/%s" % (a["id"], ta["id"]), headers=h).status == 200
    assert c.get(D % (a["id"], ta["id"]) + "/jobs", headers=h).status == 200
    assert [p["id"] for p in c.get("/api/projects", headers=h).json()["projects"]] == [a["id"]]
    assert len(c.get("/api/projects", headers=bearer(admin)).json()["projects"]) == 2

    assert_error(c.get("/api/projects/%s" % b["id"], headers=h), 403, "forbidden",
                 field="project_id", mentions=[a["id"], b["id"]])
    assert_error(c.get(D % (b["id"], tb["id"]) + "/jobs", headers=h), 403, "forbidden",
                 field="project_id")
    assert_error(c.delete("/api/projects/%s" % b["id"], headers=h), 403, "forbidden")
    assert c.get("/api/projects/%s" % b["id"], headers=bearer(admin)).status == 200  # not deleted
    assert_error(c.post("/api/project", {"name": "C"}, headers=h), 403, "forbidden")
    # naming its own project in the query of a route outside any project changes nothing
    assert_error(c.post("/api/project?project_id=" + a["id"], {"name": "C"}, headers=h), 403,
                 "forbidden")
    assert_error(c.post("/api/keys", {"name": "x", "project": a["id"]}, headers=h), 403,
                 "forbidden", mentions=["admin key"])
    assert_error(c.get("/api/keys", headers=h), 403, "forbidden")
    # a route whose project is in the query is checked too
    q = ("?project_id=%s&task_id=%s&dataset_id=123456789012&split_name=train&format_type=%s"
         "&data_strategy=final_only")
    r = c.get("/api/download_dataset_jsonl" + q % (b["id"], tb["id"], "openai_chat_jsonl"), headers=h)
    assert_error(r, 403, "forbidden", field="project_id")
    r = c.get("/api/download_dataset_jsonl" + q % (a["id"], ta["id"], "openai_chat_jsonl"), headers=h)
    assert r.status == 404, r  # through the check: the split does not exist

    # a key for every project without admin rights: projects yes, keys no
    worker = make_key(c, admin, name="worker")
    assert c.get("/api/projects/%s" % b["id"], headers=bearer(worker["key"])).status == 200
    assert c.post("/api/project", {"name": "D"}, headers=bearer(worker["key"])).status == 200
    for method, path in [("GET", "/api/keys"), ("POST", "/api/keys"),
                         ("DELETE", "/api/keys/%s" % pk["id"])]:
        body = {"name": "y", "admin": True} if method == "POST" else None
        assert_error(c.request(method, path, body, headers=bearer(worker["key"])), 403,
                     "forbidden", mentions=["admin key"])

    # an admin key names no project; a project key's project must exist
    assert_error(c.post("/api/keys", {"name": "z", "admin": True, "project": a["id"]},
                        headers=bearer(admin)), 422, "invalid", field="project")
    assert_error(c.post("/api/keys", {"name": "z", "project": "999999999999"},
                        headers=bearer(admin)), 404, "not_found", field="project")
    assert_no_secret(srv, admin, pk["key"], worker["key"])


def test_healthz_stays_open(keyed):
    srv, admin = keyed
    r = srv.client.get("/healthz")
    assert r.status == 200 and r.json()["status"] == "ok"
    assert srv.client.get("/healthz", headers=bearer("hetu_nonsense")).status == 200


def test_metrics_open_on_loopback_and_docs_public_once_keys_exist(keyed):
    """/metrics (ROUTE_LOCAL) answers a loopback client without a key; /openapi.json and /docs
    are public; a project key is refused on the admin-only Kiln import."""
    srv, admin = keyed
    c = srv.client
    r = c.get("/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain")
    assert b"hetu_http_requests_total" in r.raw
    assert c.get("/openapi.json").status == 200
    assert c.get("/docs").status == 200
    p = c.post("/api/project", {"name": "p"}, headers=bearer(admin)).json()
    pk = make_key(c, admin, name="worker", project=p["id"])
    assert_error(c.post("/api/import-project", {"project_path": "/nowhere/project.kiln"},
                        headers=bearer(pk["key"])), 403, "forbidden")
    assert_error(c.post("/api/import-project", {"project_path": "/nowhere/project.kiln"}),
                 401, "unauthorized")


def test_refusals_carry_cors_headers(start_server):
    """With --cors-origin, a browser page sees the 401 (its CORS headers are on it) and its
    preflight is answered without a key."""
    origin = "http://app.example:5173"
    srv = start_server(args=["--cors-origin", origin])
    make_key(srv.client, name="ops", admin=True)
    r = srv.client.request("OPTIONS", "/api/projects", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert r.status == 204, r
    assert r.header("Access-Control-Allow-Origin") == origin
    assert "authorization" in r.header("Access-Control-Allow-Headers").lower()
    r = srv.client.get("/api/projects", headers={"Origin": origin})
    assert_error(r, 401, "unauthorized")
    assert r.header("Access-Control-Allow-Origin") == origin
    assert r.header("WWW-Authenticate") == 'Bearer realm="hetu"'


# ---------------------------------------------------------------- the gateway's client

def test_header_less_upload_is_told_what_to_use(keyed, tmp_path):
    """The original client's import_samples_from_file sends no Authorization header: the 401
    says so and names what to use instead. Hetu's client sends the key with the upload."""
    srv, admin = keyed
    c = srv.client
    p = c.post("/api/project", {"name": "P"}, headers=bearer(admin)).json()
    t = c.post("/api/projects/%s/task" % p["id"], {"name": "t", "instruction": "i"},
               headers=bearer(admin)).json()
    boundary = "b" + uuid.uuid4().hex
    body = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\ninput,output\r\na,b\r\n--%s--\r\n" % (boundary, boundary))
    r = c.post(D % (p["id"], t["id"]) + "/import_samples_from_file", body,
               headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    assert_error(r, 401, "unauthorized",
                 mentions=["import_samples_from_file sends none", "hetu_client", "hetu import"])
    assert r.header("WWW-Authenticate") == 'Bearer realm="hetu"'
    # another route without the header gets the plain message
    r = c.get(D % (p["id"], t["id"]) + "/jobs")
    assert_error(r, 401, "unauthorized")
    assert "import_samples_from_file" not in r.json()["detail"]

    from dataset.dataset_api import HetuAIDataGenClient
    f = tmp_path / "rows.csv"
    f.write_text("input,output\n你好,hello\n早上好,good morning\n", encoding="utf-8")
    client = HetuAIDataGenClient(base_url=srv.base_url, api_key=admin)
    done = client.import_samples_from_file(p["id"], t["id"], str(f), {"session_id": "s"})
    assert done["status"] == "import_completed" and done["sample_count"] == 2, done
    started = client.import_samples_async(p["id"], t["id"], {"samples": [
        {"input": "晚上好", "output": "good evening"}]})
    job = client.wait_for_job(p["id"], t["id"], started["job_id"], timeout=60, poll_interval=0.05)
    assert job["status"] == "completed", job
    assert sorted(r["input"] for r in client.list_runs(p["id"], t["id"])) == ["你好", "早上好", "晚上好"]

    with pytest.raises(HetuAPIError) as exc:
        HetuAIDataGenClient(base_url=srv.base_url, api_key=None).list_jobs(p["id"], t["id"])
    assert exc.value.status == 401 and exc.value.code == "unauthorized"
    with pytest.raises(HetuAPIError) as exc:
        HetuAIDataGenClient(base_url=srv.base_url, api_key=admin[:-1] + "x").list_jobs(p["id"], t["id"])
    assert exc.value.status == 401


# ---------------------------------------------------------------- a burst of wrong keys

def test_burst_of_wrong_keys_is_slowed(keyed):
    srv, admin = keyed
    c = srv.client
    wrong = bearer("hetu_123456789012_" + "0" * 64)
    for i in range(FAIL_LIMIT):
        assert_error(c.get("/api/projects", headers=wrong), 401, "unauthorized")
    r = c.get("/api/projects", headers=wrong)
    assert_error(r, 429, "too_many_requests", mentions=["wrong API key"])
    retry = int(r.header("Retry-After"))
    assert BLOCK_S - 5 <= retry <= BLOCK_S, retry
    # while blocked, the right key waits too (the block cannot be used to test keys), and so does
    # a request without a key; /healthz does not need a key and is answered
    assert_error(c.get("/api/projects", headers=bearer(admin)), 429, "too_many_requests")
    assert_error(c.get("/api/projects"), 429, "too_many_requests")
    assert c.get("/healthz").status == 200


def test_requests_without_a_key_and_good_keys_do_not_block(keyed):
    srv, admin = keyed
    c = srv.client
    for i in range(FAIL_LIMIT + 5):
        assert_error(c.get("/api/projects"), 401, "unauthorized")
    wrong = bearer("hetu_123456789012_" + "0" * 64)
    for round in range(3):  # a good key in between forgets the failures
        for i in range(FAIL_LIMIT - 1):
            assert_error(c.get("/api/projects", headers=wrong), 401, "unauthorized")
        assert c.get("/api/projects", headers=bearer(admin)).status == 200


# ---------------------------------------------------------------- the command line

def test_cli_keys_and_recovery_with_db(start_server, tmp_path):
    srv = start_server()
    url = srv.base_url
    r = hetu_cli("keys", "create", "--name", "ops", "--admin", "--json", "--server", url)
    assert r.returncode == 0, r.stderr
    admin = json.loads(r.stdout)
    assert list(admin) == ["id", "key", "name", "project", "admin"] and admin["admin"] is True
    assert KEY_RE.match(admin["key"])

    # without the key: the server's 401 (exit 3); with HETU_API_KEY or --api-key: the listing
    r = hetu_cli("keys", "list", "--server", url)
    assert r.returncode == 3 and "API key is required" in r.stderr, r.stderr
    r = hetu_cli("keys", "list", "--server", url, env={"HETU_API_KEY": admin["key"]})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["ID", "NAME", "PROJECT", "ADMIN", "PREFIX",
                                                "CREATED", "REVOKED"]
    assert admin["id"] in r.stdout and KEY_RE.match(admin["key"]).group(2) not in r.stdout
    r = hetu_cli("keys", "create", "--name", "worker", "--server", url, "--api-key", admin["key"])
    assert r.returncode == 0, r.stderr
    worker = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)
    assert KEY_RE.match(worker["key"]) and worker["admin"] == "false"
    assert "not shown again" in r.stderr
    r = hetu_cli("keys", "revoke", worker["id"], "--server", url, "--api-key", admin["key"])
    assert r.returncode == 0 and re.search(r"revoked\s+true", r.stdout), r.stdout
    assert_error(srv.client.get("/api/projects", headers=bearer(worker["key"])), 401,
                 "unauthorized")

    # the admin key is lost: stop the server, make one in its database, start it again
    srv.stop()
    r = hetu_cli("keys", "create", "--name", "rescue", "--admin", "--json", "--db", srv.db)
    assert r.returncode == 0, r.stderr
    rescue = json.loads(r.stdout)
    assert rescue["name"] == "rescue" and rescue["admin"] is True and KEY_RE.match(rescue["key"])
    r = hetu_cli("keys", "create", "--name", "bad", "--project", "999999999999", "--db", srv.db)
    assert r.returncode == 1 and "project 999999999999 not found" in r.stderr, r.stderr
    srv2 = start_server(db=srv.db)
    c = srv2.client
    assert_error(c.get("/api/keys"), 401, "unauthorized")
    r = c.get("/api/keys", headers=bearer(rescue["key"]))
    assert r.status == 200, r
    assert [k["name"] for k in r.json()["keys"]] == ["ops", "worker", "rescue"]
    assert_no_secret(srv, admin["key"], worker["key"])
    assert_no_secret(srv2, admin["key"], worker["key"], rescue["key"],
                     answers=[r.raw.decode()])
