"""Fairness figures of a result (issue #15.2; docs/rules.md "R6 variants"): per school and in total the
students with *justified envy relative to the chain*, and the share placed at their first choice.

A student of batch b's pool has justified envy toward a school s he listed in b above his result there
(above the choice he was offered in b, or any choice if he got none) when s made an offer in b to a
student *behind him in the chain* whose seat he could have taken: a student of his own region, or any
student where his region has no sub-quota at s or its share of s had room at the end of the batch (R8).
Under ``parallel`` no student has any (that is its defining property, which the checker's R6 holds a
result to); under ``boston`` the count is the price of the sequential rule: students rejected at a school
they ranked high because lower-scored students ranked it higher.

Computed from any result (the sequential engine's, CP-SAT's, a published one) and the batch's usable
choices, inside `figures.schools_table`'s pass over the batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver.engine.arrays import ScenarioArrays


@dataclass
class Fairness:
    envy_pairs: list[np.ndarray] = field(default_factory=list)  # keys student * S + school, per batch
    n_schools: int = 0

    def add_batch(self, arr: ScenarioArrays, codes: np.ndarray, off_student: np.ndarray, off_school: np.ndarray,
                  off_rank: np.ndarray, share_held: np.ndarray) -> None:
        """One batch: ``codes`` its usable choices of its pool (-1 elsewhere), the offers made in it, and
        ``share_held`` the seats of each sub-quota held at the end of the batch (confirmed before it plus
        its offers)."""
        S, n, m = arr.n_schools, arr.n, codes.shape[1]
        self.n_schools = S
        held_rank = np.full(n, m + 1, dtype=np.int64)  # the rank of the offer each student got in the batch
        np.minimum.at(held_rank, off_student, off_rank)
        worst = np.full(S, -1, dtype=np.int64)  # the chain position of the last student offered each school
        np.maximum.at(worst, off_school, arr.rank[off_student])
        pairs = arr.sub_index[off_school, arr.region[off_student]] if arr.sub_index.size else np.zeros(0, np.int64)
        worst_pair = np.full(max(len(arr.sub_quota), 1), -1, dtype=np.int64)
        if len(pairs):
            with_pair = pairs >= 0
            np.maximum.at(worst_pair, pairs[with_pair], arr.rank[off_student[with_pair]])
        share_room = share_held < arr.sub_quota
        found = []
        for k in range(m):
            students = np.flatnonzero((codes[:, k] >= 0) & (k + 1 < held_rank))
            schools = codes[students, k].astype(np.int64)
            chain = arr.rank[students]
            q = arr.sub_index[schools, arr.region[students]] if arr.sub_index.size else np.full(len(students), -1)
            could = (q < 0) | share_room[np.maximum(q, 0)] if len(arr.sub_quota) else np.ones(len(students), bool)
            envy = (could & (worst[schools] > chain)) | ((q >= 0) & (worst_pair[np.maximum(q, 0)] > chain))
            found.append(students[envy].astype(np.int64) * S + schools[envy])
        self.envy_pairs.append(np.concatenate(found) if found else np.zeros(0, np.int64))

    def per_school(self) -> np.ndarray:
        """Students with justified envy toward each school (each counted once)."""
        keys = self._keys()
        return np.bincount(keys % max(self.n_schools, 1), minlength=self.n_schools)

    def students(self) -> int:
        """Students with justified envy toward any school."""
        return len(np.unique(self._keys() // max(self.n_schools, 1)))

    def _keys(self) -> np.ndarray:
        return np.unique(np.concatenate(self.envy_pairs)) if self.envy_pairs else np.zeros(0, np.int64)


def first_choice(outcome: np.ndarray, choice_rank: np.ndarray) -> dict[str, float | int | None]:
    """Students placed at their first choice of the batch that placed them, and their share of the students
    who took part in the vocational batches (placed or unplaced)."""
    vocational = outcome == "vocational"
    took_part = int((vocational | (outcome == "unplaced")).sum())
    first = int((vocational & (choice_rank == 1)).sum())
    return {"placed_first_choice": first, "took_part": took_part,
            "first_choice_share": round(first / took_part, 4) if took_part else None}

