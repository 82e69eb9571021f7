"""Which choices count in a batch: R5 (batch lists, fallback, schools declined earlier), on top of the
choices void before any batch (R2 catalogue, R3 interview gate: `solver.engine.arrays.void_mask`).  A
void choice keeps its place: ranks of the other choices do not move (R2).
"""

from __future__ import annotations

import numpy as np

from models.scenario import Batch
from solver.engine.arrays import ScenarioArrays, filled_any, in_sorted


def batch_choices(arr: ScenarioArrays, batch: Batch, declined_keys: np.ndarray,
                  pool: np.ndarray | None = None) -> np.ndarray:
    """The usable choice matrix of one batch: int32[n, max_choices] school codes, -1 where empty or void
    (a new array, the caller's to change), and for every student outside ``pool`` (bool[n]) when given.

    The batch reads its own list; with ``fallback`` a student who filed none of it uses the original
    list (R5).  A school where the student declined an offer in an earlier batch is void (R5, R9).
    """
    codes = arr.lists[batch.choices]
    void = arr.void[batch.choices]
    if batch.fallback and batch.choices != "choices":
        filed_none = ~filled_any(codes)
        if filed_none.all():  # nobody filed the batch's own list
            codes, void = arr.lists["choices"], arr.void["choices"]
        elif filed_none.any():
            codes = np.where(filed_none[:, None], arr.lists["choices"], codes)
            void = np.where(filed_none[:, None], arr.void["choices"], void)
    if pool is not None:
        void = void | ~pool[:, None]
    codes = np.where(void, np.int32(-1), codes).astype(np.int32, copy=False)
    if len(declined_keys):  # only the few students who declined need looking at
        declined_keys = np.sort(declined_keys)
        rows = np.unique(declined_keys // arr.n_schools)
        sub = codes[rows]
        again = (sub >= 0) & in_sorted(arr.pair_keys(rows[:, None], sub), declined_keys)
        sub[again] = -1
        codes[rows] = sub
    return codes
