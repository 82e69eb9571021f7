"""Many runs as Dask tasks (issue #16.3) on a real cluster: a ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1 (started here, with the venv's Python; they import this project as installed), and the
same results as on a LocalCluster and as serial runs: the Monte Carlo of declines, the ratio sweep and a set of
what-ifs.  The cluster is not optional: this test never skips (under CI=true or not)."""

from __future__ import annotations

import operator
import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from scenarios import generate
from solver.analysis.distributed import SchedulerError, parse_scheduler, run_tasks
from solver.analysis.montecarlo import montecarlo
from solver.analysis.sweep import sweep

pytestmark = pytest.mark.dask_cluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    """The workers, then the scheduler: SIGTERM (dask closes cleanly), SIGKILL after 10 s."""
    for group in (procs[1:], procs[:1]):
        for p in group:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in group:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """tcp://127.0.0.1:PORT of a running scheduler with two single-threaded workers (no nanny: two worker
    processes), shut down after the module."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "ZHAOSHENG_DASK_SCHEDULER"}
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        log = open(tmp / "scheduler.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                       "--port", str(port), "--no-dashboard"], cwd=tmp, env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
        for i in range(2):
            log = open(tmp / f"worker-{i}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log)
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads",
                                           "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name",
                                           f"w{i}", "--local-directory", str(tmp / f"w{i}")], cwd=tmp, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        client = Client(address, timeout=60, set_as_default=False)
        try:
            client.wait_for_workers(2, timeout=120)
        finally:
            client.close()
        yield address
    except Exception:
        for f in sorted(tmp.glob("*.log")):
            print(f"--- {f.name}\n{f.read_text(errors='replace')}")
        raise
    finally:
        _stop(procs)
        for log in logs:
            log.close()


def executed(address: str) -> dict[str, int]:
    """Tasks each worker has run so far."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return client.run(lambda dask_worker: dask_worker.state.executed_count)


@pytest.fixture(scope="module")
def city():
    return generate(1500, regions=3, schools=6, seed=5)


def test_montecarlo_on_the_cluster_equals_local_and_serial(scheduler, city):
    before = executed(scheduler)
    remote = montecarlo(city, 0.05, 8, 9, scheduler=scheduler)
    after = executed(scheduler)
    assert remote.scheduler == scheduler and remote.workers == 2
    assert all(after[w] > before.get(w, 0) for w in after) and len(after) == 2  # both workers took draws
    serial = montecarlo(city, 0.05, 8, 9, serial=True)
    local = montecarlo(city, 0.05, 8, 9, workers=2)
    for other in (serial, local):
        pd.testing.assert_frame_equal(remote.schools, other.schools)
        pd.testing.assert_frame_equal(remote.regions, other.regions)
        pd.testing.assert_frame_equal(remote.per_draw, other.per_draw)


def test_the_sweep_on_the_cluster_equals_the_serial_sweep(scheduler, city):
    shares = [0.3, 0.4, 0.5, 0.6]
    remote = sweep(city, shares, scheduler=scheduler)
    serial = sweep(city, shares, workers=1)
    assert (remote.workers, remote.scheduler, serial.scheduler) == (2, scheduler, "in-process")
    pd.testing.assert_frame_equal(remote.table, serial.table)


def test_a_set_of_what_ifs_on_the_cluster_equals_the_serial_set(scheduler, city):
    from solver.analysis.whatif import whatif_set

    variants = [["quota.S001=-20%"], ["general_seats.R01=-10%"], ["decline_rate=0.1"]]
    remote = whatif_set(city, variants, seed=2, scheduler=scheduler)
    serial = whatif_set(city, variants, seed=2, serial=True)
    assert (remote.workers, remote.scheduler) == (2, scheduler)
    pd.testing.assert_frame_equal(remote.table(), serial.table())
    for a, b in zip(remote.reports, serial.reports):
        pd.testing.assert_frame_equal(a.changed, b.changed)
        pd.testing.assert_frame_equal(a.schools_by_batch, b.schools_by_batch)


