"""R2 Catalogue (HY §七, §八.四.2, §十.三): only registered schools take part; a choice of an unregistered
school never yields an admission.  Checked: no offer and no admission at a school that is unregistered
or not in the scenario's catalogue at all."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, at, join, violations


def _bad(ctx: Context, frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    school = frame["school"].to_numpy()
    unknown = mask & (school < 0)
    unregistered = mask & ~at(ctx.registered, school, True)
    return pd.concat([
        violations("R2", frame["student_id"][unknown], frame["school_id"][unknown], frame["batch"].to_numpy()[unknown],
                   detail=join("school '", frame["school_id"][unknown], "' is not in the catalogue")),
        violations("R2", frame["student_id"][unregistered], frame["school_id"][unregistered],
                   frame["batch"].to_numpy()[unregistered], detail="school not registered (未备案) in the catalogue"),
    ], ignore_index=True)


def check(ctx: Context) -> pd.DataFrame:
    o, a = ctx.offers, ctx.adm
    admitted = (a["school_id"] != "").to_numpy()  # any named school, whatever the outcome says (R12 judges that)
    return pd.concat([_bad(ctx, o, np.ones(len(o), dtype=bool)), _bad(ctx, a, admitted)], ignore_index=True)
