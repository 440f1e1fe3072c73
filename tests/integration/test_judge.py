# SPDX-License-Identifier: MIT
"""The LLM judge over real HTTP with the fake provider: a judge job rates the samples its filters
select against the task's requirements, in Kiln's TaskOutputRating shape, stored apart from a
person's rating (which stays as it was), with its reasoning in intermediate_outputs; samples
judged already are skipped unless rejudge; keep tags the samples rated below it "rejected";
agreement on a crafted set gives the tau, rho, MAE, agreement and kappa computed by hand; the
4xx answers name their field.

The fake answers every enum with its first value, or with the one at index N for a model named
"...+pick=N" (tests/fake/README.md); the judge lists five_star values best first (5, 4, 3, 2, 1)
and pass_fail ones as 1, 0. So pick=N gives the overall rating 5 - N, and pass_fail 1 for even N,
0 for odd."""

import json
import time
import urllib.parse
import urllib.request

import pytest

from hetu_http import Server, assert_error
from test_cli import hetu

CONFIG = {"providers": {"openai": {"max_attempts": 2, "backoff_base_ms": 5, "backoff_max_ms": 20,
                                   "schema_retries": 1, "concurrency": 64}}}
REQUIREMENTS = [
    {"id": "tone", "name": "Tone", "instruction": "Polite throughout", "type": "five_star"},
    {"id": "short", "name": "Short", "instruction": "At most two sentences", "type": "pass_fail"},
]
END = ("completed", "completed_with_errors", "failed", "cancelled", "paused")


