# SPDX-License-Identifier: MIT
"""Exact duplicates over real HTTP: dedup=keep|skip|fail on save_sample, save_samples_batch,
import_samples_async and import_samples_from_file (inline and as a job, JSONL and CSV). A
duplicate is an input equal to a stored sample's of the same task, or to an earlier one of the
same request, once case, full-width/half-width forms and white space are folded; text that
differs in anything else is not one. skip stores the others (X-Hetu-Skipped, or the job's
`skipped`), fail answers 409 naming the first duplicate and stores nothing."""

import json

import pytest

from hetu_http import assert_error
from test_import import Imp, csv_bytes, fake_env, jsonl_bytes

# Pairs that are one input once normalised: width, case (ß folds to ss), white space (tabs,
# newlines, U+3000 ideographic space, runs, both ends).
SAME = [
    ("ＡＢＣ　１２３", "abc 123"),
    ("什么是机器学习？第１课", "什么是机器学习?第1课"),
    ("Straße", "STRASSE"),
    ("  Hello\t\tWorld\n", "hello world"),
    ("机器　学习\u3000入门", "机器 学习 入门"),
    ("第１课\t\n入门 ", "第1课 入门"),
]
# Near but not equal: none of these is a duplicate of the other.
DIFFERENT = [
    ("abc 123", "abc 1234"),
    ("机器学习", "机器学"),
    ("hello world", "helloworld"),
    ("Straße", "Strase"),
]


@pytest.fixture
def imp(server):
    return Imp(server)


def one(inp, out="out"):
    return {"input": inp, "output": out}


def save(imp, body, dedup=None):
    q = "" if dedup is None else "?dedup=" + dedup
    return imp.c.post(imp.ds("save_sample") + q, body)


def batch(imp, samples, dedup=None, extra=""):
    q = ("?dedup=" + dedup if dedup else "") + extra
    return imp.c.post(imp.ds("save_samples_batch") + q, {"samples": samples})


def async_import(imp, samples, dedup=None):
    q = "" if dedup is None else "?dedup=" + dedup
    return imp.c.post(imp.ds("import_samples_async") + q, {"samples": samples})


def inputs(imp):
    return sorted(r["input"] for r in imp.all_runs())


def saved_id(r):
    assert r.status == 200, r
    return r.json()["id"]


# ---- the parameter ----

@pytest.mark.parametrize("value", ["SKIP", "drop", "1", "true"])
def test_bad_dedup_value_is_422_naming_dedup(imp, value):
    for r in (save(imp, one("x"), value), batch(imp, [one("x")], value),
              async_import(imp, [one("x")], value),
              imp.upload("a.jsonl", jsonl_bytes([one("x")]), dedup=value)):
        assert_error(r, 422, "invalid", field="dedup", mentions=("keep", "skip", "fail"))
    imp.assert_nothing_stored()


# ---- save_sample ----

def test_save_sample_keep_is_the_default(imp):
    a = saved_id(save(imp, one("ＡＢＣ　１２３")))
    r = save(imp, one("abc 123"))
    b = saved_id(r)
    assert r.header("X-Hetu-Skipped") is None
    c = saved_id(save(imp, one("abc 123"), "keep"))
    assert len({a, b, c}) == 3
    assert inputs(imp) == sorted(["ＡＢＣ　１２３", "abc 123", "abc 123"])


