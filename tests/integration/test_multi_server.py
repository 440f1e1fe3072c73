# SPDX-License-Identifier: MIT
"""Several hetu servers on one PostgreSQL, each with a fake provider of its own (so each fake's
log says which server made a call): the items of one import job are shared by the servers, a
cancel asked of one server stops the calls of every server, every item is stored once; a pipeline
job runs on one server at a time, and when that server is killed another takes it over once the
claim's lease runs out and finishes it."""

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402
from hetu_http import REPO  # noqa: E402
from test_import import Imp, fake_env, provider_config, unique_model  # noqa: E402
from test_pipeline import Pipe, spec, stage_models  # noqa: E402

pytestmark = pytest.mark.skipif(not pgserver.server_bindir(),
                                reason="PostgreSQL server binaries not installed "
                                       "(scripts/install-deps test)")

LEASE = 2  # seconds: a dead server's claims are taken over quickly


@pytest.fixture
def pg():
    with pgserver.PgServer() as server:
        yield server


class Fake:
    """One more fake provider process, on a free port."""

    def __init__(self, directory):
        directory.mkdir(parents=True, exist_ok=True)
        port_file = directory / "port"
        self.log = open(directory / "fake.log", "wb")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(REPO / "tests" / "fake" / "fake_llm.py"), "--port", "0",
             "--port-file", str(port_file)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (port_file.exists() and port_file.read_text().strip().isdigit()):
            assert self.proc.poll() is None and time.monotonic() < deadline, "fake did not start"
            time.sleep(0.01)
        self.url = "http://127.0.0.1:%s" % port_file.read_text().strip()

    def calls(self, model):
        with urllib.request.urlopen(self.url + "/_stats", timeout=10) as f:
            return json.loads(f.read())["calls"].get(model, 0)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def fakes(tmp_path):
    made = [Fake(tmp_path / ("fake%d" % i)) for i in range(2)]
    yield made
    for f in made:
        f.close()


def serve(start_server, pg, tmp_path, fake, name, window):
    return start_server(db=pg.url, env=fake_env(fake.url),
                        args=["--spool-dir", str(tmp_path / ("spool-" + name)),
                              "--job-window", str(window), "--job-lease", str(LEASE)]
                        + provider_config(tmp_path))


def on(srv, first):
    """first's project and task, through another server."""
    other = Imp.__new__(type(first))
    other.srv, other.c, other.pid, other.tid = srv, srv.client, first.pid, first.tid
    other.c.timeout = 120
    return other


def all_runs(imp):
    out, cursor = [], None
    while True:
        page = imp.runs_page(cursor=cursor)
        out.extend(page["runs"])
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_items_shared_and_a_cancel_stops_every_server(start_server, pg, fakes, tmp_path):
    a = Imp(serve(start_server, pg, tmp_path, fakes[0], "a", 5))
    b = on(serve(start_server, pg, tmp_path, fakes[1], "b", 5), a)
    model = unique_model("shared", "+latency=300")
    n = 400
    r = a.run_async([{"input": "共享 \"%d\"\n第二行" % i, "output_model_name": model,
                      "output_provider": "together_ai"} for i in range(n)])
    assert r.status == 200, r
    job_id = r.json()["job_id"]

    # both servers run items of the job made on the first
    deadline = time.monotonic() + 30
    while not (fakes[0].calls(model) > 0 and fakes[1].calls(model) > 0):
        assert time.monotonic() < deadline, (fakes[0].calls(model), fakes[1].calls(model))
        time.sleep(0.05)

    r = b.c.post(b.ds("jobs/%s/cancel" % job_id))
    assert r.status == 200, r
    time.sleep(1.0)  # calls in flight at the cancel land or are dropped
    counts = (fakes[0].calls(model), fakes[1].calls(model))
    time.sleep(1.5)
    assert (fakes[0].calls(model), fakes[1].calls(model)) == counts, "calls went on after cancel"
    ja, jb = a.wait_job(job_id, timeout=30), b.wait_job(job_id, timeout=30)
    assert ja["status"] == jb["status"] == "cancelled", (ja, jb)
    assert (ja["completed"], ja["failed"]) == (jb["completed"], jb["failed"])
    assert 0 < ja["completed"] < n, ja
    runs = all_runs(a)
    assert len(runs) == ja["completed"]
    assert len({x["input"] for x in runs}) == len(runs), "an item stored twice"
    assert sum(counts) < n, counts


def test_pipeline_runs_on_one_server_and_moves_when_it_dies(start_server, pg, fakes, tmp_path):
    servers = [serve(start_server, pg, tmp_path, fakes[i], "p%d" % i, 8) for i in range(2)]
    pipe = Pipe(servers[0])
    models = stage_models("move", slow="outputs", latency="+latency=150")
    job_id = pipe.start(spec(models, depth=1, breadth=4, per_leaf=10, judge=False))

    # one server takes the job: its fake sees the calls, the other's none
    deadline = time.monotonic() + 30
    while fakes[0].calls(models["outputs"]) + fakes[1].calls(models["outputs"]) < 5:
        assert time.monotonic() < deadline, pipe.job(job_id)
        time.sleep(0.05)
    holder = 0 if fakes[0].calls(models["outputs"]) > 0 else 1
    other = 1 - holder
    assert fakes[other].calls(models["topics"]) == 0
    assert fakes[other].calls(models["inputs"]) == 0
    assert fakes[other].calls(models["outputs"]) == 0

    servers[holder].stop(signal.SIGKILL)
    survivor = on(servers[other], pipe)
    j = survivor.wait_job(job_id, timeout=60, until=("completed", "failed", "cancelled"))
    assert j["status"] == "completed", j
    assert fakes[other].calls(models["outputs"]) > 0  # the survivor finished it
    runs = all_runs(survivor)
    assert len(runs) == 40, len(runs)
    assert len({x["input"] for x in runs}) == 40, "an input stored twice"
