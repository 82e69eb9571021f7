"""The search for the best quotas: CP-SAT on the planning model, each solution found told to the progress
callback; the status, the objective and its bound, and the values of every variable."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver.analysis.plan.bounds import IntArray
from solver.analysis.plan.model import PlanModel
from solver.progress import Phase


@dataclass
class Search:
    status: str  # OPTIMAL / FEASIBLE / INFEASIBLE / UNKNOWN / MODEL_INVALID
    seconds: float
    objective_value: float | None = None
    bound: float | None = None  # CP-SAT's bound, and the plan's own one where that is tighter
    values: IntArray | None = None  # every variable of the model, in proto order (None: no solution)


def search(plan: PlanModel, time_limit: float | None, workers: int, say: Phase) -> Search:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.cp_model_probing_level = 0  # probing costs most of the presolve here, for little
    if time_limit:
        solver.parameters.max_time_in_seconds = time_limit
    t0 = time.perf_counter()

    class Found(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            say(f"solution {self.objective_value:,.0f}, bound {self.best_objective_bound:,.0f} "
                f"({time.perf_counter() - t0:.0f} s)")

    status = solver.solve(plan.admission.model, Found())
    found = Search(solver.status_name(status), time.perf_counter() - t0)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return found
    found.objective_value = float(solver.objective_value)
    found.bound = float(solver.best_objective_bound)
    if plan.trivial_bound is not None:  # CP-SAT's reported bound may stay above this valid one (sum q_s = total)
        found.bound = min(found.bound, float(plan.trivial_bound))
    found.values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    return found
