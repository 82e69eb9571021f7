"""R9 Confirmation (HY §九.1, §九.2): every offer is confirmed unless a decline names that student and
batch; a declined offer returns its seat after the batch and the student goes on to the next batch.

Data, not a decision: whether an offer of batch b to student i would be confirmed is known from
``declines.csv`` (`Instance.declines`).  The other modules read it: only confirmed offers leave the
pool (R5), count against later batches' seats (R7, R8) and against R10.  This module checks that
every decline names a batch of the scenario.
"""

from __future__ import annotations

import pandas as pd
from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R09Confirmation(RuleModule):
    rule = "R9"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        batch_ids = {b.id for b in inst.sc.settings.batches}
        unknown = set(inst.sc.declines["batch"]) - batch_ids
        if unknown:
            raise ValueError(f"R9: declines name unknown batches {sorted(unknown)}")


def confirmation_literals(inst: Instance, model: cp_model.CpModel, offers: pd.DataFrame) -> list[cp_model.IntVar]:
    """For a given result: one literal per offer whose ``confirmed`` flag contradicts the declines (R9:
    confirmed unless a decline names that student and batch), forced false."""
    if "confirmed" not in offers.columns:
        return []
    declined = set(zip(inst.sc.declines["student_id"].astype(str), inst.sc.declines["batch"].astype(int)))
    literals: list[cp_model.IntVar] = []
    flags = offers["confirmed"].astype(str).str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy()
    batches = offers["batch"].astype(int).tolist()
    for row, batch, confirmed in zip(offers.itertuples(index=False), batches, flags):
        should = (str(row.student_id), batch) not in declined
        if bool(confirmed) != should:
            lit = model.new_bool_var(f"R9 offer {row.student_id} {row.school_id} b{row.batch} confirmed={confirmed}")
            model.add_bool_or([lit.Not()])
            literals.append(lit)
    return literals
