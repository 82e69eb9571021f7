"""R10 No double admission (HY §十.一, §十一.六): a student holds at most one admission over the whole
process — general high school, or one confirmed vocational offer, never two.  (R5's pool already
implies it; stated here as the rule itself.)"""

from __future__ import annotations

import numpy as np


class R10NoDouble:
    def build(self, inst, model, v) -> None:
        confirmed = np.flatnonzero(~inst.declines)  # offers that would be confirmed (R9)
        students, row = np.unique(inst.student[confirmed], return_inverse=True)
        v.b.linear_terms(len(students), [(row, v.x[confirmed], 1)], 0, 1)
        # general students hold no offer at all: they have no application (R4 data, instance.py)
