# SPDX-License-Identifier: MIT
"""Answers cut off at the output limit, and rate-limit storms, end to end against the fake
provider.

A cut-off answer (finish_reason "length", stop_reason "max_tokens") is asked again once with a
larger output limit (double the one sent, capped at the model's max_output_tokens; the cap
itself when no limit was sent); still cut, an output fails naming the cut (save: 502, job item:
its reason) unless the request says allow_truncated, and then it is stored tagged "truncated".
A 429 never uses up a call's attempts: a storm of them delays a batch, never fails it, up to the
provider's rate_limit_wait_s."""

import time
import uuid

import pytest

from hetu_http import assert_error
from test_generate import CONFIG, GenEnv, SECRET, start_gen_server
from test_import import Imp, check_job
from test_samples import fake_text_answer

CAP = 8000  # max_output_tokens of together_ai below; openai has none
ANTHROPIC_DEFAULT = 4096  # LLM_ANTHROPIC_DEFAULT_MAX_TOKENS, sent when a call gives none


@pytest.fixture(scope="module")
def env(hetu_bin, fake_llm, tmp_path_factory):
    providers = {k: dict(v) for k, v in CONFIG["providers"].items()}
    providers["together_ai"]["max_output_tokens"] = CAP
    providers["anthropic"] = dict(CONFIG["providers"]["openai"])
    providers["groq"] = dict(CONFIG["providers"]["openai"], rate_limit_wait_s=1, max_attempts=1)
    srv = start_gen_server(tmp_path_factory.mktemp("trunc"), fake_llm,
                           config={"providers": providers},
                           env={"HETU_ANTHROPIC_BASE_URL": fake_llm + "/v1",
                                "ANTHROPIC_API_KEY": SECRET,
                                "HETU_GROQ_BASE_URL": fake_llm + "/v1", "GROQ_API_KEY": SECRET})
    yield GenEnv(srv, fake_llm)
    srv.assert_clean_exit()


def sample(model, provider, text="一个会被截断的回答", **extra):
    s = {"input": text, "output_model_name": model, "output_provider": provider,
         "prompt_method": "default"}
    s.update(extra)
    return s


def save(env, pid, tid, body):
    return env.c.post(env.ds(pid, tid, "save_sample"), body)


def limits_sent(env, model):
    return [r["body"].get("max_tokens") for r in env.fake.requests(model)]


def cut_message(provider, model, limit):
    return ("provider %s model %s: the answer was cut off at the output limit (max_tokens %d); "
            "set allow_truncated to keep such answers" % (provider, model, limit))


# ---- one retry with a larger limit -----------------------------------------------------------

@pytest.mark.parametrize("provider,first,second", [
    ("together_ai", None, CAP),  # no limit sent: the cap is the larger limit
    ("anthropic", ANTHROPIC_DEFAULT, 2 * ANTHROPIC_DEFAULT),  # the default doubled, no cap
])
def test_cut_answer_is_asked_again_with_a_larger_limit(env, provider, first, second):
    pid, tid = env.task()
    model = env.model("length=1")
    r = save(env, pid, tid, sample(model, provider))
    assert r.status == 200, r
    run = r.json()
    assert run["output"]["output"] == fake_text_answer("一个会被截断的回答")  # the whole answer
    assert run["tags"] == ["synthetic"]
    assert limits_sent(env, model) == [first, second]


def test_still_cut_fails_the_save_with_a_502(env):
    pid, tid = env.task()
    model = env.model("length=2")
    r = save(env, pid, tid, sample(model, "anthropic"))
    body = assert_error(r, 502, "provider_error")
    assert body["detail"] == cut_message("anthropic", model, 2 * ANTHROPIC_DEFAULT), body
    assert limits_sent(env, model) == [ANTHROPIC_DEFAULT, 2 * ANTHROPIC_DEFAULT]
    assert env.c.ok("GET", env.runs_path(pid, tid))["runs"] == [], "nothing is stored"


