# SPDX-License-Identifier: MIT
"""GET /metrics: the text parses as Prometheus' exposition format 0.0.4 (a strict parser below),
every name starts with hetu_, and known traffic gives exact figures: requests by route pattern
and status (unknown paths all under one label), latency histograms consistent with them, parked
requests and uploads in progress while they wait, model calls by provider, model and outcome
with their retries, 429s, tokens and cost from the configured prices, the concurrency window,
the (provider, model) cap folding the rest into "other", the store's group commits and job
items by state read from the store (so the same after a restart)."""

import json
import math
import re
import socket
import threading
import time
import uuid
from decimal import Decimal

import pytest

import testdb
from test_generate import CONFIG, Fake, provider_env, start_gen_server

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TASK_ROUTE = "/api/projects/{project_id}/tasks/{task_id}"

# ---- a strict parser of the text format ----------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
FLOAT = r"[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
SAMPLE_RE = re.compile(r"^(%s)(\{.*\})? (%s)(?: -?\d+)?$" % (NAME, FLOAT))
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_labels(text, line):
    """{a="x",b="y"} -> dict; only \\\\, \\" and \\n are escapes; no label twice."""
    labels, i = {}, 1
    while text[i] != "}":
        m = re.compile(LABEL).match(text, i)
        assert m, "bad label name at %d: %r" % (i, line)
        name, i = m.group(0), m.end()
        assert text[i:i + 2] == '="', "expected =\" after %s: %r" % (name, line)
        i += 2
        value = []
        while text[i] != '"':
            if text[i] == "\\":
                esc = text[i + 1]
                assert esc in '\\"n', "bad escape \\%s: %r" % (esc, line)
                value.append("\n" if esc == "n" else esc)
                i += 2
            else:
                assert text[i] != "\n"
                value.append(text[i])
                i += 1
        i += 1
        assert name not in labels, "label %s twice: %r" % (name, line)
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        else:
            assert text[i] == "}", "expected , or }: %r" % line
    assert i == len(text) - 1, "text after }: %r" % line
    return labels


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def parse(text):
    """-> {family: {"type", "help", "samples": [(name, labels, Decimal or str)]}}."""
    assert text.endswith("\n"), "the text must end with a newline"
    fams, types, done, current = {}, {}, set(), None
    for line in text.split("\n")[:-1]:
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                assert re.fullmatch(NAME, name), line
                f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
                assert not f["samples"], "%s after samples: %r" % (parts[1], line)
                if parts[1] == "TYPE":
                    assert f["type"] is None, "TYPE twice: %r" % line
                    assert len(parts) == 4 and parts[3] in TYPES, line
                    f["type"] = types[name] = parts[3]
                else:
                    assert f["help"] is None, "HELP twice: %r" % line
                    f["help"] = parts[3] if len(parts) == 4 else ""
                    assert not re.search(r"\\[^\\n]", f["help"]), line
                if current != name:
                    assert name not in done, "family %s split: %r" % (name, line)
                    if current:
                        done.add(current)
                    current = name
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        name = m.group(1)
        labels = parse_labels(m.group(2), line) if m.group(2) else {}
        fam = family_of(name, types)
        if fam != current:
            assert fam not in done, "family %s split: %r" % (fam, line)
            if current:
                done.add(current)
            current = fam
        f = fams.setdefault(fam, {"type": None, "help": None, "samples": []})
        v = m.group(3)
        f["samples"].append((name, labels, v if v.lstrip("+-") in ("Inf", "NaN") else Decimal(v)))
    for name, f in fams.items():
        seen = set()
        for s in f["samples"]:
            key = (s[0], tuple(sorted(s[1].items())))
            assert key not in seen, "series twice: %r" % (key,)
            seen.add(key)
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    """Buckets ascending by le, cumulative, ending at +Inf equal to _count; a _sum per series."""
    series = {}
    for sname, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            assert "le" in labels, sname
            s["buckets"].append((labels["le"], v))
        elif sname == name + "_sum":
            s["sum"] = v
        else:
            assert sname == name + "_count", sname
            s["count"] = v
    for rest, s in series.items():
        les = [le for le, _ in s["buckets"]]
        assert les[-1] == "+Inf", (name, rest)
        bounds = [Decimal(le) for le in les[:-1]]
        assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), (name, les)
        counts = [c for _, c in s["buckets"]]
        assert counts == sorted(counts), "not cumulative: %s %r %r" % (name, rest, counts)
        assert s["count"] == counts[-1], (name, rest, s["count"], counts[-1])
        assert s["sum"] is not None, (name, rest)


