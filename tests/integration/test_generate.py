# SPDX-License-Identifier: MIT
"""The seed API's generation calls over real HTTP against the fake provider: generate_categories
and generate_samples, checked at both ends (the answer's shape and key order, and what reached
the provider through its /_requests log), the list count contract, and the error answers.

The helpers at the top (GenEnv, the gen_env fixture factory, check_taskrun) are shared with
test_samples.py and test_runs.py."""

import hashlib
import json
import socket
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest

from hetu_http import Server, assert_error, assert_id, assert_timestamp

TASKRUN_KEYS = ["v", "id", "path", "created_at", "created_by", "input", "input_source", "output",
                "repair_instructions", "repaired_output", "intermediate_outputs", "tags",
                "judge_rating", "usage", "model_type"]
OUTPUT_KEYS = ["v", "id", "path", "created_at", "created_by", "output", "source", "rating",
               "model_type"]
USAGE_KEYS = ["input_tokens", "output_tokens", "total_tokens", "cost"]
SECRET = "sk-test-SECRETKEY-7f3a9c21"
SEED_MODEL = "Qwen/Qwen2.5-72B-Instruct-Turbo"
# Fast retries so that failure paths finish in well under a second.
CONFIG = {"providers": {
    name: {"max_attempts": 2, "backoff_base_ms": 5, "backoff_max_ms": 20, "schema_retries": 1,
           "concurrency": 256}
    for name in ("together_ai", "openai")}}


def norm(s):
    return "".join(s.split()).lower()


