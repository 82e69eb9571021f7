"""The service under attack and faults (issue #12): a regression test for each defect found by probing it
as an attacker and an unlucky operator would (points 1-7 of the issue), and the job claim and ownership
that hold when several server processes share one database."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import random
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.service import Settings, create_app
from api.service.db import (
    FAILED,
    QUEUED,
    RUNNING,
    AnalysisRecord,
    AuditRecord,
    RunRecord,
    make_engine,
    session_factory,
    upgrade,
    utcnow,
)
from api.service.jobs import INTERRUPTED, JobManager, claim_statement, owner_folder
from models import ScenarioError, load_scenario
from scenarios import bundled_names

from api_helpers import needs_proc, process_gone, small, upload, wait_for, wait_run, zip_folder
from builders import region, scenario_dict, school, student, write_csv_folder

TOKEN = "s3cret-token"


def pause_queue(client: TestClient, monkeypatch) -> None:
    """Stop the job manager from starting queued jobs: what is queued stays queued (a busy server)."""
    monkeypatch.setattr(client.app.state.jobs, "_dispatch", lambda: None)


def upload_small(client: TestClient) -> str:
    r = client.post("/scenarios", json=small())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_job(client: TestClient, path: str, timeout: float = 60) -> dict:
    return wait_for(lambda: (lambda b: b if b["status"] in ("done", "failed") else None)(client.get(path).json()),
                    timeout=timeout, step=0.1)


def running_pid(client: TestClient, table, job_id: str) -> int | None:
    with client.app.state.sessions() as s:
        row = s.get(table, job_id)
        return row.pid if row is not None and row.status == RUNNING else None


def leftovers(data_dir: Path) -> list[Path]:
    """Staging folders of workers and uploads still there."""
    found = [p for kind in ("runs", "analyses") if (data_dir / kind).is_dir()
             for p in (data_dir / kind).glob(".*.partial-*")]
    uploads = data_dir / "uploads"
    return found + ([p for owner in uploads.iterdir() for p in owner.iterdir()] if uploads.is_dir() else [])


@pytest.fixture(scope="module")
def service(tmp_path_factory, backend):
    """One server for the module, with a generated city of 20,000 students uploaded (a run of it with both
    engines takes seconds): (client, data directory, that scenario's id)."""
    data_dir = tmp_path_factory.mktemp("faults")
    with TestClient(create_app(Settings(data_dir=data_dir, max_concurrent_runs=2))) as client:
        yield client, data_dir, upload(client, tmp_path_factory.mktemp("city"), 20_000)


# 1. Deleting a scenario during one of its audits -------------------------------------------------------------

def test_deleting_a_scenario_during_its_audit_is_409_and_the_audit_completes(service, tmp_path):
    c, data_dir, _ = service
    scenario = upload(c, tmp_path, 1500, seed=3)
    run = wait_run(c, c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()["id"])
    published = c.get(f"/runs/{run['id']}/admissions.csv").content
    answer = {}
    request = threading.Thread(target=lambda: answer.update(r=c.post(
        f"/scenarios/{scenario}/audits", files={"result": ("admissions.csv", published, "text/csv")})))
    request.start()

    def running_audit():
        with c.app.state.sessions() as s:
            return s.scalar(select(AuditRecord.id).where(AuditRecord.scenario_id == scenario,
                                                         AuditRecord.status == RUNNING))

    audit_id = wait_for(running_audit, timeout=30, step=0.01)
    r = c.delete(f"/scenarios/{scenario}")
    request.join(timeout=120)
    assert r.status_code == 409, r.text
    assert r.json()["jobs"] == [{"kind": "audit", "id": audit_id, "status": "running", "url": f"/audits/{audit_id}"}]
    assert audit_id in r.json()["detail"]
    assert answer["r"].status_code == 201, answer["r"].text  # not a 500: the audit's row is still there
    assert answer["r"].json()["status"] == "clean"
    # once the audit has ended the scenario goes, and the audit with it: its row and its folder
    assert c.delete(f"/scenarios/{scenario}").status_code == 204
    assert c.get(f"/audits/{audit_id}").status_code == 404
    assert not (data_dir / "audits" / audit_id).exists() and not (data_dir / "runs" / run["id"]).exists()


# 2. Deleting a scenario with a queued job of any kind ----------------------------------------------------------

def test_a_scenario_with_a_queued_job_of_any_kind_is_not_deleted_and_the_jobs_are_named(service, monkeypatch):
    c, data_dir, _ = service
    scenario = upload_small(c)
    bound = wait_job(c, c.post(f"/scenarios/{scenario}/bound").headers["location"])
    assert bound["status"] == "done" and (data_dir / "analyses" / bound["id"]).is_dir()
    pause_queue(c, monkeypatch)
    queued = [("run", c.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()["id"], "/runs"),
              ("what-if", c.post(f"/scenarios/{scenario}/whatif", json={"changes": {"quota.A": "+1"}}).json()["id"],
               "/whatif"),
              ("sweep", c.post(f"/scenarios/{scenario}/sweep", json={"general_share": "0.5"}).json()["id"], "/sweep"),
              ("bound", c.post(f"/scenarios/{scenario}/bound").json()["id"], "/bound")]
    r = c.delete(f"/scenarios/{scenario}")
    assert r.status_code == 409, r.text
    assert [(j["kind"], j["id"], j["status"], j["url"]) for j in r.json()["jobs"]] == \
        [(kind, job_id, "queued", f"{base}/{job_id}") for kind, job_id, base in queued]
    assert all(job_id in r.json()["detail"] for _, job_id, _ in queued)
    assert c.get(f"/scenarios/{scenario}").status_code == 200
    for _, job_id, base in queued:
        assert c.post(f"{base}/{job_id}/cancel").status_code == 200
    assert c.delete(f"/scenarios/{scenario}").status_code == 204
    # its jobs, finished or cancelled, go with it: no row points at a scenario that is not there
    for job_id, base in [(bound["id"], "/bound")] + [(job_id, base) for _, job_id, base in queued]:
        assert c.get(f"{base}/{job_id}").status_code == 404
    assert not (data_dir / "analyses" / bound["id"]).exists()
    with c.app.state.sessions() as s:
        for table in (RunRecord, AnalysisRecord, AuditRecord):
            assert s.scalar(select(func.count()).select_from(table).where(table.scenario_id == scenario)) == 0


def test_no_job_is_queued_on_a_scenario_deleted_meanwhile(service, monkeypatch):
    """The check and the insert hold the scenario's row: a job asked for as the scenario goes is 404."""
    c, _, _ = service
    from api.service.routes import analysis, common, runs

    for kind, body in (("runs", {}), ("whatif", {"changes": {}}), ("bound", None)):
        scenario = upload_small(c)

        def deleted_first(session, settings, record, uploaded, scenario=scenario):
            # the route has found the scenario; it is deleted before the job is added
            assert c.delete(f"/scenarios/{scenario}").status_code == 204
            return common.queue_job(session, settings, record, uploaded)

        monkeypatch.setattr(runs, "queue_job", deleted_first)
        monkeypatch.setattr(analysis, "queue_job", deleted_first)
        assert c.post(f"/scenarios/{scenario}/{kind}", json=body).status_code == 404, kind
        with c.app.state.sessions() as s:
            for table in (RunRecord, AnalysisRecord):
                assert s.scalar(select(func.count()).select_from(table).where(table.scenario_id == scenario)) == 0


# 3. Analyses cancelled and deleted; the queue capped -----------------------------------------------------------

def test_a_queued_analysis_is_cancelled_then_deleted(service, monkeypatch):
    c, _, _ = service
    scenario = upload_small(c)
    pause_queue(c, monkeypatch)
    for kind, body in (("whatif", {"changes": {"quota.A": "+1"}}), ("sweep", {"general_share": "0.5"}),
                       ("bound", None)):
        job = c.post(f"/scenarios/{scenario}/{kind}", json=body).json()
        assert job["status"] == "queued"
        assert c.delete(f"/{kind}/{job['id']}").status_code == 409  # queued: cancel it first
        r = c.post(f"/{kind}/{job['id']}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "failed" and r.json()["cancelled"] and r.json()["reason"] == "cancelled on request"
        assert c.post(f"/{kind}/{job['id']}/cancel").status_code == 409
        summary = c.get(f"/{kind}/{job['id']}/summary.json").json()
        assert summary["status"] == "failed" and summary["cancelled"] and summary["scenario"] == scenario
        assert c.delete(f"/{kind}/{job['id']}").status_code == 204
        assert c.get(f"/{kind}/{job['id']}").status_code == 404
        assert c.post(f"/{kind}/{job['id']}/cancel").status_code == 404


@needs_proc
def test_cancelling_a_running_analysis_ends_its_worker(service):
    c, data_dir, city = service
    job = c.post(f"/scenarios/{city}/sweep", json={"general_share": "0.30:0.70:0.01"}).json()
    worker = wait_for(lambda: running_pid(c, AnalysisRecord, job["id"]), timeout=30, step=0.05)
    r = c.post(f"/sweep/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancelled"]
    wait_for(lambda: process_gone(worker), timeout=15)
    wait_for(lambda: job["id"] not in c.app.state.jobs.active, timeout=15)
    body = c.get(f"/sweep/{job['id']}").json()
    assert body["status"] == "failed" and set(body["files"]) == {"summary.json"}
    assert not (data_dir / "analyses" / job["id"]).exists()
    assert not list((data_dir / "analyses").glob(f".{job['id']}.partial-*"))
    assert c.delete(f"/sweep/{job['id']}").status_code == 204


def test_the_queue_is_capped_with_429_and_retry_after(tmp_path, monkeypatch):
    with TestClient(create_app(Settings(data_dir=tmp_path, max_queued_jobs=3))) as c:
        scenario = upload_small(c)
        pause_queue(c, monkeypatch)
        first = c.post(f"/scenarios/{scenario}/runs", json={}).json()
        assert c.post(f"/scenarios/{scenario}/whatif", json={"changes": {"quota.A": 3}}).status_code == 202
        assert c.post("/scenarios/jiaozuo-2022/bound").status_code == 202
        for path, body in ((f"/scenarios/{scenario}/runs", {}), ("/scenarios/hengyang-2021/runs", {}),
                           (f"/scenarios/{scenario}/sweep", {"general_share": "0.5"}),
                           (f"/scenarios/{scenario}/bound", None)):
            r = c.post(path, json=body)
            assert r.status_code == 429, (path, r.text)
            assert r.headers["retry-after"] == "30" and "max_queued_jobs" in r.json()["detail"]
        health = c.get("/health").json()
        assert health["runs_queued"] + health["analyses_queued"] == 3
        assert c.post(f"/runs/{first['id']}/cancel").status_code == 200
        assert c.post(f"/scenarios/{scenario}/runs", json={}).status_code == 202  # room again


# 4. Validating an upload: in a worker process, bounded ----------------------------------------------------------

def junk_zip(rows: int) -> bytes:
    """A valid scenario folder whose students.csv is ``rows`` rows of junk (every cell wrong)."""
    data = scenario_dict(regions=[region("R1")], schools=[school("A", 1)], students=[student("s1", 90, ["A"])])
    buf = io.BytesIO()
    rnd = random.Random(1)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = write_csv_folder(data, Path(tmp) / "c")
            for path in folder.iterdir():
                if path.name != "students.csv":
                    zf.write(path, path.name)
        lines = ["student_id,region_id,score,evaluation,choice_1,choice_2"]
        lines += [f"x{rnd.random()},R{rnd.random()},junk{i},Q,S{rnd.random()},T" for i in range(rows)]
        zf.writestr("students.csv", "\n".join(lines) + "\n")
    return buf.getvalue()


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@needs_proc
def test_a_junk_upload_is_validated_in_a_bounded_worker_and_the_server_stays_flat(tmp_path):
    """200,000 rows of junk (15 MB; validated in this process it would hold 230 MB more at its peak, with
    100,000 problems kept): the server's memory stays flat while a worker validates it, and 1,000
    problems come back, the last one saying how many more there are."""
    body = junk_zip(200_000)
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        c.post("/scenarios", files={"file": ("warm.zip", junk_zip(10), "application/zip")})  # import and spool once
        before, peak, done = rss(), [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            r = c.post("/scenarios", files={"file": ("junk.zip", body, "application/zip")})
        finally:
            done.set()
            sampler.join()
        assert r.status_code == 422, r.text
        problems = r.json()["problems"]
        assert len(problems) == 1000 and r.json()["problems_total"] > 200_000
        assert problems[-1]["message"].startswith(f"and {r.json()['problems_total'] - 999:,} more problems")
        assert sum(p["file"] == "students.csv" and p["row"] is not None for p in problems) == 999
        assert (peak[0] - before) / 2**20 < 60, f"the server grew by {(peak[0] - before) / 2**20:.0f} MB"
        assert c.get("/scenarios").json()["total"] == len(bundled_names())  # the bundled ones: nothing stored
        assert not leftovers(tmp_path) and not list((tmp_path / "scenarios").glob("*"))


def test_a_validation_past_its_time_limit_is_413_and_nothing_is_stored(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, validation_time_limit=0.05))) as c:
        r = c.post("/scenarios", files={"file": ("junk.zip", junk_zip(100_000), "application/zip")})
        assert r.status_code == 413, r.text
        assert "time limit of 0.05 s" in r.json()["detail"] and r.json()["problems"][0]["file"] == "junk.zip"
        assert c.get("/scenarios").json()["total"] == len(bundled_names()) and not leftovers(tmp_path)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="RLIMIT_AS is a POSIX limit")
