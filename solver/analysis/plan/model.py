"""The planning model: the verification model (`solver.cpsat.AdmissionModel`) with each school's quota an
integer variable within its bounds (R7's cap, ``full <=> count >= q_s``), ``sum(q_s) == total``, and the
objective.  OR-Tools is imported when a model is built, not with the package (the CLI lists the
objectives without loading it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.scenario import Scenario
from solver.analysis.plan.bounds import Bounds, IntArray
from solver.analysis.plan.objectives import check_objective, region_targets
from solver.engine.arrays import ScenarioArrays

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from solver.cpsat import AdmissionModel


@dataclass
class PlanModel:
    admission: AdmissionModel  # its quota variables are the plan; its model holds the total and objective
    objective: str
    total: int
    trivial_bound: int | None  # objectives maximized: a valid bound (seats, applicants, the max flow)


def flow_bound(sc: Scenario, arr: ScenarioArrays, upper: IntArray) -> int:
    """The most students who could be placed within their listed choices with every school at the top of
    its bounds (max flow, `solver.analysis.flow`; sub-quotas as they are): the rule's placements under any
    quota vector within the bounds are one such flow, so this bounds objective ``placed``."""
    from solver.analysis.flow import build_network, listed_choices, max_flow

    listed = listed_choices(sc, arr)
    who = listed[:, 0] >= 0 if listed.shape[1] else np.zeros(arr.n, dtype=bool)
    value, _ = max_flow(build_network(arr, listed, who, np.maximum(upper, 0), arr.sub_quota))
    return int(value)


def build_plan_model(sc: Scenario, bounds: Bounds, total: int, objective: str,
                     target_share: float | None = None) -> PlanModel:
    """The model of a plan: quotas within ``bounds`` summing to ``total``, the rules, the objective."""
    from ortools.sat.python import cp_model

    from solver.cpsat import AdmissionModel, build_instance

    check_objective(objective)
    arr = ScenarioArrays.from_scenario(sc)
    arr = dataclasses.replace(arr, quota=np.maximum(bounds.upper, 0))  # seat counts are bounded by max_s
    model = AdmissionModel(build_instance(sc, arr), quota_bounds=(bounds.lower, bounds.upper))
    quotas = model.quota_variables()
    model.model.add(cp_model.LinearExpr.sum(quotas) == total)
    confirmed = np.flatnonzero(~model.inst.declines)  # an offer counts once confirmed (R9)
    _capacity_rows(model, quotas, confirmed)
    if objective == "ratio":
        _ratio_objective(model, sc, confirmed, target_share)
        return PlanModel(model, objective, total, None)
    bound = _gain_objective(model, sc, bounds, total, objective, confirmed)
    return PlanModel(model, objective, total, bound)


def _capacity_rows(model: AdmissionModel, quotas: list[cp_model.IntVar], confirmed: IntArray) -> None:
    """Redundant rows (implied by R7, R10), for the LP bound: a school confirms at most q_s students, and at
    most as many as the distinct students who apply to it."""
    from ortools.sat.python import cp_model

    inst = model.inst
    for j, var in enumerate(quotas):
        here = confirmed[inst.school[confirmed] == j]
        if len(here):
            seats = cp_model.LinearExpr.sum(model.offer_literals(here))
            model.model.add(seats <= var)
            model.model.add(seats <= len(np.unique(inst.student[here])))


def _gain_objective(model: AdmissionModel, sc: Scenario, bounds: Bounds, total: int, objective: str,
                    confirmed: IntArray) -> int:
    """Maximize the confirmed admissions counted by ``objective`` (placed, first-choice); returns the
    bound stated beside it: seats, students who could take them, and (placed) the max flow with every
    school at its maximum."""
    from ortools.sat.python import cp_model

    inst = model.inst
    if objective == "placed":
        chosen = confirmed
    else:  # first-choice: choice 1 of the first batch
        chosen = confirmed[(inst.batch[confirmed] == 0) & (inst.rank[confirmed] == 1)]
    gain = cp_model.LinearExpr.sum(model.offer_literals(chosen))
    trivial_bound = min(total, len(np.unique(inst.student[chosen])))
    if objective == "placed":
        trivial_bound = min(trivial_bound, flow_bound(sc, inst.arr, bounds.upper))
    model.model.add(gain <= trivial_bound)  # redundant: a bound for the search
    model.model.maximize(gain)
    return trivial_bound


def _ratio_objective(model: AdmissionModel, sc: Scenario, confirmed: IntArray, target_share: float | None) -> None:
    """Minimize sum over regions |vocational admissions - target| (deviation variables ``dev_r``)."""
    from ortools.sat.python import cp_model

    inst, m = model.inst, model.model
    general = np.bincount(inst.arr.region[inst.general], minlength=inst.arr.n_regions)
    targets = region_targets(sc, general, target_share)
    devs = []
    for r in range(inst.arr.n_regions):
        here = confirmed[inst.region[confirmed] == r]
        voc = cp_model.LinearExpr.sum(model.offer_literals(here))
        d = m.new_int_var(0, int(max(targets[r], len(here))), f"dev_{r}")
        m.add(d >= voc - int(targets[r]))
        m.add(d >= int(targets[r]) - voc)
        devs.append(d)
    m.minimize(cp_model.LinearExpr.sum(devs))
