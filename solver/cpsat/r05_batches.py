"""R5 Batches (HY §九.2): batch 1 takes every eligible student not admitted to general high school;
batch b > 1 every eligible student without a confirmed admission after batch b-1.  A school where the
student declined an offer earlier is void for him in all later batches.

Pool membership is a variable p for each student and batch he has applications in, following from the
batches before it: p(first) = 1 (eligible, not general: R1 and R4 are data), and p(next) = p(previous) -
(confirmed offers in the previous batch).  An offer needs the pool; a school declined earlier excludes an
offer there (the pairs ``v.declined_voids``, `variables.declined_pairs`).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from solver.cpsat.builder import negated
from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars, previous_in_group


class R05Batches(RuleModule):
    rule = "R5"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        b, x, p = v.b, v.x, v.p
        n_runs = len(p)
        run = v.run_of_app
        apps = np.arange(inst.n_apps)
        student = inst.student[v.student_order[v.student_runs[0]]]  # of each run
        prev = previous_in_group(student)  # the student's run of his previous batch with applications
        first = np.flatnonzero(prev < 0)
        later = np.flatnonzero(prev >= 0)
        next_run = np.full(n_runs, -1, dtype=np.int64)
        next_run[prev[later]] = later

        # p(first) = 1
        b.linear(np.arange(len(first) + 1), p[first], 1, 1, 1)
        # p(next) - p(previous) + confirmed offers of the previous batch = 0
        row = np.full(n_runs, -1, dtype=np.int64)
        row[later] = np.arange(len(later))
        confirmed = apps[~inst.declines & (next_run[run] >= 0)]
        b.linear_terms(len(later), [(row[later], p[later], 1), (row[later], p[prev[later]], -1),
                                    (row[next_run[run[confirmed]]], x[confirmed], 1)], 0, 0)
        # an offer needs the pool: sum(x of the batch) - p <= 0
        b.linear_terms(n_runs, [(run, x, 1), (np.arange(n_runs), p, -1)], -1, 0)
        # a school declined in an earlier batch is void: not both offers
        a, d = v.declined_voids
        b.pairs_or(negated(x[a]), negated(x[d]))
