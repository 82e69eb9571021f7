"""The objectives a quota plan optimizes — their one home, `OBJECTIVES` — and their values on a result,
by the same definitions the model optimizes (`solver.analysis.plan.model`).  `PlanError`: bad planning
input (bounds, total, objective), on which the CLI exits 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from models.results import Result
from models.scenario import Scenario

OBJECTIVES = ("placed", "first-choice", "ratio")

OBJECTIVE_TEXT = {
    "placed": "maximize confirmed vocational admissions",
    "first-choice": "maximize confirmed vocational admissions at choice 1 of the first batch",
    "ratio": "minimize sum over regions of |vocational admissions - target| (target = general admissions)",
}


class PlanError(ValueError):
    """Bad planning input (bounds, total, objective): the CLI exits 2."""


def check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise PlanError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")


def counted_applications(batch: NDArray[np.int64], rank: NDArray[np.int64], objective: str) -> NDArray[np.bool_]:
    """Which applications (batch position, 1-based choice rank) a confirmed admission counts in, for the
    objectives maximized: every one (placed), choice 1 of the first batch (first-choice)."""
    if objective == "placed":
        return np.ones(len(batch), dtype=bool)
    if objective == "first-choice":
        return (np.asarray(batch) == 0) & (np.asarray(rank) == 1)
    raise PlanError(f"objective {objective!r} does not count admissions")


def objective_sense(objective: str) -> str:
    return "minimize" if objective == "ratio" else "maximize"


def objective_of(sc: Scenario, result: Result, objective: str, target_share: float | None = None) -> float:
    check_objective(objective)
    adm = result.admissions
    voc = adm["outcome"] == "vocational"
    if objective == "placed":
        return float(voc.sum())
    if objective == "first-choice":
        first = sc.settings.batches[0].id
        batch = pd.to_numeric(adm["batch"], errors="coerce")
        rank = pd.to_numeric(adm["choice_rank"], errors="coerce")
        return float((voc & (batch == first) & (rank == 1)).sum())
    # ratio
    regions = sc.regions["region_id"].astype(str)
    by_region = adm["region_id"].astype(str)
    v = voc.groupby(by_region).sum().reindex(regions, fill_value=0).to_numpy()
    g = (adm["outcome"] == "general").groupby(by_region).sum().reindex(regions, fill_value=0).to_numpy()
    return float(np.abs(v - region_targets(sc, g, target_share)).sum())


def region_targets(sc: Scenario, general: ArrayLike, target_share: float | None) -> NDArray[np.int64]:
    """The vocational target of each region (objective ``ratio``): its general admissions (普职比 1 : 1),
    or round(share * graduates) with a ``target_share``."""
    if target_share is None:
        return np.asarray(general, dtype=np.int64)
    grads = sc.regions["graduates"].to_numpy(dtype=float, na_value=np.nan)
    out = np.where(np.isnan(grads), general, np.rint(target_share * np.nan_to_num(grads)))
    return out.astype(np.int64)
