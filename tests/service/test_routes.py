"""The service's routes through FastAPI's TestClient (issue #5): scenarios uploaded in the three forms of
docs/formats.md, invalid ones refused with the loader's row-level problems, runs whose results equal what the
CLI's `solver.run` writes, the paged JSON views, audits, deletion, and errors without stack traces.

The runs here are real: each goes through the job manager into a worker process."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.service import Settings, create_app
from api.service.db import RUNNING, RunRecord, utcnow
from models import ScenarioError, load_scenario, write_scenario
from models.results import read_result_csv
from scenarios import generate

from api_helpers import small, wait_run, zip_folder
from builders import write_csv_folder, write_workbook


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, backend) -> Path:
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="module")
def client(data_dir):
    app = create_app(Settings(data_dir=data_dir, max_concurrent_runs=2))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated city (1,500 students) as a docs/formats.md folder."""
    folder = tmp_path_factory.mktemp("generated") / "city"
    write_scenario(generate(1500, regions=3, schools=6, seed=5), folder)
    return folder


@pytest.fixture(scope="module")
def finished(client, generated) -> dict:
    """The generated city uploaded as a zip and run with the sequential engine to the end."""
    r = client.post("/scenarios", files={"file": ("city.zip", zip_folder(generated), "application/zip")})
    assert r.status_code == 201, r.text
    scenario_id = r.json()["id"]
    r = client.post(f"/scenarios/{scenario_id}/runs", json={"engine": "sequential"})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    run = wait_run(client, r.json()["id"])
    assert run["status"] == "done", run
    return run


# The service -------------------------------------------------------------------------------------------

def test_health_openapi_and_docs(client):
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/scenarios", "/scenarios/{scenario_id}/runs", "/runs/{run_id}", "/runs/{run_id}/admissions.csv",
                 "/runs/{run_id}/students", "/runs/{run_id}/cancel", "/scenarios/{scenario_id}/audits"):
        assert path in paths
    assert "swagger" in client.get("/docs").text.lower()


def test_errors_are_json_without_a_stack_trace(data_dir):
    app = create_app(Settings(data_dir=data_dir))

    def boom():
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.json()["detail"] == "internal server error" and r.json()["error_id"]
    assert "Traceback" not in r.text and "secret internals" not in r.text


# Scenarios ---------------------------------------------------------------------------------------------

def test_bundled_scenarios_are_listed_and_kept(client):
    listed = client.get("/scenarios").json()
    bundled = {s["id"]: s for s in listed["items"] if s["bundled"]}
    assert set(bundled) == {"jiaozuo-2022", "hengyang-2021", "hengyang-2021-parallel"}
    assert "平行志愿" in bundled["hengyang-2021-parallel"]["title"]
    hy = client.get("/scenarios/hengyang-2021").json()
    assert hy["info"]["year"] == 2021 and [b["id"] for b in hy["info"]["batches"]] == [1, 2, 3]
    assert client.delete("/scenarios/hengyang-2021").status_code == 409
    assert client.get("/scenarios/no-such-thing").status_code == 404


@pytest.mark.parametrize("form", ["zip", "zip-in-folder", "xlsx", "json-body", "json-file"])
def test_upload_each_form(client, tmp_path, form):
    data = small()
    if form.startswith("zip"):
        body = zip_folder(write_csv_folder(data, tmp_path / "s"), "my-city/" if form == "zip-in-folder" else "")
        r = client.post("/scenarios", files={"file": ("s.zip", body, "application/zip")})
    elif form == "xlsx":
        body = write_workbook(data, tmp_path / "s.xlsx").read_bytes()
        r = client.post("/scenarios", files={"file": ("plan.xlsx", body, "application/octet-stream")})
    elif form == "json-body":
        r = client.post("/scenarios", json=data)
    else:
        r = client.post("/scenarios", files={"file": ("s.json", json.dumps(data).encode(), "application/json")})
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/scenarios/{created['id']}"
    assert created["info"]["counts"]["students"] == 5 and created["info"]["counts"]["schools"] == 3
    assert created["format"] == {"zip": "folder", "zip-in-folder": "folder", "xlsx": "xlsx"}.get(form, "json")
    assert client.get(f"/scenarios/{created['id']}").json()["name"] == "test"
    assert created["id"] in {s["id"] for s in client.get("/scenarios", params={"limit": 1000}).json()["items"]}


