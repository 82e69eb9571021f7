"""A PostgreSQL server of the tests' own (issue #16): started once per test session from PostgreSQL's
binaries (Debian's ``postgresql`` package: ``/usr/lib/postgresql/<version>/bin``; or wherever
``ZHAOSHENG_PG_BIN`` or ``initdb`` on the PATH says), in a fresh folder under the system's temporary
directory, listening on a Unix socket in that folder only (no TCP port: nothing to collide with), with
``fsync`` off (its data lives as long as the session; ``benchmarks/bench_api_load.py`` starts one with it
on).  ``initdb`` refuses to run as root: as root the folder is given to the ``postgres`` user (the package
creates it) and the binaries run under ``runuser -u postgres``.

Each test (or module) gets a database of its own (`PostgresServer.create_database`), dropped afterwards.
``ZHAOSHENG_TEST_POSTGRES`` names a server that is already running instead (a libpq URI of a role that may
create databases, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``).

Without PostgreSQL the tests that need it skip with the reason; under CI (``CI=true``) they fail instead.
``ZHAOSHENG_TEST_DATABASES`` (``sqlite,postgresql`` by default) says which databases the service's tests
run on.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# the databases the service's tests run on (tests/service, tests/web); ZHAOSHENG_TEST_DATABASES=sqlite for one
BACKENDS = [b.strip() for b in os.environ.get("ZHAOSHENG_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
INSTALL = "apt-get install postgresql (Debian), or set ZHAOSHENG_PG_BIN to PostgreSQL's bin folder"


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``: ``ZHAOSHENG_PG_BIN`` when set (and only it),
    else the newest Debian version, else the one of ``initdb`` on the PATH."""
    given = os.environ.get("ZHAOSHENG_PG_BIN")
    if given:
        candidates = [Path(given)]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


class PostgresUnavailable(RuntimeError):
    """Why there is no PostgreSQL for the tests."""


class PostgresServer:
    """One server, its databases made and dropped on demand (`create_database`, `drop_database`)."""

    def __init__(self) -> None:
        self.base: Path | None = None
        self.data: Path | None = None
        self.bindir: Path | None = None
        self.admin_uri = ""  # libpq URI of the "postgres" database, for CREATE and DROP DATABASE
        self._as: list[str] = []  # runuser prefix when root

    # lifecycle

    def start(self, durable: bool = False) -> PostgresServer:
        """Start the server (``durable``: with PostgreSQL's own fsync and synchronous commit, as a benchmark
        wants it; else without, as tests do)."""
        given = os.environ.get("ZHAOSHENG_TEST_POSTGRES")
        if given:
            self.admin_uri = given
            self._check()
            return self
        self.bindir = find_bindir()
        if self.bindir is None:
            raise PostgresUnavailable(f"no PostgreSQL binaries (initdb, pg_ctl, postgres): {INSTALL}")
        self.base = Path(tempfile.mkdtemp(prefix="zhaosheng-pg-"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root, and there is no 'postgres' user to run initdb as "
                                          f"(initdb refuses root): {INSTALL}") from None
            os.chown(self.base, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.data = self.base / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale", os.environ.get("ZHAOSHENG_PG_LOCALE", "C.UTF-8"), "--no-sync")
        options = f"-k {self.base} -c listen_addresses='' -c max_connections=400 -c shared_buffers=128MB"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self.admin_uri = f"postgresql://postgres@/postgres?host={quote(str(self.base))}"
        self._check()
        return self

    def stop(self) -> None:
        if self.data is not None and self.bindir is not None and (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
        self.base = self.data = None

    def _run(self, tool: str, *args: str) -> None:
        assert self.bindir is not None
        done = subprocess.run([*self._as, str(self.bindir / tool), *args], capture_output=True, text=True,
                              timeout=120, cwd=self.base)
        if done.returncode != 0:
            log = ""
            if self.base is not None and (self.base / "server.log").exists():
                log = (self.base / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"{tool} failed ({done.returncode}): {done.stderr.strip()} {log}")

    def _check(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.admin_uri, autocommit=True, connect_timeout=10) as conn:
                conn.execute("select 1")
        except psycopg.Error as exc:
            raise PostgresUnavailable(f"PostgreSQL at {self.admin_uri} does not answer: {exc}") from None

    # databases

    def create_database(self, prefix: str = "zs") -> str:
        """A new empty database; its SQLAlchemy URL (``postgresql+psycopg://``)."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database of `create_database`, ending whatever connections are still open to it."""
        import psycopg

        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, database: str) -> str:
        parts = urlsplit(self.admin_uri)
        return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{database}", parts.query, ""))
