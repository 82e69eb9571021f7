"""The CP-SAT model of the admission rules, composed of one module per rule (docs/rules.md R3–R11; R1, R2
and R12 shape the data and the result).  The model knows the scenario only, never a result of the
sequential engine: it must find the admissions from the constraints alone.  Its feasible assignment is
unique (docs/rules.md, "Why the CP-SAT model has exactly one solution"); `prove_unique` checks that by
asking for any other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from ortools.sat.python import cp_model

from models.results import Result
from solver.cpsat.builder import BoolArray, IntArray, ProtoBuilder
from solver.cpsat.instance import Instance
from solver.cpsat.outcome import result_of
from solver.cpsat.r03_choices import R03Choices
from solver.cpsat.r04_general import R04GeneralStage
from solver.cpsat.r05_batches import R05Batches
from solver.cpsat.r06_chen_kesten import R06ChenKesten
from solver.cpsat.r06_order import R06Order
from solver.cpsat.r06_parallel import R06Parallel
from solver.cpsat.r07_quota import R07Quota
from solver.cpsat.r08_subquota import R08Subquota
from solver.cpsat.r09_confirmation import R09Confirmation, confirmation_literals
from solver.cpsat.r10_no_double import R10NoDouble, repeated_offers
from solver.cpsat.r11_dates import R11Dates, dated_offers
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars
from solver.progress import Log

RULE_MODULES: tuple[RuleModule, ...] = (R09Confirmation(), R04GeneralStage(), R05Batches(), R03Choices(),
                                        R06Order(), R06Parallel(), R06ChenKesten(), R07Quota(), R08Subquota(),
                                        R10NoDouble(), R11Dates())
"""The model's rule modules, built in this order (any order gives the same constraints, `RuleModule`).  R6
has a module per mechanism (boston, parallel, chen-kesten), each stating it for the batches that name it."""


class SolveStats(TypedDict, total=False):
    wall_time: float
    branches: int
    conflicts: int
    core: list[int]  # feasible_with: proto indices of assumed literals that cannot hold together
    unmatched_offers: list[tuple[object, ...]]  # feasible_with: (student, school, batch, rank) without a variable


@dataclass
class SolveReport:
    status: str  # OPTIMAL/FEASIBLE (found), INFEASIBLE, UNKNOWN (time limit), MODEL_INVALID
    seconds: float
    solution: BoolArray | None = None  # values of the decision variables, in `decision_index` order
    stats: SolveStats = field(default_factory=SolveStats)


class AdmissionModel:
    def __init__(self, inst: Instance, quota_bounds: tuple[ArrayLike, ArrayLike] | None = None,
                 rules: Sequence[RuleModule] | None = None) -> None:
        """``quota_bounds = (lower, upper)`` (quota planning, `solver.analysis.plan`): each school's quota is an
        integer variable (proto indices ``self.quota_index``) within them instead of the data; ``upper`` must
        not pass ``inst.arr.quota`` (the bound of the seat counts).  ``rules``: the rule modules to build
        (default `RULE_MODULES`, read when the model is built)."""
        t0 = time.perf_counter()
        self.inst = inst
        self.model = cp_model.CpModel()
        """The CP-SAT model itself: quota planning adds its total and objective to it."""
        bounds = None
        if quota_bounds is not None:
            lower, upper = (np.asarray(q, dtype=np.int64) for q in quota_bounds)
            if len(upper) != inst.arr.n_schools or (upper > inst.arr.quota).any() or (lower > upper).any():
                raise ValueError("quota bounds: one (lower <= upper <= inst.arr.quota) pair per school")
            bounds = (lower, upper)
        self.vars = AdmissionVars.create(inst, ProtoBuilder(self.model), bounds)
        self.quota_index: IntArray | None = self.vars.quota_var
        for module in RULE_MODULES if rules is None else rules:
            module.build(inst, self.model, self.vars)
        self.vars.b.flush()
        self.decision_index: IntArray = self.vars.decision_indices()
        self.build_seconds = time.perf_counter() - t0
        self.spent = False  # True once a uniqueness proof wrote its constraint into the model

    def size(self) -> dict[str, int]:
        proto = self.model.proto
        return {"applications": self.inst.n_apps, "variables": len(proto.variables),
                "constraints": len(proto.constraints), "decision_variables": len(self.decision_index)}

    def solve(self, time_limit: float | None = None, workers: int = 1, log: Log | None = None,
              hint: ArrayLike | None = None) -> SolveReport:
        """Find the admissions.  ``hint`` (a labelled mode, never the default) suggests decision values."""
        self._usable()
        model = self.model
        if hint is not None:
            model = self.model.clone()
            self.set_hint(hint, model=model)
        return self._run(model, time_limit, workers, log)

    def set_hint(self, values: ArrayLike, variables: ArrayLike | None = None, model: cp_model.CpModel | None = None
                 ) -> None:
        """The one place solution hints are written: ``values`` for the variables ``variables`` (proto
        indices; default the decision variables, ``values`` then as `SolveReport.solution`) replace any
        hint of ``model`` (default this model; or a clone of it)."""
        target = self.model if model is None else model
        index = self.decision_index if variables is None else np.asarray(variables, dtype=np.int64)
        target.proto.clear_solution_hint()
        target.proto.merge_text_format(
            "solution_hint { " + " ".join(f"vars: {i} values: {int(h)}" for i, h in zip(index, np.asarray(values)))
            + " }")

    def quota_variables(self, model: cp_model.CpModel | None = None) -> list[cp_model.IntVar]:
        """Quota planning: each school's quota variable, in ``model`` (default this model; or a clone)."""
        if self.quota_index is None:
            raise ValueError("not a quota planning model: build it with quota_bounds")
        target = self.model if model is None else model
        return [target.get_int_var_from_proto_index(int(i)) for i in self.quota_index]

    def offer_literals(self, apps: ArrayLike) -> list[cp_model.IntVar]:
        """The decision literals "application ``a`` ends in an offer" of the applications ``apps``
        (positions in `Instance`)."""
        index = self.decision_index[np.asarray(apps, dtype=np.int64)]
        return [self.model.get_bool_var_from_proto_index(int(i)) for i in index]

    def with_quotas(self, quotas: ArrayLike) -> cp_model.CpModel:
        """Quota planning: a copy of the model with each school's quota fixed to ``quotas`` and no
        objective; its one solution is the rules' outcome under those quotas."""
        fixed = self.model.clone()
        for var, q in zip(self.quota_variables(fixed), np.asarray(quotas)):
            fixed.add(var == int(q))
        fixed.proto.clear_objective()
        fixed.proto.clear_floating_point_objective()
        return fixed

    def prove_unique(self, solution: BoolArray, time_limit: float | None = None, workers: int = 1,
                     log: Log | None = None, keep_model: bool = True) -> SolveReport:
        """Solve again with "differs from ``solution`` somewhere": INFEASIBLE proves it the only one.

        With ``keep_model=False`` the constraint goes into the model itself instead of a copy (the model
        is spent afterwards): a province-sized model is not held twice in memory."""
        self._usable()
        model = self.model.clone() if keep_model else self.model
        self.spent = not keep_model
        ones = self.decision_index[solution]
        zeros = self.decision_index[~solution]
        builder = ProtoBuilder(model)
        # sum(zeros) + sum(1 - ones) >= 1  <=>  sum(zeros) - sum(ones) >= 1 - |ones|
        builder.linear(np.array([0, len(self.decision_index)]), np.concatenate([zeros, ones]),
                       np.concatenate([np.ones(len(zeros), np.int64), -np.ones(len(ones), np.int64)]),
                       1 - len(ones), len(zeros))
        builder.flush()
        return self._run(model, time_limit, workers, log)

    def feasible_with(self, result: Result, time_limit: float | None = None, workers: int = 1) -> SolveReport:
        """Is a given result (its offers) a solution of the rules?  Each decision is fixed by an
        assumption; INFEASIBLE means the result breaks a rule.  The report's ``stats["core"]`` names a
        small set of assumed offers (or non-offers) that already cannot hold together."""
        self._usable()
        model = self.model.clone()
        values, unmatched = self.decisions_of(result)
        if unmatched:  # an offer the rules give no variable: not a usable choice of that batch (R2, R3, R5)
            return SolveReport("INFEASIBLE", 0.0, None, SolveStats(unmatched_offers=unmatched, core=[]))
        literals = [model.get_bool_var_from_proto_index(int(i)) for i in self.decision_index]
        assumptions: list[cp_model.LiteralT] = [lit if val else lit.Not() for lit, val in zip(literals, values)]
        for facts in (dated_offers, confirmation_literals, repeated_offers):  # R11, R9, R10 on the rows
            assumptions += facts(self.inst, model, result.offers)
        model.add_assumptions(assumptions)
        solver = _solver(time_limit, workers, None)
        solver.parameters.cp_model_presolve = False  # cores then name assumptions, not presolved literals
        t0 = time.perf_counter()
        status = solver.solve(model)
        report = SolveReport(solver.status_name(status), time.perf_counter() - t0, None, _stats(solver))
        if status == cp_model.INFEASIBLE:
            report.stats["core"] = list(solver.sufficient_assumptions_for_infeasibility())
        return report

    def decisions_of(self, result: Result) -> tuple[BoolArray, list[tuple[object, ...]]]:
        """A result's offers as values of the decision variables, and the offers that match none."""
        inst = self.inst
        batch_ids = np.array([b.id for b in inst.sc.settings.batches])
        key = pd.MultiIndex.from_arrays([inst.arr.student_ids.to_numpy(dtype=object)[inst.student],
                                         inst.arr.school_ids[inst.school], batch_ids[inst.batch],
                                         inst.rank])
        offers = result.offers
        made = pd.MultiIndex.from_arrays([offers["student_id"].astype(str).to_numpy(dtype=object),
                                          offers["school_id"].astype(str).to_numpy(dtype=object),
                                          offers["batch"].astype(int).to_numpy(),
                                          offers["choice_rank"].astype(int).to_numpy()])
        unmatched = [tuple(m) for m in made[~made.isin(key)]]
        return np.asarray(key.isin(made)), unmatched

    def _usable(self) -> None:
        if self.spent:
            raise RuntimeError("this model holds a uniqueness proof's constraint: build a new AdmissionModel")

    def _run(self, model: cp_model.CpModel, time_limit: float | None, workers: int, log: Log | None
             ) -> SolveReport:
        solver = _solver(time_limit, workers, log)
        t0 = time.perf_counter()
        status = solver.solve(model)
        report = SolveReport(solver.status_name(status), time.perf_counter() - t0, None, _stats(solver))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = np.asarray(solver.response_proto.solution, dtype=np.int64)
            report.solution = values[self.decision_index].astype(bool)
        return report

    def result(self, solution: BoolArray, engine: str = "cpsat") -> Result:
        """The admissions and offers of a solution, in the files' form (R11 dates, R12 outcomes)."""
        return result_of(self.inst, solution[:self.inst.n_apps], engine)


def _solver(time_limit: float | None, workers: int, log: Log | None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    if time_limit:
        solver.parameters.max_time_in_seconds = float(time_limit)
    if log:
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = False
        solver.log_callback = log
    return solver


def _stats(solver: cp_model.CpSolver) -> SolveStats:
    return SolveStats(wall_time=round(solver.wall_time, 3), branches=int(solver.num_branches),
                      conflicts=int(solver.num_conflicts))