def test_the_command_line_takes_the_scheduler(scheduler, tmp_path):
    from api.cli import cli

    folder = tmp_path / "sc"
    from models import write_scenario

    write_scenario(generate(400, regions=2, schools=4, seed=3), folder)
    res = CliRunner().invoke(cli, ["montecarlo", str(folder), "--draws", "6", "--scheduler", scheduler,
                                   "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    import json

    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["scheduler"] == scheduler and summary["workers"] == 2
    env_res = CliRunner().invoke(cli, ["sweep", str(folder), "--general-share", "0.4,0.5", "--out",
                                       str(tmp_path / "s"), "-q"], env={"ZHAOSHENG_DASK_SCHEDULER": scheduler})
    assert env_res.exit_code == 0, env_res.output
    assert json.loads((tmp_path / "s" / "summary.json").read_text(encoding="utf-8"))["scheduler"] == scheduler


def test_tasks_keep_the_order_of_their_items(scheduler):
    ran = run_tasks(operator.add, list(range(30)), 1000, scheduler=scheduler)  # a task: add(shared, item)
    assert ran.results == [1000 + x for x in range(30)] and ran.workers == 2


def test_a_scheduler_nobody_listens_on_is_an_error(tmp_path, monkeypatch):
    from api.cli import cli
    from solver.analysis import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 3.0)

    address = f"tcp://127.0.0.1:{free_port()}"
    t = time.perf_counter()
    with pytest.raises(SchedulerError, match="cannot be reached"):
        run_tasks(operator.add, [1], 0, scheduler=address)
    assert time.perf_counter() - t < 60
    with pytest.raises(SchedulerError):
        parse_scheduler("127.0.0.1:8786")
    assert parse_scheduler("") is None and parse_scheduler(" tcp://[::1]:8786 ") == "tcp://[::1]:8786"
    from models import write_scenario

    write_scenario(generate(200, regions=2, schools=3, seed=3), tmp_path / "sc")
    res = CliRunner().invoke(cli, ["montecarlo", str(tmp_path / "sc"), "--draws", "2", "--scheduler", address,
                                   "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 1 and "cannot be reached" in res.output
    for command in (["sweep", "--general-share", "0.4,0.5"], ["whatif", "--variant", "decline_rate=0.05"]):
        res = CliRunner().invoke(cli, [command[0], str(tmp_path / "sc"), *command[1:], "--scheduler", address,
                                       "--out", str(tmp_path / command[0]), "-q"])
        assert res.exit_code == 1 and "cannot be reached" in res.output, (command, res.output)


def test_the_service_runs_sweeps_and_draws_on_its_scheduler(scheduler, tmp_path):
    """ZHAOSHENG_DASK_SCHEDULER: the analysis worker sends a sweep's steps and a Monte Carlo's draws to the
    cluster, with the same files as in one process."""
    from api.service import Settings
    from models import load_scenario_data

    from api_helpers import service_with, wait_analysis
    from builders import scenario_dict, school, student

    data = scenario_dict([student("a", 90, ["A"]), student("b", 80, ["A"]), student("c", 70, ["B"], region="R2")],
                         [school("A", 1), school("B", 1, region="R2")], batches=2, name="tiny")
    settings = Settings(data_dir=tmp_path / "data", dask_scheduler=scheduler)
    with service_with(settings, data) as (c, scenario):
        started = {"montecarlo": c.post(f"/scenarios/{scenario}/montecarlo", json={"decline_rate": 0.5, "draws": 12}),
                   "sweep": c.post(f"/scenarios/{scenario}/sweep", json={"general_share": "0,0.5"})}
        bodies = {}
        for kind, r in started.items():
            assert r.status_code == 202, r.text
            body = wait_analysis(c, kind, r.json()["id"], timeout=120)
            assert body["status"] == "done", body
            assert body["summary"]["scheduler"] == scheduler and body["summary"]["workers"] == 2
            bodies[kind] = body
        draws = c.get(f"/montecarlo/{bodies['montecarlo']['id']}/montecarlo_draws.csv").content
    want = montecarlo(load_scenario_data(data), 0.5, 12, 1, serial=True)
    import io

    assert pd.read_csv(io.BytesIO(draws))["vacancies"].tolist() == want.per_draw["vacancies"].tolist()
