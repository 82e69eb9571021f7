"""Good quota vectors fast: the objective of one quota vector is the rule's outcome under it (`reach` at a
point, the sequential rule itself: a few hundredths of a second for Jiaozuo), and a local search moves
seats between two schools while that improves it.  Only objectives maximized (placed, first-choice)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from solver.analysis.plan.bounds import Bounds, feasible_start
from solver.analysis.plan.reach import Applications, BoolArray, IntArray, reach


class Evaluator:
    """The counted confirmed admissions of a quota vector under the rule, remembered per vector."""

    def __init__(self, apps: Applications, counted: BoolArray) -> None:
        self.apps, self.counted = apps, counted
        self.seen: dict[tuple[int, ...], int] = {}

    def __call__(self, quotas: IntArray) -> int:
        key = tuple(int(v) for v in quotas)
        if key not in self.seen:
            self.seen[key] = self.placed(quotas)[0]
        return self.seen[key]

    def placed(self, quotas: IntArray) -> tuple[int, BoolArray]:
        """The value of a vector and the students it places (those the objective counts)."""
        q = np.asarray(quotas, dtype=np.int64)
        r = reach(self.apps, q, q)  # a point: every offer is sure, exactly the rule's outcome
        mask = np.zeros(self.apps.n_students, dtype=bool)
        mask[self.apps.student[r.sure & ~self.apps.declines & self.counted]] = True
        value = int(mask.sum())
        self.seen[tuple(int(v) for v in quotas)] = value
        return value, mask


def local_search(value: Callable[[IntArray], int], start: IntArray, bounds: Bounds, total: int,
                 deadline: float | None) -> tuple[IntArray, int]:
    """From ``start`` (moved into the bounds and to the total), move d seats from school i to school j
    while that raises the value, d from a quarter of the widest range down to 1 by factors of 4."""
    q = feasible_start(np.asarray(start, dtype=np.int64), bounds, total)
    best = value(q)
    widest = int((bounds.upper - bounds.lower).max()) if len(q) else 0
    steps = [4 ** k for k in range(int(np.log(max(widest, 1)) / np.log(4)), -1, -1)]
    for step in steps:
        improved = True
        while improved:
            improved = False
            for i, j in _pairs(len(q)):
                if deadline is not None and time.perf_counter() > deadline:
                    return q, best
                d = min(step, int(q[i] - bounds.lower[i]), int(bounds.upper[j] - q[j]))
                if d <= 0:
                    continue
                moved = q.copy()
                moved[i] -= d
                moved[j] += d
                v = value(moved)
                if v > best:
                    q, best, improved = moved, v, True
    return q, best


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(n) if i != j]
