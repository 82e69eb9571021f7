"""The Monte Carlo of declines over HTTP (issue #16.3): ``POST /scenarios/{id}/montecarlo`` queues a job whose
files equal what `solver.analysis.montecarlo` writes when called directly (in the job's worker process: no
Dask scheduler is set); a bad rate or draws 422 with nothing queued; a bad ZHAOSHENG_DASK_SCHEDULER refused at
start.  (The service on a real Dask cluster: tests/analysis/test_distributed.py.)"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.service import Settings
from models import load_scenario_data
from solver.analysis.montecarlo import MONTECARLO_FILES, montecarlo

from api_helpers import count_analyses, service_with, wait_analysis
from builders import scenario_dict, school, student


def tiny() -> dict:
    """tests/analysis/test_montecarlo.py: A stays empty when a declines in batch 1 and b in batch 2."""
    return scenario_dict([student("a", 90, ["A"]), student("b", 80, ["A"])], [school("A", 1)], batches=2,
                         name="tiny")


@pytest.fixture(scope="module")
def service(tmp_path_factory, backend):
    """One server for the module with the tiny scenario uploaded: (client, scenario id)."""
    with service_with(tmp_path_factory.mktemp("montecarlo-service"), tiny()) as uploaded:
        yield uploaded


def wait(client: TestClient, analysis_id: str, timeout: float = 90) -> dict:
    return wait_analysis(client, "montecarlo", analysis_id, timeout)


count = count_analyses


def test_a_monte_carlo_over_http_equals_the_function(service):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/montecarlo", json={"decline_rate": "50%", "draws": 30, "seed": 5})
    assert r.status_code == 202 and r.json()["kind"] == "montecarlo", r.text
    assert r.json()["params"] == {"decline_rate": 0.5, "draws": 30, "seed": 5, "keep_declines": False}
    body = wait(c, r.json()["id"])
    assert body["status"] == "done", body
    summary = body["summary"]
    assert summary["draws"] == 30 and summary["scheduler"] == "in-process" and summary["workers"] == 1
    assert summary["peak_memory_mib"] > 0
    assert set(body["files"]) == set(MONTECARLO_FILES)
    want = montecarlo(load_scenario_data(tiny()), 0.5, 30, 5, serial=True)
    got = pd.read_csv(io.BytesIO(c.get(f"/montecarlo/{body['id']}/montecarlo_schools.csv").content),
                      dtype={"school_id": str})
    assert got["vacancies_mean"].tolist() == want.schools["vacancies_mean"].tolist()
    assert got["fill_probability"].tolist() == want.schools["fill_probability"].tolist()
    draws = pd.read_csv(io.BytesIO(c.get(f"/montecarlo/{body['id']}/montecarlo_draws.csv").content))
    assert draws["vacancies"].tolist() == want.per_draw["vacancies"].tolist()
    assert body["regions"][-1]["name"] == "合计" and "enrollment_rate_p95" in body["regions"][-1]
    png = c.get(f"/montecarlo/{body['id']}/montecarlo.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


@pytest.mark.parametrize("payload", [{"decline_rate": 1.5}, {"decline_rate": "-1%"}, {"decline_rate": "x"},
                                     {"draws": 0}, {"seed": -1}, {"rate": 0.1}])
def test_bad_parameters_are_422_and_nothing_is_queued(service, payload):
    c, scenario = service
    before = count(c)
    r = c.post(f"/scenarios/{scenario}/montecarlo", json=payload)
    assert r.status_code == 422, r.text
    assert count(c) == before


def test_a_bad_scheduler_setting_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        Settings(data_dir=tmp_path, dask_scheduler="somewhere:8786")
    assert Settings(data_dir=tmp_path, dask_scheduler="").dask_scheduler is None
    assert Settings(data_dir=tmp_path, dask_scheduler="tcp://10.0.0.5:8786").dask_scheduler == "tcp://10.0.0.5:8786"
