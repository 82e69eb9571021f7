"""Which choices count in a batch: R2 (catalogue), R3 (interview gate), R5 (batch lists, fallback,
schools declined earlier).  A void choice keeps its place: ranks of the other choices do not move (R2).
"""

from __future__ import annotations

import numpy as np

from models.scenario import Batch
from solver.arrays import ScenarioArrays


def void_mask(arr: ScenarioArrays, codes: np.ndarray) -> np.ndarray:
    """True where a filled choice is void before any batch runs: an unregistered school (R2), or a
    school requiring an interview the student has not passed (R3, HY §九.3)."""
    filled = codes >= 0
    safe = np.where(filled, codes, 0)
    void = filled & ~arr.registered[safe]
    gated = filled & arr.requires_interview[safe]
    if gated.any():
        rows, cols = np.nonzero(gated)
        passed = np.isin(arr.pair_keys(rows, codes[rows, cols]), arr.interview_keys)
        void[rows[~passed], cols[~passed]] = True
    return void


def batch_choices(arr: ScenarioArrays, batch: Batch, declined_keys: np.ndarray) -> np.ndarray:
    """The usable choice matrix of one batch: int32[n, max_choices] school codes, -1 where empty or void.

    The batch reads its own list; with ``fallback`` a student who filed none of it uses the original
    list (R5).  A school where the student declined an offer in an earlier batch is void (R5, R9).
    """
    codes = arr.lists[batch.choices].copy()
    if batch.fallback and batch.choices != "choices":
        filed_none = (codes < 0).all(axis=1)
        codes[filed_none] = arr.lists["choices"][filed_none]
    codes[void_mask(arr, codes)] = -1
    if len(declined_keys):
        rows, cols = np.nonzero(codes >= 0)
        again = np.isin(arr.pair_keys(rows, codes[rows, cols]), declined_keys)
        codes[rows[again], cols[again]] = -1
    return codes
