# SPDX-License-Identifier: MIT
"""Scripts written for the gateway keep working: on its routes, bodies are read as its pydantic
models read them. Objects fetched and sent back whole, session_id inside a save_sample body and
unknown keys inside batch items succeed, with the ignored keys named in X-Hetu-Ignored-Fields
(read-only keys silently); "5", 5.0 and "true", 1 pass as an integer and a boolean, while
"five", 5.5 and "maybe" stay 422s naming the field. Hetu's own routes still refuse unknown keys.
The gateway's HOST and PORT variables start the server. The original client's calls go through
the gateway's import line (clients/python on the path); raw requests show the header.

together_ai is played by the fake provider (HETU_TOGETHER_AI_BASE_URL)."""

import json
import sys

import pytest

from hetu_http import REPO, assert_error, assert_id, free_port

CLIENT_DIR = REPO / "clients" / "python"
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))

from dataset.dataset_api import HetuAIDataGenClient  # noqa: E402  (the gateway's import line)
from hetu_client import HetuAIClient, HetuAITaskClient  # noqa: E402

HEADER = "X-Hetu-Ignored-Fields"
MODEL = "Qwen/Qwen2.5-72B-Instruct-Turbo"
PROVIDER = "together_ai"


@pytest.fixture
def gw(start_server, fake_llm):
    srv = start_server(env={"HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1",
                            "TOGETHERAI_API_KEY": "fake-together-key"})
    srv.c = srv.client
    srv.url = srv.base_url
    return srv


def ds(pid, tid, what):
    return "/api/dataset/projects/%s/tasks/%s/%s" % (pid, tid, what)


def project_task(gw):
    p = gw.c.new_project(name="兼容 compat")
    t = gw.c.new_task(p["id"], requirements=[{"name": "简洁", "instruction": "短", "priority": 1}])
    return p, t


def sample(text, **extra):
    s = {"input": text, "topic_path": "主题/路径", "input_model_name": MODEL,
         "input_provider": PROVIDER, "output_model_name": MODEL, "output_provider": PROVIDER,
         "prompt_method": "simple_prompt_builder", "human_guidance": "人工指导说明"}
    s.update(extra)
    return s


def ok_with(r, header):
    """200, with exactly this X-Hetu-Ignored-Fields (None: no such header)."""
    assert r.status == 200, r
    assert r.header(HEADER) == header, (r.header(HEADER), header)
    return r.json()


# ---------------------------------------------------------------- objects sent back whole

def test_fetched_project_sent_back_whole(gw):
    projects = HetuAIClient(base_url=gw.url)
    p = projects.create_project("原名", description="描述")
    fetched = projects.get_project(p["id"])

    # the original client, the whole object with one field changed: read-only keys dropped
    fetched["name"] = "新名"
    assert projects.update_project(p["id"], fetched)["name"] == "新名"
    fetched["description"] = "新描述"
    u = ok_with(gw.c.patch("/api/projects/" + p["id"], fetched), None)
    assert (u["id"], u["name"], u["description"]) == (p["id"], "新名", "新描述")
    assert u["created_at"] == p["created_at"]

    # a key the project does not have is named
    fetched["owner"] = "张三"
    fetched["tags"] = ["x"]
    ok_with(gw.c.patch("/api/projects/" + p["id"], fetched), "owner, tags")
    # and a whole fetched project makes a new one (its id is not taken)
    q = ok_with(gw.c.post("/api/project", fetched), "owner, tags")
    assert_id(q["id"])
    assert q["id"] != p["id"] and q["name"] == "新名"

    # the header comes with an error too, which names the field at fault
    r = gw.c.patch("/api/projects/" + p["id"], {"name": "", "owner": 1})
    assert_error(r, 422, "invalid", field="name")
    assert r.header(HEADER) == "owner"


def test_fetched_task_sent_back_whole(gw):
    tasks = HetuAITaskClient(base_url=gw.url)
    p, t = project_task(gw)
    fetched = tasks.get_task(p["id"], t["id"])
    req_id = fetched["requirements"][0]["id"]

    fetched["instruction"] = "新的指令"
    u = tasks.update_task(p["id"], t["id"], fetched)
    assert u["instruction"] == "新的指令" and u["requirements"][0]["id"] == req_id

    # unknown keys at the top and inside a requirement are named, with the index
    fetched["requirements"][0]["weight"] = 3
    fetched["requirements"][0]["model_type"] = "task_requirement"  # read-only: silent
    fetched["default_prompt"] = "x"
    u = ok_with(gw.c.patch("/api/projects/%s/task/%s" % (p["id"], t["id"]), fetched),
                "requirements[0].weight, default_prompt")
    assert u["requirements"] == [{"id": req_id, "name": "简洁", "description": "",
                                  "instruction": "短", "priority": 1, "type": "five_star"}]

    # the fetched task posted to another project is a new task there
    q = gw.c.new_project(name="副本")
    c = ok_with(gw.c.post("/api/projects/%s/task" % q["id"], fetched),
                "requirements[0].weight, default_prompt")
    assert c["id"] != t["id"] and c["instruction"] == "新的指令"
    assert [x["id"] for x in gw.c.ok("GET", "/api/projects/%s/tasks" % q["id"])] == [c["id"]]


