"""R6 Order within a batch: the sequential rule (HY §九.1, §九.3).

A school's priority over its applicants in a batch is (choice rank, then the tie-break chain): the
immediate-acceptance order.  Along each school's applicant list in that order, R7 and R8 define
``full[a]`` / ``share_full[a]``: the school, or the share of ``a``'s region in it, has no free seat when
``a``'s turn comes (a threshold on a prefix count: linear in the number of applications).  Then:

- an offer is made only where neither the school nor the student's share is full;
- an applicant in the pool who gets no offer here, and none at an earlier choice of this batch, was
  rejected: the school or his region's share was full at his turn (unless he declined this school in
  an earlier batch, R5).

A student skipped for a full share does not take a seat, so later students of other regions still get
in (R8).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from solver.cpsat.builder import IntArray, negated
from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars, ragged


class R06Order(RuleModule):
    rule = "R6"
    mechanism = "boston"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        stable_rows(inst, v, batch_apps(inst, self.mechanism))


def batch_apps(inst: Instance, mechanism: str) -> IntArray:
    """The applications of the batches that admit by ``mechanism`` (R6 or a variant)."""
    mine = np.array([b.mechanism == mechanism for b in inst.sc.settings.batches], dtype=bool)
    return np.flatnonzero(mine[inst.batch]) if len(mine) else np.zeros(0, dtype=np.int64)


def stable_rows(inst: Instance, v: AdmissionVars, apps: IntArray) -> None:
    """R6 and its variants over the applications ``apps`` (whole students' runs of one batch each), along
    each school's priority list (`Instance`: ordered by the mechanism's priority block, then the chain):

    - an offer only where neither the school nor the student's share is full at his place in the list;
    - an applicant in the pool with no offer here or at an earlier choice of this batch was rejected: the
      school or his region's share was full at his place (unless he declined this school earlier, R5).
    """
    if len(apps) == 0:
        return
    b, x = v.b, v.x
    A = inst.n_apps
    counted = apps[v.full[apps] >= 0]  # the others can never find the school full (`variables.counted_positions`)
    b.pairs_or(negated(x[counted]), negated(v.full[counted]))
    shared = apps[v.share_full[apps] >= 0]
    b.pairs_or(negated(x[shared]), negated(v.share_full[shared]))
    # rejection, one row per application a (student i, batch b, rank k):
    #   x(i, b, rank <= k) + full[a] + share_full[a] + x(declined offer voiding a) - p(i, b) >= 0
    order, (starts, _) = v.student_order, v.student_runs
    position = np.empty(A, dtype=np.int64)
    position[order] = np.arange(A)
    run_start = starts[v.run_of_app[apps]]
    _, flat = ragged(run_start, position[apps] + 1)  # the apps at places 0..k of a's batch, a's included
    row = np.full(A, -1, dtype=np.int64)
    row[apps] = np.arange(len(apps))
    earlier_row = np.repeat(np.arange(len(apps)), position[apps] + 1 - run_start)
    earlier_app = order[flat]
    voided, decliner = v.declined_voids
    mine = row[voided] >= 0
    b.linear_terms(len(apps), [(earlier_row, x[earlier_app], 1), (row[counted], v.full[counted], 1),
                               (row[shared], v.share_full[shared], 1),
                               (row[voided[mine]], x[decliner[mine]], 1),
                               (np.arange(len(apps)), v.p[v.run_of_app[apps]], -1)], 0, len(apps))
