"""The checker on mutations of generated results: a displacement names the displacing student (R6), an
extra admission (R7), a sub-quota passed (R8), single edits, and any other result than the rules' is
reported (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.generator import generate
from solver.checker import check
from solver.engine.sequential import run_sequential

from builders import add_offer, dates, make_scenario, set_outcome
from checker_helpers import found
from strategies import cities

# Mutations of generated results ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def city():
    sc = generate(students=6000, regions=6, schools=16, seed=21, quota_factor=0.8, decline_share=0.05)
    result = run_sequential(sc)
    assert check(sc, result.admissions, result.offers).empty
    return sc, result.admissions, result.offers


def _first_choice_rejects(sc, adm, off):
    """(j, i, s): j holds s at his first choice in batch 1; i listed s first, did not get it and was
    placed nowhere; s has no sub-quotas (so the seat is one i could take) and was full after round 1."""
    sub = set(sc.subquotas["school_id"])
    nowhere = set(adm.loc[adm["outcome"] == "unplaced", "student_id"]) - set(off["student_id"])
    st = sc.students.assign(chain=sc.priority_rank()).sort_values("chain").set_index("student_id")
    pool = set(adm.loc[adm["outcome"].isin(["vocational", "unplaced"]), "student_id"])
    b1 = off[(off["batch"] == 1)]
    for s, group in b1.groupby("school_id"):
        quota = int(sc.schools.set_index("school_id").loc[s, "quota"])
        if s in sub or len(group) != quota or (group["choice_rank"] != 1).any():
            continue
        rejected = [i for i in st.index[st["choice_1"] == s] if i in pool and i not in set(group["student_id"])]
        rejected = [i for i in rejected if i in nowhere]
        if rejected:
            return group["student_id"].iloc[0], rejected[0], s
    pytest.skip("no full school without sub-quotas in this scenario")


def test_generated_r6_displacement_names_the_displacing_student(city):
    sc, adm, off = city
    j, i, s = _first_choice_rejects(sc, adm, off)
    adm2 = set_outcome(sc, set_outcome(sc, adm, j, "unplaced"), i, "vocational", s, 1, 1)
    off2 = add_offer(sc, off[~((off["student_id"] == j) & (off["batch"] == 1))], i, s, 1, 1)
    rows = found(sc, adm2, off2)
    assert ("R6", j, s, 1, i) in rows
    assert {r[0] for r in rows} == {"R6"}
    assert ("R6", j, s, 1, i) in found(sc, adm2)


def test_generated_r7_extra_admission(city):
    sc, adm, off = city
    j, i, s = _first_choice_rejects(sc, adm, off)
    adm2 = set_outcome(sc, adm, i, "vocational", s, 1, 1)
    rows = found(sc, adm2, add_offer(sc, off, i, s, 1, 1))
    assert ("R7", i, s, 1) in {r[:4] for r in rows}
    # the only other faults: students rejected at s who rank above i envy his seat (R6)
    assert {r[0] for r in rows} <= {"R6", "R7"}
    assert all(r[2] == s and r[4] == i for r in rows if r[0] == "R6")


def test_generated_r8_over_a_sub_quota(city):
    sc, adm, off = city
    conf = off[off["confirmed"]]
    sub = sc.subquotas
    counts = conf.groupby(["school_id", "region_id"]).size()
    for q in sub.itertuples():
        if counts.get((q.school_id, q.region_id), 0) >= q.quota:
            break
    else:
        pytest.skip("no full sub-quota")
    outside = adm[(adm["region_id"] == q.region_id) & (adm["outcome"] == "unplaced")]
    i = outside["student_id"].iloc[0]
    adm2 = set_outcome(sc, adm, i, "vocational", q.school_id, 3, 1)
    rows = found(sc, adm2)
    assert any(r[0] == "R8" and r[2] == q.school_id for r in rows)


@pytest.mark.parametrize("k", [0, 7, 123])
def test_generated_single_edits(city, k):
    sc, adm, off = city
    voc = adm.index[adm["outcome"] == "vocational"][k]
    sid = adm.loc[voc, "student_id"]
    edits = {
        "R11": lambda a, o: (a.assign(admit_date=np.where(a.index == voc, "2020-01-01", a["admit_date"])), o),
        "R12": lambda a, o: (set_outcome(sc, a, sid, "unplaced"), o),
        "R9": lambda a, o: (a, o.assign(confirmed=np.where(o["student_id"] == sid, False, o["confirmed"]))),
    }
    for rule, edit in edits.items():
        a, o = edit(adm.copy(), off.copy())
        rows = found(sc, a, o)
        assert (rule, sid) in {r[:2] for r in rows}, (rule, rows)


# Any other result is reported ------------------------------------------------------------------------

def _admissions_from(sc, admissions, offers) -> pd.DataFrame:
    """admissions.csv agreeing with ``offers``: vocational where a confirmed offer is held, unplaced where
    the engine's vocational student holds none now, the rest as the engine said."""
    adm = admissions.copy()
    conf = offers[offers["confirmed"]].drop_duplicates("student_id").set_index("student_id")
    holds = adm["student_id"].isin(conf.index)
    for sid in adm.loc[(adm["outcome"] == "vocational") & ~holds, "student_id"]:
        adm = set_outcome(sc, adm, sid, "unplaced")
    for sid in adm.loc[holds, "student_id"]:
        o = conf.loc[sid]
        adm = set_outcome(sc, adm, sid, "vocational", o["school_id"], int(o["batch"]), int(o["choice_rank"]))
    return adm


