# SPDX-License-Identifier: MIT
"""GET /api/providers and POST /api/providers/{provider}/ping over real HTTP, against the fake
provider: which providers are listed and in what order, what configured and key_present say,
where keys are read from, base URLs without credentials, limits, windows and Kiln models; a ping's
answer and its failures; and that no key, nor any part of one, ever reaches an answer."""

import json
import uuid

import pytest

from hetu_http import Server, assert_error

SECRET = "sk-FAKE-providers-5b1e0c9d7a"
CONFIG_SECRET = "cfg-FAKE-key-33d1f0a2"
URL_USER, URL_PASSWORD, URL_TOKEN = "alice", "hunter2pw", "tok3n-q"
# Every built-in provider, as the providers table (src/llm/provider.c) lists them.
BUILT_IN = ["openai", "together_ai", "openrouter", "groq", "fireworks_ai", "deepseek", "mistral",
            "gemini_api", "siliconflow_cn", "dashscope", "anthropic", "ollama", "vllm",
            "openai_compatible"]
KEY_VARS = ["OPENAI_API_KEY", "TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "OPENROUTER_API_KEY",
            "GROQ_API_KEY", "FIREWORKS_API_KEY", "DEEPSEEK_API_KEY", "MISTRAL_API_KEY",
            "GEMINI_API_KEY", "SILICONFLOW_API_KEY", "DASHSCOPE_API_KEY", "ANTHROPIC_API_KEY",
            "MY_LOCAL_KEY"]
PROVIDER_KEYS = ["name", "type", "configured", "key_present", "key_env", "base_url", "window",
                 "windows", "limits", "models"]
PING_KEYS = ["ok", "provider", "model_name", "model_id", "answer", "usage", "latency_ms"]


def secrets():
    return [SECRET, CONFIG_SECRET, URL_PASSWORD, URL_TOKEN, SECRET[3:15], CONFIG_SECRET[:10]]


def assert_no_secret(raw):
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    for s in secrets():
        assert s not in text, "%r in the answer: %r" % (s, text[:500])


@pytest.fixture(scope="module")
def env(hetu_bin, fake_llm, tmp_path_factory):
    d = tmp_path_factory.mktemp("providers")
    config = {"providers": {
        "together_ai": {"concurrency": 7, "rpm": 100, "max_attempts": 1, "backoff_base_ms": 5},
        "groq": {"api_key_env": "MY_LOCAL_KEY"},
        "local": {"type": "openai_compatible", "api_key": CONFIG_SECRET,
                  "base_url": "http://%s:%s@%s/v1?token=%s#frag" % (
                      URL_USER, URL_PASSWORD, fake_llm[len("http://"):], URL_TOKEN)},
        "nokey": {"type": "openai_compatible", "base_url": fake_llm + "/v1"},
    }}
    (d / "hetu.json").write_text(json.dumps(config))
    e = {v: "" for v in KEY_VARS}
    e.update({"TOGETHERAI_API_KEY": SECRET, "HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1",
              "OLLAMA_BASE_URL": ""})
    srv = Server(d, args=["--config", str(d / "hetu.json")], env=e).start()
    srv.client.timeout = 30
    yield srv
    srv.assert_clean_exit()
    assert_no_secret(srv.stderr())


def providers(srv):
    r = srv.client.get("/api/providers")
    assert r.status == 200, r
    assert_no_secret(r.raw)
    body = r.json()
    assert list(body) == ["providers"]
    for p in body["providers"]:
        assert list(p) == PROVIDER_KEYS, p
    return {p["name"]: p for p in body["providers"]}, [p["name"] for p in body["providers"]]


def test_every_provider_listed_configured_first_then_by_name(env):
    by_name, order = providers(env)
    assert sorted(order) == sorted(BUILT_IN + ["local", "nokey"])
    configured = sorted(n for n in order if by_name[n]["configured"])
    # a key in the environment, in the config file, or none needed (ollama, an openai_compatible
    # entry without a key); everything else lacks a key or (vllm, openai_compatible) a base URL
    assert configured == ["local", "nokey", "ollama", "together_ai"]
    assert order == configured + sorted(n for n in order if not by_name[n]["configured"])


