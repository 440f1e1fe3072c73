# SPDX-License-Identifier: MIT
"""Fixtures: a real hetu server per test module (`server`, `client`), a factory for servers with
their own flags (`start_server`), and a local fake LLM provider (`fake_llm`).

The suite runs on the backend HETU_TEST_DB names (sqlite, the default, or postgresql): each
server gets an empty database of its own (testdb.py); on PostgreSQL they live on the server
HETU_TEST_PG_URL names, else on one this session starts and removes.

Every server is stopped with SIGTERM at teardown and must exit 0 with no sanitizer report on its
stderr; that is how the AddressSanitizer run of this suite catches leaks. When a test fails, the
stderr of every server still running is attached to the report."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import testdb  # noqa: E402
from hetu_http import REPO, Server, hetu_binary  # noqa: E402

_live = []  # servers running right now, for failure reports


def _spawn(workdir, **kw):
    srv = Server(workdir, **kw).start()
    _live.append(srv)
    return srv


def _retire(srv):
    try:
        srv.assert_clean_exit()
    finally:
        if srv in _live:
            _live.remove(srv)


@pytest.fixture(scope="session", autouse=True)
def _postgresql_for_the_session():
    """On PostgreSQL without HETU_TEST_PG_URL: a throwaway server for this session."""
    if not testdb.ON_POSTGRESQL or os.environ.get("HETU_TEST_PG_URL"):
        yield
        return
    sys.path.insert(0, str(REPO / "tests"))
    import pgserver
    with pgserver.PgServer() as pg:
        os.environ["HETU_TEST_PG_URL"] = pg.url
        try:
            yield
        finally:
            del os.environ["HETU_TEST_PG_URL"]


@pytest.fixture(scope="session")
def hetu_bin():
    b = hetu_binary()
    if not b.exists():
        pytest.fail("hetu binary not found at %s: build it (ninja -C build) or set HETU_BIN" % b)
    return b


@pytest.fixture(scope="module")
def server(hetu_bin, tmp_path_factory):
    srv = _spawn(tmp_path_factory.mktemp("hetu"))
    yield srv
    _retire(srv)
    testdb.drop_database(srv.db)


@pytest.fixture
def client(server):
    if not server.running():
        pytest.fail("hetu died earlier in this module (exit %r); see the first failure\n%s"
                    % (server.proc.poll(), server.describe(tail=3000)))
    return server.client


@pytest.fixture
def start_server(hetu_bin, tmp_path):
    """start_server(args=[...], env={...}, db=..., cwd=..., port_args=True) -> Server.
    Servers still running at teardown are stopped and must exit cleanly."""
    mine = []

    def start(**kw):
        kw.setdefault("workdir", tmp_path / ("srv%d" % len(mine)))
        workdir = kw.pop("workdir")
        srv = _spawn(workdir, **kw)
        mine.append(srv)
        return srv

    yield start
    errors = []
    for srv in mine:
        if srv.proc is not None and srv.returncode is None:
            try:
                _retire(srv)
            except AssertionError as exc:
                errors.append(str(exc))
        elif srv in _live:
            _live.remove(srv)
    for srv in mine:
        if srv.own_db and srv.returncode is not None:
            testdb.drop_database(srv.db)
    if errors:
        pytest.fail("\n\n".join(errors))


@pytest.fixture(scope="session")
def fake_llm(tmp_path_factory):
    """Base URL of the local fake LLM provider (tests/fake/fake_llm.py)."""
    script = REPO / "tests" / "fake" / "fake_llm.py"
    if not script.exists():
        pytest.fail("fake LLM provider missing: %s" % script)
    d = tmp_path_factory.mktemp("fake_llm")
    port_file = d / "port"
    log = open(d / "fake_llm.log", "wb")
    proc = subprocess.Popen(["/usr/bin/python3", str(script), "--port", "0", "--port-file", str(port_file)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    port = None
    while time.monotonic() < deadline:
        if port_file.exists():
            text = port_file.read_text().strip()
            if text.isdigit():
                port = int(text)
                break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    if port is None:
        proc.kill()
        proc.wait()
        log.close()
        pytest.fail("fake LLM provider did not start (exit %r):\n%s"
                    % (proc.returncode, (d / "fake_llm.log").read_text("utf-8", "replace")))
    yield "http://127.0.0.1:%d" % port
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _live:
        for i, srv in enumerate(_live):
            rep.sections.append(("hetu server %d" % i, srv.describe(tail=6000)))


def pytest_report_header(config):
    return "hetu binary: %s; database: %s" % (os.environ.get("HETU_BIN", str(hetu_binary())),
                                              testdb.BACKEND)
