"""R9 Confirmation (HY §九.1, §九.2): every offer is confirmed unless a decline names that student and
batch; a declined offer returns its seat after the batch; the student stays unplaced and goes on."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, school, student

UNPLACED = ("unplaced", None, None, None)


def test_offers_are_confirmed_unless_declined():
    sc = make_scenario(schools=[school("A", 2)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("y", 1)])
    result = run_sequential(sc)
    assert offer_rows(result) == [("x", "A", 1, 1, True), ("y", "A", 1, 1, False)]
    assert placements(result) == {"x": ("vocational", "A", 1, 1), "y": UNPLACED}
    offers = result.offers.set_index("student_id")
    assert offers.loc["x", "confirm_date"] == "2021-07-22"
    assert offers.loc["y", "confirm_date"] in ("", None)  # no confirmation date for a declined offer


def test_a_declined_seat_is_held_until_the_batch_ends():
    """x declines, but within batch 1 his seat is not passed to y; y takes it in batch 2."""
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("x", 90, ["A"]), student("y", 80, ["A", "B"]), student("w", 40, ["B"])],
                       declines=[("x", 1)], batches=2)
    result = run_sequential(sc)
    assert offer_rows(result) == [("w", "B", 1, 1, True), ("x", "A", 1, 1, False), ("y", "A", 2, 1, True)]


def test_a_decline_names_one_batch_only():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"])],
                       declines=[("x", 2)], batches=2)
    assert placements(run_sequential(sc))["x"] == ("vocational", "A", 1, 1)


def test_a_decliner_goes_to_the_next_batch():
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("x", 90, ["A", "B"]), student("y", 95, ["B"])],
                       declines=[("x", 1), ("y", 2)], batches=2)
    # batch 1: x takes A and declines, y takes B.  batch 2: x falls back to [A, B]: A void, B full.
    assert placements(run_sequential(sc)) == {"x": UNPLACED, "y": ("vocational", "B", 1, 1)}
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("x", 90, ["A", "B"]), student("y", 95, ["B"])],
                       declines=[("x", 1), ("y", 1)], batches=2)
    # both decline in batch 1; in batch 2 x is offered B (y's returned seat), y's B is void.
    assert placements(run_sequential(sc)) == {"x": ("vocational", "B", 2, 2), "y": UNPLACED}
