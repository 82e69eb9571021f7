"""The order of the tie-break chain (R6) for a million students, without sorting a million rows once per
key: `Scenario.priority_rank`, computed the fast way where the chain allows it.

The chain ends with ``student_id`` (ascending), so priorities are strict.  Where every id is a whole
number kept apart by its digits (`models.ids.IdIndex`, whose order the loader leaves behind), the
students are first put in id order; every other key of the chain becomes a dense rank (equal values one
rank, missing values last, as numpy's sort places NaN), the ranks one number read left to right, and a
stable sort by that number gives exactly ``np.lexsort`` of the chain.  Any other chain or ids take
`Scenario.priority_order` as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import derived
from models.ids import IdIndex
from models.scenario import TIE_BREAK_DESCENDING, Scenario


def priority_rank(sc: Scenario) -> NDArray[np.int64]:
    """rank[i] = position of student i in the tie-break chain (0 = first), as `Scenario.priority_rank`."""
    order = _order_by_ranks(sc)
    if order is None:
        return sc.priority_rank()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _id_order(sc: Scenario) -> NDArray[np.int64] | None:
    """Student rows by ascending id, where the ids are distinct whole numbers (else None)."""
    ids = sc.students["student_id"]
    kept = derived(sc)
    order = kept.get("id-order", (ids,))
    if order is None:
        index = IdIndex.of(ids)
        if index is None or not index.distinct:
            return None
        order = index.order
        kept.put("id-order", (ids,), order)
    return np.asarray(order, dtype=np.int64)


def _dense_rank(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], int]:
    """(rank of each value among the distinct values, ascending; NaN last) and how many ranks there are."""
    codes, uniques = pd.factorize(values + 0.0)  # + 0.0: -0.0 is 0.0, as a sort sees them; NaN: code -1
    rank_of = np.empty(len(uniques) + 1, dtype=np.int64)
    rank_of[np.argsort(np.asarray(uniques, dtype=np.float64), kind="stable")] = np.arange(len(uniques))
    rank_of[-1] = len(uniques)  # NaN, reached through code -1
    return np.asarray(rank_of[codes], dtype=np.int64), len(uniques) + 1


def _key_values(sc: Scenario, spec: str) -> NDArray[np.float64]:
    """A chain key other than the id, as numbers in the chain's direction (`Scenario.priority_order`)."""
    key, _, direction = spec.partition(":")
    descending = TIE_BREAK_DESCENDING.get(key, True) if not direction else direction == "desc"
    if key == "evaluation":
        values = sc.evaluation_values()
    else:
        values = pd.to_numeric(sc.students[key], errors="coerce").to_numpy(dtype=float)
    return np.asarray(-values if descending else values, dtype=np.float64)


def _order_by_ranks(sc: Scenario) -> NDArray[np.int64] | None:
    chain = sc.settings.tie_break
    if not chain or chain[-1] not in ("student_id", "student_id:asc") \
            or any(spec.partition(":")[0] == "student_id" for spec in chain[:-1]):
        return None
    by_id = _id_order(sc)
    if by_id is None:
        return None
    combined = np.zeros(len(by_id), dtype=np.int64)
    span = 1
    for spec in chain[:-1]:
        rank, count = _dense_rank(_key_values(sc, spec))
        span *= count
        if span >= 2**62:
            return None
        combined = combined * count + rank
    keys = combined[by_id]
    if span <= 2**16:  # numpy sorts 16-bit keys stably by radix
        keys = keys.astype(np.uint16)
    return np.asarray(by_id[np.argsort(keys, kind="stable")], dtype=np.int64)
