"""R6 variant chen-kesten with ``e`` (the application-rejection family of Chen and Kesten, JPE 2017; docs/rules.md
"R6 variants"): choices are taken in blocks of e (1..e, e+1..2e, ...); within a block it runs like parallel
over that block's choices with the seats left after the earlier blocks; at the end of a block the holds
become final.  e = 1 is the sequential rule (boston), e >= max_choices is parallel.

A school's priority is therefore (the block of the choice rank, then the chain): those admitted in an
earlier block keep their seats against any later applicant, and within a block the chain decides.  Its one
stable outcome per block is stated by R6's constraints (`r06_order.stable_rows`) along each school's list
ordered by (block, chain) (`Batch.priority_block`, `instance.build_instance`).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.r06_order import batch_apps, stable_rows
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R06ChenKesten(RuleModule):
    rule = "R6"
    mechanism = "chen-kesten"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        stable_rows(inst, v, batch_apps(inst, self.mechanism))
