"""The model's variables (as proto indices, one numpy array per family) and the index structures the
rule modules share.

- ``x[a]``: application ``a`` ends in an offer (student, school, batch, rank of `Instance`).
- ``p[r]``: the student of run ``r`` (his applications in one batch) is in that batch's pool (R5).
- ``count[a]``: seats of ``a``'s school held when ``a``'s turn comes: confirmed in earlier batches plus
  offers to applicants before ``a`` in the school's priority list of this batch (R6, R7), and
  ``full[a]`` <=> ``count[a] >= quota``.  ``share_count``/``share_full``: the same for the sub-quota of
  ``a``'s region at the school (R8; -1 where none).  Prefix counts make every literal a function of
  the applicants before it, so unit propagation in priority order derives the whole admission: the
  model's single solution is found, and its uniqueness proved, without search.  Where the seats held at
  a run's start are data (a school's first batch in the model; every batch of a `Stage`), the first
  ``quota - held`` applicants of the run can never find it full: they get no ``count``/``full`` (-1), and
  the count starts after them (`room_at_start`, `counted_positions`).
- ``declined_voids``: the pairs (a, d) where an offer ``d`` the student declines voids his later
  application ``a`` at the same school (R5; R6 reads them in its rejection rows).
- ``quota_var[s]``: in quota planning (`AdmissionModel(quota_bounds=...)`) the integer variable that is
  school ``s``'s quota (R7), None where the quota is data.
- ``dates[batch id]``: the (admit date, confirm date) day-number variables of each batch (R11).

All of them are made here, before any rule module is built, and a rule module only adds constraints:
the modules can be built in any order (`solver.cpsat.rule.RuleModule`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from solver.cpsat.builder import BoolArray, IntArray, ProtoBuilder
from solver.cpsat.instance import Instance

Runs = tuple[IntArray, IntArray]
"""Start and end (exclusive) of each run of equal keys."""

Pairs = tuple[IntArray, IntArray]


def runs(keys: NDArray[np.integer]) -> Runs:
    """Start and end (exclusive) of each run of equal values in ``keys``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.r_[starts[1:], len(keys)]


def ragged(starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray]:
    """Offsets and flat positions of the ranges ``start:end``, concatenated."""
    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return offsets, flat