@pytest.fixture(scope="module")
def srv(hetu_bin, fake_llm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("judge")
    cfg = workdir / "hetu.json"
    cfg.write_text(json.dumps(CONFIG))
    env = {"HETU_OPENAI_BASE_URL": fake_llm + "/v1", "OPENAI_API_KEY": "sk-judge-test"}
    s = Server(workdir, args=["--config", str(cfg)], env=env).start()
    yield s
    s.assert_clean_exit()


class Task:
    def __init__(self, srv, fake):
        self.c = srv.client
        self.c.timeout = 60
        self.fake = fake
        p = self.c.new_project()
        t = self.c.new_task(p["id"], name="support", instruction="Answer the customer.",
                            requirements=REQUIREMENTS)
        self.pid, self.tid = p["id"], t["id"]

    def ds(self, tail):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (self.pid, self.tid, tail)

    def run_path(self, run_id=""):
        return "/api/projects/%s/tasks/%s/runs/%s" % (self.pid, self.tid, run_id)

    def save(self, text, tags=None):
        run = self.c.ok("POST", self.ds("save_sample"), {"input": text, "output": "out " + text})
        if tags is not None:
            run = self.c.ok("PATCH", self.run_path(run["id"]), {"tags": tags})
        return run["id"]

    def rate(self, run_id, overall, tone=None, short=None):
        reqs = {}
        if tone is not None:
            reqs["tone"] = {"type": "five_star", "value": tone}
        if short is not None:
            reqs["short"] = {"type": "pass_fail", "value": short}
        return self.c.ok("PATCH", self.run_path(run_id),
                         {"rating": {"type": "five_star", "value": overall,
                                     "requirement_ratings": reqs}})

    def get(self, run_id):
        return self.c.ok("GET", self.run_path(run_id))

    def judge(self, model, **body):
        body = dict({"provider": "openai", "model_name": model}, **body)
        return self.c.post(self.ds("judge"), body)

    def judge_done(self, model, **body):
        r = self.judge(model, **body)
        assert r.status == 200, r.raw[:500]
        started = r.json()
        assert started["status"] == "judge_started"
        job = self.wait(started["job_id"])
        assert job["status"] == "completed", job
        return started, job

    def wait(self, job_id, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            j = self.c.ok("GET", self.ds("jobs/%s" % job_id))
            if j["status"] in END:
                return j
            assert time.monotonic() < deadline, "job still %s: %r" % (j["status"], j)
            time.sleep(0.05)

    def agreement(self):
        return self.c.ok("GET", self.ds("judge/agreement"))

    def requests(self, model):
        q = urllib.parse.urlencode({"model": model, "limit": 1000})
        with urllib.request.urlopen(self.fake + "/_requests?" + q, timeout=10) as f:
            return json.loads(f.read())["requests"]



def kiln_rating(overall, tone, short):
    return {"v": 1, "type": "five_star", "value": overall,
            "requirement_ratings": {"tone": {"value": tone, "type": "five_star"},
                                    "short": {"value": short, "type": "pass_fail"}}}


def test_judge_job_rates_samples_apart_from_people(srv, fake_llm):
    t = Task(srv, fake_llm)
    ids = [t.save("question %d" % i) for i in range(4)]
    person = t.rate(ids[1], 2, tone=3, short=False)["output"]["rating"]

    started, job = t.judge_done("judge-basic", human_guidance="Be strict about length.")
    assert started["samples"] == 4
    assert job["kind"] == "judge" and job["total"] == 4 and job["completed"] == 4
    for run_id in ids:
        run = t.get(run_id)
        # pick 0: every enum's first value, 5 stars and pass
        assert run["judge_rating"] == kiln_rating(5, 5, 1)
        reasoning = run["intermediate_outputs"]["judge_reasoning"]
        assert reasoning.startswith("reasoning ") and len(reasoning) > len("reasoning ")
    # the person's rating is untouched
    assert t.get(ids[1])["output"]["rating"] == person
    assert person["value"] == 2 and person["requirement_ratings"]["short"]["value"] == 0

    # what the judge was asked: the requirements in the system turn, the sample in the user
    # turn, and an answer schema with the reasoning first and each type's values
    sent = t.requests("judge-basic")
    assert len(sent) == 4
    body = sent[0]["body"]
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert '<requirement id="tone">' in system and '<requirement id="short">' in system
    assert "rating type: pass_fail, 1 (pass) or 0 (fail)" in system
    assert "<additional_instructions>\nBe strict about length.\n" in system
    assert "<input>\nquestion " in user and "<output>\nout question " in user
    schema = body["response_format"]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["reasoning", "requirement_ratings", "overall_rating"]
    assert schema["required"] == ["reasoning", "requirement_ratings", "overall_rating"]
    assert schema["properties"]["overall_rating"]["enum"] == [5, 4, 3, 2, 1]
    reqs = schema["properties"]["requirement_ratings"]
    assert reqs["required"] == ["tone", "short"]
    assert reqs["properties"]["short"]["enum"] == [1, 0]


def test_task_without_requirements_and_a_failed_rating(srv, fake_llm):
    t = Task(srv, fake_llm)
    task = t.c.ok("PATCH", "/api/projects/%s/task/%s" % (t.pid, t.tid), {"requirements": []})
    assert task["requirements"] == []
    ok = t.save("fine", tags=["ok"])
    bad = t.save("spoiled", tags=["bad"])
    t.judge_done("judge-noreq+pick=2", tag="ok")
    assert t.get(ok)["judge_rating"] == {"v": 1, "type": "five_star", "value": 3,
                                         "requirement_ratings": {}}
    schema = t.requests("judge-noreq+pick=2")[0]["body"]["response_format"]["json_schema"]
    assert list(schema["schema"]["properties"]) == ["reasoning", "overall_rating"]

    # every answer breaks the schema: after the engine's retries the item fails, nothing stored
    r = t.judge("judge-noreq+schemabad", tag="bad")
    assert r.status == 200
    job = t.wait(r.json()["job_id"])
    assert job["status"] == "failed"  # its only item failed
    assert (job["total"], job["completed"], job["failed"]) == (1, 0, 1)
    assert "judge-noreq+schemabad" in job["errors"][0]["detail"]
    assert t.get(bad)["judge_rating"] is None


def test_rejudge_and_filters(srv, fake_llm):
    t = Task(srv, fake_llm)
    a = t.save("alpha", tags=["first"])
    b = t.save("beta", tags=["second"])
    started, _ = t.judge_done("judge-filter", tag="first")
    assert started["samples"] == 1
    assert t.get(a)["judge_rating"] is not None and t.get(b)["judge_rating"] is None

    # judged already: left out unless rejudge
    assert_error(t.judge("judge-filter", tag="first"), 422, "invalid", field="rejudge",
                 mentions=("judged already", "tag=first"))
    started, _ = t.judge_done("judge-filter+pick=1", tag="first", rejudge=True)
    assert started["samples"] == 1
    assert t.get(a)["judge_rating"] == kiln_rating(4, 4, 0)
    # the runs list filters on the judge's rating apart from the person's
    runs = t.c.ok("GET", t.run_path("") + "?judge_rating=4")["runs"]
    assert [r["id"] for r in runs] == [a]
    assert t.c.ok("GET", t.run_path("") + "?rating=1")["runs"] == []

    assert_error(t.judge("judge-filter", tag="nope"), 422, "invalid",
                 mentions=("no sample", "tag=nope"))

    # a topic and its subtree, as a list or as text
    deep = t.c.ok("POST", t.ds("save_sample"), {"input": "deep", "output": "o",
                                                "topic_path": ["animals", "cats"]})["id"]
    other = t.c.ok("POST", t.ds("save_sample"), {"input": "other", "output": "o",
                                                 "topic_path": ["plants"]})["id"]
    started, _ = t.judge_done("judge-filter", node_path=["animals"])
    assert started["samples"] == 1
    assert t.get(deep)["judge_rating"] is not None and t.get(other)["judge_rating"] is None
    assert_error(t.judge("judge-filter", topic_path="animals>>>>>cats"), 422, "invalid",
                 field="rejudge", mentions=("topic_path",))


def test_keep_tags_rejected(srv, fake_llm):
    t = Task(srv, fake_llm)
    low = t.save("low", tags=["low"])
    high = t.save("high", tags=["high"])
    t.judge_done("judge-keep+pick=3", tag="low", keep=3)   # overall 2 < 3
    t.judge_done("judge-keep+pick=1", tag="high", keep=3)  # overall 4
    assert t.get(low)["tags"] == ["low", "rejected"]
    assert t.get(low)["judge_rating"]["value"] == 2
    assert t.get(high)["tags"] == ["high"]
    # kept, not deleted
    ids = [r["id"] for r in t.c.ok("GET", t.run_path(""))["runs"]]
    assert sorted(ids) == sorted([low, high])


# The crafted set: (judge pick, person overall, person tone, person short) per sample.
# The judge gives overall = tone = 5 - pick, short = 1 for even picks.
CRAFTED = [(0, 5, 5, True), (0, 4, 5, True), (1, 4, 4, False), (2, 2, 3, False),
           (3, 3, 2, False), (4, 1, 1, True)]


def test_agreement_on_known_ratings(srv, fake_llm):
    t = Task(srv, fake_llm)
    assert t.agreement()["samples"] == 0
    for i, (pick, overall, tone, short) in enumerate(CRAFTED):
        run_id = t.save("crafted %d" % i, tags=["g%d" % pick])
        t.rate(run_id, overall, tone=tone, short=short)
    t.rate(t.save("person only"), 3, tone=3, short=True)  # never judged: left out
    t.save("judge only", tags=["g0"])                      # judged, no person: left out
    for pick in range(5):
        t.judge_done("judge-agree+pick=%d" % pick, tag="g%d" % pick)

    a = t.agreement()
    assert a["samples"] == 6
    # overall: person [5, 4, 4, 2, 3, 1], judge [5, 5, 4, 3, 2, 1]. Of the 15 pairs 12 are
    # concordant, 1 discordant (samples 3 and 4), 1 tied in each: tau-b = 11 / 14. Ranks
    # [6, 4.5, 4.5, 2, 3, 1] and [5.5, 5.5, 4, 3, 2, 1]: rho = 15.25 / 17. MAE = (0 + 1 + 0 + 1 + 1 + 0) / 6.
    o = a["overall"]
    assert o["n"] == 6
    assert o["kendall_tau"] == pytest.approx(11 / 14, abs=1e-12)
    assert o["spearman"] == pytest.approx(15.25 / 17, abs=1e-12)
    assert o["mae"] == pytest.approx(3 / 6, abs=1e-12)
    assert o["reasons"] == {}
    assert "kappa" not in o
    tone, short = a["requirements"]
    # tone: the person gave what the judge gave: perfect agreement
    assert (tone["id"], tone["name"], tone["type"]) == ("tone", "Tone", "five_star")
    assert tone["n"] == 6 and tone["kendall_tau"] == pytest.approx(1, abs=1e-12)
    assert tone["spearman"] == pytest.approx(1, abs=1e-12) and tone["mae"] == 0
    assert "kappa" not in tone
    # short: person [1, 1, 0, 0, 0, 1], judge [1, 1, 0, 1, 0, 1]: 5 of 6 agree; each side's
    # pass share 3/6 and 4/6, chance agreement 1/2, kappa = (5/6 - 1/2) / (1/2) = 2/3; tau-b of
    # two binary ratings is phi = (3*2 - 0*1) / sqrt(3*3*4*2)
    assert (short["id"], short["type"]) == ("short", "pass_fail")
    assert short["agreement"] == pytest.approx(5 / 6, abs=1e-12)
    assert short["kappa"] == pytest.approx(2 / 3, abs=1e-12)
    assert short["kendall_tau"] == pytest.approx(6 / 72 ** 0.5, abs=1e-12)
    assert short["mae"] == pytest.approx(1 / 6, abs=1e-12)


def test_agreement_undefined_is_null_with_reason(srv, fake_llm):
    t = Task(srv, fake_llm)
    for i in range(3):
        t.rate(t.save("same %d" % i), 4, short=True)
    t.judge_done("judge-same")  # 5 stars and pass for every sample
    a = t.agreement()
    assert a["samples"] == 3
    o = a["overall"]
    assert o["kendall_tau"] is None and o["spearman"] is None
    assert o["reasons"] == {"kendall_tau": "people's ratings do not vary",
                            "spearman": "people's ratings do not vary"}
    assert o["mae"] == 1
    tone, short = a["requirements"]
    assert tone["n"] == 0 and tone["mae"] is None
    assert tone["reasons"]["kendall_tau"] == "fewer than 2 samples have both ratings"
    assert short["agreement"] == 1 and short["kappa"] is None
    assert short["reasons"]["kappa"] == "both sides gave one and the same rating to every sample"


def test_judge_request_errors(srv, fake_llm):
    t = Task(srv, fake_llm)
    assert_error(t.judge("judge-x"), 422, "invalid", mentions=("no sample",))
    t.save("one")
    assert_error(t.c.post(t.ds("judge"), {"model_name": "m"}), 422, "invalid", field="provider")
    assert_error(t.judge("judge-x", keep=7), 422, "invalid", field="keep")
    assert_error(t.judge("judge-x", budget={"max_calls": -1}), 422, "invalid",
                 field="budget.max_calls")
    assert_error(t.judge("judge-x", colour="red"), 422, "invalid", field="colour")
    # a money cap on a model whose price is unknown could never be kept
    assert_error(t.judge("judge-x", budget={"max_cost_usd": 1}), 422, "invalid",
                 field="budget.max_cost_usd", mentions=("is unknown",))
    assert t.c.ok("GET", t.ds("jobs"))["jobs"] == []
    assert_error(t.c.post(t.ds("judge"), {"provider": "no_such_provider", "model_name": "m"}),
                 400, "bad_request", field="provider", mentions=("no_such_provider",))


def test_cli_run_and_agreement(srv, fake_llm):
    t = Task(srv, fake_llm)
    for i, (pick, overall, tone, short) in enumerate(CRAFTED[:3]):
        t.rate(t.save("cli %d" % i, tags=["c%d" % pick]), overall, tone=tone, short=short)
    task = ["-p", t.pid, "-t", t.tid]
    for pick in (0, 1):
        r = hetu(srv, "judge", "run", *task, "--provider", "openai", "--model",
                 "judge-cli+pick=%d" % pick, "--tag", "c%d" % pick, "--keep", "5", "--watch")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("judge job ")
        assert "samples to rate" in r.stdout and "completed" in r.stdout
    # keep 5: the pick 1 sample (4 stars) is tagged rejected, the others (5 stars) are not
    tags = sorted(tuple(run["tags"]) for run in t.c.ok("GET", t.run_path(""))["runs"])
    assert tags == [("c0",), ("c0",), ("c1", "rejected")]

    r = hetu(srv, "judge", "agreement", *task, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == t.agreement()
    r = hetu(srv, "judge", "agreement", *task)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "samples rated by a person and by the judge: 3"
    head = lines[2].split()
    assert head[:3] == ["RATING", "TYPE", "N"]
    # overall: person [5, 4, 4], judge [5, 5, 4]; of the 3 pairs (0,1) is tied in the judge's
    # ratings, (1,2) in the person's, (0,2) concordant: tau-b = 1 / sqrt(2 * 2) = 0.5
    overall = lines[3].split()
    assert overall[:4] == ["overall", "five_star", "3", "0.500"]
    short = [x.split() for x in lines if x.startswith("Short")][0]
    assert short[1:3] == ["pass_fail", "3"]

    r = hetu(srv, "judge", "agreement", *task, "--keep", "3")
    assert r.returncode == 2 and "--keep is an option of run" in r.stderr
    r = hetu(srv, "judge", "run", *task, "--provider", "openai")
    assert r.returncode == 2 and "run needs --provider and --model" in r.stderr
