# SPDX-License-Identifier: MIT
"""The provider engine against the fake provider, through the llm-driver test executable (built
next to the hetu binary: BUILD/tests/unit/llm/llm-driver, or HETU_LLM_DRIVER). Each test uses its
own model strings, so the fake's per-model counters never mix between tests. The driver must exit
0 with no sanitizer report, and no output of any run may contain the API key."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from hetu_http import SANITIZER_MARKS, hetu_binary

KEY = "sk-test-7f3a9c1e5b2d4068SECRET"
ANT_KEY = "sk-ant-api03-9b8c7d6e5f4a3210SECRET"
SCHEMA = {"type": "object",
          "properties": {"topics": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                         "rating": {"type": "integer", "minimum": 1, "maximum": 5}},
          "required": ["topics", "rating"]}
_outputs = []  # every stdout/stderr of the driver, for the key check at the end


def driver_path():
    p = os.environ.get("HETU_LLM_DRIVER")
    if p:
        return Path(p)
    return hetu_binary().parent / "tests" / "unit" / "llm" / "llm-driver"


@pytest.fixture(scope="module")
def driver():
    p = driver_path()
    if not p.exists():
        pytest.fail("llm-driver not found at %s: build it (ninja -C build) or set HETU_LLM_DRIVER"
                    % p)
    return p


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not (k.endswith("_API_KEY") or k.endswith("_BASE_URL"))}
    env.update(extra or {})
    return env


def config(base, **kw):
    """A providers section pointing openai and anthropic at the fake, with fast retries."""
    common = {"base_url": base + "/v1", "backoff_base_ms": 20, "backoff_max_ms": 200,
              "timeout_s": 10}
    oai = dict(common, api_key=KEY)
    ant = dict(common, api_key=ANT_KEY)
    oai.update(kw.pop("openai", {}))
    ant.update(kw.pop("anthropic", {}))
    out = {"openai": oai, "anthropic": ant}
    out.update(kw)
    return out


def run(driver, plan, env=None, timeout=40, args=()):
    """Runs the driver on plan; returns (results by index, summary, other lines)."""
    proc = subprocess.run([str(driver), *args], input=json.dumps(plan).encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          env=env if env is not None else clean_env())
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    _outputs.append(out + err)
    assert proc.returncode == 0, "driver exit %d\n%s\n%s" % (proc.returncode, out, err[-4000:])
    for mark in SANITIZER_MARKS:
        assert mark not in err, err[-4000:]
    results, summary, other = {}, None, []
    for line in out.splitlines():
        obj = json.loads(line)
        if "summary" in obj:
            summary = obj["summary"]
        elif "i" in obj:
            results[obj["i"]] = obj
        else:
            other.append(obj)
    return results, summary, other


def fake_get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read().decode())


def model_stats(base, model):
    return fake_get(base, "/_stats")["by_model"].get(model, {})


def requests_of(base, model):
    return fake_get(base, "/_requests?model=" + urllib.request.quote(model))["requests"]


def req(model, provider="openai", prompt="Name two topics about rain.", **kw):
    d = {"provider": provider, "model": model, "prompt": prompt}
    d.update(kw)
    return d


# ---- answers -----------------------------------------------------------------------------------

def test_text_and_schema_in_both_flavours(driver, fake_llm):
    plan = {"config": config(fake_llm), "requests": [
        req("e1-text"),
        req("e1-schema", schema=SCHEMA, schema_name="topics", temperature=0.3),
        req("e1-ant-text", provider="anthropic", prompt="你好，世界"),
        req("e1-ant-schema", provider="anthropic", schema=SCHEMA),
    ]}
    res, summary, _ = run(driver, plan)
    assert summary["succeeded"] == 4 and summary["failed"] == 0
    text = res[0]
    assert text["code"] == "ok" and text["method"] == "none" and text["json"] is None
    assert text["content"].startswith("fake answer ")
    assert text["usage"]["input_tokens"] > 0 and text["usage"]["output_tokens"] > 0
    assert text["usage"]["total_tokens"] == (text["usage"]["input_tokens"]
                                             + text["usage"]["output_tokens"])
    assert text["usage"]["cost"] < 0  # no prices configured
    assert text["http_status"] == 200 and text["attempts"] == 1
    schema = res[1]
    assert schema["method"] == "json_schema"
    assert len(schema["json"]["topics"]) >= 2 and 1 <= schema["json"]["rating"] <= 5
    assert res[2]["content"].endswith("你好，世界")  # Chinese round-trips through both codecs
    assert res[3]["method"] == "tool" and res[3]["json"]["topics"]
    # what reached the provider
    sent = requests_of(fake_llm, "e1-schema")[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer ..." + KEY[-4:]
    rf = sent["body"]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["name"] == "topics"
    assert rf["json_schema"]["schema"] == SCHEMA
    assert sent["body"]["temperature"] == 0.3
    ant = requests_of(fake_llm, "e1-ant-schema")[-1]
    assert ant["path"] == "/v1/messages"
    assert ant["headers"]["x-api-key"] == "..." + ANT_KEY[-4:]
    assert ant["headers"]["anthropic-version"] == "2023-06-01"
    assert ant["body"]["tool_choice"] == {"type": "tool", "name": "output"}
    assert ant["body"]["max_tokens"] > 0


def test_think_blocks_fences_and_reasoning_content(driver, fake_llm):
    plan = {"config": config(fake_llm), "requests": [
        req("e2+think+fence", schema=SCHEMA),
        req("e2+reasoning_content", schema=SCHEMA),
        req("e2+think"),
        req("e2-ant+reasoning_content", provider="anthropic", schema=SCHEMA),
    ]}
    res, _, _ = run(driver, plan)
    assert all(r["code"] == "ok" for r in res.values()), res
    assert res[0]["reasoning"].startswith("fake reasoning ") and res[0]["json"]["topics"]
    assert "<think>" not in res[0]["content"]
    assert res[1]["reasoning"].startswith("fake reasoning ")
    assert res[2]["reasoning"].startswith("fake reasoning ")
    assert res[2]["content"].startswith("fake answer ")
    assert res[3]["reasoning"].startswith("fake reasoning ") and res[3]["method"] == "tool"


def test_prices_give_a_cost(driver, fake_llm):
    cfg = config(fake_llm, openai={"models": {"e3-priced": {"price_input_per_mtok": 2.5,
                                                            "price_output_per_mtok": 10}}})
    res, _, _ = run(driver, {"config": cfg, "requests": [req("e3-priced")]})
    u = res[0]["usage"]
    assert u["cost"] == pytest.approx((u["input_tokens"] * 2.5 + u["output_tokens"] * 10) / 1e6)


def test_environment_alone(driver, fake_llm):
    env = clean_env({"HETU_OPENAI_BASE_URL": fake_llm + "/v1", "OPENAI_API_KEY": KEY})
    res, _, _ = run(driver, {"requests": [req("e4-env", schema=SCHEMA)] * 3},
                    env=env)
    assert [r["code"] for r in res.values()] == ["ok"] * 3
    assert model_stats(fake_llm, "e4-env")["requests"] == 3


# ---- faults ------------------------------------------------------------------------------------

def test_429_retries_and_recovers(driver, fake_llm):
    res, summary, _ = run(driver, {"config": config(fake_llm), "requests": [
        req("f1+fail429=2+retry_after=0")]})
    r = res[0]
    assert r["code"] == "ok" and r["attempts"] == 3 and r["http_status"] == 200
    assert summary["rate_limited"] == 2
    assert model_stats(fake_llm, "f1+fail429=2+retry_after=0")["status"] == {"200": 1, "429": 2}


def test_retry_after_is_honoured(driver, fake_llm):
    res, _, _ = run(driver, {"config": config(fake_llm), "requests": [
        req("f2+fail429=1+retry_after=1")]})
    assert res[0]["code"] == "ok" and res[0]["attempts"] == 2
    assert res[0]["elapsed_ms"] >= 1000  # backoff alone would be about 20 ms


def test_5xx_gives_up_with_the_providers_message(driver, fake_llm):
    cfg = config(fake_llm, openai={"max_attempts": 3})
    res, _, _ = run(driver, {"config": cfg, "requests": [
        req("f3+fail500"), req("f3-ant+fail529=1", provider="anthropic")]})
    r = res[0]
    assert r["code"] == "provider_error" and r["status"] == 502
    assert r["message"] == ("provider openai model f3+fail500: HTTP 500: The server had an error "
                            "while processing your request. Sorry about that! (after 3 attempts)")
    assert r["attempts"] == 3 and r["http_status"] == 500
    assert model_stats(fake_llm, "f3+fail500")["requests"] == 3
    assert res[1]["code"] == "ok" and res[1]["attempts"] == 2  # 529 Overloaded is retried


def test_timeouts(driver, fake_llm):
    cfg = config(fake_llm, openai={"timeout_s": 1, "max_attempts": 2})
    t = time.monotonic()
    res, _, _ = run(driver, {"config": cfg, "requests": [req("f4+hang=1"), req("f4b+hang")]})
    assert res[0]["code"] == "ok" and res[0]["attempts"] == 2
    r = res[1]
    assert r["code"] == "timeout" and r["status"] == 504
    assert r["message"] == "provider openai model f4b+hang: timed out after 1 s (after 2 attempts)"
    assert time.monotonic() - t < 5


def test_dropped_truncated_and_garbled_replies(driver, fake_llm):
    cfg = config(fake_llm, openai={"max_attempts": 2})
    res, _, _ = run(driver, {"config": cfg, "requests": [
        req("f5+drop=1"), req("f5+truncate=1", schema=SCHEMA), req("f5+badjson=1"),
        req("f5b+badjson"), req("f5c+drop=100")]})
    for i in range(3):
        assert res[i]["code"] == "ok" and res[i]["attempts"] == 2, res[i]
    assert res[3]["code"] == "provider_error"
    assert res[3]["message"].startswith("provider openai model f5b+badjson: HTTP 200: reply is not "
                                        "valid JSON")
    assert res[4]["code"] == "provider_error"
    assert "connection failed" in res[4]["message"] and "(after 2 attempts)" in res[4]["message"]


def test_no_retry_for_other_4xx(driver, fake_llm):
    res, _, _ = run(driver, {"config": config(fake_llm), "requests": [
        req("f6+fail400param=temperature", temperature=0.5),
        req("f6+bogusdirective")]})
    assert res[0]["code"] == "provider_error" and res[0]["attempts"] == 1
    assert res[0]["message"] == ("provider openai model f6+fail400param=temperature: HTTP 400: "
                                 "Unsupported parameter: 'temperature' is not supported with "
                                 "this model.")
    assert res[1]["code"] == "provider_error" and res[1]["http_status"] == 400
    assert "unknown fake directive" in res[1]["message"]


def test_drop_unsupported_params_steps_down(driver, fake_llm):
    res, _, _ = run(driver, {"config": config(fake_llm), "requests": [
        req("f7+fail400param=temperature", temperature=0.5, drop_unsupported_params=True),
        req("f7+fail400param=response_format", schema=SCHEMA, drop_unsupported_params=True),
        req("f7-ant+fail400param=tools", provider="anthropic", schema=SCHEMA,
            drop_unsupported_params=True),
        req("f7c+fail400param=response_format", schema=SCHEMA),
    ]})
    assert res[0]["code"] == "ok" and res[0]["attempts"] == 2
    sent = requests_of(fake_llm, "f7+fail400param=temperature")
    assert "temperature" in sent[0]["body"] and "temperature" not in sent[-1]["body"]
    # json_schema -> json_mode (still a response_format, also rejected) -> prompt
    assert res[1]["code"] == "ok" and res[1]["method"] == "prompt" and res[1]["attempts"] == 3
    assert res[1]["json"]["topics"]
    last = requests_of(fake_llm, "f7+fail400param=response_format")[-1]["body"]
    assert "response_format" not in last
    assert json.dumps(SCHEMA, separators=(",", ":")) in last["messages"][0]["content"]
    assert res[2]["code"] == "ok" and res[2]["method"] == "prompt"
    assert res[3]["code"] == "provider_error" and res[3]["attempts"] == 1
    assert "'response_format'" in res[3]["message"]


def test_schema_invalid_answers(driver, fake_llm):
    res, _, _ = run(driver, {"config": config(fake_llm), "requests": [
        req("f8+schemabad=1", schema=SCHEMA), req("f8b+schemabad", schema=SCHEMA)]})
    assert res[0]["code"] == "ok" and res[0]["attempts"] == 2
    second = requests_of(fake_llm, "f8+schemabad=1")[-1]["body"]["messages"]
    assert second[-2]["role"] == "assistant"
    assert "did not match the required JSON schema" in second[-1]["content"]
    r = res[1]
    assert r["code"] == "invalid" and r["status"] == 422 and r["attempts"] == 3
    assert r["message"].startswith("provider openai model f8b+schemabad: the answer does not "
                                   "match the schema after 3 attempts: $")


# ---- limits ------------------------------------------------------------------------------------

def test_concurrency_ceiling_is_never_exceeded(driver, fake_llm):
    cfg = config(fake_llm, openai={"models": {"l1+latency=150": {"concurrency": 3}}})
    t = time.monotonic()
    res, _, _ = run(driver, {"config": cfg, "requests": [req("l1+latency=150", repeat=12)]})
    assert all(r["code"] == "ok" for r in res.values())
    st = model_stats(fake_llm, "l1+latency=150")
    assert st["requests"] == 12 and st["max_in_flight"] == 3
    assert time.monotonic() - t >= 4 * 0.15


def test_rpm_spaces_the_starts(driver, fake_llm):
    rpm = 240  # 4 a second, at most one second of burst
    cfg = config(fake_llm, openai={"models": {"l2": {"rpm": rpm}}})
    res, _, _ = run(driver, {"config": cfg, "requests": [req("l2", repeat=12)]})
    assert all(r["code"] == "ok" for r in res.values())
    times = sorted(r["time"] for r in requests_of(fake_llm, "l2"))
    assert len(times) == 12
    rate, burst = rpm / 60.0, rpm / 60.0
    for i, t in enumerate(times):
        # the i-th start needs i + 1 - burst tokens of refill since the first
        assert t - times[0] >= (i + 1 - burst) / rate - 0.05, (i, t - times[0])
    assert model_stats(fake_llm, "l2")["max_rps"] <= 2 * burst
    assert model_stats(fake_llm, "l2")["max_rpm"] <= rpm


def test_aimd_shrinks_once_per_burst_and_recovers(driver, fake_llm):
    model = "l3+fail429=20+retry_after=0+latency=50"
    cfg = config(fake_llm, openai={"concurrency": 20})
    res, summary, _ = run(driver, {"config": cfg, "requests": [req(model, repeat=80)],
                                   "windows": [{"provider": "openai", "model": model}]})
    assert all(r["code"] == "ok" for r in res.values())
    assert summary["rate_limited"] == 20
    assert summary["window_shrinks"] == 1  # twenty 429s of one burst: one decrease
    assert summary["windows"]["openai/" + model] == 20  # grown back to the ceiling
    st = model_stats(fake_llm, model)
    assert st["max_in_flight"] == 20 and st["requests"] == 100


# ---- cancel ------------------------------------------------------------------------------------

def test_cancel_group(driver, fake_llm):
    plan = {"config": config(fake_llm), "requests": [
        req("c1+latency=3000", group=7, repeat=6), req("c1b+latency=100", group=8, repeat=2)],
        "cancel": [{"group": 7, "after_ms": 300}]}
    t = time.monotonic()
    res, summary, _ = run(driver, plan)
    assert time.monotonic() - t < 2.5
    for r in res.values():
        if r["group"] == 7:
            assert r["code"] == "cancelled" and r["status"] == 499
            assert r["message"] == "provider openai model c1+latency=3000: cancelled"
            assert r["elapsed_ms"] < 1500
        else:
            assert r["code"] == "ok"
    assert summary["cancelled"] == 6 and summary["succeeded"] == 2


def test_cancel_holds_for_calls_submitted_later(driver, fake_llm):
    """A call made in a group after the group was cancelled (the second call of a
    chain-of-thought output whose client left) is cancelled before any HTTP request."""
    plan = {"config": config(fake_llm),
            "requests": [req("c5+latency=3000", group=11)],
            "cancel": [{"group": 11, "after_ms": 200}],
            "late_requests": [req("c5+latency=3000", group=11, repeat=2),
                              req("c5b+latency=50", group=12)]}
    t = time.monotonic()
    res, summary, _ = run(driver, plan)
    assert time.monotonic() - t < 2.0
    assert len(res) == 4
    for r in res.values():
        if r["group"] == 11:
            assert r["code"] == "cancelled"
            assert r["message"] == "provider openai model c5+latency=3000: cancelled"
        else:
            assert r["code"] == "ok"
    assert summary["cancelled"] == 3 and summary["succeeded"] == 1
    assert summary["http_requests"] == 2  # the first call of group 11 and the one of group 12


def test_engine_free_cancels_in_flight(driver, fake_llm):
    plan = {"config": config(fake_llm),
            "requests": [req("c2+latency=5000", repeat=5), req("c2b+fail429+retry_after=30")],
            "free_after_ms": 300}
    res, _, other = run(driver, plan)
    assert other[-1] == {"freed": True, "outstanding": 0}
    assert len(res) == 6
    assert all(r["code"] == "cancelled" for r in res.values())


# ---- validation and keys -----------------------------------------------------------------------

def test_check_names_providers_and_variables(driver, fake_llm):
    plan = {"check": [{"provider": "opnai", "model": "m"}, {"provider": "openai", "model": "m"},
                      {"provider": "together_ai", "model": "m"},
                      {"provider": "ollama", "model": "m"},
                      {"provider": "openai", "model": ""}]}
    _, _, other = run(driver, plan)
    unknown, nokey, together, ollama, nomodel = other
    assert unknown["check"] == "bad_request" and unknown["field"] == "provider"
    assert "unknown provider \"opnai\"" in unknown["message"]
    for name in ("openai", "anthropic", "together_ai", "ollama", "vllm", "openai_compatible"):
        assert name in unknown["message"]
    assert nokey["field"] == "provider" and "OPENAI_API_KEY" in nokey["message"]
    assert "TOGETHERAI_API_KEY or TOGETHER_API_KEY" in together["message"]
    assert ollama == {"check": "ok"}
    assert nomodel["field"] == "model_name"
    # a submission is checked the same way, synchronously
    _, _, other = run(driver, {"requests": [req("k0")]})
    assert other[0]["submit_error"] == "bad_request" and "OPENAI_API_KEY" in other[0]["message"]


def test_config_errors_are_reported(driver, fake_llm):
    _, _, other = run(driver, {"config": {"mine": {"base_url": "http://x"}}})
    assert other[0]["config_error"] == "bad_request"
    assert other[0]["field"] == "providers.mine"


def test_named_openai_compatible_entry(driver, fake_llm):
    cfg = {"corp": {"type": "openai_compatible", "base_url": fake_llm + "/v1",
                    "api_key_env": "CORP_KEY", "structured_output": "json_mode"}}
    env = clean_env({"CORP_KEY": KEY})
    res, _, _ = run(driver, {"config": cfg, "requests": [req("k1", provider="corp",
                                                            schema=SCHEMA)]}, env=env)
    assert res[0]["code"] == "ok" and res[0]["method"] == "json_mode"
    sent = requests_of(fake_llm, "k1")[-1]
    assert sent["body"]["response_format"] == {"type": "json_object"}
    assert sent["headers"]["authorization"] == "Bearer ..." + KEY[-4:]


def test_keys_never_leak(driver, fake_llm):
    cfg = config(fake_llm, openai={"max_attempts": 2},
                 anthropic={"max_attempts": 1, "rate_limit_wait_s": 1})
    res, _, _ = run(driver, {"config": cfg, "requests": [
        req("k2+fail500+leakkey"), req("k2+fail400param=temperature+leakkey", temperature=1),
        req("k2-ant+fail429+leakkey+retry_after=1", provider="anthropic")]})
    for r in res.values():
        assert r["code"] == "provider_error"
        assert "[redacted]" in r["message"], r["message"]
        assert KEY not in r["message"] and ANT_KEY not in r["message"]
    for out in _outputs:
        assert KEY not in out and ANT_KEY not in out


def test_ping(driver, fake_llm, tmp_path):
    env = clean_env({"HETU_ANTHROPIC_BASE_URL": fake_llm + "/v1", "ANTHROPIC_API_KEY": ANT_KEY})
    p = subprocess.run([str(driver), "ping", "--provider", "anthropic", "--model", "p1",
                        "--prompt", "ping me"], env=env, capture_output=True, timeout=20)
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    assert "fake answer" in out and "ping me" in out
    assert "usage: input_tokens=" in out and "output_tokens=" in out
    assert "anthropic p1: HTTP 200, 1 attempt" in out
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA))
    conf = tmp_path / "hetu.json"
    conf.write_text(json.dumps({"providers": config(fake_llm)}))
    p = subprocess.run([str(driver), "ping", "--provider", "openai", "--model", "p2",
                        "--config", str(conf), "--schema", str(schema)], env=clean_env(),
                       capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr.decode()
    assert "structured output: json_schema" in p.stdout.decode()
    p = subprocess.run([str(driver), "ping", "--provider", "openai", "--model", "p3"],
                       env=clean_env(), capture_output=True, timeout=20)
    assert p.returncode == 1 and "OPENAI_API_KEY" in p.stderr.decode()
    p = subprocess.run([str(driver), "ping", "--model", "p3"], env=clean_env(),
                       capture_output=True, timeout=20)
    assert p.returncode == 2 and "usage:" in p.stderr.decode()
    for s in (p.stdout, p.stderr):
        assert KEY.encode() not in s and ANT_KEY.encode() not in s
