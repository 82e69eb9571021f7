"""The data directory and the result tables in the database.

    <data_dir>/zhaosheng.db                     the SQLite database (unless ZHAOSHENG_DATABASE_URL)
    <data_dir>/scenarios/<id>/                  an uploaded scenario: folder/ (from a zip), scenario.xlsx or
                                                scenario.json, exactly as validated
    <data_dir>/runs/<id>/                       the CLI's files of a run (admissions.csv ... progress.xlsx,
                                                summary.json; errors.csv when it failed)
    <data_dir>/audits/<id>/                     input/ (the published files) and the audit's files
    <data_dir>/analyses/<id>/                   a what-if's, sweep's or bound's files as the CLI writes them
                                                (errors.csv and summary.json when it failed on its changes)

    <data_dir>/uploads/<owner>/<id>/            an upload while it is received and validated (`owner` is the
                                                server process, `api.service.jobs.owner_id`)
    <data_dir>/runs/.<id>.partial-*/            a worker's files before they are its result

A run's tables go into the database in the same transaction that marks it done, so a run is either done
with every row or not done at all.  Its files appear as a whole (a rename of the worker's staging folder)
just before that commit, and are removed when the commit does not happen: by the worker when its run
was failed meanwhile, by the job manager when the worker died between the two, and on the next start
when the server died (`api.service.jobs.JobManager.sweep_files`).  So a run's folder exists only with a
row, and holds a "done" summary only when the row is done.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import JSON, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from api.service.db import (
    ACTIVE,
    FAILED,
    QUEUED,
    RUNNING,
    AdmissionRecord,
    AnalysisRecord,
    AuditRecord,
    FigureRecord,
    RunRecord,
    ScenarioRecord,
    ViolationRecord,
)
from solver.analysis.jobs import ANALYSIS_NAMES

INSERT_CHUNK = 20_000
ADMISSION_FIELDS = ("student_id", "region_id", "outcome", "school_id", "batch", "choice_rank", "admit_date",
                    "confirm_date", "score")
VIOLATION_FIELDS = ("rule", "student_id", "school_id", "batch", "other_student_id", "detail")


class Totals:
    """Row counts of the paged views of finished runs and audits, kept once counted: their tables never
    change after they are stored (ids are never reused), and a count is most of a page's cost."""

    def __init__(self, size: int = 20_000):
        self.size, self.lock = size, threading.Lock()
        self.values: dict[tuple[object, ...], int] = {}

    def get(self, key: tuple[object, ...], count: Callable[[], int | None]) -> int:
        with self.lock:
            if key in self.values:
                return self.values[key]
        value = int(count() or 0)
        with self.lock:
            if len(self.values) >= self.size:
                self.values.clear()
            self.values[key] = value
        return value


totals = Totals()


class Kept:
    """Values computed once per key (a finished run's figure columns: they never change), bounded."""

    def __init__(self, size: int = 2_000):
        self.size, self.lock = size, threading.Lock()
        self.values: dict[tuple[object, ...], dict[str, str]] = {}

    def get(self, key: tuple[object, ...], compute: Callable[[], dict[str, str]]) -> dict[str, str]:
        with self.lock:
            if key in self.values:
                return self.values[key]
        value = compute()
        with self.lock:
            if len(self.values) >= self.size:
                self.values.clear()
            self.values[key] = value
        return value


figure_columns = Kept()  # (kind, run_id) -> column -> "number" | "text"


def new_id() -> str:
    return uuid.uuid4().hex


def scenario_dir(data_dir: Path, scenario_id: str) -> Path:
    return data_dir / "scenarios" / scenario_id


def run_dir(data_dir: Path, run_id: str) -> Path:
    return data_dir / "runs" / run_id


def audit_dir(data_dir: Path, audit_id: str) -> Path:
    return data_dir / "audits" / audit_id


def analysis_dir(data_dir: Path, analysis_id: str) -> Path:
    return data_dir / "analyses" / analysis_id


