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

So the counted sure admissions plus the maximum flow of the network source → student → (share →)
school → sink, where school s reaches the sink directly with ``max(lower_s - c_s, 0)`` seats and through
the budget node with the rest up to ``upper_s - c_s`` (`budget_flow`), is at least the objective of every
quota vector of the box: a valid upper bound.  Without the
first two points this is the max-flow bound with the quotas free within their bounds and the total fixed;
they bring in the immediate-acceptance rule (a student is only placed where the rule can place him).  At a
single quota vector (``lower == upper``) every offer is sure and the bound is the rule's exact value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.analysis.plan.reach import Applications, BoolArray, IntArray, Reach
from solver.engine.arrays import cumcount


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


def box_bound(apps: Applications, r: Reach, lower: IntArray, upper: IntArray, total: int, counted: BoolArray
              ) -> int | None:
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
    seats = np.where(apps.registered, upper - held, 0)
    network = Network(seats, lower - held, extra, apps.sub_quota - share_held, apps.sub_school)
    return counted_sure + budget_flow(network, apps.student[rows], apps.school[rows], apps.sub[rows])


@dataclass
class Network:
    """The seats of the budget network: per school its ``seats`` beyond those held surely, ``free`` of
    them reaching the sink directly, the others through one budget node of capacity ``extra``; per
    sub-quota its ``share_seats``, at its school ``share_school``."""

    seats: IntArray
    free: IntArray
    extra: int
    share_seats: IntArray
    share_school: IntArray


def budget_flow(net: Network, student: IntArray, school: IntArray, sub: IntArray) -> int:
    """The maximum flow source → student → (his region's share →) one of his schools → sink, one unit a
    student, over the applications (student, school, sub-quota or -1).  Students with the same set of
    targets form one node (OR-Tools' max flow, C++)."""
    from ortools.graph.python import max_flow

    S, P = len(net.seats), len(net.share_seats)
    target = np.where(sub >= 0, S + sub, school)
    keys = np.unique(student * (S + P) + target)
    who, what = keys // (S + P), keys % (S + P)
    width = int(np.bincount(who).max())
    sets = np.full((int(who.max()) + 1, width), -1, dtype=np.int64)
    sets[who, cumcount(who)] = what
    groups, size = np.unique(sets[np.unique(who)], axis=0, return_counts=True)
    G = len(groups)
    source, sink, budget = 0, 1, 2  # then schools 3 .., shares 3 + S .., groups 3 + S + P ..
    g_row, g_col = np.nonzero(groups >= 0)
    cap = np.maximum(net.seats, 0)
    free = np.minimum(np.maximum(net.free, 0), cap)
    schools = 3 + np.arange(S)
    one = np.ones(1, dtype=np.int64)
    tails: list[IntArray] = [np.full(G, source), 3 + S + P + g_row, 3 + S + np.arange(P), schools, schools,
                             budget * one]
    heads: list[IntArray] = [3 + S + P + np.arange(G), 3 + groups[g_row, g_col], 3 + net.share_school,
                             np.full(S, sink), np.full(S, budget), sink * one]
    caps: list[IntArray] = [size, size[g_row], np.maximum(net.share_seats, 0), free, cap - free,
                            max(net.extra, 0) * one]
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(np.concatenate(tails).astype(np.int64), np.concatenate(heads).astype(np.int64),
                                np.concatenate(caps).astype(np.int64))
    if flow.solve(source, sink) != flow.OPTIMAL:
        raise RuntimeError("max flow failed")
    return int(flow.optimal_flow())