def short_hash(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


class Fake:
    """The fake provider's control API."""

    def __init__(self, base):
        self.base = base

    def _get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.loads(r.read().decode("utf-8"))

    def requests(self, model=None, since=0):
        q = "/_requests"
        if model is not None:
            q += "?model=" + urllib.parse.quote(model, safe="")
        return [x for x in self._get(q)["requests"] if x["seq"] > since]

    def mark(self):
        reqs = self._get("/_requests?limit=1")["requests"]
        return reqs[-1]["seq"] if reqs else 0

    def calls(self, model):
        return len(self.requests(model))


def messages_text(req):
    return "\n".join(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                     for m in req["body"]["messages"])


def last_user(req):
    return [m for m in req["body"]["messages"] if m["role"] == "user"][-1]["content"]


def system_of(req):
    return [m for m in req["body"]["messages"] if m["role"] == "system"][0]["content"]


class GenEnv:
    def __init__(self, srv, fake_base):
        self.srv = srv
        self.c = srv.client
        self.c.timeout = 30
        self.fake = Fake(fake_base)

    def model(self, *directives):
        return "+".join(["m-" + uuid.uuid4().hex[:10]] + list(directives))

    def task(self, **extra):
        p = self.c.new_project(name="gen " + uuid.uuid4().hex[:6])
        extra.setdefault("requirements", [
            {"name": "简洁", "instruction": "Keep it concise"},
            {"name": "礼貌", "instruction": "Be polite"}])
        t = self.c.new_task(p["id"], name="翻译", instruction="把句子翻译成英文", **extra)
        return p["id"], t["id"]

    @staticmethod
    def ds(pid, tid, what):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (pid, tid, what)

    @staticmethod
    def runs_path(pid, tid, rest=""):
        return "/api/projects/%s/tasks/%s/runs%s" % (pid, tid, rest)


def provider_env(fake_base, key=SECRET):
    env = {"HETU_TOGETHER_AI_BASE_URL": fake_base + "/v1", "HETU_OPENAI_BASE_URL": fake_base + "/v1",
           "TOGETHERAI_API_KEY": key, "TOGETHER_API_KEY": "", "OPENAI_API_KEY": key}
    return env


def start_gen_server(workdir, fake_base, config=CONFIG, env=None):
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "hetu.json"
    cfg.write_text(json.dumps(config))
    e = provider_env(fake_base)
    e.update(env or {})
    return Server(workdir, args=["--config", str(cfg)], env=e).start()


@pytest.fixture(scope="module")
def gen(hetu_bin, fake_llm, tmp_path_factory):
    srv = start_gen_server(tmp_path_factory.mktemp("gen"), fake_llm)
    yield GenEnv(srv, fake_llm)
    srv.assert_clean_exit()


def check_taskrun(run, saved):
    assert list(run.keys()) == TASKRUN_KEYS, list(run.keys())
    assert run["v"] == 1 and run["model_type"] == "task_run"
    if saved:
        assert_id(run["id"])
    else:
        assert run["id"] is None
    assert run["path"] is None
    assert_timestamp(run["created_at"], near=datetime.now(timezone.utc))
    assert isinstance(run["created_by"], str) and run["created_by"]
    assert isinstance(run["input"], str)
    assert set(run["input_source"]) == {"type", "properties"}
    assert run["input_source"]["type"] in ("human", "synthetic", "file_import")
    out = run["output"]
    assert list(out.keys()) == OUTPUT_KEYS, list(out.keys())
    assert_id(out["id"])
    assert out["path"] is None and out["v"] == 1 and out["model_type"] == "task_output"
    assert_timestamp(out["created_at"], near=datetime.now(timezone.utc))
    assert isinstance(out["output"], str)
    assert set(out["source"]) == {"type", "properties"}
    assert run["repair_instructions"] is None and run["repaired_output"] is None
    assert isinstance(run["intermediate_outputs"], dict)
    assert isinstance(run["tags"], list)
    assert list(run["usage"].keys()) == USAGE_KEYS
    return run


def categories(gen, pid, tid, model, n, node_path=(), **extra):
    body = {"node_path": list(node_path), "num_subtopics": n, "model_name": model,
            "provider": "together_ai"}
    body.update(extra)
    return gen.c.post(gen.ds(pid, tid, "generate_categories"), body)


def subtopics_of(r):
    assert r.status == 200, r
    run = check_taskrun(r.json(), saved=False)
    out = json.loads(run["output"]["output"])
    assert list(out.keys()) == ["subtopics"]
    assert all(isinstance(s, str) and s.strip() for s in out["subtopics"])
    return out["subtopics"]


def tree_node(tree, path):
    node = tree
    for name in path:
        kids = [k for k in node["children"] if k["name"] == name]
        assert kids, "no node %r under %r: %r" % (name, node["name"], [k["name"] for k in node["children"]])
        node = kids[0]
    return node


# ---- generate_categories ----

def test_seed_generate_categories(gen):
    pid, tid = gen.task()
    mark = gen.fake.mark()
    r = gen.c.post(gen.ds(pid, tid, "generate_categories"), {
        "node_path": ["root"], "num_subtopics": 5, "model_name": SEED_MODEL,
        "provider": "together_ai", "human_guidance": "生成指导说明",
        "drop_unsupported_params": True})
    names = subtopics_of(r)
    assert len(names) == 5 and len({norm(n) for n in names}) == 5
    run = r.json()
    assert run["input_source"] == {"type": "human", "properties": {"created_by": run["created_by"]}}
    assert run["output"]["source"]["type"] == "synthetic"
    assert run["output"]["source"]["properties"]["model_name"] == SEED_MODEL
    assert run["output"]["source"]["properties"]["model_provider"] == "together_ai"
    assert "生成指导说明" in r.raw.decode("utf-8"), "Chinese must be raw UTF-8"
    assert run["tags"] == [] and run["intermediate_outputs"] == {}

    reqs = gen.fake.requests(SEED_MODEL, since=mark)
    assert len(reqs) == 1
    req = reqs[0]
    assert req["path"].endswith("/chat/completions")
    text = messages_text(req)
    assert "把句子翻译成英文" in text
    assert "1) Keep it concise" in text and "2) Be polite" in text
    assert "exactly 5" in last_user(req)
    assert "生成指导说明" in last_user(req)
    assert "Additional instructions" in last_user(req)
    rf = req["body"]["response_format"]
    assert rf["type"] == "json_schema"
    schema = rf["json_schema"]["schema"]
    assert schema["properties"]["subtopics"]["type"] == "array"
    assert schema["properties"]["subtopics"]["items"]["type"] == "string"
    assert req["headers"]["authorization"].endswith(SECRET[-4:])

    tree = gen.c.ok("GET", gen.ds(pid, tid, "topics"))
    assert tree["name"] == "root" and tree["path"] == []
    assert sorted(k["name"] for k in tree["children"]) == sorted(names)
    for k in tree["children"]:
        assert k["path"] == [k["name"]] and k["sample_count"] == 0 and k["children"] == []


def test_categories_avoid_existing_and_stored_children(gen):
    pid, tid = gen.task()
    model = gen.model()
    first = subtopics_of(categories(gen, pid, tid, model, 3, ["root", "科学 Science"]))
    assert len(first) == 3
    mark = gen.fake.mark()
    r = categories(gen, pid, tid, model, 4, ["科学 Science"], existing_topics=["Foo Bar", "量子"])
    second = subtopics_of(r)
    assert len(second) == 4
    taken = {norm(x) for x in first + ["Foo Bar", "量子"]}
    assert not taken & {norm(x) for x in second}
    req = gen.fake.requests(model, since=mark)[0]
    user = last_user(req)
    assert "科学 Science" in user
    assert "exactly 4" in user
    for name in first + ["Foo Bar", "量子"]:
        assert name in user, "name to avoid %r missing from the prompt" % name
    assert "Additional instructions" not in user
    node = tree_node(gen.c.ok("GET", gen.ds(pid, tid, "topics")), ["科学 Science"])
    assert sorted(k["name"] for k in node["children"]) == sorted(first + second)
    assert node["path"] == ["科学 Science"]


def test_categories_too_few_gets_followup(gen):
    pid, tid = gen.task()
    model = gen.model("count=2")
    names = subtopics_of(categories(gen, pid, tid, model, 5))
    assert len(names) == 5 and len({norm(n) for n in names}) == 5
    reqs = gen.fake.requests(model)
    assert len(reqs) == 3, "2 + 2 + 1 needs three calls, made %d" % len(reqs)
    assert "exactly 5" in last_user(reqs[0])
    assert "exactly 3" in last_user(reqs[1])
    assert "exactly 1" in last_user(reqs[2])
    for n in names[:2]:
        assert n in last_user(reqs[1]), "follow-up must name what is already taken"


def test_categories_too_many_cut_to_n(gen):
    pid, tid = gen.task()
    model = gen.model("count=9")
    names = subtopics_of(categories(gen, pid, tid, model, 5))
    assert len(names) == 5 and len({norm(n) for n in names}) == 5
    assert gen.fake.calls(model) == 1
    tree = gen.c.ok("GET", gen.ds(pid, tid, "topics"))
    assert len(tree["children"]) == 5


def test_categories_duplicates_still_n_distinct(gen):
    pid, tid = gen.task()
    model = gen.model("dupes")
    names = subtopics_of(categories(gen, pid, tid, model, 4))
    assert len(names) == 4 and len({norm(n) for n in names}) == 4
    assert gen.fake.calls(model) >= 2


def test_categories_drop_names_colliding_with_existing(gen):
    """Names equal to an existing topic up to case and spaces are dropped and replaced.

    The fake's names carry sha1(last user message); after a schema-invalid first answer the
    last user message is the server's fixed correction text, so the second answer is
    predictable: learn the correction text with one model, then use a fresh one."""
    pid, tid = gen.task()
    probe = gen.model("schemabad=1")
    subtopics_of(categories(gen, pid, tid, probe, 2, ["probe"]))
    reqs = gen.fake.requests(probe)
    assert len(reqs) >= 2, "schemabad=1 must cause a corrective second call"
    feedback = last_user(reqs[1])
    tag = short_hash(feedback)
    model = gen.model("schemabad=1")
    existing = ["SUBTOPICS %s 1" % tag.upper(), "sub topics  %s 2" % tag]
    names = subtopics_of(categories(gen, pid, tid, model, 3, ["real"], existing_topics=existing))
    assert len(names) == 3 and len({norm(n) for n in names}) == 3
    keys = {norm(n) for n in names}
    assert norm(existing[0]) not in keys and norm(existing[1]) not in keys, names
    assert "subtopics %s 3" % tag in names, "the non-colliding name of that answer is kept"
    assert gen.fake.calls(model) >= 3, "two dropped names need a follow-up call"


def test_categories_defaults_to_six(gen):
    pid, tid = gen.task()
    model = gen.model()
    r = gen.c.post(gen.ds(pid, tid, "generate_categories"),
                   {"node_path": [], "model_name": model, "provider": "together_ai"})
    assert len(subtopics_of(r)) == 6


# ---- generate_samples ----

def samples_of(r):
    assert r.status == 200, r
    run = check_taskrun(r.json(), saved=False)
    out = json.loads(run["output"]["output"])
    assert list(out.keys()) == ["generated_samples"]
    return out["generated_samples"]


def test_seed_generate_samples(gen):
    pid, tid = gen.task()
    mark = gen.fake.mark()
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"), {
        "topic": ["主题路径"], "num_samples": 3, "model_name": SEED_MODEL,
        "provider": "together_ai", "human_guidance": "生成指导说明"})
    items = samples_of(r)
    assert len(items) == 3 and len(set(items)) == 3
    assert all(isinstance(x, str) and x for x in items)
    req = gen.fake.requests(SEED_MODEL, since=mark)[0]
    user = last_user(req)
    assert "主题路径" in user and "exactly 3" in user and "生成指导说明" in user
    assert "not answers" in user
    assert "把句子翻译成英文" in messages_text(req) and "1) Keep it concise" in messages_text(req)
    schema = req["body"]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["generated_samples"]["items"] == {"type": "string"}
    assert r.json()["input_source"]["type"] == "human"


