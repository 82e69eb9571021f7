"""R11 Batch windows in the CP-SAT model (`solver.cpsat.r11_dates`): every offer of a result carries its
batch's admit_by / confirm_by; `feasible_with` rejects a result with an offer dated outside its batch's
window (open <= admit_date <= admit_by, admit_date <= confirm_date <= confirm_by), or before batch 1
opens (不得私自提前录取)."""

from __future__ import annotations

import pytest

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, breaks, change_offer, decided, holds


def _scenario():
    # x declines A in batch 1; z takes it in batch 2 (fallback); y declines B and takes C in batch 3.
    return make_scenario(schools=[school("A", 1), school("B", 1), school("C", 1)],
                         students=[student("x", 90, ["A"]), student("y", 80, ["B"], batch3=["C"]),
                                   student("z", 70, ["A"]), student("n", 60, [])],
                         declines=[("x", 1), ("y", 1)], batches=3)


EXPECTED = {"x": UNPLACED, "y": ("vocational", "C", 3, 1), "z": ("vocational", "A", 2, 1),
            "n": ("none", None, None, None)}


def test_offers_carry_the_calendar_of_their_batch():
    model, seq = decided(_scenario(), EXPECTED)  # (a) compares every column, the dates included
    dates = sorted((r.student_id, r.batch, r.admit_date, r.confirm_date) for r in seq.offers.itertuples())
    assert dates == [("x", 1, "2021-07-20", ""), ("y", 1, "2021-07-20", ""), ("y", 3, "2021-08-10", "2021-08-15"),
                     ("z", 2, "2021-07-24", "2021-07-26")]


# (student, batch, changed columns) of an offer dated outside its window
OUTSIDE = {
    "admitted after admit_by": ("z", 2, {"admit_date": "2021-07-25"}),
    "admitted before its batch opens": ("z", 2, {"admit_date": "2021-07-21"}),  # batch 2 opens 07-22
    "admitted before batch 1 opens": ("x", 1, {"admit_date": "2021-07-09"}),
    "confirmed after confirm_by": ("y", 3, {"confirm_date": "2021-08-16"}),
    "confirmed before admitted": ("y", 3, {"admit_date": "2021-08-10", "confirm_date": "2021-08-09"}),
    "dated in the next batch's window": ("z", 2, {"admit_date": "2021-08-10", "confirm_date": "2021-08-15"}),
}


@pytest.mark.parametrize("case", list(OUTSIDE))
def test_an_offer_dated_outside_its_window_is_rejected(case):
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    student_id, batch, values = OUTSIDE[case]
    breaks(model, change_offer(seq, student_id, batch, **values))


def test_any_date_inside_the_window_holds():
    """R11 asks for a date within the window, not the last day: an earlier admission date is fine."""
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    holds(model, change_offer(seq, "z", 2, admit_date="2021-07-22", confirm_date="2021-07-23"))
    holds(model, change_offer(seq, "x", 1, admit_date="2021-07-10"))


@pytest.mark.parametrize("values", [{"admit_date": "", "confirm_date": ""}, {"confirm_date": ""}],
                         ids=["undated offer", "confirmed without a confirm date"])
def test_an_undated_offer_is_rejected(values):
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    breaks(model, change_offer(seq, "z", 2, **values))