# ---------------------------------------------------------------- samples

def test_save_sample_with_session_id_in_body(gw):
    p, t = project_task(gw)
    client = HetuAIDataGenClient(base_url=gw.url, api_key=None)

    # the original client: session_id in the body is ignored (the gateway read it from the query)
    run = client.save_sample(p["id"], t["id"], sample("样本一", session_id="体内会话"),
                             session_id="查询会话")
    assert run["tags"] == ["synthetic", "synthetic_session_查询会话"]

    r = gw.c.post(ds(p["id"], t["id"], "save_sample"), sample("样本二", session_id="体内会话"))
    run = ok_with(r, "session_id")
    assert_id(run["id"])
    assert run["tags"] == ["synthetic"]
    assert "样本二" in run["output"]["output"]  # the fake echoes the user turn


def test_batch_item_unknown_nested_key(gw):
    p, t = project_task(gw)
    client = HetuAIDataGenClient(base_url=gw.url, api_key=None)
    batch = {"samples": [sample("第一"), sample("第二", foo={"bar": 1}), sample("第三")],
             "session_id": "批次", "extra": True}
    runs = client.save_samples_batch(p["id"], t["id"], batch)
    assert [r["input"] for r in runs] == ["第一", "第二", "第三"]

    # a stored run fetched and sent back as a batch item: its own keys go silently
    again = dict(runs[0], input="第四", output=runs[0]["output"]["output"])
    batch["samples"].append(again)
    r = gw.c.post(ds(p["id"], t["id"], "save_samples_batch"), batch)
    runs = ok_with(r, "samples[1].foo, samples[3].input_source, samples[3].repair_instructions, "
                      "samples[3].repaired_output, samples[3].intermediate_outputs, "
                      "samples[3].judge_rating, samples[3].usage, extra")
    assert [x["input"] for x in runs] == ["第一", "第二", "第三", "第四"]
    assert all("synthetic_session_批次" in x["tags"] for x in runs)

    # import_samples_async reads the same body; its job stores the items without the extras
    r = gw.c.post(ds(p["id"], t["id"], "import_samples_async"),
                  {"samples": [sample("第五", foo=1)], "session_id": "导入"})
    started = ok_with(r, "samples[0].foo")
    assert (started["status"], started["sample_count"]) == ("import_started", 1)
    job = client.wait_for_job(p["id"], t["id"], started["job_id"], timeout=30)
    assert (job["status"], job["completed"], job["failed"]) == ("completed", 1, 0)
    runs = gw.c.ok("GET", "/api/projects/%s/tasks/%s/runs?session_id=%%E5%%AF%%BC%%E5%%85%%A5" % (p["id"], t["id"]))
    assert [x["input"] for x in runs["runs"]] == ["第五"]


def test_ignored_names_escaped_and_bounded(gw):
    p, _ = project_task(gw)
    body = {"name": "n", "a\r\nX-Evil: 1": 1, "逗,号": 2}
    r = gw.c.patch("/api/projects/" + p["id"], body)
    ok_with(r, "a%0D%0AX-Evil:%201, %E9%80%97%2C%E5%8F%B7")
    assert r.header("X-Evil") is None

    body = {"name": "n"}
    body.update(("unknown_key_%03d" % i, i) for i in range(100))
    r = gw.c.patch("/api/projects/" + p["id"], body)
    value = r.header(HEADER)
    assert r.status == 200 and len(value) <= 511 and value.endswith(", ...")
    names = value[:-len(", ...")].split(", ")
    # 512 bytes with the NUL: names while they fit in 506 (15 + 17 * 28 = 491), then ", ..."
    assert names == ["unknown_key_%03d" % i for i in range(29)]
    assert len(value) == 496


# ---------------------------------------------------------------- lax types

@pytest.mark.parametrize("value", ["5", 5.0, "5.0", " 5 ", "+5", "0_5"])
def test_lax_integer_accepted(gw, value):
    p, t = project_task(gw)
    client = HetuAIDataGenClient(base_url=gw.url, api_key=None)
    result = client.generate_categories(p["id"], t["id"], {
        "node_path": ["root"], "num_subtopics": value, "model_name": MODEL, "provider": PROVIDER,
        "drop_unsupported_params": True})
    assert len(json.loads(result["output"]["output"])["subtopics"]) == 5


