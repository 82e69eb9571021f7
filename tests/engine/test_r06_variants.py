"""R6 variants (docs/rules.md "R6 variants"; RULES.md): a batch admits by boston (the sequential rule),
parallel (平行志愿, deferred acceptance) or chen-kesten with e.  Tiny scenarios in which the mechanism decides
the outcome, worked by hand; chen-kesten's two ends (e = 1 is boston, e >= max_choices is parallel) on
random scenarios; and an outside oracle nobody here wrote: the parallel outcome is the resident-optimal
stable matching of the PyPI package ``matching`` on plain instances (one batch, no sub-quotas, every offer
confirmed)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from models import load_scenario_data
from solver.engine.arrays import ScenarioArrays
from solver.engine.sequential import run_sequential
from solver.run import run

from builders import (
    BOSTON,
    PARALLEL,
    UNPLACED,
    envy_case,
    make_scenario,
    offer_rows,
    one_batch,
    placements,
    school,
    student,
    three_choices,
)
from strategies import scenarios

RANDOM = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@pytest.mark.parametrize("mechanism, e, expected", [("boston", None, BOSTON), ("parallel", None, PARALLEL),
                                                    ("chen-kesten", 1, BOSTON), ("chen-kesten", 2, PARALLEL)])
def test_the_mechanism_decides_who_gets_a(mechanism, e, expected):
    assert placements(run_sequential(envy_case(mechanism, e))) == expected


def test_justified_envy_is_the_price_of_boston():
    """p is rejected at A while q, behind him in the chain, holds it: one student with justified envy
    toward A under boston, none under parallel."""
    boston, parallel = run(envy_case("boston"), "sequential"), run(envy_case("parallel"), "sequential")
    assert boston.fairness["justified_envy_students"] == 1
    assert dict(zip(boston.schools["school_id"], boston.schools["envy"])) == {"A": 1, "B": 0}
    assert parallel.fairness["justified_envy_students"] == 0 and parallel.schools["envy"].sum() == 0
    assert boston.fairness["placed_first_choice"] == 2 and parallel.fairness["placed_first_choice"] == 1


def test_chen_kesten_blocks_of_e():
    assert placements(run_sequential(three_choices(1))) == {
        "w": ("vocational", "B", 1, 1), "x": UNPLACED, "y": ("vocational", "C", 1, 1), "z": ("vocational", "A", 1, 1)}
    two = {"w": ("vocational", "B", 1, 1), "x": ("vocational", "C", 1, 2), "y": ("vocational", "A", 1, 2),
           "z": UNPLACED}
    assert placements(run_sequential(three_choices(2))) == two
    assert placements(run_sequential(three_choices(3))) == two


def test_parallel_holds_per_region_share():
    """R8 inside deferred acceptance: A(2) with a sub-quota of 1 for R2.  a (90, R2) and b (85, R2) list
    A first; c (80, R1) lists B then A.  B(1) goes to d (95).  Parallel: A holds a; b is over R2's share;
    c, rejected at B, takes A's second seat although behind b in the chain."""
    sc = make_scenario(schools=[school("A", 2), school("B", 1)],
                       students=[student("a", 90, ["A"], region="R2"), student("b", 85, ["A"], region="R2"),
                                 student("c", 80, ["B", "A"]), student("d", 95, ["B"])],
                       subquotas=[("A", "R2", 1)], batches=one_batch("parallel"))
    assert placements(run_sequential(sc)) == {"a": ("vocational", "A", 1, 1), "b": UNPLACED,
                                              "c": ("vocational", "A", 1, 2), "d": ("vocational", "B", 1, 1)}


def with_mechanisms(data: dict, mechanism: str, e: int | None = None) -> dict:
    data = copy.deepcopy(data)
    for b in data["scenario"]["batches"]:
        b["mechanism"] = mechanism
        if e is not None:
            b["e"] = e
    return data


@RANDOM
@given(scenarios(later_batches=True))
def test_chen_kesten_with_e_1_is_boston(data):
    boston = run_sequential(load_scenario_data(data))
    ck = run_sequential(load_scenario_data(with_mechanisms(data, "chen-kesten", 1)))
    assert placements(ck) == placements(boston) and offer_rows(ck) == offer_rows(boston)


@RANDOM
@given(scenarios(later_batches=True), st.integers(0, 2))
def test_chen_kesten_with_e_at_least_max_choices_is_parallel(data, more):
    e = data["scenario"]["max_choices"] + more
    parallel = run_sequential(load_scenario_data(with_mechanisms(data, "parallel")))
    ck = run_sequential(load_scenario_data(with_mechanisms(data, "chen-kesten", e)))
    assert placements(ck) == placements(parallel) and offer_rows(ck) == offer_rows(parallel)


@st.composite
def plain_instances(draw):
    """One parallel batch, no sub-quotas, no declines, no general stage, every student eligible: the
    hospital-resident problem with one common chain for every hospital."""
    n_schools = draw(st.integers(1, 5))
    schools = [school(f"H{j}", draw(st.integers(0, 4))) for j in range(n_schools)]
    ids = [f"S{i:03d}" for i in range(draw(st.integers(1, 25)))]
    max_choices = draw(st.integers(1, 4))
    students = [student(sid, draw(st.integers(40, 100)),
                        draw(st.lists(st.sampled_from([s["school_id"] for s in schools]), max_size=max_choices,
                                      unique=True)))
                for sid in ids]
    return make_scenario(schools=schools, students=students, max_choices=max_choices,
                         batches=one_batch("parallel"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_instances())
def test_parallel_is_the_resident_optimal_stable_matching(sc):
    """The outside oracle: ``matching.games.HospitalResident`` solved resident-optimal, with each school's
    preference the tie-break chain over the students who listed it."""
    arr = ScenarioArrays.from_scenario(sc)
    ids = arr.student_ids.to_numpy(dtype=object)
    chain = ids[np.argsort(arr.rank)]  # students in chain order
    lists = {str(r["student_id"]): [c for c in (r.get("choice_1"), r.get("choice_2"), r.get("choice_3"),
                                                r.get("choice_4")) if isinstance(c, str) and c]
             for r in sc.students.to_dict("records")}
    # a school without seats rejects everyone, as if unlisted (the package cannot hold a capacity of 0)
    capacities = {s: int(q) for s, q in zip(sc.schools["school_id"], sc.schools["quota"]) if q > 0}
    lists = {i: [s for s in prefs if s in capacities] for i, prefs in lists.items()}
    hospital_prefs = {s: [str(i) for i in chain if s in lists[str(i)]] for s in capacities}
    residents = {i: prefs for i, prefs in lists.items() if prefs}
    want: dict[str, str] = {}
    if residents:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the package warns about hospitals nobody ranked
            game = HospitalResident.create_from_dictionaries(residents, hospital_prefs, capacities)
            for hospital, matched in game.solve(optimal="resident").items():
                want.update({str(r): str(hospital) for r in matched})
    got = {sid: p[1] for sid, p in placements(run_sequential(sc)).items() if p[0] == "vocational"}
    assert got == want
