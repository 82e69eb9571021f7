"""The checker (solver.checker): an independent verifier, one module per rule id (docs/rules.md R1-R12,
STYLE.md "a verifier that knows nothing of the solver").  Here: a result of the sequential engine
checks clean, on hand-made scenarios that exercise every rule, on generated and bundled scenarios, with
and without offers.csv, from typed frames and from CSV text; the violations frame has the columns of
docs/formats.md.  test_checker_mutations.py breaks correct results one way at a time."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from models.results import read_result_csv, write_csv
from scenarios.generator import generate
from solver.checker import COLUMNS, RULES, check
from solver.engine.sequential import run_sequential

from builders import make_scenario, region, school, student
from strategies import cities

CHECKER = Path(__file__).resolve().parents[1] / "solver" / "checker"
MODULES = ["r01_eligibility", "r02_catalogue", "r03_choices", "r04_general", "r05_batches", "r06_order",
           "r07_quota", "r08_subquota", "r09_confirmation", "r10_no_double", "r11_dates", "r12_outcome"]


def assert_clean(sc, result=None) -> None:
    """The engine's result follows every rule, with offers.csv and with admissions.csv alone."""
    result = result or run_sequential(sc)
    for offers in (result.offers, None):
        found = check(sc, result.admissions, offers)
        assert found.empty, found.to_string()


# Hand-made scenarios, one feature of the rules each ---------------------------------------------------

HAND_MADE = {
    "boston: a second choice loses to every first choice (R6)": dict(
        schools=[school("A", 1), school("B", 1)],
        students=[student("t", 99, ["B"]), student("h", 95, ["B", "A"]), student("l", 60, ["A"])]),
    "second round fills the remaining seats in chain order (R6)": dict(
        schools=[school("A", 1), school("B", 2)],
        students=[student("t", 99, ["A"]), student("u", 70, ["A", "B"]), student("v", 80, ["A", "B"]),
                  student("w", 60, ["B"]), student("z", 75, ["A", "B"])]),
    "ties broken by evaluation, then student id (R6)": dict(
        schools=[school("A", 2)],
        students=[student("s3", 80, ["A"], evaluation="B"), student("s2", 80, ["A"], evaluation="B"),
                  student("s1", 80, ["A"], evaluation="C"), student("s0", 80, ["A"], evaluation="A")]),
    "a lottery chain (R6)": dict(
        schools=[school("A", 1)], tie_break=["score", "lottery"],
        students=[student("s1", 80, ["A"], lottery=7), student("s2", 80, ["A"], lottery=3),
                  student("s0", 79, ["A"], lottery=0)]),
    "a full region is skipped, later students of other regions still admitted (R8)": dict(
        schools=[school("A", 3)], subquotas=[("A", "R2", 1)],
        students=[student("x", 90, ["A"], region="R2"), student("y", 85, ["A"], region="R2"),
                  student("z", 80, ["A"]), student("w", 70, ["A"]), student("v", 60, ["A"])]),
    "sub-quotas of two regions and the rest of the quota (R7, R8)": dict(
        schools=[school("A", 3), school("B", 2)], subquotas=[("A", "R2", 1), ("A", "R3", 1), ("B", "R2", 1)],
        students=[student(f"s{i}", 100 - 3 * i, ["A", "B"], region=f"R{1 + i % 3}") for i in range(10)]),
    "declines, fallback, a declined school void later (R5, R9)": dict(
        schools=[school("A", 1), school("B", 1), school("C", 2)],
        students=[student("x", 90, ["A", "B"], batch3=["A", "C"]), student("y", 80, ["A"], batch2=["B", "C"]),
                  student("z", 70, ["A", "C"]), student("q", 65, ["B"], batch3=["A"]), student("n", 60, [])],
        declines=[("x", 1), ("x", 2), ("y", 2)], batches=3),
    "declined seats are held until the batch ends (R9)": dict(
        schools=[school("A", 1), school("B", 1)],
        students=[student("x", 90, ["A"]), student("y", 80, ["A", "B"]), student("w", 40, ["B"])],
        declines=[("x", 1)], batches=2),
    "unregistered and interview schools void, ranks kept (R2, R3)": dict(
        schools=[school("A", 1, registered=False), school("I", 1, requires_interview=True), school("B", 2)],
        students=[student("x", 90, ["A", "B"]), student("y", 85, ["I", "B"]), student("p", 80, ["I", "B"]),
                  student("u", 70, ["A"])],
        interviews=[("p", "I")]),
    "ineligible students, general seats (R1, R4)": dict(
        schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=2)],
        students=[student("g1", 95, ["A"]), student("g2", 90, ["A"], cohort="fresh", certificate=False),
                  student("g3", 85, ["A"]), student("n1", 99, ["A"], applies_general=False),
                  student("i1", 80, ["A"], certificate=False), student("f1", 75, ["A"], cohort="former",
                                                                        certificate=False)]),
    "general cutoff per region (R4)": dict(
        schools=[school("A", 5)], general_stage="cutoff",
        regions=[region("R1", cutoff=85), region("R2", cutoff=60)],
        students=[student("a", 90, ["A"]), student("b", 85, ["A"]), student("c", 84, ["A"]),
                  student("d", 70, ["A"], region="R2"), student("e", 50, ["A"], region="R2"),
                  student("f", 95, ["A"], applies_general=False)]),
    "three choices, max_choices 3 (R3)": dict(
        schools=[school("A", 1), school("B", 1), school("C", 1)], max_choices=3,
        students=[student("a", 90, ["A", "B", "C"]), student("b", 80, ["A", "B", "C"]),
                  student("c", 70, ["A", "B", "C"]), student("d", 60, ["C", "A"])]),
    "nobody filed a choice (R12 none)": dict(schools=[school("A", 1)], students=[student("a", 90, [])]),
}


