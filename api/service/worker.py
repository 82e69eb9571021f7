"""The body of a worker process: one run (`run_worker`), one audit (`audit_worker`) or one analysis (a
what-if, a sweep or a bound: `analysis_worker`), started by `api.service.jobs.JobManager` with the
``spawn`` method (a fresh interpreter).

The worker calls the same code as the CLI (`solver.run`, `solver.audit`), writes the CLI's files under the
data directory, and writes its progress, and at the end its summary and tables, to the database itself.
Every write is conditional on the run (audit) still being ``running``: a run the server has failed
meanwhile (cancelled, timed out, interrupted) is never marked done.  A worker ends itself when the server
process dies.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.service.db import DONE, FAILED, RUNNING, AnalysisRecord, AuditRecord, RunRecord, make_engine, utcnow
from api.service.storage import analysis_dir, audit_dir, records, run_dir, store_run_tables, store_violations

PROGRESS_EVERY = 0.5  # seconds between progress writes of a worker (phase changes are written at once)
MAX_PROBLEMS = 1000  # problems kept with a failed run or audit in the database (errors.csv has all)


def problem_dicts(problems, limit: int = MAX_PROBLEMS) -> list[dict]:
    return [asdict(p) for p in list(problems)[:limit]]


def scenario_source(scenario_id: str, stored_path: str | None, data_dir: Path):
    """What `scenarios.load` takes: a bundled name as text, an uploaded scenario as a path."""
    return scenario_id if stored_path is None else data_dir / stored_path


class _Abandoned(Exception):
    """The server has failed this run meanwhile (cancelled, timed out): its result is not stored."""


def _watch_parent(server_pid: int) -> None:
    """End this worker when the server dies (killed, not shut down): its run is failed on the next start.
    The server's pid is passed in, not read here: the server may have died while this process started."""

    def watch():
        while True:
            if os.getppid() != server_pid:
                os._exit(3)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class _Reporter:
    """Progress of one run (or analysis: ``table``), written to its row (throttled), as the CLI shows it
    on the terminal."""

    def __init__(self, engine: Engine, run_id: str, table=RunRecord):
        self.engine, self.run_id, self.table = engine, run_id, table
        self.state = {"phase": "starting", "done": None, "total": None, "detail": None}
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
            try:
                self._write()
            except _Abandoned:
                pass


def run_worker(run_id: str, db_url: str, data_dir: str, source, engine: str, time_limit: float, hint: bool,
               server_pid: int) -> None:
    """The body of a run's worker process: load, run, write the CLI's files, store the tables, done."""
    _watch_parent(server_pid)
    db = make_engine(db_url, pooled=False)
    out_dir = run_dir(Path(data_dir), run_id)
    label = str(source)
    try:
        import scenarios
        from models import ScenarioError
        from solver.run import NotSolved, run as run_scenario, write_failure, write_outputs

        reporter = _Reporter(db, run_id)
        try:
            reporter.phase("loading the scenario")
            t0 = time.perf_counter()
            sc = scenarios.load(source)
            load_seconds = round(time.perf_counter() - t0, 4)
            output = run_scenario(sc, engine=engine, progress=reporter.tick, time_limit=time_limit,
                                  phase=reporter.phase, log=reporter.log, hint=hint)
            reporter.phase("writing results")
            write_outputs(output, out_dir, {"load": load_seconds})
            summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
            reporter.phase("storing the tables")
            with db.begin() as conn:
                store_run_tables(conn, run_id, output.result.admissions, output.schools, output.regions,
                                 output.subquotas)
                done = conn.execute(update(RunRecord).where(RunRecord.id == run_id, RunRecord.status == RUNNING)
                                    .values(status=DONE, finished_at=utcnow(), summary=summary,
                                            progress={"phase": "done", "done": None, "total": None,
                                                      "detail": None})).rowcount
                if not done:
                    raise _Abandoned()  # rolls the tables back
        except ScenarioError as exc:
            write_failure(out_dir, exc.problems, label, "invalid input")
            _fail_run(db, run_id, f"invalid input: {len(exc.errors)} error(s) in the scenario",
                      problem_dicts(exc.problems), _summary(out_dir))
        except NotSolved as exc:
            write_failure(out_dir, [], label, str(exc))
            _fail_run(db, run_id, str(exc), None, _summary(out_dir))
    except _Abandoned:
        pass
    except Exception as exc:  # the server's log gets the traceback, the client a reason without it
        traceback.print_exc(file=sys.stderr)
        _fail_run(db, run_id, f"internal error in the worker ({type(exc).__name__})", None, None)
    finally:
        db.dispose()


def _summary(out_dir: Path) -> dict | None:
    try:
        return json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fail_run(db: Engine, run_id: str, reason: str, problems, summary) -> None:
    with db.begin() as conn:
        conn.execute(update(RunRecord).where(RunRecord.id == run_id, RunRecord.status == RUNNING)
                     .values(status=FAILED, finished_at=utcnow(), reason=reason, problems=problems, summary=summary))


