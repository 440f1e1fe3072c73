# SPDX-License-Identifier: MIT
"""Near duplicates over real HTTP: a task with English and Chinese inputs and copies edited at
known Jaccard similarities; the job's clusters are exactly the expected groups, with the exact
similarities, paged; resolve with tag then delete keeps exactly the best-rated (then oldest) of
each cluster; a second job after new samples signs only those (signatures_computed); a job
cancelled, resumed, and one killed mid-way and restarted, completes without signing a sample
twice; the 4xx answers name their field."""

import random
import signal
import time

import pytest

from hetu_http import assert_error
from test_import import Imp, csv_bytes

WORD_N, CHAR_N = 2, 3  # src/dedup/minhash.h

EN_A = ("the committee reviewed every proposal submitted during the spring session and decided "
        "that the new library would open in the old railway station after the renovation of its "
        "roof windows and heating system had been completed by local builders from the valley")
EN_B = ("a small fishing village on the northern coast depends on the harbor for almost "
        "everything while tourists arrive each summer to photograph the painted boats and eat "
        "grilled sardines near the lighthouse where musicians play until late at night")
ZH_C = "深度学习模型在自然语言处理任务中表现出色，尤其是在机器翻译和文本摘要方面取得了显著进展，研究人员仍在探索更高效的训练方法。"
ZH_D = "秋天的北京天气晴朗，游客们喜欢去香山看红叶，也喜欢在胡同里品尝各种传统小吃，感受这座古老城市的独特魅力。"


def replace_word(text, i, word):
    w = text.split()
    w[i] = word
    return " ".join(w)


def drop_word(text, i):
    w = text.split()
    del w[i]
    return " ".join(w)


def shingles(text):
    """The shingles src/dedup/minhash.c takes of these texts: word 2-grams for English,
    character 3-grams for Chinese."""
    if any("\u3400" <= ch <= "\u9fff" for ch in text):
        return {text[i:i + CHAR_N] for i in range(len(text) - CHAR_N + 1)}
    w = text.split()
    return {" ".join(w[i:i + WORD_N]) for i in range(len(w) - WORD_N + 1)}


def jaccard(a, b):
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


EN_A1 = replace_word(EN_A, 20, "museum")           # 0.907
EN_A2 = drop_word(EN_A, 33)                        # 0.929
EN_B1 = " ".join(w if i % 4 else "changed" for i, w in enumerate(EN_B.split()))  # far below
ZH_C1 = ZH_C.replace("尤其", "特别")                # 0.873
ZH_D2 = ZH_D                                        # the same text again

# (name, input) in save order: ids increase in this order
SET = [("en_a", EN_A), ("en_b", EN_B), ("zh_c", ZH_C), ("en_a1", EN_A1), ("zh_d", ZH_D),
       ("en_b1", EN_B1), ("zh_c1", ZH_C1), ("en_a2", EN_A2), ("zh_d2", ZH_D2)]
GROUPS = [["en_a", "en_a1", "en_a2"], ["zh_c", "zh_c1"], ["zh_d", "zh_d2"]]


def test_the_set_is_what_it_claims():
    """The edited copies sit where the test needs them, by the exact shingle sets."""
    assert 0.9 < jaccard(EN_A, EN_A1) < 0.91 < jaccard(EN_A, EN_A2) < 0.93
    assert 0.8 <= jaccard(ZH_C, ZH_C1) < 0.9
    assert jaccard(EN_B, EN_B1) < 0.4
    assert 0.8 < jaccard(EN_A1, EN_A2) < 0.85


class Dup(Imp):
    def save(self, text):
        return self.c.ok("POST", self.ds("save_sample"), {"input": text, "output": "out"})["id"]

    def fill(self, items=SET):
        self.ids = getattr(self, "ids", {})
        for name, text in items:
            self.ids[name] = self.save(text)
        self.names = {v: k for k, v in self.ids.items()}

    def start(self, body=None):
        r = self.c.post(self.ds("duplicates"), {} if body is None else body)
        assert r.status == 200, r
        j = r.json()
        assert set(j) == {"id", "kind", "status", "total", "completed", "failed", "rate",
                          "created_at", "started_at", "finished_at", "error", "errors",
                          "skipped", "threshold", "signatures_computed"}, sorted(j)
        assert j["kind"] == "near_duplicates" and j["status"] in ("queued", "running"), j
        return j["id"]

    def run(self, body=None):
        job_id = self.start(body)
        j = self.wait_job(job_id)
        assert j["status"] == "completed", j
        return j

    def clusters(self, job_id, **q):
        from urllib.parse import urlencode
        qs = urlencode(dict(q, job_id=job_id))
        return self.c.ok("GET", self.ds("duplicates?" + qs))

    def groups(self, job_id):
        body = self.clusters(job_id)
        assert body["next_cursor"] is None
        return [[self.names[s["id"]] for s in c["samples"]] for c in body["clusters"]]

    def resolve(self, job_id, action):
        return self.c.ok("POST", self.ds("duplicates/resolve"), {"job_id": job_id, "action": action})

    def rate(self, name, value):
        self.c.ok("PATCH", "/api/projects/%s/tasks/%s/runs/%s" % (self.pid, self.tid, self.ids[name]),
                  {"rating": {"type": "five_star", "value": value}})