@pytest.mark.parametrize("first,second", SAME)
def test_save_sample_skip_answers_the_stored_sample(imp, first, second):
    existing = saved_id(save(imp, one(first, "第一")))
    r = save(imp, one(second, "第二"), "skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "1"
    run = r.json()
    assert run["id"] == existing
    assert run["input"] == first and run["output"]["output"] == "第一"
    assert inputs(imp) == [first]


@pytest.mark.parametrize("first,second", DIFFERENT)
def test_save_sample_skip_stores_near_but_not_equal_text(imp, first, second):
    a = saved_id(save(imp, one(first), "skip"))
    r = save(imp, one(second), "skip")
    assert r.header("X-Hetu-Skipped") == "0"
    assert saved_id(r) != a
    assert inputs(imp) == sorted([first, second])


@pytest.mark.parametrize("first,second", SAME)
def test_save_sample_fail_is_409_naming_the_stored_sample(imp, first, second):
    existing = saved_id(save(imp, one(first)))
    r = save(imp, one(second), "fail")
    assert_error(r, 409, "conflict", field="input", mentions=("sample %s" % existing,))
    assert inputs(imp) == [first]
    # the same text is not a duplicate in another task
    other = Imp(imp.srv)
    assert saved_id(save(other, one(second), "fail"))


def test_structured_inputs_are_compared_as_their_json_text(server):
    schema = {"type": "object", "properties": {"问题": {"type": "string"}}, "required": ["问题"]}
    imp = Imp(server, input_json_schema=schema)
    first = saved_id(save(imp, one({"问题": "ＡＢＣ　机器学习"})))
    assert_error(save(imp, one({"问题": "abc 机器学习"}), "fail"), 409, "conflict",
                 field="input", mentions=(first,))
    assert saved_id(save(imp, one({"问题": "abc 机器学"}), "fail"))
    assert len(imp.all_runs()) == 2


# ---- save_samples_batch ----

def test_batch_keep_stores_every_copy(imp):
    r = batch(imp, [one("a"), one("A"), one("ａ")])
    assert r.status == 200, r
    assert len(r.json()) == 3 and r.header("X-Hetu-Skipped") is None
    assert inputs(imp) == sorted(["a", "A", "ａ"])


def test_batch_skip_drops_stored_and_within_batch_copies(imp):
    saved_id(save(imp, one("Straße")))
    samples = [one("新的　输入"), one("STRASSE"), one("新的 输入"), one("other"),
               one("OTHER "), one("新的输入")]
    r = batch(imp, samples, "skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "3"
    assert r.header("X-Hetu-Failed") == "0"
    assert [x["input"] for x in r.json()] == ["新的　输入", "other", "新的输入"]
    assert inputs(imp) == sorted(["Straße", "新的　输入", "other", "新的输入"])


def test_batch_skip_every_sample_a_duplicate(imp):
    saved_id(save(imp, one("x y")))
    r = batch(imp, [one("X  Y"), one("ｘ　ｙ")], "skip")
    assert r.status == 200, r
    assert r.json() == []
    assert r.header("X-Hetu-Skipped") == "2"
    r = batch(imp, [one("X  Y")], "skip", "&detailed=true")
    assert r.status == 200 and r.json() == {"runs": [], "errors": []}
    assert inputs(imp) == ["x y"]


def test_batch_skip_errors_keep_the_positions_as_sent(start_server, fake_llm):
    imp = Imp(start_server(env=fake_env(fake_llm)))
    bad_model = {"input": "new", "output_model_name": "m-dedup+fail400param=messages",
                 "output_provider": "together_ai"}
    r = batch(imp, [one("dup"), one("DUP"), bad_model, one("fine")], "skip", "&detailed=true")
    assert r.status == 200, r
    body = r.json()
    assert [x["input"] for x in body["runs"]] == ["dup", "fine"]
    assert [x["index"] for x in body["errors"]] == [2]
    assert r.header("X-Hetu-Skipped") == "1" and r.header("X-Hetu-Failed") == "1"


def test_batch_fail_names_the_first_duplicate_within_the_batch(imp):
    r = batch(imp, [one("one"), one("two"), one("ＯＮＥ"), one("TWO")], "fail")
    assert_error(r, 409, "conflict", field="samples[2].input", mentions=("samples[0].input",))
    imp.assert_nothing_stored()


def test_batch_fail_names_the_stored_sample(imp):
    existing = saved_id(save(imp, one("什么是机器学习？")))
    r = batch(imp, [one("new"), one("什么是机器学习?"), one("new ")], "fail")
    assert_error(r, 409, "conflict", field="samples[1].input", mentions=(existing,))
    assert inputs(imp) == ["什么是机器学习？"]


def test_batch_fail_passes_near_but_not_equal_text(imp):
    samples = [one(a) for a, _ in DIFFERENT] + [one(b) for _, b in DIFFERENT]
    r = batch(imp, samples, "fail")
    assert r.status == 200, r
    assert len(r.json()) == len(samples)


# ---- import_samples_async ----

def test_async_skip_counts_skipped_in_the_job(imp):
    saved_id(save(imp, one("stored")))
    samples = [one("a"), one("STORED"), one("b"), one("Ａ"), one("c"), one(" b ")]
    r = async_import(imp, samples, "skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "3"
    body = r.json()
    assert body["sample_count"] == 3
    j = imp.wait_job(body["job_id"])
    assert j["status"] == "completed", j
    assert (j["total"], j["completed"], j["failed"], j["skipped"]) == (3, 3, 0, 3)
    assert inputs(imp) == sorted(["stored", "a", "b", "c"])


def test_async_keep_and_fail(imp):
    r = async_import(imp, [one("k"), one("K")])
    j = imp.wait_job(r.json()["job_id"])
    assert (j["total"], j["completed"], j["skipped"]) == (2, 2, 0)
    r = async_import(imp, [one("new"), one("ｋ")], "fail")
    assert_error(r, 409, "conflict", field="samples[1].input")
    assert len(imp.jobs()) == 1
    assert inputs(imp) == ["K", "k"]


def test_async_skip_every_sample_a_duplicate(imp):
    saved_id(save(imp, one("same")))
    r = async_import(imp, [one("SAME"), one("same")], "skip")
    assert r.status == 200 and r.json()["sample_count"] == 0
    j = imp.wait_job(r.json()["job_id"])
    assert (j["status"], j["total"], j["completed"], j["skipped"]) == ("completed", 0, 0, 2)
    assert inputs(imp) == ["same"]


# ---- import_samples_from_file ----

def test_file_inline_skip(imp):
    saved_id(save(imp, one("ＨＥＬＬＯ")))
    rows = [one("hello"), one("x"), one("y"), one("X\t"), one("z")]
    r = imp.upload("a.jsonl", jsonl_bytes(rows), dedup="skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "2"
    body = r.json()
    assert body["status"] == "import_completed" and body["sample_count"] == 3
    assert inputs(imp) == sorted(["ＨＥＬＬＯ", "x", "y", "z"])


def test_file_inline_skip_every_row(imp):
    saved_id(save(imp, one("ｑ")))
    r = imp.upload("a.jsonl", jsonl_bytes([one("q"), one("Q")]), dedup="skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "2"
    assert (r.json()["status"], r.json()["sample_count"]) == ("import_completed", 0)
    assert inputs(imp) == ["ｑ"]


def test_file_fail_names_the_lines(imp):
    rows = [one("first"), one("second"), one("FIRST"), one("third")]
    r = imp.upload("a.jsonl", jsonl_bytes(rows), dedup="fail")
    assert_error(r, 409, "conflict", field="input", mentions=("line 3", "line 1"))
    imp.assert_nothing_stored()
    existing = saved_id(save(imp, one("Third")))
    r = imp.upload("a.jsonl", jsonl_bytes(rows[3:] + rows[:2]), dedup="fail")
    assert_error(r, 409, "conflict", field="input", mentions=("line 1", existing))
    assert inputs(imp) == ["Third"]


def test_csv_fail_names_the_line_of_the_record(imp):
    data = csv_bytes(["input", "output"],
                     [["多行\n输入", "a"], ["b", "c"], ["多行 输入", "d"]])
    r = imp.upload("a.csv", data, dedup="fail")
    # the header is line 1, the first record lines 2-3, the third record line 5
    assert_error(r, 409, "conflict", field="input", mentions=("line 5", "line 2"))
    imp.assert_nothing_stored()


def test_file_job_skip_and_fail(imp):
    saved_id(save(imp, one("row 7")))
    rows = [one("row %d" % i) for i in range(150)]
    rows += [one("ROW %d" % i) for i in range(0, 40, 2)]  # 20 copies within the file
    r = imp.upload("big.jsonl", jsonl_bytes(rows), dedup="fail")
    assert_error(r, 409, "conflict", field="input", mentions=("line 8",))
    r = imp.upload("big.jsonl", jsonl_bytes(rows[8:]), dedup="fail")
    assert_error(r, 409, "conflict", field="input", mentions=("line 147", "line 1"))  # ROW 8
    assert imp.jobs() == [] and inputs(imp) == ["row 7"]

    r = imp.upload("big.jsonl", jsonl_bytes(rows), dedup="skip")
    assert r.status == 200, r
    assert r.header("X-Hetu-Skipped") == "21"
    body = r.json()
    assert body["status"] == "import_started" and body["sample_count"] == 149
    j = imp.wait_job(body["job_id"])
    assert (j["status"], j["total"], j["completed"], j["failed"], j["skipped"]) == \
        ("completed", 149, 149, 0, 21)
    assert inputs(imp) == sorted("row %d" % i for i in range(150))


def test_file_job_keep_stores_every_row(imp):
    rows = [one("r %d" % (i % 60)) for i in range(120)]
    r = imp.upload("k.jsonl", jsonl_bytes(rows))
    assert r.header("X-Hetu-Skipped") is None
    j = imp.wait_job(r.json()["job_id"])
    assert (j["completed"], j["skipped"]) == (120, 0)
    assert len(imp.all_runs()) == 120


def test_imported_samples_are_found_as_duplicates(imp):
    """Rows an import job loads keep their input's hash: a later save finds them."""
    rows = [one("ｊｏｂ　ｒｏｗ %d" % i) for i in range(110)]
    j = imp.wait_job(imp.upload("j.jsonl", jsonl_bytes(rows)).json()["job_id"])
    assert j["completed"] == 110
    r = batch(imp, [one("JOB ROW 5"), one("job row 109"), one("job row 110")], "skip")
    assert r.header("X-Hetu-Skipped") == "2"
    assert [x["input"] for x in r.json()] == ["job row 110"]
    r = async_import(imp, [one("job  row 3")], "fail")
    assert_error(r, 409, "conflict", field="samples[0].input")
    assert json.dumps(r.json()).count("sample ") >= 1
