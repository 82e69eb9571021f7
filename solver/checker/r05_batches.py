"""R5 Batches (HY §九.2): batch 1 takes every eligible student not admitted to general high school;
batch b > 1 every eligible student holding no confirmed admission after batch b-1.  A school where the
student declined an offer earlier is void for him in all later batches.  Checked: every offer is made
in a batch of the calendar, to a student of that batch's pool, at a school he did not decline before.
An offer to an ineligible student is R1's alone: R1 reports every one of them, and one fault is told
under one rule (the audit attributes it, issue #4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, at, in_sorted, join, pick, violations


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st, sc, bpos = (o[c].to_numpy() for c in ("student", "school", "bpos"))
    batch = o["batch"].to_numpy()
    frames = []

    unknown = bpos < 0
    frames.append(violations("R5", o["student_id"][unknown], o["school_id"][unknown], batch[unknown],
                             detail=join("batch ", np.where(batch[unknown] < 0, "(empty or not a whole number)",
                                                                  batch[unknown].astype(str)),
                                         " is not in the calendar")))

    valid = (st >= 0) & (bpos >= 0)
    in_pool = np.zeros(len(o), dtype=bool)
    for p in range(ctx.B):
        sel = np.flatnonzero(valid & (bpos == p))
        in_pool[sel] = ctx.pool[p][st[sel]]
    # outside the pool; an ineligible student is left to R1, which reports every offer to him
    out = np.flatnonzero(valid & ~in_pool & at(ctx.eligible, st, True))
    who = st[out]
    earlier = (ctx.confirmed_pos[who] < bpos[out]) & ~ctx.general[who]
    why = np.select([ctx.general[who], earlier],
                    ["admitted to general high school (R4)", "already holds a confirmed admission from batch "], "")
    detail = join("offer to a student outside the batch's pool: ", why,
                  np.where(earlier, ctx.batch_ids(np.where(earlier, ctx.confirmed_pos[who], -1)).astype(str), ""))
    frames.append(violations("R5", pick(o["student_id"], out), pick(o["school_id"], out), batch[out],
                             detail=detail))

    if ctx.with_offers:  # a school declined in an earlier batch is void (needs the declined offers)
        again = np.zeros(len(o), dtype=bool)
        both = valid & (sc >= 0)
        for p in range(1, ctx.B):
            sel = np.flatnonzero(both & (bpos == p))
            again[sel] = in_sorted(st[sel].astype(np.int64) * ctx.S + sc[sel], ctx.declined_before[p])
        frames.append(violations("R5", o["student_id"][again], o["school_id"][again], batch[again],
                                 detail="offer at a school the student declined in an earlier batch"))
    return pd.concat(frames, ignore_index=True)
