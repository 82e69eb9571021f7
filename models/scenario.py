"""The scenario: regions, schools, sub-quotas, students with their choice lists, declines, interview
passes, batches and settings (docs/rules.md, Entities).  Students are rows of a DataFrame, never objects.

A `Scenario` is always valid: it is made by `models.validate.build_scenario`, which reports every
problem of the input at once.  Identifiers are strings; choice cells hold a ``school_id`` or ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.headers import EVALUATION_GRADES, choice_column, parse_choice_column
from models.problems import Problem

Mechanism = Literal["boston", "parallel", "chen-kesten"]
MECHANISMS: dict[str, Mechanism] = {  # R6 and its variants, by the words a planner may write
    "boston": "boston", "sequential": "boston", "顺序志愿": "boston",
    "parallel": "parallel", "平行志愿": "parallel",
    "chen-kesten": "chen-kesten"}

GeneralStage = Literal["seats", "cutoff", "none"]
GENERAL_STAGES: dict[str, GeneralStage] = {"seats": "seats", "cutoff": "cutoff", "none": "none"}  # R4


def as_general_stage(word: str) -> GeneralStage | None:
    """The R4 stage a word names (``seats``, ``cutoff``, ``none``), None for any other word."""
    return GENERAL_STAGES.get(word)

DEFAULT_TIE_BREAK = ("score", "evaluation", "student_id")
# Direction of each known tie-break key (R6): True = higher first.
TIE_BREAK_DESCENDING = {"score": True, "evaluation": True, "lottery": False, "student_id": False}

# The student columns the rules read (R1, R4, R6); choice columns are told by `parse_choice_column`.
RULE_STUDENT_COLUMNS = ("student_id", "region_id", "score", "evaluation", "cohort", "certificate", "applies_general")

OUTCOMES = ("general", "vocational", "unplaced", "ineligible", "none")  # R12


@dataclass(frozen=True)
class Batch:
    """One admission batch (R5) and its calendar (R11)."""

    id: int
    name: str
    choices: str  # which choice list the batch reads: "choices", "batch2", ...
    fallback: bool  # students who filed none of this list use the original list (R5)
    open: date
    admit_by: date
    confirm_by: date
    open_given: bool = True  # False when `open` was derived from the previous batch (R11)
    mechanism: Mechanism = "boston"  # R6 and its variants (docs/rules.md, "R6 variants")
    e: int | None = None  # chen-kesten: choices are taken in blocks of e

    def block_size(self, max_choices: int) -> int:
        """How many choices the batch takes at once (R6 variants): one under the sequential rule (boston),
        all of them under parallel (平行志愿), ``e`` under chen-kesten."""
        if self.mechanism == "parallel":
            return max(max_choices, 1)
        return self.e or 1 if self.mechanism == "chen-kesten" else 1

    def priority_block(self, rank: NDArray[np.integer], max_choices: int) -> NDArray[np.int64]:
        """A school's priority in this batch is (block of the choice rank, then the chain): the block of
        each 1-based ``rank``: the rank itself under boston, 1 under parallel, ``(rank - 1) // e + 1``
        under chen-kesten.  A rank past ``max_choices`` (a seat the holder could not use) comes after
        every block."""
        rank = np.asarray(rank, dtype=np.int64)
        usable = (np.clip(rank, 1, None) - 1) // self.block_size(max_choices) + 1
        return np.where(rank <= max_choices, usable, max_choices + rank)


@dataclass(frozen=True)
class Settings:
    name: str
    max_choices: int  # R3
    general_stage: GeneralStage  # R4
    batches: tuple[Batch, ...]  # R5, R11
    tie_break: tuple[str, ...] = DEFAULT_TIE_BREAK  # R6
    year: int | None = None
    extra: dict[str, object] = field(default_factory=dict)  # title and extra_columns as given, kept for round trips
    extra_columns: dict[str, frozenset[str]] = field(default_factory=dict)  # table or "*" -> headers

    @property
    def title(self) -> str:
        """The scenario's display name: ``title`` of scenario.yaml, else its name."""
        return str(self.extra.get("title") or self.name)

    def batch(self, batch_id: int) -> Batch:
        for b in self.batches:
            if b.id == batch_id:
                return b
        raise KeyError(batch_id)

    @property
    def choice_lists(self) -> list[str]:
        """The choice lists the batches read, original list first, without repeats."""
        names = ["choices"]
        for b in self.batches:
            if b.choices not in names:
                names.append(b.choices)
        return names


