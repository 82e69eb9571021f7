"""R2 Catalogue in the CP-SAT model (via `solver.cpsat.instance`): a choice naming an unregistered school
is void and gets no variable, and the ranks of the student's other choices do not move."""

from __future__ import annotations

from builders import make_scenario, school, student
from cpsat_helpers import add_offer, breaks, change_offer, decided, drop_offer


def _scenario():
    # Registered, U would be s's first choice (U has room): R2 alone sends him to A, at rank 2.
    return make_scenario(schools=[school("U", 5, registered=False), school("A", 2)],
                         students=[student("s", 90, ["U", "A"]), student("t", 80, ["A"])])


EXPECTED = {"s": ("vocational", "A", 1, 2), "t": ("vocational", "A", 1, 1)}


def test_void_choice_is_skipped_and_keeps_its_rank():
    decided(_scenario(), EXPECTED)


def test_an_offer_at_the_unregistered_school_is_rejected():
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    stats = breaks(model, add_offer(sc, drop_offer(seq, "s", 1), "s", "U", 1, 1))
    assert stats["unmatched_offers"] == [("s", "U", 1, 1)]


def test_an_offer_whose_rank_moved_up_is_rejected():
    """The offer at A is s's *second* choice: reporting it as rank 1 is not an application of the rules."""
    sc = _scenario()
    model, seq = decided(sc, EXPECTED)
    stats = breaks(model, change_offer(seq, "s", 1, choice_rank=1))
    assert stats["unmatched_offers"] == [("s", "A", 1, 1)]
