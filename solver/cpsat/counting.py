"""Prefix counts of held seats along priority lists, shared by R7 (schools) and R8 (regional shares)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from solver.cpsat.builder import IntArray, ProtoBuilder, negated
from solver.cpsat.instance import Instance
from solver.cpsat.variables import Runs, previous_in_group


def prefix_counts(b: ProtoBuilder, inst: Instance, x: IntArray, order: IntArray, run_bounds: Runs,
                  holder: NDArray[np.integer], count: IntArray, full: IntArray, cap: NDArray[np.integer],
                  cap_var: IntArray | None = None) -> None:
    """For each run (one batch of one school, or of one share) of ``order`` — applications in priority
    order — with ``holder[a]`` the school or share and ``cap[a]`` its quota:

    - the count at a run's first application = the count after the holder's previous run, minus the
      offers declined in it (R9: a declined seat returns after its batch), or 0;
    - count[next] = count[a] + x[a] along the run; the count after the run stays within the cap;
    - full[a] <=> count[a] >= cap.

    With ``cap_var`` (quota planning, `solver.analysis.plan`): ``cap_var[a]`` is the proto index of an integer
    variable that is the cap instead, and ``cap[a]`` is only its upper bound.
    """
    starts, ends = run_bounds
    if len(starts) == 0:
        return
    n_runs = len(starts)
    last = order[ends - 1]
    prev = previous_in_group(holder[order[starts]])
    # the first count of each run
    first = order[starts]
    has_prev = prev >= 0
    runs_with_prev = np.flatnonzero(has_prev)
    run_of = np.repeat(np.arange(n_runs), ends - starts)
    declined = np.flatnonzero(inst.declines[order])  # positions in order
    next_run = np.full(n_runs, -1, dtype=np.int64)
    next_run[prev[runs_with_prev]] = runs_with_prev
    declined = declined[next_run[run_of[declined]] >= 0]
    b.linear_terms(n_runs, [
        (np.arange(n_runs), count[first], 1),
        (runs_with_prev, count[last[prev[runs_with_prev]]], -1),
        (runs_with_prev, x[last[prev[runs_with_prev]]], -1),
        (next_run[run_of[declined]], x[order[declined]], 1),
    ], 0, 0)
    # along each run: count[next] - count[a] - x[a] = 0
    inner = np.flatnonzero(np.diff(run_of) == 0)  # positions j with j + 1 in the same run
    a, nxt = order[inner], order[inner + 1]
    b.linear(np.arange(0, 3 * len(inner) + 1, 3), np.column_stack([count[nxt], count[a], x[a]]).ravel(),
             np.tile([1, -1, -1], len(inner)), 0, 0)
    if cap_var is not None:
        _variable_cap(b, x, order, last, count, full, cap, cap_var)
        return
    # the seats held after the run stay within the cap
    b.linear(np.arange(0, 2 * n_runs + 1, 2), np.column_stack([count[last], x[last]]).ravel(), 1, 0, cap[last])
    # full <=> count >= cap
    one = np.arange(len(order) + 1)
    b.linear(one, count[order], 1, cap[order], cap[order], enforce=full[order])
    b.linear(one, count[order], 1, 0, cap[order] - 1, enforce=negated(full[order]))


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
