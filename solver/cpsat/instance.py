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
    # one entry per potential application, sorted by (batch, school, priority block of the rank, chain rank):
    # each school's priority list per batch (`models.scenario.Batch.priority_block`)
    student: IntArray
    school: IntArray
    batch: IntArray  # batch position 0 .. B-1
    rank: IntArray  # 1-based choice rank (R3)
    region: NDArray[np.integer]  # the student's region (int32, as `ScenarioArrays.region`)
    sub: IntArray  # sub-quota index of (school, student's region), -1 where none (R8)
    declines: BoolArray  # the student declines offers of this batch (R9 data)
    general: BoolArray  # bool[n]: admitted to general high school (R4, data)
    held: IntArray | None = None  # int[S]: seats confirmed before the instance's first batch (a stage); None: 0
    share_held: IntArray | None = None  # int[sub-quotas]: the same per regional share (R8)

    def seats_held(self) -> tuple[IntArray, IntArray]:
        """Seats confirmed before the instance's first batch, per school and per sub-quota: data of a stage
        (`stage_instance`), zero for the whole scenario."""
        held = np.zeros(self.arr.n_schools, np.int64) if self.held is None else self.held
        share = np.zeros(len(self.arr.sub_quota), np.int64) if self.share_held is None else self.share_held
        return held, share

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
    block = np.zeros(len(rank), dtype=np.int64)  # the block of each choice rank under its batch's mechanism
    for bpos, b in enumerate(sc.settings.batches):
        here = batch == bpos
        block[here] = b.priority_block(rank[here], sc.settings.max_choices)
    # a school's priority: (block of the choice rank, then the chain): (rank, chain) under boston (R6), the
    # chain alone under parallel, (rank block of e, chain) under chen-kesten (R6 variants)
    order = np.lexsort((arr.rank[student], block, school, batch))
    student, school, batch, rank = student[order], school[order], batch[order], rank[order]
    region = arr.region[student]
    sub = arr.sub_index[school, region] if arr.sub_index.size else np.full(len(student), -1)
    batch_ids = np.array([b.id for b in sc.settings.batches])
    declines = np.zeros(len(student), dtype=bool)
    for bpos, bid in enumerate(batch_ids):
        here = batch == bpos
        declines[here] = arr.declines[bid][student[here]]

    return Instance(sc, arr, student, school, batch, rank, region, sub.astype(np.int64), declines, general)



@dataclass
class Stage:
    """One batch of the scenario as a model of its own (docs/verification.md, "Batch by batch"): the
    applications of the batch's pool, given as data what the model's own solution of the earlier batches
    decided: who holds a confirmed offer (not in the pool, R5), which schools a student declined (void, R5)
    and the seats confirmed at each school and share (R7, R8)."""

    inst: Instance
    positions: IntArray  # each of the stage's applications in the whole `Instance`


def stage_instance(whole: Instance, bpos: int, offered: BoolArray) -> Stage:
    """Batch ``bpos`` of ``whole`` given ``offered`` (bool per application of ``whole``: the offers the
    model made in batches before ``bpos``; later entries are not read)."""
    before = np.flatnonzero(offered & (whole.batch < bpos))
    confirmed = before[~whole.declines[before]]  # R9: only confirmed offers hold a seat and leave the pool
    declined = before[whole.declines[before]]
    in_pool = np.ones(whole.arr.n, dtype=bool)
    in_pool[whole.student[confirmed]] = False
    here = np.flatnonzero(whole.batch == bpos)
    keep = in_pool[whole.student[here]]
    if len(declined):  # R5: a school declined in an earlier batch is void for the student
        n_schools = whole.arr.n_schools
        void = np.isin(whole.student[here] * n_schools + whole.school[here],
                       whole.student[declined] * n_schools + whole.school[declined])
        keep &= ~void
    pos = here[keep]
    held = np.bincount(whole.school[confirmed], minlength=whole.arr.n_schools).astype(np.int64)
    shares = whole.sub[confirmed]
    share_held = np.bincount(shares[shares >= 0], minlength=len(whole.arr.sub_quota)).astype(np.int64)
    inst = Instance(whole.sc, whole.arr, whole.student[pos], whole.school[pos], whole.batch[pos], whole.rank[pos],
                    whole.region[pos], whole.sub[pos], whole.declines[pos], whole.general, held, share_held)
    return Stage(inst, pos)
