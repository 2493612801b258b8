"""A real PostgreSQL server for the tests: Debian's binaries, ``initdb`` + ``pg_ctl`` in a temporary folder.

The session starts one server on 127.0.0.1 and a free port (``pg_server``), stops it at the end,
and gives each test that asks a fresh, empty database (``pg_url``). The server is tuned for tests
(no fsync, no full page writes): fast, not durable, never a production setting.

``initdb`` and ``pg_ctl`` refuse to run as root (CI and the development machines run as root):
then the server runs as Debian's ``postgres`` user, which the ``postgresql`` package creates, in
a folder that user owns. pytest-postgresql was considered (10.0): it runs the binaries as the
current user and so cannot start a server as root; this module is its small part that we need.

Without the binaries the tests that need the server are skipped with the reason, except under
CI (``CI=true``), where a missing server is a failure: ``make test`` installs it (APT_PACKAGES).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "BACKENDS",
    "PgServer",
    "find_bindir",
    "free_port",
    "pg_server",
    "pg_url",
    "shared_server",
    "start_server",
    "state_location",
]

#: The database every connection of the fixtures goes through to create and drop the tests' ones.
ADMIN_DB = "postgres"
SUPERUSER = "toolkit"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` and ``pg_ctl`` (or ``PG_BINDIR``)."""
    configured = os.environ.get("PG_BINDIR")
    candidates = [configured] if configured else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running test server: where it listens, and how to make databases on it."""

    bindir: Path
    datadir: Path
    port: int
    user: str | None  # the OS user running it (None: the current one)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = ADMIN_DB) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement in autocommit mode on the admin database (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new empty database (UTF-8, C collation: text sorts by code point, as in SQLite); its URL."""
        name = f"test_{os.getpid()}_{next(self._counter)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and remove its temporary folder."""
        try:
            _run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate", "-w"],
                self.user,
            )
        finally:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _run(argv: list[str], user: str | None, timeout: float = 60) -> None:
    done = subprocess.run(
        argv,
        user=user,
        group=user,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stdout}{done.stderr}")


def start_server(bindir: Path) -> PgServer:
    """``initdb`` a temporary cluster and start it with ``pg_ctl`` on 127.0.0.1 and a free port."""
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError(
                "running as root needs the postgres user (Debian's postgresql package)"
            ) from None
    root = Path(tempfile.mkdtemp(prefix="toolkit-pg-"))
    datadir = root / "data"
    if user:
        shutil.chown(root, user, user)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",  # on 127.0.0.1 only, for the tests
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        user,
        timeout=120,
    )
    options = " ".join(
        [
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",  # TCP only: no socket file in a shared folder
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=100",
            "-c shared_buffers=64MB",
        ]
    )
    for attempt in range(3):  # a free port can be taken between the probe and the start
        port = free_port()
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(datadir),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    f"-p {port} {options}",
                ],
                user,
                timeout=90,
            )
        except RuntimeError:
            if attempt == 2:
                log = (
                    (root / "server.log").read_text(errors="replace")
                    if (root / "server.log").exists()
                    else ""
                )
                raise RuntimeError(f"PostgreSQL did not start; its log:\n{log[-3000:]}") from None
            continue
        return PgServer(bindir=bindir, datadir=datadir, port=port, user=user)
    raise AssertionError("unreachable")


_shared: PgServer | None = None


def shared_server() -> PgServer:
    """The session's server, started on first use (by the ``pg_server`` fixture or by helpers
    such as ``make_env`` that are not fixtures); skipped without the binaries, except under CI."""
    global _shared
    if _shared is None:
        bindir = find_bindir()
        if bindir is None:
            if os.environ.get("CI"):
                pytest.fail(
                    "PostgreSQL's server binaries are missing: apt-get install postgresql (make system-deps)"
                )
            pytest.skip("PostgreSQL's server binaries are missing (apt-get install postgresql)")
        _shared = start_server(bindir)
    return _shared


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """One PostgreSQL server for the session (stopped at its end, by ``pytest_sessionfinish``)."""
    return shared_server()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the session's server, whoever started it."""
    global _shared
    server, _shared = _shared, None
    if server is not None:
        with contextlib.suppress(Exception):
            server.stop()


BACKENDS = ["sqlite", "postgresql"]
"""The state backends a parametrised test runs on (``state_location``)."""


@pytest.fixture(params=BACKENDS)
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's state is, once per backend: a SQLite directory (``tmp_path``), or a fresh
    PostgreSQL database's URL (``pg_url``)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test; its URL."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)
