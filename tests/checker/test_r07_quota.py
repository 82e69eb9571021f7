"""The checker on R7 quota cap (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R7, naming the right pair of students."""

from __future__ import annotations

from builders import add_offer, drop_offer, make_scenario, school, set_outcome, student
from checker_helpers import engine, found, move


def test_r7_an_extra_student_over_the_quota():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])])
    adm, off = engine(sc)
    adm, off = set_outcome(sc, adm, "y", "vocational", "A", 1, 1), add_offer(sc, off, "y", "A", 1, 1)
    assert found(sc, adm, off) == {("R7", "y", "A", 1, "x")}
    assert found(sc, adm) == {("R7", "y", "A", 1, "x")}


def test_r7_offers_of_a_batch_beyond_the_free_seats():
    """A declined offer holds its seat in its batch: two offers at a one-seat school break R7 though
    only one is confirmed."""
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 1)], batches=2)
    adm, off = engine(sc)  # x declines A in batch 1; y takes it in batch 2
    adm, off = move(sc, adm, off, "y", "A", 2, 1)
    off = add_offer(sc, drop_offer(off, "y"), "y", "A", 1, 1)
    adm = set_outcome(sc, adm, "y", "vocational", "A", 1, 1)
    assert found(sc, adm, off) == {("R7", "y", "A", 1, "x")}


def test_r7_across_batches():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       batches=2)
    adm, off = engine(sc)
    adm, off = set_outcome(sc, adm, "y", "vocational", "A", 2, 1), add_offer(sc, off, "y", "A", 2, 1)
    assert found(sc, adm, off) == {("R7", "y", "A", 2, "x")}
