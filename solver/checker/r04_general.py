"""R4 General high school first (HY §八.四.4, §九): per region, students with ``applies_general`` are
admitted to general high school in the order of the tie-break chain up to ``general_seats``, or every
one with ``score >= general_cutoff`` where the region gives a cutoff instead (a region giving both
uses what ``general_stage`` names).  With ``general_stage: none`` nobody is admitted to general high
school.  Checked: the students the result calls general are exactly those."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, join, order_by, pick, position_in_group, violations


def _region_numbers(ctx: Context, column: str) -> np.ndarray:
    regions = ctx.scenario.regions
    if column not in regions.columns:
        return np.full(ctx.R, np.nan)
    return pd.to_numeric(regions[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def check(ctx: Context) -> pd.DataFrame:
    stage = ctx.scenario.settings.general_stage
    region = ctx.region
    known = region >= 0
    safe = np.maximum(region, 0)
    if stage == "none":
        return violations("R4", ctx.student_ids[ctx.general],
                          detail="general although general_stage is none (no general high school stage)")

    seats = _region_numbers(ctx, "general_seats")
    cutoff = _region_numbers(ctx, "general_cutoff")
    by_cutoff = (~np.isnan(cutoff) & (np.isnan(seats) | (stage == "cutoff")))[safe] & known
    by_seats = (~np.isnan(seats))[safe] & known & ~by_cutoff
    applies = ctx.applies_general & known
    line = np.where(np.isnan(cutoff), np.inf, cutoff)[safe]
    expected = applies & by_cutoff & (ctx.score >= line)
    # seats: the first general_seats applicants of each region in chain order
    idx = np.flatnonzero(applies & by_seats)
    idx = idx[order_by(region[idx], ctx.rank[idx])]
    within, _ = position_in_group(region[idx])
    expected[idx[within < np.nan_to_num(seats, nan=0)[region[idx]]]] = True

    missing = np.flatnonzero(expected & ~ctx.general)
    why_in = np.full(len(missing), "within the region's general_seats in chain order", dtype=object)
    cut = missing[by_cutoff[missing]]
    if len(cut):
        why_in[by_cutoff[missing]] = join("score ", ctx.score[cut], " >= the region's general_cutoff ",
                                          line[cut]).to_numpy(dtype=object)
    extra = np.flatnonzero(ctx.general & ~expected)
    why_out = np.select(
        [~ctx.applies_general[extra], ~known[extra], by_cutoff[extra], by_seats[extra]],
        ["the student does not apply to general high school", "unknown region",
         "score below the region's general_cutoff",
         "beyond the region's general_seats in chain order (a non-general applicant ranks higher, "
         "or the seats are full)"],
        "the region gives neither general_seats nor general_cutoff")
    return pd.concat([
        violations("R4", pick(ctx.student_ids, missing), detail=join("not general although ", why_in)),
        violations("R4", pick(ctx.student_ids, extra), detail=join("general although ", why_out)),
    ], ignore_index=True)
