"""R9 Confirmation in the CP-SAT model (`solver.cpsat.r09_confirmation`: declines are data read by R5,
R7, R8 and R10): an offer is confirmed unless a decline names the student and batch; a declined offer
holds its seat until the batch ends, then returns it; the decliner goes on to the next batch."""

from __future__ import annotations

import pytest

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, change_offer, decided, drop_offer, offered


def _scenario():
    # batch 1: x takes A and declines; y is rejected at A (x's seat is held during the batch) and at B
    # (w's first choice).  batch 2 (fallback): A's seat is back and goes to y; A is void for x.
    return make_scenario(schools=[school("A", 1), school("B", 1)],
                         students=[student("x", 90, ["A"]), student("y", 80, ["A", "B"]), student("w", 40, ["B"])],
                         declines=[("x", 1)], batches=2)


EXPECTED = {"x": UNPLACED, "y": ("vocational", "A", 2, 1), "w": ("vocational", "B", 1, 1)}


def test_declined_seat_returns_after_the_batch():
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    assert offered(seq) == [("w", "B", 1, 1, True), ("x", "A", 1, 1, False), ("y", "A", 2, 1, True)]


def test_a_declined_offer_treated_as_confirmed_is_rejected():
    """Treated as confirmed, x's offer keeps A's seat and y gets nothing in batch 2: A had room for y."""
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    broken = change_offer(drop_offer(seq, "y", 2), "x", 1, confirmed=True, confirm_date="2021-07-22")
    breaks(model, broken)


def test_a_declined_seat_is_not_passed_on_within_the_batch():
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    broken = add_offer(sc, drop_offer(seq, "y", 2), "y", "A", 1, 1)  # y gets x's seat at once
    breaks(model, broken)


def test_a_decline_names_one_batch_only():
    """x declines batch 2 only: his batch-1 offer is confirmed and A's seat does not come back for y."""
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 2)], batches=2)
    model, seq = decided(sc, {"x": ("vocational", "A", 1, 1), "y": UNPLACED})
    broken = add_offer(sc, change_offer(seq, "x", 1, confirmed=False, confirm_date=""), "y", "A", 2, 1)
    breaks(model, broken)


@pytest.mark.parametrize("student_id, batch, confirmed", [("x", 1, True), ("w", 1, False)])
def test_a_wrong_confirmation_flag_alone_is_rejected(student_id, batch, confirmed):
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    broken = change_offer(seq, student_id, batch, confirmed=confirmed)
    breaks(model, broken)