def test_a_validation_past_its_memory_limit_is_413_and_nothing_is_stored(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, validation_memory=256 * 2**20))) as c:
        r = c.post("/scenarios", json=small())
        assert r.status_code == 413, r.text
        assert "memory limit of 268,435,456 bytes" in r.json()["detail"]
        assert c.get("/scenarios").json()["total"] == len(bundled_names()) and not leftovers(tmp_path)
        assert c.get("/health").json()["status"] == "ok"


def test_the_validating_worker_keeps_a_bounded_number_of_problems_and_reports_a_loader_failure(tmp_path, monkeypatch):
    """`validate_worker` itself, in this process (an address space limit far above anything)."""
    from api.service.worker import validate_worker

    folder = tmp_path / "junk"
    with zipfile.ZipFile(io.BytesIO(junk_zip(300))) as zf:
        zf.extractall(folder)
    out = tmp_path / "outcome.json"
    validate_worker(str(folder), str(out), 5, 2**60)
    outcome = json.loads(out.read_text(encoding="utf-8"))
    assert outcome["valid"] is False and len(outcome["problems"]) == 5 and outcome["omitted"] >= 300
    assert set(outcome["problems"][0]) == {"severity", "file", "row", "column", "value", "clause", "message"}

    import models.validate

    def broken(raw, log):
        raise RecursionError("deep")

    monkeypatch.setattr(models.validate, "build_scenario", broken)
    validate_worker(str(folder), str(out), 5, 2**60)
    outcome = json.loads(out.read_text(encoding="utf-8"))
    assert outcome["valid"] is False and outcome["omitted"] == 0
    assert outcome["problems"][0]["message"] == "the scenario could not be read (RecursionError in the loader)"


