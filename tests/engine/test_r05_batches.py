"""R5 Batches (HY §九.2): batches in order; batch b > 1 takes every eligible student without a confirmed
admission; each batch reads its own list, optionally falling back to the original list for students who
filed none of it; a school the student declined earlier is void for him in all later batches."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import CALENDAR, make_scenario, offer_rows, placements, school, student

UNPLACED = ("unplaced", None, None, None)


def test_declined_seat_is_filled_in_batch_2_and_not_by_the_decliner():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 1)], batches=2)
    result = run_sequential(sc)
    assert placements(result) == {"x": UNPLACED, "y": ("vocational", "A", 2, 1)}
    assert offer_rows(result) == [("x", "A", 1, 1, False), ("y", "A", 2, 1, True)]


def test_decliner_is_not_readmitted_to_the_school_he_declined():
    sc = make_scenario(schools=[school("A", 5), school("B", 5)],
                       students=[student("x", 90, ["A"], batch2=["A", "B"], batch3=["A"])],
                       declines=[("x", 1)], batches=3)
    result = run_sequential(sc)
    assert placements(result)["x"] == ("vocational", "B", 2, 2)  # A still has 5 free seats
    assert offer_rows(result) == [("x", "A", 1, 1, False), ("x", "B", 2, 2, True)]


def test_declined_school_stays_void_two_batches_later():
    sc = make_scenario(schools=[school("A", 5), school("B", 0)],
                       students=[student("x", 90, ["A"], batch2=["B"], batch3=["A", "B"])],
                       declines=[("x", 1)], batches=3)
    assert placements(run_sequential(sc))["x"] == UNPLACED


def test_fallback_uses_the_original_list_only_for_students_who_filed_none():
    """Batch 2 (fallback: true): p filed no batch2 list and reads his original one; q filed a batch2
    list and reads only that, although A (his original first choice) has a seat again."""
    sc = make_scenario(schools=[school("A", 1), school("C", 0)],
                       students=[student("t", 99, ["A"]), student("q", 90, ["A"], batch2=["C"]),
                                 student("p", 80, ["A"])],
                       declines=[("t", 1)], batches=2)
    assert placements(run_sequential(sc)) == {"t": UNPLACED, "q": UNPLACED, "p": ("vocational", "A", 2, 1)}


def test_a_batch_without_fallback_reads_only_its_own_list():
    batches = [CALENDAR[0], {**CALENDAR[1], "fallback": False}]
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("t", 99, ["A"]), student("p", 80, ["A"]),
                                 student("r", 70, ["A"], batch2=["B"])],
                       declines=[("t", 1)], batches=batches)
    assert placements(run_sequential(sc)) == {"t": UNPLACED, "p": UNPLACED, "r": ("vocational", "B", 2, 1)}


def test_batch_3_reads_its_own_list_and_does_not_fall_back():
    """FORMATS calendar: batch 3 (调剂补录) has no fallback."""
    sc = make_scenario(schools=[school("A", 1), school("B", 1), school("C", 1)],
                       students=[student("t", 99, ["A"]), student("p", 80, ["A"], batch2=["B"]),
                                 student("u", 70, ["B"], batch2=["B"], batch3=["A", "C"])],
                       declines=[("t", 1)], batches=3)
    # batch 1: t takes A and declines, u takes B.  batch 2: p's list is B, which u holds.  batch 3: A is
    # free and is p's original first choice, but p filed no batch3 list and batch 3 has no fallback.
    result = run_sequential(sc)
    assert placements(result) == {"t": UNPLACED, "p": UNPLACED, "u": ("vocational", "B", 1, 1)}
    sc = make_scenario(schools=[school("A", 1), school("B", 1), school("C", 1)],
                       students=[student("t", 99, ["A"]), student("p", 80, ["B"], batch3=["C"])],
                       declines=[("t", 1), ("p", 1)], batches=3)
    # batch 2 falls back: p's B is void (declined), t's A is void; batch 3: p reads C.
    assert placements(run_sequential(sc)) == {"t": UNPLACED, "p": ("vocational", "C", 3, 1)}


def test_later_batches_take_only_students_without_a_confirmed_admission():
    sc = make_scenario(schools=[school("A", 1), school("B", 5)],
                       students=[student("x", 90, ["B"], batch2=["A"]), student("y", 50, ["A"], batch2=["A"])],
                       declines=[("y", 1)], batches=2)
    result = run_sequential(sc)
    assert placements(result) == {"x": ("vocational", "B", 1, 1), "y": UNPLACED}
    assert [o for o in offer_rows(result) if o[2] == 2] == []  # x is not offered A in batch 2
