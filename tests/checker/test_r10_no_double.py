"""The checker on R10 no double admission (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R10."""

from __future__ import annotations

from builders import add_offer, make_scenario, region, school, student
from checker_helpers import engine, found


def test_r10_two_confirmed_admissions():
    sc = make_scenario(schools=[school("A", 2), school("B", 2)], students=[student("x", 90, ["A", "B"])])
    adm, off = engine(sc)
    off = add_offer(sc, off, "x", "B", 1, 2)
    assert ("R10", "x", "B", 1, "") in found(sc, adm, off)


def test_r10_general_and_vocational():
    sc = make_scenario(schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=1)],
                       students=[student("g", 95, ["A"])])
    adm, off = engine(sc)
    assert ("R10", "g", "A", 1, "") in found(sc, adm, add_offer(sc, off, "g", "A", 1, 1))
