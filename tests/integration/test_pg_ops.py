# SPDX-License-Identifier: MIT
"""hetu serve on PostgreSQL, its operation under load and failure (a throwaway server from
tests/pgserver.py): concurrent sample saves commit together in one transaction (counted by the
server's /metrics and by the database's commit timestamps), a write that fails in a batch fails
alone, a database restart in the middle of a batch loses no save and stores none twice, /healthz
reports the pool and answers 503 while the database is away, and the password shows nowhere; a
job's event stream waits out an outage.

To hold the writer in the middle of a batch, the tests put a trigger on samples: a sample whose
input is GATE waits for an advisory lock the test holds, one whose input is POISON fails."""

import concurrent.futures
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402
from hetu_http import Client, assert_error  # noqa: E402
from test_import import Imp, csv_bytes, fake_env, provider_config, read_events, unique_model  # noqa: E402

pytestmark = pytest.mark.skipif(not pgserver.server_bindir(),
                                reason="PostgreSQL server binaries not installed "
                                       "(scripts/install-deps test)")

GATE, POISON, LOCK = "gate-sample", "poison-sample", 48475455
# Samples whose insert meets a deadlock the first time (a sequence is not rolled back)
DEADLOCK_ALONE, DEADLOCK_BATCH = "deadlock-alone", "deadlock-batch"
PASSWORD = "s3cret-pw-7731"  # trust authentication takes any password
THREADS = 3

TRIGGER = """
CREATE SEQUENCE IF NOT EXISTS hetu_test_alone;
CREATE SEQUENCE IF NOT EXISTS hetu_test_batch;
CREATE OR REPLACE FUNCTION hetu_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF NEW.input = '%s' THEN PERFORM pg_advisory_xact_lock(%d); END IF;
  IF NEW.input = '%s' THEN RAISE EXCEPTION 'poisoned sample'; END IF;
  IF (NEW.input = '%s' AND nextval('hetu_test_alone') = 1) OR
     (NEW.input = '%s' AND nextval('hetu_test_batch') = 1) THEN
    RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS hetu_test_gate ON samples;
CREATE TRIGGER hetu_test_gate BEFORE INSERT ON samples FOR EACH ROW
  EXECUTE FUNCTION hetu_test_gate();
""" % (GATE, LOCK, POISON, DEADLOCK_ALONE, DEADLOCK_BATCH)


@pytest.fixture(scope="module")
def pg():
    with pgserver.PgServer() as server:
        # commit timestamps tell the transactions that stored each row apart
        psql(server, "ALTER SYSTEM SET track_commit_timestamp = on")
        server.pause()
        server.resume()
        yield server


