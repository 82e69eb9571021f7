"""Solver work in worker processes, never on the event loop.

`JobManager` keeps the queue in the database (runs and analyses with status ``queued``, oldest first), so
a queued job survives a restart.  A thread of the server starts at most ``max_concurrent_runs`` worker
processes (``spawn``: a fresh interpreter, nothing inherited from the server's threads; `api.service.worker`
is their body), watches them, and ends one by killing its process when it is cancelled, deleted or
passes its deadline (a run's ``time_limit``, which bounds CP-SAT's solve and proof, plus ``run_grace`` for
loading, the sequential engine, the checker and writing; an analysis' ``max_time_limit`` plus
``run_grace``).  A worker that dies without a result fails its job with its exit code.

Analyses (what-if, sweep, bound: `api.service.routes.analysis`) are queued in their own table and share
the run slots: at most ``max_concurrent_runs`` worker processes run at once for runs and analyses
together, the oldest queued job first, whichever table it is in.

Several server processes may share one database and data directory (PostgreSQL, issue #16: any number of
``zhaosheng serve``, on one host or several with a shared data directory), so nothing here assumes it is
alone:

- A job is claimed by one conditional ``UPDATE ... WHERE id = (the oldest queued) AND status = 'queued'
  RETURNING ...`` (with ``FOR UPDATE SKIP LOCKED`` in the subquery on PostgreSQL), never by reading a
  row and then writing it: two processes never start the same job, and on PostgreSQL they do not even
  wait for each other.  The claim records the process (``owner``, `owner_id`) and a heartbeat.
- The owner touches ``heartbeat_at`` of its running jobs every `HEARTBEAT_EVERY` seconds.  A running job
  whose owner is gone (a process on this host that is no longer running, or no owner at all) or has been
  silent for `STALE_AFTER` seconds (a process on another host) is failed "interrupted" by whichever
  process notices first: at its start, and every `SWEEP_EVERY` seconds (`recover`).  On the owner's host
  a job is failed only once its worker has ended too (it ends within a second of its server:
  `worker._watch_parent`), so a worker that was publishing its files cannot leave them behind a failed
  row.  A job failed so is not run again (its client asks anew); queued jobs wait for any process.
- A cancel or a delete is a conditional update of the row, by whichever process took the request; the
  owner sees the row is no longer running and kills the worker (`_reap` reads its jobs' statuses).
- The files no row vouches for are removed at start (`sweep_files`), but never a scenario's folder whose
  upload another live process is committing (`_uploading`).

Audits run the same way, one process each, at most ``max_concurrent_audits`` at once; the request that
asked for one waits for it without blocking the event loop.  Uploads are validated in a process too
(`validate`), bounded in time and address space.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import multiprocessing
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy import null, select, update
from sqlalchemy.engine import Engine

from api.service.config import Settings
from api.service.db import (
    ACTIVE,
    FAILED,
    QUEUED,
    RUNNING,
    AnalysisRecord,
    AuditRecord,
    RunRecord,
    ScenarioRecord,
    utcnow,
)
from api.service.storage import analysis_dir, run_dir, settle_folder
from api.service.uploads import UploadRejected
from api.service.worker import analysis_worker, audit_worker, run_worker, scenario_source, validate_worker

log = logging.getLogger("zhaosheng.service")

INTERRUPTED = "interrupted: the server stopped while the run was running"
ANALYSIS_INTERRUPTED = "interrupted: the server stopped while the analysis was running"
AUDIT_INTERRUPTED = "interrupted: the server stopped during the audit"
CANCELLED = "cancelled on request"
STARTING = {"phase": "starting", "done": None, "total": None, "detail": None}

HEARTBEAT_EVERY = 5.0  # seconds between the owner's touches of its running jobs
STALE_AFTER = 60.0  # a running job whose owner has been silent this long is failed "interrupted"
SWEEP_EVERY = 15.0  # seconds between looks for such jobs


_PROCESS_TOKEN = uuid.uuid4().hex[:8]  # one per process: apps created in one process (tests) are one owner


def owner_id() -> str:
    """This server process as a job's owner: host, pid and a token that tells it apart from an earlier
    process of the same pid (a restarted container's server is pid 1 again)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


def pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    try:  # a zombie (killed, not yet reaped by its parent) is not running
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def owner_gone(owner: str | None, me: str) -> bool:
    """Whether the process that claimed a job is known to be dead: none recorded (a server before owners
    were kept), or an earlier process on this host (its pid no longer running, or this pid with another
    token).  A process on another host is judged by its heartbeat alone."""
    if not owner:
        return True
    if owner == me:
        return False
    try:
        host, pid, token = owner.rsplit(":", 2)
        my_host, my_pid, _ = me.rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return True
    if host != my_host:
        return False
    return pid == my_pid or not pid_running(pid_number)


def claim_statement(table, owner: str, dialect: str):
    """The claim of the oldest queued job of ``table`` (runs or analyses) in one statement: ``UPDATE ...
    SET status = 'running', owner = ... WHERE id = (SELECT id ... WHERE status = 'queued' ORDER BY created_at
    LIMIT 1 [FOR UPDATE SKIP LOCKED]) AND status = 'queued' RETURNING ...``.  The ``status = 'queued'`` of
    the outer WHERE is evaluated on the row as it is when the update takes it, so a row claimed meanwhile
    is not claimed again (the statement then changes nothing and the caller looks again); on PostgreSQL
    the subquery skips rows other claimers hold, so they do not queue behind one another."""
    oldest = select(table.id).where(table.status == QUEUED).order_by(table.created_at, table.id).limit(1)
    if dialect == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    columns = ((table.id, table.scenario_id, table.engine, table.time_limit, table.hint) if table is RunRecord
               else (table.id, table.scenario_id, table.kind, table.params))
    now = utcnow()
    return (update(table).where(table.id == oldest.scalar_subquery(), table.status == QUEUED)
            .values(status=RUNNING, started_at=now, owner=owner, heartbeat_at=now, progress=dict(STARTING))
            .returning(*columns))


def owner_folder(owner: str) -> str:
    """An owner as a folder name (no colon: it is not allowed in a Windows file name)."""
    return owner.replace(":", "@")


@dataclass
class _Active:
    process: BaseProcess
    deadline: float  # time.monotonic()
    limit: float  # seconds from start to the deadline
    table: type = RunRecord  # RunRecord or AnalysisRecord
    kill: str | None = None  # why the manager is to kill it

    @property
    def analysis(self) -> bool:
        return self.table is AnalysisRecord


class JobManager:
    """The queue of runs and analyses and their worker processes (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.owner = owner_id()
        self.ctx = multiprocessing.get_context("spawn")
        self.active: dict[str, _Active] = {}
        self.audits: set[str] = set()  # audits this process runs: its heartbeat covers them
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.beat_thread: threading.Thread | None = None
        self.audit_slots = asyncio.Semaphore(settings.max_concurrent_audits)
        self.validation_slots = asyncio.Semaphore(settings.max_concurrent_validations)
        self._validation_ctx = None

    # lifecycle

    def start(self) -> None:
        self.recover()
        self.sweep_files()
        self.thread = threading.Thread(target=self._loop, name="zhaosheng-jobs", daemon=True)
        self.thread.start()
        self.beat_thread = threading.Thread(target=self._beat_loop, name="zhaosheng-heartbeat", daemon=True)
        self.beat_thread.start()

    def recover(self) -> int:
        """Fail the running jobs whose owner is gone or silent (see the module docstring), with the reason
        "interrupted", and remove what their workers left; queued jobs stay queued.  Each failure is a
        conditional update on the owner and heartbeat read: a job whose owner spoke meanwhile is kept."""
        cutoff = utcnow() - dt.timedelta(seconds=STALE_AFTER)
        failed = 0
        for table, reason in ((RunRecord, INTERRUPTED), (AnalysisRecord, ANALYSIS_INTERRUPTED),
                              (AuditRecord, AUDIT_INTERRUPTED)):
            pid = getattr(table, "pid", null())  # an audit's process is not recorded
            with self.engine.connect() as conn:
                rows = conn.execute(select(table.id, table.owner, table.heartbeat_at, pid.label("pid"))
                                    .where(table.status == RUNNING)).all()
            for row in rows:
                if row.owner == self.owner:
                    continue
                stale = row.heartbeat_at is None or row.heartbeat_at < cutoff
                if not (stale or owner_gone(row.owner, self.owner)):
                    continue
                if not stale and self._worker_alive(row.owner, row.pid):
                    continue  # it ends within a second of its server (`worker._watch_parent`): failed then
                same_owner = table.owner.is_(None) if row.owner is None else table.owner == row.owner
                same_beat = (table.heartbeat_at.is_(None) if row.heartbeat_at is None
                             else table.heartbeat_at == row.heartbeat_at)
                with self.engine.begin() as conn:
                    n = conn.execute(update(table).where(table.id == row.id, table.status == RUNNING, same_owner,
                                                         same_beat)
                                     .values(status=FAILED, reason=reason, finished_at=utcnow())).rowcount
                if n:
                    failed += n
                    if table is not AuditRecord:
                        self._settle(row.id, table)
        if failed:
            log.warning("%d job(s) interrupted by the stop of their server marked failed", failed)
        return failed

    def _worker_alive(self, owner: str | None, pid: int | None) -> bool:
        """Whether the worker of a job whose server has died still runs on this host.  Its job is failed
        (and its folders settled) only once it has ended: a worker between publishing its files and its
        commit would otherwise leave a "done" folder under a failed row."""
        if not owner or not pid:
            return False
        return owner.rsplit(":", 2)[0] == self.owner.rsplit(":", 2)[0] and pid_running(pid)

    def _uploading(self, scenario_id: str) -> bool:
        """Whether a server process that is not gone still holds the upload of this scenario
        (``uploads/<owner>/<id>``): it renames the scenario's folder into place a moment before its row
        commits, and removes the upload only after that commit (`routes.scenarios.upload_scenario`)."""
        uploads = self.settings.data_dir / "uploads"
        if not uploads.is_dir():
            return False
        return any((owner / scenario_id).exists() and not owner_gone(owner.name.replace("@", ":"), self.owner)
                   for owner in uploads.iterdir())

    def sweep_files(self) -> int:
        """At start: remove what no row vouches for: folders of deleted jobs and scenarios (the server
        died between the commit and the removal), results whose commit never happened, workers' staging
        folders of jobs that are not running, and uploads in flight of processes that are gone.  Other
        server processes may be at work on the same data directory: a scenario's folder without a row is
        kept while its upload is in flight in a process that is not gone (`_uploading`; its row is read
        again after that look, so a commit in between is seen)."""
        data = self.settings.data_dir
        removed = 0
        # per folder: its rows' table, the column read (a scenario has no status: its id says it is there)
        tables = (("runs", RunRecord, RunRecord.status, RunRecord.id),
                  ("analyses", AnalysisRecord, AnalysisRecord.status, AnalysisRecord.id),
                  ("audits", AuditRecord, AuditRecord.status, AuditRecord.id),
                  ("scenarios", ScenarioRecord, ScenarioRecord.id, ScenarioRecord.id))
        for kind, table, column, key in tables:
            folder = data / kind
            if not folder.is_dir():
                continue
            for entry in list(folder.iterdir()):
                job_id = entry.name[1:].split(".partial-")[0] if entry.name.startswith(".") else entry.name
                status = self._row(column, key, job_id)
                if entry.name.startswith("."):
                    gone = status != RUNNING  # a worker's staging: only a running job's is in use
                elif table is ScenarioRecord and status is None:
                    gone = not self._uploading(job_id) and self._row(column, key, job_id) is None
                elif table is ScenarioRecord or table is AuditRecord:
                    gone = status is None
                else:
                    gone = False
                    removed += settle_folder(entry, status)
                if gone:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
        uploads = data / "uploads"
        if uploads.is_dir():
            for entry in uploads.iterdir():
                if owner_gone(entry.name.replace("@", ":"), self.owner) or not entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                    removed += 1
        if removed:
            log.warning("%d folder(s) left by an earlier stop removed", removed)
        return removed

    def _row(self, column, key, job_id: str):
        with self.engine.connect() as conn:
            return conn.execute(select(column).where(key == job_id)).scalar()

    def uploads_dir(self) -> Path:
        """Where this process receives uploads: removed on a later start once this process is gone."""
        return self.settings.data_dir / "uploads" / owner_folder(self.owner)

    def stop(self) -> None:
        """Shutdown: running jobs are failed (the same reason as after a crash) and their processes ended;
        queued jobs stay queued for the next start."""
        self.stopping.set()
        self.wake.set()
        for thread in (self.thread, self.beat_thread):
            if thread is not None:
                thread.join(timeout=10)
        with self.lock:
            jobs = list(self.active.items())
            self.active.clear()
        for job_id, job in jobs:
            self._fail(job_id, ANALYSIS_INTERRUPTED if job.analysis else INTERRUPTED, job.table)
            self._kill(job)
            self._settle(job_id, job.table)

    def notify(self) -> None:
        self.wake.set()

    # requests

    def cancel(self, job_id: str, table=RunRecord) -> bool:
        """Cancel a queued or running run or analysis; False if it had already ended.  The row is failed
        here, by whichever server process took the request; the process running its worker kills it."""
        with self.engine.begin() as conn:
            changed = conn.execute(update(table).where(table.id == job_id, table.status.in_(ACTIVE))
                                   .values(status=FAILED, cancelled=True, reason=CANCELLED, finished_at=utcnow()))
            if not changed.rowcount:
                return False
        with self.lock:
            job = self.active.get(job_id)
            if job is not None:
                job.kill = CANCELLED
        self.wake.set()
        return True

    def running(self) -> int:
        with self.lock:
            return len(self.active)

    # the manager's threads

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

    def _beat_loop(self) -> None:
        """The heartbeat, in its own thread: a worker holding SQLite's write lock while it stores a large
        result must not stop the manager's loop from reaping and starting jobs, nor the other way round."""
        last_sweep = time.monotonic()
        while not self.stopping.wait(HEARTBEAT_EVERY):
            try:
                self.heartbeat()
                if time.monotonic() - last_sweep >= SWEEP_EVERY:
                    last_sweep = time.monotonic()
                    if self.recover():
                        self.wake.set()
            except Exception:
                log.exception("job heartbeat")

    def heartbeat(self) -> None:
        with self.lock:
            busy = bool(self.active or self.audits)
        if not busy:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            for table in (RunRecord, AnalysisRecord, AuditRecord):
                conn.execute(update(table).where(table.owner == self.owner, table.status == RUNNING)
                             .values(heartbeat_at=now))

    def _dispatch(self) -> None:
        """Start the oldest queued job, a run or an analysis, while a slot is free."""
        while self.running() < self.settings.max_concurrent_runs and not self.stopping.is_set():
            table = self._older_queue()
            if table is None:
                return
            row = self._claim(table)
            if row is None:  # another process took it: look again
                continue
            if table is AnalysisRecord:
                self._start_analysis(row)
            else:
                self._start(row)

    def _older_queue(self):
        """The table whose oldest queued job is older: a read that only chooses where to claim (the
        claim itself takes whatever is oldest there at that moment)."""
        heads = []
        with self.engine.connect() as conn:
            for table in (RunRecord, AnalysisRecord):
                head = conn.execute(select(table.created_at, table.id).where(table.status == QUEUED)
                                    .order_by(table.created_at, table.id).limit(1)).first()
                if head is not None:
                    heads.append((head.created_at, table is AnalysisRecord, table))
        return min(heads, key=lambda h: h[:2])[2] if heads else None

    def _claim(self, table):
        """Claim the oldest queued job of ``table`` (`claim_statement`); None when there is none left."""
        with self.engine.begin() as conn:
            return conn.execute(claim_statement(table, self.owner, conn.dialect.name)).first()

    def _source(self, scenario_id: str):
        with self.engine.connect() as conn:
            stored = conn.execute(select(ScenarioRecord.path).where(ScenarioRecord.id == scenario_id)).scalar()
        return scenario_source(scenario_id, stored, self.settings.data_dir)

    def _start(self, row) -> None:
        limit = float(row.time_limit) + self.settings.run_grace
        process = self.ctx.Process(target=run_worker, name=f"zhaosheng-run-{row.id[:8]}",
                                   args=(row.id, self.settings.db_url, str(self.settings.data_dir),
                                         self._source(row.scenario_id), row.engine, float(row.time_limit),
                                         bool(row.hint), os.getpid(), row.scenario_id, self.settings.job_memory))
        self._launch(row.id, process, limit, RunRecord)

    def _start_analysis(self, row) -> None:
        # a plan has its own time limit (at most max_time_limit, checked when queued); the others the server's
        own = (row.params or {}).get("time_limit") if row.kind == "plan" else None
        limit = min(float(own or self.settings.max_time_limit), self.settings.max_time_limit) + self.settings.run_grace
        process = self.ctx.Process(target=analysis_worker, name=f"zhaosheng-{row.kind}-{row.id[:8]}",
                                   args=(row.id, row.kind, dict(row.params or {}), self.settings.db_url,
                                         str(self.settings.data_dir), self._source(row.scenario_id), os.getpid(),
                                         row.scenario_id, self.settings.job_memory, self.settings.dask_scheduler))
        self._launch(row.id, process, limit, AnalysisRecord)

    def _launch(self, job_id: str, process, limit: float, table) -> None:
        try:
            process.start()
        except Exception as exc:
            self._fail(job_id, f"the worker process could not be started ({type(exc).__name__})", table)
            raise
        with self.lock:
            self.active[job_id] = _Active(process, time.monotonic() + limit, limit, table)
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.id == job_id).values(pid=process.pid))

    def _statuses(self, jobs) -> dict[str, str]:
        """The statuses of this process's jobs as the database has them (a missing id: deleted)."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for table in (RunRecord, AnalysisRecord):
                ids = [job_id for job_id, job in jobs if job.table is table]
                if ids:
                    found.update(conn.execute(select(table.id, table.status).where(table.id.in_(ids))).all())
        return found

    def _reap(self) -> None:
        now = time.monotonic()
        with self.lock:
            jobs = list(self.active.items())
        if not jobs:
            return
        statuses = self._statuses(jobs)
        for job_id, job in jobs:
            reason = job.kill
            status = statuses.get(job_id)
            if reason is None and status in (None, FAILED) and job.process.is_alive():
                # cancelled or deleted, perhaps through another server process; a worker that failed its
                # job itself (invalid input) has published what it had before its commit
                reason = "its job was ended by a request"
            if reason is None and now > job.deadline and job.process.is_alive():
                reason = (f"time limit exceeded: stopped after {job.limit:g} s (the server's max_time_limit plus "
                          f"{self.settings.run_grace:g} s)" if job.analysis else
                          f"time limit exceeded: stopped after {job.limit:g} s (the run's time_limit plus "
                          f"{self.settings.run_grace:g} s for loading and writing)")
                self._fail(job_id, reason, job.table)
            if reason is not None:
                self._kill(job)
            elif job.process.is_alive():
                continue
            job.process.join(timeout=5)
            with self.lock:
                self.active.pop(job_id, None)
            code = job.process.exitcode
            if reason is None and code != 0:
                self._fail(job_id, f"the worker process ended unexpectedly (exit code {code})", job.table)
            elif reason is None:  # no-op when it stored one
                self._fail(job_id, "the worker process ended without a result", job.table)
            self._settle(job_id, job.table)

    def _fail(self, job_id: str, reason: str, table=RunRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.id == job_id, table.status == RUNNING)
                         .values(status=FAILED, reason=reason, finished_at=utcnow()))

    def _settle(self, job_id: str, table) -> None:
        """After the job's worker is gone: its staging folders go, and its folder unless the row vouches
        for it (`storage.settle_folder`).  Nothing else writes there any more (the worker is dead), so this
        cannot race with it; a delete that removes the folder too is harmless."""
        folder = (analysis_dir if table is AnalysisRecord else run_dir)(self.settings.data_dir, job_id)
        for partial in folder.parent.glob(f".{job_id}.partial-*"):
            shutil.rmtree(partial, ignore_errors=True)
        with self.engine.connect() as conn:
            status = conn.execute(select(table.status).where(table.id == job_id)).scalar()
        try:
            settle_folder(folder, status)
        except OSError:
            log.exception("settling the folder of job %s", job_id)

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
        with self.lock:  # beaten for while it waits for a slot too: its row is "running" from the start
            self.audits.add(audit_id)
        try:
            async with self.audit_slots:
                return await self._audit(audit_id, source, result_path, offers_path)
        finally:
            with self.lock:
                self.audits.discard(audit_id)

    async def _audit(self, audit_id: str, source, result_path: Path, offers_path: Path | None) -> str | None:
        """The audit's process, once it has a slot (`audit`)."""
        process = self.ctx.Process(target=audit_worker, name=f"zhaosheng-audit-{audit_id[:8]}",
                                   args=(audit_id, self.settings.db_url, str(self.settings.data_dir), source,
                                         str(result_path), str(offers_path) if offers_path else None,
                                         os.getpid(), self.settings.max_problems))
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

    # validating uploads

    def _validator(self):
        """``forkserver`` where there is one: a fresh interpreter (as ``spawn``) that has imported the
        loader once, so that each validation starts in milliseconds, not in the second an import takes."""
        if self._validation_ctx is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["api.service.worker", "models.readers", "models.validate"])
            else:
                ctx = self.ctx
            self._validation_ctx = ctx
        return self._validation_ctx

    async def validate(self, source: Path, result_file: Path, label: str) -> dict:
        """Validate an unpacked upload in its own process, within ``validation_time_limit`` seconds and
        ``validation_memory`` bytes of address space, keeping ``max_problems`` problems; the outcome the
        worker wrote (`worker.validate_worker`).  Raises `UploadRejected` (413) when a limit stopped it."""
        s = self.settings
        async with self.validation_slots:
            process = self._validator().Process(target=validate_worker, name="zhaosheng-validate",
                                                args=(str(source), str(result_file), s.max_problems,
                                                      s.validation_memory))
            await asyncio.to_thread(process.start)
            job = _Active(process, time.monotonic() + s.validation_time_limit, s.validation_time_limit)
            try:
                while process.is_alive():
                    if time.monotonic() > job.deadline or self.stopping.is_set():
                        await asyncio.to_thread(self._kill, job)
                        raise UploadRejected(413, f"the scenario could not be validated within the time limit of "
                                                  f"{s.validation_time_limit:g} s", label)
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # the client went away
                threading.Thread(target=self._kill, args=(job,), daemon=True).start()
                raise
            await asyncio.to_thread(process.join)
        try:
            return json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UploadRejected(413, f"the scenario could not be validated within the memory limit of "
                                      f"{s.validation_memory:,} bytes (the validation ended with exit code "
                                      f"{process.exitcode})", label) from None
