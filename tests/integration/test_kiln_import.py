# SPDX-License-Identifier: MIT
"""Kiln project folders imported over HTTP (POST /api/import-project, as the gateway took the
project file) and with `hetu import-kiln DIR`. The tests build folders in Kiln 0.15's layout and
JSON (what Kiln's pydantic models write with model_dump_json(indent=2, exclude={"path"})): GET of
the project, task, runs and dataset split gives back Kiln's ids and values (ratings with
requirement ratings, tags, sources, intermediate outputs, repairs, a naive timestamp read as
UTC, Kiln's defaults for what a file leaves out). Each kind of damage (bad JSON, a run without a
required field, an id already stored, a path outside --import-root, a symbolic link leading out,
no --import-root) is refused naming the file and field, and stores nothing."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from hetu_http import assert_error, assert_id, hetu_binary
from test_cli import clean_env, hetu

PROJECT_ID = "418234567890"
TASK_ID = "528234567891"
RUN_IDS = ["638234567892", "638234567893", "638234567894"]
OUTPUT_IDS = ["748234567892", "748234567893"]
SPLIT_ID = "858234567895"
REQ_ID = "968234567896"
SCHEMA = json.dumps({"type": "object", "properties": {"answer": {"type": "string"}},
                     "required": ["answer"]})


def head(id_, created_at="2024-10-01T12:34:56.123456", created_by="kiln_user", nested=False):
    """v, id, (path), created_at, created_by: how every Kiln record starts."""
    h = {"v": 1, "id": id_}
    if nested:
        h["path"] = None
    h.update({"created_at": created_at, "created_by": created_by})
    return h


def rating(id_, type_, value, requirement_ratings):
    return dict(head(id_, nested=True), type=type_, value=value,
                requirement_ratings=requirement_ratings, model_type="task_output_rating")


def output(id_, text, source, rating_=None):
    return dict(head(id_, nested=True), output=text, source=source, rating=rating_,
                model_type="task_output")


def synthetic(model="llama_3_1_8b", provider="groq"):
    return {"type": "synthetic", "properties": {"model_name": model, "model_provider": provider,
                                                "adapter_name": "kiln_langchain_adapter",
                                                "prompt_id": "simple_prompt_builder"}}


def human(name="alice"):
    return {"type": "human", "properties": {"created_by": name}}


def kiln_project(ids=None):
    """{relative path: JSON object} of a project folder in Kiln 0.15's layout."""
    ids = ids or {}
    pid, tid = ids.get("project", PROJECT_ID), ids.get("task", TASK_ID)
    runs, split = ids.get("runs", RUN_IDS), ids.get("split", SPLIT_ID)
    outs = ids.get("outputs", OUTPUT_IDS)
    task_dir = "tasks/%s - Translate" % tid
    files = {
        "project.kiln": dict(head(pid), name="Support bot", description="客服 chats",
                             model_type="project"),
        task_dir + "/task.kiln": dict(
            head(tid), name="Translate", description="to English",
            instruction="Translate the sentence into English.",
            requirements=[
                {"id": REQ_ID, "name": "Concise", "description": "short",
                 "instruction": "Keep it short.", "priority": 1, "type": "five_star"},
                # Kiln's defaults fill the rest: a new id, no description, p2, five_star
                {"name": "Polite", "instruction": "Be polite."},
            ],
            output_json_schema=SCHEMA, input_json_schema=None,
            thinking_instruction="Think step by step.", model_type="task"),
        # a synthetic run rated five stars, with a requirement rating, tags and chain of thought
        # (its input source carries the topic path the gateway's data generation records)
        task_dir + "/runs/%s/task_run.kiln" % runs[0]: dict(
            head(runs[0]), input="你好",
            input_source=dict(synthetic("gpt_4o_mini", "openai"),
                              properties=dict(synthetic("gpt_4o_mini", "openai")["properties"],
                                              topic_path="Greetings>>>>>Formal")),
            output=output(outs[0], '{"answer": "Hello"}', synthetic(),
                          rating("111111111111", "five_star", 5.0,
                                 {REQ_ID: {"value": 4.0, "type": "five_star"}})),
            repair_instructions=None, repaired_output=None,
            intermediate_outputs={"chain_of_thought": "greeting"}, tags=["good", "batch_1"],
            model_type="task_run"),
        # a human run that failed and was repaired
        task_dir + "/runs/%s/task_run.kiln" % runs[1]: dict(
            head(runs[1], created_at="2024-10-02T08:00:00+08:00"), input="谢谢",
            input_source=human(),
            output=output(outs[1], '{"answer": "Thank"}', human(),
                          rating("222222222222", "pass_fail", 0.0, {})),
            repair_instructions="Say thank you.",
            repaired_output=output("333333333333", '{"answer": "Thank you"}', human("bob")),
            intermediate_outputs=None, tags=[], model_type="task_run"),
        # a run leaving out what Kiln defaults: no output id, tags, intermediate outputs or
        # repair; an old-style requirement rating (a bare number, five stars)
        task_dir + "/runs/%s/task_run.kiln" % runs[2]: {
            "v": 1, "id": runs[2], "created_at": "2024-10-03T09:10:11", "created_by": "carol",
            "input": "再见",
            "input_source": {"type": "file_import", "properties": {"file_name": "a.csv"}},
            "output": {"output": '{"answer": "Bye"}',
                       "rating": {"type": "pass_fail_critical", "value": -1.0,
                                  "requirement_ratings": {REQ_ID: 2}}},
            "model_type": "task_run"},
        task_dir + "/dataset_splits/%s - frozen/dataset_split.kiln" % split: dict(
            head(split), name="frozen", description=None,
            splits=[{"name": "train", "description": None, "percentage": 0.8},
                    {"name": "test", "description": None, "percentage": 0.2}],
            split_contents={"train": [runs[0], runs[1]], "test": [runs[2]]},
            filter="all", model_type="dataset_split"),
    }
    return files


