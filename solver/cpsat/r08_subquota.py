"""R8 Regional sub-quota (HY §五): where a school has a sub-quota for a region, confirmed admissions of
that region's students never exceed it; regions without one are bounded only by the quota (R7).

As R7, for each (school, region) share along its students' part of the school's priority list: a prefix
count starting at the share's seats confirmed in earlier batches, never past the sub-quota, and
``share_full[a]`` once it is reached.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.cpsat.counting import prefix_counts
from solver.cpsat.instance import Instance
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars


class R08Subquota(RuleModule):
    rule = "R8"

    def build(self, inst: Instance, model: cp_model.CpModel, v: AdmissionVars) -> None:
        order = v.share_order
        if len(order) == 0:
            return
        prefix_counts(v.b, inst, v.x, order, v.share_runs, inst.sub, v.share_count, v.share_full,
                      inst.arr.sub_quota[inst.sub.clip(min=0)], inst.seats_held()[1])
