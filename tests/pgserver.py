#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A throwaway PostgreSQL server for tests, standard library only.

    with PgServer() as pg:          # initdb in a temporary directory, a free port, started
        pg.url                      # postgresql://hetu@127.0.0.1:PORT/hetu_test
    # stopped, directory removed (also when the body raises or on Ctrl-C)

It uses Debian's server binaries (/usr/lib/postgresql/<newest>/bin: initdb, pg_ctl, postgres;
package `postgresql`, installed by `scripts/install-deps test`). The database superuser is `hetu`
with trust authentication, reachable on 127.0.0.1 and on a unix socket inside the temporary
directory only.

PostgreSQL refuses to run as root. When this runs as root (as in the CI containers), the server
programs run as the unprivileged `postgres` account that the Debian package creates (or
HETU_TEST_PG_OSUSER), and the temporary directory is handed to that account; as any other user
they run as that user. The clients (psql, the tests) connect over TCP as `hetu` either way.

As a command, it wraps another one, giving it the server's URL in HETU_TEST_PG_URL:
    tests/pgserver.py -- build/tests/unit/store/test-store-pg
The wrapped command's exit status is returned; the server is stopped afterwards in every case.
Without the server binaries the command runs without HETU_TEST_PG_URL (its PostgreSQL cases
then skip, saying so).
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SUPERUSER = "hetu"
DATABASE = "hetu_test"
START_TIMEOUT = 60  # seconds for pg_ctl -w


def server_bindir():
    """The bin directory of the newest Debian PostgreSQL server, or None."""
    env = os.environ.get("HETU_TEST_PG_BINDIR")
    if env:
        return env if os.path.exists(os.path.join(env, "postgres")) else None
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "postgres"))]
    dirs.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    return dirs[-1] if dirs else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self):
        self.bindir = server_bindir()
        if not self.bindir:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                               "(install the `postgresql` package: scripts/install-deps test)")
        self.tmp = None
        self.port = None
        self.running = False
        self.account = None  # (uid, gid) the server runs as, or None for the current user
        if os.geteuid() == 0:
            name = os.environ.get("HETU_TEST_PG_OSUSER", "postgres")
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                raise RuntimeError("PostgreSQL does not run as root, and there is no account "
                                   "%r to run it as (set HETU_TEST_PG_OSUSER)" % name) from None
            self.account = (pw.pw_uid, pw.pw_gid)

    @property
    def datadir(self):
        return os.path.join(self.tmp, "data")

    @property
    def url(self):
        return "postgresql://%s@127.0.0.1:%d/%s" % (SUPERUSER, self.port, DATABASE)

    def _server_cmd(self, args, **kw):
        """Runs one of the server programs, as the unprivileged account when we are root."""
        if self.account:
            uid, gid = self.account
            kw.update(user=uid, group=gid, extra_groups=[])
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.STDOUT)
        return subprocess.run(args, cwd=self.tmp, text=True, **kw)

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="hetu-pg-")
        try:
            if self.account:
                os.chown(self.tmp, *self.account)
            r = self._server_cmd([os.path.join(self.bindir, "initdb"), "-D", self.datadir,
                                  "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                                  "--locale=C", "--no-sync"])
            if r.returncode:
                raise RuntimeError("initdb failed:\n" + r.stdout)
            self._start_server()
            create_database(self.url, DATABASE)
        except BaseException:
            self.stop()
            raise
        return self

    def pause(self):
        """Stops the server, keeping its data and port: the database goes away."""
        r = self._server_cmd([os.path.join(self.bindir, "pg_ctl"), "stop", "-w", "-m", "fast",
                              "-D", self.datadir], timeout=60)
        if r.returncode:
            raise RuntimeError("pg_ctl stop failed:\n" + r.stdout)
        self.running = False

    def resume(self):
        """Starts the paused server again on the same port."""
        self._start_server(self.port)

    def _start_server(self, port=None):
        # a free port may be taken between probing and binding: try a few
        for _ in range(1 if port else 5):
            self.port = port or free_port()
            opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "
                    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                    % (self.port, self.tmp))
            r = self._server_cmd([os.path.join(self.bindir, "pg_ctl"), "start", "-w",
                                  "-t", str(START_TIMEOUT), "-D", self.datadir,
                                  "-l", os.path.join(self.tmp, "server.log"), "-o", opts])
            if r.returncode == 0:
                self.running = True
                return
            if "already in use" not in self.log():
                break
        raise RuntimeError("the PostgreSQL server did not start:\n" + r.stdout + self.log())

    def log(self):
        try:
            with open(os.path.join(self.tmp, "server.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """Stops the server (fast, then immediate, then SIGKILL) and removes the directory."""
        if self.tmp is None:
            return
        if self.running or os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            ctl = os.path.join(self.bindir, "pg_ctl")
            for mode in ("fast", "immediate"):
                try:
                    r = self._server_cmd([ctl, "stop", "-w", "-t", "20", "-m", mode,
                                          "-D", self.datadir], timeout=30)
                    if r.returncode == 0:
                        break
                except subprocess.TimeoutExpired:
                    pass
            else:
                self._kill_postmaster()
            self.running = False
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None

    def _kill_postmaster(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        except (OSError, ValueError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def psql(url, sql, *args):
    """Runs one SQL command with psql against url; its output (raises RuntimeError on failure)."""
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args, "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise RuntimeError("psql failed: %s\n%s" % (sql, r.stderr))
    return r.stdout


def database_url(url, name):
    """url with its database replaced by name."""
    head, _, tail = url.partition("?")
    return head.rsplit("/", 1)[0] + "/" + name + ("?" + tail if tail else "")


def create_database(url, name):
    """Creates the empty database name on url's server; returns its URL."""
    psql(database_url(url, "postgres"), 'CREATE DATABASE "%s"' % name)
    return database_url(url, name)


def drop_database(url):
    """Drops url's database, closing whatever connections are still open on it."""
    name = url.partition("?")[0].rsplit("/", 1)[1]
    psql(database_url(url, "postgres"), 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def pytest_fixture():
    """A session-scoped pytest fixture yielding a started PgServer, skipping when the server
    binaries are missing. Use in a conftest: `pg_server = pgserver.pytest_fixture()`."""
    import pytest

    @pytest.fixture(scope="session")
    def pg_server():
        if not server_bindir():
            pytest.skip("PostgreSQL server binaries not installed (scripts/install-deps test)")
        with PgServer() as pg:
            yield pg

    return pg_server


def main(argv):
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: tests/pgserver.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    if not server_bindir():
        print("pgserver: no PostgreSQL server binaries (scripts/install-deps test); running "
              "without HETU_TEST_PG_URL", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if k != "HETU_TEST_PG_URL"}
        return subprocess.call(cmd, env=env)
    try:
        with PgServer() as pg:
            env = dict(os.environ, HETU_TEST_PG_URL=pg.url)
            return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