@pytest.fixture
def dup(server):
    d = Dup(server)
    d.fill()
    return d


def near_share(dup):
    return dup.c.ok("GET", "/api/projects/%s/tasks/%s/stats" % (dup.pid, dup.tid))[
        "near_duplicate_share"]


def test_clusters_are_the_expected_groups(dup):
    assert near_share(dup) is None  # no job has run
    j = dup.run()
    assert j["total"] == len(SET) and j["completed"] == len(SET) and j["failed"] == 0
    assert j["threshold"] == 0.8 and j["signatures_computed"] == len(SET)
    body = dup.clusters(j["id"])
    assert body["job_id"] == j["id"] and body["threshold"] == 0.8
    assert [c["cluster"] for c in body["clusters"]] == [1, 2, 3]
    assert dup.groups(j["id"]) == GROUPS
    texts = dict(SET)
    for c in body["clusters"]:
        first = texts[dup.names[c["samples"][0]["id"]]]
        for s in c["samples"]:
            name = dup.names[s["id"]]
            assert s["input"] == texts[name]
            assert s["similarity"] == pytest.approx(jaccard(first, texts[name]), abs=1e-9), name
    # the samples a resolve would remove (all but one a cluster) over every sample
    assert near_share(dup) == pytest.approx((7 - 3) / 9, abs=1e-12)


def test_clusters_page_by_cursor(dup):
    job_id = dup.run()["id"]
    seen, cursor = [], None
    for expected_cursor in ("1", "2", None):
        q = {"limit": 1}
        if cursor:
            q["cursor"] = cursor
        page = dup.clusters(job_id, **q)
        assert len(page["clusters"]) == 1
        seen.append([dup.names[s["id"]] for s in page["clusters"][0]["samples"]])
        assert page["next_cursor"] == expected_cursor
        cursor = page["next_cursor"]
    assert seen == GROUPS
    page = dup.clusters(job_id, limit=2, cursor="1")
    assert [c["cluster"] for c in page["clusters"]] == [2, 3] and page["next_cursor"] is None


def test_a_higher_threshold_splits_the_edited_copies(dup):
    j = dup.run({"threshold": 0.91})
    assert j["threshold"] == 0.91
    # en_a2 (0.929) stays with en_a; en_a1 (0.907) and zh_c1 (0.873) leave
    assert dup.groups(j["id"]) == [["en_a", "en_a2"], ["zh_d", "zh_d2"]]


def tagged(dup):
    runs = dup.all_runs(tag="duplicate")
    return sorted(dup.names[r["id"]] for r in runs)


def test_resolve_tag_then_delete_keeps_the_best_rated_then_oldest(dup):
    dup.rate("en_a1", 5)   # the best-rated of the first cluster, though not its oldest
    dup.rate("en_a", 3)
    dup.rate("zh_d2", 2)   # rated beats unrated
    job_id = dup.run()["id"]
    out = dup.resolve(job_id, "tag")
    assert out == {"job_id": job_id, "action": "tag", "clusters": 3, "kept": 3, "tagged": 4}
    assert tagged(dup) == ["en_a", "en_a2", "zh_c1", "zh_d"]
    # again: the same samples carry the tag already
    assert dup.resolve(job_id, "tag")["tagged"] == 0
    assert tagged(dup) == ["en_a", "en_a2", "zh_c1", "zh_d"]
    out = dup.resolve(job_id, "delete")
    assert out == {"job_id": job_id, "action": "delete", "clusters": 3, "kept": 3, "deleted": 4}
    left = sorted(dup.names[r["id"]] for r in dup.all_runs())
    assert left == ["en_a1", "en_b", "en_b1", "zh_c", "zh_d2"]
    # the listing leaves the deleted samples out; a second delete finds nothing to do
    assert dup.groups(job_id) == [["en_a1"], ["zh_c"], ["zh_d2"]]
    assert dup.resolve(job_id, "delete")["deleted"] == 0


def test_a_second_job_signs_only_the_new_samples(dup):
    first = dup.run()
    assert first["signatures_computed"] == len(SET)
    dup.fill([("en_b2", replace_word(EN_B, 10, "beautiful")),
              ("zh_c2", ZH_C.replace("仍在", "还在"))])
    second = dup.run()
    assert second["total"] == len(SET) + 2 and second["completed"] == len(SET) + 2
    assert second["signatures_computed"] == 2
    assert dup.groups(second["id"]) == [["en_a", "en_a1", "en_a2"], ["en_b", "en_b2"],
                                        ["zh_c", "zh_c1", "zh_c2"], ["zh_d", "zh_d2"]]
    # the first job's clusters are its own
    assert dup.groups(first["id"]) == GROUPS
    # a third job over unchanged samples signs nothing
    assert dup.run()["signatures_computed"] == 0


