"""Good quota vectors fast: the objective of one quota vector is the rule's outcome under it (`reach` at a
point, the sequential rule itself: a few hundredths of a second for Jiaozuo), and a local search moves
seats between two schools while that improves it.  Only objectives maximized (placed, first-choice)."""

from __future__ import annotations

import time

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
        mask = self._outcome(quotas)[1]
        return int(mask.sum()), mask

    def vacancies(self, quotas: IntArray) -> IntArray:
        """Per school, the seats the rule leaves empty under ``quotas``."""
        return np.asarray(quotas, dtype=np.int64) - self._outcome(quotas)[0]

    def _outcome(self, quotas: IntArray) -> tuple[IntArray, BoolArray]:
        apps = self.apps
        q = np.asarray(quotas, dtype=np.int64)
        r = reach(apps, q, q)  # a point: every offer is sure, exactly the rule's outcome
        confirmed = r.sure & ~apps.declines
        mask = np.zeros(apps.n_students, dtype=bool)
        mask[apps.student[confirmed & self.counted]] = True
        self.seen[tuple(int(v) for v in quotas)] = int(mask.sum())
        return np.bincount(apps.school[confirmed], minlength=apps.n_schools), mask


def local_search(value: Evaluator, start: IntArray, bounds: Bounds, total: int, deadline: float | None
                 ) -> tuple[IntArray, int]:
    """From ``start`` (moved into the bounds and to the total), move d seats from school i to school j
    while that raises the value, d from a quarter of the widest range down to 1 by factors of 4; the
    first move that does is taken, trying first from schools the rule leaves seats empty at to full ones."""
    q = feasible_start(np.asarray(start, dtype=np.int64), bounds, total)
    best = value(q)
    widest = int((bounds.upper - bounds.lower).max()) if len(q) else 0
    steps = [4 ** k for k in range(int(np.log(max(widest, 1)) / np.log(4)), -1, -1)]
    for step in steps:
        while True:
            moved = _first_better(value, q, best, step, bounds, deadline)
            if moved is None:
                break
            q, best = moved
    return q, best


def _first_better(value: Evaluator, q: IntArray, best: int, step: int, bounds: Bounds, deadline: float | None
                  ) -> tuple[IntArray, int] | None:
    """The first move of ``step`` seats (or as many as the bounds allow) between two schools that beats
    ``best``; None when none does or at the deadline."""
    empty = value.vacancies(q) > 0
    for i, j in sorted(_pairs(len(q)), key=lambda p: (not empty[p[0]], bool(empty[p[1]]))):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        d = min(step, int(q[i] - bounds.lower[i]), int(bounds.upper[j] - q[j]))
        if d <= 0:
            continue
        moved = q.copy()
        moved[i] -= d
        moved[j] += d
        v = value(moved)
        if v > best:
            return moved, v
    return None


def _pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(n) if i != j]
