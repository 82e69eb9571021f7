"""R3 Choices (HY §八.三): a student lists at most ``max_choices`` distinct schools per batch list, in
order; a later choice is considered only if he was not admitted at an earlier one.

Void choices (R2 unregistered school, R3 interview without a pass) get no variable at all: they can
never yield an admission.  "Later only if not admitted earlier" is part of R6's rejection constraint
(`r06_order`); here: at most one offer per student and batch.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars, ragged


class R03Choices(RuleModule):
    rule = "R3"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        starts, ends = v.student_runs
        several = ends - starts >= 2
        offsets, flat = ragged(starts[several], ends[several])
        v.b.at_most_one(offsets, v.x[v.student_order[flat]])
