# SPDX-License-Identifier: MIT
"""The test PostgreSQL server: it starts, answers queries on its URL, and leaves nothing behind
(no process, no directory) once stopped, also when the wrapped command fails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgserver  # noqa: E402

pytestmark = pytest.mark.skipif(not pgserver.server_bindir(),
                                reason="PostgreSQL server binaries not installed")


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def postmaster_alive(datadir):
    """Whether a process still runs with this data directory on its command line."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if datadir.encode() in f.read():
                    return True
        except OSError:
            pass
    return False


def test_starts_answers_and_cleans_up():
    pg = pgserver.PgServer().start()
    tmp, datadir = pg.tmp, pg.datadir
    try:
        assert pg.url.startswith("postgresql://hetu@127.0.0.1:")
        r = psql(pg.url, "SELECT current_database() || ' ' || current_user || ' ' || "
                 "split_part(version(), ' ', 2)")
        assert r.returncode == 0, r.stdout
        db, user, version = r.stdout.split()
        assert (db, user) == ("hetu_test", "hetu")
        assert int(version.split(".")[0]) >= 15
        assert postmaster_alive(datadir)
    finally:
        pg.stop()
    assert not os.path.exists(tmp)
    assert not postmaster_alive(datadir)
    assert psql(pg.url, "SELECT 1").returncode != 0


def test_wrapper_passes_url_and_status(tmp_path):
    script = Path(pgserver.__file__)
    out = tmp_path / "url"
    r = subprocess.run([sys.executable, str(script), "--", "sh", "-c",
                        'echo "$HETU_TEST_PG_URL" > %s; psql -X -At -d "$HETU_TEST_PG_URL" '
                        '-c "SELECT 40 + 2"; exit 3' % out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 3, r.stdout
    assert "42" in r.stdout
    url = out.read_text().strip()
    assert url.startswith("postgresql://hetu@127.0.0.1:")
    assert psql(url, "SELECT 1").returncode != 0  # stopped once the command ended


pg_server = pgserver.pytest_fixture()


def test_fixture_gives_a_running_server(pg_server):
    r = psql(pg_server.url, "SELECT 1")
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip() == "1"
