"""R10 No double admission (HY §十.一, §十一.六): a student holds at most one admission over the whole
process: general high school, or one confirmed vocational offer, never two."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, region, school, student


def test_general_student_gets_no_vocational_offer():
    sc = make_scenario(regions=[region("R1", seats=1)], schools=[school("A", 5)],
                       students=[student("g", 99, ["A"], batch2=["A"], batch3=["A"])], general_stage="seats", batches=3)
    result = run_sequential(sc)
    assert placements(result) == {"g": ("general", None, None, None)}
    assert offer_rows(result) == []


def test_confirmed_student_gets_no_offer_in_later_batches():
    sc = make_scenario(schools=[school("A", 5), school("B", 5)],
                       students=[student("x", 90, ["A"], batch2=["B"], batch3=["B"])], batches=3)
    result = run_sequential(sc)
    assert offer_rows(result) == [("x", "A", 1, 1, True)]
    assert placements(result)["x"] == ("vocational", "A", 1, 1)


def test_one_confirmed_offer_and_one_admissions_row_per_student():
    sc = make_scenario(schools=[school("A", 2), school("B", 2)],
                       students=[student(f"s{i}", 60 + i, ["A", "B"], batch2=["B", "A"]) for i in range(6)],
                       declines=[("s5", 1), ("s4", 2)], batches=3)
    result = run_sequential(sc)
    confirmed = [o[0] for o in offer_rows(result) if o[4]]
    assert len(confirmed) == len(set(confirmed)) == 4
    assert sorted(result.admissions["student_id"]) == [f"s{i}" for i in range(6)]
    assert (result.admissions["outcome"] == "vocational").sum() == 4
