"""End to end (issue #5): a real ``zhaosheng serve`` on a free loopback port.  Upload a generated scenario,
run it with both engines, download admissions.csv and compare it with the CLI's; restart the server and
find the run still there; kill the server in the middle of a run and find the run failed, with its reason,
on the next start (and its worker gone)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.service.jobs import INTERRUPTED
from models import write_scenario
from scenarios import generate

from api_helpers import process_gone, wait_for, zip_folder

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m api.cli serve`` in a subprocess with its own data directory and SQLite file."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.db = tmp / "service.db"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> httpx.Client:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHAOSHENG_") or k == "ZHAOSHENG_CACHE"}
        env["ZHAOSHENG_DATA_DIR"] = str(self.tmp / "data")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.log_path = self.tmp / f"server-{port}.log"
        with open(self.log_path, "wb") as log:  # the server writes to its own copy of the file
            self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                                          "--database", f"sqlite:///{self.db}", "--log-level", "warning"],
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
        with sqlite3.connect(self.db) as conn:
            row = conn.execute("select status, pid, progress from runs where id = ?", (run_id,)).fetchone()
        if not row or row[0] != "running" or not row[1]:
            return None
        return row[1] if json.loads(row[2] or "{}").get("phase") not in (None, "starting", "loading the scenario") \
            else None


def wait_done(client: httpx.Client, run_id: str, timeout: float = 120) -> dict:
    return wait_for(lambda: (lambda b: b if b["status"] in ("done", "failed") else None)(
        client.get(f"/runs/{run_id}").json()), timeout=timeout, step=0.3)


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop(signal.SIGKILL)


def test_serve_run_download_restart(server, tmp_path):
    city = tmp_path / "city"
    write_scenario(generate(2000, regions=4, schools=8, seed=11), city)

    client = server.start()
    r = client.post("/scenarios", files={"file": ("city.zip", zip_folder(city), "application/zip")})
    assert r.status_code == 201, r.text
    scenario = r.json()["id"]
    r = client.post(f"/scenarios/{scenario}/runs", json={"engine": "both", "time_limit": 120})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    run = wait_done(client, r.json()["id"])
    assert run["status"] == "done", run
    assert run["verification"]["equal"] and run["verification"]["unique"]
    served = client.get(f"/runs/{run['id']}/admissions.csv").content

    cli = subprocess.run([sys.executable, "-m", "api.cli", "run", str(city), "--engine", "both", "--out",
                          str(tmp_path / "cli"), "--quiet"], cwd=ROOT, capture_output=True)
    assert cli.returncode == 0, cli.stderr.decode(errors="replace")
    assert served == (tmp_path / "cli" / "admissions.csv").read_bytes()
    assert client.get(f"/runs/{run['id']}/offers.csv").content == (tmp_path / "cli" / "offers.csv").read_bytes()

    client.close()
    server.stop()
    assert server.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its shutdown
    assert b"Traceback" not in server.log_path.read_bytes()
    client = server.start()  # a new process on a new port, the same database and data directory
    again = client.get(f"/runs/{run['id']}").json()
    assert again["status"] == "done" and again["summary"] == run["summary"]
    assert client.get(f"/runs/{run['id']}/admissions.csv").content == served
    page = client.get(f"/runs/{run['id']}/students", params={"limit": 10}).json()
    assert page["total"] == 2000 and len(page["items"]) == 10
    assert scenario in [s["id"] for s in client.get("/scenarios").json()["items"]]
    client.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_killed_server_leaves_the_run_failed_on_the_next_start(server, tmp_path):
    city = tmp_path / "city"
    write_scenario(generate(20_000, regions=4, schools=8, seed=12), city)
    client = server.start()
    scenario = client.post("/scenarios", files={"file": ("city.zip", zip_folder(city), "application/zip")}).json()["id"]
    run_id = client.post(f"/scenarios/{scenario}/runs", json={"engine": "both"}).json()["id"]
    worker = wait_for(lambda: server.working_pid(run_id), timeout=60, step=0.05)
    client.close()

    server.stop(signal.SIGKILL)  # no shutdown at all: the worker notices its parent is gone and ends
    wait_for(lambda: process_gone(worker), timeout=15)

    client = server.start()
    body = client.get(f"/runs/{run_id}").json()
    assert body["status"] == "failed" and body["reason"] == INTERRUPTED
    client.close()
