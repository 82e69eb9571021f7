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

from solver.cpsat.builder import negated
from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars, ragged


class R06Order(RuleModule):
    rule = "R6"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        b, x = v.b, v.x
        A = inst.n_apps
        apps = np.arange(A)
        counted = apps[v.full >= 0]  # the others can never find the school full (`variables.counted_positions`)
        b.pairs_or(negated(x[counted]), negated(v.full[counted]))
        shared = apps[v.share_full >= 0]
        b.pairs_or(negated(x[shared]), negated(v.share_full[shared]))
        # rejection, one row per application a (student i, batch b, rank k):
        #   x(i, b, rank <= k) + full[a] + share_full[a] + x(declined offer voiding a) - p(i, b) >= 0
        order, (starts, _) = v.student_order, v.student_runs
        position = np.empty(A, dtype=np.int64)
        position[order] = np.arange(A)
        run_start = starts[v.run_of_app]
        _, flat = ragged(run_start, position + 1)  # the apps at places 0..k of a's batch, a's included
        earlier_row = np.repeat(apps, position + 1 - run_start)
        earlier_app = order[flat]
        voided, decliner = v.declined_voids
        b.linear_terms(A, [(earlier_row, x[earlier_app], 1), (counted, v.full[counted], 1),
                           (shared, v.share_full[shared], 1), (voided, x[decliner], 1),
                           (apps, v.p[v.run_of_app], -1)], 0, A)
