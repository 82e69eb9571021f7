"""The verification layer (`solver.verify`) and the CP-SAT model on random scenarios: the model, built
from the scenario alone, finds exactly the sequential engine's admissions and offers, a second solve
("differ somewhere") is infeasible, and the independent checker finds nothing (docs/rules.md, "Why the CP-SAT
model has exactly one solution").  Then the layer itself: it must say FAILED when the engines differ or
the model has a second solution, and `feasible_with` must reject any result that differs from the
right one in a single offer.

The random scenarios are `test_engine_vs_reference.scenarios`: ties, lotteries, sub-quotas, declines,
three batches with batch2/batch3 lists and fallback, interview gates, unregistered schools, ineligible
students, the general stage by seats, cutoff or none.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import solver.cpsat.model as model_module
import solver.verify as verify_module
from models import load_scenario_data
from models.results import Result
from scenarios.generator import generate
from solver.cpsat import AdmissionModel, build_instance
from solver.cpsat.r06_order import R06Order
from solver.engine.sequential import run_sequential
from solver.verify import verify

from builders import make_scenario, school, student
from cpsat_helpers import FOUND, add_offer, assert_same_result, drop_offer
from strategies import scenarios

RANDOM = settings(max_examples=40, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_verified(sc) -> None:
    v = verify(sc)
    d = v.verdict
    assert d.status == {"solve": "OPTIMAL", "proof": "INFEASIBLE"}, d.status
    assert d.equal is True, v.differences.to_dict("records")
    assert d.unique is True
    assert d.checker_violations == {"sequential": 0, "cpsat": 0}, v.violations.to_dict("records")
    assert d.differences == 0 and v.differences.empty
    assert d.ok and d.text == "verified"
    assert_same_result(v.cpsat, v.sequential)  # every column of both files, dates included


@RANDOM
@given(scenarios())
def test_verified_on_random_scenarios(data):
    assert_verified(load_scenario_data(data))


@RANDOM
@given(scenarios(later_batches=True))
def test_verified_on_random_scenarios_over_three_batches(data):
    """R5, R7, R8, R9 across batches: declined seats and shares returned, declined schools void."""
    assert_verified(load_scenario_data(data))


@pytest.mark.parametrize("seed", [1, 2])
def test_verified_on_a_generated_city(seed):
    """A few hundred students of the synthetic generator: city schools with county sub-quotas, an
    unregistered school, interview schools, declines, three batches."""
    assert_verified(generate(students=400, regions=4, schools=6, seed=seed))


def _flipped(sc, seq: Result, inst, a: int) -> Result:
    """``seq`` with the decision of application ``a`` flipped: its offer removed, or made."""
    student_id = str(inst.arr.student_ids[inst.student[a]])
    school_id = str(inst.arr.school_ids[inst.school[a]])
    batch = sc.settings.batches[int(inst.batch[a])].id
    rank = int(inst.rank[a])
    offers = seq.offers
    made = ((offers["student_id"].astype(str) == student_id) & (offers["school_id"].astype(str) == school_id)
            & (offers["batch"].astype(int) == batch) & (offers["choice_rank"].astype(int) == rank)).any()
    if made:
        return drop_offer(seq, student_id, batch)
    return add_offer(sc, seq, student_id, school_id, batch, rank)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios(later_batches=True), st.integers(0, 10_000))
def test_a_result_differing_in_one_offer_is_infeasible(data, pick):
    sc = load_scenario_data(data)
    inst = build_instance(sc)
    assume(inst.n_apps > 0)
    model = AdmissionModel(inst)
    seq = run_sequential(sc)
    assert model.feasible_with(seq).status in FOUND
    a = pick % inst.n_apps
    flipped = _flipped(sc, seq, inst, a)
    assert len(flipped.offers) != len(seq.offers)
    values, unmatched = model.decisions_of(flipped)
    assert not unmatched
    assert int((values != model.decisions_of(seq)[0]).sum()) == 1  # exactly that decision differs
    assert model.feasible_with(flipped).status == "INFEASIBLE"


# The layer must be able to fail ---------------------------------------------------------------------

def _contested():
    return make_scenario(schools=[school("A", 1), school("B", 1)],
                         students=[student("p", 90, ["A", "B"]), student("q", 80, ["A", "B"]),
                                   student("r", 70, ["B"])],
                         declines=[("p", 1)], batches=2)


def test_verify_says_failed_when_the_engines_differ(monkeypatch):
    """A sequential engine that gives q's seat to r: equal is False and the difference names both."""
    sc = _contested()

    def wrong_engine(scenario, progress=None, arrays=None):
        right = run_sequential(scenario, progress, arrays)
        adm = right.admissions.copy()
        q, r = adm["student_id"] == "q", adm["student_id"] == "r"
        cols = ["outcome", "school_id", "batch", "choice_rank", "admit_date", "confirm_date"]
        adm.loc[q, cols], adm.loc[r, cols] = adm.loc[r, cols].to_numpy(), adm.loc[q, cols].to_numpy()
        return Result(adm, right.offers, "sequential")

    monkeypatch.setattr(verify_module, "run_sequential", wrong_engine)
    v = verify(sc)
    assert v.verdict.equal is False and v.verdict.unique is True
    assert v.verdict.text == "FAILED" and not v.verdict.ok
    assert sorted(v.differences["student_id"]) == ["q", "r"] and v.verdict.differences == 2


