"""`AdmissionModel`'s own interface beside the rules (issue #11): the one method that writes solution
hints, and the quota-planning helpers `solver.analysis.plan` builds on."""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from models import load_scenario_data
from scenarios.generator import generate
from solver.cpsat import AdmissionModel, build_instance

from builders import hand_checked_scenario


def test_set_hint_replaces_the_hint_of_the_model_given():
    model = AdmissionModel(build_instance(load_scenario_data(hand_checked_scenario())))
    solution = model.solve().solution
    hinted = model.solve(hint=solution)  # on a copy: the model itself stays without a hint
    assert np.array_equal(hinted.solution, solution)
    assert not model.model.proto.has_solution_hint()
    copy = model.model.clone()
    model.set_hint(~solution, model=copy)
    model.set_hint(solution, model=copy)  # replaces, not adds
    assert list(copy.proto.solution_hint.vars) == list(model.decision_index)
    assert list(copy.proto.solution_hint.values) == [int(v) for v in solution]


def test_with_quotas_gives_the_outcome_of_those_quotas():
    sc = generate(600, 3, 8, 5)
    inst = build_instance(sc)
    quota = inst.arr.quota
    planning = AdmissionModel(inst, quota_bounds=(np.maximum(quota - 2, 0), quota))
    assert len(planning.quota_variables()) == len(quota)
    fixed = planning.with_quotas(quota)
    solver = cp_model.CpSolver()
    assert solver.solve(fixed) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    assert list(values[planning.quota_index]) == list(quota)
    data = AdmissionModel(inst)  # the quotas as data: the same admissions
    assert np.array_equal(values[planning.decision_index].astype(bool), data.solve().solution)
    offers = planning.offer_literals(np.arange(3))
    assert [v.index for v in offers] == list(planning.decision_index[:3])
