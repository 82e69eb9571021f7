"""R4 General high school first (HY §八.四.4, §九), the stage before the vocational batches.

Per region, students with ``applies_general`` are admitted up to the region's ``general_seats`` in
the order of the tie-break chain (R6), or, where the region gives ``general_cutoff``, every such student
with ``score >= general_cutoff``.  A region uses what it gives; where it gives both, the scenario's
``general_stage`` decides (README, assumptions).  Both engines take this stage as their starting point:
nothing in the vocational batches feeds back into it.
"""

from __future__ import annotations

import numpy as np

from models.scenario import Scenario
from solver.engine.arrays import ScenarioArrays, cumcount, stable_by


def general_stage(sc: Scenario, arr: ScenarioArrays) -> np.ndarray:
    """bool[n]: admitted to general high school."""
    general = np.zeros(arr.n, dtype=bool)
    stage = sc.settings.general_stage
    if stage == "none":
        return general
    seats = sc.regions["general_seats"].to_numpy(dtype=float, na_value=np.nan)
    cutoff = sc.regions["general_cutoff"].to_numpy(dtype=float, na_value=np.nan)
    use_cutoff = ~np.isnan(cutoff) & (np.isnan(seats) | (stage == "cutoff"))
    use_seats = ~np.isnan(seats) & ~use_cutoff

    candidates = arr.applies_general & (arr.region >= 0)
    general |= candidates & use_cutoff[arr.region] & (arr.score >= np.nan_to_num(cutoff, nan=np.inf)[arr.region])

    idx = arr.in_chain_order(candidates & use_seats[arr.region])
    if len(idx):
        idx = idx[stable_by(arr.region[idx], arr.n_regions)]  # by (region, chain)
        within = cumcount(arr.region[idx])
        general[idx[within < np.nan_to_num(seats, nan=0)[arr.region[idx]]]] = True
    return general
