# SPDX-License-Identifier: MIT
"""Kiln's own model ids over real HTTP against the fake provider: a Kiln id (gpt_4o_mini,
llama_3_1_8b, ...) reaches each provider as that provider's model id, with Kiln's
structured-output method and reasoning effort; NAME::MODEL on openai_compatible calls MODEL on
the named entry; the stored sample records the model name and provider as they were sent, as
Kiln does; kiln_custom_registry takes PROVIDER::MODEL; a Kiln id on a provider that does not
serve it is a 400 on the model name, with nothing sent."""

import json

import pytest

from hetu_http import Server, assert_error
from test_generate import GenEnv, check_taskrun

SECRET = "sk-test-kiln-5d1e"
CORP_KEY = "corp-key-9a7b"
FAST = {"max_attempts": 2, "backoff_base_ms": 5, "backoff_max_ms": 20, "schema_retries": 1}


@pytest.fixture(scope="module")
def kiln(hetu_bin, fake_llm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kiln")
    providers = {name: dict(FAST) for name in ("openai", "groq", "openrouter", "anthropic")}
    providers["corp"] = dict(FAST, type="openai_compatible", base_url=fake_llm + "/v1",
                             api_key=CORP_KEY)
    cfg = workdir / "hetu.json"
    cfg.write_text(json.dumps({"providers": providers}))
    env = {"OPENAI_API_KEY": SECRET, "GROQ_API_KEY": SECRET, "OPENROUTER_API_KEY": SECRET,
           "ANTHROPIC_API_KEY": SECRET}
    for var in ("OPENAI", "GROQ", "OPENROUTER", "ANTHROPIC"):
        env["HETU_%s_BASE_URL" % var] = fake_llm + "/v1"
    srv = Server(workdir, args=["--config", str(cfg)], env=env).start()
    yield GenEnv(srv, fake_llm)
    srv.assert_clean_exit()


def categories(g, pid, tid, model, provider):
    return g.c.post(g.ds(pid, tid, "generate_categories"), {
        "node_path": [], "num_subtopics": 2, "model_name": model, "provider": provider})


def one_request_at(g, model, since, path):
    reqs = g.fake.requests(model, since=since)
    assert len(reqs) == 1, "expected one call of %r, got %d" % (model, len(reqs))
    assert reqs[0]["path"] == path
    return reqs[0]


def one_request(g, model, since):
    return one_request_at(g, model, since, "/v1/chat/completions")


def test_gpt_4o_mini_reaches_openai_as_gpt_4o_mini(kiln):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, "gpt_4o_mini", "openai")
    assert r.status == 200, r
    run = check_taskrun(r.json(), saved=False)
    assert run["output"]["source"]["properties"]["model_name"] == "gpt_4o_mini"
    assert run["output"]["source"]["properties"]["model_provider"] == "openai"
    req = one_request(kiln, "gpt-4o-mini", mark)
    assert req["body"]["model"] == "gpt-4o-mini"
    assert req["body"]["response_format"]["type"] == "json_schema"
    assert req["headers"]["authorization"].endswith(SECRET[-4:])
    assert kiln.fake.requests("gpt_4o_mini", since=mark) == []
    assert "reasoning_effort" not in req["body"]


@pytest.mark.parametrize("kiln_id,effort", [("gpt_o3_low", "low"), ("gpt_o3_high", "high")])
def test_o_series_ids_send_kilns_reasoning_effort(kiln, kiln_id, effort):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, kiln_id, "openai")
    assert r.status == 200, r
    assert r.json()["output"]["source"]["properties"]["model_name"] == kiln_id
    req = one_request(kiln, "o3", mark)
    assert req["body"]["reasoning_effort"] == effort


def test_reasoning_models_get_kilns_extra_body(kiln):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, "deepseek_r1", "openrouter")
    assert r.status == 200, r
    body = one_request(kiln, "deepseek/deepseek-r1", mark)["body"]
    assert body["reasoning"] == {"exclude": False}
    assert body["provider"] == {"require_parameters": True, "order": ["Fireworks", "Together"],
                                "ignore": ["DeepInfra"]}
    assert "response_format" not in body and "tools" not in body  # json_instructions
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, "claude_3_7_sonnet_thinking", "anthropic")
    assert r.status == 200, r
    req = one_request_at(kiln, "claude-3-7-sonnet-20250219", mark, "/v1/messages")
    assert req["body"]["thinking"] == {"type": "enabled", "budget_tokens": 4000}
    assert "tools" not in req["body"]


