"""R6 variant parallel (平行志愿, deferred acceptance; docs/rules.md "R6 variants"): every unadmitted student
applies to his first choice; each school holds, in chain order, the applicants for whom both it and the
student's region share have room (R7, R8) and rejects the rest, who apply to their next choice; when nobody
rejected has a choice left, the holds become offers.  A school's priority is the chain alone, whatever the
choice rank.

With one chain for every school the outcome is the only stable one: a student not admitted at a school he
lists above his result means that school, or his region's share of it, is full of students ahead of him in
the chain.  Those are R6's constraints (`r06_order.stable_rows`) along each school's list ordered by the
chain alone (`Batch.priority_block` is 1 for every rank of a parallel batch, `instance.build_instance`).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.r06_order import batch_apps, stable_rows
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R06Parallel(RuleModule):
    rule = "R6"
    mechanism = "parallel"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        stable_rows(inst, v, batch_apps(inst, self.mechanism))
