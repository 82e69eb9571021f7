"""R2 Catalogue (HY §七, §八.四.2, §十.三): only registered schools take part; a choice of an
unregistered school is void, reported as a warning, and the ranks of the other choices do not move."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, school, student


def test_unregistered_school_admits_nobody():
    sc = make_scenario(schools=[school("U", 5, registered=False), school("B", 5)],
                       students=[student("x", 90, ["U"]), student("y", 80, ["U", "B"])], batches=2)
    result = run_sequential(sc)
    assert placements(result) == {"x": ("none", None, None, None),  # filed no usable choice (R12)
                                  "y": ("vocational", "B", 1, 2)}
    assert all(o[1] != "U" for o in offer_rows(result))


def test_ranks_of_other_choices_do_not_move():
    """y's void first choice leaves B as his second choice: in round 1 B takes z, who put it first."""
    sc = make_scenario(schools=[school("U", 5, registered=False), school("B", 1)],
                       students=[student("y", 90, ["U", "B"]), student("z", 50, ["B"])])
    assert placements(run_sequential(sc)) == {"y": ("unplaced", None, None, None),
                                              "z": ("vocational", "B", 1, 1)}


def test_unregistered_choice_is_a_warning_naming_file_row_column():
    sc = make_scenario(schools=[school("U", 5, registered=False), school("B", 1)],
                       students=[student("z", 50, ["B"]), student("y", 90, ["B", "U"])])
    [w] = sc.warnings
    assert (w.severity, w.file, w.row, w.column, w.value, w.clause) == \
        ("warning", "scenario.json:students", 2, "choice_2", "U", "R2")


def test_unregistered_school_void_in_a_later_batch_list():
    sc = make_scenario(schools=[school("U", 5, registered=False), school("B", 5)],
                       students=[student("y", 90, ["U"], batch2=["U", "B"])], batches=2)
    assert placements(run_sequential(sc))["y"] == ("vocational", "B", 2, 2)
