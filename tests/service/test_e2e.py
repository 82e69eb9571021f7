"""End to end (issue #5): a real ``zhaosheng serve`` on a free loopback port.  Upload a generated scenario,
run it with both engines, download admissions.csv and compare it with the CLI's; restart the server and
find the run still there; kill the server in the middle of a run and find the run failed, with its reason,
on the next start (and its worker gone).  On SQLite (a file of the test's own) and on PostgreSQL (the test's
database, `conftest.database`)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from api.service.jobs import INTERRUPTED
from models import write_scenario
from scenarios import generate

from api_helpers import ROOT, Server, process_gone, wait_done, wait_for, zip_folder


@pytest.fixture
def server(tmp_path, database):
    s = Server(tmp_path, database)
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
