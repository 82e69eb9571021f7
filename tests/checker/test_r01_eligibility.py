"""The checker on R1 eligibility (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R1."""

from __future__ import annotations

from builders import add_offer, make_scenario, school, set_outcome, student
from checker_helpers import engine, found, rules


def test_r1_an_ineligible_student_admitted():
    sc = make_scenario(schools=[school("A", 2)],
                       students=[student("x", 90, ["A"]), student("i", 80, ["A"], certificate=False)])
    adm, off = engine(sc)
    adm, off = set_outcome(sc, adm, "i", "vocational", "A", 1, 1), add_offer(sc, off, "i", "A", 1, 1)
    assert ("R1", "i", "A", 1, "") in found(sc, adm, off)
    assert ("R1", "i", "A", 1, "") in found(sc, adm)
    assert rules(sc, adm, off) <= {"R1", "R5"}  # R5: he is in no batch's pool