def test_samples_exact_count_with_short_and_duplicate_answers(gen):
    pid, tid = gen.task()
    for directive, n in (("count=2", 5), ("count=20", 7), ("dupes", 6)):
        model = gen.model(directive)
        items = samples_of(gen.c.post(gen.ds(pid, tid, "generate_samples"), {
            "topic": [], "num_samples": n, "model_name": model, "provider": "together_ai"}))
        assert len(items) == n and len(set(items)) == n, (directive, items)


def test_samples_default_count_is_eight(gen):
    pid, tid = gen.task()
    items = samples_of(gen.c.post(gen.ds(pid, tid, "generate_samples"), {
        "topic": ["a", "b"], "model_name": gen.model(), "provider": "together_ai"}))
    assert len(items) == 8


INPUT_SCHEMA = {"type": "object",
                "properties": {"问题": {"type": "string", "minLength": 3},
                               "level": {"type": "integer", "minimum": 1, "maximum": 5}},
                "required": ["问题", "level"]}


def valid_input(x):
    return (isinstance(x, dict) and set(x) <= {"问题", "level"} and isinstance(x.get("问题"), str)
            and len(x["问题"]) >= 3 and isinstance(x.get("level"), int)
            and not isinstance(x.get("level"), bool) and 1 <= x["level"] <= 5)


