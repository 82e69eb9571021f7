"""R7 Quota cap (HY §五 招生计划实行最高限额管理): confirmed admissions never exceed a school's quota; its
free seats in batch b are the quota minus admissions confirmed in earlier batches."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, school, student

UNPLACED = ("unplaced", None, None, None)


def test_quota_is_a_hard_maximum():
    sc = make_scenario(schools=[school("A", 2), school("Z", 0)],
                       students=[student(f"s{i}", 90 - i, ["A", "Z"]) for i in range(5)], batches=3)
    result = run_sequential(sc)
    assert [s for s, p in placements(result).items() if p[0] == "vocational"] == ["s0", "s1"]
    assert all(o[1] != "Z" for o in offer_rows(result))  # quota 0: no offer at all


def test_free_seats_in_batch_2_are_quota_minus_confirmed_in_batch_1():
    """A has 2 seats: x confirms one, y declines the other.  In batch 2 exactly one seat is free: a
    quota reset per batch would admit both z and w, counting offers instead of confirmations neither."""
    sc = make_scenario(schools=[school("A", 2)],
                       students=[student("x", 90, ["A"]), student("y", 85, ["A"]), student("z", 80, ["A"]),
                                 student("w", 70, ["A"])],
                       declines=[("y", 1)], batches=2)
    result = run_sequential(sc)
    assert placements(result) == {"x": ("vocational", "A", 1, 1), "y": UNPLACED,
                                  "z": ("vocational", "A", 2, 1), "w": UNPLACED}
    assert offer_rows(result) == [("x", "A", 1, 1, True), ("y", "A", 1, 1, False), ("z", "A", 2, 1, True)]


def test_batch_3_counts_confirmations_of_batches_1_and_2():
    sc = make_scenario(schools=[school("A", 3)],
                       students=[student("a", 99, ["A"]), student("b", 98, ["A"]), student("c", 97, ["A"]),
                                 student("d", 96, ["A"]), student("e", 95, ["A"]), student("f", 94, ["A"])],
                       declines=[("b", 1), ("c", 1), ("e", 2)], batches=[
                           {"id": 1, "open": "2021-07-10", "admit_by": "2021-07-20", "confirm_by": "2021-07-22"},
                           {"id": 2, "choices": "choices", "admit_by": "2021-07-24", "confirm_by": "2021-07-26"},
                           {"id": 3, "choices": "choices", "admit_by": "2021-08-10", "confirm_by": "2021-08-15"}])
    # batch 1: a, b, c offered; a confirms.  batch 2 (2 free): d, e offered; d confirms.  batch 3: 1 free: f.
    assert {s: p[2] for s, p in placements(run_sequential(sc)).items() if p[0] == "vocational"} == \
        {"a": 1, "d": 2, "f": 3}


def test_confirmed_admissions_never_exceed_quota_per_school():
    sc = make_scenario(schools=[school("A", 1), school("B", 2)],
                       students=[student(f"s{i}", 50 + i, ["A", "B"] if i % 2 else ["B", "A"]) for i in range(8)],
                       batches=2)
    adm = run_sequential(sc).admissions
    counts = adm[adm["outcome"] == "vocational"]["school_id"].value_counts().to_dict()
    assert counts == {"A": 1, "B": 2}
