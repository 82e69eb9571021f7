"""Every service test runs twice: on SQLite and on PostgreSQL (issue #16).

``backend`` (``sqlite`` | ``postgresql``) is a module-scoped fixture every test here uses: each module runs
on SQLite, then on PostgreSQL.  On SQLite a data directory's database is the file ``zhaosheng.db`` in it
(the service's default).  On PostgreSQL it is a database of its own on the session's server (`postgres`),
made when a `Settings` of that directory first names its database, and dropped at the end of the module:
the same data directory, the same database, as on SQLite (an app made again on a module's data directory
finds its rows; each test's ``tmp_path`` is a database of its own).  Its URL is what ``db_url`` gives
worker processes, so they use it too.  A server in a subprocess is given ``database`` instead.

A module-scoped fixture of a test module that makes an app takes ``backend``, so that it is made again for
the second backend.  ``ONLY_ON = ("postgresql",)`` in a module runs it on those backends only;
``ZHAOSHENG_TEST_DATABASES=sqlite`` (or ``postgresql``) runs one of the two only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.service.config import Settings

from pg_server import BACKENDS


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        only = getattr(metafunc.module, "ONLY_ON", BACKENDS)
        metafunc.parametrize("backend", [b for b in BACKENDS if b in only], indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def backend(request):
    """sqlite | postgresql: the database of every data directory while the module runs (see above)."""
    name = request.param
    with pytest.MonkeyPatch.context() as env:
        env.delenv("ZHAOSHENG_DATABASE_URL", raising=False)
        if name == "sqlite":
            yield name
            return
        server = request.getfixturevalue("postgres")
        made: dict[Path, str] = {}

        def db_url(settings: Settings) -> str:
            if settings.database_url:
                return settings.database_url
            key = settings.data_dir.resolve()
            if key not in made:
                made[key] = server.create_database("zsd")
            return made[key]

        env.setattr(Settings, "db_url", property(db_url))
        try:
            yield name
        finally:
            env.undo()
            for url in made.values():
                server.drop_database(url)


@pytest.fixture
def database(request, backend):
    """A database of the test's own for a server in a subprocess: None on SQLite (the server's file), a new
    PostgreSQL database (dropped afterwards)."""
    if backend == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database("zst")
    try:
        yield url
    finally:
        server.drop_database(url)
