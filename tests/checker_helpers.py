"""Helpers of the checker tests: a clean result of the engine as two frames, the violations found, and
the edit that moves a student to another school."""

from __future__ import annotations

import pandas as pd

from solver.checker import check
from solver.engine.sequential import run_sequential

from builders import add_offer, drop_offer, set_outcome


def engine(sc):
    result = run_sequential(sc)
    found = check(sc, result.admissions, result.offers)
    assert found.empty, found.to_string()  # the mutation starts from a clean result
    return result.admissions.copy(), result.offers.copy()


def found(sc, admissions, offers=None) -> set[tuple]:
    """(rule, student, school, batch, other) of every violation."""
    v = check(sc, admissions, offers)
    return {(r.rule, r.student_id, r.school_id, None if pd.isna(r.batch) else int(r.batch), r.other_student_id)
            for r in v.itertuples()}


def rules(sc, admissions, offers=None) -> set[str]:
    return {row[0] for row in found(sc, admissions, offers)}


def move(sc, adm, off, sid, school, batch, rank):
    """Give ``sid`` (confirmed in ``batch``) another school instead, consistently in both files."""
    off = drop_offer(off, sid, batch)
    return set_outcome(sc, adm, sid, "vocational", school, batch, rank), add_offer(sc, off, sid, school, batch, rank)
