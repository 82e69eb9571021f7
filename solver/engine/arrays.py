"""A scenario as integer arrays, the form every engine works on (students, schools, regions as codes).

Row i of every student array is row i of ``scenario.students``; school j is row j of
``scenario.schools``; region r is row r of ``scenario.regions``.  Choice cells are school codes, -1
where empty.  Building this is the only place where ids are turned into codes; the choices void before
any batch runs (R2 unregistered school, R3 interview without a pass) are marked here too (`void_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.columns import codes_of, derived
from models.headers import choice_column
from models.priority import priority_rank
from models.scenario import Scenario


@dataclass
class ScenarioArrays:
    n: int
    n_schools: int
    n_regions: int
    student_ids: pd.Series  # text, row i = student i
    school_ids: np.ndarray
    region_ids: np.ndarray
    region: np.ndarray  # int32[n] the student's region (学籍所在地)
    rank: np.ndarray  # int64[n] position in the tie-break chain, 0 = first (R6)
    score: np.ndarray  # float[n]
    eligible: np.ndarray  # bool[n] R1: may be admitted to a vocational school
    applies_general: np.ndarray  # bool[n] R4
    quota: np.ndarray  # int64[S] R7
    registered: np.ndarray  # bool[S] R2
    requires_interview: np.ndarray  # bool[S] R3
    sub_index: np.ndarray  # int32[S, R] index into sub_quota, -1 where no sub-quota (R8)
    sub_quota: np.ndarray  # int64[P] R8
    sub_school: np.ndarray  # int32[P]
    sub_region: np.ndarray  # int32[P]
    lists: dict[str, np.ndarray]  # choice list name -> int32[n, max_choices] school codes, -1 empty
    interview_keys: np.ndarray  # sorted int64 student * S + school of every interview pass (R3)
    declines: dict[int, np.ndarray] = field(default_factory=dict)  # batch id -> bool[n] (R9)
    void: dict[str, np.ndarray] = field(default_factory=dict)  # list -> bool[n, m]: void before any batch (R2, R3)
    _chain: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_scenario(cls, sc: Scenario) -> ScenarioArrays:
        st, sch, reg = sc.students, sc.schools, sc.regions
        n, S, R = len(st), len(sch), len(reg)
        school_ids = sch["school_id"].to_numpy(dtype=object)
        region_ids = reg["region_id"].to_numpy(dtype=object)
        students_ids = st["student_id"]

        def codes(values: pd.Series, keys: pd.Series, what: str) -> np.ndarray:
            return _known(scenario_codes(sc, values, keys), what)

        eligible = ~((st["cohort"] == "fresh") & ~st["certificate"]).to_numpy()  # R1 (HY §四)
        region = codes(st["region_id"], reg["region_id"], "students.region_id")
        sub_school = codes(sc.subquotas["school_id"], sch["school_id"], "subquotas.school_id")
        sub_region = codes(sc.subquotas["region_id"], reg["region_id"], "subquotas.region_id")
        sub_index = np.full((S, R), -1, dtype=np.int32)
        sub_index[sub_school, sub_region] = np.arange(len(sub_school), dtype=np.int32)

        m = sc.settings.max_choices
        lists = {}
        for name in sc.settings.choice_lists:
            matrix = np.full((n, m), -1, dtype=np.int32)
            for k, col in enumerate(_choice_cols(sc, name)):
                if col is not None:
                    matrix[:, k] = scenario_codes(sc, st[col], sch["school_id"])  # -1 where empty
            lists[name] = matrix

        iv_student = codes(sc.interviews["student_id"], students_ids, "interviews.student_id")
        iv_school = codes(sc.interviews["school_id"], sch["school_id"], "interviews.school_id")
        declines = {}
        decline_rows = codes(sc.declines["student_id"], students_ids, "declines.student_id")
        decline_batch = sc.declines["batch"].to_numpy()
        for b in sc.settings.batches:
            mask = np.zeros(n, dtype=bool)
            mask[decline_rows[decline_batch == b.id]] = True
            declines[b.id] = mask

        arrays = cls(
            n=n, n_schools=S, n_regions=R,
            student_ids=st["student_id"].reset_index(drop=True), school_ids=school_ids, region_ids=region_ids,
            region=region.astype(np.int32),
            rank=priority_rank(sc),
            score=st["score"].to_numpy(dtype=float),
            eligible=eligible,
            applies_general=st["applies_general"].to_numpy(dtype=bool),
            quota=sch["quota"].to_numpy(dtype=np.int64),
            registered=sch["registered"].to_numpy(dtype=bool),
            requires_interview=sch["requires_interview"].to_numpy(dtype=bool),
            sub_index=sub_index, sub_quota=sc.subquotas["quota"].to_numpy(dtype=np.int64),
            sub_school=sub_school.astype(np.int32), sub_region=sub_region.astype(np.int32),
            lists=lists,
            interview_keys=np.unique(iv_student * S + iv_school),
            declines=declines,
        )
        arrays.void = {name: void_mask(arrays, choice_codes) for name, choice_codes in lists.items()}
        return arrays

    def chain_order(self) -> np.ndarray:
        """The students in the order of the tie-break chain (R6), best first: the inverse of ``rank``."""
        if self._chain is None or self._chain[0] is not self.rank:
            order = np.empty(len(self.rank), dtype=np.int64)
            order[self.rank] = np.arange(len(self.rank))
            self._chain = (self.rank, order)
        return self._chain[1]

    def in_chain_order(self, students: np.ndarray) -> np.ndarray:
        """The students of a bool[n] mask, in chain order."""
        order = self.chain_order()
        return order[students[order]]

    def pair_keys(self, students: np.ndarray, schools: np.ndarray) -> np.ndarray:
        """One int64 per (student, school) pair, for set look-ups (see `in_sorted`)."""
        return students.astype(np.int64) * self.n_schools + schools.astype(np.int64)


def void_mask(arr: ScenarioArrays, codes: np.ndarray) -> np.ndarray:
    """True where a filled choice is void before any batch runs: an unregistered school (R2), or a
    school requiring an interview the student has not passed (R3, HY §九.3)."""
    filled = codes >= 0
    safe = np.where(filled, codes, 0)
    void = filled & ~arr.registered[safe]
    gated = filled & arr.requires_interview[safe]
    if gated.any():
        rows, cols = np.nonzero(gated)
        passed = in_sorted(arr.pair_keys(rows, codes[rows, cols]), arr.interview_keys)
        void[rows[~passed], cols[~passed]] = True
    return void


def stable_by(keys: np.ndarray, bound: int) -> np.ndarray:
    """The stable order of ``keys`` (integers in 0 .. bound - 1): numpy's radix sort for 16-bit keys.
    Applied to rows already in chain order, it gives them by (key, chain), as ``np.lexsort`` would."""
    if bound <= 2**16:
        keys = keys.astype(np.uint16)
    return np.argsort(keys, kind="stable")


def filled_any(codes: np.ndarray) -> np.ndarray:
    """bool[n]: a row of the choice matrix ``codes`` (int[n, m], -1 empty) holds a choice; column by
    column, faster than a reduction along the rows' short axis."""
    out = np.zeros(codes.shape[0], dtype=bool)
    for k in range(codes.shape[1]):
        out |= codes[:, k] >= 0
    return out


def cumcount(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal values of a sorted ``groups`` array."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def in_sorted(queries: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """queries.isin(keys) for a sorted key array, by binary search (numpy's isin hashes both sides)."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(queries), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return sorted_keys[pos] == queries


def scenario_codes(sc: Scenario, values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each id in ``keys`` (-1 where absent): as the loader found it (`models.columns.derived`),
    else looked up."""
    found = derived(sc).get("codes", (values, keys))
    return codes_of(values, keys) if found is None else found


def _known(codes: np.ndarray, what: str) -> np.ndarray:
    """A Scenario made by the loader never has unknown ids; one built in code might (-1 would index the
    last row)."""
    if len(codes) and codes.min() < 0:
        raise ValueError(f"{what}: {int((codes < 0).sum())} id(s) not in the scenario; "
                         "build scenarios with models.load_scenario")
    return codes


def _choice_cols(sc: Scenario, list_name: str) -> list[str | None]:
    cols = []
    for k in range(1, sc.settings.max_choices + 1):
        c = choice_column(list_name, k)
        cols.append(c if c in sc.students.columns else None)
    return cols
