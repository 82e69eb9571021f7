"""R4 General high school first (HY §八.四.4, §九): data, not variables — and why.

The general stage runs before the vocational batches and nothing in them feeds back into it (HY
§八.四.4: students not admitted to general high school go on to the vocational system).  With a strict
tie-break chain its result is a fixed function of the scenario: per region the first ``general_seats``
applicants of the chain, or every applicant at or above ``general_cutoff`` — there is nothing to decide.
As variables it would only make the solver recount positions (long counting chains that slow presolve
several-fold on Jiaozuo's 9,000-student regions).  So `instance.py` computes it from the scenario with
`solver.engine.general.general_stage` (never from a result) and gives students admitted there no vocational
application; the independent checker verifies R4 on any result (`solver.checker`).

What remains for the model: a student admitted to general high school holds no vocational offer (R10
keeps it explicit).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R04GeneralStage(RuleModule):
    rule = "R4"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        assert not inst.student.size or not inst.general[inst.student].any(), "R4: general students apply"
