"""The bound of a plan over a box of quota vectors: a relaxation of the rule that every quota vector of the
box obeys, solved as one maximum flow.

A box is ``lower <= q <= upper`` with ``sum(q) == total``.  `reach` tells, over the whole box, which
offers can happen and which surely do.  For any quota vector q of the box, the rule's confirmed admissions
that the objective counts (``counted``: every application for ``placed``, those of batch 1 at choice 1
for ``first-choice``) then satisfy:

1. each is an offer that *can* happen, to a student who does not decline in that batch (R9);
2. a student with a *sure* confirmed offer holds it at that school under q (these are fixed: ``c_s`` per
   school, ``c_p`` per sub-quota), and holds no other (R10);
3. the others form a flow: student → a school of his possible counted offers, at most one each (R10),
   school s takes at most ``q_s - c_s`` (R7), a region's share at most ``sub_quota_p - c_p`` (R8);
4. ``q`` lies in the box: ``q_s >= max(lower_s, c_s)`` and ``sum(q) == total``, so the seats a school
   takes beyond ``max(lower_s, c_s)`` come out of one budget ``total - sum(max(lower_s, c_s))``.

So the counted sure admissions plus the maximum flow of the network source → group of students →
(share →) school → sink, where school s reaches the sink directly with ``max(lower_s - c_s, 0)`` seats and
through the budget node with the rest up to ``upper_s - c_s`` (`solver.analysis.flow.build_network` with a
budget), is at least the objective of every quota vector of the box: a valid upper bound.  Without the
first two points this is the max-flow bound with the quotas free within their bounds and the total fixed;
they bring in the immediate-acceptance rule (a student is only placed where the rule can place him).  At a
single quota vector (``lower == upper``) every offer is sure and the bound is the rule's exact value.
"""

from __future__ import annotations

import numpy as np

from solver.analysis.flow import build_network, max_flow
from solver.analysis.plan.reach import Applications, BoolArray, IntArray, Reach
from solver.engine.arrays import ScenarioArrays, cumcount


def tighten(lower: IntArray, upper: IntArray, total: int) -> tuple[IntArray, IntArray] | None:
    """The box's bounds implied by the total (``q_s <= total - sum of the other minima``, and the same
    for the minima); None when no quota vector of the box sums to ``total``."""
    lo, hi = np.asarray(lower, np.int64).copy(), np.asarray(upper, np.int64).copy()
    for _ in range(2):
        lo_sum, hi_sum = int(lo.sum()), int(hi.sum())
        if lo_sum > total or hi_sum < total or (lo > hi).any():
            return None
        hi = np.minimum(hi, total - (lo_sum - lo))
        lo = np.maximum(lo, total - (hi_sum - hi))
    return lo, hi


def box_bound(apps: Applications, arr: ScenarioArrays, r: Reach, lower: IntArray, upper: IntArray, total: int,
              counted: BoolArray) -> int | None:
    """An upper bound of the counted confirmed admissions over every quota vector of the box (the module
    docstring says why); None if the box holds no quota vector."""
    confirmable = ~apps.declines
    sure = np.flatnonzero(r.sure & confirmable)
    fixed = np.zeros(apps.n_students, dtype=bool)
    fixed[apps.student[sure]] = True
    S, P = apps.n_schools, len(apps.sub_quota)
    held = np.bincount(apps.school[sure], minlength=S)
    shared = sure[apps.sub[sure] >= 0]
    share_held = np.bincount(apps.sub[shared], minlength=P) if P else np.zeros(0, np.int64)
    floor = np.maximum(lower, held)
    extra = total - int(floor.sum())
    if extra < 0 or (held > upper).any():
        return None
    counted_sure = len(np.unique(apps.student[sure[counted[sure]]]))
    rows = np.flatnonzero(r.can & confirmable & counted & ~fixed[apps.student])
    if not len(rows):
        return counted_sure
    seats = np.where(arr.registered, upper - held, 0)
    if S <= SMALL and not (apps.sub[rows] >= 0).any():
        return counted_sure + budget_cut(apps.student[rows], apps.school[rows], seats, lower - held, extra)
    listed = _listed(apps, rows)
    net = build_network(arr, listed, listed[:, 0] >= 0, seats, apps.sub_quota - share_held,
                        budget=(lower - held, extra))
    value, _ = max_flow(net)
    return counted_sure + int(value)


SMALL = 16
"""Up to this many schools (and no sub-quota in play) the maximum flow is found as a minimum cut over
the subsets of schools (`budget_cut`); beyond, by networkx's preflow-push."""


def budget_cut(student: IntArray, school: IntArray, seats: IntArray, free: IntArray, extra: int) -> int:
    """The maximum flow of the budget network (source → student → one of his schools → sink, school s
    taking ``f_s = clip(free_s, 0, seats_s)`` directly and up to ``seats_s - f_s`` more through the budget
    node of capacity ``extra``), as its minimum cut: over the subsets X of schools on the source side,

        cut(X) = (students with a school outside X) + sum_{s in X} f_s + min(extra, sum_{s in X} (seats_s - f_s))

    (a student with every school in X stays on the source side for free, any other costs his one unit;
    the budget node is on the source side, paying ``extra``, or not, paying each school's budget edge).
    The students per set of schools summed over the subsets of each X: a zeta transform over 2^S."""
    S = len(seats)
    keys = np.unique(student * S + school)
    masks = np.zeros(int(keys[-1] // S) + 1 if len(keys) else 0, dtype=np.int64)
    np.bitwise_or.at(masks, keys // S, np.left_shift(1, keys % S))
    masks = masks[masks > 0]
    within = np.bincount(masks, minlength=1 << S).astype(np.int64)  # students whose set is exactly X
    for i in range(S):  # ... then whose set lies within X
        view = within.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    cap = np.maximum(seats, 0)
    direct = np.minimum(np.maximum(free, 0), cap)
    bits = (np.arange(1 << S)[:, None] >> np.arange(S)) & 1
    cut = len(masks) - within + bits @ direct + np.minimum(max(extra, 0), bits @ (cap - direct))
    return int(cut.min())


def _listed(apps: Applications, rows: IntArray) -> np.ndarray:
    """int32[n, L]: per student the distinct schools of the applications ``rows``, padded with -1."""
    keys = np.unique(apps.pair_keys(rows))
    student, school = keys // apps.n_schools, keys % apps.n_schools
    width = int(np.bincount(student).max()) if len(keys) else 0
    listed = np.full((apps.n_students, width), -1, dtype=np.int32)
    listed[student, cumcount(student)] = school
    return listed
