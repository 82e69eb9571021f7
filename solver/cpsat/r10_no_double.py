"""R10 No double admission (HY §十.一, §十一.六): a student holds at most one admission over the whole
process — general high school, or one confirmed vocational offer, never two.  (R5's pool already
implies it; stated here as the rule itself.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R10NoDouble(RuleModule):
    rule = "R10"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        confirmed = np.flatnonzero(~inst.declines)  # offers that would be confirmed (R9)
        students, row = np.unique(inst.student[confirmed], return_inverse=True)
        v.b.linear_terms(len(students), [(row, v.x[confirmed], 1)], 0, 1)
        # general students hold no offer at all: they have no application (R4 data, instance.py)


def repeated_offers(inst: Instance, model: cp_model.CpModel, offers: pd.DataFrame) -> list[cp_model.IntVar]:
    """For a given result: one literal per row repeating an offer already listed (same student, school,
    batch and rank), forced false.  Such a row is a second admission (R10) that the decision variables,
    one per possible offer, cannot see; two different offers in one batch they do see (R3, R5, R10)."""
    repeated = offers.duplicated(subset=["student_id", "school_id", "batch", "choice_rank"], keep="first").to_numpy()
    literals: list[cp_model.IntVar] = []
    for row in offers[repeated].itertuples(index=False):
        lit = model.new_bool_var(f"R10 offer listed twice {row.student_id} {row.school_id} b{row.batch}")
        model.add_bool_or([lit.Not()])
        literals.append(lit)
    return literals
