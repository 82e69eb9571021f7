"""R8 Regional sub-quota (HY §五): where a school has a sub-quota for a region, confirmed admissions of
students from that region never exceed it, and the offers of a batch never exceed it minus the
confirmed admissions of earlier batches; regions without a row are bounded only by the quota (R7)."""

from __future__ import annotations

import pandas as pd

from solver.checker.context import Context, at
from solver.checker.r07_quota import capped


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st = o["student"].to_numpy()
    region = at(ctx.region, st, -1)
    pair = ctx.sub_pair(o["school"].to_numpy(), region)
    return capped(ctx, "R8", pair, len(ctx.sub_quota), ctx.sub_quota, "sub-quota of the student's region")