@pytest.mark.parametrize("name", list(HAND_MADE))
def test_hand_made_results_check_clean(name):
    assert_clean(make_scenario(**HAND_MADE[name]))


@pytest.mark.parametrize("stage,batches,max_choices", [("seats", 3, 2), ("cutoff", 2, 3), ("none", 1, 1),
                                                        ("seats", 3, 4)])
def test_generated_results_check_clean(stage, batches, max_choices):
    sc = generate(students=4000, regions=6, schools=18, seed=11, general_stage=stage, batches=batches,
                  max_choices=max_choices, decline_share=0.08, quota_factor=0.9)
    assert_clean(sc)


def test_bundled_scenarios_check_clean(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHAOSHENG_CACHE", str(tmp_path))
    for name in scenarios.bundled_names():
        assert_clean(scenarios.load(name))


def test_results_read_back_from_csv_text_check_clean(tmp_path):
    """An audit reads admissions.csv / offers.csv as text: batch "1", confirmed "true", empty cells ""."""
    sc = generate(students=1500, regions=4, schools=10, seed=5, decline_share=0.1)
    result = run_sequential(sc)
    write_csv(result.admissions, tmp_path / "admissions.csv")
    write_csv(result.offers[["student_id", "school_id", "batch", "choice_rank", "admit_date", "confirmed"]],
              tmp_path / "offers.csv")
    admissions, offers = read_result_csv(tmp_path / "admissions.csv"), read_result_csv(tmp_path / "offers.csv")
    assert admissions["batch"].dtype != "Int64" and offers["confirmed"].iloc[0] in ("true", "false")
    for o in (offers, None):
        found = check(sc, admissions, o)
        assert found.empty, found.to_string()


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(students=st.integers(0, 250), regions=st.integers(1, 4), schools=st.integers(1, 8),
       seed=st.integers(0, 10_000), batches=st.integers(1, 3), max_choices=st.integers(1, 3),
       stage=st.sampled_from(["seats", "cutoff", "none"]), quota_factor=st.floats(0.3, 1.5),
       decline_share=st.floats(0.0, 0.25), score_step=st.sampled_from([1.0, 10.0, 50.0]))
def test_random_generated_results_check_clean(students, regions, schools, seed, batches, max_choices, stage,
                                              quota_factor, decline_share, score_step):
    """Coarse score steps make many ties, so the chain's later keys decide (R6)."""
    sc = generate(students=students, regions=regions, schools=schools, seed=seed, batches=batches,
                  max_choices=max_choices, general_stage=stage, quota_factor=quota_factor,
                  decline_share=decline_share, score_step=score_step)
    assert_clean(sc)


# The frame and the code ----------------------------------------------------------------------------

def test_violations_frame_has_the_columns_of_formats_md():
    sc = make_scenario(**HAND_MADE["declines, fallback, a declined school void later (R5, R9)"])
    found = check(sc, run_sequential(sc).admissions)
    assert list(found.columns) == COLUMNS == ["rule", "student_id", "school_id", "batch", "other_student_id",
                                              "detail"]
    assert str(found["batch"].dtype) == "Int64"
    result = run_sequential(sc)
    admissions = result.admissions.copy()
    admissions.loc[admissions["student_id"] == "n", "outcome"] = "unplaced"  # R12
    admissions.loc[admissions["student_id"] == "z", "admit_date"] = "2021-07-01"  # R11
    admissions.loc[admissions["student_id"] == "y", "school_id"] = "A"  # R12 (and R2 no: A registered)
    found = check(sc, admissions, result.offers)
    assert list(found["rule"]) == sorted(found["rule"], key=lambda r: int(r[1:]))  # R11 before R12, numerically
    assert (found["other_student_id"] == "").all() and found["student_id"].map(type).eq(str).all()


def test_one_module_per_rule_with_its_clause_and_no_engine_code():
    assert list(RULES) == [f"R{i}" for i in range(1, 13)]
    for i, name in enumerate(MODULES, start=1):
        module = importlib.import_module(f"solver.checker.{name}")
        assert module.__doc__.startswith(f"R{i} ") and ("HY §" in module.__doc__ or "JZ" in module.__doc__)
        assert RULES[f"R{i}"] is module.check
    for path in CHECKER.glob("*.py"):  # an independent second implementation (STYLE.md)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith("solver.") and not m.startswith("solver.checker")}, path


def test_rules_can_be_chosen():
    sc = make_scenario(**HAND_MADE["boston: a second choice loses to every first choice (R6)"])
    result = run_sequential(sc)
    admissions = result.admissions.copy()
    admissions.loc[admissions["student_id"] == "h", "outcome"] = "none"
    assert set(check(sc, admissions, result.offers)["rule"]) == {"R12"}
    assert check(sc, admissions, result.offers, rules=["R6", "R7"]).empty


def test_an_empty_scenario_and_result_check_clean():
    sc = generate(students=0, regions=1, schools=1, seed=0)
    result = run_sequential(sc)
    assert check(sc, result.admissions, result.offers).empty
    assert check(sc, result.admissions.iloc[:0], None).empty


def test_a_numeric_id_lookup_does_not_confuse_07_and_7():
    """Whole-number ids are looked up as numbers only in canonical form ("07" is not "7")."""
    sc = make_scenario(schools=[school("A", 1)], students=[student("7", 90, ["A"]), student("8", 80, ["A"])])
    result = run_sequential(sc)
    admissions = result.admissions.copy()
    admissions.loc[admissions["student_id"] == "7", "student_id"] = "07"
    rules = check(sc, admissions, result.offers)
    assert {(r.student_id, r.detail) for r in rules.itertuples()} >= {
        ("07", "admissions row of a student not in the scenario"), ("7", "student missing from admissions")}
    assert np.all(rules["rule"] == "R12")


# Small random cities with every feature at once: a second implementation against the engine -------------


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(city=cities())
def test_random_small_cities_check_clean(city):
    assert_clean(make_scenario(**city))
