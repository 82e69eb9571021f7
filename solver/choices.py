"""Which choices count in a batch: R2 (catalogue), R3 (interview gate), R5 (batch lists, fallback,
schools declined earlier).  A void choice keeps its place: ranks of the other choices do not move (R2).
"""

from __future__ import annotations

import numpy as np

from models.scenario import Batch
from solver.arrays import ScenarioArrays, in_sorted


def void_mask(arr: ScenarioArrays, codes: np.ndarray) -> np.ndarray:
    """True where a filled choice is void before any batch runs: an unregistered school (R2), or a
    school requiring an interview the student has not passed (R3, HY §九.3)."""
    filled = codes >= 0
    safe = np.where(filled, codes, 0)
    void = filled & ~arr.registered[safe]
    gated = filled & arr.requires_interview[safe]
    if gated.any():
        rows, cols = np.nonzero(gated)
        passed = in_sorted(arr.pair_keys(rows, codes[rows, cols]), arr.interview_keys)
        void[rows[~passed], cols[~passed]] = True
    return void


def batch_choices(arr: ScenarioArrays, batch: Batch, declined_keys: np.ndarray) -> np.ndarray:
    """The usable choice matrix of one batch: int32[n, max_choices] school codes, -1 where empty or void.

    The batch reads its own list; with ``fallback`` a student who filed none of it uses the original
    list (R5).  A school where the student declined an offer in an earlier batch is void (R5, R9).
    """
    codes = arr.lists[batch.choices].copy()
    void = arr.void[batch.choices].copy()
    if batch.fallback and batch.choices != "choices":
        filed_none = (codes < 0).all(axis=1)
        codes[filed_none] = arr.lists["choices"][filed_none]
        void[filed_none] = arr.void["choices"][filed_none]
    codes[void] = -1
    if len(declined_keys):  # only the few students who declined need looking at
        declined_keys = np.sort(declined_keys)
        rows = np.unique(declined_keys // arr.n_schools)
        sub = codes[rows]
        again = (sub >= 0) & in_sorted(arr.pair_keys(rows[:, None], sub), declined_keys)
        sub[again] = -1
        codes[rows] = sub
    return codes
