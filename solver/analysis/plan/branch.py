"""Branch and bound over boxes of quota vectors: a decomposition of the plan whose every part has a valid
bound (`relax.box_bound`), so that the largest bound of the parts still open is a valid bound of the
whole plan.

A box ``lower <= q <= upper, sum(q) == total`` is split at one quota ``q_j <= m`` / ``q_j > m`` into two
boxes that together hold every quota vector of it; each part is tightened by the total (`relax.tighten`)
and bounded.  A part whose bound does not beat the best value found is closed; so is one whose
applications all have a known outcome (``reach``'s ``can == sure``: every quota vector of it gives the
same value, its bound).  The search takes the part of the largest bound first, so the bound of the whole
falls as fast as it can; it stops when that bound meets the best value (the plan is proven optimal) or at
the deadline.  Where to split (`Search._split`): at the quota that decides the students the bound still
counts but the part's best vector leaves out (measured on jiaozuo-2022, placed: after about a minute
the bound was 15,981 this way, 16,002 splitting the school with the most undecided applications at its
middle; trying the three best schools' splits and keeping the one of the lowest children's bound reached
15,979 in 90 s, this way 15,980: not worth its cost).
Each open part also evaluates the best vector moved into it (`bounds.feasible_start`): the search finds
vectors as it goes.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass

import numpy as np

from solver.analysis.plan.bounds import Bounds, feasible_start
from solver.analysis.plan.local import Evaluator
from solver.analysis.plan.reach import Applications, BoolArray, IntArray, Reach, reach
from solver.analysis.plan.relax import box_bound, tighten
from solver.progress import Phase


@dataclass
class Proof:
    bound: int  # valid for every quota vector within the bounds summing to the total
    quotas: IntArray  # the best vector found
    value: int  # its value
    root_bound: int  # the bound of the whole box before any split
    nodes: int  # boxes bounded
    seconds: float

    @property
    def proven(self) -> bool:
        return self.value >= self.bound


@dataclass(order=True)
class _Part:
    key: tuple[int, int]  # (-bound, sequence): the largest bound first
    lower: IntArray
    upper: IntArray
    split: int  # the school to split next
    at: int  # ... into q <= at and q > at


class Search:
    """The state of one branch and bound: the parts open, the best vector, the bound."""

    def __init__(self, apps: Applications, counted: BoolArray, total: int, value: Evaluator, best: IntArray,
                 best_value: int) -> None:
        self.apps, self.counted, self.total, self.value = apps, counted, total, value
        self.best, self.best_value = np.asarray(best, dtype=np.int64), int(best_value)
        self.open: list[_Part] = []
        self.count = itertools.count()
        self.nodes = 0

    @property
    def bound(self) -> int:
        return max([self.best_value] + [-p.key[0] for p in self.open[:1]])

    def add(self, lower: IntArray, upper: IntArray) -> int | None:
        """Bound the box (after tightening) and keep it open if it may beat the best; its bound."""
        box = tighten(lower, upper, self.total)
        if box is None:
            return None
        lo, hi = box
        self.nodes += 1
        r = reach(self.apps, lo, hi)
        if self._quick_bound(r) <= self.best_value:
            return self.best_value
        bound = box_bound(self.apps, r, lo, hi, self.total, self.counted)
        if bound is None or bound <= self.best_value:
            return bound
        undecided = r.can & ~r.sure
        if not undecided.any():  # one outcome for the whole box: its bound is its value
            self._offer(feasible_start(lo, Bounds(lo, hi), self.total))
            return bound
        placed = self._offer(feasible_start(np.clip(self.best, lo, hi), Bounds(lo, hi), self.total))
        if bound > self.best_value:
            j, at = self._split(r, undecided, placed, lo, hi)
            heapq.heappush(self.open, _Part((-bound, next(self.count)), lo, hi, j, at))
        return bound

    def step(self) -> None:
        """Split the open part of the largest bound."""
        part = heapq.heappop(self.open)
        if -part.key[0] <= self.best_value:
            self.open.clear()  # every other part is bounded by no more
            return
        j = part.split
        low_half, high_half = part.upper.copy(), part.lower.copy()
        low_half[j], high_half[j] = part.at, part.at + 1
        self.add(part.lower, low_half)
        self.add(high_half, part.upper)

    def _quick_bound(self, r: Reach) -> int:
        """Students with a possible counted confirmed offer: a cheaper, weaker bound than the flow."""
        ok = r.can & ~self.apps.declines & self.counted
        return min(self.total, len(np.unique(self.apps.student[ok])))

    def _split(self, r: Reach, undecided: BoolArray, placed: BoolArray, lower: IntArray, upper: IntArray
               ) -> tuple[int, int]:
        """Where to split the box: (school j, m) for the parts ``q_j <= m`` and ``q_j > m``.

        The students the bound counts (a possible counted offer) whom the box's evaluated vector leaves
        out make the gap; the first undecided application of each (in the rule's order) is what decides
        him.  The school holding most of those is split at the median quota that decides them: with
        ``q_j <= upper_j - room`` the application finds its school full, above it (nearly always) a seat.
        Without such students, the school with the most undecided applications, at its middle."""
        apps = self.apps
        counted = np.zeros(apps.n_students, dtype=bool)
        counted[apps.student[r.can & ~apps.declines & self.counted]] = True
        gap = counted & ~placed
        rows = np.flatnonzero(undecided & gap[apps.student] & (upper > lower)[apps.school])
        if len(rows):
            _, first = np.unique(apps.student[rows], return_index=True)
            rows = rows[first]
            j = int(np.argmax(np.bincount(apps.school[rows], minlength=apps.n_schools)))
            at = int(np.median(upper[j] - r.room[rows[apps.school[rows] == j]]))
        else:
            counts = np.where(upper > lower, np.bincount(apps.school[undecided], minlength=apps.n_schools), 0)
            j = int(np.argmax(counts)) if counts.any() else int(np.argmax(upper - lower))
            at = (int(lower[j]) + int(upper[j])) // 2
        return j, min(max(at, int(lower[j])), int(upper[j]) - 1)

    def _offer(self, quotas: IntArray) -> BoolArray:
        """Evaluate a vector, keep it if it is the best so far; the students it places (counted)."""
        v, placed = self.value.placed(quotas)
        if v > self.best_value:
            self.best, self.best_value = quotas, v
        return placed


def branch_and_bound(search: Search, lower: IntArray, upper: IntArray, deadline: float | None,
                     say: Phase) -> Proof:
    """Run ``search`` from the box ``lower .. upper`` until the bound meets the best value or the deadline."""
    t0 = time.perf_counter()
    root = search.add(lower, upper)
    root_bound = search.best_value if root is None else max(root, search.best_value)
    last = t0
    while search.open and (deadline is None or time.perf_counter() < deadline):
        search.step()
        if time.perf_counter() - last > 5:
            last = time.perf_counter()
            say(f"bound {search.bound:,}, best {search.best_value:,} ({search.nodes} boxes, "
                f"{last - t0:.0f} s)")
    return Proof(search.bound, search.best, search.best_value, root_bound, search.nodes,
                 time.perf_counter() - t0)