@dataclass
class Scenario:
    settings: Settings
    regions: pd.DataFrame  # region_id, name, kind, graduates, general_seats, general_cutoff
    schools: pd.DataFrame  # school_id, name, kind, region_id, quota, registered, requires_interview
    subquotas: pd.DataFrame  # school_id, region_id, quota
    students: pd.DataFrame  # student_id, region_id, score, evaluation, cohort, certificate, applies_general, choices
    declines: pd.DataFrame  # student_id, batch
    interviews: pd.DataFrame  # student_id, school_id
    warnings: list[Problem] = field(default_factory=list)
    source: str = ""
    inputs: dict[str, dict[str, object]] = field(default_factory=dict)  # per file read: how (encoding, header row)

    @property
    def name(self) -> str:
        return self.settings.name

    def choice_columns(self, list_name: str) -> list[str]:
        """The k = 1 .. max_choices columns of one choice list (columns absent from the file are skipped)."""
        cols = [choice_column(list_name, k) for k in range(1, self.settings.max_choices + 1)]
        return [c for c in cols if c in self.students.columns]

    def carried_columns(self) -> list[str]:
        """Student columns the rules do not read (姓名, 性别, 毕业学校, declared extras): kept as they were
        given and carried into the outputs a planner forwards."""
        return [c for c in self.students.columns if c not in RULE_STUDENT_COLUMNS and parse_choice_column(c) is None
                and c not in {k.partition(":")[0] for k in self.settings.tie_break}]

    def evaluation_values(self) -> NDArray[np.float64]:
        """综合素质评价 as numbers, higher better: A > B > C > D, or the number given (R6)."""
        ev = self.students["evaluation"] if "evaluation" in self.students.columns else None
        if ev is None:
            return np.zeros(len(self.students))
        codes, uniques = pd.factorize(ev)
        values = np.empty(len(uniques) + 1)
        for i, v in enumerate(uniques):
            label = str(v).strip()
            grade = EVALUATION_GRADES.get(label.upper(), EVALUATION_GRADES.get(label))
            try:
                values[i] = float(grade if grade is not None else label)
            except ValueError:
                values[i] = 0.0
        values[-1] = 0.0  # missing
        return np.asarray(values[codes], dtype=np.float64)

    def _id_key(self) -> NDArray[np.int64]:
        """student_id ascending: as numbers when every id is a whole number (then as text), else as text."""
        ids = pa.array(self.students["student_id"].array)
        if len(ids) and pc.max(pc.utf8_length(ids)).as_py() <= 18 and pc.all(pc.utf8_is_digit(ids)).as_py():
            numbers = np.asarray(pc.cast(ids, pa.int64()).to_numpy(), dtype=np.int64)
            ordered = np.sort(numbers)
            if not (ordered[1:] == ordered[:-1]).any():
                return numbers
            text_rank = np.asarray(pc.rank(ids, sort_keys="ascending", tiebreaker="dense").to_numpy(), dtype=np.int64)
            return np.lexsort((text_rank, numbers)).argsort()  # equal numbers ("7", "07") in text order
        return np.asarray(pc.rank(ids, sort_keys="ascending", tiebreaker="dense").to_numpy(), dtype=np.int64)

    def priority_order(self) -> NDArray[np.intp]:
        """Student row positions in the order of the tie-break chain (R6), best first.

        The chain always ends with ``student_id`` so that priorities are strict (docs/rules.md, uniqueness).
        Ids compare as numbers when every id is a whole number, else as text.
        """
        keys: list[NDArray[np.float64] | NDArray[np.int64]] = []  # np.lexsort: last key is the primary one
        for key in reversed(self.settings.tie_break):
            keys.append(self._sort_key(key))
        return np.lexsort(keys)

    def priority_rank(self) -> NDArray[np.int64]:
        """rank[i] = position of student i in the tie-break chain (0 = first)."""
        order = self.priority_order()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank

    def _sort_key(self, spec: str) -> NDArray[np.float64] | NDArray[np.int64]:
        key, _, direction = spec.partition(":")
        descending = TIE_BREAK_DESCENDING.get(key, True) if not direction else direction == "desc"
        s = self.students
        if key == "student_id":
            ids = self._id_key()
            return -ids if descending else ids
        if key == "evaluation":
            values = self.evaluation_values()
        else:
            values = pd.to_numeric(s[key], errors="coerce").to_numpy(dtype=float)
        return -values if descending else values
