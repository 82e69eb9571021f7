"""R5 Batches in the CP-SAT model (`solver.cpsat.r05_batches`): pool variables per student and batch (a
student with a confirmed admission leaves the pool), each batch's own list with fallback (instance), and
a school declined in an earlier batch is void for that student later."""

from __future__ import annotations

from solver.cpsat.r05_batches import R05Batches

from builders import CALENDAR, make_scenario, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, drop_offer, holds, model_without


def _confirmed_in_batch_1():
    # x confirms A in batch 1, so he is not in batch 2's pool, although he filed a batch2 list; his
    # decline of batch 2 keeps R10 out of it (a declined offer is no admission).
    return make_scenario(schools=[school("A", 1), school("B", 2)],
                         students=[student("x", 90, ["A"], batch2=["B"]), student("y", 80, ["A"], batch2=["B"])],
                         declines=[("x", 2)], batches=2)


def test_a_student_with_a_confirmed_seat_leaves_the_pool():
    sc = _confirmed_in_batch_1()
    model, seq = decided(sc, {"x": ("vocational", "A", 1, 1), "y": ("vocational", "B", 2, 1)})
    broken = add_offer(sc, seq, "x", "B", 2, 1)  # x offered B in batch 2 (declined) although confirmed at A
    breaks(model, broken)
    holds(model_without(sc, R05Batches), broken)


def _declined_school():
    # x declines A in batch 1; batch 2 falls back to his original list [A]: A is void for him now,
    # although it has a free seat.
    return make_scenario(schools=[school("A", 2)], students=[student("x", 90, ["A"])],
                         declines=[("x", 1)], batches=2)


def test_a_school_declined_earlier_is_void_later():
    sc = _declined_school()
    model, seq = decided(sc, {"x": UNPLACED})
    broken = add_offer(sc, seq, "x", "A", 2, 1)
    breaks(model, broken)
    holds(model_without(sc, R05Batches), broken)


def test_a_school_declined_earlier_is_void_two_batches_later():
    sc = make_scenario(schools=[school("A", 5), school("B", 0)],
                       students=[student("x", 90, ["A"], batch2=["B"], batch3=["A", "B"])],
                       declines=[("x", 1)], batches=3)
    model, seq = decided(sc, {"x": UNPLACED})
    broken = add_offer(sc, seq, "x", "A", 3, 1)
    breaks(model, broken)
    holds(model_without(sc, R05Batches), broken)


def _own_list():
    # batch 2 (fallback): q filed a batch2 list [C] and reads only that; p filed none and reads [A].
    return make_scenario(schools=[school("A", 1), school("C", 0)],
                         students=[student("t", 99, ["A"]), student("q", 90, ["A"], batch2=["C"]),
                                   student("p", 80, ["A"])],
                         declines=[("t", 1)], batches=2)


def test_each_batch_reads_its_own_list():
    sc = _own_list()
    model, seq = decided(sc, {"t": UNPLACED, "q": UNPLACED, "p": ("vocational", "A", 2, 1)})
    # q takes the returned seat at his original first choice: not a choice of his batch-2 list
    stats = breaks(model, add_offer(sc, drop_offer(seq, "p", 2), "q", "A", 2, 1))
    assert stats["unmatched_offers"] == [("q", "A", 2, 1)]


def test_without_fallback_a_batch_reads_only_its_own_list():
    batches = [CALENDAR[0], {**CALENDAR[1], "fallback": False}]
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("t", 99, ["A"]), student("p", 80, ["A"]),
                                 student("r", 70, ["A"], batch2=["B"])],
                       declines=[("t", 1)], batches=batches)
    model, seq = decided(sc, {"t": UNPLACED, "p": UNPLACED, "r": ("vocational", "B", 2, 1)})
    stats = breaks(model, add_offer(sc, seq, "p", "A", 2, 1))
    assert stats["unmatched_offers"] == [("p", "A", 2, 1)]
