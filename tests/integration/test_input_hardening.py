# SPDX-License-Identifier: MIT
"""Names a hostile or careless client sends and must not get stored: a topic name holding the
separator of topic paths ">>>>>" (or running into it with a '>' at either end), which would make
["a>>>>>b"] and ["a", "b"] one text and move samples on a CSV round trip; and model or provider
names with CR/LF or other control characters, which would be forwarded to providers and kept in
provenance. Every route that takes such a name answers 422 naming the field, and stores nothing."""

import pytest

from hetu_http import assert_error
from test_import import csv_bytes, jsonl_bytes, multipart, qs

SEP_FAULT = "the separator of topic paths"
EDGE_FAULT = "must not begin or end with '>'"
CONTROL_FAULT = "one line without control characters"


class Task:
    """A project and task on the module's server."""

    def __init__(self, client):
        self.c = client
        p = client.new_project(name="hardening")
        t = client.new_task(p["id"])
        self.pid, self.tid = p["id"], t["id"]

    def ds(self, tail):
        return "/api/dataset/projects/%s/tasks/%s/%s" % (self.pid, self.tid, tail)

    def runs(self, **filters):
        return self.c.get("/api/projects/%s/tasks/%s/runs%s" % (self.pid, self.tid, qs(filters)))

    def run_ids(self):
        r = self.runs(limit=100)
        assert r.status == 200, r
        return [x["id"] for x in r.json()["runs"]]

    def save(self, **fields):
        body = {"input": "q", "output": "a"}
        body.update(fields)
        return self.c.post(self.ds("save_sample"), body)

    def upload(self, filename, data, **params):
        body, hdrs = multipart(filename, data)
        return self.c.post(self.ds("import_samples_from_file") + qs(params), body, headers=hdrs)

    def generate(self, what, **fields):
        body = {"model_name": "m", "provider": "together_ai"}
        body.update(fields)
        return self.c.post(self.ds(what), body)


@pytest.fixture
def task(client):
    return Task(client)


# ---- the topic path separator inside a name ----

def test_save_sample_refuses_the_separator_inside_a_topic_name(task):
    r = task.save(topic_path=["a", "b"])
    assert r.status == 200, r
    assert r.json()["input_source"]["properties"]["topic_path"] == "a>>>>>b"
    assert_error(task.save(topic_path=["a>>>>>b"]), 422, "invalid", field="topic_path[0]",
                 mentions=[">>>>>", SEP_FAULT])
    assert_error(task.save(topic_path=["x", "y>>>>>z"]), 422, "invalid", field="topic_path[1]",
                 mentions=[SEP_FAULT])
    assert len(task.run_ids()) == 1
    # the filter reaches the one sample stored under a>>>>>b
    r = task.runs(topic_path="a>>>>>b")
    assert r.status == 200 and len(r.json()["runs"]) == 1, r


def test_a_name_running_into_the_separator_is_refused(task):
    # ["a>", "b"] would be written "a>>>>>>b", which splits back as ["a", ">b"]
    assert_error(task.save(topic_path=["a>", "b"]), 422, "invalid", field="topic_path[0]",
                 mentions=[EDGE_FAULT])
    assert_error(task.save(topic_path=["a", "<html>"]), 422, "invalid", field="topic_path[1]",
                 mentions=[EDGE_FAULT])
    assert task.run_ids() == []
    # four '>' are no separator, and a '>' inside a name is fine
    r = task.save(topic_path=["a>>>>b", "C > D"])
    assert r.status == 200, r
    assert r.json()["input_source"]["properties"]["topic_path"] == "a>>>>b>>>>>C > D"


@pytest.mark.parametrize("text, mention", [
    ("a>>>>>>b", "topic name 2 " + EDGE_FAULT),       # six '>': "a" then ">b"
    (">>>>>a>>>>>b", "topic name 1 is empty"),          # a leading separator
    ("a>>>>>b>>>>>", "topic name 3 is empty"),          # a trailing one
    ("a>>>>>>>>>>b", "topic name 2 is empty"),          # two in a row
])
def test_string_topic_paths_with_separator_edge_cases(task, text, mention):
    assert_error(task.save(topic_path=text), 422, "invalid", field="topic_path",
                 mentions=[mention])
    assert task.run_ids() == []


def test_string_topic_paths_that_split_cleanly(task):
    for text, want in (("a>>>>>b", "a>>>>>b"), ("a>>>>b", "a>>>>b"), ("/x/y/", "x>>>>>y")):
        r = task.save(topic_path=text)
        assert r.status == 200, r
        assert r.json()["input_source"]["properties"]["topic_path"] == want, text


