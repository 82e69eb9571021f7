"""The bundled scenarios: jiaozuo-2022 carries the real JZ 附件1 quota table, hengyang-2021 the HY
structure and calendar (HY §五, §八.三, §九, §九.2); both load through the cache into a valid scenario
(models.load_scenario), re-materialize when the definition or the cache folder changes, never leave
half a scenario, and give a general : vocational ratio of about 1 : 1 (JZ §一, HY §二.二)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

import scenarios
from models import ScenarioError, load_scenario, write_scenario
from scenarios import bundled
from scenarios.generator import generate
from solver.engine.sequential import run_sequential

# JZ 附件1: 2022年各县（市）和市属中等职业学校招生任务
JZ_COUNTY_TASKS = {"沁阳市": 2530, "孟州市": 1085, "温县": 1908, "武陟县": 3300, "博爱县": 1821, "修武县": 1000}
JZ_CITY_SCHOOLS = {"焦作市职业技术学校": 2520, "焦作卫生医药学校": 1300, "焦作市体育运动学校": 200,
                   "焦作市总工会职工中专": 100, "焦作市太极中等专业学校": 400}
HY_URBAN = {"珠晖区", "雁峰区", "石鼓区", "蒸湘区", "南岳区"}
HY_COUNTIES = {"衡阳县", "衡南县", "衡山县", "衡东县", "祁东县", "耒阳市", "常宁市"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHAOSHENG_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def jiaozuo(cache):
    return scenarios.load("jiaozuo-2022")


@pytest.fixture(scope="module")
def hengyang(cache):
    return scenarios.load("hengyang-2021")


def test_bundled_names_and_files():
    assert {"jiaozuo-2022", "hengyang-2021"} <= set(scenarios.bundled_names())
    for name in ("jiaozuo-2022", "hengyang-2021"):
        folder = scenarios.bundled_path(name)
        for required in ("scenario.yaml", "regions.csv", "schools.csv", "students.yaml", "README.md"):
            assert (folder / required).is_file(), f"{name}/{required}"
        # every file is package data (pyproject: scenarios = ["*/*.yaml", "*/*.csv", "*/*.md"])
        assert all(p.suffix in (".yaml", ".csv", ".md") for p in folder.iterdir() if p.is_file())
        assert not (folder / "students.csv").exists()  # students are drawn, never hand-written


def test_jiaozuo_has_the_real_quota_table(jiaozuo):
    sc = jiaozuo
    schools = sc.schools
    regions = sc.regions.set_index("region_id")
    assert len(schools) == 11 and schools["registered"].all()
    assert schools["quota"].sum() == 16164  # JZ A1 合计
    city = dict(zip(schools["name"], schools["quota"]))
    assert {n: city[n] for n in JZ_CITY_SCHOOLS} == JZ_CITY_SCHOOLS
    county_of = regions.loc[schools["region_id"], "name"].to_numpy()
    kinds = regions.loc[schools["region_id"], "kind"].to_numpy()
    tasks = {county: q for county, q, kind in zip(county_of, schools["quota"], kinds) if kind == "county"}
    assert tasks == JZ_COUNTY_TASKS  # each county's task is its school's quota, exactly
    assert set(schools.loc[kinds == "urban", "name"]) == set(JZ_CITY_SCHOOLS)
    assert set(regions["name"]) == set(JZ_COUNTY_TASKS) | {"焦作市城区"}
    assert sc.settings.max_choices == 2 and sc.settings.general_stage == "seats"
    assert 31_000 < len(sc.students) < 35_000
    fresh = sc.students.loc[sc.students["cohort"] == "fresh", "region_id"].value_counts()
    assert (regions["graduates"] == fresh.reindex(regions.index)).all()
    dates = [(b.admit_by, b.confirm_by) for b in sc.settings.batches]
    assert all(a.year == 2022 for pair in dates for a in pair)


def test_hengyang_has_the_hy_structure(hengyang):
    sc = hengyang
    regions = sc.regions.set_index("region_id")
    assert len(regions) == 12
    assert set(regions.loc[regions["kind"] == "urban", "name"]) == HY_URBAN
    assert set(regions.loc[regions["kind"] == "county", "name"]) == HY_COUNTIES
    assert 35 <= len(sc.schools) <= 45
    assert set(sc.schools["kind"]) == {"vocational", "technical"}

    b1, b2, b3 = sc.settings.batches  # HY §九.2
    assert (b1.admit_by, b1.confirm_by) == (dt.date(2021, 7, 20), dt.date(2021, 7, 22))
    assert (b2.admit_by, b2.confirm_by) == (dt.date(2021, 7, 24), dt.date(2021, 7, 26)) and b2.fallback
    assert b3.name == "调剂补录" and b3.open >= b2.confirm_by and b3.admit_by <= b3.confirm_by
    assert sc.settings.max_choices == 2  # HY §八.三

    assert sc.settings.general_stage == "cutoff"  # HY §九: one line for the 市城区, one per county
    assert regions.loc[regions["kind"] == "urban", "general_cutoff"].nunique() == 1
    assert regions["general_cutoff"].notna().all()

    schools = sc.schools.set_index("school_id")
    sub = sc.subquotas
    assert len(sub) > 0  # HY §五
    total = sub.groupby("school_id")["quota"].sum()
    assert (total <= schools.loc[total.index, "quota"]).all()
    assert (regions.loc[schools.loc[sub["school_id"], "region_id"], "kind"].to_numpy() == "urban").all()
    assert (regions.loc[sub["region_id"], "kind"].to_numpy() == "county").all()

    unregistered = schools[~schools["registered"]]
    assert len(unregistered) == 1 and unregistered["region_id"].iloc[0] == ""  # HY §七, §十.三
    listed = sc.students[["choice_1", "choice_2"]].isin(unregistered.index).any(axis=1)
    assert listed.sum() > 100
    assert schools["requires_interview"].sum() >= 2  # HY §九.3
    assert len(sc.interviews) and sc.interviews["school_id"].isin(schools.index[schools["requires_interview"]]).all()
    assert 75_000 < len(sc.students) < 85_000
    assert 0.015 < len(sc.declines) / len(sc.students) < 0.04
    assert (sc.declines["batch"] == 1).mean() > 0.6


@pytest.mark.parametrize("name", ["jiaozuo-2022", "hengyang-2021"])
def test_general_to_vocational_is_about_one_to_one(cache, name):
    sc = scenarios.load(name)
    adm = run_sequential(sc).admissions
    assert len(adm) == len(sc.students)
    general = int((adm["outcome"] == "general").sum())
    vocational = int((adm["outcome"] == "vocational").sum())
    assert 0.85 < general / vocational < 1.25, (general, vocational)  # 普职大体相当 (JZ §一, HY §二.二)
    registered = sc.schools.loc[sc.schools["registered"], "quota"].sum()
    assert vocational / registered > 0.85  # the quotas are about the vocational demand


def test_cache_is_reused_and_complete(cache, hengyang):
    folder = scenarios.materialize("hengyang-2021")
    assert folder.parent.parent == cache
    marker = folder / bundled.MARKER
    stamp = marker.stat().st_mtime_ns
    t0 = time.perf_counter()
    again = scenarios.load("hengyang-2021")
    assert time.perf_counter() - t0 < 5  # from the cache
    assert marker.stat().st_mtime_ns == stamp and scenarios.materialize("hengyang-2021") == folder
    for name in ("scenario.yaml", "regions.csv", "schools.csv", "subquotas.csv", "students.csv",
                 "declines.csv", "interviews.csv", "README.md", "students.yaml"):
        assert (folder / name).is_file(), name
    assert again.students.equals(hengyang.students)
    assert load_scenario(folder).students.equals(hengyang.students)  # a plain docs/formats.md folder


def test_fresh_cache_folder_re_materializes(tmp_path, monkeypatch, jiaozuo):
    monkeypatch.setenv("ZHAOSHENG_CACHE", str(tmp_path / "elsewhere"))
    folder = scenarios.materialize("jiaozuo-2022")
    assert folder.is_relative_to(tmp_path / "elsewhere") and (folder / "students.csv").is_file()
    assert scenarios.load("jiaozuo-2022").students.equals(jiaozuo.students)  # deterministic


def test_changed_definition_re_materializes(tmp_path):
    definition = tmp_path / "jiaozuo-2022"
    shutil.copytree(scenarios.bundled_path("jiaozuo-2022"), definition)
    first = bundled.materialize_folder(definition, tmp_path / "cache")
    assert bundled.materialize_folder(definition, tmp_path / "cache") == first
    before = load_scenario(first).students
    settings = definition / "students.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("seed: 20220525", "seed: 7"), encoding="utf-8")
    second = bundled.materialize_folder(definition, tmp_path / "cache")
    assert second != first and not first.exists()  # drawn anew; the stale version is gone
    assert not load_scenario(second).students.equals(before)


def test_a_crash_leaves_no_half_scenario(tmp_path, monkeypatch):
    def crash(scenario, target):
        (Path(target) / "regions.csv").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    monkeypatch.setattr(bundled, "write_scenario", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        bundled.materialize_folder(scenarios.bundled_path("jiaozuo-2022"), tmp_path)
    assert list((tmp_path / "scenarios").iterdir()) == []  # no target, no staging folder


def test_load_by_path_and_unknown_names(tmp_path):
    sc = generate(300, 3, 6, seed=1)
    write_scenario(sc, tmp_path / "city")
    assert scenarios.load(tmp_path / "city").students.equals(sc.students)
    assert scenarios.load(str(tmp_path / "city")).students.equals(sc.students)
    with pytest.raises(ScenarioError) as err:
        scenarios.load("no-such-city-2030")
    message = str(err.value.problems[0])
    assert "no-such-city-2030" in message and "jiaozuo-2022" in message and "hengyang-2021" in message
    with pytest.raises(ScenarioError):
        scenarios.bundled_path("no-such-city-2030")
