"""R11 Batch windows (HY §七.二, §九.2): each offer is dated within its batch (open <= admit_date <=
admit_by, admit_date <= confirm_date <= confirm_by); batch b > 1 opens no earlier than batch b-1's
confirm_by; in a simulation an offer carries its batch's admit_by and confirm_by dates."""

from __future__ import annotations

import datetime as dt

import pytest

from models import ScenarioError
from solver.engine.sequential import run_sequential

from builders import CALENDAR, make_scenario, school, student


def _three_batch_result():
    sc = make_scenario(schools=[school("A", 1), school("B", 1), school("C", 1)],
                       students=[student("x", 90, ["A"]), student("y", 80, ["B"], batch3=["C"]),
                                 student("z", 70, ["A"]), student("n", 60, [])],
                       declines=[("x", 1), ("y", 1)], batches=3)
    return sc, run_sequential(sc)


def test_admissions_carry_the_calendar_of_their_batch():
    sc, result = _three_batch_result()
    adm = result.admissions.set_index("student_id")
    # x declines A in batch 1; z takes it in batch 2 (fallback); y declines B and takes C in batch 3.
    assert adm.loc["z", ["batch", "admit_date", "confirm_date"]].tolist() == [2, "2021-07-24", "2021-07-26"]
    assert adm.loc["y", ["batch", "admit_date", "confirm_date"]].tolist() == [3, "2021-08-10", "2021-08-15"]
    for sid in ("x", "n"):  # dates are empty unless the outcome is vocational
        assert adm.loc[sid, "admit_date"] in ("", None) and adm.loc[sid, "confirm_date"] in ("", None)


def test_every_offer_lies_within_its_batch_window():
    sc, result = _three_batch_result()
    assert len(result.offers) == 4
    for o in result.offers.to_dict("records"):
        b = sc.settings.batch(int(o["batch"]))
        admit = dt.date.fromisoformat(o["admit_date"])
        assert b.open <= admit == b.admit_by
        if o["confirmed"]:
            assert admit <= dt.date.fromisoformat(o["confirm_date"]) == b.confirm_by
    assert sorted(result.offers["admit_date"]) == ["2021-07-20", "2021-07-20", "2021-07-24", "2021-08-10"]


def test_a_batch_without_open_opens_when_the_previous_one_is_confirmed():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"])], batches=3)
    assert [b.open for b in sc.settings.batches] == [dt.date(2021, 7, 10), dt.date(2021, 7, 22),
                                                     dt.date(2021, 7, 26)]


def _errors(batches):
    with pytest.raises(ScenarioError) as info:
        make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"])], batches=batches)
    return [(e.column, e.clause) for e in info.value.errors]


def test_a_batch_may_not_open_before_the_previous_one_is_confirmed():
    batches = [CALENDAR[0], {**CALENDAR[1], "open": "2021-07-21"}]
    assert _errors(batches) == [("batches[2].open", "R11")]


def test_dates_within_a_batch_must_be_in_order():
    batches = [{**CALENDAR[0], "admit_by": "2021-07-23"}]  # after confirm_by 07-22
    assert _errors(batches) == [("batches[1]", "R11")]
    batches = [{**CALENDAR[0], "open": "2021-07-21"}]  # after admit_by 07-20
    assert _errors(batches) == [("batches[1]", "R11")]


def test_the_first_batch_needs_an_open_date():
    batches = [{k: v for k, v in CALENDAR[0].items() if k != "open"}]
    assert _errors(batches) == [("batches[1].open", "R11")]
