"""R1 Eligibility (HY §四): a fresh student without a graduation certificate is never admitted to a
vocational school; his outcome is `ineligible` unless the general stage (R4) admits him (assumption)."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, region, school, student


def test_fresh_student_without_certificate_never_gets_a_vocational_seat():
    sc = make_scenario(
        schools=[school("A", 2)],
        students=[student("f", 99, ["A"], cohort="fresh", certificate=False),
                  student("g", 50, ["A"], cohort="former", certificate=False),  # R1 speaks of fresh students only
                  student("h", 40, ["A"], cohort="fresh", certificate=True)],
        batches=2,
    )
    result = run_sequential(sc)
    assert placements(result) == {
        "f": ("ineligible", None, None, None),
        "g": ("vocational", "A", 1, 1),
        "h": ("vocational", "A", 1, 1),  # f's score does not take the seat from h
    }
    assert all(o[0] != "f" for o in offer_rows(result))  # no offer in any batch


def test_other_cohort_without_certificate_is_eligible():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("o", 60, ["A"], cohort="other", certificate=False)])
    assert placements(run_sequential(sc))["o"] == ("vocational", "A", 1, 1)


def test_ineligible_even_when_filing_no_choice():
    """R12 lists `ineligible` for R1: it wins over `none` for a student who filed nothing."""
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("f", 70, [], certificate=False), student("n", 60, [])])
    assert placements(run_sequential(sc)) == {"f": ("ineligible", None, None, None), "n": ("none", None, None, None)}


def test_general_stage_may_admit_a_student_without_certificate():
    """R1 (assumption): R1 speaks of vocational schools only, so R4 still admits such a student."""
    sc = make_scenario(
        regions=[region("R1", seats=1)],
        schools=[school("A", 5)],
        students=[student("f", 99, ["A"], certificate=False, applies_general=True),
                  student("g", 90, ["A"], certificate=False, applies_general=True),
                  student("h", 80, ["A"], applies_general=True)],
        general_stage="seats",
    )
    assert placements(run_sequential(sc)) == {
        "f": ("general", None, None, None),
        "g": ("ineligible", None, None, None),  # no general seat left and barred from vocational schools
        "h": ("vocational", "A", 1, 1),
    }
