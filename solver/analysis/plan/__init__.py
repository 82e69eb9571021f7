"""Quota planning (issue #6.3): CP-SAT chooses every school's quota (招生计划) within its bounds and a
given total, with the admission rules R1–R12 kept as constraints over the quota variables.

The model is the verification model (`solver.cpsat.AdmissionModel`) with one change: R7's cap is an
integer variable ``q_s`` in ``[min_s, max_s]`` per school (``full <=> count >= q_s``, the seats held after
each batch stay ``<= q_s``), and ``sum(q_s) == total``.  For any fixed quota vector the rules have a
single outcome (docs/rules.md, "Why the CP-SAT model has exactly one solution"), so every feasible
assignment of the model is "a quota vector and *its* outcome under the rules"; the objective picks the
best vector.  The result is not trusted: the sequential engine re-runs the scenario with the chosen
quotas and must give exactly the predicted admissions and offers (``rerun_equal``).

Objectives (all over confirmed vocational admissions, i.e. outcome ``vocational``):

- ``placed``: maximize the number of students admitted to a vocational school.
- ``first-choice``: maximize the number admitted at choice 1 of the *first* batch (第一批次第一志愿).
- ``ratio``: minimize ``sum over regions |vocational_r - target_r|`` (by the students' region).  The
  target is the region's general admissions (普职比 1 : 1, the policy's 大体相当) unless a
  ``target_share`` s is given: then ``target_r = round(s * graduates_r)``.

Bounds: by default each school may change by -20 % .. +20 % of its current quota; a ``school_max``
table replaces them per school (`bounds`).

Search and proof of the objectives maximized (placed, first-choice; issue #14.4).  CP-SAT's own search
on this model does not prove: on jiaozuo-2022 (placed, ±20 %) it found 15,623 in 120 s and its bound
stayed at the total of seats, 16,164 (gap 3.46 %) — the linear relaxation of "a school that rejects is
full" is too weak, and the flow bound with the total fixed is the total too (every seat can be filled
by *some* assignment).  So the plan takes another road (`proof`):

- a *local search* moves seats between two schools while the objective rises, each vector run by the
  rule itself (`local`);
- a *relaxation* bounds a whole box of vectors at once (`reach`, `relax`): which offers the rule can
  make, and which it surely makes, under some / every vector of the box (interval propagation along the
  rule's order: the immediate-acceptance rule's own losses — a student rejected where every school he
  lists is full — are kept), then a maximum flow over the possible offers with the seats above the
  minima drawn from one budget (the total);
- a *decomposition*: branch and bound splits boxes at the quota that decides the students the bound
  still counts (`branch`); the largest bound of the parts still open is valid for the whole plan, and it
  is reported as ``bound``; OPTIMAL only when it meets the best value found.

The planning model then predicts the best vector's outcome (its quotas fixed), and the sequential
engine re-runs it.  The objective ``ratio`` (minimized), and batches under deferred acceptance, keep
CP-SAT's search (`search`, `warm_start`).

The package, one module per step: `objectives` (the objectives' one home, `OBJECTIVES`, and their value
on a result), `bounds` (the quotas' bounds and the total), `model` (the planning model and its
objective), `reach`, `relax`, `branch`, `local` and `proof` (the search and bound of the objectives
maximized), `warm_start` and `search` (CP-SAT's search), `rerun` (the sequential check), `report`
(`PlanReport`), `files` (quotas.csv, plan.xlsx, summary.json) and `planner` (`plan_quotas`, the steps
in order).
"""

from solver.analysis.plan.bounds import Bounds, parse_change, quota_bounds, read_school_max
from solver.analysis.plan.files import write_plan, write_workbook
from solver.analysis.plan.model import flow_bound
from solver.analysis.plan.objectives import OBJECTIVE_TEXT, OBJECTIVES, PlanError, objective_of, region_targets
from solver.analysis.plan.planner import plan_quotas
from solver.analysis.plan.report import PlanReport

__all__ = ["OBJECTIVES", "OBJECTIVE_TEXT", "Bounds", "PlanError", "PlanReport", "flow_bound", "objective_of",
           "parse_change", "plan_quotas", "quota_bounds", "read_school_max", "region_targets", "write_plan",
           "write_workbook"]