@pytest.mark.parametrize("kiln_id,provider,model,method", [
    ("llama_3_1_8b", "groq", "llama-3.1-8b-instant", "tools"),  # Kiln's default: a tool call
    ("qwen_2p5_72b", "openrouter", "qwen/qwen-2.5-72b-instruct", "json_object"),
    ("llama_3_1_8b", "openrouter", "meta-llama/llama-3.1-8b-instruct", "tools"),
    ("gpt_4o_mini", "openrouter", "openai/gpt-4o-mini", "json_schema"),
])
def test_kiln_id_reaches_the_providers_id(kiln, kiln_id, provider, model, method):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = kiln.c.post(kiln.ds(pid, tid, "generate_samples"), {
        "topic": ["天气"], "num_samples": 2, "model_name": kiln_id, "provider": provider})
    assert r.status == 200, r
    run = r.json()
    assert run["output"]["source"]["properties"]["model_name"] == kiln_id
    assert run["output"]["source"]["properties"]["model_provider"] == provider
    assert len(json.loads(run["output"]["output"])["generated_samples"]) == 2
    req = one_request(kiln, model, mark)
    body = req["body"]
    if method == "tools":
        assert "response_format" not in body
        assert body["tool_choice"]["type"] == "function"
        assert body["tools"][0]["function"]["parameters"]["properties"]["generated_samples"]
    else:
        assert body["response_format"]["type"] == method
        assert "tools" not in body


def test_providers_own_id_passes_through(kiln):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, "llama-3.1-8b-instant", "groq")
    assert r.status == 200, r
    assert r.json()["output"]["source"]["properties"]["model_name"] == "llama-3.1-8b-instant"
    one_request(kiln, "llama-3.1-8b-instant", mark)


# (model_name, provider) as sent -> the model id called, and the key it goes with
@pytest.mark.parametrize("model,provider,sent,key", [
    ("corp::local-model-7b", "openai_compatible", "local-model-7b", CORP_KEY),
    ("groq::my-groq-model", "kiln_custom_registry", "my-groq-model", SECRET),
])
def test_name_and_model_pairs(kiln, model, provider, sent, key):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, model, provider)
    assert r.status == 200, r
    props = r.json()["output"]["source"]["properties"]
    assert props["model_name"] == model
    assert props["model_provider"] == provider
    req = one_request(kiln, sent, mark)
    assert req["headers"]["authorization"].endswith(key[-4:])
    assert kiln.fake.requests(model, since=mark) == []


def test_save_sample_records_the_kiln_id(kiln):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = kiln.c.post(kiln.ds(pid, tid, "save_sample"), {
        "input": "今天天气如何", "topic_path": ["天气"], "input_model_name": "qwen_2p5_72b",
        "input_provider": "openrouter", "output_model_name": "gpt_4o_mini",
        "output_provider": "openai", "prompt_method": "default"})
    assert r.status == 200, r
    run = check_taskrun(r.json(), saved=True)
    req = one_request(kiln, "gpt-4o-mini", mark)
    assert "今天天气如何" in json.dumps(req["body"], ensure_ascii=False)
    stored = kiln.c.ok("GET", kiln.runs_path(pid, tid, "/" + run["id"]))
    assert stored["input_source"]["properties"]["model_name"] == "qwen_2p5_72b"
    assert stored["input_source"]["properties"]["model_provider"] == "openrouter"
    out = stored["output"]["source"]["properties"]
    assert out["model_name"] == "gpt_4o_mini"
    assert out["model_provider"] == "openai"


def test_kiln_id_on_a_provider_without_it_400(kiln):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, "gpt_4o_mini", "groq")
    assert_error(r, 400, "bad_request", field="model_name",
                 mentions=("gpt_4o_mini", "groq", "openai, openrouter"))
    r = kiln.c.post(kiln.ds(pid, tid, "save_sample"), {
        "input": "hi", "output_model_name": "claude_3_5_haiku", "output_provider": "openai"})
    body = assert_error(r, 400, "bad_request", mentions=("claude_3_5_haiku", "openai"))
    assert body["field"] == "output_model_name"
    assert kiln.fake.requests(since=mark) == []


@pytest.mark.parametrize("model", ["nope::m", "corp::", "corp::a::b"])
def test_openai_compatible_bad_name_400(kiln, model):
    pid, tid = kiln.task()
    mark = kiln.fake.mark()
    r = categories(kiln, pid, tid, model, "openai_compatible")
    assert_error(r, 400, "bad_request", field="model_name", mentions=(model,))
    assert kiln.fake.requests(since=mark) == []


def test_kiln_provider_hetu_lacks_400(kiln):
    pid, tid = kiln.task()
    r = categories(kiln, pid, tid, "gpt_4o_mini", "azure_openai")
    assert_error(r, 400, "bad_request", field="provider",
                 mentions=("Hetu does not call Kiln's provider \"azure_openai\"", "openai"))
