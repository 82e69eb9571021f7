"""The checker on R11 batch windows (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R11."""

from __future__ import annotations

import pytest

from builders import make_scenario, school, student
from checker_helpers import engine, found


@pytest.mark.parametrize("where,column,value", [
    ("offers", "admit_date", "2021-07-09"),  # before batch 1 opens (2021-07-10)
    ("offers", "admit_date", "2021-07-21"),  # after admit_by
    ("offers", "admit_date", ""),
    ("offers", "admit_date", "2021-07-40"),
    ("offers", "confirm_date", "2021-07-23"),  # after confirm_by
    ("offers", "confirm_date", "2021-07-19"),  # before admit_date
    ("admissions", "admit_date", "2021-06-01"),
    ("admissions", "confirm_date", "2021-08-01"),
    ("admissions", "confirm_date", ""),
])
def test_r11_a_date_outside_its_window(where, column, value):
    sc = make_scenario(schools=[school("A", 2)], students=[student("x", 90, ["A"])])
    adm, off = engine(sc)
    frame = off if where == "offers" else adm
    frame.loc[frame["student_id"] == "x", column] = value
    assert found(sc, adm, off) == {("R11", "x", "A", 1, "")}


def test_r11_a_batch_2_offer_dated_in_batch_1():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                       declines=[("x", 1)], batches=2)
    adm, off = engine(sc)
    adm.loc[adm["student_id"] == "y", "admit_date"] = "2021-07-20"  # batch 2 opens on 2021-07-22
    assert found(sc, adm, off) == {("R11", "y", "A", 2, "")}
