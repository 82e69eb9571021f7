"""R1 Eligibility in the CP-SAT model (via `solver.cpsat.instance`): a fresh student without a graduation
certificate has no potential application at all, so no assignment of the model can admit him."""

from __future__ import annotations

from solver.cpsat import build_instance

from builders import make_scenario, school, student
from cpsat_helpers import add_offer, breaks, decided, drop_offer


def _scenario():
    # f has the best score; without R1 he would take A's only seat from e.
    return make_scenario(schools=[school("A", 1)],
                         students=[student("f", 99, ["A"], cohort="fresh", certificate=False),
                                   student("e", 80, ["A"], cohort="fresh", certificate=True)],
                         batches=2)


def test_ineligible_student_gets_no_application_and_the_seat_goes_to_the_next():
    sc = _scenario()
    model, seq = decided(sc, {"f": ("ineligible", None, None, None), "e": ("vocational", "A", 1, 1)})
    inst = build_instance(sc)
    applicants = {str(inst.arr.student_ids[i]) for i in inst.student}
    assert applicants == {"e"}  # e in batch 1 and (fallback) batch 2; f in none


def test_an_offer_to_the_ineligible_student_is_rejected():
    sc = _scenario()
    model, seq = decided(sc, {"f": ("ineligible", None, None, None), "e": ("vocational", "A", 1, 1)})
    broken = add_offer(sc, drop_offer(seq, "e", 1), "f", "A", 1, 1)  # f takes e's seat
    stats = breaks(model, broken)
    assert stats["unmatched_offers"] == [("f", "A", 1, 1)]  # the rules give that offer no variable (R1)
