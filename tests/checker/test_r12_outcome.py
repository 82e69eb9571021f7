"""The checker on R12 outcome (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R12."""

from __future__ import annotations

import pandas as pd
import pytest

from builders import make_scenario, school, set_outcome, student
from checker_helpers import engine, found


@pytest.fixture
def mixed():
    sc = make_scenario(schools=[school("A", 1)],
                       students=[student("v", 90, ["A"]), student("u", 80, ["A"]), student("n", 70, []),
                                 student("i", 60, ["A"], certificate=False)])
    return sc, *engine(sc)


@pytest.mark.parametrize("sid,outcome", [("v", "unplaced"), ("v", "none"), ("u", "none"), ("n", "unplaced"),
                                         ("u", "ineligible"), ("i", "unplaced"), ("i", "none"), ("v", "admitted")])
def test_r12_an_outcome_that_disagrees(mixed, sid, outcome):
    sc, adm, off = mixed
    adm = set_outcome(sc, adm, sid, outcome)
    assert found(sc, adm, off) == {("R12", sid, "", None, "")}


def test_r12_vocational_without_the_offer(mixed):
    sc, adm, off = mixed
    assert ("R12", "u", "A", 1, "") in found(sc, set_outcome(sc, adm, "u", "vocational", "A", 1, 1), off)
    assert ("R12", "v", "A", 1, "") in found(sc, set_outcome(sc, adm, "v", "vocational", "A", 1, 2), off)


def test_r12_rows_missing_twice_or_unknown(mixed):
    sc, adm, off = mixed
    assert found(sc, adm[adm["student_id"] != "n"], off) == {("R12", "n", "", None, "")}
    assert found(sc, pd.concat([adm, adm.iloc[[2]]]), off) == {("R12", "n", "", None, "")}
    extra = adm.iloc[[2]].assign(student_id="ghost")
    assert found(sc, pd.concat([adm, extra]), off) == {("R12", "ghost", "", None, "")}


def test_r12_fields_of_a_non_vocational_row_must_be_empty(mixed):
    sc, adm, off = mixed
    adm.loc[adm["student_id"] == "u", "school_id"] = "A"
    assert found(sc, adm, off) == {("R12", "u", "", None, "")}
