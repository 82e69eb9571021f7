"""The search of a plan whose objective is maximized (placed, first-choice): a local search finds good quota
vectors, a branch and bound over boxes of quota vectors bounds every vector it has not ruled out, and the
planning model (CP-SAT) predicts the outcome of the best vector found, which the sequential engine then
re-runs (`rerun`).

Why not CP-SAT's own search: on jiaozuo-2022 (placed, ±20 %) it found 15,623 in 120 s with its bound stuck
at the total of seats (16,164, a 3.46 % gap): the relaxation of "a school is full when it rejects" by
linear rows is too weak to bound, and each of its moves changes one quota by one seat.  Here the value of
a vector is one run of the rule (a few hundredths of a second), and the bound is the relaxation of
`relax` on the parts of the branch and bound (`branch`): see those modules for why it is valid.
"""

from __future__ import annotations

import time

import numpy as np

from models.scenario import Scenario
from solver.analysis.plan.bounds import Bounds, IntArray
from solver.analysis.plan.branch import Proof, Search, branch_and_bound
from solver.analysis.plan.local import Evaluator, local_search
from solver.analysis.plan.model import PlanModel
from solver.analysis.plan.objectives import counted_applications
from solver.analysis.plan.reach import applications
from solver.analysis.plan.search import Search as Found
from solver.engine.arrays import ScenarioArrays
from solver.progress import Phase

LOCAL_SHARE = 0.25
"""Of the time before the prediction, the part the local search may take at most (the rest: the bound)."""


def search_gain(sc: Scenario, plan: PlanModel, bounds: Bounds, start: IntArray, deadline: float | None,
                reserve: float, workers: int, say: Phase) -> tuple[Found, Proof]:
    """The best quota vector found and a proven bound by ``deadline`` (``reserve`` seconds kept for the
    prediction, which may take them even past the deadline), and the model's prediction of that vector's
    outcome."""
    t0 = time.perf_counter()
    arr = ScenarioArrays.from_scenario(sc)
    apps = applications(sc, arr)
    counted = counted_applications(apps.batch, apps.rank, plan.objective)
    value = Evaluator(apps, counted)
    stop = None if deadline is None else deadline - reserve
    local_stop = None if stop is None else t0 + LOCAL_SHARE * max(stop - t0, 0.0)
    say("local search: moving seats between schools")
    best, best_value = local_search(value, start, bounds, plan.total, local_stop)
    say(f"local search: {best_value:,} ({len(value.seen):,} quota vectors run); bounding")
    proof = branch_and_bound(Search(apps, counted, plan.total, value, best, best_value), bounds.lower,
                             bounds.upper, stop, say)
    say(f"bound {proof.bound:,}, best {proof.value:,}: predicting its outcome (CP-SAT, quotas fixed)")
    found = predict(plan, proof, None if deadline is None else max(deadline, time.perf_counter() + reserve), workers)
    found.seconds = time.perf_counter() - t0
    return found, proof


def proof_summary(proof: Proof) -> dict[str, object]:
    """How the bound was found, for summary.json."""
    return {"bound": "branch and bound over boxes of quota vectors; each box bounded by the rule's possible "
                     "offers over the box (interval propagation) and a maximum flow with the total as a budget",
            "best_found_by": "local search and the branch and bound (the rule run per quota vector)",
            "root_bound": proof.root_bound, "boxes": proof.nodes, "bound_seconds": round(proof.seconds, 3),
            "proven_optimal": proof.proven}


def predict(plan: PlanModel, proof: Proof, deadline: float | None, workers: int) -> Found:
    """The planning model's one solution with the quotas fixed to the best vector: the prediction."""
    from ortools.sat.python import cp_model

    fixed = plan.admission.with_quotas(proof.quotas)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    if deadline is not None:
        solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 1.0)
    status = solver.solve(fixed)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Found(solver.status_name(status), 0.0)
    found = Found("OPTIMAL" if proof.proven else "FEASIBLE", 0.0, float(proof.value), float(proof.bound))
    found.values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    return found
