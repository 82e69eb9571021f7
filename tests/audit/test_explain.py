"""Explanations of an audit (issue #4, point 4; `solver.audit.explain`): for a result that is not the
rule's, a minimal set of published facts that cannot all hold under R6-R8, found as an infeasible core of
the CP-SAT school model with the published facts as assumptions, and told as a sentence.

- The model is sound: the rule's own result satisfies every school's model with all its facts (tiny
  cases, and random generated scenarios with declines and sub-quotas, with and without offers.csv).
- The cores: justified envy is the wronged student and the seat-taker (3 facts); a wasted seat names
  the others ahead who were not admitted; R7 / R8 are the offers one over the cap.  Every core is minimal:
  without any one of its facts, other than the refusal it explains, the rest is consistent with the rules.
- The CLI writes explanations.csv and an explanations sheet, and leaves them out with --no-explain.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from api.cli import cli
from solver.audit import audit
from solver.audit.explain import SchoolModel, applicants
from solver.checker import build, check_context
from solver.engine.sequential import run_sequential

from builders import envy_scenario, make_scenario, moved, region, scenario_dict, school, student, write_csv_folder


def explained(sc, adm, offers=None):
    report = audit(sc, adm, offers, explain=True)
    return report, report.explanations.frame


def assert_minimal(sc, adm, offers=None):
    """Every core is infeasible; one that the audit calls minimal is feasible without any one of its
    facts other than the refusal it explains."""
    ctx = build(sc, adm, offers)
    violations = check_context(ctx)
    from solver.audit.explain import _groups, _seed  # the same seeds the audit uses

    checked = 0
    for g in _groups(ctx, violations[violations["rule"].isin(["R6", "R7", "R8"])]):
        p = [b.id for b in ctx.batches].index(g.batch)
        s = list(ctx.school_ids).index(g.school_id)
        model = SchoolModel(ctx, applicants(ctx, p, s))
        seed, counted, fixed = _seed(model, g)
        core, ok, minimal = model.core(seed, counted, fixed)
        assert ok and core and set(fixed) <= set(core)
        assert model.infeasible(core)[0]
        if minimal:
            for f in core:
                if f not in fixed:  # the fact explained stays; every other one is needed
                    assert not model.infeasible([x for x in core if x != f])[0], (g, f)
            checked += 1
    return checked


def test_envy_is_told_with_the_pair():
    sc = make_scenario(**envy_scenario())
    rule = run_sequential(sc).admissions
    assert dict(zip(rule["student_id"], rule["school_id"].fillna(""))) == {"A": "S03", "B": "", "C": "S01",
                                                                            "G1": "", "G2": ""}
    adm = moved(sc, moved(sc, rule, "A", None), "B", "S03", rank=2)
    report, ex = explained(sc, adm)
    assert set(report.violations["rule"]) == {"R6"}
    row = ex[ex["rule"] == "R6"].iloc[0]
    assert (row["student_id"], row["other_student_id"], row["facts"], row["method"]) == ("A", "B", 3, "cp-sat core")
    assert row["explanation"] == ("student A (score 512, 1st choice S03) was rejected at S03 while student B "
                                  "(score 498, 2nd choice) was admitted there, batch 1 (R6)")
    assert set(row["core"].split("; ")) == {"A not offered a seat", "A free at his turn", "B offered a seat"}
    assert assert_minimal(sc, adm) == 1


def test_a_wasted_seat_names_the_applicants_ahead():
    """A seat left free while an applicant was rejected: with nobody ahead of him two facts prove it;
    with applicants ahead, the proof says that they took no seat."""
    sc = make_scenario(students=[student("A", 500, ["S03"]), student("D", 510, ["S03"])],
                       schools=[school("S03", 1)])
    rule = run_sequential(sc).admissions
    adm = moved(sc, rule, "D", None)  # D held the only seat; now nobody does
    report, ex = explained(sc, adm)
    rows = ex[ex["rule"] == "R6"]
    assert list(rows["student_id"]) == ["D"]  # the group's highest-priority student
    assert rows.iloc[0]["facts"] == 2
    assert rows.iloc[0]["explanation"] == ("student D (score 510, 1st choice S03) was rejected at S03 while its "
                                           "quota (1) had a free seat, batch 1 (R6); the same fault concerns 1 "
                                           "more student(s) in violations.csv")
    assert assert_minimal(sc, adm) == 1

    # G1 listed S03 first but went to general high school: A's proof must say that G1 took no seat
    sc2 = make_scenario(students=[student("A", 500, ["S03"], applies_general=False), student("G1", 600, ["S03"])],
                        schools=[school("S03", 1)], regions=[region("R1", seats=1)], general_stage="seats")
    rule2 = run_sequential(sc2).admissions
    adm2 = moved(sc2, rule2, "A", None)
    _, ex2 = explained(sc2, adm2)
    row = ex2.iloc[0]
    assert (row["student_id"], row["facts"]) == ("A", 3)
    assert row["explanation"].startswith("student A (score 500, 1st choice S03) was rejected at S03, and 1 "
                                         "applicant(s) ahead of him took no seat there (student G1 (score 600")
    assert row["explanation"].endswith("so its quota (1) still had a free seat at his turn, batch 1 (R6)")
    assert assert_minimal(sc2, adm2) == 1


def test_over_quota_core_is_the_offers_one_over_the_cap():
    sc = make_scenario(students=[student(f"X{i}", 500 - i, ["S03"]) for i in range(4)],
                       schools=[school("S03", 2)])
    rule = run_sequential(sc).admissions
    adm = moved(sc, rule, "X2", "S03")
    report, ex = explained(sc, adm)
    assert "R7" in set(report.violations["rule"])
    row = ex[ex["rule"] == "R7"].iloc[0]
    assert row["facts"] == 3 and row["method"] == "cp-sat core"
    assert row["explanation"].startswith("S03 admitted 3 student(s) in batch 1: student X0 (score 500, 1st choice)")
    assert "beyond its quota (2)" in row["explanation"]
    assert assert_minimal(sc, adm) >= 1


def test_over_sub_quota_core_counts_the_region():
    sc = make_scenario(students=[student("P", 500, ["S03"], region="R2"), student("Q", 490, ["S03"], region="R2"),
                                 student("Z", 480, ["S03"])],
                       schools=[school("S03", 3)], subquotas=[("S03", "R2", 1)])
    rule = run_sequential(sc).admissions
    assert dict(zip(rule["student_id"], rule["school_id"].fillna(""))) == {"P": "S03", "Q": "", "Z": "S03"}
    adm = moved(sc, rule, "Q", "S03")
    report, ex = explained(sc, adm)
    row = ex[ex["rule"] == "R8"].iloc[0]
    assert row["facts"] == 2 and "the sub-quota of R2 (1)" in row["explanation"]
    assert set(row["core"].split("; ")) == {"P offered a seat", "Q offered a seat"}


def test_single_fact_rules_are_told_by_their_fact():
    sc = make_scenario(**envy_scenario())
    rule = run_sequential(sc)
    adm = rule.admissions.copy()
    adm.loc[adm["student_id"] == "A", "admit_date"] = "2000-01-01"  # R11: before batch 1 opens
    _, ex = explained(sc, adm)
    assert list(ex["rule"]) == ["R11"] and list(ex["method"]) == ["fact"] and ex.iloc[0]["facts"] == 1


@pytest.mark.parametrize("with_offers", [True, False])
def test_the_rule_result_satisfies_every_school_model(with_offers):
    sc = scenarios.generate(400, regions=3, schools=6, seed=11)
    rule = run_sequential(sc)
    ctx = build(sc, rule.admissions, rule.offers if with_offers else None)
    models = 0
    for p in range(len(ctx.batches)):
        for s in range(ctx.S):
            a = applicants(ctx, p, s)
            if len(a.student):
                model = SchoolModel(ctx, a)
                assert not model.infeasible(model.facts)[0], (p, ctx.school_ids.iloc[s])
                models += 1
    assert models >= 6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), which=st.integers(0, 10_000))
def test_a_swap_in_a_random_result_is_explained_minimally(seed, which):
    """Random scenario, one vocational seat handed to an unplaced applicant of that school: every R6/R7/R8
    fault gets a minimal core (with offers.csv, nothing is hidden)."""
    sc = scenarios.generate(300, regions=3, schools=5, seed=seed)
    rule = run_sequential(sc)
    adm, off = rule.admissions.copy(), rule.offers.copy()
    voc = adm.index[adm["outcome"] == "vocational"].tolist()
    unplaced = set(adm.loc[adm["outcome"] == "unplaced", "student_id"])
    if not voc:
        return
    j = voc[which % len(voc)]
    target = adm.at[j, "school_id"]
    lists = sc.students.set_index("student_id")
    takers = [s for s in sorted(unplaced) if target in set(lists.loc[s, ["choice_1", "choice_2"]])]
    if not takers:
        return
    taker = takers[which % len(takers)]
    loser = adm.at[j, "student_id"]
    adm = moved(sc, moved(sc, adm, loser, None), taker, target)
    off = off.astype(object)
    off.loc[(off["student_id"] == loser) & (off["school_id"] == target), "student_id"] = taker
    report = audit(sc, adm, off, explain=True)
    ex = report.explanations
    assert not report.clean
    assert ex.unexplained == 0
    modelled = report.violations["rule"].isin(["R6", "R7", "R8"]).sum()
    assert ex.frame.loc[ex.frame["method"] == "cp-sat core", "covers"].sum() == modelled
    assert_minimal(sc, adm, off)


def test_cli_writes_explanations(tmp_path):
    data = scenario_dict(**envy_scenario())
    folder = write_csv_folder(data, tmp_path / "sc")
    sc = make_scenario(**envy_scenario())
    adm = moved(sc, moved(sc, run_sequential(sc).admissions, "A", None), "B", "S03", rank=2)
    adm.to_csv(tmp_path / "adm.csv", index=False)
    result = CliRunner().invoke(cli, ["audit", str(folder), "--result", str(tmp_path / "adm.csv"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    ex = pd.read_csv(tmp_path / "out" / "explanations.csv", dtype=str, encoding="utf-8-sig")
    assert list(ex["student_id"]) == ["A"] and "student B (score 498, 2nd choice)" in ex.iloc[0]["explanation"]
    assert "违规解释" in openpyxl.load_workbook(tmp_path / "out" / "audit.xlsx").sheetnames
    assert "was rejected at S03 while student B" in " ".join(result.output.split())

    result = CliRunner().invoke(cli, ["audit", str(folder), "--result", str(tmp_path / "adm.csv"),
                                      "--out", str(tmp_path / "out"), "--no-explain"])
    assert result.exit_code == 1
    assert not (tmp_path / "out" / "explanations.csv").exists()
    assert "违规解释" not in openpyxl.load_workbook(tmp_path / "out" / "audit.xlsx").sheetnames
