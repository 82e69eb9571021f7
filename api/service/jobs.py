"""Solver work in worker processes, never on the event loop.

`JobManager` keeps the queue in the database (runs with status ``queued``, oldest first), so a queued run
survives a restart.  A thread of the server starts at most ``max_concurrent_runs`` worker processes
(``spawn``: a fresh interpreter, nothing inherited from the server's threads; `api.service.worker` is
their body), watches them, and ends one by killing its process when it is cancelled or passes its
deadline (the run's ``time_limit``, which bounds CP-SAT's solve and proof, plus ``run_grace`` for loading,
the sequential engine, the checker and writing).  A worker that dies without a result fails its run with
its exit code.

Analyses (what-if, sweep, bound: `api.service.routes.analysis`) are queued in their own table and share
the run slots: at most ``max_concurrent_runs`` worker processes run at once for runs and analyses
together, the oldest queued job first, whichever table it is in.  An analysis is stopped when it passes
``max_time_limit`` plus ``run_grace``; a running one is failed on restart like a run, queued ones start
again.

Audits run the same way, one process each, at most ``max_concurrent_audits`` at once; the request that
asked for one waits for it without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from api.service.config import Settings
from api.service.db import FAILED, QUEUED, RUNNING, AnalysisRecord, AuditRecord, RunRecord, ScenarioRecord, utcnow
from api.service.storage import run_dir
from api.service.worker import analysis_worker, audit_worker, run_worker, scenario_source

log = logging.getLogger("zhaosheng.service")

INTERRUPTED = "interrupted: the server stopped while the run was running"
ANALYSIS_INTERRUPTED = "interrupted: the server stopped while the analysis was running"


@dataclass
class _Active:
    process: multiprocessing.Process
    deadline: float  # time.monotonic()
    limit: float  # seconds from start to the deadline
    kill: str | None = None  # why the manager is to kill it
    analysis: bool = False  # a row of the analyses table, not of runs


class JobManager:
    """The queue of runs and their worker processes (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.ctx = multiprocessing.get_context("spawn")
        self.active: dict[str, _Active] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.audit_slots = asyncio.Semaphore(settings.max_concurrent_audits)

    # lifecycle

    def start(self) -> None:
        self.recover()
        self.thread = threading.Thread(target=self._loop, name="zhaosheng-jobs", daemon=True)
        self.thread.start()

    def recover(self) -> int:
        """Runs and audits that were running when the last server process died are failed, with the
        reason; queued runs stay queued and are started again."""
        now = utcnow()
        with self.engine.begin() as conn:
            n = conn.execute(update(RunRecord).where(RunRecord.status == RUNNING)
                             .values(status=FAILED, reason=INTERRUPTED, finished_at=now)).rowcount
            conn.execute(update(AuditRecord).where(AuditRecord.status == RUNNING)
                         .values(status=FAILED, reason="interrupted: the server stopped during the audit",
                                 finished_at=now))
            conn.execute(update(AnalysisRecord).where(AnalysisRecord.status == RUNNING)
                         .values(status=FAILED, reason=ANALYSIS_INTERRUPTED, finished_at=now))
        if n:
            log.warning("%d run(s) interrupted by the last stop marked failed", n)
        return n

    def stop(self) -> None:
        """Shutdown: running runs are failed (the same reason as after a crash) and their processes ended;
        queued runs stay queued for the next start."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        with self.lock:
            jobs = list(self.active.items())
            self.active.clear()
        for run_id, job in jobs:
            self._fail(run_id, ANALYSIS_INTERRUPTED if job.analysis else INTERRUPTED, job.analysis)
            self._kill(job)

    def notify(self) -> None:
        self.wake.set()

    # requests

    def cancel(self, run_id: str) -> bool:
        """Cancel a queued or running run; False if it had already ended."""
        reason = "cancelled on request"
        with self.engine.begin() as conn:
            changed = conn.execute(update(RunRecord).where(RunRecord.id == run_id,
                                                           RunRecord.status.in_((QUEUED, RUNNING)))
                                   .values(status=FAILED, cancelled=True, reason=reason, finished_at=utcnow()))
            if not changed.rowcount:
                return False
        with self.lock:
            job = self.active.get(run_id)
            if job is not None:
                job.kill = reason
        self.wake.set()
        return True

    def running(self) -> int:
        with self.lock:
            return len(self.active)

    # the manager's thread

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._reap()
                if not self.stopping.is_set():
                    self._dispatch()
            except Exception:  # never let the thread die: log and go on
                log.exception("job manager")
            self.wake.wait(0.25)
            self.wake.clear()

    def _dispatch(self) -> None:
        """Start the oldest queued job, a run or an analysis, while a slot is free."""
        while self.running() < self.settings.max_concurrent_runs:
            a = AnalysisRecord
            with self.engine.begin() as conn:
                row = conn.execute(select(RunRecord.id, RunRecord.scenario_id, RunRecord.engine,
                                          RunRecord.time_limit, RunRecord.hint, RunRecord.created_at)
                                   .where(RunRecord.status == QUEUED)
                                   .order_by(RunRecord.created_at, RunRecord.id).limit(1)).first()
                other = conn.execute(select(a.id, a.kind, a.scenario_id, a.params, a.created_at)
                                     .where(a.status == QUEUED).order_by(a.created_at, a.id).limit(1)).first()
                if row is None and other is None:
                    return
                if other is not None and (row is None or other.created_at < row.created_at):
                    row, table = other, a
                else:
                    other, table = None, RunRecord
                claimed = conn.execute(update(table).where(table.id == row.id, table.status == QUEUED)
                                       .values(status=RUNNING, started_at=utcnow(),
                                               progress={"phase": "starting", "done": None, "total": None,
                                                         "detail": None})).rowcount
            if claimed:
                if other is not None:
                    self._start_analysis(row)
                else:
                    self._start(row)

    def _start(self, row) -> None:
        with self.engine.connect() as conn:
            stored = conn.execute(select(ScenarioRecord.path).where(ScenarioRecord.id == row.scenario_id)).scalar()
        source = scenario_source(row.scenario_id, stored, self.settings.data_dir)
        limit = float(row.time_limit) + self.settings.run_grace
        process = self.ctx.Process(target=run_worker, name=f"zhaosheng-run-{row.id[:8]}",
                                   args=(row.id, self.settings.db_url, str(self.settings.data_dir), source,
                                         row.engine, float(row.time_limit), bool(row.hint), os.getpid()))
        try:
            process.start()
        except Exception as exc:
            self._fail(row.id, f"the worker process could not be started ({type(exc).__name__})")
            raise
        with self.lock:
            self.active[row.id] = _Active(process, time.monotonic() + limit, limit)
        with self.engine.begin() as conn:
            conn.execute(update(RunRecord).where(RunRecord.id == row.id).values(pid=process.pid))

    def _start_analysis(self, row) -> None:
        with self.engine.connect() as conn:
            stored = conn.execute(select(ScenarioRecord.path).where(ScenarioRecord.id == row.scenario_id)).scalar()
        source = scenario_source(row.scenario_id, stored, self.settings.data_dir)
        limit = self.settings.max_time_limit + self.settings.run_grace
        process = self.ctx.Process(target=analysis_worker, name=f"zhaosheng-{row.kind}-{row.id[:8]}",
                                   args=(row.id, row.kind, dict(row.params or {}), self.settings.db_url,
                                         str(self.settings.data_dir), source, os.getpid()))
        try:
            process.start()
        except Exception as exc:
            self._fail(row.id, f"the worker process could not be started ({type(exc).__name__})", True)
            raise
        with self.lock:
            self.active[row.id] = _Active(process, time.monotonic() + limit, limit, analysis=True)
        with self.engine.begin() as conn:
            conn.execute(update(AnalysisRecord).where(AnalysisRecord.id == row.id).values(pid=process.pid))

    def _reap(self) -> None:
        now = time.monotonic()
        with self.lock:
            jobs = list(self.active.items())
        for run_id, job in jobs:
            reason = job.kill
            if reason is None and now > job.deadline and job.process.is_alive():
                reason = (f"time limit exceeded: stopped after {job.limit:g} s (the server's max_time_limit plus "
                          f"{self.settings.run_grace:g} s)" if job.analysis else
                          f"time limit exceeded: stopped after {job.limit:g} s (the run's time_limit plus "
                          f"{self.settings.run_grace:g} s for loading and writing)")
                self._fail(run_id, reason, job.analysis)
            if reason is not None:
                self._kill(job)
            elif job.process.is_alive():
                continue
            job.process.join(timeout=5)
            with self.lock:
                self.active.pop(run_id, None)
            code = job.process.exitcode
            if reason is None and code != 0:
                self._fail(run_id, f"the worker process ended unexpectedly (exit code {code})", job.analysis)
            elif reason is None:  # no-op when it stored one
                self._fail(run_id, "the worker process ended without a result", job.analysis)
            if job.analysis:
                for partial in (self.settings.data_dir / "analyses").glob(f".{run_id}.partial-*"):
                    shutil.rmtree(partial, ignore_errors=True)
            else:
                self._clean_partial(run_id, reason)

    def _fail(self, run_id: str, reason: str, analysis: bool = False) -> None:
        table = AnalysisRecord if analysis else RunRecord
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.id == run_id, table.status == RUNNING)
                         .values(status=FAILED, reason=reason, finished_at=utcnow()))

    def _clean_partial(self, run_id: str, reason: str | None) -> None:
        """A killed worker may leave its staging folder; a killed run's folder says why it has no result."""
        runs = self.settings.data_dir / "runs"
        for partial in runs.glob(f".{run_id}.partial-*"):
            shutil.rmtree(partial, ignore_errors=True)
        if reason is not None and self._status(run_id) == FAILED:
            from solver.run import write_failure

            try:
                write_failure(run_dir(self.settings.data_dir, run_id), [], run_id, reason)
            except OSError:
                log.exception("writing the failure of run %s", run_id)

    def _status(self, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(RunRecord.status).where(RunRecord.id == run_id)).scalar()

    @staticmethod
    def _kill(job: _Active) -> None:
        if job.process.is_alive():
            job.process.terminate()
            job.process.join(timeout=3)
        if job.process.is_alive():
            job.process.kill()
            job.process.join(timeout=3)

    # audits

    async def audit(self, audit_id: str, source, result_path: Path, offers_path: Path | None) -> str | None:
        """Run one audit in its own process and wait for it without blocking the event loop; returns None
        when it finished, or why it was stopped."""
        async with self.audit_slots:
            process = self.ctx.Process(target=audit_worker, name=f"zhaosheng-audit-{audit_id[:8]}",
                                       args=(audit_id, self.settings.db_url, str(self.settings.data_dir), source,
                                             str(result_path), str(offers_path) if offers_path else None,
                                             os.getpid()))
            await asyncio.to_thread(process.start)
            job = _Active(process, time.monotonic() + self.settings.audit_time_limit, self.settings.audit_time_limit)
            try:
                while process.is_alive():
                    if time.monotonic() > job.deadline or self.stopping.is_set():
                        await asyncio.to_thread(self._kill, job)
                        if self.stopping.is_set():
                            return "interrupted: the server is stopping"
                        return f"time limit exceeded: the audit was stopped after {job.limit:g} s"
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:  # the client went away: leave no process and no "running" audit
                threading.Thread(target=self._abandon_audit, args=(audit_id, job), daemon=True).start()
                raise
            await asyncio.to_thread(process.join)
            return None if process.exitcode == 0 else \
                f"the audit process ended unexpectedly (exit code {process.exitcode})"

    def _abandon_audit(self, audit_id: str, job: _Active) -> None:
        self._kill(job)
        with self.engine.begin() as conn:
            conn.execute(update(AuditRecord).where(AuditRecord.id == audit_id, AuditRecord.status == RUNNING)
                         .values(status=FAILED, reason="abandoned: the request was cancelled", finished_at=utcnow()))
