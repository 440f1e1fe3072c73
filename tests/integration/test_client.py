# SPDX-License-Identifier: MIT
"""The Python client (clients/python) against a real server: every call of the user's document
with its example values, through the gateway's import path and through hetu_client; projects and
tasks; failures carrying the server's detail; the Authorization header on every method (seen by a
recording proxy in front of the server); streamed uploads; jobs and waiting for them.

together_ai is played by the fake provider (HETU_TOGETHER_AI_BASE_URL)."""

import email.parser
import email.policy
import hashlib
import http.client
import http.server
import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import urllib.parse

import pytest

from hetu_http import REPO, assert_error, assert_id, free_port

CLIENT_DIR = REPO / "clients" / "python"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

import hetu_client  # noqa: E402
from hetu_client import (HetuAIClient, HetuAIDataGenClient, HetuAITaskClient,  # noqa: E402
                         HetuAPIError, HetuConnectionError, HetuJobTimeout)

API_KEY = "hk-test-0f3a9c"
MODEL = "Qwen/Qwen2.5-72B-Instruct-Turbo"
PROVIDER = "together_ai"
FINAL = {"completed", "completed_with_errors", "failed", "cancelled"}


# ---------------------------------------------------------------- recording proxy

class Recorder:
    """An HTTP proxy in front of a server: forwards each request unchanged and records its
    method, path, headers, body and the answer's status."""

    def __init__(self, upstream_host, upstream_port):
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                entry = {"method": self.command, "path": self.path,
                         "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": body, "status": None}
                with rec.lock:
                    rec.requests.append(entry)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "keep-alive")}
                c = http.client.HTTPConnection(upstream_host, upstream_port, timeout=120)
                try:
                    c.request(self.command, self.path, body=body if n else None, headers=hdrs)
                    r = c.getresponse()
                    data = r.read()
                    entry["status"] = r.status
                    self.send_response(r.status)
                    for k, v in r.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                             "keep-alive"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    c.close()

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def since(self, mark):
        with self.lock:
            return list(self.requests[mark:])

    def mark(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Stub:
    """A tiny server whose answers come from ``respond(handler, body) -> (status, ctype, bytes)``;
    it records every request like Recorder."""

    def __init__(self, respond, stream_sink=False):
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                entry = {"method": self.command, "path": self.path,
                         "headers": {k.lower(): v for k, v in self.headers.items()}}
                if stream_sink:  # count and hash without keeping the body
                    h, left = hashlib.sha256(), n
                    while left:
                        block = self.rfile.read(min(left, 65536))
                        if not block:
                            break
                        h.update(block)
                        left -= len(block)
                        if left <= 4096 and "tail" not in entry:
                            entry["tail"] = b""
                        if "tail" in entry:
                            entry["tail"] += block
                    entry["received"], entry["sha256"], body = n - left, h.hexdigest(), b""
                else:
                    body = self.rfile.read(n) if n else b""
                    entry["body"] = body
                stub.requests.append(entry)
                status, ctype, data = respond(self, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def json_answer(obj, status=200):
    return status, "application/json", json.dumps(obj, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def hetu(start_server, fake_llm):
    """A server whose together_ai is the fake, with a recording proxy in front. At teardown
    every request that went through the proxy must have carried the API key."""
    srv = start_server(env={"HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1",
                            "TOGETHERAI_API_KEY": "fake-together-key"})
    rec = Recorder(srv.host, srv.port)
    rec.server = srv
    yield rec
    rec.close()
    missing = [(r["method"], r["path"]) for r in rec.requests
               if r["headers"].get("authorization") != "Bearer " + API_KEY]
    assert not missing, "requests without the API key: %r" % missing


def seed_client_class(route):
    """HetuAIDataGenClient imported the way a script does it."""
    if route == "dataset.dataset_api":
        mod = importlib.import_module("dataset.dataset_api")
    else:
        mod = importlib.import_module("hetu_client")
    return mod.HetuAIDataGenClient


ROUTES = ["dataset.dataset_api", "hetu_client"]


def new_project_task(url, instruction="把用户的句子翻译成英文。"):
    p = HetuAIClient(base_url=url, api_key=API_KEY).create_project("客户端测试", "描述")
    t = HetuAITaskClient(base_url=url, api_key=API_KEY).create_task(
        p["id"], {"name": "翻译任务", "instruction": instruction})
    return p["id"], t["id"]


def check_task_run(run, saved):
    assert run["model_type"] == "task_run"
    assert isinstance(run["input"], str)
    assert run["output"]["model_type"] == "task_output"
    assert_id(run["output"]["id"])
    assert isinstance(run["output"]["output"], str)
    if saved:
        assert_id(run["id"])
    else:
        assert run["id"] is None


def sample(n, topic_path):
    return {"input": "样本%d输入内容" % n, "topic_path": topic_path,
            "input_model_name": MODEL, "input_provider": PROVIDER,
            "output_model_name": MODEL, "output_provider": PROVIDER,
            "prompt_method": "simple_prompt_builder", "human_guidance": "人工指导说明"}


# ---------------------------------------------------------------- the user's document

def test_gateway_import_path_is_the_same_client():
    from dataset.dataset_api import HetuAIDataGenClient as Seed
    assert Seed is hetu_client.HetuAIDataGenClient
    c = Seed(base_url="http://localhost:8000", api_key=None)
    assert c.base_url == "http://localhost:8000" and c.api_key is None
    for name, params in {
            "generate_categories": ["project_id", "task_id", "input_data"],
            "generate_samples": ["project_id", "task_id", "input_data"],
            "save_sample": ["project_id", "task_id", "sample_data", "session_id"],
            "save_samples_batch": ["project_id", "task_id", "batch_data"],
            "import_samples_async": ["project_id", "task_id", "batch_data"],
            "import_samples_from_file": ["project_id", "task_id", "file_path", "request_data"]}.items():
        sig = inspect.signature(getattr(Seed, name))
        assert list(sig.parameters)[1:] == params, (name, sig)
    assert inspect.signature(Seed.save_sample).parameters["session_id"].default is None


@pytest.mark.parametrize("route", ROUTES)
def test_seed_generation_calls(hetu, route):
    Client = seed_client_class(route)
    pid, tid = new_project_task(hetu.url)
    client = Client(base_url=hetu.url, api_key=API_KEY)

    # 1. generate_categories, the document's values
    result = client.generate_categories(
        project_id=pid, task_id=tid,
        input_data={"node_path": ["root"], "num_subtopics": 5, "model_name": MODEL,
                    "provider": PROVIDER, "human_guidance": "生成指导说明",
                    "drop_unsupported_params": True})
    check_task_run(result, saved=False)
    subtopics = json.loads(result["output"]["output"])["subtopics"]
    assert len(subtopics) == 5 and len(set(subtopics)) == 5
    assert result["output"]["source"]["properties"]["model_provider"] == PROVIDER
    tree = client.get_topics(pid, tid)
    assert sorted(c["name"] for c in tree["children"]) == sorted(subtopics)

    # 2. generate_samples for one of them
    result = client.generate_samples(
        project_id=pid, task_id=tid,
        input_data={"topic": [subtopics[0]], "num_samples": 3, "model_name": MODEL,
                    "provider": PROVIDER, "human_guidance": "生成指导说明"})
    check_task_run(result, saved=False)
    generated = json.loads(result["output"]["output"])["generated_samples"]
    assert len(generated) == 3 and all(isinstance(s, str) and s for s in generated)

    # 3. save_sample, topic_path as the document's string, with its session id
    result = client.save_sample(
        project_id=pid, task_id=tid,
        sample_data={"input": "样本输入内容", "topic_path": "主题路径",
                     "input_model_name": MODEL, "input_provider": PROVIDER,
                     "output_model_name": MODEL, "output_provider": PROVIDER,
                     "prompt_method": "simple_prompt_builder", "human_guidance": "人工指导说明"},
        session_id="可选的会话ID")
    check_task_run(result, saved=True)
    assert result["input"] == "样本输入内容"
    assert "synthetic" in result["tags"] and "synthetic_session_可选的会话ID" in result["tags"]
    assert result["input_source"]["properties"]["topic_path"] == "主题路径"
    assert "样本输入内容" in result["output"]["output"]  # the fake echoes the user turn
    single_id = result["id"]

    # 4. save_samples_batch, list topic paths
    result = client.save_samples_batch(
        project_id=pid, task_id=tid,
        batch_data={"samples": [sample(1, ["主题", "路径"]), sample(2, ["主题", "路径"])]})
    assert isinstance(result, list) and len(result) == 2
    for i, run in enumerate(result, 1):
        check_task_run(run, saved=True)
        assert run["input"] == "样本%d输入内容" % i
        assert run["input_source"]["properties"]["topic_path"] == "主题>>>>>路径"
    batch_ids = [r["id"] for r in result]

    # what was stored, through list_runs and get_topics
    runs = list(client.list_runs(pid, tid))
    assert sorted(r["id"] for r in runs) == sorted([single_id] + batch_ids)
    assert [r["id"] for r in client.list_runs(pid, tid, session_id="可选的会话ID")] == [single_id]
    assert sorted(r["id"] for r in client.list_runs(pid, tid, topic_path=["主题", "路径"])) \
        == sorted(batch_ids)
    assert client.get_run(pid, tid, single_id)["id"] == single_id
    tree = client.get_topics(pid, tid)
    counts = {c["name"]: c for c in tree["children"]}
    assert counts["主题"]["sample_count"] == 2 and counts["主题路径"]["sample_count"] == 1
    assert tree["sample_count"] == 3

    # the bodies went out as UTF-8 JSON with raw characters
    posts = [r for r in hetu.requests if r["method"] == "POST"]
    assert posts and all(r["headers"]["content-type"].startswith("application/json") for r in posts)
    save = [r for r in posts if "/save_sample?" in r["path"]][0]
    assert "样本输入内容".encode("utf-8") in save["body"] and b"\\u" not in save["body"]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(save["path"]).query)
    assert q == {"session_id": ["可选的会话ID"]}


def test_list_runs_follows_pages(hetu):
    pid, tid = new_project_task(hetu.url)
    client = HetuAIDataGenClient(base_url=hetu.url, api_key=API_KEY)
    saved = client.save_samples_batch(pid, tid, {"samples": [
        dict(sample(i, ["页"]), output="输出%d" % i) for i in range(5)]})
    assert len(saved) == 5
    mark = hetu.mark()
    got = list(client.list_runs(pid, tid, limit=2))
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in saved)
    pages = [r for r in hetu.since(mark) if "/runs" in r["path"]]
    assert len(pages) == 3  # 2 + 2 + 1
    assert "cursor=" not in pages[0]["path"] and all("cursor=" in p["path"] for p in pages[1:])
    # a generator: nothing is fetched until iterated
    mark = hetu.mark()
    gen = client.list_runs(pid, tid, limit=2)
    assert hetu.since(mark) == []
    assert next(gen)["id"] in {r["id"] for r in saved}


@pytest.mark.parametrize("route", ROUTES)
def test_seed_import_samples_async(hetu, route):
    Client = seed_client_class(route)
    pid, tid = new_project_task(hetu.url)
    client = Client(base_url=hetu.url, api_key=API_KEY)
    result = client.import_samples_async(
        project_id=pid, task_id=tid,
        batch_data={"samples": [sample(1, ["主题", "路径"]), sample(2, ["主题", "路径"]),
                                dict(sample(3, "主题/其他"), output="已有输出")]})
    assert result["status"] == "import_started" and result["sample_count"] == 3
    assert isinstance(result["message"], str) and result["job_id"]
    seen = []
    job = client.wait_for_job(pid, tid, result["job_id"], on_progress=seen.append, timeout=60,
                              poll_interval=0.05)
    assert job["status"] == "completed", job
    assert job["total"] == 3 and job["completed"] == 3 and job["failed"] == 0
    assert job["kind"] == "import_samples" and job["id"] == result["job_id"]
    assert seen and seen[-1]["status"] == "completed"
    keys = [(j["status"], j["completed"], j["failed"]) for j in seen]
    assert len(keys) == len(set(keys))  # called only when something changed
    assert client.get_job(pid, tid, result["job_id"])["status"] == "completed"
    assert result["job_id"] in [j["id"] for j in client.list_jobs(pid, tid)]
    runs = list(client.list_runs(pid, tid))
    assert sorted(r["input"] for r in runs) == ["样本1输入内容", "样本2输入内容", "样本3输入内容"]
    assert [r["output"]["output"] for r in runs if r["input"] == "样本3输入内容"] == ["已有输出"]


@pytest.mark.parametrize("route", ROUTES)
def test_seed_import_samples_from_file(hetu, route, tmp_path):
    Client = seed_client_class(route)
    pid, tid = new_project_task(hetu.url)
    client = Client(base_url=hetu.url, api_key=API_KEY)
    small = tmp_path / "样本.csv"
    small.write_text("input,output,topic_path\n"
                     "\"你好，世界\",\"Hello, world\",问候>>>>>正式\n"
                     "早上好,,问候\n"
                     "\"多行\n输入\",已有,\n", encoding="utf-8")
    request_data = {"prompt_method": "simple_prompt_builder", "input_model_name": MODEL,
                    "output_model_name": MODEL, "input_provider": PROVIDER,
                    "output_provider": PROVIDER, "session_id": "文件会话"}
    result = client.import_samples_from_file(project_id=pid, task_id=tid, file_path=str(small),
                                             request_data=request_data)
    assert result["status"] == "import_completed" and result["sample_count"] == 3, result
    runs = {r["input"]: r for r in client.list_runs(pid, tid, session_id="文件会话")}
    assert set(runs) == {"你好，世界", "早上好", "多行\n输入"}
    assert runs["你好，世界"]["output"]["output"] == "Hello, world"
    assert runs["早上好"]["output"]["output"]  # generated by the output model
    assert runs["你好，世界"]["input_source"]["type"] == "file_import"

    # the upload carried the key and the query parameters
    up = [r for r in hetu.requests if "import_samples_from_file" in r["path"]][-1]
    assert up["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(up["path"]).query)
    assert {k: v[0] for k, v in q.items()} == request_data

    # a larger JSONL file goes to a job
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as f:
        for i in range(150):
            f.write(json.dumps({"input": "行%d" % i, "output": "出%d" % i}, ensure_ascii=False) + "\n")
    result = client.import_samples_from_file(pid, tid, str(big), {"session_id": "大文件"})
    assert result["status"] == "import_started" and result["sample_count"] == 150, result
    job = client.wait_for_job(pid, tid, result["job_id"], timeout=120, poll_interval=0.05)
    assert job["status"] == "completed" and job["completed"] == 150, job
    assert job["kind"] == "import_file"
    assert sum(1 for _ in client.list_runs(pid, tid, session_id="大文件", limit=40)) == 150


def test_cancel_job(hetu):
    pid, tid = new_project_task(hetu.url)
    client = HetuAIDataGenClient(base_url=hetu.url, api_key=API_KEY)
    slow = dict(sample(0, []), output_model_name=MODEL + "+latency=300")
    result = client.import_samples_async(pid, tid, {"samples": [dict(slow, input="慢%d" % i)
                                                                for i in range(200)]})
    job = client.cancel_job(pid, tid, result["job_id"])
    assert job["id"] == result["job_id"]
    job = client.wait_for_job(pid, tid, result["job_id"], timeout=60)
    assert job["status"] == "cancelled", job
    assert job["completed"] < 200


def test_seed_script_runs_unchanged(hetu, tmp_path):
    """A script written against the gateway, run as-is with clients/python on PYTHONPATH."""
    pid, tid = new_project_task(hetu.url)
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from dataset.dataset_api import HetuAIDataGenClient

        client = HetuAIDataGenClient(
            base_url=sys.argv[1],  # API服务的基础URL
            api_key=sys.argv[4]  # 可选的API认证密钥
        )
        result = client.generate_categories(
            project_id=sys.argv[2],
            task_id=sys.argv[3],
            input_data={
                "node_path": ["root"],
                "num_subtopics": 5,
                "model_name": "Qwen/Qwen2.5-72B-Instruct-Turbo",
                "provider": "together_ai",
                "human_guidance": "生成指导说明",
                "drop_unsupported_params": True
            }
        )
        print(json.dumps(json.loads(result["output"]["output"]), ensure_ascii=False))
        try:
            result = client.generate_categories(project_id="项目ID", task_id="任务ID",
                                                input_data={"node_path": ["root"]})
        except Exception as e:
            print(f"操作失败: {str(e)}")
    """), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(CLIENT_DIR), PYTHONIOENCODING="utf-8")
    p = subprocess.run(["/usr/bin/python3", str(script), hetu.url, pid, tid, API_KEY],
                       capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(json.loads(lines[0])["subtopics"]) == 5
    assert lines[1].startswith("操作失败: ")
    q = urllib.parse.quote
    direct = hetu.server.client.post("/api/dataset/projects/%s/tasks/%s/generate_categories"
                                     % (q("项目ID"), q("任务ID")), {"node_path": ["root"]})
    assert assert_error(direct, 404, "not_found")["detail"] in lines[1]


def test_pip_install(tmp_path):
    """`pip install clients/python` installs hetu_client and nothing named `dataset` (an unrelated
    PyPI library's name); the gateway's import line works from the checkout only."""
    src = tmp_path / "src"
    shutil.copytree(CLIENT_DIR, src, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                    "*.egg-info"))
    target = tmp_path / "site"
    p = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--no-build-isolation",
                        "--no-index", "--no-deps", "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    top = sorted(x.name for x in target.iterdir() if not x.name.endswith((".dist-info", ".egg-info")))
    assert top == ["hetu_client"], top
    code = ("import importlib.util, hetu_client; "
            "assert importlib.util.find_spec('dataset') is None; "
            "print(hetu_client.__file__)")
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(target)), cwd=str(tmp_path), timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith(str(target))
    # from the checkout, the gateway's import line gives the same client
    code = ("import hetu_client, dataset.dataset_api as d; "
            "assert d.HetuAIDataGenClient is hetu_client.HetuAIDataGenClient; "
            "print(d.__file__)")
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(CLIENT_DIR)), cwd=str(tmp_path), timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(CLIENT_DIR / "dataset" / "dataset_api.py")


# ---------------------------------------------------------------- projects and tasks

def test_project_and_task_clients(hetu):
    projects = HetuAIClient(base_url=hetu.url, api_key=API_KEY)
    tasks = HetuAITaskClient(base_url=hetu.url, api_key=API_KEY)
    p = projects.create_project("数据项目", description="中文描述")
    assert_id(p["id"])
    assert (p["name"], p["description"], p["model_type"]) == ("数据项目", "中文描述", "project")
    q = projects.create_project("second")
    assert q["description"] == ""
    listed = projects.get_projects()
    assert isinstance(listed, list)
    assert {x["id"] for x in listed} == {p["id"], q["id"]}
    assert projects.get_project(p["id"]) == p
    assert projects.update_project(p["id"], name="新名字")["name"] == "新名字"
    u = projects.update_project(p["id"], {"description": "新描述"})
    assert (u["name"], u["description"]) == ("新名字", "新描述")

    t = tasks.create_task(p["id"], {"name": "任务", "instruction": "回答问题",
                                    "requirements": [{"name": "简洁", "instruction": "短"}]})
    assert_id(t["id"])
    assert t["instruction"] == "回答问题" and t["requirements"][0]["priority"] == 2
    assert [x["id"] for x in tasks.get_tasks(p["id"])] == [t["id"]]
    assert tasks.get_task(p["id"], t["id"]) == t
    assert tasks.update_task(p["id"], t["id"], {"instruction": "新指令"})["instruction"] == "新指令"
    assert tasks.update_task(p["id"], t["id"], name="改名")["name"] == "改名"
    assert isinstance(tasks.delete_task(p["id"], t["id"])["message"], str)
    with pytest.raises(HetuAPIError) as ei:
        tasks.get_task(p["id"], t["id"])
    assert ei.value.status == 404
    assert tasks.get_tasks(p["id"]) == []
    assert isinstance(projects.delete_project(q["id"])["message"], str)
    assert [x["id"] for x in projects.get_projects()] == [p["id"]]


# ---------------------------------------------------------------- failures

def server_detail(hetu, status, code, method, path, body=None):
    """The detail of the server's own answer to the request, which must be that error."""
    r = hetu.server.client.request(method, path, body=body)
    return assert_error(r, status, code)["detail"]


def test_errors_carry_the_server_detail(hetu):
    pid, tid = new_project_task(hetu.url)
    client = HetuAIDataGenClient(base_url=hetu.url, api_key=API_KEY)
    projects = HetuAIClient(base_url=hetu.url, api_key=API_KEY)
    base = "/api/dataset/projects/%s/tasks/%s" % (pid, tid)

    # 404: unknown project (an id the server never issued)
    with pytest.raises(HetuAPIError) as ei:
        projects.get_project("999999999999")
    detail = server_detail(hetu, 404, "not_found", "GET", "/api/projects/999999999999")
    assert (ei.value.status, ei.value.detail) == (404, detail)
    assert detail in str(ei.value)
    with pytest.raises(HetuAPIError) as ei:
        client.save_sample("999999999999", tid, {"input": "x", "output": "y"})
    assert ei.value.status == 404 and ei.value.detail in str(ei.value)

    # 422: a field out of range, named by the server
    bad = {"node_path": ["root"], "num_subtopics": 0, "model_name": MODEL, "provider": PROVIDER}
    with pytest.raises(HetuAPIError) as ei:
        client.generate_categories(pid, tid, bad)
    detail = server_detail(hetu, 422, "invalid", "POST", base + "/generate_categories", bad)
    assert (ei.value.status, ei.value.detail, ei.value.field) == (422, detail, "num_subtopics")
    assert detail in str(ei.value)

    # 400: the document's placeholder prompt method is not a prompt method
    s = dict(sample(1, "a/b"), prompt_method="提示方法")
    with pytest.raises(HetuAPIError) as ei:
        client.save_sample(pid, tid, s, session_id="s")
    assert ei.value.status == 400
    assert "提示方法" in str(ei.value) and "simple_prompt_builder" in str(ei.value)
    assert isinstance(ei.value, Exception)

    # every sample of a batch failing is an error too
    with pytest.raises(HetuAPIError) as ei:
        client.save_samples_batch(pid, tid, {"samples": [s, s]})
    assert ei.value.status == 400 and "提示方法" in str(ei.value)


def test_error_without_json_body_uses_the_text():
    stub = Stub(lambda h, body: (503, "text/plain", "维护中 maintenance".encode("utf-8")))
    try:
        client = HetuAIDataGenClient(base_url=stub.url, api_key=API_KEY)
        with pytest.raises(HetuAPIError) as ei:
            client.generate_samples("123456789012", "123456789012", {"topic": []})
        assert ei.value.status == 503 and ei.value.detail == "维护中 maintenance"
        assert "维护中 maintenance" in str(ei.value)
    finally:
        stub.close()


def test_unreachable_server_and_timeout():
    client = HetuAIClient(base_url="http://127.0.0.1:%d" % free_port(), api_key=API_KEY)
    with pytest.raises(HetuConnectionError) as ei:
        client.get_projects()
    assert isinstance(ei.value, HetuAPIError) and ei.value.status is None
    assert "127.0.0.1" in str(ei.value)

    def slow(h, body):
        time.sleep(3)
        return json_answer({"projects": []})
    stub = Stub(slow)
    try:
        client = HetuAIClient(base_url=stub.url, api_key=API_KEY, timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(HetuConnectionError) as ei:
            client.get_projects()
        assert time.monotonic() - t0 < 2.5
        assert "0.5" in str(ei.value)
    finally:
        stub.close()


# ---------------------------------------------------------------- the API key on every method

def test_api_key_on_every_method(tmp_path):
    """Every public method of the three clients, against a stub answering like the API: each
    request carries the key (this also covers endpoints whose server side is checked elsewhere).
    """
    job = {"id": "123", "kind": "import_samples", "status": "completed", "total": 1,
           "completed": 1, "failed": 0}

    def respond(h, body):
        path = urllib.parse.urlsplit(h.path).path
        if path.endswith("/runs"):
            return json_answer({"runs": [{"id": "1"}], "next_cursor": None})
        if path.endswith("/jobs"):
            return json_answer({"jobs": [job]})
        if path == "/api/projects":
            return json_answer({"projects": []})
        if "/jobs/" in path:
            return json_answer(job)
        return json_answer({"ok": path})
    stub = Stub(respond)
    f = tmp_path / "rows.csv"
    f.write_text("input\nx\n")
    calls = {
        "generate_categories": lambda c: c.generate_categories("1", "2", {"node_path": []}),
        "generate_samples": lambda c: c.generate_samples("1", "2", {"topic": []}),
        "save_sample": lambda c: c.save_sample("1", "2", {"input": "x"}, session_id="s"),
        "save_samples_batch": lambda c: c.save_samples_batch("1", "2", {"samples": []}),
        "import_samples_async": lambda c: c.import_samples_async("1", "2", {"samples": []}),
        "import_samples_from_file": lambda c: c.import_samples_from_file("1", "2", str(f), {}),
        "get_job": lambda c: c.get_job("1", "2", "3"),
        "list_jobs": lambda c: c.list_jobs("1", "2"),
        "cancel_job": lambda c: c.cancel_job("1", "2", "3"),
        "wait_for_job": lambda c: c.wait_for_job("1", "2", "3"),
        "list_runs": lambda c: list(c.list_runs("1", "2")),
        "get_run": lambda c: c.get_run("1", "2", "3"),
        "get_topics": lambda c: c.get_topics("1", "2"),
        "create_project": lambda c: c.create_project("n"),
        "get_projects": lambda c: c.get_projects(),
        "get_project": lambda c: c.get_project("1"),
        "update_project": lambda c: c.update_project("1", name="m"),
        "delete_project": lambda c: c.delete_project("1"),
        "create_task": lambda c: c.create_task("1", {"name": "t", "instruction": "i"}),
        "get_tasks": lambda c: c.get_tasks("1"),
        "get_task": lambda c: c.get_task("1", "2"),
        "update_task": lambda c: c.update_task("1", "2", name="u"),
        "delete_task": lambda c: c.delete_task("1", "2"),
    }
    try:
        for cls in (HetuAIDataGenClient, HetuAIClient, HetuAITaskClient):
            public = {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}
            assert public <= set(calls), "untested methods: %r" % (public - set(calls))
            for name in sorted(public):
                for key in (API_KEY, None):
                    c = cls(base_url=stub.url, api_key=key)
                    mark = len(stub.requests)
                    calls[name](c)
                    sent = stub.requests[mark:]
                    assert sent, name
                    for r in sent:
                        got = r["headers"].get("authorization")
                        assert got == ("Bearer " + key if key else None), (name, r["path"], got)
    finally:
        stub.close()


# ---------------------------------------------------------------- uploads and jobs, client side

def test_upload_is_multipart_and_streamed(tmp_path):
    stub = Stub(lambda h, body: json_answer({"status": "import_completed", "sample_count": 1,
                                             "message": "ok"}))
    try:
        f = tmp_path / "数据 \"q\".jsonl"
        content = '{"input": "你好"}\n'.encode("utf-8")
        f.write_bytes(content)
        client = HetuAIDataGenClient(base_url=stub.url, api_key=API_KEY)
        out = client.import_samples_from_file("1", "2", str(f), {"prompt_method": "few_shot_prompt_builder",
                                                                "session_id": None})
        assert out["sample_count"] == 1
        r = stub.requests[-1]
        assert r["path"] == ("/api/dataset/projects/1/tasks/2/import_samples_from_file"
                             "?prompt_method=few_shot_prompt_builder")
        assert int(r["headers"]["content-length"]) == len(r["body"])
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + r["headers"]["content-type"].encode() + b"\r\n\r\n" + r["body"])
        parts = list(msg.iter_parts())
        assert len(parts) == 1
        assert parts[0].get_param("name", header="content-disposition") == "file"
        assert parts[0].get_content_disposition() == "form-data"
        assert parts[0].get_payload(decode=True) == content
        assert 'filename="数据 %22q%22.jsonl"'.encode("utf-8") in r["body"]
    finally:
        stub.close()

    # a 24 MB file goes out whole without being held in memory
    sink = Stub(lambda h, body: json_answer({"status": "import_started", "sample_count": 0,
                                             "message": "", "job_id": "1"}), stream_sink=True)
    try:
        big = tmp_path / "big.csv"
        with open(big, "wb") as fh:
            block = b"input\n" + b"".join(b"row %07d\n" % i for i in range(100000))
            for _ in range(20):
                fh.write(block)
        size = big.stat().st_size
        assert size > 20_000_000
        client = HetuAIDataGenClient(base_url=sink.url, api_key=API_KEY)
        tracemalloc.start()
        try:
            client.import_samples_from_file("1", "2", str(big), {})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        r = sink.requests[-1]
        assert r["received"] == int(r["headers"]["content-length"]) > size
        assert r["tail"].endswith(b"row 0099999\n\r\n--" +
                                  r["headers"]["content-type"].split("boundary=")[1].encode() +
                                  b"--\r\n")
        assert peak < 4_000_000, "upload of %d bytes peaked at %d bytes of memory" % (size, peak)
    finally:
        sink.close()


def test_wait_for_job_reports_progress_and_times_out():
    states = [("queued", 0, 0), ("running", 1, 0), ("running", 1, 0), ("running", 2, 0),
              ("running", 2, 1), ("completed_with_errors", 2, 1)]
    served = []

    def respond(h, body):
        i = min(len(served), len(states) - 1)
        served.append(i)
        st, done, failed = states[i]
        return json_answer({"id": "777", "kind": "import_samples", "status": st, "total": 3,
                            "completed": done, "failed": failed})
    stub = Stub(respond)
    try:
        client = HetuAIDataGenClient(base_url=stub.url, api_key=API_KEY)
        seen = []
        job = client.wait_for_job("1", "2", "777", on_progress=seen.append, poll_interval=0.01)
        assert job["status"] == "completed_with_errors" and len(served) == len(states)
        assert [(j["status"], j["completed"], j["failed"]) for j in seen] == \
            [states[0], states[1], states[3], states[4], states[5]]
        assert all(r["path"] == "/api/dataset/projects/1/tasks/2/jobs/777" for r in stub.requests)
    finally:
        stub.close()

    stub = Stub(lambda h, body: json_answer({"id": "8", "status": "running", "total": 9,
                                             "completed": 4, "failed": 0}))
    try:
        client = HetuAIDataGenClient(base_url=stub.url, api_key=API_KEY)
        t0 = time.monotonic()
        with pytest.raises(HetuJobTimeout) as ei:
            client.wait_for_job("1", "2", "8", timeout=0.6, poll_interval=0.1)
        assert 0.5 < time.monotonic() - t0 < 3
        assert ei.value.job["completed"] == 4 and "4 of 9" in str(ei.value)
        assert isinstance(ei.value, HetuAPIError)
    finally:
        stub.close()
