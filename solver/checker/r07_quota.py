"""R7 Quota cap (HY §五 招生计划实行最高限额管理): confirmed admissions at a school never exceed its
quota, and a school's free seats in batch b are its quota minus admissions confirmed in earlier
batches.  Checked: the confirmed admissions of each school, and the offers of each school in each
batch (they hold seats during the batch).  The rows beyond the cap are named in priority order
(batch, then choice rank, then the chain), with the last holder within the cap as the other student."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, batch_counts, join, over_cap, pick, violations


def capped(ctx: Context, rule: str, group: np.ndarray, size: int, cap: np.ndarray, what: str) -> pd.DataFrame:
    """R7 (group = school) or R8 (group = sub-quota pair) for rows of offers with ``group >= 0``."""
    o = ctx.offers
    st, bpos, tr, chain = (o[c].to_numpy() for c in ("student", "bpos", "true_rank", "chain"))
    ids, schools, batch = o["student_id"], o["school_id"], o["batch"].to_numpy()
    B = ctx.B
    frames = []

    # confirmed admissions over the whole process
    conf = np.flatnonzero((group >= 0) & o["confirmed"].to_numpy())
    g = group[conf]
    late = np.where(bpos[conf] >= 0, bpos[conf], B)
    rows, other = over_cap(g, (late, tr[conf], chain[conf]), cap[g])
    total = np.bincount(g, minlength=size)
    r, ot = conf[rows], np.where(other >= 0, conf[np.maximum(other, 0)], -1)
    frames.append(violations(rule, pick(ids, r), pick(schools, r), batch[r], pick(ids, ot),
                             join(total[g[rows]], f" confirmed admissions exceed the {what} of ", cap[g[rows]])))

    # offers of one batch beyond the free seats (cap minus confirmed in earlier batches)
    offers = np.flatnonzero((group >= 0) & (bpos >= 0) & (st >= 0))
    g, pb = group[offers], bpos[offers]
    counts = batch_counts(group[conf[bpos[conf] >= 0]], bpos[conf[bpos[conf] >= 0]], size, B)
    before = np.cumsum(counts, axis=1) - counts
    free = cap[g] - before[g, pb]
    rows, other = over_cap(g * B + pb, (tr[offers], chain[offers]), free)
    made = np.bincount(g * B + pb, minlength=size * B) if len(g) else np.zeros(size * B, dtype=np.int64)
    r, ot = offers[rows], np.where(other >= 0, offers[np.maximum(other, 0)], -1)
    frames.append(violations(rule, pick(ids, r), pick(schools, r), batch[r], pick(ids, ot),
                             join(made[g[rows] * B + pb[rows]], " offers in this batch exceed the free seats ",
                                  free[rows], f" ({what} ", cap[g[rows]], " minus ", before[g[rows], pb[rows]],
                                  " confirmed earlier)")))
    return pd.concat(frames, ignore_index=True)


def check(ctx: Context) -> pd.DataFrame:
    school = ctx.offers["school"].to_numpy()
    return capped(ctx, "R7", school.astype(np.int64), ctx.S, ctx.quota, "quota")
