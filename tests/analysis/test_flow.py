"""How good could it be (issue #6.4): the max-flow bound is never below the rule's placements, equals the
exact optimum (an independent CP-SAT model of the same assignment problem), equals the rule on instances
built for it, respects quotas and sub-quotas (R7, R8), and counts only valid listed choices."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from models import load_scenario_data
from solver.analysis.flow import bound, listed_choices, write_bound
from solver.engine.arrays import ScenarioArrays
from solver.engine.sequential import run_sequential

from builders import region, scenario_dict, school, student, write_csv_folder
from strategies import scenarios

HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def listed_ids(sc) -> dict[str, list[str]]:
    arr = ScenarioArrays.from_scenario(sc)
    listed = listed_choices(sc, arr)
    return {sid: [arr.school_ids[j] for j in row if j >= 0] for sid, row in zip(arr.student_ids, listed)}


def exact_max(sc) -> int:
    """The most students placeable at one of their listed schools under quotas and sub-quotas, by CP-SAT."""
    arr = ScenarioArrays.from_scenario(sc)
    listed = listed_choices(sc, arr)
    model = cp_model.CpModel()
    x = {(i, int(j)): model.NewBoolVar(f"x{i}_{j}") for i in range(arr.n) for j in listed[i] if j >= 0}
    for i in range(arr.n):
        model.Add(sum(v for (s, _), v in x.items() if s == i) <= 1)
    for j in range(arr.n_schools):
        model.Add(sum(v for (_, k), v in x.items() if k == j) <= int(arr.quota[j]))
    for p in range(len(arr.sub_quota)):
        j, r = int(arr.sub_school[p]), int(arr.sub_region[p])
        model.Add(sum(v for (i, k), v in x.items() if k == j and arr.region[i] == r) <= int(arr.sub_quota[p]))
    model.Maximize(sum(x.values()))
    solver = cp_model.CpSolver()
    assert solver.Solve(model) == cp_model.OPTIMAL
    return int(round(solver.ObjectiveValue()))


def check_invariants(sc, report) -> None:
    assert report.rule_outside == 0  # every rule placement is a listed choice: the rule is a feasible flow
    assert report.rule_placed <= report.rule_placed + report.without_moving <= report.bound
    s = report.schools
    assert report.bound <= min(report.in_network, int(s.loc[s["registered"], "quota"].sum()))
    assert (s["bound_assignment"] <= s["quota"]).all() and (s["confirmed"] <= s["quota"]).all()
    assert s["bound_assignment"].sum() == report.bound and s["confirmed"].sum() == report.rule_placed
    assert s["fillable_without_moving"].sum() == report.without_moving
    assert (s["fillable_without_moving"] <= s[["vacancies", "unplaced_applicants"]].min(axis=1)).all()
    f = report.flows
    for q in sc.subquotas.itertuples():  # R8 in the maximum assignment
        here = f[(f["school_id"] == q.school_id) & (f["region_id"] == q.region_id)]
        assert here["bound_assignment"].sum() <= q.quota
    adm = run_sequential(sc).admissions
    voc = adm[adm["outcome"] == "vocational"]
    want = voc.groupby(["region_id", "school_id"]).size()
    got = f[f["rule"] > 0].set_index(["region_id", "school_id"])["rule"]
    assert dict(want) == dict(got)


# Hand-checked ----------------------------------------------------------------------------------------------

def test_the_rule_leaves_a_seat_that_needs_a_student_moved():
    """R6 (Boston): s1 takes A in round 1 although B would do; s2 lists A only. The bound moves s1 to B."""
    sc = load_scenario_data(scenario_dict([student("s1", 90, ["A", "B"]), student("s2", 80, ["A"])],
                                          [school("A", 1), school("B", 1)]))
    report = bound(sc)
    assert (report.rule_placed, report.bound, report.gap, report.without_moving) == (1, 2, 1, 0)
    s = report.schools.set_index("school_id")
    assert (s.loc["B", "vacancies"], s.loc["B", "unplaced_applicants"], s.loc["A", "unplaced_applicants"]) == (1, 0, 1)
    f = report.flows.set_index("school_id")
    assert (f.loc["A", "rule"], f.loc["A", "bound_assignment"], f.loc["B", "bound_assignment"]) == (1, 1, 1)
    assert report.summary()["needs_moving"] == 1
    check_invariants(sc, report)


def test_a_declined_seat_is_fillable_without_moving_anybody():
    """R9: s1 declines A's offer in the only batch; the seat comes back after the batch, too late for s2."""
    sc = load_scenario_data(scenario_dict([student("s1", 90, ["A"]), student("s2", 80, ["A"])], [school("A", 1)],
                                          declines=[("s1", 1)]))
    report = bound(sc)
    assert listed_ids(sc) == {"s1": [], "s2": ["A"]}  # s1 confirms in no batch: not in the network
    assert (report.rule_placed, report.bound, report.without_moving, report.in_network) == (0, 1, 1, 1)
    s = report.schools.set_index("school_id")
    assert (s.loc["A", "vacancies"], s.loc["A", "unplaced_applicants"],
            s.loc["A", "fillable_without_moving"]) == (1, 1, 1)


