"""The checker on R9 confirmation (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R9."""

from __future__ import annotations

import pytest

from builders import make_scenario, school, set_outcome, student
from checker_helpers import engine, found


@pytest.fixture
def declined():
    sc = make_scenario(schools=[school("A", 2)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 1)])
    return sc, *engine(sc)


def test_r9_a_declined_offer_marked_confirmed(declined):
    sc, adm, off = declined
    off.loc[off["student_id"] == "x", ["confirmed", "confirm_date"]] = [True, "2021-07-22"]
    adm = set_outcome(sc, adm, "x", "vocational", "A", 1, 1)
    assert found(sc, adm, off) == {("R9", "x", "A", 1, "")}
    assert found(sc, adm) == {("R9", "x", "A", 1, "")}


def test_r9_an_offer_not_confirmed_without_a_decline(declined):
    sc, adm, off = declined
    off.loc[off["student_id"] == "y", ["confirmed", "confirm_date"]] = [False, ""]
    adm = set_outcome(sc, adm, "y", "unplaced")
    assert found(sc, adm, off) == {("R9", "y", "A", 1, "")}
