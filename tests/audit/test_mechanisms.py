"""`audit` of a published result under the mechanism its batches declare (docs/rules.md "R6 variants"):
the engine's result audits clean under its own mechanism; the boston result published for a parallel batch
is a violation of R6, explained by a core of published facts in the parallel priority."""

from __future__ import annotations

from solver.audit import audit
from solver.engine.sequential import run_sequential

from builders import envy_case, three_choices


def test_the_rules_own_result_audits_clean_under_each_mechanism():
    for sc in (envy_case("parallel"), envy_case("chen-kesten", 2), three_choices(2), three_choices(1)):
        rule = run_sequential(sc)
        report = audit(sc, rule.admissions, rule.offers, explain=True)
        assert report.clean, report.violations.to_dict("records")


def test_a_boston_result_published_for_a_parallel_batch_is_explained():
    sc = envy_case("parallel")
    published = run_sequential(envy_case("boston"))
    report = audit(sc, published.admissions, published.offers, explain=True)
    assert set(report.violations["rule"]) == {"R6"}
    assert report.explanations is not None
    row = report.explanations.frame.iloc[0]
    # under parallel p (90) comes first at A whatever his choice rank, so two facts prove it: nobody was
    # ahead of him to take A's one seat
    assert (row["student_id"], row["other_student_id"], row["facts"], bool(row["minimal"])) == ("p", "q", 2, True)
    assert row["core"] == "p not offered a seat; p free at his turn"
    assert row["explanation"] == ("student p (score 90, 2nd choice A) was rejected at A though not admitted at an "
                                  "earlier choice while its quota (1) had a free seat, batch 1 (R6)")
    boston = audit(envy_case("boston"), published.admissions, published.offers)
    assert boston.clean  # the same file is right for the batch it was made for
