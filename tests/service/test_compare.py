"""The mechanism comparison over HTTP (issue #15.3): ``POST /scenarios/{id}/compare`` queues a job whose files
equal what `solver.analysis.compare` writes when called directly; the hand-made case's gains and losses in
the answer; bad mechanisms 422 with nothing queued; cancelled, deleted and 404 like the other analyses; its
scenario cannot be deleted while it is queued."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from models import load_scenario_data
from solver.analysis.compare import CAVEAT, COMPARE_FILES, compare, parse_mechanisms

from api_helpers import count_analyses, service_with, wait_analysis
from builders import scenario_dict, school, student


def tiny() -> dict:
    """tests/analysis/test_compare.py: boston gives s:B, q:A (p unplaced); parallel s:B, p:A (q unplaced)."""
    return scenario_dict(students=[student("s", 95, ["B"]), student("p", 90, ["B", "A"]), student("q", 80, ["A"])],
                         schools=[school("A", 1), school("B", 1)], name="tiny")


@pytest.fixture(scope="module")
def service(tmp_path_factory, backend):
    """One server for the module with the tiny scenario uploaded: (client, scenario id)."""
    with service_with(tmp_path_factory.mktemp("compare-service"), tiny()) as uploaded:
        yield uploaded


def wait(client: TestClient, analysis_id: str, timeout: float = 90) -> dict:
    return wait_analysis(client, "compare", analysis_id, timeout)


count = count_analyses


def test_a_comparison_over_http_equals_the_function(service, tmp_path):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/compare", json={"mechanisms": "boston, parallel,chen-kesten:2"})
    assert r.status_code == 202 and r.json()["status"] == "queued" and r.json()["kind"] == "compare", r.text
    assert r.headers["location"] == f"/compare/{r.json()['id']}"
    assert r.json()["params"] == {"mechanisms": ["boston", "parallel", "chen-kesten:2"], "band": 10.0}
    body = wait(c, r.json()["id"])
    assert body["status"] == "done", body
    s = body["summary"]
    assert s["mechanisms"] == ["boston", "parallel", "chen-kesten:2"] and s["caveat"] == CAVEAT
    assert s["figures"]["boston"]["justified_envy_students"] == 1
    assert s["figures"]["parallel"]["justified_envy_students"] == 0
    assert [(m["mechanism"], m["justified_envy_students"], m["placed_first_choice"]) for m in body["mechanisms"]] == [
        ("boston", 1, 2), ("parallel", 0, 1), ("chen-kesten:2", 0, 1)]
    assert [(p["mechanism_a"], p["mechanism_b"], p["gain"], p["lose"], p["move"]) for p in body["pairs"]] == [
        ("boston", "parallel", 1, 1, 0), ("boston", "chen-kesten:2", 1, 1, 0), ("parallel", "chen-kesten:2", 0, 0, 0)]
    assert set(body["files"]) == set(COMPARE_FILES)

    direct = compare(load_scenario_data(tiny()), parse_mechanisms("boston,parallel,chen-kesten:2"))
    moves = pd.read_csv(io.BytesIO(c.get(body["files"]["moves.csv"]).content), encoding="utf-8-sig", dtype=str)
    assert list(zip(moves["mechanism_b"], moves["student_id"], moves["change"])) == list(
        zip(direct.moves["mechanism_b"], direct.moves["student_id"], direct.moves["change"]))
    pairs = pd.read_csv(io.BytesIO(c.get(body["files"]["pairs.csv"]).content), encoding="utf-8-sig")
    assert pairs["gain"].tolist() == direct.pairs["gain"].tolist()
    book = openpyxl.load_workbook(io.BytesIO(c.get(body["files"]["compare.xlsx"]).content))
    assert book.sheetnames[0] == "说明" and "各机制" in book.sheetnames
    png = c.get(body["files"]["compare.png"])
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    html = c.get(body["files"]["compare.html"])
    assert html.status_code == 200 and html.headers["content-security-policy"] == "sandbox allow-scripts"
    assert c.get(body["files"]["summary.json"]).json()["peak_memory_mib"] > 0

    assert c.delete(f"/compare/{body['id']}").status_code == 204
    assert c.get(f"/compare/{body['id']}").status_code == 404


def test_the_list_form_and_the_default(service):
    c, scenario = service
    r = c.post(f"/scenarios/{scenario}/compare", json={"mechanisms": ["平行志愿", "boston"], "band": 5})
    assert r.status_code == 202 and r.json()["params"] == {"mechanisms": ["parallel", "boston"], "band": 5.0}, r.text
    body = wait(c, r.json()["id"])
    assert body["status"] == "done" and body["summary"]["score_band"] == 5
    assert [(p["gain"], p["lose"]) for p in body["pairs"]] == [(1, 1)]
    default = c.post(f"/scenarios/{scenario}/compare")
    assert default.status_code == 202 and default.json()["params"]["mechanisms"] == ["boston", "parallel"]
    assert wait(c, default.json()["id"])["status"] == "done"


@pytest.mark.parametrize("body,message", [
    ({"mechanisms": "boston"}, "at least two mechanisms"),
    ({"mechanisms": "boston,chen-kesten"}, "chen-kesten needs its block size E"),
    ({"mechanisms": ["boston", "lottery"]}, "'lottery' is not a mechanism"),
    ({"mechanisms": "boston,boston"}, "boston is given twice"),
])
def test_bad_mechanisms_are_422_and_nothing_is_queued(service, body, message):
    c, scenario = service
    before = count(c)
    r = c.post(f"/scenarios/{scenario}/compare", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()["problems"][0]
    assert problem["column"] == "body.mechanisms" and message in problem["message"]
    assert count(c) == before


def test_bad_bodies_are_422(service):
    c, scenario = service
    for body in ({"band": 0}, {"band": -5}, {"mechanisms": 3}, {"colour": "red"}):
        assert c.post(f"/scenarios/{scenario}/compare", json=body).status_code == 422, body


def test_a_queued_comparison_holds_its_scenario_and_is_cancelled_then_deleted(service, monkeypatch):
    c, _ = service
    r = c.post("/scenarios", content=json.dumps(tiny()), headers={"content-type": "application/json"})
    scenario = r.json()["id"]
    monkeypatch.setattr(c.app.state.jobs, "_dispatch", lambda: None)  # a busy server: it stays queued
    job = c.post(f"/scenarios/{scenario}/compare", json={"mechanisms": "boston,parallel"}).json()
    assert job["status"] == "queued"
    busy = c.delete(f"/scenarios/{scenario}")
    assert busy.status_code == 409 and busy.json()["jobs"][0]["kind"] == "mechanism comparison", busy.text
    assert c.delete(f"/compare/{job['id']}").status_code == 409  # queued: cancel it first
    cancelled = c.post(f"/compare/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"], cancelled.text
    assert c.get(f"/compare/{job['id']}/summary.json").json()["status"] == "failed"
    assert c.get(f"/compare/{job['id']}/moves.csv").status_code == 404
    assert c.delete(f"/compare/{job['id']}").status_code == 204
    assert c.delete(f"/scenarios/{scenario}").status_code == 204


def test_unknown_ids_and_scenarios_are_404(service):
    c, _ = service
    assert c.get("/compare/nope").status_code == 404
    assert c.get("/compare/nope/compare.xlsx").status_code == 404
    assert c.post("/scenarios/no-such-city/compare", json={"mechanisms": "boston,parallel"}).status_code == 404
    paths = c.get("/openapi.json").json()["paths"]
    assert {"/scenarios/{scenario_id}/compare", "/compare/{analysis_id}", "/compare/{analysis_id}/cancel",
            "/compare/{analysis_id}/moves.csv", "/compare/{analysis_id}/compare.png"} <= paths.keys()
