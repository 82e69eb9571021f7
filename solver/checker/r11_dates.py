"""R11 Batch windows (HY §七.二, §九.2): each offer is dated within its batch, ``open <= admit_date <=
admit_by``, and a confirmation ``admit_date <= confirm_date <= confirm_by``; no school admits before
batch 1 opens (不得私自提前录取).  Checked on every offer (its confirm_date where offers carry one) and
on every vocational admission, whose two dates are required."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import NODAY, VOCATIONAL, Context, day_number, join, pick, violations


def _iso(day: np.ndarray) -> np.ndarray:
    return np.asarray(day, dtype="datetime64[D]").astype(str)


def _windows(ctx: Context, frame: pd.DataFrame, rows: np.ndarray, check_confirm: np.ndarray, what: str) -> list:
    """Violations of the date windows for ``rows`` of ``frame`` (offers or admissions)."""
    B = ctx.B
    open_ = np.array([day_number(b.open) for b in ctx.batches] + [0], dtype=np.int64)
    admit_by = np.array([day_number(b.admit_by) for b in ctx.batches] + [0], dtype=np.int64)
    confirm_by = np.array([day_number(b.confirm_by) for b in ctx.batches] + [0], dtype=np.int64)
    first_open = open_[:B].min() if B else 0
    bpos = frame["bpos"].to_numpy()[rows]
    known = bpos >= 0
    p = np.where(known, bpos, B)
    admit, admit_bad = frame["admit"].to_numpy()[rows], frame["admit_bad"].to_numpy()[rows]
    confirm, confirm_bad = frame["confirm"].to_numpy()[rows], frame["confirm_bad"].to_numpy()[rows]
    has_admit, has_confirm = admit != NODAY, confirm != NODAY

    def admit_text(r: np.ndarray) -> pd.Series:
        return pick(frame["admit_text"], rows[r])

    def confirm_text(r: np.ndarray) -> pd.Series:
        return pick(frame["confirm_text"], rows[r])

    batch = frame["batch"].to_numpy()[rows]
    check_confirm = check_confirm[rows]

    # (rows at fault, their detail): details are written for the faulty rows only
    tests = [
        (~has_admit & ~admit_bad, lambda r: f"{what} without an admit_date"),
        (admit_bad, lambda r: join("admit_date '", admit_text(r), "' is not an ISO date")),
        (has_admit & (admit < first_open),
         lambda r: join("admit_date ", admit_text(r), " before batch 1 opens on ", _iso(np.full(len(r), first_open)))),
        (known & has_admit & (admit >= first_open) & (admit < open_[p]),
         lambda r: join("admit_date ", admit_text(r), " before the batch opens on ", _iso(open_[p][r]))),
        (known & has_admit & (admit > admit_by[p]),
         lambda r: join("admit_date ", admit_text(r), " after admit_by ", _iso(admit_by[p][r]))),
        (check_confirm & ~has_confirm & ~confirm_bad, lambda r: f"confirmed {what} without a confirm_date"),
        (check_confirm & confirm_bad, lambda r: join("confirm_date '", confirm_text(r), "' is not an ISO date")),
        (check_confirm & has_confirm & has_admit & (confirm < admit),
         lambda r: join("confirm_date ", confirm_text(r), " before admit_date ", admit_text(r))),
        (check_confirm & known & has_confirm & (confirm > confirm_by[p]),
         lambda r: join("confirm_date ", confirm_text(r), " after confirm_by ", _iso(confirm_by[p][r]))),
        (check_confirm & ~known & has_confirm & (confirm < first_open),
         lambda r: join("confirm_date ", confirm_text(r), " before batch 1 opens")),
    ]
    out = []
    for mask, detail in tests:
        r = np.flatnonzero(mask)
        out.append(violations("R11", pick(frame["student_id"], rows[r]), pick(frame["school_id"], rows[r]), batch[r],
                              detail=detail(r)))
    return out


def check(ctx: Context) -> pd.DataFrame:
    o, a = ctx.offers, ctx.adm
    frames = _windows(ctx, o, np.arange(len(o)), o["confirmed"].to_numpy() & o["has_confirm_date"].to_numpy(), "offer")
    voc = np.flatnonzero(a["outcome"].to_numpy() == VOCATIONAL)
    frames += _windows(ctx, a, voc, np.ones(len(a), dtype=bool), "vocational admission")
    return pd.concat(frames, ignore_index=True)
