"""R6 Order within a batch in the CP-SAT model (`solver.cpsat.r06_order`): a school's priority is
(choice rank, then the tie-break chain); an applicant in the pool without an offer at this or an earlier
choice was rejected only because the school (or his region's share) was full at his turn."""

from __future__ import annotations

from solver.cpsat.r06_order import R06Order

from builders import make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, drop_offer, holds, model_without


def _chain():
    # equal scores: evaluation A before B, then student_id ascending: a, b in; c out.
    return make_scenario(schools=[school("A", 2)],
                         students=[student("c", 80, ["A"], evaluation="A"), student("b", 80, ["A"], evaluation="A"),
                                   student("a", 80, ["A"], evaluation="A"), student("d", 80, ["A"], evaluation="B")])


def test_tie_break_chain_decides_who_gets_the_seats():
    sc = _chain()
    model, seq = decided(sc, {"a": ("vocational", "A", 1, 1), "b": ("vocational", "A", 1, 1),
                              "c": UNPLACED, "d": UNPLACED})
    broken = add_offer(sc, drop_offer(seq, "b", 1), "c", "A", 1, 1)  # c takes b's seat
    breaks(model, broken)
    holds(model_without(sc, R06Order), broken)


def test_lottery_chain_named_by_the_scenario():
    sc = make_scenario(schools=[school("A", 1)], tie_break=["score", "lottery"],
                       students=[student("a", 80, ["A"], lottery=7), student("b", 80, ["A"], lottery=3)])
    model, seq = decided(sc, {"a": UNPLACED, "b": ("vocational", "A", 1, 1)})  # lower lottery number first
    broken = add_offer(sc, drop_offer(seq, "b", 1), "a", "A", 1, 1)
    breaks(model, broken)
    holds(model_without(sc, R06Order), broken)


def _boston():
    # Immediate acceptance: t put A first and is taken in round 1; s (better score, A second) comes too late.
    return make_scenario(schools=[school("A", 1), school("B", 0)],
                         students=[student("s", 90, ["B", "A"]), student("t", 70, ["A"])])


def test_choice_rank_comes_before_score():
    sc = _boston()
    model, seq = decided(sc, {"s": UNPLACED, "t": ("vocational", "A", 1, 1)})
    broken = add_offer(sc, drop_offer(seq, "t", 1), "s", "A", 1, 2)
    breaks(model, broken)
    holds(model_without(sc, R06Order), broken)


def test_a_free_seat_is_not_left_empty():
    sc = _boston()
    model, seq = decided(sc, {"s": UNPLACED, "t": ("vocational", "A", 1, 1)})
    broken = drop_offer(seq, "t", 1)  # nobody admitted although t applied and A had room
    breaks(model, broken)
    holds(model_without(sc, R06Order), broken)
