"""scenarios.generator: the same scenario for the same seed, the sizes asked for, equal after a round
trip through the files of docs/formats.md, tables that keep the promises of docs/rules.md (R1 R2 R3 R5 R8 R9
R11), and a run of the sequential engine on it."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from models import load_scenario, write_scenario
from models.headers import choice_column
from scenarios.generator import Population, apportion, calendar, draw_choices, generate
from solver.engine.sequential import run_sequential

TABLES = ("regions", "schools", "subquotas", "students", "declines", "interviews")


def assert_equal_scenarios(a, b) -> None:
    for table in TABLES:
        left, right = getattr(a, table), getattr(b, table)
        assert left.equals(right), f"{table} differs:\n{left.dtypes}\n{right.dtypes}\n{left.head()}\n{right.head()}"
    assert a.settings == b.settings


def choice_matrix(sc, list_name: str) -> np.ndarray:
    cols = [choice_column(list_name, k) for k in range(1, sc.settings.max_choices + 1)]
    return sc.students[cols].to_numpy(dtype=object)


@pytest.fixture(scope="module")
def sc():
    return generate(6000, 8, 24, seed=11)


def test_same_seed_same_scenario():
    assert_equal_scenarios(generate(3000, 6, 15, seed=5), generate(3000, 6, 15, seed=5))


def test_different_seeds_differ():
    a, b = generate(3000, 6, 15, seed=5), generate(3000, 6, 15, seed=6)
    assert not a.students.equals(b.students)
    assert not np.array_equal(a.students["score"].to_numpy(), b.students["score"].to_numpy())


@pytest.mark.parametrize("stage", ["seats", "cutoff", "none"])
def test_round_trip_through_a_folder(tmp_path, stage):
    sc = generate(2500, 7, 18, seed=3, general_stage=stage)
    write_scenario(sc, tmp_path / "sc")
    assert_equal_scenarios(sc, load_scenario(tmp_path / "sc"))


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_round_trip_through_json_and_workbook(tmp_path, suffix):
    sc = generate(300, 4, 8, seed=4)
    write_scenario(sc, tmp_path / f"sc{suffix}")
    assert_equal_scenarios(sc, load_scenario(tmp_path / f"sc{suffix}"))


@pytest.mark.parametrize("students,regions,schools", [(6000, 8, 24), (1, 1, 1), (0, 3, 4), (500, 12, 5)])
def test_sizes_as_asked(students, regions, schools):
    sc = generate(students, regions, schools, seed=1)
    assert (len(sc.students), len(sc.regions), len(sc.schools)) == (students, regions, schools)
    fresh = sc.students.loc[sc.students["cohort"] == "fresh", "region_id"].value_counts()
    graduates = sc.regions.set_index("region_id")["graduates"]
    assert (graduates == fresh.reindex(graduates.index, fill_value=0)).all()  # graduates = 应届 students
    assert sc.students["student_id"].is_unique


def test_choice_lists_follow_r3(sc):
    ids = set(sc.schools["school_id"])
    for list_name in sc.settings.choice_lists:
        lists = choice_matrix(sc, list_name)
        filled = lists != ""
        assert set(lists[filled]) <= ids
        assert not (~filled[:, :-1] & filled[:, 1:]).any(), "a gap in a choice list"
        assert not ((lists[:, 0] == lists[:, 1]) & filled[:, 0]).any(), "a school twice in one list"
    first = choice_matrix(sc, "choices") != ""
    assert 0.9 < first[:, 0].mean() < 0.99  # most students file a list ...
    assert 0.75 < first[:, 1].mean() < first[:, 0].mean()  # ... most fill both choices
    assert 0.05 < (choice_matrix(sc, "batch2")[:, 0] != "").mean() < 0.25
    assert 0.01 < (choice_matrix(sc, "batch3")[:, 0] != "").mean() < 0.1


def test_students_are_realistic(sc):
    st = sc.students
    score = st["score"].to_numpy()
    assert score.min() >= 0 and score.max() <= 700 and (score == np.round(score)).all()
    assert st["score"].duplicated().sum() > 0  # ties occur (R6)
    assert 300 < np.median(score) < 600
    assert set(st["evaluation"]) == {"A", "B", "C", "D"}
    better = st.groupby("evaluation")["score"].mean()
    assert better["A"] > better["B"] > better["C"] > better["D"]  # 综合素质评价 follows the score
    cohort = st["cohort"].value_counts(normalize=True)
    assert cohort["fresh"] > 0.95 and {"former", "other"} <= set(cohort.index)
    fresh = st["cohort"] == "fresh"
    no_certificate = (~st["certificate"] & fresh).sum() / fresh.sum()
    assert 0.003 < no_certificate < 0.02  # R1: about 1 %
    assert not (~st["certificate"] & ~fresh).any()
    assert 0.8 < st["applies_general"].mean() < 0.97


def test_schools_and_sub_quotas(sc):
    schools = sc.schools.set_index("school_id")
    unregistered = schools[~schools["registered"]]
    assert len(unregistered) == 1 and (unregistered["region_id"] == "").all()  # R2: out of the city
    assert schools.loc[schools["registered"], "region_id"].isin(set(sc.regions["region_id"])).all()
    assert schools["requires_interview"].sum() == 2
    assert set(schools["kind"]) == {"vocational", "technical"}
    listed = set(choice_matrix(sc, "choices").ravel())
    assert set(unregistered.index) <= listed  # some students list the unregistered school

    sub = sc.subquotas
    assert len(sub)
    total = sub.groupby("school_id")["quota"].sum()
    assert (total <= schools.loc[total.index, "quota"]).all()  # R8: never more than the quota
    kind = sc.regions.set_index("region_id")["kind"]
    assert (kind[schools.loc[sub["school_id"], "region_id"]].to_numpy() == "urban").all()  # city schools ...
    assert (kind[sub["region_id"]].to_numpy() == "county").all()  # ... issue plans to counties (HY §五)

    demand = len(sc.students) - sc.regions["general_seats"].sum()
    assert 0.8 * demand < schools.loc[schools["registered"], "quota"].sum() < 1.1 * demand


def test_declines_and_interviews(sc):
    ids = set(sc.students["student_id"])
    declines = sc.declines
    assert set(declines["student_id"]) <= ids and declines["student_id"].is_unique
    assert 0.015 < len(declines) / len(sc.students) < 0.04  # R9: 2-3 %
    assert (declines["batch"] == 1).mean() > 0.6  # mostly batch 1
    gated = set(sc.schools.loc[sc.schools["requires_interview"], "school_id"])
    iv = sc.interviews
    assert len(iv) and set(iv["school_id"]) <= gated and set(iv["student_id"]) <= ids
    lists = sc.students.set_index("student_id")
    cols = [c for c in sc.students.columns if "choice_" in c]
    listed = lists.loc[iv["student_id"], cols].to_numpy() == iv["school_id"].to_numpy()[:, None]
    assert listed.any(axis=1).all()  # a pass only where the student listed the school (R3)


def test_calendar_follows_r11():
    for b in calendar(2021, 5):
        assert b.open <= b.admit_by <= b.confirm_by
    batches = calendar(2021, 5)
    assert all(later.open >= earlier.confirm_by for earlier, later in zip(batches, batches[1:]))
    assert [b.choices for b in batches[:3]] == ["choices", "batch2", "batch3"] and batches[1].fallback
    sc = generate(200, 3, 6, seed=2, batches=1, max_choices=3)
    assert [c for c in sc.students.columns if "choice" in c] == ["choice_1", "choice_2", "choice_3"]


def test_general_stage_cutoff_passes_about_the_share():
    sc = generate(8000, 6, 20, seed=9, general_stage="cutoff", general_share=0.5)
    assert sc.regions["general_seats"].isna().all() and sc.regions["general_cutoff"].notna().all()
    general = (run_sequential(sc).admissions["outcome"] == "general").sum()
    assert 0.45 < general / sc.regions["graduates"].sum() < 0.6


def test_sequential_engine_runs_on_it(sc):
    result = run_sequential(sc)
    adm = result.admissions
    assert len(adm) == len(sc.students)
    assert adm["student_id"].tolist() == sc.students["student_id"].tolist()
    voc = adm[adm["outcome"] == "vocational"]
    counts = voc["school_id"].value_counts()
    quota = sc.schools.set_index("school_id")["quota"]
    assert (counts <= quota[counts.index]).all()  # R7
    sub = voc.groupby(["school_id", "region_id"]).size()
    caps = sc.subquotas.set_index(["school_id", "region_id"])["quota"]
    assert (sub.reindex(caps.index, fill_value=0) <= caps).all()  # R8
    assert set(voc["school_id"]) <= set(sc.schools.loc[sc.schools["registered"], "school_id"])  # R2
    general, vocational = (adm["outcome"] == "general").sum(), len(voc)
    assert 0.8 < general / vocational < 1.3  # 普职大体相当


def test_draw_choices_is_exact_sampling_without_replacement():
    rng = np.random.default_rng(0)
    weights = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 0.0, 1.0, 1.0]])
    n = 200_000
    region = np.zeros(n, dtype=np.int64)
    lists = draw_choices(rng, weights, region, np.full(n, 2), 2)
    assert np.allclose(np.bincount(lists[:, 0], minlength=4) / n, [0.5, 0.3, 0.2, 0.0], atol=0.005)
    after_0 = lists[lists[:, 0] == 0, 1]  # second choice given the first: weights renormalized
    assert np.allclose(np.bincount(after_0, minlength=4) / len(after_0), [0, 0.6, 0.4, 0], atol=0.01)
    assert (lists[:, 0] != lists[:, 1]).all() and (lists != 3).all()
    # exclusions and running out: region 1 has two schools, one excluded, so one choice and no gap
    one = draw_choices(rng, weights, np.ones(1000, dtype=np.int64), np.full(1000, 2), 2,
                       exclude=np.full((1000, 1), 2, dtype=np.int32))
    assert (one[:, 0] == 3).all() and (one[:, 1] == -1).all()


def test_knobs():
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3] and apportion(7, [0, 0]).sum() == 7
    sc = generate(2000, 5, 10, seed=1, score_step=0.5, decline_share=0.0, interview_schools=0, unregistered=0)
    assert len(sc.declines) == 0 and len(sc.interviews) == 0 and sc.schools["registered"].all()
    assert (sc.students["score"] * 2 == np.round(sc.students["score"] * 2)).all()
    with pytest.raises(TypeError, match="unknown population setting"):
        generate(10, 2, 3, seed=1, no_such_knob=1)
    assert Population.from_dict({"evaluation_shares": [1, 1, 1, 1]}).evaluation_shares == (1.0, 1.0, 1.0, 1.0)


def test_a_million_students_in_seconds():
    t0 = time.perf_counter()
    sc = generate(1_000_000, 12, 40, seed=1)
    seconds = time.perf_counter() - t0
    assert len(sc.students) == 1_000_000
    assert seconds < 15, f"generate(1,000,000) took {seconds:.1f} s"
    assert isinstance(sc.students, pd.DataFrame)
