"""R6 The sequential rule (HY §九.1, §九.3): rounds k = 1 .. max_choices; in round k each school takes
the students whose k-th choice it is in chain order (score, evaluation, student_id, or a scenario's own
chain) while it has seats.  A school's priority is (choice rank, then the chain): the Boston mechanism."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import make_scenario, offer_rows, placements, school, student

UNPLACED = ("unplaced", None, None, None)


def test_boston_a_second_choice_loses_to_every_first_choice():
    """h's second choice A goes to l, who put A first, though h has the higher score."""
    sc = make_scenario(schools=[school("A", 1), school("B", 1)],
                       students=[student("t", 99, ["B"]), student("h", 95, ["B", "A"]), student("l", 60, ["A"])])
    assert placements(run_sequential(sc)) == {"t": ("vocational", "B", 1, 1), "h": UNPLACED,
                                              "l": ("vocational", "A", 1, 1)}


def test_second_round_fills_remaining_seats_in_chain_order():
    sc = make_scenario(schools=[school("A", 1), school("B", 2)],
                       students=[student("t", 99, ["A"]), student("u", 70, ["A", "B"]), student("v", 80, ["A", "B"]),
                                 student("w", 60, ["B"]), student("z", 75, ["A", "B"])])
    # round 1: A takes t; B takes w.  round 2: B has 1 seat for v (80), z (75), u (70): v.
    assert placements(run_sequential(sc)) == {"t": ("vocational", "A", 1, 1), "w": ("vocational", "B", 1, 1),
                                              "v": ("vocational", "B", 1, 2), "z": UNPLACED, "u": UNPLACED}


def test_higher_score_first():
    sc = make_scenario(schools=[school("A", 1)], students=[student("lo", 70.5, ["A"]), student("hi", 71, ["A"])])
    assert placements(run_sequential(sc)) == {"hi": ("vocational", "A", 1, 1), "lo": UNPLACED}


def test_equal_score_broken_by_evaluation():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("s1", 80, ["A"], evaluation="C"), student("s2", 80, ["A"], evaluation="A"),
                                 student("s3", 80, ["A"], evaluation="B")])
    assert placements(run_sequential(sc))["s2"] == ("vocational", "A", 1, 1)
    sc = make_scenario(schools=[school("A", 2)],
                       students=[student("s1", 80, ["A"], evaluation="C"), student("s2", 80, ["A"], evaluation="A"),
                                 student("s3", 80, ["A"], evaluation="B")])
    assert placements(run_sequential(sc))["s1"] == UNPLACED


def test_evaluation_in_chinese_grades():
    """综合素质评价 as the admission system writes it: 优秀 > 良好 > 合格."""
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("s1", 80, ["A"], evaluation="良好"),
                                 student("s2", 80, ["A"], evaluation="优秀"),
                                 student("s0", 80, ["A"], evaluation="合格")])
    assert placements(run_sequential(sc))["s2"] == ("vocational", "A", 1, 1)


def test_evaluation_given_as_numbers_higher_first():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("s1", 80, ["A"], evaluation=88), student("s2", 80, ["A"], evaluation=91.5)])
    assert placements(run_sequential(sc))["s2"] == ("vocational", "A", 1, 1)


def test_equal_score_and_evaluation_broken_by_student_id():
    """The rows are written in reverse id order: file order must not decide."""
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("s3", 80, ["A"]), student("s2", 80, ["A"]), student("s1", 80, ["A"])])
    assert placements(run_sequential(sc)) == {"s1": ("vocational", "A", 1, 1), "s2": UNPLACED, "s3": UNPLACED}


def test_custom_chain_with_a_lottery_lower_first():
    """tie_break [score, lottery]: evaluation is not in the chain, the lower lottery number wins."""
    sc = make_scenario(schools=[school("A", 1)], tie_break=["score", "lottery"],
                       students=[student("s1", 80, ["A"], evaluation="A", lottery=7),
                                 student("s2", 80, ["A"], evaluation="D", lottery=3),
                                 student("s0", 79, ["A"], evaluation="A", lottery=0)])
    assert placements(run_sequential(sc)) == {"s2": ("vocational", "A", 1, 1), "s1": UNPLACED, "s0": UNPLACED}


def test_lottery_alone_decides_when_the_chain_is_only_the_lottery():
    sc = make_scenario(schools=[school("A", 1)], tie_break=["lottery"],
                       students=[student("s1", 99, ["A"], lottery=2), student("s2", 10, ["A"], lottery=1)])
    assert placements(run_sequential(sc))["s2"] == ("vocational", "A", 1, 1)


def test_equal_lottery_falls_back_to_student_id():
    """The chain always ends with student_id so that priorities are strict (docs/rules.md, uniqueness)."""
    sc = make_scenario(schools=[school("A", 1)], tie_break=["score", "lottery"],
                       students=[student("s9", 80, ["A"], lottery=1), student("s4", 80, ["A"], lottery=1)])
    assert placements(run_sequential(sc))["s4"] == ("vocational", "A", 1, 1)


def test_one_offer_per_student_per_batch():
    sc = make_scenario(schools=[school("A", 3), school("B", 3)],
                       students=[student("x", 90, ["A", "B"]), student("y", 80, ["B", "A"])])
    assert offer_rows(run_sequential(sc)) == [("x", "A", 1, 1, True), ("y", "B", 1, 1, True)]


def test_explicit_directions_in_a_custom_chain():
    """tie_break keys may end in :asc or :desc (models.validate accepts both for every key)."""
    sc = make_scenario(schools=[school("A", 1)], tie_break=["score:asc", "evaluation:asc"],
                       students=[student("s1", 80, ["A"], evaluation="A"), student("s2", 80, ["A"], evaluation="C"),
                                 student("s3", 90, ["A"], evaluation="D")])
    assert placements(run_sequential(sc))["s2"] == ("vocational", "A", 1, 1)


def test_student_id_descending_when_the_chain_says_so():
    """tie_break [score, student_id:desc] is accepted by the loader: s2 must come before s1."""
    sc = make_scenario(schools=[school("A", 1)], tie_break=["score", "student_id:desc"],
                       students=[student("s1", 80, ["A"]), student("s2", 80, ["A"])])
    assert placements(run_sequential(sc)) == {"s2": ("vocational", "A", 1, 1), "s1": UNPLACED}