def test_invalid_scenario_is_422_with_the_loaders_row_level_problems(client, data_dir, tmp_path):
    data = small()
    data["students"][2]["score"] = "abc"  # students.csv row 4
    data["schools"][1]["quota"] = ""  # schools.csv row 3: a quota is never defaulted
    folder = write_csv_folder(data, tmp_path / "bad")
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    before = client.get("/scenarios").json()["total"]

    r = client.post("/scenarios", files={"file": ("bad.zip", zip_folder(folder), "application/zip")})
    assert r.status_code == 422
    problems = r.json()["problems"]
    expected = [{"severity": p.severity, "file": p.file, "row": p.row, "column": p.column, "value": p.value,
                 "clause": p.clause, "message": p.message} for p in info.value.problems]
    assert problems == expected
    assert {(p["file"], p["row"], p["column"]) for p in problems} >= {("students.csv", 4, "score"),
                                                                       ("schools.csv", 3, "quota")}
    assert client.get("/scenarios").json()["total"] == before  # nothing stored
    assert not list((data_dir / "uploads").glob("*/*"))


def test_invalid_json_body_is_422(client):
    r = client.post("/scenarios", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["problems"][0]["clause"] == "FORMATS"
    r = client.post("/scenarios", json={"regions": []})
    assert r.status_code == 422
    assert any(p["column"] == "scenario" for p in r.json()["problems"])
    assert client.post("/scenarios", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    r = client.post("/scenarios", files={"other": ("s.zip", b"PK", "application/zip")})
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "file"


# Runs --------------------------------------------------------------------------------------------------

def test_run_results_equal_the_clis_files(client, data_dir, finished, generated, tmp_path):
    from solver.run import run as run_scenario
    from solver.run import write_outputs

    out = write_outputs(run_scenario(load_scenario(generated), "sequential"), tmp_path / "cli")
    for name in ("admissions.csv", "offers.csv", "schools.csv", "subquotas.csv", "regions.csv", "warnings.csv"):
        r = client.get(f"/runs/{finished['id']}/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content == (out / name).read_bytes(), name
    r = client.get(f"/runs/{finished['id']}/progress.xlsx")
    assert r.status_code == 200 and zipfile.is_zipfile(io.BytesIO(r.content))
    summary = client.get(f"/runs/{finished['id']}/summary.json").json()
    assert summary["status"] == "done" and summary == finished["summary"]
    assert set(finished["files"]) >= {"admissions.csv", "offers.csv", "schools.csv", "regions.csv", "progress.xlsx"}
    assert finished["progress"]["fraction"] == 1.0 and finished["elapsed_seconds"] > 0
    assert finished["timings"]["engine"] >= 0 and finished["verification"] is None  # one engine: no verdict


def test_students_view_pages_and_filters(client, finished, generated):
    adm = read_result_csv(_saved(client, finished["id"], "admissions.csv"))
    run = finished["id"]
    first = client.get(f"/runs/{run}/students", params={"limit": 1000}).json()
    rows = first["items"]
    offset = len(rows)
    while offset < first["total"]:
        rows += client.get(f"/runs/{run}/students", params={"offset": offset, "limit": 1000}).json()["items"]
        offset += 1000
    assert first["total"] == len(adm) == len(rows)
    assert [r["student_id"] for r in rows] == adm["student_id"].tolist()
    assert [r["outcome"] for r in rows] == adm["outcome"].tolist()
    assert [r["school_id"] or "" for r in rows] == adm["school_id"].tolist()

    voc = adm[adm["outcome"] == "vocational"]
    region_id, school_id = voc["region_id"].iloc[0], voc["school_id"].iloc[0]
    page = client.get(f"/runs/{run}/students", params={"outcome": "vocational", "limit": 5, "offset": 3}).json()
    assert page["total"] == len(voc)
    assert [r["student_id"] for r in page["items"]] == voc["student_id"].iloc[3:8].tolist()
    picked = adm[(adm["region_id"] == region_id) & (adm["school_id"] == school_id)]
    page = client.get(f"/runs/{run}/students", params={"region": region_id, "school": school_id, "limit": 1000}).json()
    assert page["total"] == len(picked) > 0
    assert all(r["region_id"] == region_id and r["school_id"] == school_id for r in page["items"])
    one = client.get(f"/runs/{run}/students", params={"student": voc["student_id"].iloc[0]}).json()["items"]
    assert one[0]["batch"] == int(voc["batch"].iloc[0]) and one[0]["choice_rank"] == int(voc["choice_rank"].iloc[0])
    assert client.get(f"/runs/{run}/students", params={"outcome": "admitted"}).status_code == 422
    assert client.get(f"/runs/{run}/students", params={"limit": 100000}).status_code == 422


def _saved(client, run_id, name) -> io.BytesIO:
    return io.BytesIO(client.get(f"/runs/{run_id}/{name}").content)


def test_schools_and_regions_views(client, finished):
    run = finished["id"]
    schools = pd.read_csv(_saved(client, run, "schools.csv"), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    page = client.get(f"/runs/{run}/schools").json()
    assert page["total"] == len(schools) == 6
    assert [s["school_id"] for s in page["items"]] == schools["school_id"].tolist()
    assert [s["quota"] for s in page["items"]] == schools["quota"].astype(int).tolist()
    some_region = schools["region_id"][schools["region_id"] != ""].iloc[0]
    page = client.get(f"/runs/{run}/schools", params={"region": some_region}).json()
    assert page["total"] == int((schools["region_id"] == some_region).sum())
    regions = client.get(f"/runs/{run}/regions").json()
    assert regions["total"] == 3 and {"general_vocational_ratio", "enrollment_rate"} <= set(regions["items"][0])


def _all_pages(client, path: str, params: dict, limit: int) -> list[dict]:
    rows: list[dict] = []
    while True:
        page = client.get(path, params={**params, "offset": len(rows), "limit": limit}).json()
        rows += page["items"]
        if len(rows) >= page["total"] or not page["items"]:
            return rows


def test_students_sorted_on_the_server_across_pages(client, finished, generated):
    """sort=-score (or sort=score&order=desc): the pages, joined, are the whole table sorted by score with
    ties by student_id; any column sorts, an unknown one is 422."""
    run = finished["id"]
    students = load_scenario(generated).students
    score = dict(zip(students["student_id"].astype(str), students["score"].astype(float)))
    adm = read_result_csv(_saved(client, run, "admissions.csv"))
    expected = sorted(adm["student_id"].astype(str), key=lambda s: (score[s], s), reverse=True)
    for params in ({"sort": "-score"}, {"sort": "score", "order": "desc"}):
        rows = _all_pages(client, f"/runs/{run}/students", params, 97)
        assert [r["student_id"] for r in rows] == expected
        assert [r["score"] for r in rows] == [score[s] for s in expected]
    rows = _all_pages(client, f"/runs/{run}/students", {"sort": "score"}, 250)
    assert [r["student_id"] for r in rows] == expected[::-1]
    voc = _all_pages(client, f"/runs/{run}/students", {"outcome": "vocational", "sort": "-school_id"}, 40)
    keys = [(r["school_id"], r["student_id"]) for r in voc]
    assert keys == sorted(keys, reverse=True) and len(voc) == int((adm["outcome"] == "vocational").sum())
    r = client.get(f"/runs/{run}/students", params={"sort": "password"})
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "query.sort"
    assert client.get(f"/runs/{run}/students", params={"sort": "-score", "order": "asc"}).status_code == 422
    assert client.get(f"/runs/{run}/students", params={"sort": "score", "order": "up"}).status_code == 422


def test_schools_regions_and_subquotas_sorted_on_the_server(client, finished):
    run = finished["id"]
    schools = pd.read_csv(_saved(client, run, "schools.csv"), dtype={"school_id": str}, encoding="utf-8-sig")
    rows = _all_pages(client, f"/runs/{run}/schools", {"sort": "-fill_rate"}, 4)
    expected = sorted(zip(schools["fill_rate"], schools["school_id"]), reverse=True)
    assert [(r["fill_rate"], r["school_id"]) for r in rows] == expected
    rows = _all_pages(client, f"/runs/{run}/schools", {"sort": "name"}, 4)
    assert [r["name"] for r in rows] == sorted(schools["name"])
    rows = _all_pages(client, f"/runs/{run}/schools", {"sort": "quota", "order": "desc"}, 1)
    assert [r["quota"] for r in rows] == sorted(schools["quota"], reverse=True)
    regions = _all_pages(client, f"/runs/{run}/regions", {"sort": "-graduates"}, 2)
    assert [r["graduates"] for r in regions] == sorted((r["graduates"] for r in regions), reverse=True)
    assert len(regions) == 3
    assert client.get(f"/runs/{run}/subquotas", params={"sort": "-quota"}).status_code == 200
    r = client.get(f"/runs/{run}/schools", params={"sort": "nope"})
    assert r.status_code == 422 and "fill_rate" in r.json()["problems"][0]["message"]
    assert client.get(f"/runs/{run}/regions", params={"sort": "-nope"}).status_code == 422


def test_run_requests_are_validated(client, finished):
    scenario = finished["scenario_id"]
    r = client.post(f"/scenarios/{scenario}/runs", json={"engine": "fast"})
    assert r.status_code == 422 and r.json()["problems"][0]["column"] == "body.engine"
    assert r.json()["problems"][0]["clause"] == "API"
    assert client.post(f"/scenarios/{scenario}/runs", json={"time_limit": -1}).status_code == 422
    assert client.post(f"/scenarios/{scenario}/runs", json={"time_limit": 10**9}).status_code == 422
    assert client.post(f"/scenarios/{scenario}/runs", json={"engine": "both", "colour": 1}).status_code == 422
    assert client.post("/scenarios/nope/runs", json={}).status_code == 404
    assert client.get("/runs/nope").status_code == 404
    assert client.get("/runs/nope/admissions.csv").status_code == 404


def test_cancel_then_delete_a_run(client, finished):
    scenario = finished["scenario_id"]
    run = client.post(f"/scenarios/{scenario}/runs", json={"engine": "both"}).json()
    r = client.post(f"/runs/{run['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["cancelled"]
    assert client.post(f"/runs/{run['id']}/cancel").status_code == 409
    assert client.get(f"/runs/{run['id']}/students").status_code == 409
    assert client.get(f"/runs/{run['id']}/admissions.csv").status_code == 404
    listed = client.get(f"/scenarios/{scenario}/runs", params={"status": "failed"}).json()
    assert run["id"] in [x["id"] for x in listed["items"]]
    assert client.delete(f"/runs/{run['id']}").status_code == 204
    assert client.get(f"/runs/{run['id']}").status_code == 404


def test_delete_a_scenario_with_runs(client, data_dir, tmp_path):
    r = client.post("/scenarios", json=small())
    scenario = r.json()["id"]
    run = wait_run(client, client.post(f"/scenarios/{scenario}/runs", json={"engine": "sequential"}).json()["id"])
    assert run["status"] == "done" and (data_dir / "runs" / run["id"] / "admissions.csv").exists()

    # while a run of it is running the scenario stays (409) ...
    sessions = client.app.state.sessions
    with sessions() as s:
        s.add(RunRecord(id="busy" + scenario[:8], scenario_id=scenario, engine="sequential", time_limit=1.0,
                        hint=False, status=RUNNING, cancelled=False, created_at=utcnow(), started_at=utcnow()))
        s.commit()
    assert client.delete(f"/scenarios/{scenario}").status_code == 409
    with sessions() as s:
        s.get(RunRecord, "busy" + scenario[:8]).status = "failed"
        s.commit()
    # ... then it goes with its runs, their rows and files
    assert client.delete(f"/scenarios/{scenario}").status_code == 204
    assert client.get(f"/scenarios/{scenario}").status_code == 404
    assert client.get(f"/runs/{run['id']}").status_code == 404
    assert not (data_dir / "runs" / run["id"]).exists() and not (data_dir / "scenarios" / scenario).exists()


# Audits ------------------------------------------------------------------------------------------------

def test_audit_of_the_rules_own_result_is_clean(client, finished):
    adm = client.get(f"/runs/{finished['id']}/admissions.csv").content
    offers = client.get(f"/runs/{finished['id']}/offers.csv").content
    r = client.post(f"/scenarios/{finished['scenario_id']}/audits",
                    files={"result": ("admissions.csv", adm, "text/csv"), "offers": ("offers.csv", offers, "text/csv")})
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["status"] == "clean" and audit["violations"]["total"] == 0
    assert audit["summary"]["with_offers"] and audit["summary"]["differences"] == 0
    csv = client.get(audit["files"]["violations.csv"]).content.decode("utf-8-sig")
    assert csv.splitlines() == ["rule,student_id,school_id,batch,other_student_id,detail"]
    assert client.get(f"/audits/{audit['id']}").json()["status"] == "clean"


def test_audit_finds_violations_of_a_tampered_result(client, finished):
    adm = read_result_csv(_saved(client, finished["id"], "admissions.csv"))
    voc = adm.index[adm["outcome"] == "vocational"]
    tampered = adm.copy()
    schools = sorted(set(adm.loc[voc, "school_id"]))
    first = voc[0]
    tampered.loc[first, "school_id"] = next(s for s in schools if s != adm.loc[first, "school_id"])
    tampered.loc[voc[1], "outcome"] = "unplaced"
    tampered.loc[voc[1], ["school_id", "batch", "choice_rank", "admit_date", "confirm_date"]] = ""
    body = tampered.to_csv(index=False).encode()
    r = client.post(f"/scenarios/{finished['scenario_id']}/audits",
                    files={"result": ("published.csv", body, "text/csv")})
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["status"] == "violations" and audit["violations"]["total"] > 0
    assert audit["summary"]["violations"] == audit["violations"]["total"]
    csv = pd.read_csv(io.BytesIO(client.get(audit["files"]["violations.csv"]).content), dtype=str,
                      keep_default_na=False, encoding="utf-8-sig")
    assert len(csv) == audit["violations"]["total"]
    rows = client.get(f"/audits/{audit['id']}/violations", params={"limit": 1000}).json()["items"]
    assert [(v["rule"], v["student_id"] or "") for v in rows] == list(zip(csv["rule"], csv["student_id"]))
    rule = rows[0]["rule"]
    by_rule = client.get(f"/audits/{audit['id']}/violations", params={"rule": rule}).json()
    assert by_rule["total"] == int((csv["rule"] == rule).sum())
    listed = client.get(f"/scenarios/{finished['scenario_id']}/audits").json()
    assert audit["id"] in [a["id"] for a in listed["items"]]
    assert client.delete(f"/audits/{audit['id']}").status_code == 204
    assert client.get(f"/audits/{audit['id']}").status_code == 404


def test_audit_of_an_unreadable_result_is_422(client, finished):
    body = b"student_id,school\n1,S001\n"
    before = client.get(f"/scenarios/{finished['scenario_id']}/audits").json()["total"]
    r = client.post(f"/scenarios/{finished['scenario_id']}/audits",
                    files={"result": ("admissions.csv", body, "text/csv")})
    assert r.status_code == 422
    assert {"file": "admissions.csv", "row": 1, "column": "outcome", "clause": "FORMATS admissions.csv"}.items() <= \
        r.json()["problems"][0].items()
    assert client.get(f"/scenarios/{finished['scenario_id']}/audits").json()["total"] == before
    assert client.post("/scenarios/nope/audits", files={"result": ("a.csv", body, "text/csv")}).status_code == 404
    assert client.post(f"/scenarios/{finished['scenario_id']}/audits").status_code == 422


def test_problems_listed_are_capped_with_a_total(client, tmp_path):
    data = small()
    data["students"] = [dict(copy.deepcopy(data["students"][0]), student_id=f"x{i}", score="bad")
                        for i in range(1200)]
    r = client.post("/scenarios", json=data)
    assert r.status_code == 422
    assert len(r.json()["problems"]) == 1000 and r.json()["problems_total"] >= 1200