def write(folder, files):
    for rel, obj in files.items():
        p = Path(folder) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=2, ensure_ascii=False),
                     "utf-8")
    return Path(folder)


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "kiln_root"
    r.mkdir()
    return r


@pytest.fixture
def srv(start_server, root):
    return start_server(args=["--import-root", str(root)])


def import_path(c, path):
    return c.post("/api/import-project", {"project_path": str(path)})


def project_ids(c):
    r = c.get("/api/projects")
    assert r.status == 200, r
    return sorted(p["id"] for p in r.json()["projects"])


def run_path(files, i):
    return [k for k in files if k.endswith("task_run.kiln")][i]


UTC = "+00:00"


def check_imported(c, ids=None):
    """GET gives back what the folder of kiln_project(ids) holds."""
    files = kiln_project(ids)
    pid, tid = files["project.kiln"]["id"], [v for k, v in files.items()
                                              if k.endswith("task.kiln")][0]["id"]
    runs = [files[run_path(files, i)] for i in range(3)]

    p = c.ok("GET", "/api/projects/%s" % pid)
    assert (p["id"], p["name"], p["description"]) == (pid, "Support bot", "客服 chats")
    assert p["created_at"] == "2024-10-01T12:34:56.123456" + UTC
    assert p["created_by"] == "kiln_user" and p["model_type"] == "project"

    t = c.ok("GET", "/api/projects/%s/tasks/%s" % (pid, tid))
    assert (t["name"], t["description"], t["instruction"]) == (
        "Translate", "to English", "Translate the sentence into English.")
    assert t["output_json_schema"] == SCHEMA and t["input_json_schema"] is None
    assert t["thinking_instruction"] == "Think step by step."
    assert t["requirements"][0] == {"id": REQ_ID, "name": "Concise", "description": "short",
                                    "instruction": "Keep it short.", "priority": 1,
                                    "type": "five_star"}
    polite = t["requirements"][1]
    assert_id(polite["id"])
    assert polite == {"id": polite["id"], "name": "Polite", "description": None,
                      "instruction": "Be polite.", "priority": 2, "type": "five_star"}

    listed = c.ok("GET", "/api/projects/%s/tasks/%s/runs?limit=10" % (pid, tid))["runs"]
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in runs)
    got = {r["id"]: r for r in listed}
    for want in runs:
        one = c.ok("GET", "/api/projects/%s/tasks/%s/runs/%s" % (pid, tid, want["id"]))
        assert one == got[want["id"]]
    r0, r1, r2 = (got[r["id"]] for r in runs)

    # run 0: naive timestamp read as UTC; sources, rating, requirement ratings, tags, thoughts
    assert r0["created_at"] == "2024-10-01T12:34:56.123456" + UTC
    assert (r0["input"], r0["created_by"]) == ("你好", "kiln_user")
    assert r0["input_source"] == runs[0]["input_source"]
    assert r0["output"]["id"] == runs[0]["output"]["id"]
    assert r0["output"]["output"] == '{"answer": "Hello"}'
    assert r0["output"]["source"] == runs[0]["output"]["source"]
    rt = r0["output"]["rating"]
    assert (rt["id"], rt["type"], rt["value"]) == ("111111111111", "five_star", 5.0)
    assert rt["requirement_ratings"] == {REQ_ID: {"value": 4.0, "type": "five_star"}}
    assert r0["tags"] == ["good", "batch_1"]
    assert r0["intermediate_outputs"] == {"chain_of_thought": "greeting"}
    assert r0["repair_instructions"] is None and r0["repaired_output"] is None

    # run 1: an offset timestamp, a failed pass/fail rating and a repair
    assert r1["created_at"] == "2024-10-02T00:00:00.000000" + UTC
    assert r1["input_source"] == human() and r1["output"]["source"] == human()
    assert (r1["output"]["rating"]["type"], r1["output"]["rating"]["value"]) == ("pass_fail", 0.0)
    assert r1["repair_instructions"] == "Say thank you."
    rep = r1["repaired_output"]
    assert (rep["id"], rep["output"], rep["source"], rep["rating"]) == (
        "333333333333", '{"answer": "Thank you"}', human("bob"), None)
    assert rep["created_at"] == "2024-10-01T12:34:56.123456" + UTC
    assert r1["tags"] == [] and r1["intermediate_outputs"] == {}

    # run 2: Kiln's defaults for what the file leaves out
    assert r2["created_at"] == "2024-10-03T09:10:11.000000" + UTC
    assert r2["input_source"] == {"type": "file_import", "properties": {"file_name": "a.csv"}}
    assert_id(r2["output"]["id"])
    assert r2["output"]["id"] not in OUTPUT_IDS
    rt = r2["output"]["rating"]
    assert (rt["type"], rt["value"]) == ("pass_fail_critical", -1.0)
    assert rt["requirement_ratings"] == {REQ_ID: {"value": 2.0, "type": "five_star"}}
    assert r2["tags"] == [] and r2["intermediate_outputs"] == {}

    # the tags reach the tag filter, the ratings the rating filter
    tagged = c.ok("GET", "/api/projects/%s/tasks/%s/runs?tag=batch_1" % (pid, tid))["runs"]
    assert [r["id"] for r in tagged] == [runs[0]["id"]]
    rated = c.ok("GET", "/api/projects/%s/tasks/%s/runs?rating=5" % (pid, tid))["runs"]
    assert [r["id"] for r in rated] == [runs[0]["id"]]
    # and the topic path of a generated input reaches the topic filter
    topic = c.ok("GET", "/api/projects/%s/tasks/%s/runs?topic_path=Greetings" % (pid, tid))["runs"]
    assert [r["id"] for r in topic] == [runs[0]["id"]]

    split = [v for k, v in files.items() if k.endswith("dataset_split.kiln")][0]
    d = c.ok("GET", "/api/projects/%s/tasks/%s/dataset_splits/%s" % (pid, tid, split["id"]))
    assert (d["id"], d["name"], d["filter"]) == (split["id"], "frozen", "all")
    assert d["splits"] == split["splits"]
    assert d["split_contents"] == split["split_contents"]
    assert d["created_at"] == "2024-10-01T12:34:56.123456" + UTC