# 5. A run's files appear only with its committed rows ---------------------------------------------------------

def _worker_setup(tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    source = tmp_path / "small.json"
    source.write_text(json.dumps(small()), encoding="utf-8")
    with session_factory(engine)() as s:
        s.add(RunRecord(id="r1", scenario_id="s1", engine="sequential", time_limit=10.0, hint=False, status=RUNNING,
                        cancelled=False, created_at=utcnow(), started_at=utcnow()))
        s.commit()
    engine.dispose()
    return settings, source


def test_a_run_cancelled_while_its_tables_are_stored_keeps_no_files(tmp_path, monkeypatch):
    """The worker itself, in this process: the run is cancelled just as its tables are stored; its files,
    complete by then, must not stay as a result (nor as a "done" summary.json)."""
    from api.service import worker

    settings, source = _worker_setup(tmp_path)
    real = worker.store_run_tables

    def cancelled_meanwhile(conn, run_id, *tables):
        engine = make_engine(settings.db_url)  # the cancel request, on its own connection
        with engine.begin() as other:
            other.execute(update(RunRecord).where(RunRecord.id == run_id)
                          .values(status=FAILED, cancelled=True, reason="cancelled on request"))
        engine.dispose()
        return real(conn, run_id, *tables)

    monkeypatch.setattr(worker, "store_run_tables", cancelled_meanwhile)
    worker.run_worker("r1", settings.db_url, str(tmp_path), source, "sequential", 10.0, False, os.getppid(), "s1")
    with TestClient(create_app(settings)) as c:
        body = c.get("/runs/r1").json()
        assert body["status"] == "failed" and body["cancelled"]
        summary = c.get("/runs/r1/summary.json").json()
        assert summary["status"] == "failed" and summary["scenario"] == "s1"
        assert c.get("/runs/r1/admissions.csv").status_code == 404
    assert not (tmp_path / "runs" / "r1").exists() and not list((tmp_path / "runs").glob(".r1.partial-*"))


def test_a_run_not_cancelled_gets_its_files_with_its_rows(tmp_path):
    """The same worker, undisturbed: done, its files and its rows there together."""
    from api.service import worker

    settings, source = _worker_setup(tmp_path)
    worker.run_worker("r1", settings.db_url, str(tmp_path), source, "sequential", 10.0, False, os.getppid(), "s1")
    with TestClient(create_app(settings)) as c:
        assert c.get("/runs/r1").json()["status"] == "done"
        assert c.get("/runs/r1/summary.json").json()["status"] == "done"
        assert c.get("/runs/r1/students").json()["total"] == 5
    assert (tmp_path / "runs" / "r1" / "admissions.csv").exists() and not list((tmp_path / "runs").glob(".*"))


def test_a_restart_after_a_crash_while_storing_serves_no_done_summary(tmp_path):
    """What kill -9 of the server (and so of its worker) while storing a run's tables leaves: the run
    running, its files renamed into place, no commit; and staging and orphans of other kinds.  The next
    start fails the run "interrupted", removes its files and every folder no row vouches for."""
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    dead = f"{socket.gethostname()}:999999:deadbeef"  # a server of this host that is not running
    with session_factory(engine)() as s:
        s.add(RunRecord(id="killed", scenario_id="jiaozuo-2022", engine="both", time_limit=60.0, hint=False,
                        status=RUNNING, cancelled=False, created_at=utcnow(), started_at=utcnow(), owner=dead,
                        heartbeat_at=utcnow()))
        s.add(AnalysisRecord(id="done-one", kind="bound", scenario_id="jiaozuo-2022", params={}, status="done",
                             cancelled=False, created_at=utcnow()))
        s.commit()
    engine.dispose()
    runs = tmp_path / "runs"
    (runs / "killed").mkdir(parents=True)
    (runs / "killed" / "summary.json").write_text('{"status": "done"}')
    (runs / "killed" / "admissions.csv").write_text("student_id\n" * 1000)
    (runs / ".killed.partial-x1").mkdir()
    (runs / "deleted-run").mkdir()  # deleted, the server died before removing its folder
    (tmp_path / "analyses" / "done-one").mkdir(parents=True)
    (tmp_path / "analyses" / "done-one" / "summary.json").write_text('{"status": "done"}')
    (tmp_path / "analyses" / ".gone.partial-x2").mkdir()
    (tmp_path / "scenarios" / "never-committed").mkdir(parents=True)
    (tmp_path / "audits" / "deleted-audit").mkdir(parents=True)
    (tmp_path / "uploads" / owner_folder(dead) / "abc").mkdir(parents=True)

    with TestClient(create_app(settings)) as c:
        body = c.get("/runs/killed").json()
        assert body["status"] == "failed" and body["reason"] == INTERRUPTED
        summary = c.get("/runs/killed/summary.json").json()
        assert summary["status"] == "failed" and summary["reason"] == INTERRUPTED
        assert c.get("/runs/killed/admissions.csv").status_code == 404
    assert sorted(p.name for p in runs.iterdir()) == []
    assert [p.name for p in (tmp_path / "analyses").iterdir()] == ["done-one"]  # vouched for by its row
    for gone in ("scenarios/never-committed", "audits/deleted-audit", f"uploads/{owner_folder(dead)}"):
        assert not (tmp_path / gone).exists(), gone


# 6. The token before anything else -------------------------------------------------------------------------

def test_without_the_token_every_request_is_401_before_routing_or_parsing(tmp_path):
    multipart = {"content-type": "multipart/form-data; boundary=x"}
    with TestClient(create_app(Settings(data_dir=tmp_path, api_token=TOKEN))) as c:
        requests = [
            ("POST", "/scenarios", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
            ("POST", "/scenarios", {"content": b"--x\r\nbroken", "headers": multipart}),
            ("POST", "/scenarios/jiaozuo-2022/audits", {"content": b"junk", "headers": multipart}),
            ("POST", "/scenarios/jiaozuo-2022/runs", {"json": {"engine": "fast"}}),
            ("GET", "/runs/x/students?limit=abc", {}),
            ("GET", "/no/such/path", {}),
            ("DELETE", "/health", {}),
            ("PUT", "/runs/x", {}),
            ("OPTIONS", "/audits/x", {}),
        ]
        for method, path, kw in requests:
            r = c.request(method, path, **kw)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["detail"] == "a valid bearer token is required"
        for header in ("Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer"):
            assert c.get("/health", headers={"Authorization": header}).status_code == 401, header
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/no/such/path", headers=good).status_code == 404
        assert c.request("PUT", "/runs/x", headers=good).status_code == 405
        assert c.post("/scenarios", content=b"{not json", headers={**good, "content-type": "application/json"}
                      ).status_code == 422


def test_without_the_token_not_a_byte_of_the_body_is_read(tmp_path):
    """A 200 MB upload to /audits without the token: 401 at once, its body never received."""

    async def call(headers: list) -> tuple[int | None, int]:
        app = create_app(Settings(data_dir=tmp_path, api_token=TOKEN))
        received, status = 0, None

        async def receive():
            nonlocal received
            received += 1
            return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                 "path": "/scenarios/jiaozuo-2022/audits", "raw_path": b"/scenarios/jiaozuo-2022/audits",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
                 "headers": [(b"content-type", b"multipart/form-data; boundary=x"),
                             (b"content-length", str(200 * 2**20).encode()), *headers]}
        await app(scope, receive, send)
        return status, received

    status, received = asyncio.run(call([]))
    assert status == 401 and received == 0
    # with the token the body is read (and found to be no multipart): the test above can tell the two apart
    status, received = asyncio.run(call([(b"authorization", f"Bearer {TOKEN}".encode())]))
    assert status == 400 and received > 0


# 7. Smaller ------------------------------------------------------------------------------------------------

def test_a_cancelled_runs_summary_names_its_scenario(service, monkeypatch):
    c, _, _ = service
    scenario = upload_small(c)
    pause_queue(c, monkeypatch)
    run = c.post(f"/scenarios/{scenario}/runs", json={}).json()
    assert c.post(f"/runs/{run['id']}/cancel").status_code == 200
    body = c.get(f"/runs/{run['id']}").json()
    assert body["files"] == {"summary.json": f"/runs/{run['id']}/summary.json"}
    summary = c.get(f"/runs/{run['id']}/summary.json").json()
    assert summary["scenario"] == scenario != run["id"]
    assert summary["status"] == "failed" and summary["cancelled"] and summary["reason"] == "cancelled on request"


@needs_proc
def test_cancel_then_delete_at_once_leaves_nothing_and_logs_no_error(service, caplog):
    c, data_dir, city = service
    run = c.post(f"/scenarios/{city}/runs", json={"engine": "both"}).json()
    worker = wait_for(lambda: running_pid(c, RunRecord, run["id"]), timeout=30, step=0.02)
    with caplog.at_level(logging.WARNING, logger="zhaosheng.service"):
        assert c.post(f"/runs/{run['id']}/cancel").status_code == 200
        assert c.delete(f"/runs/{run['id']}").status_code == 204
        wait_for(lambda: process_gone(worker), timeout=15)
        wait_for(lambda: run["id"] not in c.app.state.jobs.active, timeout=15)
        time.sleep(0.5)  # the manager's next rounds
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert not (data_dir / "runs" / run["id"]).exists()
    assert not list((data_dir / "runs").glob(f".{run['id']}.partial-*"))
    assert c.get(f"/runs/{run['id']}").status_code == 404


def test_options_and_a_wrong_method_list_every_method_of_the_path(service):
    c, _, _ = service
    r = c.options("/audits/some-id")
    assert r.status_code == 204 and r.headers["allow"] == "GET, DELETE, OPTIONS"
    r = c.put("/audits/some-id")
    assert r.status_code == 405 and r.headers["allow"] == "GET, DELETE, OPTIONS"
    assert c.options("/scenarios").headers["allow"] == "GET, POST, OPTIONS"
    assert c.options("/runs/x/cancel").headers["allow"] == "POST, OPTIONS"
    assert c.patch("/sweep/x").headers["allow"] == "GET, DELETE, OPTIONS"
    assert c.options("/no/such/path").status_code == 404


@pytest.mark.parametrize("limit, status", [(5e-324, 422), (0.999, 422), (0, 422), (1, 202)])
def test_a_time_limit_is_at_least_one_second(service, monkeypatch, limit, status):
    c, _, _ = service
    pause_queue(c, monkeypatch)
    r = c.post("/scenarios/jiaozuo-2022/runs", json={"engine": "sequential", "time_limit": limit})
    assert r.status_code == status, r.text
    if status == 202:
        assert c.post(f"/runs/{r.json()['id']}/cancel").status_code == 200
    else:
        assert r.json()["problems"][0]["column"] == "body.time_limit"


def test_an_unreadable_or_ragged_csv_gives_the_loaders_rows(service, tmp_path):
    """Not UTF-8 (nor GB18030) in schools.csv, a row with a cell too many in students.csv: the service
    passes the loader's problems through, each with its row."""
    c, _, _ = service
    data = scenario_dict(regions=[region("R1")], schools=[school("A", 1)],
                         students=[student("s1", 90, ["A"]), student("s2", 80, ["A"])])
    folder = write_csv_folder(data, tmp_path / "bad")
    lines = (folder / "students.csv").read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra,cells"
    (folder / "students.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "schools.csv").write_bytes((folder / "schools.csv").read_bytes().replace(b"A,", b"\xff\xfe,", 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    r = c.post("/scenarios", files={"file": ("bad.zip", zip_folder(folder), "application/zip")})
    assert r.status_code == 422
    assert r.json()["problems"] == [{"severity": p.severity, "file": p.file, "row": p.row, "column": p.column,
                                     "value": p.value, "clause": p.clause, "message": p.message}
                                    for p in info.value.problems]
    rows = {(p["file"], p["row"]) for p in r.json()["problems"]}
    assert ("schools.csv", 2) in rows and ("students.csv", 3) in rows


# The claim and the owners: several server processes on one database --------------------------------------------

def test_each_queued_job_is_claimed_once_by_concurrent_managers(tmp_path):
    """Two managers (as two server processes), four threads each, claiming from one queue of 60 runs and
    analyses: every job is claimed exactly once."""
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    t0 = utcnow()
    with session_factory(engine)() as s:
        for i in range(30):
            s.add(RunRecord(id=f"r{i:02}", scenario_id="x", engine="sequential", time_limit=1.0, hint=False,
                            status=QUEUED, cancelled=False, created_at=t0 + dt.timedelta(seconds=i)))
            s.add(AnalysisRecord(id=f"a{i:02}", kind="bound", scenario_id="x", params={}, status=QUEUED,
                                 cancelled=False, created_at=t0 + dt.timedelta(seconds=i, milliseconds=500)))
        s.commit()
    managers = [JobManager(settings, make_engine(settings.db_url)) for _ in range(2)]
    managers[1].owner = managers[1].owner.rsplit(":", 1)[0] + ":other"
    claims: list[tuple[str, str]] = []
    lock = threading.Lock()

    def claim(manager):
        while True:
            table = manager._older_queue()
            if table is None:
                return
            row = manager._claim(table)
            if row is not None:
                with lock:
                    claims.append((row.id, manager.owner))

    threads = [threading.Thread(target=claim, args=(m,)) for m in managers for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ids = [job_id for job_id, _ in claims]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 60
    with engine.connect() as conn:
        for table in (RunRecord, AnalysisRecord):
            rows = conn.execute(select(table.id, table.status, table.owner)).all()
            assert {r.status for r in rows} == {RUNNING}
            assert all((r.id, r.owner) in claims for r in rows)  # the row names the claimer that got it
    assert {owner for _, owner in claims} == {m.owner for m in managers}  # both took part


def test_the_claim_is_one_conditional_update_that_skips_locked_rows_on_postgresql():
    from sqlalchemy.dialects import postgresql, sqlite

    for table in (RunRecord, AnalysisRecord):
        pg = str(claim_statement(table, "me", "postgresql").compile(dialect=postgresql.dialect()))
        assert pg.startswith(f"UPDATE {table.__tablename__} SET") and "RETURNING" in pg
        assert "FOR UPDATE SKIP LOCKED" in pg and pg.count(f"{table.__tablename__}.status = ") == 2
        lite = str(claim_statement(table, "me", "sqlite").compile(dialect=sqlite.dialect()))
        assert "FOR UPDATE" not in lite and "RETURNING" in lite and "LIMIT" in lite


def test_the_oldest_job_is_claimed_first_whichever_table(tmp_path):
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    t0 = utcnow()
    with session_factory(engine)() as s:
        s.add_all([RunRecord(id="run-2", scenario_id="x", engine="sequential", time_limit=1.0, hint=False,
                             status=QUEUED, cancelled=False, created_at=t0 + dt.timedelta(seconds=2)),
                   AnalysisRecord(id="sweep-1", kind="sweep", scenario_id="x", params={}, status=QUEUED,
                                  cancelled=False, created_at=t0 + dt.timedelta(seconds=1)),
                   RunRecord(id="run-3", scenario_id="x", engine="sequential", time_limit=1.0, hint=False,
                             status=QUEUED, cancelled=False, created_at=t0 + dt.timedelta(seconds=3))])
        s.commit()
    manager = JobManager(settings, engine)
    order = []
    while (table := manager._older_queue()) is not None:
        order.append(manager._claim(table).id)
    assert order == ["sweep-1", "run-2", "run-3"]


def test_recovery_fails_only_the_jobs_whose_owner_is_gone(tmp_path):
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    manager = JobManager(settings, engine)
    host = socket.gethostname()
    now, old = utcnow(), utcnow() - dt.timedelta(minutes=5)
    owners = {
        "dead-pid-here": (f"{host}:999999:aaaa", now),  # a server of this host that has died
        "earlier-me": (f"{host}:{os.getpid()}:old1", now),  # this pid, another process (a restarted container)
        "no-owner": (None, None),  # a server before owners were kept
        "other-host-silent": ("elsewhere:12:bbbb", old),  # no heartbeat for 5 minutes
        "other-host-alive": ("elsewhere:13:cccc", now),  # another server process, beating
        "mine": (manager.owner, old),  # this process's own job is never failed by itself
    }
    with session_factory(engine)() as s:
        for job_id, (owner, beat) in owners.items():
            s.add(RunRecord(id=job_id, scenario_id="x", engine="sequential", time_limit=1.0, hint=False,
                            status=RUNNING, cancelled=False, created_at=now, started_at=now, owner=owner,
                            heartbeat_at=beat))
        s.commit()
    assert manager.recover() == 4
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(RunRecord.id, RunRecord.status)).all())
    assert statuses == {"dead-pid-here": FAILED, "earlier-me": FAILED, "no-owner": FAILED,
                        "other-host-silent": FAILED, "other-host-alive": RUNNING, "mine": RUNNING}


@needs_proc
def test_a_job_failed_through_another_process_has_its_worker_killed(service):
    """A cancel taken by another server process is only an update of the row: the owner sees it and ends
    its worker."""
    c, data_dir, city = service
    run = c.post(f"/scenarios/{city}/runs", json={"engine": "both"}).json()
    worker = wait_for(lambda: running_pid(c, RunRecord, run["id"]), timeout=30, step=0.02)
    other = make_engine(c.app.state.settings.db_url)
    with other.begin() as conn:
        conn.execute(update(RunRecord).where(RunRecord.id == run["id"], RunRecord.status == RUNNING)
                     .values(status=FAILED, cancelled=True, reason="cancelled on request"))
    other.dispose()
    wait_for(lambda: process_gone(worker), timeout=15)
    wait_for(lambda: run["id"] not in c.app.state.jobs.active, timeout=15)
    assert not (data_dir / "runs" / run["id"]).exists()
    assert c.get(f"/runs/{run['id']}").json()["status"] == "failed"


def test_the_owner_beats_for_its_running_jobs(service, monkeypatch):
    c, _, city = service
    run = c.post(f"/scenarios/{city}/runs", json={"engine": "both"}).json()
    wait_for(lambda: running_pid(c, RunRecord, run["id"]), timeout=30, step=0.02)
    with c.app.state.sessions() as s:
        row = s.get(RunRecord, run["id"])
        first, owner = row.heartbeat_at, row.owner
    assert owner == c.app.state.jobs.owner
    time.sleep(0.01)
    c.app.state.jobs.heartbeat()
    with c.app.state.sessions() as s:
        assert s.get(RunRecord, run["id"]).heartbeat_at > first
    assert c.post(f"/runs/{run['id']}/cancel").status_code == 200
