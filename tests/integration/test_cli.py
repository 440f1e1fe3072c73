# SPDX-License-Identifier: MIT
"""The hetu command line end to end: each test runs `hetu COMMAND ...` as a subprocess against a
real server (and the fake LLM provider for generation), and checks what a user would see: the
tables, the JSON (byte for byte the server's), the exit codes of each kind of failure, and the
progress output on a pseudo-terminal and on a pipe."""

import csv
import http.server
import json
import os
import pty
import re
import select
import subprocess
import threading
import time
import unicodedata

import pytest

from hetu_http import REPO, SANITIZER_MARKS, free_port, hetu_binary

EXIT_FAILED, EXIT_USAGE, EXIT_SERVER, EXIT_UNREACHABLE = 1, 2, 3, 4
D = "/api/dataset/projects/%s/tasks/%s"
COMMANDS = ["projects", "tasks", "gen", "save", "import", "jobs", "runs", "topics", "export"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HETU_") or k == "HETU_BIN"}
    env.update(extra)
    return env


def hetu(srv, *args, input=None, env=None, timeout=60):
    """Runs the CLI against srv (None: no server); returns CompletedProcess with text output."""
    e = clean_env(**(env or {}))
    if srv is not None:
        e["HETU_URL"] = srv.base_url
    r = subprocess.run([str(hetu_binary())] + [str(a) for a in args], input=input,
                       capture_output=True, text=True, env=e, timeout=timeout)
    marks = [m for m in SANITIZER_MARKS if m in r.stderr]
    assert not marks, "sanitizer report from hetu %s:\n%s" % (" ".join(map(str, args)), r.stderr)
    return r


def ok(srv, *args, **kw):
    r = hetu(srv, *args, **kw)
    assert r.returncode == 0, "hetu %s -> %d\nstdout: %s\nstderr: %s" % (
        " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
    return r


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def column_starts(line, cells):
    """Display column where each cell starts in a table line."""
    starts, pos = [], 0
    for cell in cells:
        i = line.index(cell, pos)
        starts.append(width(line[:i]))
        pos = i + len(cell)
    return starts


@pytest.fixture
def srv(start_server, fake_llm):
    return start_server(env={"HETU_TOGETHER_AI_BASE_URL": fake_llm + "/v1",
                             "TOGETHERAI_API_KEY": "k"})


@pytest.fixture
def task(srv):
    """(project_id, task_id, env with HETU_PROJECT/HETU_TASK)."""
    c = srv.client
    p = c.new_project(name="CLI 项目")
    t = c.new_task(p["id"], name="翻译", instruction="把句子翻译成英文")
    return p["id"], t["id"], {"HETU_PROJECT": p["id"], "HETU_TASK": t["id"]}


def write_csv(path, rows, header=("input", "output", "topic_path")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow(row)
    return path


# ---- help ----

def test_help_lists_commands_options_and_exit_codes(hetu_bin):
    r = ok(None, "--help")
    for cmd in COMMANDS + ["serve"]:
        assert re.search(r"^  %s\s" % cmd, r.stdout, re.M), cmd
    for opt in ["--server", "HETU_URL", "--api-key", "HETU_API_KEY", "--json", "--quiet"]:
        assert opt in r.stdout
    assert re.search(r"2 usage error, 3 the server answered with an error.*4 the\s+server is "
                     r"unreachable", r.stdout, re.S), r.stdout
    own = {"projects": ["list", "create", "show", "update", "delete", "--description", "--name"],
           "tasks": ["--instruction", "--requirement", "--input-schema", "--output-schema"],
           "gen": ["categories", "samples", "--model", "--provider", "--topic", "--num"],
           "save": ["--input", "--output", "--session", "JSONL"],
           "import": ["--output-model", "--no-wait", "HETU_PROGRESS_INTERVAL"],
           "jobs": ["list", "show", "watch", "cancel"],
           "runs": ["--topic", "--tag", "--rating", "--source", "--limit", "--cursor", "rate"],
           "topics": ["sample"],
           "export": ["--format", "--output", "--rating", "--split-name", "--gzip"]}
    for cmd, words in own.items():
        r = ok(None, cmd, "--help")
        assert r.stdout.startswith("Usage: hetu %s" % cmd)
        assert "Example" in r.stdout and ("hetu %s " % cmd) in r.stdout.split("Example")[1]
        for w in words + ["--server", "--project", "--task", "Exit status"]:
            assert w in r.stdout, (cmd, w)


def serve_option_table():
    """(flag, env, key) of every row of serve_opts in src/cli/serve.c (key None: no config key)."""
    src = (REPO / "src" / "cli" / "serve.c").read_text(encoding="utf-8")
    table = re.search(r"serve_opts\[\] = \{(.*?)\n\};", src, re.S).group(1)
    rows = re.findall(r'^\s*\{"([a-z-]+)", "[A-Z]+", "([A-Z_]+)", (?:"([a-z_]+)"|NULL),', table, re.M)
    return [(flag, env, key or None) for flag, env, key in rows]


def test_serve_help_lists_every_option_of_the_table_with_its_environment_variable(hetu_bin):
    rows = serve_option_table()
    assert len(rows) >= 12 and all(flag and env for flag, env, _ in rows), rows
    out = ok(None, "serve", "--help").stdout
    # each option's entry runs from its "  --flag" line to the next option's
    entries = dict(re.findall(r"^  --([a-z-]+) [A-Z]+ +(.*?)(?=^  -)", out, re.M | re.S))
    assert set(entries) == {flag for flag, _, _ in rows}, out
    for flag, env, key in rows:
        said = "(%s, %s" % (env, key) if key else "(%s" % env
        # host and port name the gateway's variable last: "(HETU_HOST, host, then HOST)"
        assert re.search(re.escape(said) + r"(, then [A-Z]+)?\)", " ".join(entries[flag].split())), (
            flag, said, entries[flag])



def test_serve_rejects_a_log_setting_outside_its_choices_and_names_them(hetu_bin):
    r = hetu(None, "serve", "--log-level", "loud")
    assert r.returncode == 1
    assert r.stderr == ("hetu serve: log level must be debug, info, warn or error, "
                        "not 'loud'\n")
    r = hetu(None, "serve", env={"HETU_LOG_FORMAT": "yaml"})
    assert r.returncode == 1
    assert r.stderr == "hetu serve: log format must be text or json, not 'yaml'\n"


# ---- projects and tasks ----

def test_projects_and_tasks_end_to_end(srv):
    c = srv.client
    r = ok(srv, "projects", "create", "客服 项目", "--description", "support 对话")
    pid = re.search(r"^id\s+(\d{12})$", r.stdout, re.M).group(1)
    assert re.search(r"^name\s+客服 项目$", r.stdout, re.M)
    assert c.ok("GET", "/api/projects/" + pid)["description"] == "support 对话"
    ok(srv, "projects", "create", "plain")

    # the table: CJK cells take two columns, so every column starts at the same display column
    r = ok(srv, "projects", "list")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "DESCRIPTION", "CREATED"]
    row = next(l for l in lines if l.startswith(pid))
    head = column_starts(lines[0], ["ID", "NAME", "DESCRIPTION", "CREATED"])
    assert column_starts(row, [pid, "客服 项目", "support 对话"]) == head[:3]
    created = c.ok("GET", "/api/projects/" + pid)["created_at"]
    assert column_starts(row, [created])[0] == head[3]

    # --json is the server's answer byte for byte
    r = ok(srv, "projects", "list", "--json")
    assert r.stdout.encode("utf-8") == c.get("/api/projects").raw.rstrip(b"\n") + b"\n"

    ok(srv, "projects", "update", pid, "--name", "renamed")
    assert c.ok("GET", "/api/projects/" + pid)["name"] == "renamed"

    r = ok(srv, "tasks", "create", "--project", pid, "--name", "翻译", "--instruction", "翻译成英文",
           "--requirement", "fluent=reads naturally", "--output-schema",
           '{"type":"object","properties":{"en":{"type":"string"}},"required":["en"]}')
    tid = re.search(r"^id\s+(\d{12})$", r.stdout, re.M).group(1)
    t = c.ok("GET", "/api/projects/%s/tasks/%s" % (pid, tid))
    assert t["requirements"][0]["name"] == "fluent"
    assert t["requirements"][0]["instruction"] == "reads naturally"
    assert json.loads(t["output_json_schema"])["required"] == ["en"]
    r = ok(srv, "tasks", "list", env={"HETU_PROJECT": pid})
    assert re.search(r"^%s\s+翻译\s+翻译成英文" % tid, r.stdout, re.M), r.stdout
    r = ok(srv, "tasks", "show", tid, "-p", pid, "--json")
    assert r.stdout.encode() == c.get("/api/projects/%s/tasks/%s" % (pid, tid)).raw + b"\n"
    ok(srv, "tasks", "update", tid, "-p", pid, "--description", "新的")
    assert c.ok("GET", "/api/projects/%s/tasks/%s" % (pid, tid))["description"] == "新的"
    ok(srv, "tasks", "delete", tid, "-p", pid)
    assert c.get("/api/projects/%s/tasks/%s" % (pid, tid)).status == 404
    ok(srv, "projects", "delete", pid)
    assert c.get("/api/projects/" + pid).status == 404


# ---- generation ----

def test_gen_categories_and_samples(srv, task, fake_llm):
    pid, tid, env = task
    r = ok(srv, "gen", "categories", "--provider", "together_ai", "--model", "cli-cat", "-n", "4",
           env=env)
    names = r.stdout.splitlines()
    assert len(names) == 4 and len(set(names)) == 4
    tree = srv.client.ok("GET", D % (pid, tid) + "/topics")
    assert [ch["name"] for ch in tree["children"]] == names

    r = ok(srv, "gen", "samples", "--topic", "%s" % names[0], "-n", "3", "--json",
           env=dict(env, HETU_PROVIDER="together_ai", HETU_MODEL="cli-samples"))
    run = json.loads(r.stdout)
    samples = json.loads(run["output"]["output"])["generated_samples"]
    assert len(samples) == 3
    r = ok(srv, "gen", "samples", "--topic", names[0], "-n", "3", "--provider", "together_ai",
           "--model", "cli-samples", env=env)
    assert len(r.stdout.splitlines()) == 3
    # the topic reached the model
    import urllib.request
    log = json.load(urllib.request.urlopen(fake_llm + "/_requests?model=cli-samples"))
    assert any(names[0] in json.dumps(q["body"], ensure_ascii=False) for q in log["requests"])


# ---- save ----

def test_save_one_and_batches(srv, task):
    pid, tid, env = task
    c = srv.client
    r = ok(srv, "save", "--input", "你好", "--output", "Hello", "--topic", "问候/早上",
           "--session", "s1", env=env)
    assert "你好" in r.stdout and "问候/早上" in r.stdout
    runs = c.ok("GET", "/api/projects/%s/tasks/%s/runs?session_id=s1" % (pid, tid))["runs"]
    assert len(runs) == 1 and runs[0]["output"]["output"] == "Hello"
    assert "synthetic_session_s1" in runs[0]["tags"]

    jsonl = '{"input": "a1", "output": "o1"}\n\n{"input": "a2", "output": "o2", "topic_path": ["t"]}\n'
    r = ok(srv, "save", "-", "--topic", "def", "--session", "s2", input=jsonl, env=env)
    runs = c.ok("GET", "/api/projects/%s/tasks/%s/runs?session_id=s2" % (pid, tid))["runs"]
    topics = {x["input"]: x["input_source"]["properties"].get("topic_path") for x in runs}
    assert topics == {"a1": "def", "a2": "t"}  # the option fills only what a sample lacks

    # a JSON array with outputs made by the model; --json is the server's list
    r = ok(srv, "save", "-", "--json", "--output-model", "cli-save", "--output-provider",
           "together_ai", input='[{"input": "b1"}, {"input": "b2", "output": "kept"}]', env=env)
    saved = json.loads(r.stdout)
    assert [x["input"] for x in saved] == ["b1", "b2"]
    assert saved[0]["output"]["output"].startswith("fake answer") and saved[1]["output"]["output"] == "kept"

    # some samples fail: the others are saved, stderr says how many, exit 1
    r = hetu(srv, "save", "-", "--output-model", "cli-bad+fail400param=model", "--output-provider",
             "together_ai", input='[{"input": "c1"}, {"input": "c2", "output": "fine"}]', env=env)
    assert r.returncode == EXIT_FAILED, r
    assert "1 of 2 samples failed" in r.stderr and "model" in r.stderr
    assert "fine" in r.stdout

    r = hetu(srv, "save", "-", input='[{"input": "x"}, 3]', env=env)
    assert r.returncode == EXIT_FAILED and "not a JSON object" in r.stderr
    r = hetu(srv, "save", "-", input='{"input": "x"}\n{broken\n', env=env)
    assert r.returncode == EXIT_FAILED and "line 2" in r.stderr


# ---- import and jobs ----

def test_import_csv_follows_job_to_completion(srv, task, tmp_path):
    pid, tid, env = task
    f = write_csv(tmp_path / "data.csv",
                  [("问题 %d" % i, "answer %d" % i, "imp>>>>>k%d" % (i % 3)) for i in range(250)])
    r = ok(srv, "import", f, env=dict(env, HETU_PROGRESS_INTERVAL="0"))
    assert re.search(r"^job \d{12} completed: 250 of 250 done, 0 failed", r.stdout, re.M), r.stdout
    lines = r.stderr.splitlines()
    assert lines and all(re.match(r"^progress: \d+/250 \(\d+%\)", l) for l in lines), r.stderr
    assert lines[-1].startswith("progress: 250/250 (100%)")
    runs = srv.client.ok("GET", "/api/projects/%s/tasks/%s/runs?limit=1000" % (pid, tid))["runs"]
    assert len(runs) == 250
    tree = srv.client.ok("GET", D % (pid, tid) + "/topics")
    assert tree["sample_count"] == 250

    # small files finish inside the request: the server's message, no job
    f2 = write_csv(tmp_path / "small.csv", [("s%d" % i, "o", "") for i in range(5)])
    r = ok(srv, "import", f2, env=env)
    assert r.stderr == "" and "5" in r.stdout

    # --quiet: no progress at all; --json: the upload answer and the job's final JSON
    r = ok(srv, "import", f, "--quiet", "--json", env=env)
    assert r.stderr == ""
    answer, final = [json.loads(l) for l in r.stdout.splitlines()]
    assert answer["status"] == "import_started" and answer["sample_count"] == 250
    assert final["id"] == answer["job_id"] and final["status"] == "completed"
    assert final == srv.client.ok("GET", D % (pid, tid) + "/jobs/" + answer["job_id"])

    # a bad file: the server's detail, exit 3; a missing file: exit 1
    bad = tmp_path / "bad.csv"
    bad.write_text("output\nx\n")
    r = hetu(srv, "import", bad, env=env)
    assert r.returncode == EXIT_SERVER and "input" in r.stderr
    r = hetu(srv, "import", tmp_path / "nope.csv", env=env)
    assert r.returncode == EXIT_FAILED and "nope.csv" in r.stderr


def slow_import(srv, env, tmp_path, rows=240, latency=250, model="slow"):
    f = write_csv(tmp_path / ("%s.csv" % model), [("q%d" % i,) for i in range(rows)],
                  header=("input",))
    return f, ["--output-model", "%s+latency=%d" % (model, latency), "--output-provider",
               "together_ai"]


def test_jobs_list_show_watch_cancel(srv, task, tmp_path):
    pid, tid, env = task
    f, model = slow_import(srv, env, tmp_path, model="jobs-slow")
    r = ok(srv, "import", f, "--no-wait", "--json", *model, env=env)
    job = json.loads(r.stdout)["job_id"]
    r = ok(srv, "jobs", "list", env=env)
    assert re.search(r"^%s\s+import_file\s+(queued|running)\s+\d+/240" % job, r.stdout, re.M), r.stdout
    r = ok(srv, "jobs", "show", job, env=env)
    assert re.search(r"^total\s+240$", r.stdout, re.M)
    r = ok(srv, "jobs", "watch", job, "--json", env=env)
    final = json.loads(r.stdout)
    assert final["status"] == "completed" and final["completed"] == 240
    assert r.stdout.encode() == srv.client.get(D % (pid, tid) + "/jobs/" + job).raw + b"\n"

    # cancel a running job: watch then ends with the cancelled status and exit 1
    f, model = slow_import(srv, env, tmp_path, rows=400, latency=400, model="jobs-cancel")
    job = json.loads(ok(srv, "import", f, "--no-wait", "--json", *model, env=env).stdout)["job_id"]
    r = ok(srv, "jobs", "cancel", job, env=env)
    assert re.search(r"^id\s+%s$" % job, r.stdout, re.M)
    r = hetu(srv, "jobs", "watch", job, env=env)
    assert r.returncode == EXIT_FAILED, r
    assert re.search(r"job %s cancelled" % job, r.stdout), r.stdout
    r = hetu(srv, "jobs", "watch", "999999999999", env=env)
    assert r.returncode == EXIT_SERVER and "999999999999" in r.stderr


def read_pty(master, proc, timeout=60):
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    return out


def test_progress_bar_on_a_terminal(srv, task, tmp_path):
    pid, tid, env = task
    f, model = slow_import(srv, env, tmp_path, model="pty-slow")
    master, slave = pty.openpty()
    e = clean_env(HETU_URL=srv.base_url, **env)
    start = time.monotonic()
    proc = subprocess.Popen([str(hetu_binary()), "import", str(f)] + model, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=e)
    os.close(slave)
    raw = read_pty(master, proc)
    proc.wait(timeout=30)
    elapsed = time.monotonic() - start
    os.close(master)
    stdout = proc.stdout.read().decode()
    assert proc.returncode == 0, (raw, stdout)
    text = raw.decode("utf-8").replace("\r\n", "\n")  # the terminal's own newline mapping
    assert "progress:" not in text  # no log lines on a terminal
    assert text.endswith("\n") and text.count("\n") == 1  # one line, ended once
    frames = [fr for fr in text[:-1].split("\r") if fr]
    bar = re.compile(r"^import \[[#>-]+\] (\d+)/240 \((\d+)%\)( [\d.]+/s)?( eta \S+)?\x1b\[K")
    counts = []
    for fr in frames:
        m = bar.match(fr)
        assert m, "not a bar frame: %r" % fr
        counts.append(int(m.group(1)))
        assert int(m.group(2)) == counts[-1] * 100 // 240
    assert counts == sorted(counts) and counts[-1] == 240
    assert len(set(counts)) >= 3, counts  # redrawn in place as the job went on
    assert any(" eta " in fr for fr in frames) and any("/s" in fr for fr in frames)
    assert len(frames) <= elapsed * 10 + 3, (len(frames), elapsed)  # at most ~10 redraws a second
    assert re.search(r"completed: 240 of 240", stdout)


def test_progress_lines_when_not_a_terminal(srv, task, tmp_path):
    pid, tid, env = task
    f, model = slow_import(srv, env, tmp_path, model="pipe-slow")
    r = ok(srv, "import", f, *model, env=dict(env, HETU_PROGRESS_INTERVAL="0.3"))
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    lines = r.stderr.splitlines()
    line = re.compile(r"^progress: (\d+)/240 \((\d+)%\)(?: ([\d.]+)/s)?(?: eta (\d+[smh]\S*))?$")
    counts = []
    for l in lines:
        m = line.match(l)
        assert m, "not a progress line: %r" % l
        counts.append(int(m.group(1)))
    assert len(lines) >= 3 and counts == sorted(counts) and counts[-1] == 240
    assert re.search(r"\d+/s eta \d+", r.stderr)
    # the default interval is a few seconds: a short job prints its first and last lines only
    f, model = slow_import(srv, env, tmp_path, latency=100, model="pipe-fast")
    r = ok(srv, "import", f, *model, env=env)
    lines = r.stderr.splitlines()
    assert 1 <= len(lines) <= 3 and lines[-1].startswith("progress: 240/240 (100%)"), lines
    r = ok(srv, "import", f, "-q", *model, env=env)
    assert r.stderr == ""


# ---- runs and topics ----

def test_runs_list_table_json_filters_and_rate(srv, task):
    pid, tid, env = task
    c = srv.client
    for i, topic in enumerate(["旅行/酒店", "旅行/机票", "美食"]):
        ok(srv, "save", "--input", "输入 %d" % i, "--output", "output %d" % i, "--topic", topic,
           env=env)
    base = "/api/projects/%s/tasks/%s/runs" % (pid, tid)
    runs = c.ok("GET", base)["runs"]

    r = ok(srv, "runs", "list", env=env)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "TOPIC", "RATING", "INPUT", "OUTPUT"]
    assert len(lines) == 4
    head = column_starts(lines[0], ["ID", "CREATED", "TOPIC", "RATING", "INPUT", "OUTPUT"])
    for run, line in zip(runs, lines[1:]):
        topic = run["input_source"]["properties"]["topic_path"].replace(">>>>>", "/")
        cols = column_starts(line, [run["id"], topic, run["input"], run["output"]["output"]])
        assert cols == [head[0], head[2], head[4], head[5]], (line, cols, head)

    # --json: the server's page unchanged, filters passed through
    for args, query in [((), ""), (("--topic", "旅行"), "?topic_path=%E6%97%85%E8%A1%8C"),
                        (("--limit", "1"), "?limit=1")]:
        r = ok(srv, "runs", "list", "--json", *args, env=env)
        assert r.stdout.encode() == c.get(base + query).raw + b"\n"
    assert len(json.loads(ok(srv, "runs", "list", "--json", "--topic", "旅行", env=env).stdout)["runs"]) == 2
    r = ok(srv, "runs", "list", "--topic", "美食", env=env)
    assert len(r.stdout.splitlines()) == 2 and "输入 2" in r.stdout
    r = ok(srv, "runs", "list", "--limit", "1", "--all", env=env)
    assert len(r.stdout.splitlines()) == 4

    rid = runs[0]["id"]
    r = ok(srv, "runs", "rate", rid, "4", env=env)
    assert re.search(r"^rating\s+4/5$", r.stdout, re.M)
    assert c.ok("GET", base + "/" + rid)["output"]["rating"]["value"] == 4
    ok(srv, "runs", "rate", runs[1]["id"], "fail", env=env)
    assert c.ok("GET", base + "/" + runs[1]["id"])["output"]["rating"]["type"] == "pass_fail"
    r = ok(srv, "runs", "list", "--rating", "4", env=env)
    assert len(r.stdout.splitlines()) == 2 and rid in r.stdout and "4/5" in r.stdout
    ok(srv, "runs", "tag", rid, "好", "gold", env=env)
    assert c.ok("GET", base + "/" + rid)["tags"] == ["好", "gold"]
    r = ok(srv, "runs", "show", rid, env=env)
    assert re.search(r"^input\s+输入 0$", r.stdout, re.M)
    assert hetu(srv, "runs", "rate", rid, "9", env=env).returncode == EXIT_USAGE
    ok(srv, "runs", "delete", rid, env=env)
    assert c.get(base + "/" + rid).status == 404


def expected_tree(node, prefix="", last=True, top=True):
    lines = ["%s (%d)" % (node["name"], node["sample_count"])] if top else \
        [prefix + ("└── " if last else "├── ") + "%s (%d)" % (node["name"], node["sample_count"])]
    kids = node.get("children", [])
    child_prefix = "" if top else prefix + ("    " if last else "│   ")
    for i, ch in enumerate(kids):
        lines += expected_tree(ch, child_prefix, i == len(kids) - 1, False)
    return lines


def test_topics_tree(srv, task):
    pid, tid, env = task
    for topic in ["旅行/酒店", "旅行/酒店", "旅行/机票", "美食", "美食/面条/拉面"]:
        ok(srv, "save", "--input", "x", "--output", "y", "--topic", topic, env=env)
    r = ok(srv, "topics", env=env)
    tree = srv.client.ok("GET", D % (pid, tid) + "/topics")
    assert r.stdout.splitlines() == expected_tree(tree)
    assert r.stdout.splitlines()[0] == "root (5)"
    assert "│   └── 酒店 (2)" in r.stdout or "│   ├── 酒店 (2)" in r.stdout
    r = ok(srv, "topics", "--json", env=env)
    assert r.stdout.encode() == srv.client.get(D % (pid, tid) + "/topics").raw + b"\n"


# ---- failures ----

def test_exit_codes(srv, task):
    pid, tid, env = task
    # usage: 2, with a hint on stderr and nothing on stdout
    for args in [("projects",), ("projects", "frobnicate"), ("runs", "list", "--bogus"),
                 ("runs", "list"), ("gen", "samples", "--model", "m"), ("nosuchcommand",),
                 ("gen", "categories", "-n", "0", "--model", "m", "--provider", "p"),
                 ("projects", "list", "--server", "ftp://x")]:
        r = hetu(srv, *args)
        assert r.returncode == EXIT_USAGE, (args, r)
        assert r.stdout == "" and r.stderr.strip(), args
    r = hetu(srv, "runs", "list")
    assert "--project" in r.stderr and "hetu runs --help" in r.stderr

    # the server answered an error: 3, with its detail
    r = hetu(srv, "projects", "show", "999999999999")
    detail = srv.client.get("/api/projects/999999999999").json()["detail"]
    assert r.returncode == EXIT_SERVER and detail in r.stderr and "404" in r.stderr
    r = hetu(srv, "tasks", "create", "-p", pid, "--name", "x" * 200, "--instruction", "i")
    assert r.returncode == EXIT_SERVER and "name" in r.stderr and "422" in r.stderr
    r = hetu(srv, "gen", "categories", "--provider", "nosuch", "--model", "m", env=env)
    assert r.returncode == EXIT_SERVER and "nosuch" in r.stderr
    r = hetu(srv, "gen", "samples", "--provider", "together_ai", "--model", "m+fail500", env=env,
             timeout=120)
    assert r.returncode == EXIT_SERVER and "502" in r.stderr

    # unreachable: 4
    port = free_port()
    for args in [("projects", "list"), ("topics", "-p", pid, "-t", tid)]:
        r = hetu(None, *args, "--server", "http://127.0.0.1:%d" % port)
        assert r.returncode == EXIT_UNREACHABLE, r
        assert "cannot reach the server" in r.stderr and str(port) in r.stderr


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        _Recorder.seen.append((self.command, self.path, self.headers.get("Authorization"), body))
        if self.path.startswith("/api/projects"):
            data, status = b'{"projects": []}', 200
        elif "import" in self.path:
            data, status = b'{"status": "import_completed", "sample_count": 1, "message": "ok"}', 200
        else:
            data, status = b"<html>oops</html>", 500
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *a):
        pass


def test_api_key_sent_on_every_call_and_non_json_errors(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % httpd.server_address[1]
    try:
        _Recorder.seen.clear()
        ok(None, "projects", "list", "--server", url + "/", "--api-key", "sek ret")
        f = tmp_path / "a.csv"
        f.write_text("input,output\n你好,hi\n", encoding="utf-8")
        ok(None, "import", f, "-p", "1", "-t", "2", "--session", "a b",
           env={"HETU_URL": url, "HETU_API_KEY": "env-key"})
        r = hetu(None, "topics", "-p", "1", "-t", "2", env={"HETU_URL": url})
        assert r.returncode == EXIT_SERVER and "500" in r.stderr and "oops" in r.stderr
        (m1, p1, a1, _), (m2, p2, a2, body), (m3, _, a3, _) = _Recorder.seen
        assert (m1, p1, a1) == ("GET", "/api/projects", "Bearer sek ret")
        assert m2 == "POST" and a2 == "Bearer env-key"
        assert p2 == "/api/dataset/projects/1/tasks/2/import_samples_from_file?session_id=a%20b"
        assert b'name="file"; filename="a.csv"' in body and "你好,hi".encode() in body
        assert a3 is None
    finally:
        httpd.shutdown()
        httpd.server_close()
