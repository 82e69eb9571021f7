"""What-if, sweep and bound over HTTP (issue #6): each a job in a worker process, whose files equal what
`solver.analysis.whatif`, `solver.analysis.sweep` and `solver.analysis.flow` write when called directly; bad
changes refused with their keys; the analyses table migrated (0002) and a running analysis failed on restart."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.service import Settings, create_app
from api.service.db import (
    MIGRATIONS,
    QUEUED,
    RUNNING,
    AnalysisRecord,
    Base,
    make_engine,
    session_factory,
    upgrade,
    utcnow,
)
from models import load_scenario, write_scenario
from scenarios import generate
from solver.analysis.whatif import whatif, write_whatif

from api_helpers import count_analyses, wait_analysis, zip_folder
from builders import contested

CHANGES = {"quota.S002": "-20%", "general_seats.R02": "+10", "subquota.S001.R01": 5, "decline_rate": 0.2}


@pytest.fixture(scope="module")
def scenario_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("analysis-scenario") / "city"
    write_scenario(generate(300, regions=3, schools=6, seed=1), folder)
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory, scenario_folder, backend):
    """One server for the module, with the scenario uploaded: (client, scenario id)."""
    data_dir = tmp_path_factory.mktemp("analysis-service")
    with TestClient(create_app(Settings(data_dir=data_dir, max_concurrent_runs=2))) as client:
        r = client.post("/scenarios", files={"file": ("city.zip", zip_folder(scenario_folder), "application/zip")})
        assert r.status_code == 201, r.text
        yield client, r.json()["id"]


def wait(client: TestClient, kind: str, analysis_id: str, timeout: float = 60) -> dict:
    return wait_analysis(client, kind, analysis_id, timeout)


# what-if --------------------------------------------------------------------------------------------------

def test_a_whatif_over_http_equals_the_function(service, scenario_folder, tmp_path):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/whatif", json={"changes": CHANGES, "seed": 3})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["kind"] == "whatif"
    assert r.headers["location"] == f"/whatif/{r.json()['id']}"
    body = wait(c, "whatif", r.json()["id"])
    assert body["status"] == "done", body
    assert body["progress"]["fraction"] == 1.0 and body["elapsed_seconds"] > 0
    assert body["params"] == {"changes": CHANGES, "seed": 3}

    direct = whatif(load_scenario(scenario_folder), CHANGES, seed=3)
    write_whatif(direct, tmp_path / "direct")
    base = f"/whatif/{body['id']}"
    for name in ("changes.csv", "regions_compare.csv", "schools_compare.csv", "schools_by_batch_compare.csv",
                 "baseline/admissions.csv", "variant/admissions.csv", "variant/schools.csv"):
        got = c.get(f"{base}/{name}")
        assert got.status_code == 200, name
        assert got.content == (tmp_path / "direct" / name).read_bytes(), name
    assert len(direct.changed) > 0  # the changes change something: the comparison above compares rows
    # the seed reaches the worker: another seed draws other decliners
    assert whatif(load_scenario(scenario_folder), CHANGES, seed=4).changed.equals(direct.changed) is False

    # the summary (and summary.json) is the function's; the regions side by side come with it
    expected = direct.summary()
    for key in ("changes", "totals", "vacancies", "changed_students", "changed_by_kind", "seed"):
        assert body["summary"][key] == expected[key], key
    assert c.get(f"{base}/summary.json").json()["totals"] == expected["totals"]
    regions = pd.read_csv(tmp_path / "direct" / "regions_compare.csv", dtype=str, keep_default_na=False)
    assert [row["region_id"] for row in body["regions"]] == list(regions["region_id"])
    assert [row["unplaced_variant"] for row in body["regions"]] == [int(v) for v in regions["unplaced_variant"]]
    assert {"changes.csv", "whatif.xlsx", "summary.json", "baseline/admissions.csv",
            "variant/admissions.csv"} <= body["files"].keys()
    xlsx = c.get(f"{base}/whatif.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert c.get(f"{base}/errors.csv").status_code == 404


def test_the_list_form_of_changes_gives_the_same_whatif(service):
    c, scenario = service
    ids = [c.post(f"/scenarios/{scenario}/whatif", json={"changes": changes}).json()["id"]
           for changes in ({"quota.S002": "-20%"}, ["quota.S002=-20%"])]
    bodies = [wait(c, "whatif", i) for i in ids]
    assert [b["status"] for b in bodies] == ["done", "done"]
    a, b = (c.get(f"/whatif/{i}/changes.csv").content for i in ids)
    assert a == b and a.count(b"\n") > 1


def test_bad_keys_and_values_are_422_naming_each_key_and_nothing_is_queued(service):
    c, scenario = service
    before = count_analyses(c)
    r = c.post(f"/scenarios/{scenario}/whatif",
               json={"changes": {"quotas.S001": "5", "quota.S002": "lots", "decline_rate": "2", "quota.S003": "+5"}})
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [p["column"] for p in problems] == ["quotas.S001", "quota.S002", "decline_rate"]
    assert all(p["file"] == "changes" for p in problems)
    assert "unknown key 'quotas.S001'" in problems[0]["message"]
    assert problems[1]["value"] == "lots" and problems[1]["clause"] == "R7"
    r = c.post(f"/scenarios/{scenario}/whatif", json={"changes": ["quota.S001", "subquota.S001=3"]})
    assert r.status_code == 422
    assert [(p["row"], p["column"]) for p in r.json()["problems"]] == [(1, None), (2, "subquota.S001")]
    r = c.post(f"/scenarios/{scenario}/whatif", json={"changes": {"quota.S001": 5}, "engine": "cpsat"})
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "body.engine"
    assert count_analyses(c) == before


def test_changes_only_the_scenario_can_refuse_fail_the_whatif_with_their_keys(service):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/whatif", json={"changes": {"quota.NOPE": "+10%", "quota.S001": 10}})
    assert r.status_code == 202  # a school's existence needs the scenario: checked in the worker
    body = wait(c, "whatif", r.json()["id"])
    assert body["status"] == "failed" and body["reason"].startswith("invalid change")
    columns = {p["column"] for p in body["problems"]}
    assert "quota.NOPE" in columns and any("NOPE" in p["message"] for p in body["problems"])
    # quota.S001 = 10 is below S001's sub-quotas (7 + 6): R8, blamed on its key
    r = c.post(f"/scenarios/{scenario}/whatif", json={"changes": ["quota.S001=10"]})
    body2 = wait(c, "whatif", r.json()["id"])
    assert body2["status"] == "failed" and [(p["column"], p["clause"]) for p in body2["problems"]] == \
        [("quota.S001", "R8")]
    assert set(body["files"]) == {"errors.csv", "summary.json"}
    errors = pd.read_csv(io.BytesIO(c.get(f"/whatif/{body['id']}/errors.csv").content), dtype=str)
    assert "quota.NOPE" in set(errors["column"])
    assert c.get(f"/whatif/{body['id']}/changes.csv").status_code == 404


# sweep and bound ----------------------------------------------------------------------------------------------

def test_a_sweep_runs_its_steps_and_writes_the_files(service):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/sweep", json={"general_share": "0.40:0.60:0.10"})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    body = wait(c, "sweep", r.json()["id"])
    assert body["status"] == "done", body
    s = body["summary"]
    assert s["steps"] == 3 and s["workers"] == 1
    assert [t["general_share"] for t in s["totals"]] == [0.4, 0.5, 0.6]
    general = [t["general"] for t in s["totals"]]
    assert general == sorted(general) and general[0] < general[-1]  # more seats, more general students
    base = f"/sweep/{body['id']}"
    table = pd.read_csv(io.BytesIO(c.get(f"{base}/sweep.csv").content))
    assert len(table) == 3 * 4  # three steps of three regions and the 合计 row
    png = c.get(f"{base}/sweep.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    html = c.get(f"{base}/sweep.html")
    assert html.status_code == 200 and b"plotly" in html.content.lower()
    assert html.headers["content-security-policy"] == "sandbox allow-scripts"
    assert set(body["files"]) == {"sweep.csv", "sweep.png", "sweep.html", "summary.json"}


@pytest.mark.parametrize("spec", ["0.6:0.4:0.1", "1.5", "abc", "0:1:0.001"])
def test_a_bad_general_share_is_422(service, spec):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/sweep", json={"general_share": spec})
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "body.general_share", r.text


def test_the_bound_is_never_below_the_rule(service):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/bound")
    assert r.status_code == 202, r.text
    body = wait(c, "bound", r.json()["id"])
    assert body["status"] == "done", body
    s = body["summary"]
    assert s["bound"] >= s["rule_placed"] > 0 and s["gap"] == s["bound"] - s["rule_placed"]
    assert s["rule_outside_network"] == 0
    schools = pd.read_csv(io.BytesIO(c.get(f"/bound/{body['id']}/bound_schools.csv").content), dtype={"school_id": str})
    assert list(schools["school_id"]) == [row["school_id"] for row in body["schools"]]
    assert c.get(f"/bound/{body['id']}/flows.csv").status_code == 200
    assert c.get(f"/bound/{body['id']}/bound.xlsx").content[:2] == b"PK"
    assert c.post(f"/scenarios/{scenario}/bound", json={"x": 1}).status_code == 422


# quota plan (计划优化) -------------------------------------------------------------------------------------

def test_a_plan_over_http_finds_the_proven_optimum(service):
    """The contested case of tests/analysis/test_plan.py: A popular (quota 2), B under-applied (quota 4);
    within -50%..+50% and a total of 6, first-choice's optimum is 4 (A at 3), proven, and the sequential
    re-run with the plan's quotas equals the prediction.  While the plan is queued or running its scenario
    cannot be deleted."""
    c, _ = service
    r = c.post("/scenarios", content=json.dumps(contested()), headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    scenario = r.json()["id"]
    r = c.post(f"/scenarios/{scenario}/plan", json={"total": 6, "objective": "first-choice", "min_change": "-50%",
                                                    "max_change": "+50%", "time_limit": 30})
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "plan", r.text
    assert r.headers["location"] == f"/plan/{r.json()['id']}"
    busy = c.delete(f"/scenarios/{scenario}")
    assert busy.status_code == 409 and busy.json()["jobs"][0]["kind"] == "quota plan", busy.text
    body = wait(c, "plan", r.json()["id"])
    assert body["status"] == "done", body
    s = body["summary"]
    assert s["status"] == "OPTIMAL" and s["objective_value"] == 4 and s["bound"] == 4
    assert s["baseline_objective_current_quotas"] == 3 and s["sequential re-run equals prediction"] is True
    assert [(q["school_id"], q["quota_before"], q["quota_after"], q["min"], q["max"]) for q in body["quotas"]] == [
        ("A", 2, 3, 1, 3), ("B", 4, 3, 2, 6)]
    for name in ("quotas.csv", "plan.xlsx", "summary.json", "admissions.csv", "schools.csv", "regions.csv"):
        assert body["files"][name] == f"/plan/{body['id']}/{name}"
    quotas = pd.read_csv(io.BytesIO(c.get(body["files"]["quotas.csv"]).content), dtype={"school_id": str})
    assert list(quotas["quota_after"]) == [3, 3]
    assert c.get(body["files"]["plan.xlsx"]).content[:2] == b"PK"
    schools = pd.read_csv(io.BytesIO(c.get(body["files"]["schools.csv"]).content), dtype={"school_id": str})
    assert list(schools["quota"]) == [3, 3]  # the re-run's files are those of the new quotas
    assert c.delete(f"/plan/{body['id']}").status_code == 204
    assert c.get(f"/plan/{body['id']}").status_code == 404
    assert c.delete(f"/scenarios/{scenario}").status_code == 204


def test_bad_plan_parameters_are_422_and_a_total_outside_the_bounds_fails_the_plan(service):
    c, scenario = service
    before = count_analyses(c)
    for body, column in (({"objective": "fastest"}, "body.objective"), ({"min_change": "+5%"}, "body.min_change"),
                         ({"max_change": "lots"}, "body.max_change"), ({"time_limit": 10**9}, "body.time_limit"),
                         ({"total": -1}, "body.total"), ({"colour": 1}, "body.colour")):
        r = c.post(f"/scenarios/{scenario}/plan", json=body)
        assert r.status_code == 422 and r.json()["problems"][0]["column"] == column, (body, r.text)
    assert count_analyses(c) == before
    r = c.post(f"/scenarios/{scenario}/plan", json={"total": 10**8, "time_limit": 5})
    assert r.status_code == 202, r.text
    assert r.json()["params"]["time_limit"] == 5 and r.json()["params"]["objective"] == "placed"
    body = wait(c, "plan", r.json()["id"])
    assert body["status"] == "failed" and body["reason"].startswith("invalid plan:"), body
    assert c.get(f"/plan/{body['id']}/summary.json").json()["status"] == "failed"


def test_unknown_ids_and_scenarios_are_404(service):
    c, scenario = service
    for path in ("/whatif/nope", "/sweep/nope", "/bound/nope", "/whatif/nope/changes.csv",
                 "/whatif/nope/baseline/admissions.csv", "/sweep/nope/sweep.png"):
        assert c.get(path).status_code == 404, path
    for kind, body in (("whatif", {"changes": {}}), ("sweep", {"general_share": "0.5"}), ("bound", None)):
        assert c.post(f"/scenarios/no-such-city/{kind}", json=body).status_code == 404
    # an id of another kind is not found either
    bound_id = c.post(f"/scenarios/{scenario}/bound").json()["id"]
    assert c.get(f"/sweep/{bound_id}").status_code == 404
    assert c.get(f"/whatif/{bound_id}/summary.json").status_code == 404
    wait(c, "bound", bound_id)
    health = c.get("/health").json()
    assert health["analyses_running"] == health["analyses_queued"] == 0


def test_the_token_is_required_when_set(tmp_path, scenario_folder):
    with TestClient(create_app(Settings(data_dir=tmp_path, api_token="s3cret"))) as c:
        assert c.post("/scenarios/jiaozuo-2022/bound").status_code == 401
        assert c.post("/scenarios/jiaozuo-2022/whatif", json={"changes": {}}).status_code == 401
        assert c.get("/whatif/x").status_code == 401
        assert c.get("/sweep/x/sweep.csv").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert c.get("/bound/x", headers=auth).status_code == 404
        assert count_analyses(c) == 0
        paths = c.get("/openapi.json", headers=auth).json()["paths"]
        assert {"/scenarios/{scenario_id}/whatif", "/whatif/{analysis_id}",
                "/whatif/{analysis_id}/variant/admissions.csv", "/sweep/{analysis_id}/sweep.html",
                "/bound/{analysis_id}/flows.csv"} <= paths.keys()


# restart and storage --------------------------------------------------------------------------------------------

def test_a_restart_fails_the_running_analysis_and_runs_the_queued_one(tmp_path, scenario_folder):
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    with session_factory(engine)() as s:  # as a server killed in the middle leaves them
        s.add_all([AnalysisRecord(id="was-running", kind="sweep", scenario_id="jiaozuo-2022",
                                  params={"general_share": "0.5"}, status=RUNNING, created_at=utcnow(),
                                  started_at=utcnow(), pid=999999),
                   AnalysisRecord(id="was-queued", kind="whatif", scenario_id="missing-upload",
                                  params={"changes": {}, "seed": 0}, status=QUEUED, created_at=utcnow())])
        s.commit()
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        running = c.get("/sweep/was-running").json()
        assert running["status"] == "failed" and running["reason"].startswith("interrupted")
        queued = wait(c, "whatif", "was-queued")  # started again: it fails here as its scenario is gone
        assert queued["status"] == "failed" and queued["started_at"] is not None
        assert "interrupted" not in queued["reason"]


def test_migration_0002_builds_the_analyses_table(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path).db_url)  # SQLite, or the test's PostgreSQL
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == "0002"
    assert "analyses" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "analyses" not in inspect(engine).get_table_names() and "runs" in inspect(engine).get_table_names()
    upgrade(engine)
    assert "analyses" in inspect(engine).get_table_names()
