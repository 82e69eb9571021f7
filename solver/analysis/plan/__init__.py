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

The package, one module per step: `objectives` (the objectives' one home, `OBJECTIVES`, and their value
on a result), `bounds` (the quotas' bounds and the total), `model` (the planning model and its
objective), `warm_start`, `search`, `rerun` (the sequential check), `report` (`PlanReport`), `files`
(quotas.csv, plan.xlsx, summary.json) and `planner` (`plan_quotas`, the steps in order).
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