def test_samples_structured_input(gen):
    pid, tid = gen.task(input_json_schema=json.dumps(INPUT_SCHEMA, ensure_ascii=False))
    model = gen.model()
    items = samples_of(gen.c.post(gen.ds(pid, tid, "generate_samples"), {
        "topic": ["数学"], "num_samples": 4, "model_name": model, "provider": "together_ai"}))
    assert len(items) == 4
    assert all(valid_input(x) for x in items), items
    assert len({json.dumps(x, sort_keys=True) for x in items}) == 4
    req = gen.fake.requests(model)[0]
    schema = req["body"]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["generated_samples"]["items"] == INPUT_SCHEMA
    assert "问题" in last_user(req), "the input schema is described in the prompt"


# ---- errors ----

def test_unknown_project_and_task_404(gen):
    pid, tid = gen.task()
    body = {"node_path": [], "num_subtopics": 2, "model_name": "x", "provider": "together_ai"}
    for p, t in (("999999999999", tid), (pid, "999999999999")):
        for what in ("generate_categories", "generate_samples"):
            b = dict(body) if what == "generate_categories" else {
                "topic": [], "num_samples": 2, "model_name": "x", "provider": "together_ai"}
            assert_error(gen.c.post(gen.ds(p, t, what), b), 404, "not_found")
    assert_error(gen.c.get(gen.ds("999999999999", tid, "topics")), 404, "not_found")


def test_unknown_provider_400_lists_providers(gen):
    pid, tid = gen.task()
    mark = gen.fake.mark()
    r = categories(gen, pid, tid, "x", 2, provider="no_such_provider")
    body = assert_error(r, 400, "bad_request", mentions=("no_such_provider", "together_ai", "openai", "anthropic"))
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"),
                   {"topic": [], "model_name": "x", "provider": "nope"})
    assert_error(r, 400, "bad_request", mentions=("together_ai",))
    assert gen.fake.requests(since=mark) == []
    assert body.get("field") == "provider"


