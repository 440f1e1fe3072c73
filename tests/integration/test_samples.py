# SPDX-License-Identifier: MIT
"""save_sample and save_samples_batch over real HTTP against the fake provider: the saved
TaskRun (shape, provenance, tags, session), topic paths in both forms, outputs given vs
generated, every prompt method (few-shot examples from ratings, best first; two calls for
chain of thought), output and input schemas, batch order, partial and total failure, and
concurrency."""

import json
import time

import pytest

from hetu_http import assert_error, assert_id
from test_generate import (SEED_MODEL, check_taskrun, gen, last_user, short_hash,  # noqa: F401
                           system_of)

OUTPUT_SCHEMA = {"type": "object",
                 "properties": {"answer": {"type": "string"},
                                "score": {"type": "integer", "minimum": 1, "maximum": 5}},
                 "required": ["answer", "score"]}
INPUT_SCHEMA = {"type": "object", "properties": {"问题": {"type": "string"}}, "required": ["问题"]}
ALL_METHODS = ["default", "simple_prompt_builder", "few_shot_prompt_builder",
               "multi_shot_prompt_builder", "repairs_prompt_builder",
               "simple_chain_of_thought_prompt_builder",
               "few_shot_chain_of_thought_prompt_builder",
               "multi_shot_chain_of_thought_prompt_builder"]
COT = [m for m in ALL_METHODS if "chain_of_thought" in m]


def sample(gen, model, **extra):
    s = {"input": "你好，世界", "topic_path": ["问候"], "input_model_name": SEED_MODEL,
         "input_provider": "together_ai", "output_model_name": model,
         "output_provider": "together_ai", "prompt_method": "default"}
    s.update(extra)
    return s


def fake_text_answer(user_text):
    return "fake answer %s: %s" % (short_hash(user_text), " ".join(user_text.split())[:80])


def save(gen, pid, tid, body, query=""):
    return gen.c.post(gen.ds(pid, tid, "save_sample") + query, body)


def saved(r):
    assert r.status == 200, r
    return check_taskrun(r.json(), saved=True)


# ---- save_sample ----

