"""What-if (issue #6.1): a change run through `solver.analysis.whatif` gives exactly what the changed scenario gives
when it is written from scratch and loaded like any input; bad keys and values are errors naming the key;
the comparison tables, the changed students and the files are right."""

from __future__ import annotations

import copy
import json
import math

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ScenarioError, load_scenario_data
from solver.analysis.whatif import (
    ChangeError,
    apply_changes,
    decline_rate,
    parse_changes,
    rebuild,
    whatif,
    write_whatif,
)
from solver.run import run

from builders import offer_rows, placements, region, scenario_dict, school, student, write_csv_folder
from strategies import scenarios

HYPOTHESIS = settings(max_examples=50, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def tiny(**kw) -> dict:
    """A: 1 seat, B: 2 seats; four students of R1 and one of R2 (B holds a sub-quota of 1 for R2)."""
    base = dict(
        students=[student("s1", 90, ["A", "B"]), student("s2", 80, ["A"]), student("s3", 70, ["B", "A"]),
                  student("s4", 60, ["B"]), student("s5", 95, ["B"], region="R2")],
        schools=[school("A", 1), school("B", 2)],
        regions=[region("R1", graduates=4, seats=0), region("R2", graduates=1, seats=0)],
        subquotas=[("B", "R2", 1)], general_stage="seats")
    base.update(kw)
    return scenario_dict(**base)


# Hand-checked --------------------------------------------------------------------------------------------

def test_a_larger_quota_places_the_next_applicant():
    """R7: A gets a second seat, so s2 (A's second applicant in round 1) is admitted; nobody else moves."""
    sc = load_scenario_data(tiny())
    report = whatif(sc, ["quota.A=2"])
    assert placements(report.baseline.result)["s2"] == ("unplaced", None, None, None)
    assert placements(report.variant.result)["s2"] == ("vocational", "A", 1, 1)
    changed = report.changed.set_index("student_id")
    assert list(changed.index) == ["s2"]
    assert changed.loc["s2", "change"] == "placed"
    assert changed.loc["s2", "outcome_baseline"] == "unplaced" and changed.loc["s2", "school_id_variant"] == "A"
    total = report.regions[report.regions["name"] == "合计"].iloc[0]
    assert (total["vocational_baseline"], total["vocational_variant"], total["vocational_change"]) == (3, 4, 1)
    assert (total["unplaced_baseline"], total["unplaced_variant"]) == (2, 1)
    a = report.schools_by_batch.set_index(["school_id", "batch"]).loc[("A", 1)]
    assert (a["quota_baseline"], a["quota_variant"], a["confirmed_change"], a["vacancies_variant"]) == (1, 2, 1, 0)
    assert a["cutoff_baseline"] == 90 and a["cutoff_variant"] == 80  # the lowest admitted score falls
    assert [c.as_dict() for c in report.changes] == [
        {"key": "quota.A", "value": "2", "before": "1", "after": "2", "rule": "R7"}]


def test_relative_values_round_half_up_and_names_resolve():
    sc = load_scenario_data(tiny(schools=[school("A", 5), school("B", 10)]))
    changed, applied = apply_changes(sc, ["quota.A=+10%", "quota.学校B=-15%", "subquota.B.R2=+2"])
    quotas = dict(zip(changed.schools["school_id"], changed.schools["quota"]))
    assert quotas == {"A": 6, "B": 9}  # 5.5 -> 6 (half up), 8.5 -> 9
    assert [(a.before, a.after) for a in applied] == [("5", "6"), ("10", "9"), ("1", "3")]
    assert int(changed.subquotas["quota"].iloc[0]) == 3


def test_a_new_subquota_is_added_and_none_removes_one():
    sc = load_scenario_data(tiny())
    added, _ = apply_changes(sc, ["subquota.A.R1=1"])
    assert set(zip(added.subquotas["school_id"], added.subquotas["region_id"])) == {("B", "R2"), ("A", "R1")}
    removed, applied = apply_changes(sc, ["subquota.B.R2=none"])
    assert removed.subquotas.empty and applied[0].after == "none"


def test_general_seats_switch_a_cutoff_region_to_seats():
    """R4: the region uses what it gives, so setting seats drops the cutoff (and the other way round)."""
    data = tiny(regions=[region("R1", graduates=4, cutoff=85), region("R2", graduates=1, cutoff=99)],
                general_stage="cutoff")
    sc = load_scenario_data(data)
    report = whatif(sc, ["general_seats.R1=2"])
    assert placements(report.baseline.result)["s1"][0] == "general"  # 90 >= 85
    assert placements(report.baseline.result)["s2"] == ("vocational", "A", 1, 1)  # 80 < 85
    assert [placements(report.variant.result)[s][0] for s in ("s1", "s2")] == ["general", "general"]  # 2 seats
    regions = report.variant.scenario.regions.set_index("region_id")
    assert regions.loc["R1", "general_seats"] == 2 and pd.isna(regions.loc["R1", "general_cutoff"])
    assert report.changes[0].before == "general_cutoff 85" and report.changes[0].after == "general_seats 2"
    back, applied = apply_changes(report.variant.scenario, ["general_cutoff.R1=80"])
    assert pd.isna(back.regions.set_index("region_id").loc["R1", "general_seats"])
    assert applied[0].after == "general_cutoff 80"


def test_registering_a_school_makes_its_choices_count():
    """R2: a choice of an unregistered school is void (a warning); registering it makes it count."""
    data = tiny(schools=[school("A", 1), school("B", 2), school("X", 3, registered=False)],
                students=[student("s1", 90, ["X", "A"]), student("s2", 80, ["A"])])
    sc = load_scenario_data(data)
    assert any(w.clause == "R2" for w in sc.warnings)
    report = whatif(sc, ["registered.X=true"])
    # R6 (Boston): round 1 gives A to s2, whose first choice it is; s1's void first choice costs him A
    assert placements(report.baseline.result)["s1"] == ("unplaced", None, None, None)
    assert placements(report.variant.result)["s1"] == ("vocational", "X", 1, 1)
    assert placements(report.variant.result)["s2"] == ("vocational", "A", 1, 1)
    assert not any(w.clause == "R2" for w in report.variant.scenario.warnings)  # warnings recomputed
    assert list(report.changed["change"]) == ["placed"]


# What-if = the changed scenario from scratch ----------------------------------------------------------------

def _count(current: int, value: str) -> int:
    if value.endswith("%"):
        return math.floor(current * (1 + float(value[:-1]) / 100) + 0.5)
    if value[0] in "+-":
        return current + int(value)
    return int(value)


def edit(data: dict, kind: str, target: tuple, value: str) -> dict:
    """The change made directly to the JSON form of the scenario, as a planner would edit the file."""
    if kind in ("quota", "registered"):
        row = next(s for s in data["schools"] if s["school_id"] == target[0])
        row[kind] = value == "true" if kind == "registered" else _count(row["quota"], value)
    elif kind == "subquota":
        rows = data.setdefault("subquotas", [])
        hit = [q for q in rows if q["school_id"] == target[0] and q["region_id"] == target[1]]
        if value == "none":
            rows.remove(hit[0])
        elif hit:
            hit[0]["quota"] = _count(hit[0]["quota"], value)
        else:
            rows.append({"school_id": target[0], "region_id": target[1], "quota": int(value)})
    elif kind in ("general_seats", "general_cutoff"):
        row = next(r for r in data["regions"] if r["region_id"] == target[0])
        row.pop("general_cutoff" if kind == "general_seats" else "general_seats", None)
        row[kind] = float(value) if kind == "general_cutoff" else int(value)
    return data


@st.composite
def changed_scenarios(draw):
    """A random scenario, 1-3 changes of its quotas, sub-quotas, catalogue or general stage, and the same
    scenario with the changes written into its rows."""
    data = draw(scenarios())
    schools = [s["school_id"] for s in data["schools"]]
    regions = [r["region_id"] for r in data["regions"]]
    kinds = ["quota", "subquota", "registered"]
    if data["scenario"]["general_stage"] != "none":
        kinds += ["general_seats", "general_cutoff"]
    changes, edited, seen = [], copy.deepcopy(data), set()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        if kind == "subquota":
            target = (draw(st.sampled_from(schools)), draw(st.sampled_from(regions)))
            exists = any(q["school_id"] == target[0] and q["region_id"] == target[1]
                         for q in edited.get("subquotas", []))
            options = [str(draw(st.integers(0, 6)))] + (["none", "+1", "-1", "+50%"] if exists else [])
            value = draw(st.sampled_from(options))
        elif kind == "quota":
            target = (draw(st.sampled_from(schools)),)
            value = draw(st.sampled_from([str(draw(st.integers(0, 7))), "+1", "-2", "+10%", "-50%", "+100%"]))
        elif kind == "registered":
            target = (draw(st.sampled_from(schools)),)
            value = draw(st.sampled_from(["true", "false"]))
        else:
            target = (draw(st.sampled_from(regions)),)
            value = (str(draw(st.integers(0, 4))) if kind == "general_seats"
                     else str(draw(st.sampled_from([55, 65, 75, 85]))))
        if (kind, target) in seen:
            continue
        seen.add((kind, target))
        changes.append(f"{kind}.{'.'.join(target)}={value}")
        edited = edit(edited, kind, target, value)
    return data, changes, edited


@HYPOTHESIS
@given(changed_scenarios())
def test_whatif_equals_the_changed_scenario_run_from_scratch(case):
    data, changes, edited = case
    sc = load_scenario_data(data)
    try:
        scratch = load_scenario_data(edited)
    except ScenarioError:
        scratch = None
    try:
        report = whatif(sc, changes)
    except ChangeError as exc:
        assert scratch is None, f"{changes} rejected but the edited scenario is valid: {exc}"
        assert all(p.column and p.column.split(".")[0] in {c.split(".")[0] for c in changes} for p in exc.errors)
        return
    assert scratch is not None, f"{changes} accepted but the edited scenario is invalid"
    expected = run(scratch)
    assert placements(report.variant.result) == placements(expected.result)
    assert offer_rows(report.variant.result) == offer_rows(expected.result)
    assert placements(report.baseline.result) == placements(run(sc).result)
    pd.testing.assert_frame_equal(report.variant.regions, expected.regions)
    pd.testing.assert_frame_equal(report.variant.schools, expected.schools)
    # the changed students are exactly those whose placement differs
    base, var = placements(report.baseline.result), placements(expected.result)
    assert set(report.changed["student_id"]) == {s for s in base if base[s] != var[s]}


@HYPOTHESIS
@given(changed_scenarios())
def test_the_quick_validation_equals_the_full_one(case):
    """Changes of regions, quotas and sub-quotas skip re-validating the students: the result is the same."""
    data, changes, _ = case
    sc = load_scenario_data(data)
    try:
        quick, _ = apply_changes(sc, changes)
    except ChangeError:
        return
    full = rebuild(sc, regions=quick.regions, schools=quick.schools, subquotas=quick.subquotas,
                   settings=quick.settings, full=True)
    for name in ("regions", "schools", "subquotas", "students", "declines", "interviews"):
        pd.testing.assert_frame_equal(getattr(quick, name), getattr(full, name))
    assert quick.warnings == full.warnings and quick.settings == full.settings


# Declines (R9) ----------------------------------------------------------------------------------------------

def many_students(n=200, declines=()) -> dict:
    return scenario_dict(
        students=[student(f"{i:04d}", 40 + i % 60, ["A", "B"] if i % 5 else []) for i in range(n)],
        schools=[school("A", 50), school("B", 50)], batches=2, declines=declines)


def test_decline_rate_draws_the_share_seeded_and_keeps_the_current_declines():
    sc = load_scenario_data(many_students(declines=[("0001", 1), ("0002", 2), ("0003", 1)]))
    assert decline_rate(sc) == pytest.approx(3 / 200)
    up, applied = apply_changes(sc, ["decline_rate=0.1"], seed=7)
    assert up.declines["student_id"].nunique() == 20
    assert {"0001", "0002", "0003"} <= set(up.declines["student_id"])
    filed = {s for s, c in zip(sc.students["student_id"], sc.students["choice_1"]) if c}
    assert set(up.declines["student_id"]) <= filed | {"0001", "0002", "0003"}  # only students who filed
    assert set(up.declines["batch"]) <= {1, 2}
    assert applied[0].after.startswith("0.1000")
    again, _ = apply_changes(sc, ["decline_rate=10%"], seed=7)
    pd.testing.assert_frame_equal(up.declines, again.declines)  # same seed, same students
    other, _ = apply_changes(sc, ["decline_rate=0.1"], seed=8)
    assert set(other.declines["student_id"]) != set(up.declines["student_id"])
    down, _ = apply_changes(up, ["decline_rate=-50%"], seed=1)
    assert down.declines["student_id"].nunique() == 10
    assert set(down.declines["student_id"]) <= set(up.declines["student_id"])
    none, _ = apply_changes(up, ["decline_rate=0"])
    assert none.declines.empty


def test_more_declines_mean_fewer_confirmed_in_batch_one():
    sc = load_scenario_data(many_students())
    report = whatif(sc, ["decline_rate=0.2"], seed=3)
    b1 = report.schools_by_batch[report.schools_by_batch["batch"] == 1]
    assert b1["confirmed_variant"].sum() < b1["confirmed_baseline"].sum()
    assert (report.changed["change"].isin(["lost", "reordered", "moved", "placed"])).all()


# Bad keys and values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("item, key, words", [
    ("quota.ZZ=5", "quota.ZZ", "unknown school"),
    ("subquota.A.R9=1", "subquota.A.R9", "unknown region"),
    ("quota.A=abc", "quota.A", "not a number"),
    ("quota.A=1.5", "quota.A", "whole number"),
    ("quota.A=-200%", "quota.A", "never negative"),
    ("quota.A=50%", "quota.A", "+50%"),
    ("registered.A=maybe", "registered.A", "true or false"),
    ("decline_rate=1.5", "decline_rate", "between 0 and 1"),
    ("decline_rate=+1.5", "decline_rate", "between 0 and 1"),
    ("bogus.A=1", "bogus.A", "unknown key"),
    ("quota=5", "quota", "needs a SCHOOL"),
    ("decline_rate.A=0.1", "decline_rate.A", "takes no school"),
    ("subquota.A.R1=none", "subquota.A.R1", "no sub-quota"),
    ("subquota.A.R1=+10%", "subquota.A.R1", "absolute value"),
    ("subquota.B.R2=3", "subquota.B.R2", "more than its quota"),  # R8: 3 > B's quota 2
    ("quota.B=0", "quota.B", "more than its quota"),  # B's sub-quota for R2 (1) is above 0
    ("quota.A=", "quota.A", "no value"),
])
def test_a_bad_change_is_an_error_naming_its_key(item, key, words):
    sc = load_scenario_data(tiny())
    with pytest.raises(ChangeError) as info:
        whatif(sc, [item])
    problems = info.value.errors
    assert problems and all(p.column == key and p.file == "--set" for p in problems)
    assert any(words in p.message for p in problems), [p.message for p in problems]
    assert isinstance(info.value, ScenarioError)  # reported like bad input (exit 2)