def previous_in_group(group: NDArray[np.integer]) -> IntArray:
    """For items in order, the index of the previous item of the same group, -1 for the first."""
    order = np.argsort(group, kind="stable")
    prev = np.full(len(group), -1, dtype=np.int64)
    same = group[order][1:] == group[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    return prev


@dataclass
class AdmissionVars:
    b: ProtoBuilder
    x: IntArray
    full: IntArray
    count: IntArray
    share_full: IntArray
    share_count: IntArray
    p: IntArray
    run_of_app: IntArray  # the student run of each application
    school_runs: Runs  # runs of apps with the same (batch, school), in priority order
    student_order: IntArray  # apps by (student, batch, rank)
    student_runs: Runs  # runs of student_order with the same (student, batch)
    share_order: IntArray  # apps with a sub-quota by (batch, sub-quota), in priority order
    share_runs: Runs
    declined_voids: Pairs  # (app, earlier declined app) R5, R6
    quota_var: IntArray | None  # int[S] quota planning: each school's quota variable (R7); None: data
    dates: dict[int, tuple[cp_model.IntVar, cp_model.IntVar]]  # batch id -> (admit date, confirm date) R11

    @classmethod
    def create(cls, inst: Instance, b: ProtoBuilder, quota_bounds: tuple[IntArray, IntArray] | None = None
               ) -> AdmissionVars:
        """Every variable of the model and the index structures the rule modules read.  ``quota_bounds =
        (lower, upper)``: each school's quota is a variable within them (checked by `AdmissionModel`)."""
        A = inst.n_apps
        S = inst.arr.n_schools
        x = b.new_bools(A)
        student_order = np.lexsort((inst.rank, inst.batch, inst.student))
        student_runs = runs(inst.student[student_order] * inst.n_batches + inst.batch[student_order])
        p = b.new_bools(len(student_runs[0]))
        run_of_app = np.empty(A, dtype=np.int64)
        run_of_app[student_order] = np.repeat(np.arange(len(student_runs[0])), student_runs[1] - student_runs[0])
        held, share_held = inst.seats_held()
        school_runs = runs(inst.batch * S + inst.school)
        free = None if quota_bounds is None else np.zeros(S, np.int64)  # planning: the quota is not data
        counted = counted_positions(np.arange(A), school_runs, inst.school, inst.arr.quota, held, free)
        full, count = _counters(b, counted, inst.school, inst.arr.quota)
        limited = np.flatnonzero(inst.sub >= 0)
        n_sub = max(len(inst.arr.sub_quota), 1)
        share_order = limited[np.argsort(inst.batch[limited] * n_sub + inst.sub[limited], kind="stable")]
        share_runs = runs(inst.batch[share_order] * n_sub + inst.sub[share_order])
        counted_share = counted_positions(share_order, share_runs, inst.sub, inst.arr.sub_quota, share_held)
        share_full, share_count = _counters(b, counted_share, inst.sub, inst.arr.sub_quota)
        quota_var = None if quota_bounds is None else b.new_vars(*quota_bounds)
        return cls(b=b, x=x, full=full, count=count, share_full=share_full, share_count=share_count, p=p,
                   run_of_app=run_of_app, school_runs=school_runs,
                   student_order=student_order, student_runs=student_runs, share_order=share_order,
                   share_runs=share_runs,
                   declined_voids=declined_pairs(inst), quota_var=quota_var, dates=batch_dates(inst, b.model))

    def decision_indices(self) -> IntArray:
        """The variables a result is made of (the offers); the others follow from them."""
        return self.x


def counted_positions(order: IntArray, run_bounds: Runs, holder: NDArray[np.integer], cap: NDArray[np.integer],
                      held: IntArray, free: IntArray | None = None) -> BoolArray:
    """bool per application: it needs a prefix count (R7/R8: ``holder[a]`` is its school or share, -1 none).

    A run (one batch of one holder, ``order[start:end]`` in priority order) whose seats held at its start
    are data (the holder's first run in the model: ``held[holder]``) has ``free = cap - held`` seats when
    it starts (``free`` overrides it per holder; 0 where the cap is a variable), so its first ``free``
    applicants can never find it full: the count starts after them.  A run followed by another of the
    same holder keeps a count at its last application (the next run starts from it)."""
    starts, ends = run_bounds
    counted = np.zeros(len(holder), dtype=bool)
    if len(starts) == 0:
        return counted
    first_holder = holder[order[starts]]
    prev = previous_in_group(first_holder)
    has_next = np.zeros(len(starts), dtype=bool)
    has_next[prev[prev >= 0]] = True
    room = (cap[first_holder] - held[first_holder]) if free is None else free[first_holder]
    room = np.where(prev >= 0, 0, np.maximum(room, 0))
    room = np.where(has_next, np.minimum(room, ends - starts - 1), room)
    position = np.arange(len(order)) - np.repeat(starts, ends - starts)
    counted[order] = position >= np.repeat(room, ends - starts)
    return counted


def _counters(b: ProtoBuilder, counted: BoolArray, holder: NDArray[np.integer], cap: NDArray[np.integer]
              ) -> tuple[IntArray, IntArray]:
    """``full`` (bool) and ``count`` (0..cap of the holder) variables of the counted applications, -1
    elsewhere."""
    full = np.full(len(counted), -1, dtype=np.int64)
    count = np.full(len(counted), -1, dtype=np.int64)
    where = np.flatnonzero(counted)
    full[where] = b.new_bools(len(where))
    count[where] = b.new_vars(0, cap[holder[where]])
    return full, count


def batch_dates(inst: Instance, model: cp_model.CpModel) -> dict[int, tuple[cp_model.IntVar, cp_model.IntVar]]:
    """One admit date and one confirm date per batch (day numbers), from the batch's opening day to its
    ``admit_by`` / ``confirm_by`` (R11 states the order between them)."""
    dates = {}
    for batch in inst.sc.settings.batches:
        opens, admit_by, confirm_by = (d.toordinal() for d in (batch.open, batch.admit_by, batch.confirm_by))
        admit = model.new_int_var(opens, max(opens, admit_by), f"admit_date_b{batch.id}")
        confirm = model.new_int_var(opens, max(opens, confirm_by), f"confirm_date_b{batch.id}")
        dates[batch.id] = (admit, confirm)
    return dates


def declined_pairs(inst: Instance) -> Pairs:
    """(a, d): application ``a`` is at a school where the same student declined offer ``d`` in an
    earlier batch (R5: that school is void for him now, if the offer ``d`` was made)."""
    frame = pd.DataFrame({"student": inst.student, "school": inst.school, "batch": inst.batch})
    declined = frame[inst.declines].reset_index().rename(columns={"index": "d", "batch": "d_batch"})
    if declined.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    later = frame.reset_index().rename(columns={"index": "a"}).merge(declined, on=["student", "school"])
    later = later[later["batch"] > later["d_batch"]]
    return later["a"].to_numpy(dtype=np.int64), later["d"].to_numpy(dtype=np.int64)
