"""Helpers of the service tests: zipped scenario folders, uploads, waiting for runs and processes, a real
server in a subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.service import Settings, create_app
from api.service.db import RunRecord, make_engine
from models import write_scenario
from scenarios import generate

from builders import region, scenario_dict, school, student


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + str(path.relative_to(folder)))
    return buf.getvalue()


@contextmanager
def service_with(where: Path | Settings, scenario: dict) -> Iterator[tuple[TestClient, str]]:
    """An app on a data directory (or with these settings) with ``scenario`` (a scenario as JSON) uploaded:
    (client, scenario id)."""
    with TestClient(create_app(where if isinstance(where, Settings) else Settings(data_dir=where))) as client:
        r = client.post("/scenarios", content=json.dumps(scenario), headers={"content-type": "application/json"})
        assert r.status_code == 201, r.text
        yield client, r.json()["id"]


def wait_run(client: TestClient, run_id: str, timeout: float = 90) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = client.get(f"/runs/{run_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end in {timeout} s: {body}")


def wait_analysis(client: TestClient, kind: str, analysis_id: str, timeout: float = 90) -> dict:
    """The body of ``GET /{kind}/{id}`` (whatif, sweep, bound, plan, compare, montecarlo) once it is done or
    failed."""
    end = time.monotonic() + timeout
    body = None
    while time.monotonic() < end:
        body = client.get(f"/{kind}/{analysis_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{kind} {analysis_id} did not end in {timeout} s: {body}")


def count_analyses(client: TestClient) -> int:
    """Analyses stored (queued, running or ended) in the app's database."""
    from sqlalchemy import func, select

    from api.service.db import AnalysisRecord

    with client.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(AnalysisRecord))


def small() -> dict:
    """A valid hand-made scenario in the JSON form: two regions, three schools, five students."""
    return scenario_dict(
        regions=[region("R1"), region("R2")],
        schools=[school("A", 2), school("B", 1), school("C", 1, region="R2")],
        students=[student("s1", 90, ["A", "B"]), student("s2", 80, ["B"], region="R2"),
                  student("s3", 70, ["C"]), student("s4", 60, ["A", "C"]), student("s5", 50, ["B"])],
        batches=2)


def upload(client, tmp_path: Path, students: int, seed: int = 1) -> str:
    folder = tmp_path / f"city-{students}-{seed}"
    write_scenario(generate(students, regions=3, schools=6, seed=seed), folder)
    r = client.post("/scenarios", files={"file": ("city.zip", zip_folder(folder), "application/zip")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_for(predicate, timeout: float = 30, step: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def process_gone(pid: int) -> bool:
    """Reaped, or at least no longer running (a zombie waits for its parent's join)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return True
    try:
        return "\nState:\tZ" in status.read_text()
    except OSError:
        return True


needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m api.cli serve`` in a subprocess on a free loopback port, with its data directory
    (``tmp/data`` unless given: several servers may share one) and database (a SQLite file in ``tmp``, or
    ``db_url``); ``env`` adds ``ZHAOSHENG_*`` settings."""

    def __init__(self, tmp: Path, db_url: str | None = None, data_dir: Path | None = None,
                 env: dict[str, str] | None = None):
        self.tmp = tmp
        self.db_url = db_url or f"sqlite:///{tmp / 'service.db'}"
        self.data_dir = data_dir or tmp / "data"
        self.extra = env or {}
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> httpx.Client:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
        env.update(self.extra, ZHAOSHENG_DATA_DIR=str(self.data_dir))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.log_path = self.tmp / f"server-{port}.log"
        with open(self.log_path, "wb") as log:  # the server writes to its own copy of the file
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                                          "--database", self.db_url, "--log-level", "warning"],
                                         cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=self.url, timeout=30)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {self.output()}")
            try:
                return client.get("/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=60, step=0.2)
        return client

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def working_pid(self, run_id: str) -> int | None:
        """The pid of the run's worker once it is at work (past loading), else None."""
        engine = make_engine(self.db_url, pooled=False)
        try:
            with engine.connect() as conn:
                row = conn.execute(select(RunRecord.status, RunRecord.pid, RunRecord.progress)
                                   .where(RunRecord.id == run_id)).first()
        finally:
            engine.dispose()
        if not row or row.status != "running" or not row.pid:
            return None
        return row.pid if (row.progress or {}).get("phase") not in (None, "starting", "loading the scenario") \
            else None


def wait_done(client: httpx.Client, run_id: str, timeout: float = 120) -> dict:
    return wait_for(lambda: (lambda b: b if b["status"] in ("done", "failed") else None)(
        client.get(f"/runs/{run_id}").json()), timeout=timeout, step=0.3)