def test_subquotas_nest_inside_the_quota():
    """R8: three R2 students share one seat of A; the R1 student takes another; the third seat stays empty."""
    sc = load_scenario_data(scenario_dict(
        [student("x", 90, ["A"], region="R2"), student("y", 80, ["A"], region="R2"),
         student("z", 70, ["A"], region="R2"), student("w", 60, ["A"])],
        [school("A", 3)], subquotas=[("A", "R2", 1)]))
    report = bound(sc)
    assert (report.rule_placed, report.bound) == (2, 2)
    f = report.flows.set_index("region_id")
    assert (f.loc["R2", "bound_assignment"], f.loc["R1", "bound_assignment"]) == (1, 1)
    check_invariants(sc, report)


def test_listed_choices_are_the_valid_choices_of_batches_the_student_would_confirm():
    sc = load_scenario_data(scenario_dict(
        [student("g", 99, ["A"], applies_general=True),  # R4: general high school
         student("n", 50, ["A"], cohort="fresh", certificate=False),  # R1: ineligible
         student("u", 80, ["X", "A"]),  # R2: X unregistered
         student("i", 70, ["I", "B"]), student("p", 60, ["I"]),  # R3: I needs an interview, p passed it
         student("d", 65, ["A"], batch2=["B"]),  # R9: declines batch 1, so only batch 2's list counts
         student("f", 40, ["B"], batch2=[])],  # R5: batch 2 falls back to the original list
        [school("A", 5), school("B", 5), school("X", 5, registered=False), school("I", 5, requires_interview=True)],
        [region("R1", graduates=7, seats=1)], general_stage="seats", batches=2,
        declines=[("d", 1)], interviews=[("p", "I")]))
    assert listed_ids(sc) == {"g": [], "n": [], "u": ["A"], "i": ["B"], "p": ["I"], "d": ["B"], "f": ["B"]}
    report = bound(sc)
    assert report.pool == 5 and report.in_network == 5 and report.bound == 5 == report.rule_placed + 0
    check_invariants(sc, report)


# Random scenarios ------------------------------------------------------------------------------------------

@HYPOTHESIS
@given(scenarios())
def test_bound_is_at_least_the_rule_and_is_the_exact_optimum(data):
    sc = load_scenario_data(data)
    report = bound(sc)
    check_invariants(sc, report)
    assert report.bound >= report.rule_placed
    assert report.bound == exact_max(sc)


@HYPOTHESIS
@given(scenarios(later_batches=True))
def test_bound_over_three_batches_with_declines(data):
    sc = load_scenario_data(data)
    report = bound(sc)
    check_invariants(sc, report)
    assert report.bound == exact_max(sc)


@st.composite
def one_choice_scenarios(draw):
    """One batch, one choice each, no declines: each school takes its applicants in order until it or the
    region's share is full, which is as many as any assignment can place (the bound equals the rule)."""
    regions = ["R1", "R2", "R3"][: draw(st.integers(1, 3))]
    schools = [school(f"S{j}", draw(st.integers(0, 4)), region=draw(st.sampled_from(regions)))
               for j in range(draw(st.integers(1, 3)))]
    subquotas = []
    for s in schools:
        left = s["quota"]
        for r in regions:
            if draw(st.booleans()):
                q = draw(st.integers(0, left))
                left -= q
                subquotas.append((s["school_id"], r, q))
    ids = [s["school_id"] for s in schools]
    students = [student(f"p{i}", draw(st.sampled_from([50, 60, 70])), [draw(st.sampled_from(ids))],
                        region=draw(st.sampled_from(regions))) for i in range(draw(st.integers(1, 14)))]
    return scenario_dict(students, schools, [region(r) for r in regions], max_choices=1, subquotas=subquotas)


@HYPOTHESIS
@given(one_choice_scenarios())
def test_bound_equals_the_rule_when_every_student_lists_one_school(data):
    sc = load_scenario_data(data)
    report = bound(sc)
    check_invariants(sc, report)
    assert report.bound == report.rule_placed and report.without_moving == 0


@HYPOTHESIS
@given(scenarios())
def test_bound_equals_the_rule_when_seats_are_plenty(data):
    for s in data["schools"]:
        s["quota"] = 100
    data.pop("subquotas", None)
    data.pop("declines", None)
    sc = load_scenario_data(data)
    report = bound(sc)
    assert report.bound == report.rule_placed == report.in_network


# Scale, files and the command ------------------------------------------------------------------------------

def test_bundled_jiaozuo():
    import scenarios as bundled

    sc = bundled.load("jiaozuo-2022")
    report = bound(sc)
    assert report.rule_outside == 0 and report.rule_placed <= report.bound <= int(sc.schools["quota"].sum())
    assert report.network["groups"] < report.in_network / 5  # students with the same lists share a node
    assert report.bound - report.rule_placed >= report.without_moving


def test_write_bound_and_the_command(tmp_path):
    from api.cli import cli

    data = scenario_dict([student("s1", 90, ["A", "B"]), student("s2", 80, ["A"])], [school("A", 1), school("B", 1)])
    out = write_bound(bound(load_scenario_data(data)), tmp_path / "b")
    schools = pd.read_csv(out / "bound_schools.csv", dtype=str).set_index("school_id")
    assert schools.loc["B", "vacancies"] == "1" and schools.loc["B", "bound_assignment"] == "1"
    flows = pd.read_csv(out / "flows.csv", dtype=str)
    assert set(flows["school_id"]) == {"A", "B"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["rule_placed"], summary["bound"], summary["gap"]) == (1, 2, 1)
    assert (out / "bound.xlsx").exists()
    folder = write_csv_folder(data, tmp_path / "sc")
    res = CliRunner().invoke(cli, ["bound", str(folder), "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert "most that could be placed" in res.output
