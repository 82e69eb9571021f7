"""Several server processes, one queue (issue #16.2): two ``zhaosheng serve`` processes on one PostgreSQL
database and one data directory.  Twenty jobs (runs and what-ifs of a generated city of 2,000 students) are
queued through both; one server is killed (SIGKILL) while it runs some of them.  Every job ends exactly
once: done, or failed "interrupted" if it was the dead server's, its claim recorded once (a trigger logs
every move to "running"); every done run has its files and its rows, no failed job has a result, and no
worker's staging folder, upload or worker process is left.

A ``zhaosheng worker`` (the queue without HTTP) runs what a server queued, and ends its jobs on SIGTERM.
And the one race of the data directory between processes: a scenario's folder renamed into place a moment
before its row commits is not swept by another process that starts meanwhile."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.service import Settings, create_app
from api.service.db import DONE, FAILED, AdmissionRecord, AnalysisRecord, RunRecord, make_engine, upgrade
from api.service.jobs import ANALYSIS_INTERRUPTED, INTERRUPTED, JobManager, owner_folder
from models import write_scenario
from scenarios import generate

from api_helpers import ROOT, Server, needs_proc, process_gone, small, wait_for, wait_run, zip_folder

STUDENTS = 2000
ONLY_ON = ("postgresql",)  # the database several server processes share (conftest.backend)


CLAIMS = """
CREATE TABLE claims (job_id text, owner text, at timestamp DEFAULT clock_timestamp());
CREATE FUNCTION log_claim() RETURNS trigger AS $$
BEGIN
    INSERT INTO claims (job_id, owner) VALUES (NEW.id, NEW.owner);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER runs_claimed AFTER UPDATE OF status ON runs FOR EACH ROW
    WHEN (NEW.status = 'running' AND OLD.status <> 'running') EXECUTE FUNCTION log_claim();
CREATE TRIGGER analyses_claimed AFTER UPDATE OF status ON analyses FOR EACH ROW
    WHEN (NEW.status = 'running' AND OLD.status <> 'running') EXECUTE FUNCTION log_claim();
