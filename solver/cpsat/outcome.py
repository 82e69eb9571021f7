"""A result from the model's offers: R12's one outcome per student and the offers with their R11 dates, in
the files' form.  Shared by the whole model (`AdmissionModel.result`) and the batch-by-batch solve
(`solver.cpsat.batches`), which assembles the offers of every batch over the whole `Instance`."""

from __future__ import annotations

import numpy as np

from models.results import Result, build_admissions, build_offers
from solver.cpsat.builder import BoolArray
from solver.cpsat.instance import Instance
from solver.cpsat.variables import declined_pairs


def result_of(inst: Instance, x: BoolArray, engine: str = "cpsat") -> Result:
    """``x``: bool per application of ``inst``, the offers made."""
    arr = inst.arr
    general = inst.general
    batches = inst.sc.settings.batches
    school = np.full(arr.n, -1, dtype=np.int32)
    batch_of = np.zeros(arr.n, dtype=np.int32)
    rank_of = np.zeros(arr.n, dtype=np.int32)
    parts = []
    offered = np.flatnonzero(x)
    for bpos, b in enumerate(batches):
        here = offered[inst.batch[offered] == bpos]
        here = here[np.argsort(inst.student[here], kind="stable")]
        students = inst.student[here]
        confirmed = ~inst.declines[here]
        parts.append((b, students, inst.school[here], inst.rank[here], confirmed))
        keep = here[confirmed]
        school[inst.student[keep]] = inst.school[keep]
        batch_of[inst.student[keep]] = b.id
        rank_of[inst.student[keep]] = inst.rank[keep]
    took_part = _took_part(inst, x, general)
    outcome = np.full(arr.n, "none", dtype=object)  # R12
    outcome[took_part] = "unplaced"
    outcome[~arr.eligible] = "ineligible"
    outcome[school >= 0] = "vocational"
    outcome[general] = "general"
    admissions = build_admissions(inst.sc, arr.student_ids, arr.school_ids, outcome, school, batch_of, rank_of)
    offers = build_offers(inst.sc, arr.student_ids, arr.school_ids, parts)
    return Result(admissions=admissions, offers=offers, engine=engine)


def _took_part(inst: Instance, x: BoolArray, general: BoolArray) -> BoolArray:
    """A student took part if, in some batch he was in the pool of, a choice of his was usable (not void
    by a school he declined earlier, R5)."""
    voided, decliner = declined_pairs(inst)
    usable = np.ones(inst.n_apps, dtype=bool)
    usable[voided[x[decliner]]] = False
    took = np.zeros(inst.arr.n, dtype=bool)
    confirmed_before = np.zeros(inst.arr.n, dtype=bool)
    for bpos in range(inst.n_batches):
        apps = np.flatnonzero(inst.batch == bpos)
        students = inst.student[apps]
        in_pool = ~general[students] & ~confirmed_before[students]
        took[students[in_pool & usable[apps]]] = True
        offered = apps[x[apps]]
        confirmed_before[inst.student[offered[~inst.declines[offered]]]] = True
    return took
