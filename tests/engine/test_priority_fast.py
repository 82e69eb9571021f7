"""R6 The tie-break chain's order the fast way (`models.priority`, dense ranks and a stable sort after the
ids' own order) is exactly `Scenario.priority_rank` (one ``np.lexsort`` of the chain's keys): for any
chain, ties, grades or numbers, missing values, and ids with or without leading zeros."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.columns import derived, text
from models.priority import priority_rank
from models.scenario import Settings

from builders import make_scenario, school, student

CHAINS = [("score", "evaluation", "student_id"), ("score", "student_id"), ("evaluation", "score", "student_id"),
          ("score:asc", "lottery", "student_id"), ("lottery:desc", "student_id:asc"), ("student_id",),
          ("score", "evaluation", "student_id:desc"), ("score", "student_id", "evaluation")]


@st.composite
def tables(draw):
    n = draw(st.integers(1, 40))
    width = draw(st.sampled_from([None, 4, 8]))  # None: ids of any length
    numbers = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    ids = [str(v).zfill(width) if width else str(v) for v in numbers]
    if draw(st.booleans()):
        ids = [f"{draw(st.sampled_from(['', '0', 'A']))}{i}" for i in ids]
    ids = list(dict.fromkeys(ids))
    scores = draw(st.lists(st.sampled_from([0.0, -0.0, 1.0, 60.0, 60.5, 99.0, np.nan]), min_size=len(ids),
                           max_size=len(ids)))
    grades = draw(st.lists(st.sampled_from(["A", "B", "C", "D", ""]), min_size=len(ids), max_size=len(ids)))
    lottery = draw(st.lists(st.sampled_from([1.0, 2.0, 3.0, np.nan]), min_size=len(ids), max_size=len(ids)))
    return ids, scores, grades, lottery, draw(st.sampled_from(CHAINS))


BASE = make_scenario(schools=[school("A", 1)], students=[student("1", 90, ["A"])])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_fast_order_is_the_lexsort_of_the_chain(case):
    ids, scores, grades, lottery, chain = case
    students = pd.DataFrame({"student_id": text(ids), "region_id": text(["R1"] * len(ids)), "score": scores,
                             "evaluation": text(grades), "lottery": lottery})
    sc = dataclasses.replace(BASE, students=students, settings=dataclasses.replace(BASE.settings, tie_break=chain))
    assert isinstance(sc.settings, Settings)
    expected = sc.priority_rank()
    assert np.array_equal(priority_rank(sc), expected)
    assert np.array_equal(priority_rank(sc), expected)  # a second time through the ids' kept order


def test_a_million_whole_number_ids_take_the_kept_order():
    """The loader leaves the ids' order for the chain (no second sort of a million ids)."""
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student(str(21010000 + i), 90 - i % 3, ["A"]) for i in range(50)])
    assert derived(sc).get("id-order", (sc.students["student_id"],)) is not None
    assert np.array_equal(priority_rank(sc), sc.priority_rank())
