"""R11 Batch windows (HY §七.二, §九.2): each offer is dated within its batch, open <= admit_date <=
admit_by, and confirmed within admit_date <= confirm_date <= confirm_by; batch b > 1 opens no earlier
than batch b-1's confirm_by, and nobody is admitted before batch 1 opens (不得私自提前录取).

One admit date and one confirm date per batch (day numbers) inside the window; a calendar out of order
is infeasible.  In a simulation an offer carries its batch's admit_by and confirm_by (docs/rules.md R11), so
results take those; a given result's own dates are checked by `dated_offers`.
"""

from __future__ import annotations


class R11Dates:
    def build(self, inst, model, v) -> None:
        v.b.flush()  # variables made here by the API come after the builder's
        previous_confirm = None
        for b in inst.sc.settings.batches:
            opens, admit_by, confirm_by = (d.toordinal() for d in (b.open, b.admit_by, b.confirm_by))
            admit = model.new_int_var(opens, max(opens, admit_by), f"admit_date_b{b.id}")
            confirm = model.new_int_var(opens, max(opens, confirm_by), f"confirm_date_b{b.id}")
            model.add(admit <= admit_by)
            model.add(confirm >= admit)
            model.add(confirm <= confirm_by)
            if previous_confirm is not None and opens < previous_confirm:
                model.add_bool_or([])  # out of calendar order: no admission can be dated (infeasible)
            v.dates[b.id] = (admit, confirm)
            previous_confirm = confirm_by


def dated_offers(inst, model, offers) -> list:
    """For a given result: one literal per offer whose dates are missing or leave its batch window,
    forced false — as an assumption it makes the model infeasible and names the offer (R11)."""
    literals = []
    windows = {b.id: (b.open.isoformat(), b.admit_by.isoformat(), b.confirm_by.isoformat())
               for b in inst.sc.settings.batches}
    first_open = min(w[0] for w in windows.values())
    for row in offers.itertuples(index=False):
        opens, admit_by, confirm_by = windows.get(int(row.batch), (first_open, "", ""))
        admit = str(getattr(row, "admit_date", "") or "")
        confirm = str(getattr(row, "confirm_date", "") or "")
        confirmed = str(getattr(row, "confirmed", "true")).strip().lower() in ("true", "1", "yes")
        bad = not admit or not (opens <= admit <= admit_by and admit >= first_open)  # every offer is dated
        bad |= (confirmed and not confirm) or (bool(confirm) and not (admit <= confirm <= confirm_by))
        if bad:
            lit = model.new_bool_var(f"R11 offer {row.student_id} {row.school_id} b{row.batch} dated {admit} / {confirm}")
            model.add_bool_or([lit.Not()])
            literals.append(lit)
    return literals
