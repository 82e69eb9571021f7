"""The service's jobs (issue #5): solver work in worker processes, a bounded number at once, cancel and
the time limit end the worker's process, and a restart fails the run that was running and keeps the
queued ones."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from api.service import Settings, create_app
from api.service.db import QUEUED, RUNNING, RunRecord, utcnow
from api.service.jobs import INTERRUPTED

from api_helpers import needs_proc, process_gone, upload, wait_for, wait_run


def test_runs_wait_for_a_free_worker(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, max_concurrent_runs=1))) as c:
        scenario = upload(c, tmp_path, 300)
        first = c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()
        second = c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()
        assert second["status"] == "queued" and second["queue_position"] in (1, 2)
        a, b = wait_run(c, first["id"]), wait_run(c, second["id"])
    assert a["status"] == b["status"] == "done"
    assert b["started_at"] >= a["finished_at"]  # one worker at a time: the second waited for the first
    assert a["summary"]["totals"] == b["summary"]["totals"]


def worker_pid(client: TestClient, run_id: str) -> int | None:
    """The pid of the run's worker process once it is running, else None."""
    with client.app.state.sessions() as s:
        r = s.get(RunRecord, run_id)
        return r.pid if r.status == RUNNING else None


@needs_proc
def test_cancel_ends_the_worker_process(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        scenario = upload(c, tmp_path, 20_000)
        run = c.post(f"/scenarios/{scenario}/runs", json={"engine": "both"}).json()

        worker = wait_for(lambda: worker_pid(c, run["id"]))
        r = c.post(f"/runs/{run['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["cancelled"]
        assert r.json()["reason"] == "cancelled on request"
        wait_for(lambda: process_gone(worker), timeout=15)
        wait_for(lambda: c.app.state.jobs.running() == 0)
        body = c.get(f"/runs/{run['id']}").json()
        assert body["status"] == "failed" and body["files"].keys() <= {"errors.csv", "summary.json"}
        assert c.get(f"/runs/{run['id']}/summary.json").json()["status"] == "failed"
        assert not list((tmp_path / "runs").glob(".*partial*"))


@needs_proc
def test_the_time_limit_is_enforced_by_ending_the_worker(tmp_path):
    # no grace: the run must end within its time limit (1 s, the least a run may ask), loading included,
    # which it cannot
    with TestClient(create_app(Settings(data_dir=tmp_path, run_grace=0))) as c:
        scenario = upload(c, tmp_path, 20_000)
        run = c.post(f"/scenarios/{scenario}/runs", json={"engine": "both", "time_limit": 1}).json()
        body = wait_run(c, run["id"], timeout=30)
        assert body["status"] == "failed" and body["reason"].startswith("time limit exceeded")
        assert not body["cancelled"]
        assert 1 <= body["elapsed_seconds"] < 10
        with c.app.state.sessions() as s:
            worker = s.get(RunRecord, run["id"]).pid
        wait_for(lambda: process_gone(worker), timeout=10)


def test_a_restart_fails_the_running_run_and_keeps_the_queued_ones(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings)) as c:
        scenario = upload(c, tmp_path, 300)
    # as a server killed in the middle leaves them: one run running, one still queued
    from api.service.db import make_engine, session_factory

    engine = make_engine(settings.db_url)
    with session_factory(engine)() as s:
        s.add_all([RunRecord(id="was-running", scenario_id=scenario, engine="both", time_limit=60.0, hint=False,
                             status=RUNNING, cancelled=False, created_at=utcnow(), started_at=utcnow(), pid=999999),
                   RunRecord(id="was-queued", scenario_id=scenario, engine="sequential", time_limit=60.0, hint=False,
                             status=QUEUED, cancelled=False, created_at=utcnow())])
        s.commit()
    engine.dispose()

    with TestClient(create_app(settings)) as c:
        interrupted = c.get("/runs/was-running").json()
        assert interrupted["status"] == "failed" and interrupted["reason"] == INTERRUPTED
        assert interrupted["finished_at"] is not None
        resumed = wait_run(c, "was-queued")
        assert resumed["status"] == "done" and resumed["summary"]["counts"]["students"] == 300


def test_a_worker_that_dies_fails_its_run(tmp_path):
    """A worker killed from outside (out of memory, say) leaves a failed run with its exit code."""
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        scenario = upload(c, tmp_path, 20_000)
        run = c.post(f"/scenarios/{scenario}/runs", json={"engine": "both"}).json()

        os.kill(wait_for(lambda: worker_pid(c, run["id"])), 9)
        body = wait_run(c, run["id"], timeout=20)
        assert body["status"] == "failed" and "exit code -9" in body["reason"]
