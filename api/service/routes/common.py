"""What the routes of runs, analyses and audits share: queuing a job on a scenario (which must still be
there, in a queue that is not full) and the conflicts that name the jobs in the way."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import false, text, update
from sqlalchemy.engine import Connection

from api.service import storage
from api.service.config import Settings
from api.service.db import RunRecord

# A route's extra responses as FastAPI documents them in OpenAPI: status -> {"model": ..., "description": ...}
Responses = dict[int | str, dict[str, Any]]

RETRY_AFTER = 30  # seconds a client refused for a full queue is told to wait (a small run's time)


class JobsInTheWay(HTTPException):
    """409 naming the queued or running jobs that stop a deletion."""

    def __init__(self, what: str, jobs: list[dict]):
        named = ", ".join(f"{j['kind']} {j['id']} ({j['status']})" for j in jobs[:10])
        more = f" and {len(jobs) - 10} more" if len(jobs) > 10 else ""
        super().__init__(409, f"{what} has {len(jobs)} queued or running job(s): {named}{more}; "
                              "cancel them (or wait for them) first")
        self.jobs = jobs


def lock_queue(conn: Connection) -> None:
    """Queue one job at a time, so that the count of queued jobs is exact when the next is added: on
    PostgreSQL a transaction-scoped advisory lock, on SQLite a write statement (which takes the
    database's one write lock until the commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(1207)"))
    else:
        conn.execute(update(RunRecord).where(false()).values(id=RunRecord.id))


def queue_job(session, settings: Settings, record, uploaded: bool) -> None:
    """Add a queued run or analysis and commit: 404 when its uploaded scenario has been deleted meanwhile
    (`storage.lock_scenario`), 429 with Retry-After when ``max_queued_jobs`` are already waiting."""
    conn = session.connection()
    lock_queue(conn)
    if uploaded and not storage.lock_scenario(conn, record.scenario_id):
        session.rollback()
        raise HTTPException(404, f"no scenario {record.scenario_id!r}")
    queued = storage.queued_jobs(conn)
    if queued >= settings.max_queued_jobs:
        session.rollback()
        raise HTTPException(429, f"{queued} jobs are queued, the server's limit (max_queued_jobs): try again later",
                            headers={"Retry-After": str(RETRY_AFTER)})
    session.add(record)
    session.commit()