def test_batch_and_async_import_refuse_the_separator(task):
    good = {"input": "q", "output": "a", "topic_path": ["a"]}
    bad = {"input": "q", "output": "a", "topic_path": ["a", "b>>>>>c"]}
    r = task.c.post(task.ds("save_samples_batch"), {"samples": [good, bad]})
    assert_error(r, 422, "invalid", field="samples[1].topic_path[1]", mentions=[SEP_FAULT])
    r = task.c.post(task.ds("import_samples_async"), {"samples": [bad, good]})
    assert_error(r, 422, "invalid", field="samples[0].topic_path[1]", mentions=[SEP_FAULT])
    assert task.run_ids() == []


def test_generate_endpoints_refuse_the_separator(task):
    r = task.generate("generate_categories", node_path=["a>>>>>b"], num_subtopics=2)
    assert_error(r, 422, "invalid", field="node_path[0]", mentions=[SEP_FAULT])
    r = task.generate("generate_samples", topic=["a", "b>"], num_samples=2)
    assert_error(r, 422, "invalid", field="topic[1]", mentions=[EDGE_FAULT])


def test_runs_filter_refuses_an_ambiguous_topic_path(task):
    assert_error(task.runs(topic_path="a>>>>>>b"), 422, "invalid", field="topic_path")


def test_jsonl_import_refuses_the_separator_inside_a_listed_name(task):
    rows = [{"input": "q1", "output": "a", "topic_path": ["a", "b"]},
            {"input": "q2", "output": "a", "topic_path": ["a>>>>>b"]}]
    r = task.upload("rows.jsonl", jsonl_bytes(rows))
    assert_error(r, 422, "invalid", field="topic_path",
                 mentions=["line 2", "topic_path[0]", SEP_FAULT])
    assert task.run_ids() == []


def test_csv_import_refuses_six_angle_brackets(task):
    rows = [["q1", "a", "a>>>>>b"], ["q2", "a", "a>>>>>>b"]]
    r = task.upload("rows.csv", csv_bytes(["input", "output", "topic_path"], rows))
    assert_error(r, 422, "invalid", field="topic_path",
                 mentions=["line 3", "topic_path[1]", EDGE_FAULT])
    assert task.run_ids() == []


# ---- model and provider names with control characters ----

BAD_NAMES = [
    pytest.param("m\r\nX-Injected: 1", id="crlf"),
    pytest.param("m\n", id="lf"),
    pytest.param("m\tx", id="tab"),
    pytest.param("m\x7f", id="del"),
    pytest.param("m\u0085", id="c1-nel"),
]
SAMPLE_MODEL_FIELDS = ["input_model_name", "input_provider", "output_model_name",
                       "output_provider"]


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize("field", SAMPLE_MODEL_FIELDS)
def test_save_sample_refuses_control_characters_in_model_names(task, field, bad):
    assert_error(task.save(**{field: bad}), 422, "invalid", field=field, mentions=[CONTROL_FAULT])
    assert task.run_ids() == []


def test_batch_and_async_import_refuse_control_characters_in_model_names(task):
    good = {"input": "q", "output": "a", "output_model_name": "m", "output_provider": "p"}
    bad = dict(good, output_model_name="m\r\nx")
    r = task.c.post(task.ds("save_samples_batch"), {"samples": [good, bad]})
    assert_error(r, 422, "invalid", field="samples[1].output_model_name",
                 mentions=[CONTROL_FAULT])
    bad = dict(good, input_provider="p\n")
    r = task.c.post(task.ds("import_samples_async"), {"samples": [bad]})
    assert_error(r, 422, "invalid", field="samples[0].input_provider", mentions=[CONTROL_FAULT])
    assert task.run_ids() == []


@pytest.mark.parametrize("what", ["generate_categories", "generate_samples"])
def test_generate_endpoints_refuse_control_characters_in_model_names(task, what):
    assert_error(task.generate(what, model_name="m\r\nHost: evil"), 422, "invalid",
                 field="model_name", mentions=[CONTROL_FAULT])
    assert_error(task.generate(what, provider="together_ai\n"), 422, "invalid",
                 field="provider", mentions=[CONTROL_FAULT])


@pytest.mark.parametrize("field", SAMPLE_MODEL_FIELDS)
def test_file_import_refuses_control_characters_in_model_names(task, field):
    data = csv_bytes(["input", "output"], [["q", "a"]])
    r = task.upload("rows.csv", data, **{field: "m\r\nx"})
    assert_error(r, 422, "invalid", field=field, mentions=[CONTROL_FAULT])
    assert task.run_ids() == []
    r = task.upload("rows.csv", data, **{field: "Qwen/Qwen2.5-72B-Instruct-Turbo"})
    assert r.status == 200, r
