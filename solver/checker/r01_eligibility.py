"""R1 Eligibility (HY §四): a fresh (应届) student without a graduation certificate is never admitted to a
vocational school, in any batch.  Checked: no offer to such a student, no vocational outcome."""

from __future__ import annotations

import pandas as pd

from solver.checker.context import VOCATIONAL, Context, at, violations

WHY = "fresh student without a graduation certificate (初中毕业证) "


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st = o["student"].to_numpy()
    bad = ~at(ctx.eligible, st, True)
    a = ctx.adm
    ast = a["student"].to_numpy()
    bad_adm = ~at(ctx.eligible, ast, True) & (a["outcome"].to_numpy() == VOCATIONAL)
    return pd.concat([
        violations("R1", o["student_id"][bad], o["school_id"][bad], o["batch"].to_numpy()[bad],
                   detail=WHY + "received an offer"),
        violations("R1", a["student_id"][bad_adm], a["school_id"][bad_adm], a["batch"].to_numpy()[bad_adm],
                   detail=WHY + "admitted to a vocational school"),
    ], ignore_index=True)
