"""The warm start of a plan: a complete solution to start the search from — the rules' outcome of one
feasible quota vector (`bounds.feasible_start`), found by solving the model with those quotas fixed, set
as the model's solution hint."""

from __future__ import annotations

import numpy as np

from solver.analysis.plan.bounds import Bounds, IntArray, feasible_start
from solver.analysis.plan.model import PlanModel


def set_warm_start(plan: PlanModel, quota: IntArray, bounds: Bounds, time_limit: float | None, workers: int) -> bool:
    """Hint ``plan``'s model with the outcome of the current quotas moved within the bounds and to the
    total; False if that outcome was not found within ``time_limit`` (the model is then left unhinted)."""
    from ortools.sat.python import cp_model

    start = feasible_start(quota, bounds, plan.total)
    fixed = plan.admission.with_quotas(start)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    if time_limit:
        solver.parameters.max_time_in_seconds = float(time_limit)
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    plan.admission.set_hint(values, np.arange(len(values)))
    return True