def test_every_bad_change_is_reported_at_once():
    sc = load_scenario_data(tiny())
    with pytest.raises(ChangeError) as info:
        parse_changes(sc, ["quota.ZZ=1", "no equals sign", "quota.A=2", "quota.A=3", "decline_rate=2"])
    rows = [(p.row, p.column) for p in info.value.errors]
    assert rows == [(1, "quota.ZZ"), (2, None), (4, "quota.A"), (5, "decline_rate")]
    assert "once" in info.value.errors[2].message


def test_general_changes_need_a_general_stage():
    sc = load_scenario_data(tiny(general_stage="none"))
    with pytest.raises(ChangeError) as info:
        whatif(sc, ["general_seats.R1=2"])
    assert info.value.errors[0].column == "general_seats.R1" and info.value.errors[0].clause == "R4"
    with pytest.raises(ChangeError, match="gives no general_cutoff"):
        apply_changes(load_scenario_data(tiny()), ["general_cutoff.R1=+10%"])


def test_a_mapping_of_changes_works_like_strings():
    sc = load_scenario_data(tiny())
    a = whatif(sc, {"quota.A": 2, "registered.B": True})
    b = whatif(sc, ["quota.A=2", "registered.B=true"])
    assert placements(a.variant.result) == placements(b.variant.result)


