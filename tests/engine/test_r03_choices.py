"""R3 Choices (HY §八.三, §九.3): at most max_choices schools in order; a later choice is considered only
if the student was not admitted at an earlier one; a school requiring an interview is void without a pass."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, school, student


def test_a_later_choice_only_if_not_admitted_at_an_earlier_one():
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("x", 90, ["A", "B"]), student("w", 40, ["A", "B"])])
    result = run_sequential(sc)
    assert placements(result) == {"x": ("vocational", "A", 1, 1), "w": ("vocational", "B", 1, 2)}
    assert offer_rows(result) == [("w", "B", 1, 2, True), ("x", "A", 1, 1, True)]  # one offer each


def test_all_max_choices_rounds_are_read():
    sc = make_scenario(schools=[school("A", 0), school("B", 0), school("C", 1)],
                       students=[student("x", 90, ["A", "B", "C"])], max_choices=3)
    assert placements(run_sequential(sc))["x"] == ("vocational", "C", 1, 3)


def test_interview_school_is_void_without_a_pass():
    sc = make_scenario(
        schools=[school("I", 2, requires_interview=True), school("J", 2, requires_interview=True), school("B", 2)],
        students=[student("x", 95, ["I", "B"]),  # no pass: I is void, B at rank 2
                  student("y", 60, ["I"]),  # passed I
                  student("z", 99, ["I", "B"])],  # passed J only, which does not open I
        interviews=[("y", "I"), ("z", "J")],
    )
    assert placements(run_sequential(sc)) == {"x": ("vocational", "B", 1, 2), "y": ("vocational", "I", 1, 1),
                                              "z": ("vocational", "B", 1, 2)}


def test_interview_without_pass_is_a_warning():
    sc = make_scenario(schools=[school("I", 2, requires_interview=True)],
                       students=[student("y", 60, ["I"]), student("x", 95, ["I"])], interviews=[("y", "I")])
    [w] = sc.warnings
    assert (w.severity, w.file, w.row, w.column, w.value, w.clause) == \
        ("warning", "scenario.json:students", 2, "choice_1", "I", "R3")