@pytest.mark.parametrize("value,want", [("1", 1), (0.0, 0), ("3.00", 3), (True, 1)])
def test_lax_integer_in_a_requirement(gw, value, want):
    p = gw.c.new_project()
    body = {"name": "t", "instruction": "i",
            "requirements": [{"name": "r", "instruction": "i", "priority": value}]}
    t = ok_with(gw.c.post("/api/projects/%s/task" % p["id"], body), None)
    assert t["requirements"][0]["priority"] == want
    assert gw.c.ok("GET", "/api/projects/%s/tasks/%s" % (p["id"], t["id"]))["requirements"][0][
        "priority"] == want


@pytest.mark.parametrize("value", ["true", "false", "True", "yes", "off", 1, 0, 1.0])
def test_lax_boolean_accepted(gw, value):
    p, t = project_task(gw)
    r = gw.c.post(ds(p["id"], t["id"], "save_samples_batch"),
                  {"samples": [sample("布尔", output="给定的输出", allow_truncated=value)],
                   "allow_truncated": value})
    runs = ok_with(r, None)
    assert [x["output"]["output"] for x in runs] == ["给定的输出"]
    r = gw.c.post(ds(p["id"], t["id"], "generate_samples"),
                  {"topic": [], "num_samples": "2", "model_name": MODEL, "provider": PROVIDER,
                   "drop_unsupported_params": value})
    assert len(json.loads(ok_with(r, None)["output"]["output"])["generated_samples"]) == 2


@pytest.mark.parametrize("value", ["five", 5.5, "5.5", "1e3", "", "0x5", [5], {"n": 5}])
def test_lax_integer_rejected(gw, value):
    p, t = project_task(gw)
    r = gw.c.post(ds(p["id"], t["id"], "generate_categories"),
                  {"node_path": [], "num_subtopics": value, "model_name": MODEL,
                   "provider": PROVIDER})
    assert_error(r, 422, "invalid", field="num_subtopics")
    r = gw.c.patch("/api/projects/%s/task/%s" % (p["id"], t["id"]),
                   {"requirements": [{"name": "r", "instruction": "i", "priority": value}]})
    assert_error(r, 422, "invalid", field="requirements[0].priority")


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, " true", "", [True]])
def test_lax_boolean_rejected(gw, value):
    p, t = project_task(gw)
    r = gw.c.post(ds(p["id"], t["id"], "save_sample"),
                  sample("布尔", output="o", drop_unsupported_params=value))
    assert_error(r, 422, "invalid", field="drop_unsupported_params")
    r = gw.c.post(ds(p["id"], t["id"], "save_samples_batch"),
                  {"samples": [sample("布尔", output="o", allow_truncated=value)]})
    assert_error(r, 422, "invalid", field="samples[0].allow_truncated")


def test_strings_are_not_made_from_numbers(gw):
    p, t = project_task(gw)
    r = gw.c.post(ds(p["id"], t["id"], "generate_samples"),
                  {"topic": [], "num_samples": 2, "model_name": 5, "provider": PROVIDER})
    assert_error(r, 422, "invalid", field="model_name")


# ---------------------------------------------------------------- Hetu's own routes

def test_hetu_routes_stay_strict(gw):
    p, t = project_task(gw)
    run = gw.c.ok("POST", ds(p["id"], t["id"], "save_sample"), sample("严格", output="o"))
    path = "/api/projects/%s/tasks/%s/runs/%s" % (p["id"], t["id"], run["id"])
    r = gw.c.patch(path, {"tags": ["a"], "colour": "red"})
    assert_error(r, 422, "invalid", field="colour")
    assert r.header(HEADER) is None
    # read-only keys too, and no lax booleans
    assert_error(gw.c.patch(path, {"tags": ["a"], "id": run["id"]}), 422, "invalid", field="id")
    assert_error(gw.c.post(ds(p["id"], t["id"], "duplicates"), {"threshold": "0.5"}), 422,
                 "invalid", field="threshold")
    assert gw.c.ok("GET", path)["tags"] == ["synthetic"]


def test_delete_project_answer(gw):
    p = gw.c.new_project()
    assert HetuAIClient(base_url=gw.url).delete_project(p["id"]) == {
        "message": "项目已成功移除", "project_id": p["id"]}


# ---------------------------------------------------------------- HOST and PORT

def test_gateway_host_and_port_variables(start_server):
    port = free_port()
    srv = start_server(port_args=False, env={"HOST": "127.0.0.2", "PORT": str(port)})
    assert (srv.host, srv.port) == ("127.0.0.2", port)
    assert srv.client.get("/healthz").status == 200
    srv.assert_clean_exit()

    # Hetu's own variables win
    other = free_port()
    srv = start_server(port_args=False, env={"HOST": "127.0.0.2", "PORT": str(port),
                                             "HETU_HOST": "127.0.0.1", "HETU_PORT": str(other)})
    assert (srv.host, srv.port) == ("127.0.0.1", other)
