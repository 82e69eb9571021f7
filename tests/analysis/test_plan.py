"""Quota planning (issue #6.3, solver/analysis/plan/, `zhaosheng plan-quotas`).

The oracle is the sequential engine: on tiny scenarios every quota vector within the bounds and with the
required total is run, and the best objective found by brute force must equal the plan's proven optimum;
the plan's own prediction must equal the sequential re-run with its quotas, and respect every bound.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import load_scenario_data
from solver.analysis.plan import OBJECTIVES, Bounds, PlanError, flow_bound, objective_of, plan_quotas, quota_bounds
from solver.engine.arrays import ScenarioArrays
from solver.run import run

from builders import contested, make_scenario, region, school, student, write_csv_folder
from strategies import scenarios


def brute_force(sc, bounds: Bounds, total: int, objective: str, target_share=None) -> float | None:
    """The best objective over every quota vector within the bounds summing to ``total``."""
    best = None
    maximize = objective != "ratio"
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(bounds.lower, bounds.upper)]
    for q in itertools.product(*ranges):
        if sum(q) != total:
            continue
        schools = sc.schools.copy()
        schools["quota"] = np.array(q, dtype=np.int64)
        import dataclasses

        value = objective_of(sc, run(dataclasses.replace(sc, schools=schools), "sequential").result, objective,
                             target_share)
        if best is None or (value > best if maximize else value < best):
            best = value
    return best


def assert_plan_sound(report, bounds: Bounds, total: int) -> None:
    assert report.quota_after is not None
    q = report.quota_after
    assert (q >= bounds.lower).all() and (q <= bounds.upper).all()
    assert int(q.sum()) == total
    assert report.rerun_equal is True, f"{report.rerun_differences} student(s) differ"
    assert report.rerun_objective == report.objective_value
    assert list(report.rerun.scenario.schools["quota"]) == list(q)


def _tiny_bounds(sc, draw_spread) -> Bounds:
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    lower = np.maximum(quota - np.array(draw_spread[0][:len(quota)]), 0)
    upper = quota + np.array(draw_spread[1][:len(quota)])
    return Bounds(lower.astype(np.int64), upper.astype(np.int64))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), objective=st.sampled_from(OBJECTIVES))
def test_optimum_equals_brute_force_on_random_scenarios(data, objective):
    sc = load_scenario_data(data.draw(scenarios(later_batches=data.draw(st.booleans()))))
    S = len(sc.schools)
    spread = (data.draw(st.lists(st.integers(0, 2), min_size=S, max_size=S)),
              data.draw(st.lists(st.integers(0, 2), min_size=S, max_size=S)))
    bounds = _tiny_bounds(sc, spread)
    total = data.draw(st.integers(int(bounds.lower.sum()), int(bounds.upper.sum())))
    report = plan_quotas(sc, total, objective, bounds=bounds, time_limit=60, workers=1)
    assert report.status == "OPTIMAL"
    assert_plan_sound(report, bounds, total)
    best = brute_force(sc, bounds, total, objective)
    assert report.objective_value == best
    if objective == "placed":  # the max-flow bound holds for every quota vector within the bounds
        assert flow_bound(sc, ScenarioArrays.from_scenario(sc), bounds.upper) >= best


def test_contested_case_by_hand():
    sc = load_scenario_data(contested())
    bounds = quota_bounds(sc, -0.5, 0.5)  # A: 1..3, B: 2..6
    assert list(bounds.lower) == [1, 2] and list(bounds.upper) == [3, 6]
    first = plan_quotas(sc, 6, "first-choice", bounds=bounds, time_limit=30, workers=1)
    assert first.status == "OPTIMAL" and first.objective_value == 4  # A at its maximum 3, and t at B
    assert list(first.quota_after) == [3, 3]
    assert first.baseline_objective == 3
    assert first.objective_value == brute_force(sc, bounds, 6, "first-choice")
    assert_plan_sound(first, bounds, 6)
    placed = plan_quotas(sc, 5, "placed", bounds=bounds, time_limit=30, workers=1)
    assert placed.objective_value == 5 == brute_force(sc, bounds, 5, "placed")
    assert_plan_sound(placed, bounds, 5)


def test_ratio_objective_with_a_target_share():
    regions = [region("R1", graduates=10, seats=2), region("R2", graduates=10, seats=0)]
    students = ([student(f"a{i}", 90 - i, ["A"], region="R1", applies_general=True) for i in range(6)]
                + [student(f"b{i}", 80 - i, ["A"], region="R2") for i in range(6)])
    sc = make_scenario(students=students, schools=[school("A", 6)], regions=regions, general_stage="seats")
    bounds = Bounds(np.array([2]), np.array([10]))
    for share in (None, 0.3):
        for total in (2, 6, 10):
            r = plan_quotas(sc, total, "ratio", bounds=bounds, target_share=share, time_limit=30, workers=1)
            assert r.status == "OPTIMAL"
            assert r.objective_value == brute_force(sc, bounds, total, "ratio", share)
            assert_plan_sound(r, bounds, total)


def test_default_bounds_subquotas_and_unregistered():
    sc = make_scenario(students=[student("s", 90, ["A"])],
                       schools=[school("A", 10), school("B", 10), school("C", 7, registered=False)],
                       subquotas=[("B", "R1", 9)])
    b = quota_bounds(sc)  # -20% .. +20%
    assert list(b.lower) == [8, 9, 7] and list(b.upper) == [12, 12, 7]
    assert any("sub-quotas" in n for n in b.notes) and any("not registered" in n for n in b.notes)


def test_bad_input_is_a_plan_error():
    sc = make_scenario(students=[student("s", 90, ["A"])], schools=[school("A", 10), school("B", 10)])
    with pytest.raises(PlanError, match="outside"):
        plan_quotas(sc, 30, "placed")  # at most 24
    with pytest.raises(PlanError, match="outside"):
        plan_quotas(sc, 10, "placed")  # at least 16
    import pandas as pd

    with pytest.raises(PlanError, match="unknown school"):
        quota_bounds(sc, school_max=pd.DataFrame({"school_id": ["Z"], "max": [3]}))
    with pytest.raises(PlanError, match="objective"):
        plan_quotas(sc, 20, "happiness")


def test_school_max_file_sets_bounds():
    sc = make_scenario(students=[student("s", 90, ["A"])], schools=[school("A", 10), school("B", 10)])
    import pandas as pd

    b = quota_bounds(sc, school_max=pd.DataFrame({"school_id": ["A", "B"], "max": [11, 30], "min": [None, 20]}))
    assert list(b.lower) == [8, 20] and list(b.upper) == [11, 30]


# CLI -----------------------------------------------------------------------------------------------------

def _cli():
    from api.cli import cli

    return cli


def test_cli_writes_the_plan(tmp_path):
    folder = write_csv_folder(contested(), tmp_path / "sc")
    out = tmp_path / "out"
    res = CliRunner().invoke(_cli(), ["plan-quotas", str(folder), "--total", "6", "--objective", "first-choice",
                                      "--min-change", "-50%", "--max-change", "+50%", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "equals the prediction" in res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "OPTIMAL" and summary["objective_value"] == 4
    assert summary["sequential re-run equals prediction"] is True
    quotas = (out / "quotas.csv").read_text(encoding="utf-8-sig").splitlines()
    assert quotas[0] == "school_id,name,quota_before,quota_after,min,max,change"
    assert quotas[1].startswith("A,") and quotas[1].endswith(",2,3,1,3,1")
    for name in ("admissions.csv", "offers.csv", "schools.csv", "regions.csv", "plan.xlsx"):
        assert (out / name).exists()
    schools = (out / "schools.csv").read_text(encoding="utf-8-sig")
    assert "A," in schools


@pytest.mark.parametrize("args, message", [
    (["--total", "100"], "outside"),
    (["--total", "6", "--school-max", "BAD"], "unknown school"),
    (["--total", "6", "--min-change", "abc"], "not a change"),
])
def test_cli_bad_input_exits_2(tmp_path, args, message):
    folder = write_csv_folder(contested(), tmp_path / "sc")
    if "BAD" in args:
        path = tmp_path / "max.csv"
        path.write_text("school_id,max\nA,3\nNOPE,4\n", encoding="utf-8")
        args = [str(path) if a == "BAD" else a for a in args]
    res = CliRunner().invoke(_cli(), ["plan-quotas", str(folder), *args, "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 2, res.output
    assert message in res.output