def test_missing_key_400_names_variable(start_server, fake_llm, tmp_path):
    srv = start_gen_server(tmp_path / "nokey", fake_llm,
                           env={"TOGETHERAI_API_KEY": "", "TOGETHER_API_KEY": ""})
    g = GenEnv(srv, fake_llm)
    try:
        pid, tid = g.task()
        r = categories(g, pid, tid, g.model(), 2)
        assert_error(r, 400, "bad_request", mentions=("TOGETHERAI_API_KEY",))
        r = g.c.post(g.ds(pid, tid, "save_sample"), {
            "input": "hi", "output_model_name": "x", "output_provider": "together_ai"})
        assert_error(r, 400, "bad_request", mentions=("TOGETHERAI_API_KEY",))
    finally:
        srv.assert_clean_exit()


def test_provider_down_502_without_key(gen):
    pid, tid = gen.task()
    model = gen.model("fail500", "leakkey")
    t0 = time.monotonic()
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"),
                   {"topic": [], "num_samples": 2, "model_name": model, "provider": "together_ai"})
    body = assert_error(r, 502, "provider_error")
    assert time.monotonic() - t0 < 10
    assert "The server had an error" in body["detail"], body
    assert SECRET not in r.raw.decode("utf-8"), "the provider key leaked into the answer"
    assert SECRET[-12:] not in r.raw.decode("utf-8")
    assert gen.fake.calls(model) == 2, "max_attempts 2 from the config file"


def test_schema_invalid_output_502_says_what(gen):
    pid, tid = gen.task()
    model = gen.model("schemabad")
    r = categories(gen, pid, tid, model, 3)
    body = assert_error(r, 502, "provider_error")
    assert "schema" in body["detail"] and "subtopics" in body["detail"], body
    assert gen.fake.calls(model) == 2, "schema_retries 1 from the config file"


@pytest.mark.parametrize("patch,field", [
    ({"num_subtopics": 0}, "num_subtopics"),
    ({"num_subtopics": 101}, "num_subtopics"),
    ({"num_subtopics": "5.5"}, "num_subtopics"),  # "5" passes, as on the gateway
    ({"model_name": None}, "model_name"),
    ({"model_name": 7}, "model_name"),
    ({"provider": None}, "provider"),
    ({"node_path": 5}, "node_path"),
    ({"node_path": [1, 2]}, "node_path[0]"),
    ({"existing_topics": "x"}, "existing_topics"),
    ({"drop_unsupported_params": "maybe"}, "drop_unsupported_params"),  # "yes" passes
    ({"human_guidance": ["x"]}, "human_guidance"),
])
def test_categories_bad_bodies_422(gen, patch, field):
    if not hasattr(gen, "_bad_task"):
        gen._bad_task = gen.task()
    pid, tid = gen._bad_task
    body = {"node_path": [], "num_subtopics": 3, "model_name": "x", "provider": "together_ai"}
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not None}
    mark = gen.fake.mark()
    r = gen.c.post(gen.ds(pid, tid, "generate_categories"), body)
    assert_error(r, 422, "invalid", field=field)
    assert gen.fake.requests(since=mark) == []


@pytest.mark.parametrize("patch,field", [
    ({"num_samples": 0}, "num_samples"),
    ({"num_samples": 101}, "num_samples"),
    ({"num_samples": 2.5}, "num_samples"),
    ({"topic": {"a": 1}}, "topic"),
    ({"model_name": None}, "model_name"),
    ({"num_samples": "many"}, "num_samples"),  # unknown keys are ignored here (gateway route)
])
def test_samples_bad_bodies_422(gen, patch, field):
    if not hasattr(gen, "_bad_task"):
        gen._bad_task = gen.task()
    pid, tid = gen._bad_task
    body = {"topic": [], "num_samples": 3, "model_name": "x", "provider": "together_ai"}
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not None}
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"), body)
    assert_error(r, 422, "invalid", field=field)


def test_malformed_json_400(gen):
    pid, tid = gen.task()
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"), b'{"topic": [')
    assert_error(r, 400, "bad_json")
    r = gen.c.post(gen.ds(pid, tid, "generate_samples"), [1, 2])
    assert_error(r, 422, "invalid")


# ---- disconnects ----

def leave_pending_generate(s, fake, path, model):
    """Sends generate_samples for a model with latency=3000 on the socket s, waits until its
    model call has started, then closes s; returns when it closed."""
    body = json.dumps({"topic": [], "num_samples": 2, "model_name": model,
                       "provider": "together_ai"}).encode()
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body)) + body)
    deadline = time.monotonic() + 3
    while fake.calls(model) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.calls(model) == 1, "the model call should have started"
    s.close()
    return time.monotonic()


