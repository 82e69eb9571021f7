"""R7 Quota cap in the CP-SAT model (`solver.cpsat.r07_quota`): a prefix count of held seats along each
school's priority list, starting at the seats confirmed in earlier batches, never past the quota."""

from __future__ import annotations

from solver.cpsat.r07_quota import R07Quota

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, drop_offer, holds, model_without


def test_no_offer_beyond_the_quota():
    sc = make_scenario(schools=[school("A", 2)],
                       students=[student("p", 90, ["A"]), student("q", 80, ["A"]), student("r", 70, ["A"])])
    model, seq = decided(sc, {"p": ("vocational", "A", 1, 1), "q": ("vocational", "A", 1, 1), "r": UNPLACED})
    broken = add_offer(sc, seq, "r", "A", 1, 1)  # one more offer at a full school
    breaks(model, broken)
    holds(model_without(sc, R07Quota), broken)


def test_seats_confirmed_in_an_earlier_batch_count():
    # x confirms A's only seat in batch 1; y (B has no seat) reads [A] in batch 2: A is full.
    sc = make_scenario(schools=[school("A", 1), school("B", 0)],
                       students=[student("x", 90, ["A"]), student("y", 80, ["B"], batch2=["A"])], batches=2)
    model, seq = decided(sc, {"x": ("vocational", "A", 1, 1), "y": UNPLACED})
    broken = add_offer(sc, seq, "y", "A", 2, 1)
    breaks(model, broken)
    holds(model_without(sc, R07Quota), broken)


def test_zero_quota_admits_nobody():
    sc = make_scenario(schools=[school("A", 0), school("B", 1)], students=[student("x", 90, ["A", "B"])])
    model, seq = decided(sc, {"x": ("vocational", "B", 1, 2)})
    broken = add_offer(sc, drop_offer(seq, "x", 1), "x", "A", 1, 1)  # x at his first choice, A (quota 0)
    breaks(model, broken)
    holds(model_without(sc, R07Quota), broken)
