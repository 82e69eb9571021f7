"""R9 Confirmation (HY §九.1 刷身份证确认, §九.2): every offer is confirmed unless a decline names that
student and batch.  Checked both ways: no confirmed offer (or vocational admission) where a decline
names the student and the batch, and, where the offers are published, no unconfirmed offer without
such a decline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, violations


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st, bpos, confirmed = o["student"].to_numpy(), o["bpos"].to_numpy(), o["confirmed"].to_numpy()
    valid = (st >= 0) & (bpos >= 0)
    declined = np.zeros(len(o), dtype=bool)
    for p in range(ctx.B):
        sel = np.flatnonzero(valid & (bpos == p))
        declined[sel] = ctx.declined_in[p][st[sel]]
    ids, schools, batch = o["student_id"], o["school_id"], o["batch"].to_numpy()
    bad = valid & confirmed & declined
    frames = [violations("R9", ids[bad], schools[bad], batch[bad],
                         detail="confirmed although a decline names the student and this batch")]
    if ctx.with_offers:
        bad = valid & ~confirmed & ~declined
        frames.append(violations("R9", ids[bad], schools[bad], batch[bad],
                                 detail="not confirmed although no decline names the student and this batch"))
    return pd.concat(frames, ignore_index=True)