# ---- big tasks: cancel, resume, crash ----

def random_inputs(n, seed):
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "di", "fe", "go"]
    vocab = ["".join(rng.choice(syll) for _ in range(3)) for _ in range(3000)]
    return [" ".join(rng.choice(vocab) for _ in range(12)) for _ in range(n)]


def big_task(srv, n, seed=1):
    d = Dup(srv)
    r = d.upload("big.csv", csv_bytes(["input", "output"], [[t, "o"] for t in random_inputs(n, seed)]))
    assert r.status == 200, r
    j = d.wait_job(r.json()["job_id"])
    assert j["status"] == "completed" and j["completed"] == n, j
    return d


BIG = 20000


def test_cancel_then_resume(server):
    d = big_task(server, BIG)
    job_id = d.start()
    d.c.ok("POST", d.ds("jobs/%s/cancel" % job_id))
    j = d.wait_job(job_id)
    assert j["status"] == "cancelled" and j["completed"] < BIG, j
    assert_error(d.c.get(d.ds("duplicates?job_id=" + job_id)), 409, "conflict", field="job_id",
                 mentions=("cancelled",))
    assert_error(d.c.post(d.ds("duplicates/resolve"), {"job_id": job_id, "action": "tag"}), 409,
                 "conflict", field="job_id")
    d.c.ok("POST", d.ds("jobs/%s/resume" % job_id))
    j = d.wait_job(job_id)
    assert j["status"] == "completed" and j["completed"] == BIG, j
    assert j["signatures_computed"] == BIG  # those made before the cancel are not made again
    assert d.clusters(job_id)["clusters"] == []


def test_killed_mid_way_resumes_at_restart(start_server):
    srv = start_server()
    d = big_task(srv, BIG, seed=2)
    job_id = d.start()
    deadline = time.monotonic() + 60
    while True:
        j = d.job(job_id)
        if j["completed"] > 0:
            assert j["status"] == "running" and j["completed"] < BIG, \
                "the job ended before the test could kill the server: %r" % j
            break
        assert time.monotonic() < deadline, j
        time.sleep(0.01)
    srv.stop(sig=signal.SIGKILL)
    srv2 = start_server(db=srv.db)
    d.srv, d.c = srv2, srv2.client
    d.c.timeout = 120
    j = d.wait_job(job_id)
    assert j["status"] == "completed" and j["completed"] == BIG, j
    assert j["signatures_computed"] == BIG


# ---- errors ----

@pytest.mark.parametrize("body,field", [
    ({"threshold": 0}, "threshold"),
    ({"threshold": 1.5}, "threshold"),
    ({"threshold": -0.2}, "threshold"),
    ({"threshold": "0.8"}, "threshold"),
    ({"threshold": True}, "threshold"),
    ({"thresold": 0.8}, "thresold"),
])
def test_start_bad_bodies(dup, body, field):
    assert_error(dup.c.post(dup.ds("duplicates"), body), 422, "invalid", field=field)


def test_unknown_jobs_and_bad_queries(dup, server):
    job_id = dup.run()["id"]
    assert_error(dup.c.get(dup.ds("duplicates")), 422, "invalid", field="job_id")
    assert_error(dup.c.get(dup.ds("duplicates?job_id=999999999999")), 404, "not_found",
                 field="job_id")
    assert_error(dup.c.get(dup.ds("duplicates?job_id=%s&limit=0" % job_id)), 422, "invalid",
                 field="limit")
    assert_error(dup.c.get(dup.ds("duplicates?job_id=%s&cursor=x" % job_id)), 422, "invalid",
                 field="cursor")
    # a job of another task, and a job of another kind
    other = Dup(server)
    assert_error(other.c.get(other.ds("duplicates?job_id=" + job_id)), 404, "not_found",
                 field="job_id")
    imp = other.c.post(other.ds("import_samples_async"),
                       {"samples": [{"input": "x%d" % i, "output": "y"} for i in range(3)]})
    assert imp.status == 200, imp
    assert_error(other.c.get(other.ds("duplicates?job_id=" + imp.json()["job_id"])), 404,
                 "not_found", field="job_id")
    resolve = dup.ds("duplicates/resolve")
    assert_error(dup.c.post(resolve, {"job_id": job_id, "action": "merge"}), 422, "invalid",
                 field="action")
    assert_error(dup.c.post(resolve, {"action": "tag"}), 422, "invalid", field="job_id")
    assert_error(dup.c.post(resolve, {"job_id": "999999999999", "action": "tag"}), 404,
                 "not_found", field="job_id")
