"""R11 Batch windows (HY §七.二, §九.2): each offer is dated within its batch, open <= admit_date <=
admit_by, and confirmed within admit_date <= confirm_date <= confirm_by; batch b > 1 opens no earlier
than batch b-1's confirm_by, and nobody is admitted before batch 1 opens (不得私自提前录取).

One admit date and one confirm date per batch (day numbers) inside the window; a calendar out of order
is infeasible.  In a simulation an offer carries its batch's admit_by and confirm_by (docs/rules.md R11), so
results take those; a given result's own dates are checked by `dated_offers`.
"""

from __future__ import annotations

import pandas as pd
from ortools.sat.python import cp_model

from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R11Dates(RuleModule):
    rule = "R11"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        v.b.flush()  # the constraints collected so far come first in the proto, as they always have
        previous_confirm = None
        for b in inst.sc.settings.batches:
            opens, admit_by, confirm_by = (d.toordinal() for d in (b.open, b.admit_by, b.confirm_by))
            admit, confirm = v.dates[b.id]  # day numbers from the batch's opening (`variables.batch_dates`)
            model.add(admit <= admit_by)
            model.add(confirm >= admit)
            model.add(confirm <= confirm_by)
            if previous_confirm is not None and opens < previous_confirm:
                model.add_bool_or([])  # out of calendar order: no admission can be dated (infeasible)
            previous_confirm = confirm_by


def dated_offers(inst: Instance, model: cp_model.CpModel, offers: pd.DataFrame) -> list[cp_model.IntVar]:
    """For a given result: one literal per offer whose dates are missing or leave its batch window,
    forced false — as an assumption it makes the model infeasible and names the offer (R11)."""
    literals: list[cp_model.IntVar] = []
    windows = {b.id: (b.open.isoformat(), b.admit_by.isoformat(), b.confirm_by.isoformat())
               for b in inst.sc.settings.batches}
    first_open = min(w[0] for w in windows.values())
    for row, batch in zip(offers.itertuples(index=False), offers["batch"].astype(int).tolist()):
        opens, admit_by, confirm_by = windows.get(batch, (first_open, "", ""))
        admit = str(getattr(row, "admit_date", "") or "")
        confirm = str(getattr(row, "confirm_date", "") or "")
        confirmed = str(getattr(row, "confirmed", "true")).strip().lower() in ("true", "1", "yes")
        bad = not admit or not (opens <= admit <= admit_by and admit >= first_open)  # every offer is dated
        bad |= (confirmed and not confirm) or (bool(confirm) and not (admit <= confirm <= confirm_by))
        if bad:
            lit = model.new_bool_var(f"R11 offer {row.student_id} {row.school_id} b{row.batch} "
                                     f"dated {admit} / {confirm}")
            model.add_bool_or([lit.Not()])
            literals.append(lit)
    return literals
