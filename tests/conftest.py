"""Test set-up: the project root on ``sys.path`` (the package is used in place, not installed), and the
fixtures shared by the rule modules (docs/rules.md R1-R12) and the bad-input tests (docs/formats.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
for p in (str(ROOT), str(TESTS)):
    if p not in sys.path:
        sys.path.insert(0, p)


@pytest.fixture(params=["csv", "xlsx", "json"])
def form(request) -> str:
    """The three forms a scenario arrives in (docs/formats.md, "A scenario"): CSV folder, workbook, JSON."""
    return request.param


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the session's own (`pg_server`), started on first use; without PostgreSQL a test
    that needs it skips with the reason, and fails under CI (``CI=true``)."""
    from pg_server import CI, PostgresServer, PostgresUnavailable

    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if CI:
            pytest.fail(f"CI: PostgreSQL is required: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {exc}")
    yield server
    server.stop()
