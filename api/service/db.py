"""Storage: the SQLAlchemy 2 tables of scenarios, runs, their result tables, audits and analyses
(what-if, sweep, bound), the engine, and the Alembic upgrade applied on start.

The database is SQLite (a file in the data directory, the default) or PostgreSQL (``postgresql+psycopg://``,
which several server processes can share: `api.service.jobs`).  The same tables and migrations serve both;
where they differ: a text column of values the client supplies (`Given`: names, file names, the ids of a
scenario or of a published result) has a length on SQLite, which does not enforce it, and none on
PostgreSQL, which would refuse a longer value; and PostgreSQL's text cannot hold the character NUL, which
SQLite's can: on PostgreSQL it is stored as U+FFFD (`_no_nul`), so a lookup of a key with NUL finds nothing
instead of failing.

What lives where: the database holds every row a client asks for (a run's status, progress, summary,
the admissions as rows indexed by region, school and outcome for the paged views, the schools and regions
figures, an audit's violations); the files a client downloads (``admissions.csv`` ... ``progress.xlsx``)
are the CLI's files, kept under the data directory (`api.service.storage`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# A run's status; a cancelled run is "failed" with cancelled = true.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite keeps no time zone, so every stored time is UTC without one."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def Given(length: int) -> TypeEngine[str]:  # noqa: N802 (a type, as String is)
    """Text the client supplies: ``String(length)`` on SQLite (which keeps longer values all the same), text
    without a bound on PostgreSQL (migration 0005), so that a long id or name is stored, not refused."""
    return String(length).with_variant(Text(), "postgresql")


class Base(DeclarativeBase):
    pass


class ScenarioRecord(Base):
    """An uploaded scenario (bundled ones are not stored: their id is their name)."""
    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Given(200))
    format: Mapped[str] = mapped_column(String(16))  # folder (a zip) | xlsx | json
    filename: Mapped[str | None] = mapped_column(Given(255))
    path: Mapped[str] = mapped_column(Given(500))  # relative to the data directory
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    info: Mapped[dict] = mapped_column(JSON)  # year, counts, batches, warnings


class RunRecord(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    engine: Mapped[str] = mapped_column(String(16))
    time_limit: Mapped[float] = mapped_column(Float)
    hint: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    progress: Mapped[dict | None] = mapped_column(JSON)  # phase, done, total, detail
    summary: Mapped[dict | None] = mapped_column(JSON)  # summary.json of the CLI
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed
    problems: Mapped[list | None] = mapped_column(JSON)  # the input's problems when it failed on them
    pid: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(100))  # the server process that claimed it (`jobs.owner_id`)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # its owner's last sign of life


class AdmissionRecord(Base):
    """admissions.csv of a finished run, one row per student, in the file's order (``pos``)."""
    __tablename__ = "admissions"
    __table_args__ = (
        Index("ix_admissions_region", "run_id", "region_id", "pos"),
        Index("ix_admissions_school", "run_id", "school_id", "pos"),
        Index("ix_admissions_outcome", "run_id", "outcome", "pos"),
        Index("ix_admissions_student", "run_id", "student_id"),
        Index("ix_admissions_score", "run_id", "score", "student_id"),  # the students sorted by score
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(Given(64))
    region_id: Mapped[str | None] = mapped_column(Given(64))
    outcome: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(Given(64))
    batch: Mapped[int | None] = mapped_column(Integer)
    choice_rank: Mapped[int | None] = mapped_column(Integer)
    admit_date: Mapped[str | None] = mapped_column(Given(10))
    confirm_date: Mapped[str | None] = mapped_column(Given(10))
    score: Mapped[float | None] = mapped_column(Float)  # the student's 中考成绩 (for sorting; none before 0004)


class FigureRecord(Base):
    """One row of a run's schools.csv, regions.csv or subquotas.csv (``kind``), as a JSON object."""
    __tablename__ = "figures"
    __table_args__ = (Index("ix_figures_region", "run_id", "kind", "region_id", "pos"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(Given(64))  # school_id or region_id
    region_id: Mapped[str | None] = mapped_column(Given(64))
    data: Mapped[dict] = mapped_column(JSON)


class AuditRecord(Base):
    __tablename__ = "audits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | clean | violations | failed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    files: Mapped[dict] = mapped_column(JSON)  # the uploaded file names
    summary: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[list | None] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(100))  # the server process that runs it
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AnalysisRecord(Base):
    """A what-if, a sweep or a bound (issue #6): a job like a run, with its parameters and summary as JSON;
    its files are under ``analyses/ID/`` of the data directory."""
    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_status", "status", "created_at"),
                      Index("ix_analyses_scenario", "scenario_id", "kind"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # whatif | sweep | bound
    scenario_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)  # the request's parameters as given
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    progress: Mapped[dict | None] = mapped_column(JSON)  # phase, done, total, detail
    summary: Mapped[dict | None] = mapped_column(JSON)  # summary.json
    tables: Mapped[dict | None] = mapped_column(JSON)  # small tables shown with the summary (regions compared)
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed
    problems: Mapped[list | None] = mapped_column(JSON)  # the bad changes, each naming its key
    pid: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ViolationRecord(Base):
    """violations.csv of an audit (docs/formats.md, "An audit"), one row per violation."""
    __tablename__ = "violations"
    __table_args__ = (Index("ix_violations_rule", "audit_id", "rule", "pos"),
                      Index("ix_violations_school", "audit_id", "school_id", "pos"))

    audit_id: Mapped[str] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(8))
    student_id: Mapped[str | None] = mapped_column(Given(64))
    school_id: Mapped[str | None] = mapped_column(Given(64))
    batch: Mapped[str | None] = mapped_column(Given(16))
    other_student_id: Mapped[str | None] = mapped_column(Given(64))
    detail: Mapped[str | None] = mapped_column(Text)


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """An engine; for SQLite a file in WAL mode (readers never wait for the worker that writes) with a
    busy timeout, and foreign keys on.  ``pooled=False`` for the short-lived worker processes."""
    is_sqlite = url.startswith("sqlite")
    kwargs: dict[str, object] = {}
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
    if not pooled:
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _no_nul)
    if is_sqlite:
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()
    return engine


def _no_nul(dbapi_connection, _record) -> None:
    """On this connection, strings are sent with NUL replaced by U+FFFD (PostgreSQL's text cannot hold it)."""
    from psycopg.types.string import StrBinaryDumper, StrDumper, StrDumperUnknown

    def replacing(base):
        class Dumper(base):
            def dump(self, obj):
                return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)

        return Dumper

    for base in (StrBinaryDumper, StrDumper, StrDumperUnknown):  # the last one is the default (psycopg's order)
        dbapi_connection.adapters.register_dumper(str, replacing(base))


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine) -> None:
    """Apply the Alembic migrations up to head, with a configuration built here (no alembic.ini: it
    works from an installed wheel)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
