"""The checker on R3 choices (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R3."""

from __future__ import annotations

import pytest

from builders import add_offer, make_scenario, school, student
from checker_helpers import engine, found, move


@pytest.fixture
def three_schools():
    return make_scenario(schools=[school("A", 1), school("B", 1), school("C", 3),
                                  school("I", 1, requires_interview=True)],
                         students=[student("h", 90, ["A", "B"]), student("x", 80, ["A", "B"]),
                                   student("y", 70, ["I", "C"])])


def test_r3_a_wrong_choice_rank(three_schools):
    sc = three_schools
    adm, off = engine(sc)  # h: A (1), x: B (2), y: C (2, I void without a pass)
    adm, off = move(sc, adm, off, "x", "B", 1, 1)
    assert found(sc, adm, off) == {("R3", "x", "B", 1, "")}
    assert found(sc, adm) == {("R3", "x", "B", 1, "")}


def test_r3_a_school_the_student_did_not_list(three_schools):
    sc = three_schools
    adm, off = engine(sc)
    adm, off = move(sc, adm, off, "x", "C", 1, 1)
    assert ("R3", "x", "C", 1, "") in found(sc, adm, off)


def test_r3_an_interview_school_without_a_pass(three_schools):
    sc = three_schools
    adm, off = engine(sc)
    adm, off = move(sc, adm, off, "y", "I", 1, 1)
    assert ("R3", "y", "I", 1, "") in found(sc, adm, off)


def test_r3_two_offers_in_one_batch(three_schools):
    sc = three_schools
    adm, off = engine(sc)
    off = add_offer(sc, off, "x", "A", 1, 1, confirmed=False)
    assert ("R3", "x", "B", 1, "") in found(sc, adm, off)  # the offer beyond his best one
