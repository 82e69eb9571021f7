"""R3 Choices in the CP-SAT model (`solver.cpsat.r03_choices`, with R6's rejection rows): at most one
offer per student and batch, a later choice only if not admitted at an earlier one, and a choice of an
interview school is void without a pass (no variable)."""

from __future__ import annotations

from solver.cpsat.r03_choices import R03Choices
from solver.cpsat.r05_batches import R05Batches
from solver.cpsat.r06_order import R06Order

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, drop_offer, holds, model_without


def _two_choices():
    return make_scenario(schools=[school("A", 1), school("B", 1)],
                         students=[student("s", 90, ["A", "B"]), student("t", 80, ["B"])])


def test_first_choice_with_room_is_taken_and_the_second_not_considered():
    sc = _two_choices()
    model, seq = decided(sc, {"s": ("vocational", "A", 1, 1), "t": ("vocational", "B", 1, 1)})
    # s at his 2nd choice although his 1st had room (t then loses B): rejected, by R6's rejection row
    broken = add_offer(sc, drop_offer(drop_offer(seq, "s", 1), "t", 1), "s", "B", 1, 2)
    breaks(model, broken)
    holds(model_without(sc, R06Order), broken)


def _declining_student():
    # s declines in batch 1: his offer is not confirmed, so R10 does not count it, only R3 does.
    return make_scenario(schools=[school("A", 1), school("B", 1)], students=[student("s", 90, ["A", "B"])],
                         declines=[("s", 1)])


def test_one_offer_per_batch_even_when_it_is_declined():
    sc = _declining_student()
    model, seq = decided(sc, {"s": UNPLACED})
    broken = add_offer(sc, seq, "s", "B", 1, 2)  # a second offer in the same batch
    breaks(model, broken)
    # R3's at-most-one excludes it; R5's "an offer needs the pool" row (sum of a batch's offers <= p <= 1)
    # says the same, so each alone suffices and only without both does the broken result hold.
    breaks(model_without(sc, R03Choices), broken)
    breaks(model_without(sc, R05Batches), broken)
    holds(model_without(sc, R03Choices, R05Batches), broken)


def _interview():
    # I requires an interview: s (90) has no pass, so t (80) takes I's only seat; s goes to A at rank 2.
    return make_scenario(schools=[school("I", 1, requires_interview=True), school("A", 2)],
                         students=[student("s", 90, ["I", "A"]), student("t", 80, ["I"]),
                                   student("u", 70, ["A"])],
                         interviews=[("t", "I")])


EXPECTED_INTERVIEW = {"s": ("vocational", "A", 1, 2), "t": ("vocational", "I", 1, 1),
                      "u": ("vocational", "A", 1, 1)}


def test_interview_gate_voids_the_choice_without_a_pass():
    decided(_interview(), EXPECTED_INTERVIEW)


def test_an_offer_at_an_interview_school_without_a_pass_is_rejected():
    sc = _interview()
    model, seq = decided(sc, EXPECTED_INTERVIEW)
    broken = add_offer(sc, drop_offer(drop_offer(seq, "s", 1), "t", 1), "s", "I", 1, 1)
    stats = breaks(model, broken)
    assert stats["unmatched_offers"] == [("s", "I", 1, 1)]