def test_keys_are_present_or_not_and_named_by_variable(env):
    by_name, _ = providers(env)
    t = by_name["together_ai"]
    assert (t["type"], t["key_present"], t["key_env"]) == (
        "together_ai", True, ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"])
    assert (by_name["openai"]["key_present"], by_name["openai"]["key_env"]) == (False, ["OPENAI_API_KEY"])
    assert by_name["openai"]["configured"] is False
    assert by_name["groq"]["key_env"] == ["MY_LOCAL_KEY"]  # api_key_env of the config file
    assert (by_name["ollama"]["key_present"], by_name["ollama"]["key_env"]) == (False, [])
    local = by_name["local"]
    assert (local["type"], local["key_present"], local["key_env"]) == ("openai_compatible", True, [])
    assert by_name["nokey"]["key_present"] is False and by_name["nokey"]["configured"] is True


def test_base_urls_without_credentials_and_null_when_default(env, fake_llm):
    by_name, _ = providers(env)
    assert by_name["together_ai"]["base_url"] == fake_llm + "/v1"
    assert by_name["local"]["base_url"] == fake_llm + "/v1"  # no user, password, query, fragment
    assert by_name["openai"]["base_url"] is None
    assert by_name["ollama"]["base_url"] is None
    assert by_name["vllm"]["base_url"] is None and by_name["vllm"]["configured"] is False


def test_limits_and_kiln_models(env):
    by_name, _ = providers(env)
    assert by_name["together_ai"]["limits"] == {"concurrency": 7, "rpm": 100, "tpm": None}
    assert by_name["openai"]["limits"] == {"concurrency": 64, "rpm": None, "tpm": None}
    models = by_name["together_ai"]["models"]
    assert {"name": "llama_3_1_8b", "model_id": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
            "price": None} in models
    # Kiln lists llama_3_2_1b on together_ai for fine-tuning only: there is no id to call
    assert "llama_3_2_1b" not in [m["name"] for m in models]
    assert all(list(m) == ["name", "model_id", "price"] for m in models)
    assert {"name": "gpt_4o_mini", "model_id": "gpt-4o-mini", "price": {
        "input_per_mtok": 0.15, "output_per_mtok": 0.6, "cached_input_per_mtok": 0.075,
        "cache_write_per_mtok": 0.15, "source": "builtin"}} in by_name["openai"]["models"]
    assert by_name["local"]["models"] == []


def test_ping_answers_and_its_window_shows(env):
    model = "m-" + uuid.uuid4().hex[:10]
    by_name, _ = providers(env)
    assert by_name["together_ai"]["windows"] == [] and by_name["together_ai"]["window"] == 7
    r = env.client.post("/api/providers/together_ai/ping", {"model_name": model, "prompt": "你好, ping"})
    assert r.status == 200, r
    assert_no_secret(r.raw)
    body = r.json()
    assert list(body) == PING_KEYS, body
    assert (body["ok"], body["provider"], body["model_name"], body["model_id"]) == (
        True, "together_ai", model, model)
    assert body["answer"].startswith("fake answer ") and body["answer"].endswith(": 你好, ping")
    assert body["usage"]["input_tokens"] == 2  # ceil(8 characters / 4) and body["usage"]["output_tokens"] > 0
    assert isinstance(body["latency_ms"], int) and 0 <= body["latency_ms"] < 30000
    by_name, _ = providers(env)
    assert by_name["together_ai"]["windows"] == [{"model": model, "window": 7}]
    assert by_name["together_ai"]["window"] == 7


def test_ping_with_a_kiln_model_name_calls_the_providers_id(env):
    r = env.client.post("/api/providers/together_ai/ping", {"model_name": "llama_3_1_8b"})
    assert r.status == 200, r
    body = r.json()
    assert body["model_name"] == "llama_3_1_8b"
    assert body["model_id"] == "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
    assert "Say hello in five words." in body["answer"]


def test_ping_a_named_entry(env):
    r = env.client.post("/api/providers/nokey/ping", {"model_name": "m-nokey"})
    assert r.status == 200, r
    assert (r.json()["provider"], r.json()["model_id"]) == ("nokey", "m-nokey")


def test_ping_failure_names_provider_and_message_never_the_key(env):
    model = "m-%s+fail500+leakkey" % uuid.uuid4().hex[:8]
    r = env.client.post("/api/providers/together_ai/ping", {"model_name": model})
    body = assert_error(r, 502, "provider_error", mentions=[
        "together_ai", "HTTP 500: The server had an error"])
    assert "[redacted]" in body["detail"]
    assert_no_secret(r.raw)


def test_ping_refusals(env):
    c = env.client
    assert_error(c.post("/api/providers/no_such_provider/ping", {"model_name": "x"}), 404,
                 "not_found", mentions=["no_such_provider"])
    assert_error(c.post("/api/providers/together_ai/ping", {}), 422, "invalid", field="model_name")
    assert_error(c.post("/api/providers/together_ai/ping", {"model_name": "x", "temperature": 1}),
                 422, "invalid", field="temperature")
    r = c.post("/api/providers/openai/ping", {"model_name": "gpt-4o-mini"})
    assert_error(r, 400, "bad_request", field="provider", mentions=["OPENAI_API_KEY"])
    assert_error(c.post("/api/providers/vllm/ping", {"model_name": "x"}), 400, "bad_request",
                 field="provider", mentions=["HETU_VLLM_BASE_URL"])


def test_any_key_reads_the_list_once_keys_are_on(start_server):
    srv = start_server(env={"TOGETHERAI_API_KEY": SECRET})
    c = srv.client
    r = c.post("/api/keys", {"name": "ops", "admin": True})
    assert r.status == 200, r
    admin = r.json()["key"]
    r = c.post("/api/keys", {"name": "ui"}, headers={"Authorization": "Bearer " + admin})
    assert r.status == 200, r
    user = r.json()["key"]
    assert_error(c.get("/api/providers"), 401, "unauthorized")
    r = c.get("/api/providers", headers={"Authorization": "Bearer " + user})
    assert r.status == 200, r
    assert_no_secret(r.raw)
    assert [p for p in r.json()["providers"] if p["name"] == "together_ai"][0]["key_present"] is True
