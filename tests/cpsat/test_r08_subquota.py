"""R8 Regional sub-quota in the CP-SAT model (`solver.cpsat.r08_subquota`): the same prefix count as R7
for each (school, region) share; a student skipped for a full share takes no seat, so later students
of other regions still get in."""

from __future__ import annotations

from solver.cpsat.r08_subquota import R08Subquota

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, holds, model_without


def _scenario():
    # A has 3 seats, R1's share is 1: q (R1) is skipped, s (R2, after him) still gets a seat.
    return make_scenario(schools=[school("A", 3)], subquotas=[("A", "R1", 1)],
                         students=[student("p", 90, ["A"], region="R1"), student("q", 85, ["A"], region="R1"),
                                   student("s", 80, ["A"], region="R2")])


def test_full_share_is_skipped_and_a_later_student_of_another_region_admitted():
    sc = _scenario()
    model, seq = decided(sc, {"p": ("vocational", "A", 1, 1), "q": UNPLACED, "s": ("vocational", "A", 1, 1)})
    broken = add_offer(sc, seq, "q", "A", 1, 1)  # one more from R1's full share; A's quota (3) still holds
    breaks(model, broken)
    holds(model_without(sc, R08Subquota), broken)


def test_share_counts_confirmations_of_earlier_batches():
    sc = make_scenario(schools=[school("A", 5), school("B", 0)], subquotas=[("A", "R1", 1)],
                       students=[student("p", 90, ["A"], region="R1"),
                                 student("q", 80, ["B"], region="R1", batch2=["A"]),
                                 student("s", 50, ["B"], region="R2", batch2=["A"])],
                       batches=2)
    model, seq = decided(sc, {"p": ("vocational", "A", 1, 1), "q": UNPLACED, "s": ("vocational", "A", 2, 1)})
    broken = add_offer(sc, seq, "q", "A", 2, 1)
    breaks(model, broken)
    holds(model_without(sc, R08Subquota), broken)


def test_zero_share_keeps_a_region_out():
    sc = make_scenario(schools=[school("A", 5)], subquotas=[("A", "R2", 0)],
                       students=[student("s", 99, ["A"], region="R2"), student("p", 10, ["A"], region="R1")])
    model, seq = decided(sc, {"s": UNPLACED, "p": ("vocational", "A", 1, 1)})
    broken = add_offer(sc, seq, "s", "A", 1, 1)
    breaks(model, broken)
    holds(model_without(sc, R08Subquota), broken)
