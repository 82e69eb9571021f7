"""The checker on R6 order within a batch (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R6, naming the right pair of students."""

from __future__ import annotations

from solver.checker import check

from builders import add_offer, drop_offer, make_scenario, school, set_outcome, student
from checker_helpers import engine, found, move


def test_r6_swapped_schools_name_the_student_who_took_the_seat():
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("h", 90, ["A", "B"]), student("l", 60, ["B", "A"])])
    adm, off = engine(sc)  # h: A, l: B, both first choices
    adm, off = move(sc, adm, off, "h", "B", 1, 2)
    adm, off = move(sc, adm, off, "l", "A", 1, 2)
    expected = {("R6", "h", "A", 1, "l"), ("R6", "l", "B", 1, "h")}
    assert found(sc, adm, off) == expected
    assert found(sc, adm) == expected


def test_r6_a_higher_score_displaced_by_a_lower_one():
    sc = make_scenario(schools=[school("A", 2)],
                       students=[student("a", 90, ["A"]), student("b", 80, ["A"]), student("c", 70, ["A"])])
    adm, off = engine(sc)
    adm = set_outcome(sc, adm, "b", "unplaced")
    off = drop_offer(off, "b")
    adm, off = set_outcome(sc, adm, "c", "vocational", "A", 1, 1), add_offer(sc, off, "c", "A", 1, 1)
    assert found(sc, adm, off) == {("R6", "b", "A", 1, "c")}


def test_r6_the_tie_break_chain_decides():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("s1", 80, ["A"], evaluation="C"), student("s2", 80, ["A"], evaluation="A")])
    adm, off = engine(sc)
    adm = set_outcome(sc, adm, "s2", "unplaced")
    off = add_offer(sc, drop_offer(off, "s2"), "s1", "A", 1, 1)
    adm = set_outcome(sc, adm, "s1", "vocational", "A", 1, 1)
    assert found(sc, adm, off) == {("R6", "s2", "A", 1, "s1")}


def test_r6_within_a_full_region_only_a_student_of_that_region_is_named():
    """x's region R2 has one seat of A's sub-quota: the seat x could take is y's (R2), not z's (R1)."""
    sc = make_scenario(schools=[school("A", 2)], subquotas=[("A", "R2", 1)],
                       students=[student("x", 90, ["A"], region="R2"), student("y", 80, ["A"], region="R2"),
                                 student("z", 70, ["A"])])
    adm, off = engine(sc)  # x and z; y skipped for the full region
    adm = set_outcome(sc, adm, "x", "unplaced")
    adm, off = set_outcome(sc, adm, "y", "vocational", "A", 1, 1), add_offer(sc, drop_offer(off, "x"), "y", "A", 1, 1)
    assert found(sc, adm, off) == {("R6", "x", "A", 1, "y")}


def test_r6_a_student_of_another_region_is_named_when_the_share_is_free():
    sc = make_scenario(schools=[school("A", 2)], subquotas=[("A", "R2", 1)],
                       students=[student("x", 90, ["A"], region="R2"), student("z", 80, ["A"]),
                                 student("w", 70, ["A"])])
    adm, off = engine(sc)  # x and z
    adm = set_outcome(sc, adm, "x", "unplaced")
    adm, off = set_outcome(sc, adm, "w", "vocational", "A", 1, 1), add_offer(sc, drop_offer(off, "x"), "w", "A", 1, 1)
    assert found(sc, adm, off) == {("R6", "x", "A", 1, "w")}


def test_r6_a_wasted_seat():
    sc = make_scenario(schools=[school("A", 2), school("B", 2)],
                       students=[student("a", 90, ["A"]), student("b", 80, ["A", "B"])])
    adm, off = engine(sc)
    adm, off = move(sc, adm, off, "b", "B", 1, 2)
    rows = found(sc, adm, off)
    assert rows == {("R6", "b", "A", 1, "")}
    assert "free" in check(sc, adm, off)["detail"].iloc[0]
    # placed nowhere, b is wronged at both schools
    assert found(sc, set_outcome(sc, adm, "b", "unplaced"), drop_offer(off, "b")) == {("R6", "b", "A", 1, ""),
                                                                                      ("R6", "b", "B", 1, "")}


def test_r6_a_seat_of_a_full_region_is_not_wasted():
    sc = make_scenario(schools=[school("A", 3)], subquotas=[("A", "R2", 1)],
                       students=[student("x", 90, ["A"], region="R2"), student("y", 80, ["A"], region="R2")])
    adm, off = engine(sc)  # y skipped: his region's share is full, though A has seats
    assert set(adm["outcome"]) == {"vocational", "unplaced"}


def test_r6_a_second_choice_taken_before_a_first_choice():
    """Boston: round 1 before round 2.  l put A first; h put A second."""
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("t", 99, ["B"]), student("h", 95, ["B", "A"]), student("l", 60, ["A"])])
    adm, off = engine(sc)
    adm = set_outcome(sc, adm, "l", "unplaced")
    adm, off = set_outcome(sc, adm, "h", "vocational", "A", 1, 2), add_offer(sc, drop_offer(off, "l"), "h", "A", 1, 2)
    assert found(sc, adm, off) == {("R6", "l", "A", 1, "h")}


def test_r6_in_a_later_batch():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("x", 90, ["A"]), student("y", 80, ["A"]), student("z", 70, ["A"])],
                       declines=[("x", 1)], batches=2)
    adm, off = engine(sc)  # y takes x's returned seat in batch 2
    adm = set_outcome(sc, adm, "y", "unplaced")
    adm, off = set_outcome(sc, adm, "z", "vocational", "A", 2, 1), add_offer(sc, drop_offer(off, "y"), "z", "A", 2, 1)
    assert found(sc, adm, off) == {("R6", "y", "A", 2, "z")}
    assert found(sc, adm) == {("R6", "y", "A", 2, "z")}