# ---- imports that work ----

def test_http_import_of_the_project_file_gives_back_kiln_ids_and_values(srv, root):
    c = srv.client
    folder = write(root / "support", kiln_project())
    r = import_path(c, folder / "project.kiln")
    assert r.status == 200, r
    body = r.json()
    # the imported project, as GET answers it
    assert body == c.ok("GET", "/api/projects/%s" % PROJECT_ID)
    assert list(body) == ["v", "id", "path", "created_at", "created_by", "name", "description",
                          "model_type"]
    check_imported(c)


def test_http_import_of_the_folder_ignores_extra_keys_as_the_gateway(srv, root):
    c = srv.client
    folder = write(root / "support", kiln_project())
    r = c.post("/api/import-project", {"project_path": str(folder), "overwrite": True})
    assert r.status == 200, r
    assert r.json()["id"] == PROJECT_ID
    check_imported(c)


def test_cli_import_kiln_prints_the_project(srv, root):
    write(root / "cli", kiln_project())
    # a relative DIR is sent made absolute against the command's current folder
    r = subprocess.run([str(hetu_binary()), "import-kiln", "cli"], cwd=root, capture_output=True,
                       text=True, env=clean_env(HETU_URL=srv.base_url), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "id" in r.stdout and PROJECT_ID in r.stdout and "Support bot" in r.stdout
    check_imported(srv.client)
    folder = root / "cli"
    # the same folder again: the server's 409 names the id, exit 3
    r = hetu(srv, "import-kiln", str(folder))
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert PROJECT_ID in r.stderr


# ---- damage: refused, naming the file and field, storing nothing ----

def refused(c, path, before):
    r = import_path(c, path)
    assert project_ids(c) == before, "a refused import stored something"
    return r


def test_bad_json_names_the_file_and_stores_nothing(srv, root):
    c = srv.client
    files = kiln_project()
    bad = run_path(files, 2)
    files[bad] = '{"v": 1, "id": "%s", "input": "x",' % RUN_IDS[2]  # cut short
    folder = write(root / "badjson", files)
    r = refused(c, folder, [])
    # the field is the file, relative to the folder
    assert_error(r, 400, "bad_json", field=bad, mentions=[bad, "malformed JSON"])


def test_a_run_missing_a_required_field_names_it_and_stores_nothing(srv, root):
    c = srv.client
    files = kiln_project()
    bad = run_path(files, 1)
    del files[bad]["output"]["output"]
    folder = write(root / "nooutput", files)
    r = refused(c, folder, [])
    assert_error(r, 400, "bad_request", field="output.output", mentions=[bad, "required"])

    files = kiln_project()
    del files[run_path(files, 0)]["input"]
    folder = write(root / "noinput", files)
    r = refused(c, folder, [])
    assert_error(r, 400, "bad_request", field="input", mentions=[run_path(files, 0)])


def test_kiln_checks_come_across(srv, root):
    c = srv.client
    cases = [
        (lambda f: f[run_path(f, 0)]["output"]["rating"].update(value=6.0), "output.rating.value"),
        (lambda f: f[run_path(f, 0)].update(tags=["two words"]), "tags[0]"),
        (lambda f: f[run_path(f, 0)]["input_source"]["properties"].pop("model_name"),
         "input_source.properties.model_name"),
        (lambda f: f[run_path(f, 1)].update(repair_instructions=None), "repair_instructions"),
        (lambda f: f[run_path(f, 0)].update(id="12345"), "id"),
    ]
    for i, (damage, field) in enumerate(cases):
        files = kiln_project()
        damage(files)
        r = refused(c, write(root / ("case%d" % i), files), [])
        assert_error(r, 400, "bad_request", field=field)


def test_an_id_already_stored_is_a_409_naming_it_and_stores_nothing(srv, root):
    c = srv.client
    write(root / "first", kiln_project())
    assert import_path(c, root / "first").status == 200
    before = project_ids(c)
    # a new project and task whose last run has an id the first import stored
    ids = {"project": "419999999990", "task": "529999999991", "split": "859999999995",
           "runs": ["639999999992", "639999999993", RUN_IDS[2]]}
    folder = write(root / "second", kiln_project(ids))
    r = refused(c, folder, before)
    assert_error(r, 409, "conflict", field="id", mentions=[RUN_IDS[2]])
    assert c.get("/api/projects/419999999990").status == 404


def test_a_path_outside_the_import_root_is_refused(srv, root, tmp_path):
    c = srv.client
    outside = write(tmp_path / "elsewhere", kiln_project())
    r = refused(c, outside, [])
    assert_error(r, 400, "bad_request", field="project_path", mentions=["outside the import root"])
    # nor through .. from inside the root
    r = refused(c, "%s/../elsewhere" % root, [])
    assert_error(r, 400, "bad_request", field="project_path", mentions=["outside the import root"])


def test_a_symlink_leading_out_of_the_root_is_refused(srv, root, tmp_path):
    c = srv.client
    files = kiln_project()
    target = run_path(files, 0)
    secret = write(tmp_path / "secret", {"task_run.kiln": files.pop(target)}) / "task_run.kiln"
    folder = write(root / "linked", files)
    (folder / target).parent.mkdir(parents=True)
    os.symlink(secret, folder / target)
    r = refused(c, folder, [])
    assert_error(r, 400, "bad_request", field=target,
                 mentions=[target, "outside the import root"])


def test_without_an_import_root_every_path_is_refused(start_server, tmp_path):
    c = start_server().client
    folder = write(tmp_path / "kiln", kiln_project())
    r = refused(c, folder, [])
    assert_error(r, 400, "bad_request", field="project_path", mentions=["--import-root"])


def test_a_file_over_the_size_bound_is_refused_naming_it(srv, root):
    c = srv.client
    files = kiln_project()
    big = run_path(files, 0)
    # valid JSON, one byte over 16 MiB
    text = json.dumps(files[big])
    files[big] = text + " " * (16 * 1024 * 1024 + 1 - len(text.encode()))
    folder = write(root / "big", files)
    r = refused(c, folder, [])
    assert_error(r, 413, "too_large", field=big, mentions=[big, "16777216 bytes"])
