# SPDX-License-Identifier: MIT
"""Provider failures end to end, against the fake provider: a 5xx answer's Retry-After is
honoured like a 429's; a provider message that repeats the API key is redacted everywhere it
goes (the 502 detail, a job item's reason, the server's log); and the list count contract gives
up after its last follow-up call with a 502 naming the shortfall.

The engine is driven through the llm-driver executable (see test_llm_engine.py), the rest
through a real server (see test_generate.py)."""

import json
import uuid

import pytest

from hetu_http import assert_error
from test_generate import GenEnv, categories, start_gen_server
from test_import import Imp, check_job
from test_llm_engine import config, driver, req, requests_of, run  # noqa: F401 (driver: fixture)

# The length of an OpenAI project key: long enough that a message repeating it runs past the
# 300 bytes of a provider message the engine keeps.
LONG_KEY = "sk-proj-" + "".join("%02x" % ((i * 37 + 11) % 256) for i in range(78))
GEN_MAX_FOLLOWUPS = 3  # src/gen/gen.h


def unique(tag, *directives):
    return "+".join(["%s-%s" % (tag, uuid.uuid4().hex[:8])] + list(directives))


# ---- Retry-After on a 5xx ------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_503_retry_after_is_honoured(driver, fake_llm, provider):  # noqa: F811
    model = unique("ra", "fail503=1", "retry_after=2")
    res, summary, _ = run(driver, {"config": config(fake_llm), "requests": [
        req(model, provider=provider)]})
    r = res[0]
    assert (r["code"], r["attempts"], r["http_status"]) == ("ok", 2, 200), r
    assert summary["rate_limited"] == 0  # a 503 is not a 429
    sent = requests_of(fake_llm, model)
    assert [x["status"] for x in sent] == [503, 200]
    # backoff alone (base 20 ms, at most 200 ms) would retry at once
    waited = sent[1]["time"] - sent[0]["time"]
    assert 2.0 - 0.05 <= waited < 2.0 * 1.1 + 0.5, waited


def test_503_gives_up_with_the_providers_message(driver, fake_llm):  # noqa: F811
    model = unique("ra-bad", "fail503", "retry_after=0")
    cfg = config(fake_llm, openai={"max_attempts": 2})
    res, _, _ = run(driver, {"config": cfg, "requests": [req(model)]})
    r = res[0]
    assert r["code"] == "provider_error" and r["status"] == 502
    assert r["message"] == ("provider openai model %s: HTTP 503: The service is temporarily "
                            "unavailable. (after 2 attempts)" % model)


# ---- a key the provider repeats ------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(hetu_bin, fake_llm, tmp_path_factory):
    """A server whose together_ai key is LONG_KEY."""
    srv = start_gen_server(tmp_path_factory.mktemp("keyed"), fake_llm,
                           env={"TOGETHERAI_API_KEY": LONG_KEY})
    yield GenEnv(srv, fake_llm)
    srv.assert_clean_exit()


def samples(env, model, n):
    pid, tid = env.task()
    return env.c.post(env.ds(pid, tid, "generate_samples"),
                      {"topic": [], "num_samples": n, "model_name": model,
                       "provider": "together_ai"})


def assert_redacted(text, times):
    assert LONG_KEY not in text, text
    assert LONG_KEY[:12] not in text, text  # not even the start of it
    assert text.count("[redacted]") == times, text


def test_repeated_key_redacted_in_the_502(keyed):
    model = keyed.model("fail500", "leakkey=2")
    r = samples(keyed, model, 2)
    body = assert_error(r, 502, "provider_error")
    assert body["detail"].startswith("provider together_ai model %s: HTTP 500: The server had an "
                                      "error while processing your request. Sorry about that! "
                                      "(key [redacted]) (key " % model), body
    assert_redacted(r.raw.decode("utf-8"), 2)
    assert keyed.fake.calls(model) == 2  # max_attempts 2 from the config file


def test_repeated_key_redacted_in_job_items(keyed):
    model = keyed.model("fail500", "leakkey=2")
    imp = Imp(keyed.srv)
    samples = [{"input": "行 %d" % i, "output_model_name": model, "output_provider": "together_ai"}
               for i in range(3)]
    r = imp.run_async(samples)
    assert r.status == 200, r
    j = check_job(imp.wait_job(r.json()["job_id"], timeout=60), total=3)
    assert (j["status"], j["completed"], j["failed"]) == ("failed", 0, 3), j
    assert sorted(x["index"] for x in j["errors"]) == [0, 1, 2]
    for x in j["errors"]:
        assert "HTTP 500: The server had an error" in x["detail"], x
        assert_redacted(x["detail"], 2)
    assert LONG_KEY[:12] not in json.dumps(j, ensure_ascii=False)


def test_repeated_key_never_in_the_log(keyed):
    """Runs last in this module: the log then holds the 502s and job failures above."""
    r = samples(keyed, keyed.model("fail500", "leakkey=2"), 2)
    assert r.status == 502
    log = keyed.srv.stderr()
    line = [x for x in log.splitlines() if "generate_samples" in x and "502" in x][-1]
    assert "(key [redacted]) (key [redacted]" in line, line
    assert LONG_KEY[:12] not in log


# ---- the count contract --------------------------------------------------------------------

@pytest.fixture(scope="module")
def gen(hetu_bin, fake_llm, tmp_path_factory):
    srv = start_gen_server(tmp_path_factory.mktemp("count"), fake_llm)
    yield GenEnv(srv, fake_llm)
    srv.assert_clean_exit()


def test_categories_give_up_after_the_last_follow_up(gen):
    pid, tid = gen.task()
    model = gen.model("count=1")
    r = categories(gen, pid, tid, model, 6)
    calls = 1 + GEN_MAX_FOLLOWUPS
    body = assert_error(r, 502, "provider_error")
    assert body["detail"] == ("provider together_ai model %s gave %d distinct new subtopics of "
                              "the 6 asked for after %d calls" % (model, calls, calls)), body
    assert gen.fake.calls(model) == calls


def test_samples_give_up_after_the_last_follow_up(gen):
    model = gen.model("count=2")
    r = samples(gen, model, 9)
    calls = 1 + GEN_MAX_FOLLOWUPS
    body = assert_error(r, 502, "provider_error")
    assert body["detail"] == ("provider together_ai model %s gave %d distinct new samples of the "
                              "9 asked for after %d calls" % (model, 2 * calls, calls)), body
    assert gen.fake.calls(model) == calls
