"""The checker on R5 batches (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R5."""

from __future__ import annotations

from builders import add_offer, make_scenario, region, school, student
from checker_helpers import engine, found, move


def test_r5_an_offer_to_a_general_student():
    sc = make_scenario(schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=1)],
                       students=[student("g1", 95, ["A"]), student("g2", 90, ["A"])])
    adm, off = engine(sc)
    off = add_offer(sc, off, "g1", "A", 1, 1, confirmed=False)
    assert found(sc, adm, off) == {("R5", "g1", "A", 1, ""), ("R9", "g1", "A", 1, "")}


def test_r5_an_offer_to_a_student_confirmed_earlier():
    sc = make_scenario(schools=[school("A", 5), school("B", 5)], students=[student("x", 90, ["A"], batch2=["B"])],
                       batches=2)
    adm, off = engine(sc)
    off = add_offer(sc, off, "x", "B", 2, 1)
    assert {("R5", "x", "B", 2, ""), ("R10", "x", "B", 2, "")} <= found(sc, adm, off)


def test_r5_an_offer_at_a_school_declined_earlier():
    sc = make_scenario(schools=[school("A", 5), school("B", 5)],
                       students=[student("x", 90, ["A"], batch2=["A", "B"])], declines=[("x", 1)], batches=2)
    adm, off = engine(sc)  # x declines A in batch 1, takes B (choice 2) in batch 2
    adm, off = move(sc, adm, off, "x", "A", 2, 1)
    assert ("R5", "x", "A", 2, "") in found(sc, adm, off)


def test_r5_an_offer_in_a_batch_not_in_the_calendar():
    sc = make_scenario(schools=[school("A", 5)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])])
    adm, off = engine(sc)
    off.loc[off["student_id"] == "y", "batch"] = 7
    assert ("R5", "y", "A", 7, "") in found(sc, adm, off)
