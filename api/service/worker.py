"""The body of a worker process: one run (`run_worker`), one audit (`audit_worker`) or one analysis (a
what-if, a sweep or a bound: `analysis_worker`), started by `api.service.jobs.JobManager` with the
``spawn`` method (a fresh interpreter).

The worker calls the same code as the CLI (`solver.run`, `solver.audit`), writes the CLI's files under the
data directory, and writes its progress, and at the end its summary and tables, to the database itself.
Every write is conditional on the run (audit) still being ``running``: a run the server has failed
meanwhile (cancelled, timed out, interrupted) is never marked done.  A worker ends itself when the server
process dies.

A run's or analysis' files are written into a staging folder (``.ID.partial-*``) and renamed into place
as a whole just before the commit that marks the job done (or failed on its input); when that commit
does not happen the worker removes them again, and when the worker dies in between, the job manager or
the next start does (`api.service.storage.settle_folder`).

`validate_worker` validates an upload (the loader on untrusted input) for the server, within an address
space limit and keeping a bounded number of problems.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.service.db import (
    DONE,
    FAILED,
    RUNNING,
    AdmissionRecord,
    AnalysisRecord,
    AuditRecord,
    FigureRecord,
    RunRecord,
    ViolationRecord,
    make_engine,
    utcnow,
)
from api.service.storage import (
    analysis_dir,
    audit_dir,
    records,
    refresh_statistics,
    run_dir,
    store_run_tables,
    store_violations,
    with_scores,
)
from solver.resources import out_of_memory, ran_out_of_memory

if TYPE_CHECKING:
    from models.problems import Problem
    from models.scenario import Scenario

PROGRESS_EVERY = 0.5  # seconds between progress writes of a worker (phase changes are written at once)
MAX_PROBLEMS = 1000  # problems kept with a failed run or audit in the database (errors.csv has all)
PROBLEM_FIELDS = ("severity", "file", "row", "column", "value", "clause", "message")  # schemas.ProblemOut


JobTable = type[RunRecord] | type[AnalysisRecord]  # the tables of the jobs a worker runs and reports on
Source = str | Path  # what `scenarios.load` takes: a bundled scenario's name or an uploaded scenario's path


def problem_dicts(problems: Iterable[Problem], limit: int = MAX_PROBLEMS) -> list[dict[str, object]]:
    """Problems as the API shows them (the fields of docs/formats.md's errors.csv), at most ``limit``."""
    return [{f: getattr(p, f) for f in PROBLEM_FIELDS} for p in list(problems)[:limit]]


def scenario_info(sc: Scenario) -> dict[str, object]:
    """What the API shows of a scenario it has validated."""
    s = sc.settings
    return {"year": s.year, "max_choices": s.max_choices, "general_stage": s.general_stage,
            "batches": [{"id": b.id, "name": b.name} for b in s.batches],
            "counts": {"students": len(sc.students), "regions": len(sc.regions), "schools": len(sc.schools),
                       "subquotas": len(sc.subquotas), "declines": len(sc.declines),
                       "interviews": len(sc.interviews)},
            "warnings": len(sc.warnings)}


def scenario_source(scenario_id: str, stored_path: str | None, data_dir: Path) -> Source:
    """What `scenarios.load` takes: a bundled name as text, an uploaded scenario as a path."""
    return scenario_id if stored_path is None else data_dir / stored_path


class _Abandoned(Exception):
    """The server has failed this run meanwhile (cancelled, timed out): its result is not stored."""


def _watch_parent(server_pid: int) -> None:
    """End this worker when the server dies (killed, not shut down): its run is failed on the next start.
    The server's pid is passed in, not read here: the server may have died while this process started
    (a validation, started by the forkserver, watches that one, which ends with the server)."""

    def watch() -> None:
        while True:
            if os.getppid() != server_pid:
                os._exit(3)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class _Reporter:
    """Progress of one run (or analysis: ``table``), written to its row (throttled), as the CLI shows it
    on the terminal."""

    def __init__(self, engine: Engine, run_id: str, table: JobTable = RunRecord):
        self.engine, self.run_id, self.table = engine, run_id, table
        self.state: dict[str, str | int | None] = {"phase": "starting", "done": None, "total": None, "detail": None}
        self.last = 0.0

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        try:
            with self.engine.begin() as conn:
                t = self.table
                changed = conn.execute(update(t).where(t.id == self.run_id, t.status == RUNNING)
                                       .values(progress=dict(self.state))).rowcount
        except SQLAlchemyError as exc:  # progress is worth a line in the log, not the run
            print(f"run {self.run_id}: progress not written ({type(exc).__name__})", file=sys.stderr)
            return
        if not changed:
            raise _Abandoned()

    def tick(self, what: str, done: int, total: int) -> None:
        self.state.update(phase=what, done=int(done), total=int(total), detail=None)
        self._write(force=done == total)

    def phase(self, what: str) -> None:
        self.state.update(phase=what, done=None, total=None, detail=None)
        self._write(force=True)

    def log(self, line: str) -> None:
        """CP-SAT's own log: where the solver is.  Called from inside the solver, so it never raises: a
        run failed meanwhile is ended by the manager, which kills this process."""
        line = line.strip()
        if line:
            self.state["detail"] = line[:200]
            with contextlib.suppress(_Abandoned):
                self._write()


def _publish(files: Path, out_dir: Path) -> None:
    """The finished files become the job's folder in one rename (nothing else creates that folder)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(files, out_dir)


def run_worker(run_id: str, db_url: str, data_dir: str, source: Source, engine: str, time_limit: float, hint: bool,
               server_pid: int, label: str | None = None, memory: int | None = None) -> None:
    """The body of a run's worker process: load, run, write the CLI's files, store the tables, done.
    ``label`` is the scenario as a failed run's summary names it (its id; the source path by default);
    ``memory`` caps the process's address space (bytes): past it the run fails "out of memory while ..."."""
    _watch_parent(server_pid)
    _limit_address_space(memory)
    db = make_engine(db_url, pooled=False)
    out_dir = run_dir(Path(data_dir), run_id)
    label = label or str(source)
    published = False  # this worker's files are in out_dir, not yet vouched for by a commit
    staging: Path | None = None
    try:
        import scenarios
        from models import ScenarioError
        from solver.run import NotSolved, write_failure, write_outputs
        from solver.run import run as run_scenario

        reporter = _Reporter(db, run_id)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{run_id}.partial-", dir=out_dir.parent))
        files = staging / "files"
        try:
            reporter.phase("loading the scenario")
            t0 = time.perf_counter()
            sc = scenarios.load(source)
            load_seconds = round(time.perf_counter() - t0, 4)
            output = run_scenario(sc, engine=engine, progress=reporter.tick, time_limit=time_limit,
                                  phase=reporter.phase, log=reporter.log, hint=hint)
            reporter.phase("writing results")
            write_outputs(output, files, {"load": load_seconds})
            summary = json.loads((files / "summary.json").read_text(encoding="utf-8"))
            reporter.phase("storing the tables")
            with db.begin() as conn:
                store_run_tables(conn, run_id, with_scores(output.result.admissions, sc.students), output.schools,
                                 output.regions, output.subquotas)
                _publish(files, out_dir)
                published = True
                done = conn.execute(update(RunRecord).where(RunRecord.id == run_id, RunRecord.status == RUNNING)
                                    .values(status=DONE, finished_at=utcnow(), summary=summary,
                                            progress={"phase": "done", "done": None, "total": None,
                                                      "detail": None})).rowcount
                if not done:
                    raise _Abandoned()  # rolls the tables back
            published = False
            refresh_statistics(db, AdmissionRecord.__tablename__, FigureRecord.__tablename__)
        except ScenarioError as exc:
            write_failure(files, exc.problems, label, "invalid input")
            published = _fail_with_files(db, RunRecord, run_id, files, out_dir,
                                         f"invalid input: {len(exc.errors)} error(s) in the scenario",
                                         problem_dicts(exc.problems))
        except NotSolved as exc:
            write_failure(files, [], label, str(exc))
            published = _fail_with_files(db, RunRecord, run_id, files, out_dir, str(exc), None)
        except (MemoryError, RuntimeError) as exc:
            if not ran_out_of_memory(exc):
                raise
            reason = out_of_memory(str(reporter.state["phase"]), exc)
            write_failure(files, [], label, reason)
            published = _fail_with_files(db, RunRecord, run_id, files, out_dir, reason, None)
    except _Abandoned:
        pass
    except Exception as exc:  # the server's log gets the traceback, the client a reason without it
        traceback.print_exc(file=sys.stderr)
        _fail_job(db, RunRecord, run_id, f"internal error in the worker ({type(exc).__name__})", None, None)
    finally:
        if published:  # failed or deleted meanwhile: its files are no result
            shutil.rmtree(out_dir, ignore_errors=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        db.dispose()


def _summary(out_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fail_job(db: Engine, table: JobTable, job_id: str, reason: str, problems: list[dict[str, object]] | None,
              summary: dict[str, Any] | None) -> bool:
    """Fail a run or analysis that is still running; False when it had been failed or deleted meanwhile."""
    with db.begin() as conn:
        return bool(conn.execute(update(table).where(table.id == job_id, table.status == RUNNING)
                                 .values(status=FAILED, finished_at=utcnow(), reason=reason, problems=problems,
                                         summary=summary)).rowcount)


def _fail_with_files(db: Engine, table: JobTable, job_id: str, files: Path, out_dir: Path, reason: str,
                     problems: list[dict[str, object]] | None) -> bool:
    """Publish a failure's files (errors.csv, summary.json), then fail the job; True when the files are
    there but the job had ended meanwhile (the caller removes them)."""
    _publish(files, out_dir)
    return not _fail_job(db, table, job_id, reason, problems, _summary(out_dir))


def audit_worker(audit_id: str, db_url: str, data_dir: str, source: Source, result_path: str, offers_path: str | None,
                 server_pid: int, max_problems: int = MAX_PROBLEMS) -> None:
    """The body of an audit's worker process (`api.cli.audit`, with the database as its output); the
    problems of the uploaded files are kept up to ``max_problems`` (the rest counted)."""
    _watch_parent(server_pid)
    db = make_engine(db_url, pooled=False)
    out = audit_dir(Path(data_dir), audit_id)
    try:
        import scenarios
        from models import ScenarioError
        from models.problems import ProblemLog
        from models.published import read_published_into
        from solver.audit import audit, write_audit, write_audit_failure

        t0 = time.perf_counter()
        problems, sc = ProblemLog(limit=max_problems), None
        try:
            sc = scenarios.load(source)
        except ScenarioError as exc:  # reported together with the result files' problems
            for problem in exc.problems:
                problems.add(problem)
        admissions = read_published_into(Path(result_path), "admissions", problems)
        offers = read_published_into(Path(offers_path), "offers", problems) if offers_path else None
        if problems.has_errors or sc is None:
            listed = ScenarioError(problems.ordered(), problems.omitted).problems  # "and N more" last
            write_audit_failure(out, listed, Path(result_path).name, "invalid input")
            errors = sum(p.severity == "error" for p in problems.items) + problems.omitted
            _finish_audit(db, audit_id, FAILED, None, f"invalid input: {errors:,} error(s)",
                          problem_dicts(listed, limit=max_problems + 1))
            return
        load_seconds = round(time.perf_counter() - t0, 3)
        report = audit(sc, admissions, offers, explain=True)  # explanations.csv, as the CLI's default
        report.timings["load"] = load_seconds
        write_audit(report, out, {"result": Path(result_path).name,
                                  "offers": Path(offers_path).name if offers_path else None})
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        with db.begin() as conn:
            store_violations(conn, audit_id, report.violations)
            conn.execute(update(AuditRecord).where(AuditRecord.id == audit_id, AuditRecord.status == RUNNING)
                         .values(status=report.status, summary=summary, finished_at=utcnow()))
        refresh_statistics(db, ViolationRecord.__tablename__)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _finish_audit(db, audit_id, FAILED, None, f"internal error in the worker ({type(exc).__name__})", None)
    finally:
        db.dispose()


def _finish_audit(db: Engine, audit_id: str, status: str, summary: dict[str, Any] | None, reason: str | None,
                  problems: list[dict[str, object]] | None) -> None:
    with db.begin() as conn:
        conn.execute(update(AuditRecord).where(AuditRecord.id == audit_id, AuditRecord.status == RUNNING)
                     .values(status=status, summary=summary, reason=reason, problems=problems,
                             finished_at=utcnow()))


# analyses: what-if, sweep, bound (issue #6) ---------------------------------------------------------------

def analysis_worker(analysis_id: str, kind: str, params: dict[str, Any], db_url: str, data_dir: str, source: Source,
                    server_pid: int, label: str | None = None, memory: int | None = None,
                    scheduler: str | None = None) -> None:
    """The body of an analysis' worker process: load the scenario, run the what-if, sweep (one process: the
    service bounds its workers itself; or as tasks of the Dask cluster at ``scheduler``, ZHAOSHENG_DASK_SCHEDULER,
    as a Monte Carlo's draws) or bound and write the CLI's files (`solver.analysis.jobs.run_analysis`)
    into a staging folder that becomes ``analyses/ID`` as a whole, then mark it done with its summary.  Bad
    changes of a what-if fail it with their problems (and errors.csv); running out of ``memory`` (bytes of
    address space) fails it "out of memory while ..."."""
    _watch_parent(server_pid)
    _limit_address_space(memory)
    db = make_engine(db_url, pooled=False)
    out_dir = analysis_dir(Path(data_dir), analysis_id)
    label = label or str(source)
    published = False
    staging: Path | None = None
    try:
        import scenarios
        from models import ScenarioError
        from models.results import write_failed
        from solver.analysis.distributed import SchedulerError
        from solver.analysis.jobs import run_analysis
        from solver.analysis.plan import PlanError

        reporter = _Reporter(db, analysis_id, AnalysisRecord)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{analysis_id}.partial-", dir=out_dir.parent))
        files = staging / "files"
        files.mkdir()
        try:
            reporter.phase("loading the scenario")
            sc = scenarios.load(source)
            # a sweep's steps (a Monte Carlo's draws) run in this process: the service bounds its workers itself;
            # with a Dask scheduler set, on its cluster
            spread = {"scheduler": scheduler} if scheduler else {"workers": 1, "serial": True}
            analysis = run_analysis(kind, sc, {**params, **spread}, files, reporter.tick, reporter.phase)
            summary = analysis.summary
            tables = {name: records(frame) for name, frame in analysis.tables.items()} or None
            with db.begin() as conn:
                _publish(files, out_dir)
                published = True
                done = conn.execute(update(AnalysisRecord)
                                    .where(AnalysisRecord.id == analysis_id, AnalysisRecord.status == RUNNING)
                                    .values(status=DONE, finished_at=utcnow(), summary=summary, tables=tables,
                                            progress={"phase": "done", "done": None, "total": None,
                                                      "detail": None})).rowcount
                if not done:  # failed meanwhile (cancelled, the time limit, a stop): its files are no result
                    raise _Abandoned()
            published = False
        except SchedulerError as exc:  # ZHAOSHENG_DASK_SCHEDULER cannot be reached
            _fail_job(db, AnalysisRecord, analysis_id, str(exc), None, None)
        except PlanError as exc:  # a plan's bounds or total do not fit the scenario
            problem: dict[str, object] = {"severity": "error", "file": "request", "row": None, "column": "body",
                                          "value": None, "clause": "API", "message": str(exc)}
            _fail_job(db, AnalysisRecord, analysis_id, f"invalid plan: {exc}", [problem], None)
        except ScenarioError as exc:  # a bad change (ChangeError) or, for an upload, a scenario gone bad
            from dataclasses import replace

            from solver.analysis.whatif import SOURCE, ChangeError

            what = "invalid change" if isinstance(exc, ChangeError) else "invalid input"
            # the CLI reports a change under "--set"; over HTTP it is the request's "changes"
            problems = [replace(p, file="changes") if p.file == SOURCE else p for p in exc.problems]
            write_failed(files, problems, (), {"kind": kind, "scenario": label, "reason": what})
            published = _fail_with_files(db, AnalysisRecord, analysis_id, files, out_dir,
                                         f"{what}: {len(exc.errors)} error(s)", problem_dicts(problems))
        except (MemoryError, RuntimeError) as exc:
            if not ran_out_of_memory(exc):
                raise
            _fail_job(db, AnalysisRecord, analysis_id, out_of_memory(str(reporter.state["phase"]), exc), None, None)
    except _Abandoned:
        pass
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _fail_job(db, AnalysisRecord, analysis_id, f"internal error in the worker ({type(exc).__name__})", None,
                  None)
    finally:
        if published:  # failed or deleted meanwhile: its files are no result
            shutil.rmtree(out_dir, ignore_errors=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        db.dispose()


# validating an upload -------------------------------------------------------------------------------------

def _limit_address_space(limit: int | None) -> None:
    """Cap this process's address space: past it an allocation fails (MemoryError, or the process ends),
    never the server or its neighbours."""
    if limit is None:
        return
    try:
        from solver.resources import limit_address_space
    except ImportError:  # no resource module on this system: the time limit still holds
        return
    limit_address_space(limit)


def validate_worker(source: str, result_file: str, max_problems: int, memory: int) -> None:
    """Validate an unpacked upload (a folder, an .xlsx or a .json file) as `models.load_scenario` does, but
    keeping at most ``max_problems`` problems (the others counted) in at most ``memory`` bytes of address
    space; write the outcome as JSON to ``result_file`` (renamed into place: a process killed while
    writing leaves none): ``{"valid": true, "name", "info"}`` or ``{"valid": false, "problems",
    "omitted"}``.  Without that file the server knows a limit stopped it."""
    _watch_parent(os.getppid())
    _limit_address_space(memory)
    from models.problems import ProblemLog, ScenarioError
    from models.readers import read_folder, read_json, read_workbook
    from models.validate import build_scenario

    path = Path(source)
    log = ProblemLog(limit=max_problems)
    try:
        if path.is_dir():
            raw = read_folder(path, log)
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            raw = read_workbook(path, log)
        else:
            raw = read_json(path, log)
        sc = build_scenario(raw, log)
        outcome = {"valid": True, "name": str(sc.name), "info": scenario_info(sc)}
    except ScenarioError as exc:
        listed = exc.problems[:-1] if exc.omitted else exc.problems  # the server says "and N more" itself
        outcome = {"valid": False, "problems": problem_dicts(listed, limit=max_problems),
                   "omitted": exc.omitted + max(0, len(listed) - max_problems)}
    except MemoryError:
        return  # no outcome: the server reports the memory limit
    except Exception as exc:  # the loader failed on this input: the server's log gets the traceback
        traceback.print_exc(file=sys.stderr)
        outcome = {"valid": False, "omitted": 0, "problems": [{
            "severity": "error", "file": path.name, "row": None, "column": None, "value": None, "clause": "FORMATS",
            "message": f"the scenario could not be read ({type(exc).__name__} in the loader)"}]}
    partial = Path(result_file + ".partial")
    partial.write_text(json.dumps(outcome, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, result_file)