def psql(pg, sql):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", pg.url, "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_for(what, cond, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Gate:
    """Holds the advisory lock a GATE sample waits for, in a psql session of its own."""

    def __init__(self, pg):
        self.pg = pg
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", pg.url], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.proc.stdin.write("SELECT pg_advisory_lock(%d);\n" % LOCK)
        self.proc.stdin.flush()
        wait_for("the gate's lock", lambda: self.waiting("") == 1)

    def waiting(self, which="NOT"):
        return int(psql(self.pg, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND objid = %d AND %s granted" % (LOCK, which)))

    def open(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("SELECT pg_advisory_unlock(%d);\n\\q\n" % LOCK)
                self.proc.stdin.close()
            except BrokenPipeError:
                pass  # the database went away with the session
        self.proc.wait(timeout=30)


def group_commits(client):
    """(commits, writes committed) so far, from the server's /metrics."""
    text = client.get("/metrics").raw.decode()
    found = {}
    for name in ("count", "sum"):
        m = re.search(r"^hetu_store_group_commit_writes_%s(?:\{[^}]*\})? (\d+)" % name, text, re.M)
        found[name] = int(m.group(1)) if m else 0
    return found["count"], found["sum"]


def pending(client):
    r = client.get("/healthz")
    return r.json()["store"]["pending_writes"] if r.status == 200 else None


def start(start_server, pg, tmp_path, url=None):
    srv = start_server(db=url or pg.url,
                       args=["--spool-dir", str(tmp_path / "spool"), "--threads", str(THREADS)])
    c = srv.client
    p = c.new_project()
    t = c.new_task(p["id"])
    psql(pg, TRIGGER)
    return srv, "/api/dataset/projects/%s/tasks/%s/" % (p["id"], t["id"]), p["id"], t["id"]


def save_all(srv, ds, inputs):
    """Saves a sample per input, all at once, each on its own connection; the futures."""
    slow = Client(srv.client.host, srv.client.port, timeout=120)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(inputs))
    futures = [pool.submit(slow.post, ds + "save_sample", {"input": x, "output": "out"})
               for x in inputs]
    pool.shutdown(wait=False)
    return futures


def queue_behind_gate(pg, srv, ds, inputs):
    """Holds the writer at a GATE sample and queues a save of each input behind it, each waiting;
    (the gate, the GATE save's future, the others' futures). gate.open() lets them through."""
    gate = Gate(pg)
    first = save_all(srv, ds, [GATE])
    wait_for("the writer to wait at the gate", lambda: gate.waiting() == 1)
    rest = save_all(srv, ds, inputs)
    wait_for("every save to be queued", lambda: pending(srv.client) == len(inputs) + 1)
    return gate, first[0], rest


def stored(pg, task_id):
    return psql(pg, "SELECT input FROM samples WHERE task_id = %s ORDER BY input" % task_id).split()


def test_concurrent_saves_commit_together_and_a_bad_one_fails_alone(start_server, pg, tmp_path):
    srv, ds, _, task_id = start(start_server, pg, tmp_path)
    c = srv.client
    h = c.get("/healthz").json()["store"]
    assert h["pool"]["size"] == THREADS + 8  # the HTTP threads and the workers
    assert h["pending_writes"] == 0

    commits, writes = group_commits(c)
    inputs = ["s%02d" % i for i in range(40)] + [POISON]
    gate, first, rest = queue_behind_gate(pg, srv, ds, inputs)
    gate.open()

    assert first.result().status == 200, first.result()
    answers = dict(zip(inputs, (f.result() for f in rest)))
    bad = answers.pop(POISON)
    assert_error(bad, 500, "store", mentions=("poisoned sample",))
    for x, r in answers.items():
        assert r.status == 200, (x, r)
        assert r.json()["input"] == x
    assert stored(pg, task_id) == sorted([GATE] + list(answers))

    # two commits: the gate's batch, then every save that waited behind it, less the poisoned one
    assert group_commits(c) == (commits + 2, writes + 41)
    assert psql(pg, "SELECT count(DISTINCT pg_xact_commit_timestamp(xmin)) FROM samples "
                    "WHERE task_id = %s" % task_id) == "2"
    assert pending(c) == 0


def test_a_deadlocked_write_runs_again(start_server, pg, tmp_path):
    """A write the database rolled back for a deadlock runs again, alone or in a batch, and is
    stored once."""
    srv, ds, _, task_id = start(start_server, pg, tmp_path)
    c = srv.client
    r = c.post(ds + "save_sample", {"input": DEADLOCK_ALONE, "output": "out"})
    assert r.status == 200, r

    inputs = ["d%02d" % i for i in range(10)] + [DEADLOCK_BATCH]
    gate, first, rest = queue_behind_gate(pg, srv, ds, inputs)
    gate.open()
    for x, f in zip([GATE] + inputs, [first] + rest):
        assert f.result().status == 200, (x, f.result())
    assert stored(pg, task_id) == sorted([DEADLOCK_ALONE, GATE] + inputs)
    assert psql(pg, "SELECT last_value FROM hetu_test_alone") == "2"  # tried twice
    assert psql(pg, "SELECT last_value FROM hetu_test_batch") == "2"


def test_database_restart_in_a_batch_loses_nothing(start_server, pg, tmp_path):
    url = pg.url.replace("postgresql://hetu@", "postgresql://hetu:%s@" % PASSWORD)
    srv, ds, project_id, task_id = start(start_server, pg, tmp_path, url=url)
    c = srv.client

    inputs = ["r%02d" % i for i in range(20)]
    gate, first, rest = queue_behind_gate(pg, srv, ds, inputs)
    inputs, futures = [GATE] + inputs, [first] + rest

    pg.pause()  # the writer's transaction dies with the database, uncommitted
    gate.open()
    during = c.get("/healthz")
    assert_error(during, 503, "unavailable", mentions=("the database is unreachable",))
    r = c.get("/api/projects/%s" % project_id)
    assert_error(r, 503, "unavailable", mentions=("the database is unreachable",))
    assert not any(f.done() for f in futures)  # the writer waits for the database

    pg.resume()
    for x, f in zip(inputs, futures):
        r = f.result()
        assert r.status == 200, (x, r)
    assert stored(pg, task_id) == sorted(inputs)  # every save once, none twice

    h = c.get("/healthz")
    assert h.status == 200, h
    for text in (during.raw.decode(), r.raw.decode(), h.raw.decode(), srv.err_path.read_text(),
                 srv.out_path.read_text()):
        assert PASSWORD not in text
    store = h.json()["store"]
    assert store["pending_writes"] == 0
    assert store["reconnects"] >= 1
    assert store["last_error"].startswith("connecting to the database: the database is "
                                          "unreachable: "), store
    assert c.get("/api/projects/%s" % project_id).status == 200



def test_event_stream_waits_out_a_database_outage(start_server, pg, fake_llm, tmp_path):
    """An outage longer than a request's retries (5 s) does not end a job's event stream: it
    shows the job's progress again once the database is back, and ends with the job."""
    n = 400
    srv = start_server(db=pg.url, env=fake_env(fake_llm),
                       args=["--spool-dir", str(tmp_path / "spool"), "--job-window", "20"] +
                       provider_config(tmp_path))
    imp = Imp(srv)
    r = imp.upload("outage.csv", csv_bytes(["input"], [["停电 \"%d\"" % i] for i in range(n)]),
                   output_model_name=unique_model("outage", "+latency=100"),
                   output_provider="together_ai")
    assert r.status == 200 and r.json()["status"] == "import_started", r
    job_id = r.json()["job_id"]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    stream = pool.submit(read_events, srv, imp.ds("jobs/%s/events" % job_id), 120)
    pool.shutdown(wait=False)
    wait_for("the job's first results", lambda: imp.job(job_id)["completed"] >= 20)

    pg.pause()
    time.sleep(7)
    assert not stream.done(), stream.result()
    pg.resume()
    frames = stream.result()
    names = [f[0] for f in frames]
    assert names[-1] == "end" and set(names[:-1]) == {"progress"}, frames
    end = json.loads(frames[-1][1])
    assert (end["id"], end["status"], end["completed"], end["failed"]) == \
        (job_id, "completed", n, 0), end
