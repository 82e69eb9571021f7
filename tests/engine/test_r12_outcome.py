"""R12 Outcome (HY §十): each student ends with exactly one outcome: general, vocational (school, batch,
choice rank), unplaced (took part, no seat), ineligible (R1), or none (no usable choice, not general)."""

from __future__ import annotations

from models import OUTCOMES
from solver.engine.sequential import run_sequential

from builders import make_scenario, placements, region, school, student


def test_every_outcome_value():
    sc = make_scenario(
        regions=[region("R1", seats=1), region("R2", seats=0)],
        schools=[school("A", 1), school("B", 0), school("U", 9, registered=False)],
        students=[student("gen", 99, ["A"]),
                  student("voc", 80, ["U", "A"], applies_general=False, region="R2"),
                  student("unp", 70, ["B"], region="R2"),
                  student("inel", 95, ["A"], certificate=False, region="R2"),
                  student("none1", 60, [], region="R2"),
                  student("none2", 65, ["U"], region="R2")],  # only a void choice: none, not unplaced
        general_stage="seats")
    result = run_sequential(sc)
    assert placements(result) == {
        "gen": ("general", None, None, None),
        "voc": ("vocational", "A", 1, 2),
        "unp": ("unplaced", None, None, None),
        "inel": ("ineligible", None, None, None),
        "none1": ("none", None, None, None),
        "none2": ("none", None, None, None),
    }
    assert set(result.admissions["outcome"]) == set(OUTCOMES)
    assert result.admissions.set_index("student_id")["region_id"].to_dict() == {
        "gen": "R1", "voc": "R2", "unp": "R2", "inel": "R2", "none1": "R2", "none2": "R2"}


def test_exactly_one_row_per_student_in_input_order():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("c", 50, ["A"]), student("a", 90, ["A"]), student("b", 70, [])])
    adm = run_sequential(sc).admissions
    assert list(adm.columns[:8]) == ["student_id", "region_id", "outcome", "school_id", "batch", "choice_rank",
                                     "admit_date", "confirm_date"]
    assert adm["student_id"].tolist() == ["c", "a", "b"]
    assert adm["outcome"].tolist() == ["unplaced", "vocational", "none"]


def test_a_decliner_with_nothing_left_is_unplaced_not_none():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"])], declines=[("x", 1)], batches=2)
    assert placements(run_sequential(sc))["x"] == ("unplaced", None, None, None)


def test_general_outranks_ineligible_and_vocational_fields_stay_empty():
    sc = make_scenario(regions=[region("R1", cutoff=60)], schools=[school("A", 1)],
                       students=[student("g", 70, ["A"], certificate=False)], general_stage="cutoff")
    adm = run_sequential(sc).admissions.iloc[0]
    assert adm["outcome"] == "general"
    assert adm["school_id"] in ("", None) and adm.isna()["batch"] and adm.isna()["choice_rank"]
