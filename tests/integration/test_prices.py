# SPDX-License-Identifier: MIT
"""What calls cost, against the fake provider: a sample saved through Anthropic and OpenAI stores
the cost its tokens come to at the built-in published prices or the config file's, cached input
priced as such (OpenAI cached_tokens through the fake's cache=N; Anthropic cache writes then
reads through the engine with cache_prefix, by the llm-driver); GET /api/providers shows the
prices and never a key.

The fake counts ceil(characters / 4) tokens, so every expected cost here is computed from the
prompt text the fake received, with the same arithmetic as llm_price_cost, to the 15 significant
digits the answers carry."""

import json
import uuid

import pytest

from hetu_http import Server
from test_generate import Fake, GenEnv, check_taskrun
from test_llm_engine import clean_env, driver, run  # noqa: F401

SECRET_OA = "sk-test-prices-OPENAI-4c1d9e"
SECRET_ANT = "sk-ant-prices-ANTHROPIC-7b2a5f"
UNIQ = uuid.uuid4().hex[:8]
# an OpenAI model string the fake caches prompts for (prefixes of 200 characters or more)
OA_CACHED = "pr-%s+cache=200" % UNIQ
CONFIG = {"providers": {
    "openai": {"max_attempts": 1, "backoff_base_ms": 5,
               "models": {OA_CACHED: {"price_input_per_mtok": 1.5, "price_output_per_mtok": 6,
                                      "price_cached_input_per_mtok": 0.375}}},
    "anthropic": {"max_attempts": 1, "backoff_base_ms": 5,
                  "models": {"claude-3-7-sonnet-20250219": {
                      "price_input_per_mtok": 2, "price_output_per_mtok": 10}}},
}}
# a task prompt long enough to cache
INSTRUCTION = "Translate the sentence into plain English. " + " ".join(
    "Rule %d: keep names, numbers and units exactly as written." % i for i in range(60))
HAIKU = (0.80, 4.00, 0.08, 1.00)  # claude-3-5-haiku-20241022: in, out, cache read, cache write


def tokens(text):
    return (len(text) + 3) // 4


def cost(price, inp, out, cached=0, written=0):
    """llm_price_cost: (plain * in + cached * cached_in + written * write + out * out) / 1e6,
    as the answers show numbers (util/json.c: %.15g)."""
    p_in, p_out, p_cached, p_write = price
    return float("%.15g" % (((inp - cached - written) * p_in + cached * p_cached
                             + written * p_write + out * p_out) / 1e6))


@pytest.fixture(scope="module")
def env(hetu_bin, fake_llm, tmp_path_factory):
    d = tmp_path_factory.mktemp("prices")
    (d / "hetu.json").write_text(json.dumps(CONFIG))
    e = {"HETU_OPENAI_BASE_URL": fake_llm + "/v1", "OPENAI_API_KEY": SECRET_OA,
         "HETU_ANTHROPIC_BASE_URL": fake_llm + "/v1", "ANTHROPIC_API_KEY": SECRET_ANT}
    srv = Server(d, args=["--config", str(d / "hetu.json")], env=e).start()
    g = GenEnv(srv, fake_llm)
    yield g
    srv.assert_clean_exit()
    for s in (SECRET_OA, SECRET_ANT):
        assert s not in srv.stderr()


def new_task(g):
    p = g.c.new_project(name="prices " + uuid.uuid4().hex[:6])
    t = g.c.new_task(p["id"], name="translate", instruction=INSTRUCTION)
    return p["id"], t["id"]


def save(g, pid, tid, provider, model, text):
    mark = g.fake.mark()
    r = g.c.post(g.ds(pid, tid, "save_sample"), {
        "input": text, "output_provider": provider, "output_model_name": model,
        "prompt_method": "default"})
    assert r.status == 200, r
    run_ = check_taskrun(r.json(), saved=True)
    reqs = g.fake.requests(since=mark)
    assert len(reqs) == 1, reqs
    return run_, reqs[0]


def openai_prompt(req):
    msgs = req["body"]["messages"]
    return msgs[0]["content"], "\n".join(m["content"] for m in msgs)


def test_anthropic_sample_costs_the_builtin_price(env):
    pid, tid = new_task(env)
    run_, req = save(env, pid, tid, "anthropic", "claude_3_5_haiku", "Das Wetter ist schön.")
    body = req["body"]
    assert body["model"] == "claude-3-5-haiku-20241022"  # Kiln's id, sent as Anthropic's
    assert isinstance(body["system"], str), "a single sample asks for no prompt caching"
    whole = body["system"] + "\n" + body["messages"][0]["content"]
    u = run_["usage"]
    assert u["input_tokens"] == tokens(whole)
    assert u["cost"] == cost(HAIKU, u["input_tokens"], u["output_tokens"])
    got = env.c.ok("GET", env.runs_path(pid, tid, "/" + run_["id"]))
    assert got["usage"] == u