def test_refused_larger_limit_keeps_the_first_answer(env):
    """The model takes at most the default: the retry's 400 leaves the first, cut answer, and
    the lane learns not to ask for more again."""
    pid, tid = env.task()
    model = env.model("length=3", "maxout=%d" % ANTHROPIC_DEFAULT)
    r = save(env, pid, tid, sample(model, "anthropic", allow_truncated=True))
    assert r.status == 200, r
    whole = fake_text_answer("一个会被截断的回答")
    assert r.json()["output"]["output"] == whole[: len(whole) // 2]
    assert r.json()["tags"] == ["synthetic", "truncated"]
    sent = env.fake.requests(model)
    assert [(x["body"]["max_tokens"], x["status"]) for x in sent] == [
        (ANTHROPIC_DEFAULT, 200), (2 * ANTHROPIC_DEFAULT, 400)]
    body = assert_error(save(env, pid, tid, sample(model, "anthropic")), 502, "provider_error")
    assert body["detail"] == cut_message("anthropic", model, ANTHROPIC_DEFAULT), body
    assert len(env.fake.requests(model)) == 3  # no second retry for a limit known refused


def test_no_larger_limit_no_retry(env):
    """openai sends no limit and has no max_output_tokens: nothing larger is known."""
    pid, tid = env.task()
    model = env.model("length=1")
    r = save(env, pid, tid, sample(model, "openai"))
    body = assert_error(r, 502, "provider_error")
    assert body["detail"] == ("provider openai model %s: the answer was cut off at the "
                              "provider's output limit; set allow_truncated to keep such "
                              "answers" % model), body
    assert limits_sent(env, model) == [None]


def test_allow_truncated_keeps_the_cut_answer_tagged(env):
    pid, tid = env.task()
    model = env.model("length=2")
    r = save(env, pid, tid, sample(model, "together_ai", allow_truncated=True))
    assert r.status == 200, r
    run = r.json()
    whole = fake_text_answer("一个会被截断的回答")
    assert run["output"]["output"] == whole[: len(whole) // 2]
    assert run["tags"] == ["synthetic", "truncated"]
    assert limits_sent(env, model) == [None, CAP]
    listed = env.c.ok("GET", env.runs_path(pid, tid, "?tag=truncated"))["runs"]
    assert [x["id"] for x in listed] == [run["id"]]


def test_allow_truncated_must_be_a_boolean(env):
    pid, tid = env.task()
    r = save(env, pid, tid, sample(env.model(), "together_ai", allow_truncated="maybe"))  # "yes" passes
    body = assert_error(r, 422, "invalid")
    assert body["field"] == "allow_truncated", body


def test_batch_allow_truncated_for_every_sample(env):
    pid, tid = env.task()
    model = env.model("length=4")  # both samples cut twice
    r = env.c.post(env.ds(pid, tid, "save_samples_batch"),
                   {"samples": [sample(model, "together_ai", text="第%d个" % i) for i in range(2)],
                    "allow_truncated": True})
    assert r.status == 200, r
    assert r.header("X-Hetu-Failed") == "0"
    assert [x["tags"] for x in r.json()] == [["synthetic", "truncated"]] * 2


def test_job_item_fails_naming_the_cut_unless_allowed(env):
    imp = Imp(env.srv)
    model = env.model("length=2")
    r = imp.run_async([sample(model, "anthropic")])
    assert r.status == 200, r
    j = check_job(imp.wait_job(r.json()["job_id"], timeout=60), total=1)
    assert (j["completed"], j["failed"]) == (0, 1), j
    assert j["errors"] == [{"index": 0, "detail": cut_message("anthropic", model,
                                                              2 * ANTHROPIC_DEFAULT)}], j

    model = env.model("length=2")
    r = imp.c.post(imp.ds("import_samples_async"),
                   {"samples": [sample(model, "anthropic")], "allow_truncated": True})
    assert r.status == 200, r
    j = check_job(imp.wait_job(r.json()["job_id"], timeout=60), total=1)
    assert (j["status"], j["completed"], j["failed"]) == ("completed", 1, 0), j
    assert [x["tags"] for x in imp.all_runs()] == [["synthetic", "truncated"]]


# ---- 429 storms ------------------------------------------------------------------------------

def test_a_429_storm_delays_a_batch_but_fails_nothing(env):
    """The first 300 calls are 429 with Retry-After: 1, max_attempts is 2: every sample is
    saved all the same."""
    pid, tid = env.task()
    model = env.model("fail429=300", "retry_after=1")
    n = 100
    t0 = time.monotonic()
    r = env.c.post(env.ds(pid, tid, "save_samples_batch"),
                   {"samples": [sample(model, "together_ai", text="样本 %d" % i)
                                for i in range(n)]})
    assert r.status == 200, r
    assert r.header("X-Hetu-Failed") == "0", r.header("X-Hetu-First-Error")
    assert len(r.json()) == n
    sent = env.fake.requests(model)
    assert sorted(x["status"] for x in sent) == [200] * n + [429] * 300
    assert time.monotonic() - t0 < 30


def test_429s_give_up_after_rate_limit_wait_s(env):
    pid, tid = env.task()
    model = "m-" + uuid.uuid4().hex[:10] + "+fail429+retry_after=1"
    r = save(env, pid, tid, sample(model, "groq"))
    body = assert_error(r, 502, "provider_error")
    assert body["detail"].startswith(
        "provider groq model %s: HTTP 429: Rate limit reached for %s" % (model, model)), body
    assert "(still rate limited after 1 s, 2 attempts)" in body["detail"], body
    assert [x["status"] for x in env.fake.requests(model)] == [429, 429]


# ---- file imports ----------------------------------------------------------------------------

def cut_file(model, n):
    from test_import import jsonl_bytes
    return jsonl_bytes([{"input": "截断 %d" % i} for i in range(n)])


def import_params(model, **extra):
    return dict({"output_model_name": model, "output_provider": "anthropic",
                 "prompt_method": "default"}, **extra)


def test_small_file_import_refuses_cut_outputs_unless_allowed(env):
    imp = Imp(env.srv)
    model = env.model("length=1000")  # every answer cut, the retry too
    r = imp.upload("cut.jsonl", cut_file(model, 3), **import_params(model))
    assert_error(r, 502, "provider_error",
                 mentions=["all 3 rows failed", "cut off at the output limit"])
    assert imp.all_runs() == []

    r = imp.upload("cut.jsonl", cut_file(model, 3), **import_params(model, allow_truncated="true"))
    assert r.status == 200 and r.json()["sample_count"] == 3, r
    assert sorted(x["tags"] for x in imp.all_runs()) == [["imported", "truncated"]] * 3


def test_file_import_job_keeps_cut_outputs_when_allowed(env):
    imp = Imp(env.srv)
    model = env.model("length=100000")
    n = 120  # over the inline limit of 100 rows: a job
    r = imp.upload("cut.jsonl", cut_file(model, n), **import_params(model, allow_truncated="true"))
    assert r.status == 200 and r.json()["status"] == "import_started", r
    j = check_job(imp.wait_job(r.json()["job_id"], timeout=90), total=n)
    assert (j["status"], j["completed"], j["failed"]) == ("completed", n, 0), j
    runs = imp.all_runs()
    assert len(runs) == n and all(x["tags"] == ["imported", "truncated"] for x in runs), runs[:2]


def test_file_import_job_fails_cut_items_without_the_flag(env):
    imp = Imp(env.srv)
    model = env.model("length=100000")
    r = imp.upload("cut.jsonl", cut_file(model, 120), **import_params(model))
    assert r.status == 200 and r.json()["status"] == "import_started", r
    j = imp.wait_job(r.json()["job_id"], timeout=90)
    assert j["completed"] == 0 and j["status"] == "failed", j
    assert "cut off at the output limit" in j["errors"][0]["detail"], j
    assert imp.all_runs() == []


def test_allow_truncated_query_must_be_true_or_false(env):
    imp = Imp(env.srv)
    model = env.model()
    r = imp.upload("x.jsonl", cut_file(model, 1), **import_params(model, allow_truncated="yes"))
    assert_error(r, 422, "invalid", field="allow_truncated", mentions=["true or false"])