# Files and the command -------------------------------------------------------------------------------------

def test_write_whatif_writes_both_runs_the_changes_and_a_workbook(tmp_path):
    sc = load_scenario_data(tiny())
    report = whatif(sc, ["quota.A=2"])
    out = write_whatif(report, tmp_path / "wi")
    for side in ("baseline", "variant"):
        for name in ("admissions.csv", "offers.csv", "schools.csv", "regions.csv", "subquotas.csv", "summary.json",
                     "progress.xlsx"):
            assert (out / side / name).exists(), f"{side}/{name}"
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    assert list(changes["student_id"]) == ["s2"]
    assert changes.loc[0, "outcome_baseline"] == "unplaced" and changes.loc[0, "outcome_variant"] == "vocational"
    variant = pd.read_csv(out / "variant" / "schools.csv", dtype=str).set_index("school_id")
    assert variant.loc["A", "quota"] == "2"
    wb = openpyxl.load_workbook(out / "whatif.xlsx", read_only=True)
    assert wb.sheetnames == ["说明", "地区", "学校", "学校分批次", "考生变化"]
    rows = list(wb["考生变化"].iter_rows(values_only=True))
    assert rows[0][0] == "考生号" and rows[1][0] == "s2"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["changed_students"] == 1 and summary["totals"]["vocational"]["change"] == 1


def test_whatif_command(tmp_path):
    from api.cli import cli

    folder = write_csv_folder(tiny(), tmp_path / "sc")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["whatif", str(folder), "--set", "quota.A=2", "--set", "quota.B=+50%",
                                   "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / "variant" / "admissions.csv").exists() and (out / "whatif.xlsx").exists()
    assert "quota.A" in res.output and "合计" in res.output
    bad = CliRunner().invoke(cli, ["whatif", str(folder), "--set", "quota.NOPE=2", "--out", str(tmp_path / "bad"),
                                   "-q"])
    assert bad.exit_code == 2
    errors = pd.read_csv(tmp_path / "bad" / "errors.csv", dtype=str)
    assert errors.loc[0, "column"] == "quota.NOPE"
