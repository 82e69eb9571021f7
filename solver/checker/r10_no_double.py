"""R10 No double admission (HY §十.一, §十一.六): a student holds at most one admission over the whole
process, general high school or one confirmed vocational offer, never two.  Checked: every confirmed
offer beyond a student's first, and every confirmed offer of a student admitted to general high school."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, join, order_by, pick, position_in_group, violations


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st, bpos, tr = o["student"].to_numpy(), o["bpos"].to_numpy(), o["true_rank"].to_numpy()
    ids, schools, batch = o["student_id"], o["school_id"], o["batch"].to_numpy()
    conf = np.flatnonzero((st >= 0) & o["confirmed"].to_numpy())
    order = conf[order_by(st[conf], np.where(bpos[conf] >= 0, bpos[conf], ctx.B), tr[conf])]
    within, start = position_in_group(st[order])
    rows, first = order[within > 0], order[start[within > 0]]
    general = conf[ctx.general[st[conf]]]
    return pd.concat([
        violations("R10", pick(ids, rows), pick(schools, rows), batch[rows],
                   detail=join("a second confirmed admission (first: ", pick(schools, first), " in batch ",
                               batch[first], ")")),
        violations("R10", pick(ids, general), pick(schools, general), batch[general],
                   detail="confirmed at a vocational school although admitted to general high school"),
    ], ignore_index=True)
