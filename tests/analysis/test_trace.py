"""为什么 Why this outcome (issue #13.4): `solver.analysis.trace` explains one student's path, and each rule that
decides it is named: the school full at his turn (R7), his region's share full (R8), void choices (R2,
R3, R5), a declined offer (R9), ineligibility (R1), the general stage (R4), the outcome (R12).  The trace
agrees with admissions.csv for every student of a random scenario."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from solver.analysis.trace import StudentNotFound, explain, prepare, trace_student
from solver.engine.sequential import run_sequential

from builders import make_scenario, region, scenario_dict, school, student


def kinds(trace) -> list[tuple]:
    """(rule, kind, batch, round, school) of every step: what a rule test reads."""
    return [(s.rule, s.kind, s.batch, s.round, s.school_id) for s in trace.steps]


def step_of(trace, kind):
    found = [s for s in trace.steps if s.kind == kind]
    assert found, f"no {kind} step in {kinds(trace)}"
    return found[0]


def test_school_full_at_his_turn_names_the_cutoff_and_the_last_seat_R7():
    sc = make_scenario(schools=[school("A", 2), school("B", 5)],
                       students=[student("p", 90, ["A"]), student("q", 80, ["A"]), student("s", 70, ["A", "B"])])
    t = trace_student(sc, "s")
    full = step_of(t, "school_full")
    assert (full.rule, full.batch, full.round, full.school_id, full.admitted) == ("R7", 1, 1, "A", False)
    assert full.cutoff == 80 and full.last_student_id == "q" and full.last_student_score == 80
    assert full.facts["seats_at_turn"] == 0 and full.facts["place"] == 3
    assert "学校已满" in full.zh and "R7" in full.en and "q" in full.zh
    assert kinds(t)[-3:] == [("R6", "admitted", 1, 2, "B"), ("R9", "confirmed", 1, 2, "B"),
                             ("R12", "outcome", 1, 2, "B")]
    assert (t.outcome, t.school_id, t.batch, t.choice_rank, t.consistent) == ("vocational", "B", 1, 2, True)


def test_school_full_since_an_earlier_round_names_who_took_the_seat_then_R7():
    sc = make_scenario(schools=[school("A", 1), school("B", 0)],
                       students=[student("p", 50, ["A"]), student("s", 90, ["B", "A"])])
    t = trace_student(sc, "s")
    b_full, a_full = [s for s in t.steps if s.kind == "school_full"]
    assert (b_full.school_id, b_full.last_student_id) == ("B", None)  # quota 0: nobody took a seat
    assert (a_full.school_id, a_full.round, a_full.cutoff, a_full.last_student_id) == ("A", 2, None, "p")
    assert a_full.facts["seats_at_round_start"] == 0 and "round 1" in a_full.facts["last_seat_taken"]
    assert t.outcome == "unplaced" and t.consistent


def test_region_share_full_while_the_school_has_seats_R8():
    sc = make_scenario(schools=[school("A", 3)], subquotas=[("A", "R1", 1)],
                       students=[student("p", 90, ["A"], region="R1"), student("q", 85, ["A"], region="R1"),
                                 student("s", 80, ["A"], region="R2")])
    t = trace_student(sc, "q")
    full = step_of(t, "region_full")
    assert (full.rule, full.school_id, full.last_student_id) == ("R8", "A", "p")
    assert full.facts["seats_at_turn"] == 2 and full.facts["region_share_at_turn"] == 0
    assert "分区" in full.zh and "R8" in full.en
    assert t.outcome == "unplaced" and t.consistent
    assert step_of(trace_student(sc, "s"), "admitted").school_id == "A"  # R8: other regions go on after him


def test_void_choices_name_their_rule_R2_R3():
    sc = make_scenario(schools=[school("X", 5, registered=False), school("I", 5, requires_interview=True),
                                school("J", 5, requires_interview=True), school("A", 5)],
                       students=[student("s", 60, ["X", "I"], batch2=["J", "A"]), student("t", 50, ["J"])],
                       interviews=[("s", "J")], batches=2)
    t = trace_student(sc, "s")
    assert kinds(t)[1:4] == [("R2", "void_unregistered", 1, 1, "X"), ("R3", "void_interview", 1, 2, "I"),
                             ("R6", "admitted", 2, 1, "J")]  # the pass makes J usable; A is not considered
    assert "未在招生目录中备案" in t.steps[1].zh and "面试" in t.steps[2].zh
    only_void = trace_student(sc, "t")
    assert kinds(only_void)[1] == ("R3", "void_interview", 1, 1, "J")
    assert only_void.outcome == "none" and only_void.consistent  # no usable choice: R12 none


def test_declined_offer_returns_the_seat_and_voids_the_school_later_R9_R5():
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("s", 90, ["A"], batch2=["A", "B"]), student("p", 80, ["A"], batch2=["A"])],
                       declines=[("s", 1)], batches=2)
    t = trace_student(sc, "s")
    assert kinds(t)[1:] == [("R6", "admitted", 1, 1, "A"), ("R9", "declined", 1, 1, "A"),
                            ("R5", "void_declined", 2, 1, "A"), ("R6", "admitted", 2, 2, "B"),
                            ("R9", "confirmed", 2, 2, "B"), ("R12", "outcome", 2, 2, "B")]
    assert "放弃" in t.steps[2].zh and "seat returns" in t.steps[2].en
    p = trace_student(sc, "p")  # the seat s returned is p's in batch 2
    assert [(s.kind, s.batch) for s in p.steps if s.school_id == "A"][:3] == [
        ("school_full", 1), ("admitted", 2), ("confirmed", 2)]
    assert step_of(p, "school_full").last_student_id == "s"


def test_ineligible_fresh_graduate_without_certificate_R1():
    sc = make_scenario(schools=[school("A", 5)], students=[student("f", 99, ["A"], cohort="fresh", certificate=False)])
    t = trace_student(sc, "f")
    assert [s.rule for s in t.steps] == ["R4", "R1", "R12"]
    assert t.outcome == "ineligible" and "毕业证" in t.steps[1].zh and t.consistent


def test_general_stage_by_seats_admits_or_names_the_last_seat_R4():
    regions = [region("R1", seats=1)]
    sc = make_scenario(schools=[school("A", 5)], regions=regions, general_stage="seats",
                       students=[student("g", 90, ["A"], applies_general=True),
                                 student("h", 80, ["A"], applies_general=True),
                                 student("v", 95, ["A"], applies_general=False)])
    g = trace_student(sc, "g")
    assert kinds(g) == [("R4", "general", None, None, None), ("R12", "outcome", None, None, None)]
    assert g.outcome == "general" and "普通高中" in g.steps[0].zh
    h = trace_student(sc, "h")
    assert (h.steps[0].kind, h.steps[0].last_student_id, h.steps[0].facts["place"]) == ("general_not_reached", "g", 2)
    assert h.outcome == "vocational" and h.consistent
    assert trace_student(sc, "v").steps[0].kind == "general_not_applied"


def test_general_stage_by_cutoff_R4():
    sc = make_scenario(schools=[school("A", 5)], regions=[region("R1", cutoff=85)], general_stage="cutoff",
                       students=[student("g", 90, [], applies_general=True),
                                 student("h", 80, ["A"], applies_general=True)])
    assert trace_student(sc, "g").steps[0].kind == "general"
    h = trace_student(sc, "h")
    assert (h.steps[0].kind, h.steps[0].cutoff) == ("general_not_reached", 85) and "458" not in h.steps[0].zh
    assert "控制线 85" in h.steps[0].zh


def test_unknown_student_is_refused():
    sc = make_scenario(schools=[school("A", 1)], students=[student("s", 1, ["A"])])
    with pytest.raises(StudentNotFound):
        trace_student(sc, "nobody")


def test_trace_is_json_ready():
    sc = make_scenario(schools=[school("A", 1)], students=[student("s", 1, ["A"]), student("t", 0, ["A"])])
    data = trace_student(sc, "t").as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["outcome"] == "unplaced" and data["steps"][-1]["rule"] == "R12" and "学校已满" in text


def test_trace_agrees_with_admissions_for_every_student_of_a_random_scenario():
    from scenarios.generator import generate

    sc = generate(students=400, regions=4, schools=8, seed=7, batches=3, quota_factor=0.7, subquota_share=0.5)
    result = run_sequential(sc)
    basis = prepare(sc, result)
    adm = result.admissions.set_index("student_id")
    seen = set()
    for sid in adm.index:
        t = explain(basis, sid)
        row = adm.loc[sid]
        assert t.consistent, (sid, [s.en for s in t.steps])
        assert t.outcome == row["outcome"]
        if t.outcome == "vocational":
            assert (t.school_id, t.batch, t.choice_rank) == (row["school_id"], row["batch"], row["choice_rank"])
            assert t.steps[-2].kind == "confirmed" and t.steps[-2].school_id == row["school_id"]
        seen.update(s.kind for s in t.steps)
    assert {"admitted", "school_full", "region_full", "general", "general_not_reached", "confirmed", "declined",
            "void_declined", "void_interview", "void_unregistered", "not_considered"} <= seen, seen


def test_cli_trace_prints_a_chinese_table(tmp_path, monkeypatch):
    from api.cli import cli
    from api.cli import common as cli_module

    from builders import write_csv_folder

    monkeypatch.setattr(cli_module.console, "width", 200)  # no wrapping inside the sentences
    folder = tmp_path / "sc"
    write_csv_folder(scenario_dict(schools=[school("A", 1)],
                                   students=[student("s", 90, ["A"]), student("t", 50, ["A"])]), folder)
    out = CliRunner().invoke(cli, ["trace", str(folder), "--student", "t"])
    assert out.exit_code == 0, out.output
    assert "学校已满" in out.output and "R7" in out.output and "志愿" in out.output and "未录取" in out.output
    js = CliRunner().invoke(cli, ["trace", str(folder), "--student", "t", "--json"])
    assert json.loads(js.output)["outcome"] == "unplaced"
    missing = CliRunner().invoke(cli, ["trace", str(folder), "--student", "zz"])
    assert missing.exit_code == 2


def test_api_trace_of_a_run_and_of_a_scenario(tmp_path):
    """GET /runs/{id}/trace and /scenarios/{id}/trace answer with the same `explain` as the CLI."""
    from fastapi.testclient import TestClient

    from api.service import Settings, create_app
    from api.service.routes import trace as trace_routes

    app = create_app(Settings(data_dir=tmp_path / "service"))
    data = scenario_dict(schools=[school("A", 1), school("X", 3, registered=False)],
                         students=[student("s", 90, ["A"]), student("t", 50, ["X", "A"])])
    with TestClient(app) as client:
        r = client.post("/scenarios", json=data)
        assert r.status_code == 201, r.text
        scenario_id = r.json()["id"]
        body = client.get(f"/scenarios/{scenario_id}/trace", params={"student": "t"}).json()
        assert [(s["rule"], s["kind"]) for s in body["steps"]] == [
            ("R4", "no_general_stage"), ("R2", "void_unregistered"), ("R7", "school_full"), ("R12", "outcome")]
        assert body["outcome"] == "unplaced" and body["steps"][2]["last_student_id"] == "s"
        assert client.get(f"/scenarios/{scenario_id}/trace", params={"student": "nobody"}).status_code == 404
        run = client.post(f"/scenarios/{scenario_id}/runs", json={"engine": "sequential"}).json()
        early = client.get(f"/runs/{run['id']}/trace", params={"student": "t"})
        assert early.status_code in (200, 409)
        for _ in range(300):
            if client.get(f"/runs/{run['id']}").json()["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert client.get(f"/runs/{run['id']}/trace", params={"student": "t"}).json() == body
        assert client.get("/runs/nope/trace", params={"student": "t"}).status_code == 404
    trace_routes.prepared.clear()