class Metrics:
    def __init__(self, fams):
        self.fams = fams

    def value(self, name, **labels):
        """The sample's value; 0 when the series is absent (an unused counter has no line)."""
        fam = self.fams[family_of(name, {k: f["type"] for k, f in self.fams.items()})]
        found = [v for n, l, v in fam["samples"] if n == name and l == labels]
        assert len(found) <= 1
        return found[0] if found else 0

    def series(self, name):
        fam = self.fams[family_of(name, {k: f["type"] for k, f in self.fams.items()})]
        return [(l, v) for n, l, v in fam["samples"] if n == name]


def scrape(client, conn=None):
    r = client.get("/metrics", conn=conn)
    assert r.status == 200, r
    assert r.header("Content-Type") == CONTENT_TYPE
    fams = parse(r.raw.decode("utf-8"))
    for name, f in fams.items():
        assert name.startswith("hetu_"), name
        assert f["type"] and f["help"], name
    return Metrics(fams)


def scrape_until(client, name, want, timeout=10, **labels):
    """Scrapes until name{labels} reaches want (a request is counted when libmicrohttpd reports it
    complete, which may come just after its client has read the answer), then gives the metrics:
    the caller asserts the exact figures."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(client)
        if m.value(name, **labels) >= want or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


# ---- HTTP ----------------------------------------------------------------------------------

def test_text_format_and_every_family(client):
    m = scrape(client)
    assert {n: f["type"] for n, f in m.fams.items()} == {
        "hetu_http_requests_total": "counter",
        "hetu_http_request_duration_seconds": "histogram",
        "hetu_http_requests_parked": "gauge",
        "hetu_uploads_in_progress": "gauge",
        "hetu_llm_calls_total": "counter",
        "hetu_llm_retries_total": "counter",
        "hetu_llm_rate_limited_total": "counter",
        "hetu_llm_tokens_total": "counter",
        "hetu_llm_cost_usd_total": "counter",
        "hetu_store_group_commit_writes": "histogram",
        "hetu_llm_window": "gauge",
        "hetu_store_write_queue": "gauge",
        "hetu_job_items": "gauge",
    }


def test_requests_by_route_and_status(client):
    p = client.new_project()
    t = client.new_task(p["id"])
    task = "/api/projects/%s/tasks/%s" % (p["id"], t["id"])
    before = scrape(client)
    for _ in range(5):
        assert client.get(task).status == 200
    for _ in range(2):
        assert client.get("/api/projects/%s/tasks/999999999999" % p["id"]).status == 404
    for path in ("/api/nope", "/api/nope/1", "/api/projects/%s/nothing" % p["id"]):
        assert client.get(path).status == 404
    assert client.request("PUT", "/api/projects").status == 405
    m = scrape_until(client, "hetu_http_requests_total", before.value(
        "hetu_http_requests_total", method="any", route="unmatched", status="405") + 1,
        method="any", route="unmatched", status="405")

    def delta(name, **labels):
        return m.value(name, **labels) - before.value(name, **labels)

    req = "hetu_http_requests_total"
    assert delta(req, method="GET", route=TASK_ROUTE, status="200") == 5
    assert delta(req, method="GET", route=TASK_ROUTE, status="404") == 2
    assert delta(req, method="any", route="unmatched", status="404") == 3
    assert delta(req, method="any", route="unmatched", status="405") == 1
    # the raw paths never become labels
    for labels, _ in m.series(req):
        assert labels["route"] in ("unmatched", "web") or labels["route"].startswith("/"), labels
        assert p["id"] not in labels["route"], labels

    lat = "hetu_http_request_duration_seconds"
    assert delta(lat + "_count", method="GET", route=TASK_ROUTE) == 7
    assert delta(lat + "_bucket", method="GET", route=TASK_ROUTE, le="+Inf") == 7
    assert delta(lat + "_count", method="any", route="unmatched") == 4
    assert m.value(lat + "_sum", method="GET", route=TASK_ROUTE) > 0


def test_a_scrape_counts_the_one_before(client):
    conn = client.connection()  # on one connection a request ends before the next one starts
    try:
        first = scrape(client, conn)
        second = scrape(client, conn)
    finally:
        conn.close()
    labels = {"method": "GET", "route": "/metrics", "status": "200"}
    assert second.value("hetu_http_requests_total", **labels) - \
        first.value("hetu_http_requests_total", **labels) == 1


# ---- parked requests, uploads ------------------------------------------------------------------

@pytest.fixture(scope="module")
def gen(hetu_bin, fake_llm, tmp_path_factory):
    providers = {k: dict(v) for k, v in CONFIG["providers"].items()}
    srv = start_gen_server(tmp_path_factory.mktemp("metrics"), fake_llm,
                           config={"providers": providers})
    yield srv
    srv.assert_clean_exit()


def new_task(c):
    p = c.new_project(name="metrics " + uuid.uuid4().hex[:6])
    t = c.new_task(p["id"], name="任务", instruction="把句子翻译成英文")
    return p["id"], t["id"]


def save_path(pid, tid):
    return "/api/dataset/projects/%s/tasks/%s/save_sample" % (pid, tid)


def sample(model, provider="openai"):
    return {"input": "度量 metrics", "output_model_name": model, "output_provider": provider,
            "prompt_method": "default"}


def test_parked_request_while_the_model_answers(gen, fake_llm):
    c, fake = gen.client, Fake(fake_llm)
    pid, tid = new_task(c)
    model = "m-" + uuid.uuid4().hex[:10] + "+latency=1500"
    assert scrape(c).value("hetu_http_requests_parked") == 0
    done = {}
    th = threading.Thread(target=lambda: done.setdefault(
        "r", c.post(save_path(pid, tid), sample(model, "together_ai"))))
    th.start()
    deadline = time.monotonic() + 10
    while not fake.requests(model):
        assert time.monotonic() < deadline, "the model call never came"
        time.sleep(0.02)
    assert scrape_until(c, "hetu_http_requests_parked", 1).value("hetu_http_requests_parked") == 1
    th.join()
    assert done["r"].status == 200, done["r"]
    assert scrape(c).value("hetu_http_requests_parked") == 0


def test_upload_in_progress(gen):
    c = gen.client
    pid, tid = new_task(c)
    path = "/api/dataset/projects/%s/tasks/%s/import_samples_from_file" % (pid, tid)
    boundary = "b" + uuid.uuid4().hex
    head = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\ninput,output\r\n" % boundary).encode()
    s = socket.create_connection((gen.host, gen.port), timeout=10)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                   "boundary=%s\r\nContent-Length: 100000\r\n\r\n" % (path, boundary)).encode()
                  + head)
        m = scrape_until(c, "hetu_uploads_in_progress", 1)
        assert m.value("hetu_uploads_in_progress") == 1
    finally:
        s.close()
    deadline = time.monotonic() + 10
    while scrape(c).value("hetu_uploads_in_progress") != 0:
        assert time.monotonic() < deadline, "the upload is still counted after its client left"
        time.sleep(0.05)


# ---- model calls -------------------------------------------------------------------------------

def priced_server(start_server, fake_llm, tmp_path, models):
    providers = {k: dict(v) for k, v in CONFIG["providers"].items()}
    providers["openai"]["models"] = models
    workdir = tmp_path / "priced"
    workdir.mkdir()
    (workdir / "hetu.json").write_text(json.dumps({"providers": providers}))
    return start_server(workdir=workdir, args=["--config", str(workdir / "hetu.json")],
                        env=provider_env(fake_llm))


def test_model_calls_retries_429s_tokens_cost_window(start_server, fake_llm, tmp_path):
    ok = "m-" + uuid.uuid4().hex[:10] + "+fail429=1+retry_after=0"
    bad = "m-" + uuid.uuid4().hex[:10] + "+fail500"
    srv = priced_server(start_server, fake_llm, tmp_path, {
        ok: {"price_input_per_mtok": 2.5, "price_output_per_mtok": 10, "concurrency": 8}})
    c = srv.client
    pid, tid = new_task(c)
    r = c.post(save_path(pid, tid), sample(ok))
    assert r.status == 200, r
    run = r.json()
    usage = run["usage"]
    # the fake's count: a token per 4 characters of the answer
    assert usage["output_tokens"] == math.ceil(len(run["output"]["output"]) / 4)
    r = c.post(save_path(pid, tid), sample(bad))
    assert r.status == 502, r
    m = scrape(c)

    pm = {"provider": "openai", "model": ok}
    assert sorted(m.series("hetu_llm_calls_total"), key=lambda s: s[0]["model"]) == sorted([
        ({"provider": "openai", "model": ok, "outcome": "ok"}, 1),
        ({"provider": "openai", "model": bad, "outcome": "provider_error"}, 1),
    ], key=lambda s: s[0]["model"])
    assert m.value("hetu_llm_rate_limited_total", **pm) == 1
    assert m.value("hetu_llm_retries_total", **pm) == 1
    assert m.value("hetu_llm_rate_limited_total", provider="openai", model=bad) == 0
    assert m.value("hetu_llm_retries_total", provider="openai", model=bad) == 1  # max_attempts 2
    assert m.value("hetu_llm_tokens_total", direction="input", **pm) == usage["input_tokens"]
    assert m.value("hetu_llm_tokens_total", direction="output", **pm) == usage["output_tokens"]
    want = (Decimal(usage["input_tokens"]) * Decimal("2.5") +
            Decimal(usage["output_tokens"]) * 10) / Decimal(10**6)
    assert m.value("hetu_llm_cost_usd_total", **pm) == want
    assert m.value("hetu_llm_cost_usd_total", provider="openai", model=bad) == 0
    # 8, shrunk by a quarter on the 429 (6), one more on the success
    assert m.value("hetu_llm_window", **pm) == 7
    assert m.value("hetu_llm_window", provider="openai", model=bad) == 256


def test_provider_model_pairs_are_capped(start_server, fake_llm, tmp_path):
    srv = priced_server(start_server, fake_llm, tmp_path, {})
    c = srv.client
    c.timeout = 60
    pid, tid = new_task(c)
    base = "m-" + uuid.uuid4().hex[:8]
    samples = [dict(sample("%s-%02d" % (base, i)), input="样本 %d" % i) for i in range(70)]
    r = c.post("/api/dataset/projects/%s/tasks/%s/save_samples_batch" % (pid, tid),
               {"samples": samples})
    assert r.status == 200, r
    m = scrape(c)
    calls = m.series("hetu_llm_calls_total")
    own = [l for l, v in calls if l["model"] != "other"]
    assert len(own) == 64 and all(v == 1 for l, v in calls if l["model"] != "other")
    assert m.value("hetu_llm_calls_total", provider="other", model="other", outcome="ok") == 6
    assert len(m.series("hetu_llm_window")) == 64
    assert all(l["model"] != "other" for l, _ in m.series("hetu_llm_window"))


# ---- the store -----------------------------------------------------------------------------

def project_write_is_one_commit(c, commits):
    """A project saved alone is one write in one commit of the store's writer."""
    before, deadline = scrape(c), time.monotonic() + 10
    while True:
        time.sleep(0.2)
        m = scrape(c)
        if m.value(commits + "_count") == before.value(commits + "_count"):
            break
        assert time.monotonic() < deadline, "the store's writer never settles"
        before = m
    c.new_project(name="one write")
    m = scrape_until(c, "hetu_http_requests_total", 2, method="POST", route="/api/project",
                     status="200")
    assert m.value(commits + "_count") - before.value(commits + "_count") == 1
    assert m.value(commits + "_sum") - before.value(commits + "_sum") == 1
    assert m.value(commits + "_bucket", le="1") - before.value(commits + "_bucket", le="1") == 1
    assert m.value("hetu_store_write_queue") == 0


