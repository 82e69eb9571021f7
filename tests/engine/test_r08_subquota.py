"""R8 Regional sub-quota (HY §五): where a school has a sub-quota for a region, confirmed admissions of
that region's students never exceed it; a student skipped for a full region does not stop the school
from admitting students of other regions after him."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, placements, school, student

UNPLACED = ("unplaced", None, None, None)


def test_full_region_is_skipped_and_a_later_student_of_another_region_admitted():
    sc = make_scenario(schools=[school("A", 3)], subquotas=[("A", "R1", 1)],
                       students=[student("p", 90, ["A"], region="R1"), student("q", 85, ["A"], region="R1"),
                                 student("s", 80, ["A"], region="R2"), student("t", 70, ["A"], region="R2")])
    # R2 has no sub-quota row: bounded only by the quota (3), so both s and t come in.
    assert placements(run_sequential(sc)) == {"p": ("vocational", "A", 1, 1), "q": UNPLACED,
                                              "s": ("vocational", "A", 1, 1), "t": ("vocational", "A", 1, 1)}


def test_skipped_student_goes_on_to_his_next_choice():
    sc = make_scenario(schools=[school("A", 3), school("B", 1)], subquotas=[("A", "R1", 1), ("A", "R2", 2)],
                       students=[student("p", 90, ["A"], region="R1"), student("q", 85, ["A", "B"], region="R1"),
                                 student("s", 80, ["A"], region="R2")])
    assert placements(run_sequential(sc)) == {"p": ("vocational", "A", 1, 1), "q": ("vocational", "B", 1, 2),
                                              "s": ("vocational", "A", 1, 1)}


def test_zero_sub_quota_keeps_a_region_out():
    sc = make_scenario(schools=[school("A", 5)], subquotas=[("A", "R2", 0)],
                       students=[student("s", 99, ["A"], region="R2"), student("p", 10, ["A"], region="R1")])
    assert placements(run_sequential(sc)) == {"s": UNPLACED, "p": ("vocational", "A", 1, 1)}


def test_sub_quota_counts_confirmations_of_earlier_batches():
    sc = make_scenario(schools=[school("A", 5), school("B", 0)], subquotas=[("A", "R1", 1)],
                       students=[student("p", 90, ["A"], region="R1"),
                                 student("q", 80, ["B"], region="R1", batch2=["A"]),
                                 student("s", 50, ["B"], region="R2", batch2=["A"])],
                       batches=2)
    assert placements(run_sequential(sc)) == {"p": ("vocational", "A", 1, 1), "q": UNPLACED,
                                              "s": ("vocational", "A", 2, 1)}


def test_declined_offer_returns_the_region_share_for_the_next_batch():
    sc = make_scenario(schools=[school("A", 5)], subquotas=[("A", "R1", 1)],
                       students=[student("p", 90, ["A"], region="R1"), student("q", 80, ["A"], region="R1")],
                       declines=[("p", 1)], batches=2)
    # batch 1: p holds R1's share, q is skipped; batch 2 (fallback): the share is free again for q.
    assert placements(run_sequential(sc)) == {"p": UNPLACED, "q": ("vocational", "A", 2, 1)}
