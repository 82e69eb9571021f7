"""The checker on R4 general high school first (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R4."""

from __future__ import annotations

from builders import drop_offer, make_scenario, region, school, set_outcome, student
from checker_helpers import engine, found


def test_r4_general_seats_given_to_the_wrong_student():
    sc = make_scenario(schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=1)],
                       students=[student("g1", 95, ["A"]), student("g2", 90, ["A"])])
    adm, off = engine(sc)
    assert list(adm["outcome"]) == ["general", "vocational"]
    adm2 = set_outcome(sc, adm, "g2", "general")
    assert found(sc, adm2, drop_offer(off, "g2")) == {("R4", "g2", "", None, "")}
    adm3 = set_outcome(sc, adm, "g1", "unplaced")
    assert ("R4", "g1", "", None, "") in found(sc, adm3, off)


def test_r4_general_cutoff():
    sc = make_scenario(schools=[school("A", 5)], general_stage="cutoff", regions=[region("R1", cutoff=85)],
                       students=[student("a", 90, ["A"]), student("c", 84, ["A"]),
                                 student("n", 99, ["A"], applies_general=False)])
    adm, off = engine(sc)
    assert found(sc, set_outcome(sc, adm, "c", "general"), drop_offer(off, "c")) == {("R4", "c", "", None, "")}
    assert found(sc, set_outcome(sc, adm, "n", "general"), drop_offer(off, "n")) == {("R4", "n", "", None, "")}
    assert ("R4", "a", "", None, "") in found(sc, set_outcome(sc, adm, "a", "unplaced"), off)


def test_r4_no_general_stage():
    sc = make_scenario(schools=[school("A", 5)], students=[student("a", 90, ["A"])])
    adm, off = engine(sc)
    assert found(sc, set_outcome(sc, adm, "a", "general"), drop_offer(off, "a")) == {("R4", "a", "", None, "")}