def _content(frame, columns) -> list:
    return sorted(map(tuple, frame[columns].astype(str).to_numpy()))


OFFER = ["student_id", "school_id", "batch", "choice_rank", "confirmed"]
ADMISSION = ["student_id", "outcome", "school_id", "batch", "choice_rank"]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(city=cities(), edit=st.sampled_from(["school", "rank", "drop", "add", "flip", "swap", "batch"]),
       data=st.data())
def test_any_other_result_is_reported(city, edit, data):
    """The rules determine the result (docs/rules.md, "why exactly one solution"): change any offer, keep the
    two files consistent with each other and dated by the calendar, and some rule is broken.  Without
    offers.csv the same holds for admissions.csv where no decline hides an offer."""
    sc = make_scenario(**city)
    result = run_sequential(sc)
    adm, off = result.admissions, result.offers.copy()
    schools, batches = list(sc.schools["school_id"]), [b.id for b in sc.settings.batches]
    if len(off) == 0:
        edit = "add"
    i = data.draw(st.integers(0, len(off) - 1)) if len(off) else 0
    if edit == "school":
        off.loc[i, "school_id"] = data.draw(st.sampled_from(schools))
    elif edit == "rank":
        off.loc[i, "choice_rank"] = data.draw(st.integers(1, sc.settings.max_choices))
    elif edit == "drop":
        off = off.drop(index=i).reset_index(drop=True)
    elif edit == "flip":
        off.loc[i, "confirmed"] = not off.loc[i, "confirmed"]
    elif edit == "batch":
        off.loc[i, "batch"] = data.draw(st.sampled_from(batches))
    elif edit == "swap":
        j = data.draw(st.integers(0, len(off) - 1))
        off.loc[[i, j], "school_id"] = off.loc[[j, i], "school_id"].to_numpy()
    else:
        off = add_offer(sc, off, data.draw(st.sampled_from(list(sc.students["student_id"]))),
                        data.draw(st.sampled_from(schools)), data.draw(st.sampled_from(batches)),
                        data.draw(st.integers(1, sc.settings.max_choices)), data.draw(st.booleans()))
    off["admit_date"] = [dates(sc, int(b))[0] for b in off["batch"]]
    off["confirm_date"] = [dates(sc, int(b))[1] if c else "" for b, c in zip(off["batch"], off["confirmed"])]
    adm = _admissions_from(sc, adm, off)
    assert check(sc, adm, off).empty == (_content(off, OFFER) == _content(result.offers, OFFER))
    if sc.declines.empty:
        assert check(sc, adm).empty == (_content(adm, ADMISSION) == _content(result.admissions, ADMISSION))
