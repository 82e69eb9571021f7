"""Prefix counts of held seats along priority lists, shared by R7 (schools) and R8 (regional shares)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from solver.cpsat.builder import IntArray, ProtoBuilder, negated
from solver.cpsat.instance import Instance
from solver.cpsat.variables import Runs, previous_in_group


def prefix_counts(b: ProtoBuilder, inst: Instance, x: IntArray, order: IntArray, run_bounds: Runs,
                  holder: NDArray[np.integer], count: IntArray, full: IntArray, cap: NDArray[np.integer],
                  held: IntArray, cap_var: IntArray | None = None) -> None:
    """For each run (one batch of one school, or of one share) of ``order`` — applications in priority
    order — with ``holder[a]`` the school or share and ``cap[a]`` its quota:

    - the count at a run's first counted application = the seats held when the run starts (``held[holder]``
      where the run is the holder's first in the model, data; else the count after the holder's previous
      run minus the offers declined in it, R9: a declined seat returns after its batch), plus the offers
      to the applicants before it that need no count (`variables.counted_positions`: they cannot find
      the holder full);
    - count[next] = count[a] + x[a] along the run; the count after the run stays within the cap;
    - full[a] <=> count[a] >= cap.

    With ``cap_var`` (quota planning, `solver.analysis.plan`): ``cap_var[a]`` is the proto index of an integer
    variable that is the cap instead, and ``cap[a]`` is only its upper bound (every application is counted).
    """
    starts, ends = run_bounds
    if len(starts) == 0:
        return
    n_runs = len(starts)
    run_of = np.repeat(np.arange(n_runs), ends - starts)  # of each position in order
    counted = count[order] >= 0  # a suffix of each run
    first = ends - np.bincount(run_of[counted], minlength=n_runs)  # first counted position (end: none)
    has_count = first < ends
    last = order[ends - 1]
    prev = previous_in_group(holder[order[starts]])
    next_run = np.full(n_runs, -1, dtype=np.int64)
    next_run[prev[prev >= 0]] = np.flatnonzero(prev >= 0)
    row = np.full(n_runs, -1, dtype=np.int64)  # the row of each counted run
    row[has_count] = np.arange(has_count.sum())
    with_prev = np.flatnonzero(has_count & (prev >= 0))
    uncounted = np.flatnonzero(~counted & has_count[run_of])  # positions before a counted run's first count
    declined = np.flatnonzero(inst.declines[order])  # positions in order
    declined = declined[next_run[run_of[declined]] >= 0]
    start_held = np.where(prev >= 0, 0, held[holder[order[starts]]])
    b.linear_terms(int(has_count.sum()), [
        (row[has_count], count[order[first[has_count]]], 1),
        (row[run_of[uncounted]], x[order[uncounted]], -1),
        (row[with_prev], count[last[prev[with_prev]]], -1),
        (row[with_prev], x[last[prev[with_prev]]], -1),
        (row[next_run[run_of[declined]]], x[order[declined]], 1),
    ], start_held[has_count], start_held[has_count])
    # along each run: count[next] - count[a] - x[a] = 0
    inner = np.flatnonzero((np.diff(run_of) == 0) & counted[:-1])  # positions j with j + 1 in the same run
    a, nxt = order[inner], order[inner + 1]
    b.linear(np.arange(0, 3 * len(inner) + 1, 3), np.column_stack([count[nxt], count[a], x[a]]).ravel(),
             np.tile([1, -1, -1], len(inner)), 0, 0)
    if cap_var is not None:
        _variable_cap(b, x, order, last, count, full, cap, cap_var)
        return
    # the seats held after the run stay within the cap (a run without a count cannot pass it)
    ends_counted = last[has_count]
    b.linear(np.arange(0, 2 * len(ends_counted) + 1, 2), np.column_stack([count[ends_counted],
                                                                           x[ends_counted]]).ravel(),
             1, 0, cap[ends_counted])
    # full <=> count >= cap
    where = order[counted]
    one = np.arange(len(where) + 1)
    b.linear(one, count[where], 1, cap[where], cap[where], enforce=full[where])
    b.linear(one, count[where], 1, 0, cap[where] - 1, enforce=negated(full[where]))


def _variable_cap(b: ProtoBuilder, x: IntArray, order: IntArray, last: IntArray, count: IntArray, full: IntArray,
                  upper: NDArray[np.integer], cap_var: IntArray) -> None:
    """The same rows with the cap a variable q (0 <= q <= upper): count + x - q <= 0 after each run, and
    full <=> count - q >= 0."""
    n_runs = len(last)
    b.linear(np.arange(0, 3 * n_runs + 1, 3), np.column_stack([count[last], x[last], cap_var[last]]).ravel(),
             np.tile([1, 1, -1], n_runs), -upper[last], 0)
    two = np.arange(0, 2 * len(order) + 1, 2)
    terms = np.column_stack([count[order], cap_var[order]]).ravel()
    coeffs = np.tile([1, -1], len(order))
    b.linear(two, terms, coeffs, 0, upper[order], enforce=full[order])
    b.linear(two, terms, coeffs, -upper[order], -1, enforce=negated(full[order]))
