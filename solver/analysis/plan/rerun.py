"""The plan is not trusted: the sequential engine re-runs the scenario with the chosen quotas and must give
exactly the predicted admissions and offers, and the same objective value (`PlanReport.rerun_equal`)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from numpy.typing import ArrayLike

from models.results import Result
from models.scenario import Scenario
from solver.analysis.plan.objectives import objective_of
from solver.analysis.plan.report import PlanReport
from solver.run import run


def check_rerun(report: PlanReport) -> None:
    """Re-run ``report``'s scenario with its new quotas and record the re-run, how many students differ
    from the prediction, and its objective value (``report.times["rerun"]``: the seconds it took)."""
    if report.quota_after is None or report.predicted is None:
        raise ValueError("no plan to re-run")
    t1 = time.perf_counter()
    sc = report.scenario
    report.rerun = run(with_quotas(sc, report.quota_after), "sequential")
    report.rerun_differences, report.rerun_equal = same_result(report.predicted, report.rerun.result)
    report.rerun_objective = objective_of(sc, report.rerun.result, report.objective, report.target_share)
    if report.rerun_objective != report.objective_value:
        report.rerun_equal = False
    report.times["rerun"] = round(time.perf_counter() - t1, 3)


def with_quotas(sc: Scenario, quotas: ArrayLike) -> Scenario:
    """The scenario with each school's quota replaced."""
    schools = sc.schools.copy()
    schools["quota"] = np.asarray(quotas, dtype=np.int64)
    return dataclasses.replace(sc, schools=schools)


def same_result(a: Result, b: Result) -> tuple[int, bool]:
    """Students whose outcome, school, batch or rank differ, and whether admissions and offers are equal."""
    from solver.verify import compare, offers_equal

    differences = len(compare(a, b))
    return differences, differences == 0 and offers_equal(a, b)
