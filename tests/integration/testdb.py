# SPDX-License-Identifier: MIT
"""The database each test server gets, on the backend the suite runs on.

HETU_TEST_DB=sqlite (the default): a file hetu.db in the server's working directory.
HETU_TEST_DB=postgresql: a fresh, empty database on one shared throwaway PostgreSQL server
(HETU_TEST_PG_URL, started by scripts/run-tests or by the conftest for the session). The
databases are made ahead of need by one psql session on a background thread, so a server start
waits for none, and dropped once the tests that used them are done.

A server restarted on the same data is given the first one's `db` (a path or a URL): the same
database, and on PostgreSQL the same spool directory (spool/ beside a SQLite file otherwise).

sql(db, query, params) reads or changes a test server's database directly on either backend."""

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgserver  # noqa: E402

BACKEND = os.environ.get("HETU_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError("HETU_TEST_DB must be sqlite or postgresql, not %r" % BACKEND)
ON_POSTGRESQL = BACKEND == "postgresql"
READY = 1  # databases kept made ahead (one more waits to be queued)

_spools = {}  # database URL -> spool directory of the first server on it


def is_url(db):
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


class _Session:
    """One psql session on the server's maintenance database, fed line by line."""

    def __init__(self, url):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-d", pgserver.database_url(url, "postgres")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.seq = 0

    def run(self, command):
        self.seq += 1
        mark = "@@done %d" % self.seq
        self.proc.stdin.write(command + ";\n\\echo '%s'\n" % mark)
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("psql exited (%r) running %s:\n%s"
                                   % (self.proc.poll(), command, "".join(out)))
            if line.rstrip("\n") == mark:
                break
            out.append(line)
        if any(x.startswith(("ERROR:", "FATAL:")) for x in out):
            raise RuntimeError("psql: %s:\n%s" % (command, "".join(out)))

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class _Maker:
    """Makes databases ahead of need and drops retired ones, on a thread of its own."""

    def __init__(self, url):
        self.url = url
        self.ready = queue.Queue(maxsize=READY)
        self.todo = queue.Queue()  # database URLs to drop
        self.seq = 0
        self.thread = threading.Thread(target=self._loop, name="testdb", daemon=True)
        self.thread.start()

    def _loop(self):
        session = None
        try:
            session = _Session(self.url)
            while True:
                while True:
                    try:
                        db = self.todo.get_nowait()
                    except queue.Empty:
                        break
                    name = db.partition("?")[0].rsplit("/", 1)[1]
                    session.run('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
                self.seq += 1
                name = "hetu_%d_%d" % (os.getpid(), self.seq)
                session.run('CREATE DATABASE "%s"' % name)
                self.ready.put(pgserver.database_url(self.url, name))
        except BaseException as exc:  # the waiting test reports it
            self.ready.put(exc)
        finally:
            if session:
                session.close()

    def take(self):
        got = self.ready.get(timeout=120)
        if isinstance(got, BaseException):
            self.ready.put(got)
            raise RuntimeError("making a test database failed: %s" % got)
        return got


_maker = None
_lock = threading.Lock()


def new_database(workdir):
    """The `db` argument of a new server with an empty database (workdir: the server's)."""
    global _maker
    if not ON_POSTGRESQL:
        return str(Path(workdir) / "hetu.db")
    url = os.environ.get("HETU_TEST_PG_URL")
    if not url:
        raise RuntimeError("HETU_TEST_DB=postgresql without HETU_TEST_PG_URL (the conftest "
                           "starts a server for the session; run under pytest)")
    with _lock:
        if _maker is None or _maker.url != url:
            _maker = _Maker(url)
        maker = _maker
    db = maker.take()
    _spools[db] = Path(workdir) / "spool"
    return db


def drop_database(db):
    """Drops a database that new_database made once no server uses it (later, in the background)."""
    if is_url(db) and db in _spools and _maker is not None:
        del _spools[db]
        _maker.todo.put(db)


def server_args(db, args, env):
    """Arguments a server on db needs besides the test's: on PostgreSQL, where the default spool
    directory is the working directory, the spool directory of the first server on that database."""
    if not is_url(db) or "--spool-dir" in args or "HETU_SPOOL_DIR" in env:
        return []
    return ["--spool-dir", str(_spools.get(db) or Path(os.getcwd()) / "spool")]


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    return "'" + str(v).replace("'", "''") + "'"


def text(value):
    """A BYTEA or BLOB value read by sql() as text (PostgreSQL's hex form "\\x..." decoded)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str) and value.startswith("\\x"):
        return bytes.fromhex(value[2:]).decode("utf-8")
    return value


def sql(db, query, params=()):
    """Runs query (with ? placeholders) on a test server's database: its rows as tuples. On
    PostgreSQL every value comes back as text (None for NULL); convert where it matters."""
    if not is_url(db):
        import sqlite3
        con = sqlite3.connect(db.removeprefix("sqlite:"), timeout=30)
        try:
            rows = con.execute(query, tuple(params)).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    parts = query.split("?")
    assert len(parts) == len(params) + 1, "%d placeholders for %d values" % (len(parts) - 1, len(params))
    text = parts[0] + "".join(_literal(v) + p for v, p in zip(params, parts[1:]))
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F", "\x02",
                        "-R", "\x03", "-P", "null=\x04", "-d", db, "-c", text],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise RuntimeError("psql failed: %s\n%s" % (text, r.stderr))
    out = r.stdout.removesuffix("\n")
    return [tuple(None if f == "\x04" else f for f in row.split("\x02"))
            for row in out.split("\x03") if row] if out else []