"""


def owned_at_work(engine, owner_pid: int) -> list[tuple[str, int]]:
    """The runs and analyses a server process (by pid) runs whose worker is past loading: (id, worker pid)."""
    found = []
    with engine.connect() as conn:
        for table in (RunRecord, AnalysisRecord):
            for row in conn.execute(select(table.id, table.pid, table.owner, table.progress)
                                    .where(table.status == "running")):
                phase = (row.progress or {}).get("phase")
                if row.pid and row.owner and row.owner.split(":")[1] == str(owner_pid) \
                        and phase not in (None, "starting", "loading the scenario"):
                    found.append((row.id, row.pid))
    return found


@needs_proc
def test_two_servers_share_the_queue_and_a_killed_one_releases_its_jobs(tmp_path, database):
    engine = make_engine(database, pooled=False)
    upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(CLAIMS)
    data = tmp_path / "data"
    env = {"ZHAOSHENG_MAX_CONCURRENT_RUNS": "2"}
    a = Server(tmp_path / "a", database, data, env)
    b = Server(tmp_path / "b", database, data, env)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        clients = [a.start(), b.start()]
        city = tmp_path / "city"
        write_scenario(generate(STUDENTS, regions=4, schools=8, seed=21), city)
        r = clients[0].post("/scenarios", files={"file": ("city.zip", zip_folder(city), "application/zip")})
        assert r.status_code == 201, r.text
        scenario = r.json()["id"]

        jobs: list[tuple[str, str]] = []  # (path, id)
        for i in range(20):
            client = clients[i % 2]  # through both servers
            if i % 4 == 3:
                r = client.post(f"/scenarios/{scenario}/whatif", json={"changes": {"quota.S001": f"+{i}"}})
                path = "/whatif"
            else:
                r = client.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"})
                path = "/runs"
            assert r.status_code == 202, r.text
            jobs.append((path, r.json()["id"]))

        # kill A while it runs jobs (past loading: their workers are at work)
        at_work = wait_for(lambda: owned_at_work(engine, a.proc.pid), timeout=60, step=0.05)
        a.stop(signal.SIGKILL)
        for _, worker in at_work:  # A's workers notice their server is gone and end
            wait_for(lambda worker=worker: process_gone(worker), timeout=15)

        def ended():
            bodies = [clients[1].get(f"{path}/{job_id}").json() for path, job_id in jobs]
            return bodies if all(body["status"] in (DONE, FAILED) for body in bodies) else None

        bodies = wait_for(ended, timeout=120, step=0.5)
        clients[1].close()
        clients[0].close()
    finally:
        a.stop(signal.SIGKILL)
        b.stop()

    a_owner, b_owner = (f"{socket.gethostname()}:{server.proc.pid}:" for server in (a, b))
    with engine.connect() as conn:
        claims = conn.execute(text("select job_id, owner from claims")).all()
        rows = {row.id: row for table in (RunRecord, AnalysisRecord)
                for row in conn.execute(select(table.id, table.status, table.owner, table.reason))}
        admissions = dict(conn.execute(select(AdmissionRecord.run_id, func.count())
                                       .group_by(AdmissionRecord.run_id)).all())
    engine.dispose()

    # every job claimed exactly once, by one of the two, and ended once: done, or interrupted with A
    claimed = [job_id for job_id, _ in claims]
    assert sorted(claimed) == sorted(job_id for _, job_id in jobs), claims
    owners = dict(claims)
    assert {owner.rsplit(":", 1)[0] + ":" for owner in owners.values()} == {a_owner, b_owner}
    interrupted = {job_id for job_id, row in rows.items() if row.status == FAILED}
    assert interrupted  # killed in the middle: what A was running (unless it committed in the last instant)
    assert {job_id for job_id, _ in at_work if rows[job_id].status != DONE} <= interrupted
    for (path, job_id), body in zip(jobs, bodies):
        row = rows[job_id]
        assert body["status"] == row.status and row.owner == owners[job_id]
        if row.status == FAILED:
            assert row.reason in (INTERRUPTED, ANALYSIS_INTERRUPTED) and row.owner.startswith(a_owner), row
        else:
            assert row.status == DONE, row
        # files and rows agree: a done run has its folder and every admission row, a failed job no result
        folder = data / ("runs" if path == "/runs" else "analyses") / job_id
        if row.status == DONE:
            assert (folder / "summary.json").is_file()
            if path == "/runs":
                assert admissions.get(job_id) == STUDENTS
                lines = (folder / "admissions.csv").read_text(encoding="utf-8").count("\n")
                assert lines == STUDENTS + 1
        else:
            assert not folder.exists() or '"done"' not in (folder / "summary.json").read_text(encoding="utf-8")
            assert job_id not in admissions
    assert len(interrupted) < len(jobs)  # B carried on with the queue
    assert not [p for kind in ("runs", "analyses") for p in (data / kind).glob(".*.partial-*")]
    uploads = data / "uploads"
    assert not uploads.exists() or not [p for owner in uploads.iterdir() for p in owner.iterdir()]
    assert "Traceback" not in b.output()


def test_a_scenario_folder_whose_upload_is_committing_elsewhere_is_not_swept(tmp_path, database):
    """A scenario folder without a row: kept while a live process holds its upload (it commits the row in a
    moment), removed when that process is gone or holds nothing."""
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    manager = JobManager(settings, engine)
    other = manager.owner.rsplit(":", 2)[0] + f":{os.getppid()}:other1"  # a live process of this host
    dead = f"{socket.gethostname()}:999999:dead1"
    scenarios = tmp_path / "scenarios"
    for name, holder in (("committing", other), ("orphan-of-the-dead", dead), ("orphan", None)):
        (scenarios / name / "folder").mkdir(parents=True)
        if holder:
            (tmp_path / "uploads" / owner_folder(holder) / name).mkdir(parents=True)
    manager.sweep_files()
    assert sorted(p.name for p in scenarios.iterdir()) == ["committing"]
    assert (tmp_path / "uploads" / owner_folder(other) / "committing").is_dir()
    assert not (tmp_path / "uploads" / owner_folder(dead)).exists()
    engine.dispose()


def running_pid(c: TestClient, run_id: str) -> int | None:
    with c.app.state.sessions() as session:
        row = session.get(RunRecord, run_id)
        return row.pid if row is not None and row.status == "running" else None


def test_a_worker_without_http_runs_the_queue_and_stops_on_sigterm(tmp_path, monkeypatch):
    """Runs queued through an app that starts none (its dispatch paused) are run by ``zhaosheng worker``
    on the same database and data directory; SIGTERM ends it, failing what it was running "interrupted"."""
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as c:
        monkeypatch.setattr(c.app.state.jobs, "_dispatch", lambda: None)
        scenario = c.post("/scenarios", json=small()).json()["id"]
        ids = [c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()["id"] for _ in range(3)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
        env.update(ZHAOSHENG_MAX_CONCURRENT_RUNS="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
        with open(tmp_path / "worker.log", "wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--database", settings.db_url,
                                       "--data-dir", str(settings.data_dir), "--log-level", "warning"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            runs = [wait_run(c, run_id, timeout=120) for run_id in ids]
            assert [r["status"] for r in runs] == ["done"] * 3, runs
            assert all(r["summary"]["counts"]["students"] == 5 for r in runs)
            # a long one, stopped by SIGTERM while it runs: failed "interrupted", its worker process gone
            long = c.post("/scenarios/jiaozuo-2022/runs", json={"engine": "both"}).json()["id"]
            pid = wait_for(lambda: running_pid(c, long), timeout=60, step=0.05)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text(errors="replace")
            body = c.get(f"/runs/{long}").json()
            assert body["status"] == FAILED and body["reason"] == INTERRUPTED
            wait_for(lambda: process_gone(pid), timeout=15)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert "Traceback" not in (tmp_path / "worker.log").read_text(errors="replace")