def test_verify_says_failed_when_offers_differ_only(monkeypatch):
    """Same admissions, one offer fewer (p's declined offer): the offers are compared too."""
    sc = _contested()

    def wrong_engine(scenario, progress=None, arrays=None):
        right = run_sequential(scenario, progress, arrays)
        return Result(right.admissions, right.offers[right.offers["student_id"] != "p"].reset_index(drop=True),
                      "sequential")

    monkeypatch.setattr(verify_module, "run_sequential", wrong_engine)
    v = verify(sc)
    assert v.differences.empty and v.verdict.equal is False and v.verdict.text == "FAILED"


def test_verify_says_failed_when_the_model_has_a_second_solution(monkeypatch):
    """Without R6's rejection rows nothing forces an offer: the proof finds another assignment."""
    sc = _contested()
    kept = tuple(m for m in model_module.RULE_MODULES if not isinstance(m, R06Order))
    monkeypatch.setattr(model_module, "RULE_MODULES", kept)
    v = verify(sc)
    assert v.verdict.unique is False and v.verdict.status["proof"] in FOUND
    assert v.verdict.text == "FAILED" and not v.verdict.ok


def test_sequential_result_of_the_contested_case():
    """The case the failure tests break, worked by hand: p takes A and declines; q is rejected at A
    (p's seat held) and at B (r's first choice, round 1); batch 2: A is back and goes to q."""
    assert_verified(_contested())
    from builders import placements
    assert placements(run_sequential(_contested())) == {"p": ("unplaced", None, None, None),
                                                        "q": ("vocational", "A", 2, 1),
                                                        "r": ("vocational", "B", 1, 1)}


def test_feasible_with_core_names_assumed_literals():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 1)], batches=2)
    model = AdmissionModel(build_instance(sc))
    seq = run_sequential(sc)
    broken = drop_offer(seq, "y", 2)
    values, _ = model.decisions_of(broken)
    assumed = set(np.where(values, model.decision_index, -model.decision_index - 1).tolist())
    right = set(np.where(model.decisions_of(seq)[0], model.decision_index, -model.decision_index - 1).tolist())
    report = model.feasible_with(broken)
    assert report.status == "INFEASIBLE"
    core = set(report.stats["core"])
    assert core and core <= assumed  # only assumptions
    assert core - right  # and at least one of those that differ from the right result