def records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN and <NA> become null, numpy numbers Python numbers (pandas' own encoder)."""
    if frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def _rows(frame: pd.DataFrame, fields: tuple[str, ...], key: str, owner: str, ints: tuple[str, ...] = (),
          floats: tuple[str, ...] = ()) -> list[dict]:
    """Insert parameters, column by column: text (empty cells as null), whole numbers or numbers, Python
    objects only (database drivers do not bind numpy scalars)."""
    n = len(frame)
    cols = []
    for f in fields:
        if f not in frame.columns:
            cols.append([None] * n)
        elif f in ints:
            cols.append(_objects(frame[f].astype("Int64")).tolist())
        elif f in floats:
            cols.append(_objects(pd.to_numeric(frame[f], errors="coerce").astype("Float64")).tolist())
        else:
            text = _objects(frame[f].astype("str"))
            text[text == ""] = None
            cols.append(text.tolist())
    return [{key: owner, "pos": i, **dict(zip(fields, values))} for i, values in enumerate(zip(*cols))]


def _objects(column: pd.Series) -> NDArray[np.object_]:
    """A column as Python objects, None where a value is missing."""
    values = column.to_numpy(dtype=object)
    values[column.isna().to_numpy()] = None
    return values


def _insert(conn: Connection, table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in the connection's transaction: on PostgreSQL by ``COPY`` for
    a table without JSON (twice as fast as batched inserts: 80,000 admissions in 2.4 s, not 5.4 s)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg" and \
            not any(isinstance(column.type, JSON) for column in table.columns):
        _copy(conn, table, rows)
        return
    for start in range(0, len(rows), INSERT_CHUNK):
        conn.execute(insert(table), rows[start:start + INSERT_CHUNK])


def _copy(conn: Connection, table, rows: list[dict]) -> None:
    names = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = conn.connection.driver_connection  # psycopg's, in the transaction SQLAlchemy began
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[n] for n in names])


def with_scores(admissions: pd.DataFrame, students: pd.DataFrame) -> pd.DataFrame:
    """admissions.csv's rows with each student's score (中考成绩) from the scenario, for sorting by it."""
    scores = pd.Series(students["score"].to_numpy(), index=students["student_id"].astype(str).to_numpy())
    scores = scores[~scores.index.duplicated()]
    return admissions.assign(score=scores.reindex(admissions["student_id"].astype(str).to_numpy()).to_numpy())


def store_run_tables(conn: Connection, run_id: str, admissions: pd.DataFrame, schools: pd.DataFrame,
                     regions: pd.DataFrame, subquotas: pd.DataFrame) -> None:
    """The admissions as rows (for the filtered, sorted, paged student view; their ``score`` when the
    frame has one, `with_scores`) and the figures as JSON rows."""
    clear_run_tables(conn, run_id)
    _insert(conn, AdmissionRecord.__table__,
            _rows(admissions, ADMISSION_FIELDS, "run_id", run_id, ints=("batch", "choice_rank"), floats=("score",)))
    figures = []
    for kind, frame, key in (("schools", schools, "school_id"), ("regions", regions, "region_id"),
                             ("subquotas", subquotas, "school_id")):
        for pos, row in enumerate(records(frame)):
            region = row.get("region_id")
            figures.append({"run_id": run_id, "kind": kind, "pos": pos, "key": _str(row.get(key)),
                            "region_id": _str(region), "data": row})
    _insert(conn, FigureRecord.__table__, figures)


