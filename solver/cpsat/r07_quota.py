"""R7 Quota cap (HY §五 招生计划实行最高限额管理): confirmed admissions never exceed a school's quota;
its free seats in batch b are the quota minus admissions confirmed in earlier batches.

Along the school's priority list of each batch a prefix count of held seats: it starts at the seats
confirmed in earlier batches (the count after the school's previous batch minus the offers declined in
it: a declined seat returns after its batch, R9) and grows by one per offer.  It never passes the
quota, and ``full[a]`` says the count has reached it at ``a``'s turn.  In quota planning the quota is a
variable per school (``v.quota_var``, bounded by ``inst.arr.quota``), made for `AdmissionModel(quota_bounds=...)`.
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from solver.cpsat.counting import prefix_counts
from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R07Quota(RuleModule):
    rule = "R7"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        order = np.arange(inst.n_apps)  # applications are sorted by (batch, school, priority)
        quota_var = v.quota_var  # quota planning: one variable per school (solver.analysis.plan)
        prefix_counts(v.b, inst, v.x, order, v.school_runs, inst.school, v.count, v.full,
                      inst.arr.quota[inst.school], inst.seats_held()[0],
                      None if quota_var is None else quota_var[inst.school])
