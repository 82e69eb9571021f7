"""The bounds of each school's quota in a plan, and the total they must allow.

By default each school may change by -20 % .. +20 % of its current quota (``min = ceil``, ``max =
floor``); a ``school_max`` table (school_id, max[, min]) replaces them per school.  Two adjustments,
both noted in `Bounds.notes`: a school's minimum is raised to the sum of its sub-quotas (R8: the
sub-quotas are parts of its plan and stay fixed data) when the current quota already covers them; an
unregistered school (R2) takes no student, so its quota stays as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import SupportsFloat

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.scenario import Scenario
from models.typed import fraction
from solver.analysis.plan.objectives import PlanError

IntArray = NDArray[np.int64]


@dataclass
class Bounds:
    lower: IntArray  # int64[S]
    upper: IntArray
    notes: list[str] = field(default_factory=list)  # one line per school whose bounds were adjusted


def read_school_max(path: Path | str) -> pd.DataFrame:
    """A CSV ``school_id,max[,min]``."""
    try:
        frame = pd.read_csv(path, dtype={"school_id": str}, encoding="utf-8-sig")
    except Exception as exc:  # unreadable, empty
        raise PlanError(f"{path}: cannot read the school bounds ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "school_id" not in frame.columns or "max" not in frame.columns:
        raise PlanError(f"{path}: needs the columns school_id,max (and optionally min)")
    return frame


def parse_change(text: str) -> float:
    """"-20%", "+15%", "0.2" (full width too: `models.typed.fraction`) -> a fraction."""
    try:
        return fraction(text)
    except ValueError:
        raise PlanError(f"not a change: {text!r} (e.g. -20% or +15%)") from None


def quota_bounds(sc: Scenario, min_change: float = -0.2, max_change: float = 0.2,
                 school_max: pd.DataFrame | None = None) -> Bounds:
    if min_change > 0 or max_change < 0 or min_change < -1:
        raise PlanError(f"--min-change must lie in -100%..0 and --max-change be >= 0 (got {min_change:+.0%}, "
                        f"{max_change:+.0%})")
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    lower = np.array([max(0, math.ceil(q * (1 + min_change) - 1e-9)) for q in quota], dtype=np.int64)
    upper = np.array([math.floor(q * (1 + max_change) + 1e-9) for q in quota], dtype=np.int64)
    bounds = Bounds(lower, upper)
    if school_max is not None:
        _apply_school_max(sc, bounds, school_max)
    _raise_to_subquotas(sc, bounds, quota)
    _keep_unregistered(sc, bounds, quota)
    return bounds


def _apply_school_max(sc: Scenario, bounds: Bounds, school_max: pd.DataFrame) -> None:
    """The rows of a ``school_id,max[,min]`` table replace those schools' bounds (without a min: the
    relative minimum, capped by the max)."""
    ids = sc.schools["school_id"].astype(str).to_numpy()
    where = {sid: j for j, sid in enumerate(ids)}
    unknown = sorted(set(school_max["school_id"].astype(str).str.strip()) - set(where))
    if unknown:
        raise PlanError(f"--school-max names unknown school(s): {', '.join(unknown[:10])}")
    lower, upper = bounds.lower, bounds.upper
    for row in school_max.to_dict("records"):
        j = where[str(row["school_id"]).strip()]
        hi = whole_number(row["max"], f"max of {ids[j]}")
        lo = whole_number(row["min"], f"min of {ids[j]}") if "min" in row and pd.notna(row["min"]) else None
        upper[j] = hi
        lower[j] = lo if lo is not None else min(lower[j], hi)
        if lower[j] > upper[j]:
            raise PlanError(f"--school-max: school {ids[j]} has min {lower[j]} > max {upper[j]}")


def _raise_to_subquotas(sc: Scenario, bounds: Bounds, quota: IntArray) -> None:
    ids = sc.schools["school_id"].astype(str).to_numpy()
    sub = sc.subquotas.groupby(sc.subquotas["school_id"].astype(str))["quota"].sum()
    lower, upper = bounds.lower, bounds.upper
    for j, sid in enumerate(ids):
        need = int(sub.get(sid, 0))
        if need > lower[j] and need <= quota[j] and need <= upper[j]:
            bounds.notes.append(f"{sid}: min raised from {lower[j]} to {need}, the sum of its sub-quotas (R8)")
            lower[j] = need


def _keep_unregistered(sc: Scenario, bounds: Bounds, quota: IntArray) -> None:
    ids = sc.schools["school_id"].astype(str).to_numpy()
    registered = sc.schools["registered"].to_numpy(dtype=bool)
    lower, upper = bounds.lower, bounds.upper
    for j in np.flatnonzero(~registered):
        if lower[j] != quota[j] or upper[j] != quota[j]:
            bounds.notes.append(f"{ids[j]}: not registered (R2), takes no student: quota kept at {quota[j]}")
        lower[j] = upper[j] = quota[j]


def whole_number(value: str | SupportsFloat, what: str) -> int:
    """A bound read from a ``school_max`` table (a cell: text or a number): a whole number >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"--school-max: {what} is not a number ({value!r})") from None
    if number != int(number) or number < 0:
        raise PlanError(f"--school-max: {what} must be a whole number >= 0 ({value!r})")
    return int(number)


def check_total(bounds: Bounds, total: int) -> int:
    """``total`` if the bounds allow it (sum of minima <= total <= sum of maxima)."""
    lo_sum, hi_sum = int(bounds.lower.sum()), int(bounds.upper.sum())
    if not lo_sum <= total <= hi_sum:
        raise PlanError(f"--total {total:,} is outside what the school bounds allow ({lo_sum:,} .. {hi_sum:,})")
    return total


def feasible_start(quota: IntArray, bounds: Bounds, total: int) -> IntArray:
    """A quota vector within the bounds and summing to ``total``: the current quotas clipped to the
    bounds, then moved to the total one school at a time (the largest first)."""
    q = np.clip(quota, bounds.lower, bounds.upper).astype(np.int64)
    diff = total - int(q.sum())
    for j in np.argsort(-quota, kind="stable"):
        if diff == 0:
            break
        step = min(diff, bounds.upper[j] - q[j]) if diff > 0 else max(diff, bounds.lower[j] - q[j])
        q[j] += step
        diff -= step
    return q