def test_group_commits_and_job_items_across_a_restart(start_server, tmp_path):
    srv = start_server()
    c = srv.client
    c.new_project(name="the first reserves ids, and a spare block in the background")
    if not testdb.ON_POSTGRESQL:  # there a record's write commits at once, not on the writer
        project_write_is_one_commit(c, "hetu_store_group_commit_writes")
    pid, tid = new_task(c)
    samples = [{"input": "条目 %d" % i, "output": "输出 %d" % i} for i in range(7)]
    r = c.post("/api/dataset/projects/%s/tasks/%s/import_samples_async" % (pid, tid),
               {"samples": samples})
    assert r.status == 200, r
    job = r.json()
    job_path = "/api/dataset/projects/%s/tasks/%s/jobs/%s" % (pid, tid, job["job_id"])
    deadline = time.monotonic() + 30
    while c.get(job_path).json()["status"] != "completed":
        assert time.monotonic() < deadline, c.get(job_path).json()
        time.sleep(0.05)
    m = scrape(c)
    assert [m.value("hetu_job_items", state=s) for s in ("pending", "done", "failed")] == [0, 7, 0]
    srv.stop()
    srv2 = start_server(db=srv.db)
    m = scrape(srv2.client)
    assert [m.value("hetu_job_items", state=s) for s in ("pending", "done", "failed")] == [0, 7, 0]
    assert m.value("hetu_http_requests_total", method="POST", route="/api/project",
                   status="200") == 0