def assert_call_cancelled(fake, model, t0):
    """The fake saw its connection closed before the 3 s latency ran out (status 0), and no
    retry followed."""
    deadline = time.monotonic() + 2.5
    status = None
    while time.monotonic() < deadline:
        status = fake.requests(model)[0]["status"]
        if status is not None:
            break
        time.sleep(0.05)
    assert status == 0 and time.monotonic() - t0 < 2.8, \
        "the provider call was not cancelled when the client left (status %r)" % (status,)
    assert fake.calls(model) == 1, "no retry of a cancelled call"


def test_client_disconnect_cancels_pending_call(gen):
    pid, tid = gen.task()
    model = gen.model("latency=3000")
    s = socket.create_connection((gen.srv.host, gen.srv.port), timeout=5)
    t0 = leave_pending_generate(s, gen.fake, gen.ds(pid, tid, "generate_samples"), model)
    # the server keeps answering while the call is parked and after the client left
    pid2, tid2 = gen.task()
    assert gen.c.ok("GET", "/api/projects/%s/tasks/%s" % (pid2, tid2))["id"] == tid2
    assert_call_cancelled(gen.fake, model, t0)
    assert gen.srv.running()


def test_concurrent_categories_on_one_node_stay_distinct(gen):
    """Two requests growing the same node at the same time must not both return (and store)
    the same names: each was promised names not already children of the node."""
    import threading
    pid, tid = gen.task()
    model = gen.model("latency=300")
    results = [None, None]

    def go(i):
        results[i] = categories(gen, pid, tid, model, 3, ["same"])

    ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    a, b = subtopics_of(results[0]), subtopics_of(results[1])
    node = tree_node(gen.c.ok("GET", gen.ds(pid, tid, "topics")), ["same"])
    kids = [k["name"] for k in node["children"]]
    assert len(kids) == len({norm(k) for k in kids}), "duplicate children in the tree: %r" % kids
    assert not {norm(x) for x in a} & {norm(x) for x in b}, \
        "two concurrent calls on one node returned the same 'new' subtopics: %r / %r" % (a, b)
    assert len(kids) == 6


def test_disconnect_from_batch_cancels_calls(gen):
    pid, tid = gen.task()
    model = gen.model("latency=3000")
    samples = [{"input": "d%d" % i, "output_model_name": model, "output_provider": "together_ai"}
               for i in range(5)]
    body = json.dumps({"samples": samples}).encode()
    s = socket.create_connection((gen.srv.host, gen.srv.port), timeout=5)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (gen.ds(pid, tid, "save_samples_batch").encode(),
                                               len(body)) + body)
    deadline = time.monotonic() + 3
    while gen.fake.calls(model) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gen.fake.calls(model) == 5
    s.close()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        statuses = [x["status"] for x in gen.fake.requests(model)]
        if None not in statuses:
            break
        time.sleep(0.05)
    assert statuses == [0] * 5, "calls of a batch whose client left were not cancelled: %r" % statuses
    time.sleep(0.2)
    assert gen.c.ok("GET", gen.runs_path(pid, tid))["runs"] == [], "a cancelled batch stores nothing"


def test_shutdown_with_pending_generate(start_server, fake_llm, tmp_path):
    """SIGTERM while a generate call waits on the model: the call (1.5 s) finishes within the
    shutdown grace period (10 s), the client gets its samples, and the server exits 0."""
    import threading
    srv = start_gen_server(tmp_path / "shut", fake_llm)
    g = GenEnv(srv, fake_llm)
    pid, tid = g.task()
    model = g.model("latency=1500")
    box = {}

    def go():
        try:
            box["r"] = g.c.post(g.ds(pid, tid, "generate_samples"), {
                "topic": [], "num_samples": 2, "model_name": model, "provider": "together_ai"})
        except Exception as exc:  # noqa: BLE001
            box["exc"] = exc

    t = threading.Thread(target=go)
    t.start()
    deadline = time.monotonic() + 3
    while g.fake.calls(model) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    srv.assert_clean_exit()
    t.join(10)
    assert time.monotonic() - t0 < 12
    assert "r" in box, "the pending request got no answer: %r" % box.get("exc")
    r = box["r"]
    assert r.status == 200, r
    assert len(json.loads(r.json()["output"]["output"])["generated_samples"]) == 2