def refresh_statistics(engine: Engine, *tables: str) -> None:
    """On PostgreSQL, ``ANALYZE`` the tables a job has just filled, after its commit.  Until autovacuum
    gets to them the planner knows nothing of a new run's rows: it paged 33,382 students by a bitmap scan
    and a sort of them all (24 ms a page) instead of walking the index (0.7 ms).  Statistics are only an
    aid: a failure is ignored.  SQLite's planner needs none."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '10s'"))  # behind another worker's ANALYZE of the same table
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))
            conn.commit()
    except DBAPIError:
        pass


def store_violations(conn: Connection, audit_id: str, violations: pd.DataFrame) -> None:
    conn.execute(delete(ViolationRecord).where(ViolationRecord.audit_id == audit_id))
    _insert(conn, ViolationRecord.__table__, _rows(violations, VIOLATION_FIELDS, "audit_id", audit_id))


def clear_run_tables(conn: Connection, run_id: str) -> None:
    conn.execute(delete(AdmissionRecord).where(AdmissionRecord.run_id == run_id))
    conn.execute(delete(FigureRecord).where(FigureRecord.run_id == run_id))


def delete_run(conn: Connection, data_dir: Path, run_id: str) -> Path:
    """Delete a run's rows (the caller has made sure it is not active); returns its folder, to remove
    once the transaction is committed."""
    clear_run_tables(conn, run_id)
    conn.execute(delete(RunRecord).where(RunRecord.id == run_id))
    return run_dir(data_dir, run_id)


def delete_audit(conn: Connection, data_dir: Path, audit_id: str) -> Path:
    conn.execute(delete(ViolationRecord).where(ViolationRecord.audit_id == audit_id))
    conn.execute(delete(AuditRecord).where(AuditRecord.id == audit_id))
    return audit_dir(data_dir, audit_id)


def delete_analysis(conn: Connection, data_dir: Path, analysis_id: str) -> Path:
    conn.execute(delete(AnalysisRecord).where(AnalysisRecord.id == analysis_id))
    return analysis_dir(data_dir, analysis_id)


def delete_scenario(conn: Connection, data_dir: Path, scenario_id: str) -> Path:
    conn.execute(delete(ScenarioRecord).where(ScenarioRecord.id == scenario_id))
    return scenario_dir(data_dir, scenario_id)


def remove_folders(folders) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


# jobs and their scenario -------------------------------------------------------------------------------------

KINDS = ANALYSIS_NAMES


def lock_scenario(conn: Connection, scenario_id: str) -> bool:
    """Hold an uploaded scenario's row for the rest of the transaction (a no-op update), False when it is
    gone.  Queuing a job on a scenario and deleting it both begin with this, so they happen one after the
    other: on SQLite the update takes the one write lock, on PostgreSQL the row's lock, and what either
    reads afterwards is what the other committed.  No job is ever queued on a deleted scenario."""
    s = ScenarioRecord
    return bool(conn.execute(update(s).where(s.id == scenario_id).values(id=s.id)).rowcount)


def active_jobs(conn: Connection, scenario_id: str) -> list[dict]:
    """The queued or running jobs of a scenario, each with its kind, id, status and address."""
    jobs = []
    for run in conn.execute(select(RunRecord.id, RunRecord.status).where(
            RunRecord.scenario_id == scenario_id, RunRecord.status.in_(ACTIVE)).order_by(RunRecord.created_at)):
        jobs.append({"kind": "run", "id": run.id, "status": run.status, "url": f"/runs/{run.id}"})
    for analysis in conn.execute(select(AnalysisRecord.id, AnalysisRecord.kind, AnalysisRecord.status).where(
            AnalysisRecord.scenario_id == scenario_id, AnalysisRecord.status.in_(ACTIVE))
            .order_by(AnalysisRecord.created_at)):
        jobs.append({"kind": KINDS.get(analysis.kind, analysis.kind), "id": analysis.id, "status": analysis.status,
                     "url": f"/{analysis.kind}/{analysis.id}"})
    for audit in conn.execute(select(AuditRecord.id).where(AuditRecord.scenario_id == scenario_id,
                                                           AuditRecord.status == RUNNING)):
        jobs.append({"kind": "audit", "id": audit.id, "status": RUNNING, "url": f"/audits/{audit.id}"})
    return jobs


def queued_jobs(conn: Connection) -> int:
    """Runs and analyses waiting for a worker (they share one queue)."""
    return sum(int(conn.scalar(select(func.count()).select_from(t).where(t.status == QUEUED)) or 0)
               for t in (RunRecord, AnalysisRecord))


def result_status(folder: Path) -> str | None:
    """The status the summary.json of a job's folder declares ("done", "failed"), None without one."""
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def settle_folder(folder: Path, status: str | None) -> bool:
    """Remove a run's or analysis' folder that its row does not vouch for: no row (deleted, or never
    committed), or a "done" result under a row that is not done (the worker died, or its job was failed,
    between publishing its files and its commit).  True when removed."""
    if not folder.exists():
        return False
    if status is None or status == QUEUED or (status == FAILED and result_status(folder) == "done"):
        shutil.rmtree(folder, ignore_errors=True)
        return True
    return False


def failure_summary(record) -> dict:
    """summary.json of a job the server failed (cancelled, out of time, interrupted, its worker dead): such
    a job has no files of its own, its row says it all."""
    problems = record.problems or []
    errors = sum(p.get("severity") == "error" for p in problems)
    return {"status": "failed", "scenario": record.scenario_id, "reason": record.reason,
            "cancelled": bool(getattr(record, "cancelled", False)), "errors": errors,
            "warnings": len(problems) - errors}


def _str(value) -> str | None:
    return None if value is None else str(value)


def queue_position(session, record: RunRecord | AnalysisRecord) -> int | None:
    """A queued run's or analysis's place in the one queue they share (`api.service.jobs`: the oldest
    starts first, whichever table it is in); None when it is not queued."""
    if record.status != QUEUED:
        return None
    ahead = sum(int(session.scalar(select(func.count()).select_from(table)
                                   .where(table.status == QUEUED, table.created_at < record.created_at)) or 0)
                for table in (RunRecord, AnalysisRecord))
    return ahead + 1
