"""The data the CP-SAT model is built on: every *potential* application, as numpy arrays.

A potential application is a usable choice (R2 catalogue, R3 interview gate, R5 batch list with
fallback) of an eligible student (R1) not admitted to general high school (R4, data: see
`r04_general`) in a batch's list.  Whether the student is in that batch's pool,
and whether the school is void because he declined it earlier (R5), depends on earlier batches: those
are left to the model's constraints, not decided here.  Nothing of the sequential engine's *result* is
used: only the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.scenario import Scenario
from solver.cpsat.builder import BoolArray, IntArray
from solver.engine.arrays import ScenarioArrays
from solver.engine.choices import batch_choices
from solver.engine.general import general_stage


@dataclass
class Instance:
    sc: Scenario
    arr: ScenarioArrays
    # one entry per potential application, sorted by (batch, school, rank, chain rank)
    student: IntArray
    school: IntArray
    batch: IntArray  # batch position 0 .. B-1
    rank: IntArray  # 1-based choice rank (R3)
    region: NDArray[np.integer]  # the student's region (int32, as `ScenarioArrays.region`)
    sub: IntArray  # sub-quota index of (school, student's region), -1 where none (R8)
    declines: BoolArray  # the student declines offers of this batch (R9 data)
    general: BoolArray  # bool[n]: admitted to general high school (R4, data)

    @property
    def n_apps(self) -> int:
        return len(self.student)

    @property
    def n_batches(self) -> int:
        return len(self.sc.settings.batches)


def build_instance(sc: Scenario, arr: ScenarioArrays | None = None) -> Instance:
    arr = arr or ScenarioArrays.from_scenario(sc)
    general = general_stage(sc, arr)  # R4 as data: see r04_general.py
    parts = []
    none_declined = np.zeros(0, dtype=np.int64)
    for bpos, b in enumerate(sc.settings.batches):
        codes = batch_choices(arr, b, none_declined)  # R2, R3, R5 lists; decline voids are constraints
        codes[~arr.eligible | general] = -1  # R1; R4
        rows, cols = np.nonzero(codes >= 0)
        parts.append((rows, codes[rows, cols], np.full(len(rows), bpos), cols + 1))
    student = np.concatenate([p[0] for p in parts]).astype(np.int64)
    school = np.concatenate([p[1] for p in parts]).astype(np.int64)
    batch = np.concatenate([p[2] for p in parts]).astype(np.int64)
    rank = np.concatenate([p[3] for p in parts]).astype(np.int64)
    order = np.lexsort((arr.rank[student], rank, school, batch))  # a school's priority: rank, then chain (R6)
    student, school, batch, rank = student[order], school[order], batch[order], rank[order]
    region = arr.region[student]
    sub = arr.sub_index[school, region] if arr.sub_index.size else np.full(len(student), -1)
    batch_ids = np.array([b.id for b in sc.settings.batches])
    declines = np.zeros(len(student), dtype=bool)
    for bpos, bid in enumerate(batch_ids):
        here = batch == bpos
        declines[here] = arr.declines[bid][student[here]]

    return Instance(sc, arr, student, school, batch, rank, region, sub.astype(np.int64), declines, general)