def audit_worker(audit_id: str, db_url: str, data_dir: str, source, result_path: str, offers_path: str | None,
                 server_pid: int) -> None:
    """The body of an audit's worker process (`api.cli.audit`, with the database as its output)."""
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
        problems, sc = ProblemLog(), None
        try:
            sc = scenarios.load(source)
        except ScenarioError as exc:  # reported together with the result files' problems
            problems.items.extend(exc.problems)
        admissions = read_published_into(Path(result_path), "admissions", problems)
        offers = read_published_into(Path(offers_path), "offers", problems) if offers_path else None
        if problems.has_errors:
            write_audit_failure(out, problems.items, Path(result_path).name, "invalid input")
            errors = sum(p.severity == "error" for p in problems.items)
            _finish_audit(db, audit_id, FAILED, None, f"invalid input: {errors} error(s)",
                          problem_dicts(problems.items))
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
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _finish_audit(db, audit_id, FAILED, None, f"internal error in the worker ({type(exc).__name__})", None)
    finally:
        db.dispose()


def _finish_audit(db: Engine, audit_id: str, status: str, summary, reason, problems) -> None:
    with db.begin() as conn:
        conn.execute(update(AuditRecord).where(AuditRecord.id == audit_id, AuditRecord.status == RUNNING)
                     .values(status=status, summary=summary, reason=reason, problems=problems,
                             finished_at=utcnow()))


# analyses: what-if, sweep, bound (issue #6) ---------------------------------------------------------------

def analysis_worker(analysis_id: str, kind: str, params: dict, db_url: str, data_dir: str, source,
                    server_pid: int) -> None:
    """The body of an analysis' worker process: load the scenario, call `solver.whatif.whatif`,
    `solver.sweep.sweep` (one process: the service bounds its workers itself) or `solver.flow.bound`,
    write the CLI's files into a staging folder that becomes ``analyses/ID`` as a whole, then mark it done
    with its summary.  Bad changes of a what-if fail it with their problems (and errors.csv)."""
    _watch_parent(server_pid)
    db = make_engine(db_url, pooled=False)
    out_dir = analysis_dir(Path(data_dir), analysis_id)
    staging: Path | None = None
    try:
        import scenarios
        from models import ScenarioError
        from models.results import write_failed

        reporter = _Reporter(db, analysis_id, AnalysisRecord)
        try:
            reporter.phase("loading the scenario")
            sc = scenarios.load(source)
            out_dir.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{analysis_id}.partial-", dir=out_dir.parent))
            tables = None
            if kind == "whatif":
                from solver.whatif import whatif, write_whatif

                report = whatif(sc, params["changes"], seed=int(params.get("seed") or 0), progress=reporter.tick)
                reporter.phase("writing results")
                write_whatif(report, staging)
                tables = {"regions": records(report.regions)}
            elif kind == "sweep":
                from solver.sweep import parse_shares, sweep, write_sweep

                report = sweep(sc, parse_shares(params["general_share"]), workers=1, progress=reporter.tick)
                reporter.phase("writing results")
                write_sweep(report, staging)
            elif kind == "bound":
                from solver.flow import bound, write_bound

                reporter.phase("running the rules and the maximum flow")
                report = bound(sc)
                reporter.phase("writing results")
                write_bound(report, staging)
                tables = {"schools": records(report.schools)}
            else:
                raise ValueError(f"unknown analysis kind {kind!r}")
            summary = json.loads((staging / "summary.json").read_text(encoding="utf-8"))
            shutil.rmtree(out_dir, ignore_errors=True)
            os.replace(staging, out_dir)
            staging = None
            with db.begin() as conn:
                done = conn.execute(update(AnalysisRecord)
                                    .where(AnalysisRecord.id == analysis_id, AnalysisRecord.status == RUNNING)
                                    .values(status=DONE, finished_at=utcnow(), summary=summary, tables=tables,
                                            progress={"phase": "done", "done": None, "total": None,
                                                      "detail": None})).rowcount
            if not done:  # failed meanwhile (the time limit, a stop): its files are not a result
                shutil.rmtree(out_dir, ignore_errors=True)
                raise _Abandoned()
        except ScenarioError as exc:  # a bad change (ChangeError) or, for an upload, a scenario gone bad
            from dataclasses import replace

            from solver.whatif import SOURCE, ChangeError

            what = "invalid change" if isinstance(exc, ChangeError) else "invalid input"
            # the CLI reports a change under "--set"; over HTTP it is the request's "changes"
            problems = [replace(p, file="changes") if p.file == SOURCE else p for p in exc.problems]
            write_failed(out_dir, problems, (), {"kind": kind, "scenario": str(source), "reason": what})
            _fail_analysis(db, analysis_id, f"{what}: {len(exc.errors)} error(s)", problem_dicts(problems),
                           _summary(out_dir))
    except _Abandoned:
        pass
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _fail_analysis(db, analysis_id, f"internal error in the worker ({type(exc).__name__})", None, None)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        db.dispose()


def _fail_analysis(db: Engine, analysis_id: str, reason: str, problems, summary) -> None:
    with db.begin() as conn:
        conn.execute(update(AnalysisRecord).where(AnalysisRecord.id == analysis_id, AnalysisRecord.status == RUNNING)
                     .values(status=FAILED, finished_at=utcnow(), reason=reason, problems=problems, summary=summary))