def test_openai_cached_prefix_priced_at_the_cached_price(env):
    pid, tid = new_task(env)
    price = (1.5, 6.0, 0.375, 1.5)  # the config file's; cache writes cost input
    first, req1 = save(env, pid, tid, "openai", OA_CACHED, "Il pleut.")
    system, whole = openai_prompt(req1)
    u = first["usage"]
    assert u["input_tokens"] == tokens(whole)
    assert u["cost"] == cost(price, u["input_tokens"], u["output_tokens"])
    # the same system prompt again: the fake reports it cached
    second, req2 = save(env, pid, tid, "openai", OA_CACHED, "Es regnet stark heute.")
    system2, whole2 = openai_prompt(req2)
    assert system2 == system and len(system) >= 200
    u2 = second["usage"]
    assert u2["input_tokens"] == tokens(whole2)
    cached = tokens(system)
    assert u2["cost"] == cost(price, u2["input_tokens"], u2["output_tokens"], cached=cached)
    assert u2["cost"] < cost(price, u2["input_tokens"], u2["output_tokens"])


def test_openai_builtin_and_unknown_prices(env):
    pid, tid = new_task(env)
    run_, req = save(env, pid, tid, "openai", "gpt_4o_mini", "Bonjour.")
    assert req["body"]["model"] == "gpt-4o-mini"
    u = run_["usage"]
    assert u["cost"] == cost((0.15, 0.60, 0.075, 0.15), u["input_tokens"], u["output_tokens"])
    # a model in neither the table nor the config: no cost, not a guess
    run_, _ = save(env, pid, tid, "openai", "gpt-4o-mini-" + UNIQ, "Bonjour.")
    assert run_["usage"]["input_tokens"] > 0 and run_["usage"]["cost"] is None


def test_anthropic_cache_write_then_read_through_the_engine(driver, fake_llm):  # noqa: F811
    system = "Case %s. %s" % (uuid.uuid4().hex, INSTRUCTION)
    plan = {"config": {"anthropic": {"base_url": fake_llm + "/v1", "api_key": SECRET_ANT,
                                     "max_attempts": 1}},
            "requests": [{"provider": "anthropic", "model": "claude_3_5_haiku",
                          "cache_prefix": True,
                          "messages": [{"role": "system", "content": system},
                                       {"role": "user", "content": "Hallo."}]}]}
    prefix, whole = tokens(system), tokens(system + "\nHallo.")
    runs = [run(driver, plan)[0][0] for _ in range(2)]
    for r in runs:
        assert r["code"] == "ok", r
    written, read = runs[0]["usage"], runs[1]["usage"]
    assert (written["input_tokens"], written["cache_write_tokens"], written["cached_tokens"]) == (
        whole, prefix, 0)
    assert written["cost"] == cost(HAIKU, whole, written["output_tokens"], written=prefix)
    assert (read["input_tokens"], read["cache_write_tokens"], read["cached_tokens"]) == (
        whole, 0, prefix)
    assert read["cost"] == cost(HAIKU, whole, read["output_tokens"], cached=prefix)
    reqs = [x for x in Fake(fake_llm).requests("claude-3-5-haiku-20241022")
            if x["body"] and system in json.dumps(x["body"]["system"])]
    assert len(reqs) == 2
    assert reqs[0]["body"]["system"] == [{"type": "text", "text": system,
                                          "cache_control": {"type": "ephemeral"}}]


def test_providers_show_prices_never_a_key(env):
    r = env.c.get("/api/providers")
    assert r.status == 200, r
    for s in (SECRET_OA, SECRET_ANT):
        assert s.encode() not in r.raw
    by_name = {p["name"]: p for p in r.json()["providers"]}

    def price(provider, name):
        return next(m for m in by_name[provider]["models"] if m["name"] == name)["price"]

    assert price("anthropic", "claude_3_5_haiku") == {
        "input_per_mtok": 0.8, "output_per_mtok": 4.0, "cached_input_per_mtok": 0.08,
        "cache_write_per_mtok": 1.0, "source": "builtin"}
    assert price("openai", "gpt_4_1_nano") == {
        "input_per_mtok": 0.1, "output_per_mtok": 0.4, "cached_input_per_mtok": 0.025,
        "cache_write_per_mtok": 0.1, "source": "builtin"}
    # the config file's price wins; the cache prices it leaves out are the input price
    assert price("anthropic", "claude_3_7_sonnet") == {
        "input_per_mtok": 2.0, "output_per_mtok": 10.0, "cached_input_per_mtok": 2.0,
        "cache_write_per_mtok": 2.0, "source": "config"}
    assert price("together_ai", "llama_3_3_70b") is None
    assert all(m["price"] is None for m in by_name["groq"]["models"])
