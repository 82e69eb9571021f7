"""R4 General high school first (HY §八.四.4, §九): per region, students with applies_general are admitted
to general high school up to general_seats in chain order, or every one with score >= general_cutoff;
only the others enter the vocational batches.  Setting general_stage: seats | cutoff | none."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, placements, region, school, student

GEN = ("general", None, None, None)


def test_seats_go_in_chain_order_to_students_who_apply():
    sc = make_scenario(
        regions=[region("R1", seats=2)],
        schools=[school("V", 1)],
        students=[student("d", 99, ["V"], applies_general=False),  # best score, but does not apply
                  student("c", 85, ["V"], evaluation="B"),
                  student("b", 85, ["V"], evaluation="A"),  # beats c on evaluation (R6 chain)
                  student("a", 90, ["V"])],
        general_stage="seats",
    )
    assert placements(run_sequential(sc)) == {"a": GEN, "b": GEN,
                                              "c": ("unplaced", None, None, None),  # d holds V's only seat
                                              "d": ("vocational", "V", 1, 1)}


def test_seats_are_per_region():
    sc = make_scenario(
        regions=[region("R1", seats=1), region("R2", seats=0)],
        schools=[school("V", 5)],
        students=[student("a", 60, ["V"]), student("b", 50, ["V"]),
                  student("c", 99, ["V"], region="R2")],
        general_stage="seats",
    )
    assert placements(run_sequential(sc)) == {"a": GEN, "b": ("vocational", "V", 1, 1),
                                              "c": ("vocational", "V", 1, 1)}


def test_seats_tie_broken_by_student_id():
    sc = make_scenario(regions=[region("R1", seats=1)], schools=[school("V", 5)],
                       students=[student("s2", 80, ["V"]), student("s1", 80, ["V"])], general_stage="seats")
    assert placements(run_sequential(sc)) == {"s1": GEN, "s2": ("vocational", "V", 1, 1)}


def test_cutoff_admits_everyone_at_or_above_it_per_region():
    sc = make_scenario(
        regions=[region("R1", cutoff=80), region("R2", cutoff=60)],
        schools=[school("V", 5)],
        students=[student("a", 80, ["V"]), student("b", 79.5, ["V"]),
                  student("c", 60, ["V"], region="R2"), student("d", 59, ["V"], region="R2"),
                  student("e", 95, ["V"], applies_general=False)],
        general_stage="cutoff",
    )
    assert placements(run_sequential(sc)) == {"a": GEN, "b": ("vocational", "V", 1, 1), "c": GEN,
                                              "d": ("vocational", "V", 1, 1), "e": ("vocational", "V", 1, 1)}


def test_none_admits_nobody_to_general_high_school():
    sc = make_scenario(regions=[region("R1", seats=5, cutoff=0)], schools=[school("V", 5)],
                       students=[student("a", 99, ["V"]), student("b", 10, [])], general_stage="none")
    assert placements(run_sequential(sc)) == {"a": ("vocational", "V", 1, 1), "b": ("none", None, None, None)}


def test_where_a_region_gives_both_the_setting_decides():
    rows = dict(regions=[region("R1", seats=1, cutoff=50)], schools=[school("V", 5)],
                students=[student("a", 90, ["V"]), student("b", 70, ["V"]), student("c", 40, ["V"])])
    by_seats = placements(run_sequential(make_scenario(general_stage="seats", **rows)))
    by_cutoff = placements(run_sequential(make_scenario(general_stage="cutoff", **rows)))
    assert [by_seats[s][0] for s in "abc"] == ["general", "vocational", "vocational"]
    assert [by_cutoff[s][0] for s in "abc"] == ["general", "general", "vocational"]


def test_general_students_leave_their_vocational_seat_to_others():
    sc = make_scenario(regions=[region("R1", seats=1)], schools=[school("V", 1)],
                       students=[student("a", 90, ["V"]), student("b", 50, ["V"], applies_general=False)],
                       general_stage="seats", batches=3)
    result = run_sequential(sc)
    assert placements(result) == {"a": GEN, "b": ("vocational", "V", 1, 1)}
    assert set(result.offers["student_id"]) == {"b"}


def test_fresh_student_without_certificate_general_else_ineligible():
    """R4 with the R1 assumption: the general stage does not look at the certificate."""
    sc = make_scenario(regions=[region("R1", cutoff=70)], schools=[school("V", 5)],
                       students=[student("f", 75, ["V"], certificate=False),
                                 student("g", 65, ["V"], certificate=False)],
                       general_stage="cutoff")
    assert placements(run_sequential(sc)) == {"f": GEN, "g": ("ineligible", None, None, None)}