def test_seed_save_sample(gen):
    pid, tid = gen.task()
    model = gen.model()
    body = {"input": "样本输入内容", "topic_path": "a/b", "input_model_name": SEED_MODEL,
            "input_provider": "together_ai", "output_model_name": model,
            "output_provider": "together_ai", "prompt_method": "default",
            "human_guidance": "人工指导说明"}
    run = saved(save(gen, pid, tid, body, "?session_id=S1"))
    assert run["input"] == "样本输入内容"
    assert run["tags"] == ["synthetic", "synthetic_session_S1"]
    assert run["input_source"] == {"type": "synthetic", "properties": {
        "model_name": SEED_MODEL, "model_provider": "together_ai", "adapter_name": "kiln_data_gen",
        "topic_path": "a>>>>>b"}}
    assert list(run["input_source"]["properties"]) == ["model_name", "model_provider",
                                                       "adapter_name", "topic_path"]
    src = run["output"]["source"]
    assert src["type"] == "synthetic"
    assert src["properties"]["model_name"] == model
    assert src["properties"]["model_provider"] == "together_ai"
    assert src["properties"]["prompt_id"] == "simple_prompt_builder"
    assert "adapter_name" in src["properties"]
    assert run["output"]["rating"] is None
    assert run["intermediate_outputs"] == {}
    u = run["usage"]
    assert u["input_tokens"] > 0 and u["output_tokens"] > 0
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]

    reqs = gen.fake.requests(model)
    assert len(reqs) == 1
    msgs = reqs[0]["body"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"] == "样本输入内容"
    system = msgs[0]["content"]
    assert system.startswith("把句子翻译成英文")
    assert "1) Keep it concise" in system and "2) Be polite" in system
    assert "Additional instructions" in system and "人工指导说明" in system
    assert system.index("2) Be polite") < system.index("人工指导说明")
    assert "response_format" not in reqs[0]["body"], "a text task asks for text"
    assert run["output"]["output"] == fake_text_answer("样本输入内容")

    got = gen.c.ok("GET", gen.runs_path(pid, tid, "/" + run["id"]))
    assert got == run


def test_topic_path_forms(gen):
    pid, tid = gen.task()
    model = gen.model()
    for tp, want in ((["主题", "路径"], "主题>>>>>路径"), ("x>>>>>y/z", "x>>>>>y/z"),
                     ("single", "single")):
        run = saved(save(gen, pid, tid, sample(gen, model, topic_path=tp)))
        assert run["input_source"]["properties"]["topic_path"] == want, (tp, run["input_source"])
    run = saved(save(gen, pid, tid, sample(gen, model, topic_path=[])))
    assert "topic_path" not in run["input_source"]["properties"]
    assert run["tags"] == ["synthetic"]


def test_output_given_makes_no_model_call(gen):
    pid, tid = gen.task()
    model = gen.model()
    mark = gen.fake.mark()
    run = saved(save(gen, pid, tid, sample(gen, model, output="Hello, world"), "?session_id=s2"))
    assert run["output"]["output"] == "Hello, world"
    assert run["tags"] == ["synthetic", "synthetic_session_s2"]
    assert gen.fake.requests(since=mark) == [], "a given output must not call the model"
    # no model named at all is fine when the output is given
    run = saved(save(gen, pid, tid, {"input": "q", "output": "a"}))
    assert run["input_source"]["type"] == "human"
    assert gen.fake.requests(since=mark) == []


def test_output_schema_task(gen):
    pid, tid = gen.task(output_json_schema=json.dumps(OUTPUT_SCHEMA))
    model = gen.model()
    run = saved(save(gen, pid, tid, sample(gen, model)))
    out = json.loads(run["output"]["output"])
    assert isinstance(out["answer"], str) and 1 <= out["score"] <= 5
    req = gen.fake.requests(model)[0]
    assert req["body"]["response_format"]["type"] == "json_schema"
    assert req["body"]["response_format"]["json_schema"]["schema"] == OUTPUT_SCHEMA
    # given outputs: an object or JSON text, validated
    run = saved(save(gen, pid, tid, sample(gen, model, output={"answer": "x", "score": 2})))
    assert json.loads(run["output"]["output"]) == {"answer": "x", "score": 2}
    run = saved(save(gen, pid, tid, sample(gen, model, output='{"answer": "y", "score": 3}')))
    assert json.loads(run["output"]["output"]) == {"answer": "y", "score": 3}
    assert_error(save(gen, pid, tid, sample(gen, model, output={"answer": "x", "score": 9})), 422, "invalid",
                 field="output")
    assert_error(save(gen, pid, tid, sample(gen, model, output="not json")), 422, "invalid", field="output")


def test_save_sample_schema_invalid_output_502(gen):
    """A model whose answers stay schema-invalid: 502 saying what was wrong (issue 4)."""
    pid, tid = gen.task(output_json_schema=json.dumps(OUTPUT_SCHEMA))
    bad = gen.model("schemabad")
    r = save(gen, pid, tid, sample(gen, bad))
    body = assert_error(r, 502, "provider_error")
    assert "schema" in body["detail"] and ("answer" in body["detail"] or "score" in body["detail"])
    assert gen.fake.calls(bad) == 2
    assert r.status == 502, "schema-invalid model output after retries must be 502 (issue 4): %r" % r


def test_structured_input_task(gen):
    pid, tid = gen.task(input_json_schema=json.dumps(INPUT_SCHEMA, ensure_ascii=False))
    model = gen.model()
    run = saved(save(gen, pid, tid, sample(gen, model, input={"问题": "几点了"})))
    assert isinstance(run["input"], str)
    assert json.loads(run["input"]) == {"问题": "几点了"}
    assert json.loads(gen.fake.requests(model)[0]["body"]["messages"][1]["content"]) == {"问题": "几点了"}
    run = saved(save(gen, pid, tid, sample(gen, model, input='{"问题": "文本"}', output="a")))
    assert json.loads(run["input"]) == {"问题": "文本"}
    assert_error(save(gen, pid, tid, sample(gen, model, input={"other": 1})), 422, "invalid", field="input")
    assert_error(save(gen, pid, tid, sample(gen, model, input="plain")), 422, "invalid", field="input")


def rate(gen, pid, tid, run_id, stars):
    return gen.c.ok("PATCH", gen.runs_path(pid, tid, "/" + run_id),
                    {"rating": {"type": "five_star", "value": stars}})


@pytest.fixture(scope="module")
def rated(gen):
    """A task with three saved samples rated 4, 5 and 3 (saved in that order) and one
    passing pass/fail sample."""
    pid, tid = gen.task(thinking_instruction="先想一想再回答")
    runs = {}
    for name, stars in (("four", 4), ("five", 5), ("three", 3)):
        run = saved(save(gen, pid, tid, {"input": "input-%s" % name, "output": "output-%s" % name}))
        rate(gen, pid, tid, run["id"], stars)
        runs[name] = run
    return pid, tid, runs


def test_few_shot_examples_best_first(gen, rated):
    pid, tid, _ = rated
    for method in ("few_shot_prompt_builder", "multi_shot_prompt_builder",
                   "repairs_prompt_builder"):
        model = gen.model()
        run = saved(save(gen, pid, tid, sample(gen, model, prompt_method=method, input="新输入")))
        assert run["output"]["source"]["properties"]["prompt_id"] == method
        reqs = gen.fake.requests(model)
        assert len(reqs) == 1
        system = system_of(reqs[0])
        for x in ("input-five", "output-five", "input-four", "output-four"):
            assert x in system, (method, x, system)
        assert "input-three" not in system, "a 3-star sample is not an example"
        assert system.index("input-five") < system.index("input-four"), "best first"
        assert system.index("input-five") < system.index("output-five") < system.index("input-four")
        assert last_user(reqs[0]) == "新输入"
    # the simple method has no examples
    model = gen.model()
    saved(save(gen, pid, tid, sample(gen, model, prompt_method="simple_prompt_builder")))
    assert "input-five" not in system_of(gen.fake.requests(model)[0])


@pytest.mark.parametrize("method", COT)
def test_chain_of_thought_two_calls(gen, rated, method):
    pid, tid, _ = rated
    model = gen.model()
    run = saved(save(gen, pid, tid, sample(gen, model, prompt_method=method, input="为什么天是蓝的",
                                           human_guidance="只用一句话")))
    reqs = gen.fake.requests(model)
    assert len(reqs) == 2, "chain of thought makes two calls, made %d" % len(reqs)
    think_user = last_user(reqs[0])
    assert think_user.startswith("为什么天是蓝的") and "先想一想再回答" in think_user
    thinking = fake_text_answer(think_user)
    assert run["intermediate_outputs"].get("chain_of_thought") == thinking
    second = reqs[1]["body"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == "为什么天是蓝的"
    assert second[2]["content"] == thinking
    assert run["output"]["output"] == fake_text_answer(second[3]["content"])
    for req in reqs:
        assert "只用一句话" in system_of(req) and "Additional instructions" in system_of(req)
        has_examples = "input-five" in system_of(req)
        assert has_examples == (method != "simple_chain_of_thought_prompt_builder"), method
    assert run["output"]["source"]["properties"]["prompt_id"] == method
    u = run["usage"]
    assert u["input_tokens"] > 0


def test_unknown_prompt_method_400(gen):
    pid, tid = gen.task()
    mark = gen.fake.mark()
    r = save(gen, pid, tid, sample(gen, gen.model(), prompt_method="magic_prompt"))
    assert_error(r, 400, "bad_request", mentions=("magic_prompt", "few_shot_prompt_builder",
                                   "simple_chain_of_thought_prompt_builder", "default"))
    r = gen.c.post(gen.ds(pid, tid, "save_samples_batch"),
                   {"samples": [sample(gen, "m"), sample(gen, "m", prompt_method="zzz")]})
    body = assert_error(r, 400, "bad_request", mentions=("zzz",))
    assert "samples[1]" in body.get("field", "") + body["detail"]
    assert gen.fake.requests(since=mark) == []


@pytest.mark.parametrize("patch,field", [
    ({"input": None}, "input"),
    ({"input": 5}, "input"),
    ({"topic_path": 5}, "topic_path"),
    ({"topic_path": ["a", 1]}, "topic_path[1]"),
    ({"output_model_name": None}, "output_model_name"),
    ({"human_guidance": 1}, "human_guidance"),
    ({"allow_truncated": "maybe"}, "allow_truncated"),  # unknown keys are ignored here
])
def test_save_sample_bad_bodies_422(gen, patch, field):
    pid, tid = gen.task()
    body = sample(gen, "m")
    body.update(patch)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(save(gen, pid, tid, body), 422, "invalid", field=field)


def test_save_unknown_ids_404(gen):
    pid, tid = gen.task()
    for p, t in (("999999999999", tid), (pid, "999999999999")):
        assert_error(save(gen, p, t, {"input": "x", "output": "y"}), 404, "not_found")
        assert_error(gen.c.post(gen.ds(p, t, "save_samples_batch"),
                                {"samples": [{"input": "x", "output": "y"}]}), 404, "not_found")


def test_unknown_output_provider_400(gen):
    pid, tid = gen.task()
    r = save(gen, pid, tid, sample(gen, "m", output_provider="nowhere"))
    assert_error(r, 400, "bad_request", mentions=("nowhere", "together_ai"))


def test_provider_down_502_in_save_sample(gen):
    pid, tid = gen.task()
    model = gen.model("fail500", "leakkey")
    r = save(gen, pid, tid, sample(gen, model))
    body = assert_error(r, 502, "provider_error")
    assert "The server had an error" in body["detail"]
    from test_generate import SECRET
    assert SECRET not in r.raw.decode("utf-8")
    assert gen.c.ok("GET", gen.runs_path(pid, tid))["runs"] == [], "a failed sample is not stored"


# ---- save_samples_batch ----

def batch(gen, pid, tid, body, query=""):
    return gen.c.post(gen.ds(pid, tid, "save_samples_batch") + query, body)


def test_seed_batch_in_input_order(gen):
    pid, tid = gen.task()
    model = gen.model("latency=30")
    inputs = ["样本%d输入内容" % i for i in range(12)]
    samples = [sample(gen, model, input=x, topic_path=["主题", "路径"],
                      human_guidance="人工指导说明") for x in inputs]
    samples[3]["output"] = "given"
    r = batch(gen, pid, tid, {"samples": samples, "session_id": "B1"})
    assert r.status == 200, r
    runs = r.json()
    assert isinstance(runs, list) and len(runs) == 12
    assert [x["input"] for x in runs] == inputs
    for x in runs:
        check_taskrun(x, saved=True)
        assert x["tags"] == ["synthetic", "synthetic_session_B1"]
        assert x["input_source"]["properties"]["topic_path"] == "主题>>>>>路径"
    assert runs[3]["output"]["output"] == "given"
    assert runs[0]["output"]["output"] == fake_text_answer(inputs[0])
    assert gen.fake.calls(model) == 11
    assert r.header("X-Hetu-Failed") == "0"
    assert len({x["id"] for x in runs}) == 12
    listed = gen.c.ok("GET", gen.runs_path(pid, tid, "?session_id=B1"))["runs"]
    assert sorted(x["id"] for x in listed) == sorted(x["id"] for x in runs)


def test_batch_session_id_query(gen):
    pid, tid = gen.task()
    r = batch(gen, pid, tid, {"samples": [{"input": "a", "output": "b"}]}, "?session_id=Q9")
    assert r.status == 200, r
    assert r.json()[0]["tags"] == ["synthetic", "synthetic_session_Q9"]


def test_batch_partial_failure(gen):
    pid, tid = gen.task()
    good = gen.model()
    bad = gen.model("fail400param=messages")
    samples = [sample(gen, good, input="g0"), sample(gen, bad, input="b1"),
               sample(gen, good, input="g2"), sample(gen, bad, input="b3")]
    r = batch(gen, pid, tid, {"samples": samples})
    assert r.status == 200, r
    runs = r.json()
    assert isinstance(runs, list)
    assert [x["input"] for x in runs] == ["g0", "g2"]
    assert r.header("X-Hetu-Failed") == "2"
    first = r.header("X-Hetu-First-Error") or ""
    assert first.startswith("[1]") and "messages" in first, first
    # detailed mode
    r = batch(gen, pid, tid, {"samples": samples}, "?detailed=true")
    assert r.status == 200, r
    d = r.json()
    assert list(d.keys()) == ["runs", "errors"]
    assert [x["input"] for x in d["runs"]] == ["g0", "g2"]
    assert [e["index"] for e in d["errors"]] == [1, 3]
    for e in d["errors"]:
        assert list(e.keys()) == ["index", "detail"]
        assert "Unsupported parameter" in e["detail"] and "messages" in e["detail"]
    assert r.header("X-Hetu-Failed") == "2"
    stored = gen.c.ok("GET", gen.runs_path(pid, tid))["runs"]
    assert sorted(x["input"] for x in stored) == ["g0", "g0", "g2", "g2"]


def test_batch_all_fail(gen):
    pid, tid = gen.task()
    bad = gen.model("fail400param=messages")
    r = batch(gen, pid, tid, {"samples": [sample(gen, bad, input="x%d" % i) for i in range(3)]})
    body = assert_error(r, 502, "provider_error")
    assert "[0]" in body["detail"] and "[1]" in body["detail"], body
    assert "Unsupported parameter" in body["detail"]
    assert gen.c.ok("GET", gen.runs_path(pid, tid))["runs"] == []


@pytest.mark.parametrize("body,status,field", [
    ({}, 422, "samples"),
    ({"samples": []}, 422, "samples"),
    ({"samples": {"a": 1}}, 422, "samples"),
    ({"samples": [{"input": "a", "output": "b"}, {"output": "c"}]}, 422, "samples[1].input"),
    ({"samples": [{"input": "a", "output": "b"}, "x"]}, 422, "samples[1]"),
    ({"samples": [{"input": "a", "output": "b"}], "session_id": 5}, 422, "session_id"),
])
def test_batch_bad_bodies(gen, body, status, field):
    pid, tid = gen.task()
    assert_error(batch(gen, pid, tid, body), status, "invalid", field=field)
    assert gen.c.ok("GET", gen.runs_path(pid, tid))["runs"] == [], "nothing stored"


def test_batch_runs_concurrently(gen):
    pid, tid = gen.task()
    model = gen.model("latency=200")
    samples = [sample(gen, model, input="c%03d" % i) for i in range(200)]
    t0 = time.monotonic()
    r = batch(gen, pid, tid, {"samples": samples})
    took = time.monotonic() - t0
    assert r.status == 200, r
    runs = r.json()
    assert [x["input"] for x in runs] == ["c%03d" % i for i in range(200)]
    assert took < 10, "200 samples at 200 ms took %.1f s: not concurrent" % took
    assert gen.fake.calls(model) == 200
    page = gen.c.ok("GET", gen.runs_path(pid, tid, "?limit=1000"))
    assert len(page["runs"]) == 200
