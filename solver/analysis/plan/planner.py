"""`plan_quotas`: the steps of a plan in order — check the input, build the model, run the current quotas
(the baseline), warm start, search, and re-run the plan with the sequential engine."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from models.scenario import Scenario
from solver.analysis.plan.bounds import Bounds, IntArray, check_total, quota_bounds
from solver.analysis.plan.model import PlanModel, build_plan_model
from solver.analysis.plan.objectives import check_objective, objective_of, objective_sense
from solver.analysis.plan.proof import proof_summary, search_gain
from solver.analysis.plan.reach import supported
from solver.analysis.plan.report import PlanReport
from solver.analysis.plan.rerun import check_rerun
from solver.analysis.plan.search import Search, search
from solver.analysis.plan.warm_start import set_warm_start
from solver.progress import Phase
from solver.run import run

RESERVE = 5.0
"""Seconds at least kept, out of the time limit, for the prediction of the best vector found."""


def plan_quotas(sc: Scenario, total: int | None = None, objective: str = "placed", *, min_change: float = -0.2,
                max_change: float = 0.2, school_max: pd.DataFrame | None = None, bounds: Bounds | None = None,
                target_share: float | None = None, time_limit: float | None = 120.0, workers: int = 2,
                progress: Phase | None = None, warm_start: bool = True) -> PlanReport:
    """Choose the quotas; ``total`` defaults to the current sum of quotas.  Raises `PlanError` on bad input.
    ``progress`` is told each step, and each solution the search finds.  Objectives maximized are searched
    and bounded by `proof.search_gain` (``warm_start`` is then unused) where every batch takes one choice at
    a time (`reach.supported`); ``ratio``, and batches under deferred acceptance, by CP-SAT (`search`)."""
    say = progress or _quiet
    check_objective(objective)
    t_start = time.perf_counter()
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    if bounds is None:
        bounds = quota_bounds(sc, min_change, max_change, school_max)
    total = check_total(bounds, int(quota.sum()) if total is None else int(total))

    say("building the model")
    plan = build_plan_model(sc, bounds, total, objective, target_share)
    t_built = time.perf_counter()

    say("sequential run with the current quotas")  # the baseline, and a warm start when it fits the total
    baseline = objective_of(sc, run(sc, "sequential").result, objective, target_share)
    deadline = None if not time_limit else t_start + float(time_limit)
    proof = None
    if objective_sense(objective) == "maximize" and supported(sc):  # local search, branch and bound (proof.py)
        reserve = max(RESERVE, 2 * (t_built - t_start))  # the prediction solves about as long as the build
        found, proof = search_gain(sc, plan, bounds, quota, deadline, reserve, workers, say)
    else:
        if warm_start:  # a complete solution to start from: the rules' outcome of a feasible quota vector
            say("warm start: the outcome of a feasible quota vector")
            set_warm_start(plan, quota, bounds, time_limit, workers)
        say("solving")
        left = None if deadline is None else max(1.0, deadline - time.perf_counter())
        found = search(plan, left, workers, say)
    report = PlanReport(sc, objective, total, found.status, None, None, bounds, quota, None,
                        baseline_objective=baseline, target_share=target_share,
                        model_size=plan.admission.size())
    report.times = {"build": round(t_built - t_start, 3), "solve": round(found.seconds, 3)}
    if proof is not None:
        report.method = proof_summary(proof)
    if found.values is None:
        return report
    _take_solution(report, plan, found, found.values)
    say("sequential re-run with the new quotas")
    check_rerun(report)
    report.times["total"] = round(time.perf_counter() - t_start, 3)
    return report


def _take_solution(report: PlanReport, plan: PlanModel, found: Search, values: IntArray) -> None:
    """The found quotas and their outcome, as the model predicts it (``values``: the found solution)."""
    model = plan.admission
    assert model.quota_index is not None, "a planning model has quota variables"
    report.objective_value, report.bound = found.objective_value, found.bound
    report.quota_after = values[model.quota_index]
    report.predicted = model.result(values[model.decision_index].astype(bool), engine="cpsat")


def _quiet(_: str) -> None:
    pass
