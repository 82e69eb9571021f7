"""Synthetic scenarios, the same for the same seed: regions, schools, sub-quotas, students with their
choice lists, declines and interview passes (docs/rules.md, Entities; docs/formats.md, "A scenario").

`generate` invents a whole city; `populate` adds synthetic students to a given definition (the
regions, schools and sub-quotas of a bundled scenario, `scenarios.bundled`).  Both return a
`models.Scenario` whose tables have exactly the dtypes `models.validate.build_scenario` gives, so a
generated scenario written with `models.write_scenario` loads back equal.

What the data follow:

- regions: a few urban districts (市城区) and the rest counties, each with its graduates
  (应届初中毕业生数).  The general stage (R4) is ``general_seats`` per region sized so that general :
  vocational is about 1 : 1 (HY §二.二 大体相当, JZ §一 普职招生大体相当), or a ``general_cutoff`` per
  region (HY §九 普高最低录取控制分数线), drawn from the region's scores and seats as a 教育局 would.
- schools: vocational (中职) and technical (技工) schools sitting in regions, their quotas (招生计划,
  R7, HY §五 最高限额) adding up to about the vocational demand; schools of the 市城区 issue part of
  their plan to each county (sub-quotas, R8, HY §五), never more than the quota in all; a few
  require an interview (R3, HY §九.3); one out-of-city school is not registered (R2, HY §七, §十.三).
- students: 初中毕业考试成绩 normal per region, clipped to the exam's range and rounded to a step so
  that ties occur (R6); 综合素质评价 A-D, correlated with the score (R6, HY §九.3); cohort mostly
  fresh (应届) with some former (往届) and other students (HY §四); about 1 % of fresh students
  without a graduation certificate (R1, HY §四); most also apply to general high school
  (R4, HY §八.四.4).
- choice lists: at most ``max_choices`` distinct schools in order, never a gap, never the same school
  twice (R3, HY §八.三); own-region and popular city schools preferred; a batch-2 list
  (``batch2_choice_*``, HY §九.1 补填志愿) and a batch-3 list (调剂补录, HY §九.2) for some students,
  mostly weaker ones, favouring schools likely to have seats left.
- declines (R9, HY §九.1 刷身份证确认): a few percent of students, mostly in batch 1; interview passes
  (R3, HY §九.3) for part of the students who list an interview school.

Everything is vectorized over students: Python loops run over regions, schools, batches and choice
ranks only, so a million students take seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.columns import codes_of, from_arrow, text
from models.headers import choice_column
from models.scenario import DEFAULT_TIE_BREAK, Batch, Scenario, Settings, as_general_stage

GRADES = ("A", "B", "C", "D")  # 综合素质评价, best first (R6)
COHORTS = ("fresh", "former", "other")  # 应届, 往届, 其他 (HY §四)

UNREGISTERED_NAME = "市外某职业学校（未备案）"  # HY §七.一: an out-of-city school not registered in the city

_URBAN_NAMES = ("城东区", "城西区", "城南区", "城北区", "中心区", "高新区", "经开区")
_COUNTY_NAMES = ("临江县", "平川县", "青山县", "白水县", "石桥县", "东岭市", "南溪县", "北湖县", "云台县",
                 "长林市", "西坪县", "安河县", "丰泽县", "宁远县", "双峰市")
_VOCATIONAL_SUFFIXES = ("职业中等专业学校", "职业技术学校", "中等专业学校", "职业教育中心", "财经职业学校",
                        "工业职业学校", "卫生职业学校", "艺术职业学校", "信息工程学校", "交通职业学校")
_TECHNICAL_SUFFIXES = ("技工学校", "高级技工学校", "技师学院", "工业技工学校", "交通技工学校")


# Knobs for the students ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Population:
    """How the synthetic students are drawn.  A bundled scenario keeps these under ``population:`` in
    its ``students.yaml``; `generate` takes each as a keyword argument.  Shares are fractions of all
    students unless the comment says otherwise."""

    # cohort and eligibility (HY §四, R1)
    former_share: float = 0.02  # 往届初中毕业生
    other_share: float = 0.01  # 其他 (退役士兵, 返乡农民工 ...)
    no_certificate_share: float = 0.01  # of fresh students: no 初中毕业证, never admitted to a vocational school (R1)
    # general high school (R4, HY §八.四.4: 填报普通高中志愿的学生同时应填报职业学校志愿)
    applies_general_share: float = 0.92  # of fresh students
    applies_general_share_other: float = 0.30  # of former and other students
    # 初中毕业考试成绩 (R6); the exam's range and step are assumptions, the documents give none
    score_mean: float = 450.0
    score_sd: float = 110.0
    score_min: float = 0.0
    score_max: float = 700.0
    score_step: float = 1.0  # 1 or 0.5: scores are whole or half points, so ties occur
    urban_score_shift: float = 20.0  # urban districts score a little higher
    region_score_sd: float = 15.0  # spread of region means around score_mean (+ urban_score_shift)
    region_score_mean: dict = field(default_factory=dict)  # region_id -> mean, overrides the two above
    # 综合素质评价 (R6): shares of A, B, C, D; the grade follows the score with some noise
    evaluation_shares: tuple = (0.25, 0.45, 0.25, 0.05)
    evaluation_noise: float = 0.8
    # the batch-1 list (R3): how many choices a student fills
    none_share: float = 0.05  # files no vocational choice (outcome none unless general)
    full_share: float = 0.85  # fills all max_choices; the rest fill 1 .. max_choices - 1
    # preferences: where a choice goes (the share of the preference mass of each group of schools;
    # within a group a school's weight is quota x popularity; an empty group's share goes to the others)
    home_share: float = 0.60  # county student: a school of his own county
    city_share: float = 0.36  # county student: a 市城区 school (the rest: schools of other counties)
    urban_city_share: float = 0.95  # urban student: a 市城区 school (the rest: county schools)
    own_district_factor: float = 2.0  # urban student: a school of his own district counts this much more
    popularity_sd: float = 0.4  # log-normal spread of school popularity
    city_popularity: float = 1.5  # 市城区 schools are more popular
    interview_appeal: float = 0.5  # interview schools are listed less often (HY §九.3)
    unregistered_share: float = 0.01  # students who list the unregistered out-of-city school (R2)
    # later lists (R5): filed mostly by weaker students, favouring less popular schools
    batch2_share: float = 0.15  # students with a batch-2 list (补填志愿, HY §九.1)
    batch3_share: float = 0.05  # students with a list for each later batch (调剂补录, HY §九.2)
    # confirmation (R9) and interviews (R3)
    decline_share: float = 0.025  # students who do not confirm an offer in some batch
    decline_batch_shares: tuple = (0.8, 0.15, 0.05)  # in batch 1, 2, 3 ...
    interview_pass_share: float = 0.7  # of students listing an interview school: passed

    @classmethod
    def from_dict(cls, data: dict | None) -> Population:
        """From ``students.yaml`` (``population:``) or keyword knobs; unknown keys are an error."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(f"unknown population setting(s) {unknown}; known: {sorted(known)}")
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            try:
                if f.name == "region_score_mean":
                    data[f.name] = {str(k): float(v) for k, v in (value or {}).items()}
                elif isinstance(f.default, tuple):
                    data[f.name] = tuple(float(v) for v in value)
                else:
                    data[f.name] = float(value)
            except (TypeError, ValueError, AttributeError):
                raise ValueError(f"population setting {f.name} = {value!r} is not a number "
                                 "(or a list of numbers)") from None
        return cls(**data)

    @property
    def nonfresh_share(self) -> float:
        return self.former_share + self.other_share


# The whole synthetic city ------------------------------------------------------------------------------

def generate(students: int, regions: int, schools: int, seed: int, *,
             batches: int = 3,
             max_choices: int = 2,
             year: int = 2021,
             name: str | None = None,
             general_stage: str = "seats",
             general_share: float = 0.5,
             urban_regions: int | None = None,
             city_school_share: float = 0.4,
             technical_share: float = 0.25,
             interview_schools: int = 2,
             unregistered: int = 1,
             county_local_share: float = 0.6,
             subquota_share: float | None = None,
             quota_factor: float = 1.0,
             **population) -> Scenario:
    """A synthetic scenario with ``students`` students, ``regions`` regions and ``schools`` schools
    (the unregistered ones included), the same for the same ``seed``.

    - ``batches``, ``max_choices``, ``year``: the calendar of docs/formats.md (HY §九.2 dates in ``year``;
      batch 2 falls back to the original list, R5) and the length of each choice list (R3).
    - ``general_stage``: ``seats`` (general_seats per region), ``cutoff`` (general_cutoff per region,
      set where the region's ``general_share`` of graduates would pass) or ``none`` (R4).
    - ``general_share``: general high school seats as a share of graduates (0.5: 普职大体相当).
    - ``urban_regions``: how many regions are urban districts (default: about a third, 1 to 5).
    - ``city_school_share``: share of registered schools sitting in urban districts.
    - ``technical_share``: share of technical (技工) schools.
    - ``interview_schools``: registered schools requiring an interview (R3, HY §九.3).
    - ``unregistered``: out-of-city schools not registered in the catalogue (R2), with no region.
    - ``county_local_share``: share of a county's vocational demand planned at its own schools; the rest
      (and the urban demand) is planned at city schools.
    - ``subquota_share``: share of a city school's quota issued to the counties as sub-quotas (R8,
      HY §五), split by their demand; by default the counties' part of the city plan; 0 for none.
    - ``quota_factor``: total quota as a multiple of the expected vocational demand.
    - every field of `Population` as a keyword (e.g. ``score_step=0.5``, ``decline_share=0.03``).
    """
    if students < 0 or regions < 1 or schools < 1:
        raise ValueError("generate needs students >= 0, regions >= 1 and schools >= 1")
    stage = as_general_stage(general_stage)
    if stage is None:
        raise ValueError("general_stage must be seats, cutoff or none (R4)")
    if batches < 1 or max_choices < 1:
        raise ValueError("batches and max_choices must be at least 1")
    pop = Population.from_dict(population)
    rng = np.random.default_rng(seed)
    settings = Settings(name=name or f"synthetic-{seed}", max_choices=max_choices,
                        general_stage=stage,
                        batches=calendar(year, batches), tie_break=DEFAULT_TIE_BREAK, year=year)

    # Regions: sizes, graduates (fresh students) and the vocational demand they make.
    n_urban = urban_regions if urban_regions is not None else min(5, max(1, round(regions / 3)))
    n_urban = min(max(n_urban, 1), regions)
    urban = np.arange(regions) < n_urban
    size_weight = rng.lognormal(0.0, 0.35, regions) * np.where(urban, 0.6, 1.0)
    sizes = apportion(students, size_weight)
    graduates = sizes - np.round(sizes * pop.nonfresh_share).astype(np.int64)
    share = general_share if general_stage != "none" else 0.0
    seats = np.round(graduates * share).astype(np.int64)
    demand = (sizes - seats) * (1 - pop.none_share) * (1 - pop.no_certificate_share)
    region_ids = [f"R{r + 1:02d}" for r in range(regions)]
    region_names = _names(np.where(urban, "urban", "county"), _URBAN_NAMES, _COUNTY_NAMES)

    school_table, subquota_table = _schools(rng, schools, urban, demand, region_ids, region_names,
                                            city_school_share=city_school_share, technical_share=technical_share,
                                            interview_schools=interview_schools, unregistered=unregistered,
                                            county_local_share=county_local_share, subquota_share=subquota_share,
                                            quota_factor=quota_factor)
    region_table = pd.DataFrame({
        "region_id": text(region_ids), "name": text(region_names),
        "kind": text(np.where(urban, "urban", "county").tolist()),
        "graduates": pd.array(graduates, dtype="Int64"),
        "general_seats": pd.arrays.IntegerArray(seats.astype(np.int64), np.full(regions, general_stage != "seats")),
        "general_cutoff": pd.array(np.full(regions, np.nan), dtype="Float64"),
    })
    definition = Scenario(settings, region_table, school_table, subquota_table, *_no_students())
    sc = populate(definition, rng, pop, sizes=sizes)
    if general_stage == "cutoff":  # HY §九: a line per region from the scores and the plan
        cutoff = _cutoffs(sc, seats, pop)
        sc.regions["general_cutoff"] = pd.array(cutoff, dtype="Float64")
    return sc


def calendar(year: int, count: int) -> tuple[Batch, ...]:
    """The batches of docs/formats.md in ``year`` (HY §九.2): 第一批次 (open 07-10, 预录 07-20, 确认 07-22),
    第二批次 falling back to the original list (07-24, 07-26), 调剂补录 (08-10, 08-15); each later batch
    ten days after the one before.  Batch b > 1 opens at batch b-1's ``confirm_by`` (R11)."""
    def d(month: int, day: int) -> dt.date:
        return dt.date(year, month, day)

    plan = [("第一批次", "choices", False, d(7, 20), d(7, 22)),
            ("第二批次", "batch2", True, d(7, 24), d(7, 26)),
            ("调剂补录", "batch3", False, d(8, 10), d(8, 15))]
    out: list[Batch] = []
    for i in range(count):
        if i < len(plan):
            name, choices, fallback, admit_by, confirm_by = plan[i]
        else:
            name, choices, fallback = f"第{i + 1}批次", f"batch{i + 1}", False
            admit_by = out[-1].confirm_by + dt.timedelta(days=10)
            confirm_by = admit_by + dt.timedelta(days=5)
        first = not out
        out.append(Batch(i + 1, name, choices, fallback, d(7, 10) if first else out[-1].confirm_by,
                         admit_by, confirm_by, open_given=first))
    return tuple(out)


def _schools(rng, count, urban, demand, region_ids, region_names, *, city_school_share, technical_share,
             interview_schools, unregistered, county_local_share, subquota_share, quota_factor):
    """Schools (placed, kinded, with quotas) and the sub-quotas of the city schools (R7, R8, HY §五)."""
    regions = len(urban)
    n_unreg = min(max(unregistered, 0), count - 1)
    n_reg = count - n_unreg
    counties = np.flatnonzero(~urban)
    place = _placement(n_reg, urban, demand, city_school_share)

    # Quotas: each county plans county_local_share of its demand at its own schools, the city the rest.
    target = demand * quota_factor
    has_school = np.bincount(place, minlength=regions) > 0
    local = np.where(~urban & has_school, target * county_local_share, 0.0)
    local[urban] = 0.0
    city_total = target.sum() - local.sum()
    quota = np.zeros(n_reg, dtype=np.int64)
    spread = rng.lognormal(0.0, 0.4, n_reg)
    is_city = urban[place]
    quota[is_city] = apportion(round(city_total), spread[is_city])
    for r in counties:
        here = place == r
        if here.any():
            quota[here] = apportion(round(local[r]), spread[here])

    kind = np.where(rng.random(n_reg) < technical_share, "technical", "vocational")
    interview = np.zeros(n_reg, dtype=bool)
    small = 1.0 / np.maximum(quota, 1)  # interview schools are small specialty schools (艺术, 体育 ...)
    picked = rng.choice(n_reg, size=min(max(interview_schools, 0), n_reg), replace=False, p=small / small.sum())
    interview[picked] = True
    names = _school_names(kind, [region_names[r] for r in place])

    ids = [f"S{j + 1:0{max(3, len(str(count)))}d}" for j in range(count)]
    unreg_quota = int(np.round(quota.mean())) if n_reg else 0
    table = pd.DataFrame({
        "school_id": text(ids),
        "name": text(names + [UNREGISTERED_NAME if n_unreg == 1 else f"{UNREGISTERED_NAME}{i + 1}"
                              for i in range(n_unreg)]),
        "kind": text(list(kind) + ["vocational"] * n_unreg),
        "region_id": text([region_ids[r] for r in place] + [""] * n_unreg),
        "quota": np.r_[quota, np.full(n_unreg, unreg_quota)].astype(np.int64),
        "registered": np.r_[np.ones(n_reg, bool), np.zeros(n_unreg, bool)],
        "requires_interview": np.r_[interview, np.zeros(n_unreg, bool)],
    })

    county_demand = np.where(~urban, target - local, 0.0)
    if subquota_share is None:  # the counties' part of what the city schools plan for
        subquota_share = county_demand.sum() / city_total if city_total > 0 else 0.0
    return table, _subquotas(quota, is_city, ids, region_ids, counties, county_demand, subquota_share)


def _placement(n_reg: int, urban: np.ndarray, demand: np.ndarray, city_school_share: float) -> np.ndarray:
    """The region of each registered school: city schools round-robin over the districts; each county
    one school first, then by demand."""
    counties = np.flatnonzero(~urban)
    urbans = np.flatnonzero(urban)
    n_city = n_reg if not len(counties) else min(n_reg, max(1, round(city_school_share * n_reg)))
    n_county = n_reg - n_city
    place = list(urbans[np.arange(n_city) % len(urbans)])
    if n_county:
        first = counties[np.argsort(-demand[counties], kind="stable")][:n_county]
        per_county = np.isin(counties, first).astype(np.int64)
        if n_county > len(first):
            per_county += apportion(n_county - len(first), demand[counties])
        place += list(np.repeat(counties, per_county))
    return np.asarray(place, dtype=np.int64)


def _subquotas(quota: np.ndarray, is_city: np.ndarray, ids: list[str], region_ids: Sequence[str],
               counties: np.ndarray, county_demand: np.ndarray, share: float) -> pd.DataFrame:
    """Sub-quotas (HY §五 市城区职业学校面向县的招生计划分别下达到各县): ``share`` of each city school's quota
    issued to the counties by their demand, floored so that they never exceed the quota."""
    rows: dict[str, list] = {"school_id": [], "region_id": [], "quota": []}
    if share > 0 and county_demand.sum() > 0:
        weight = county_demand / county_demand.sum()
        for j in np.flatnonzero(is_city):
            part = np.floor(quota[j] * share * weight[counties]).astype(np.int64)
            for r, q in zip(counties, part):
                if q > 0:
                    rows["school_id"].append(ids[j])
                    rows["region_id"].append(region_ids[r])
                    rows["quota"].append(int(q))
    return pd.DataFrame({"school_id": text(rows["school_id"]), "region_id": text(rows["region_id"]),
                         "quota": np.asarray(rows["quota"], dtype=np.int64)})


def _cutoffs(sc: Scenario, seats: np.ndarray, pop: Population) -> np.ndarray:
    """general_cutoff per region: the score of the region's ``seats``-th best applicant (R4, HY §九)."""
    st = sc.students
    region = codes_of(st["region_id"], list(sc.regions["region_id"]))
    applies = st["applies_general"].to_numpy(dtype=bool)
    score = st["score"].to_numpy(dtype=float)
    out = np.full(len(seats), pop.score_min)
    for r in range(len(seats)):
        s = np.sort(score[applies & (region == r)])[::-1]
        if seats[r] >= 1 and len(s):
            out[r] = s[min(seats[r], len(s)) - 1]
        elif len(s):
            out[r] = pop.score_max + pop.score_step  # no seats: nobody passes
    return out


# Students for a given definition -----------------------------------------------------------------------

def populate(definition: Scenario, seed: int | np.random.Generator, population: Population | None = None, *,
             sizes: np.ndarray | None = None) -> Scenario:
    """``definition`` (settings, regions, schools, sub-quotas) with synthetic students, declines and
    interview passes.  A region's fresh students are exactly its ``graduates``; ``sizes`` (students per
    region) adds former and other students, by default in the shares of ``population``."""
    pop = population or Population()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    settings = definition.settings
    regions, schools = definition.regions, definition.schools
    R, m = len(regions), settings.max_choices
    graduates = regions["graduates"].fillna(0).to_numpy(dtype=np.int64)
    if sizes is None:
        x = pop.nonfresh_share
        sizes = graduates + np.round(graduates * x / (1 - x)).astype(np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    if (sizes < graduates).any():
        raise ValueError("every region needs at least as many students as graduates")
    n = int(sizes.sum())
    region = np.repeat(np.arange(R), sizes)
    urban = (regions["kind"] == "urban").to_numpy()
    region_ids = regions["region_id"].to_numpy(dtype=object)

    # Cohort: exactly `graduates` fresh students per region, the rest former/other, in random order.
    cohort = np.empty(n, dtype=np.int8)
    starts = np.r_[0, np.cumsum(sizes)]
    former_part = pop.former_share / pop.nonfresh_share if pop.nonfresh_share > 0 else 1.0
    for r in range(R):
        extra = sizes[r] - graduates[r]
        former = int(round(extra * former_part))
        block = np.repeat(np.array([0, 1, 2], dtype=np.int8), [graduates[r], former, extra - former])
        cohort[starts[r]:starts[r + 1]] = rng.permutation(block)
    fresh = cohort == 0

    # Scores (R6): normal per region, clipped to the exam's range, rounded to the step (ties occur).
    mean = pop.score_mean + np.where(urban, pop.urban_score_shift, 0.0) + rng.normal(0, pop.region_score_sd, R)
    for r, rid in enumerate(region_ids):
        if rid in pop.region_score_mean:
            mean[r] = pop.region_score_mean[rid]
    raw = rng.normal(mean[region], pop.score_sd)
    score = np.clip(np.round(raw / pop.score_step) * pop.score_step, pop.score_min, pop.score_max)
    # 综合素质评价 follows the score with noise: a latent normal cut at the quantiles of the shares.
    latent = (raw - mean[region]) / pop.score_sd + rng.normal(0, pop.evaluation_noise, n)
    shares = np.asarray(pop.evaluation_shares, dtype=float) / np.sum(pop.evaluation_shares)
    spread = NormalDist(0, float(np.hypot(1.0, pop.evaluation_noise)))
    cuts = [spread.inv_cdf(min(max(c, 1e-12), 1 - 1e-12)) for c in np.cumsum(shares[::-1])[:-1]]
    grade = len(GRADES) - 1 - np.searchsorted(cuts, latent)  # 0 = A
    certificate = ~(fresh & (rng.random(n) < pop.no_certificate_share))  # R1
    applies_general = rng.random(n) < np.where(fresh, pop.applies_general_share, pop.applies_general_share_other)
    weakness = 1.0 - _percentile(score, rng)  # 1 = weakest: likely to need later batches

    # Choice lists (R3, R5).
    school_region = codes_of(schools["region_id"], list(regions["region_id"]))
    weights = _weights(rng, pop, urban, schools, school_region, R)
    lists = _choice_lists(rng, pop, settings.choice_lists, weights, region, weakness, schools, m)
    taken = np.concatenate([np.zeros((n, 0), dtype=np.int32), *lists.values()], axis=1)  # every list's schools

    students = pd.DataFrame({
        "student_id": _student_ids(settings.year, region, sizes),
        "region_id": _labels(region, region_ids),
        "score": score.astype(np.float64),
        "evaluation": _labels(grade, GRADES),
        "cohort": _labels(cohort, COHORTS),
        "certificate": certificate,
        "applies_general": applies_general,
    })
    school_ids = schools["school_id"].to_numpy(dtype=object)
    for list_name, codes in lists.items():
        for k in range(m):
            students[choice_column(list_name, k + 1)] = _labels(codes[:, k], school_ids)

    declines = _declines(rng, pop, settings, students["student_id"], weakness, lists["choices"])
    interviews = _interviews(rng, pop, students["student_id"], school_ids,
                             schools["requires_interview"].to_numpy(dtype=bool), taken)
    return Scenario(settings, definition.regions.copy(), schools.copy(), definition.subquotas.copy(),
                    students, declines, interviews, source=definition.source)


def _weights(rng, pop: Population, urban: np.ndarray, schools: pd.DataFrame, school_region: np.ndarray,
             R: int) -> list[np.ndarray]:
    """Preference weights [R, S] of the batch-1, batch-2 and later lists.

    A student's region gives each group of schools a share of the mass: a county student his own county
    (``home_share``), the 市城区 (``city_share``) and the other counties (the rest); an urban student the
    市城区 (``urban_city_share``, his own district ``own_district_factor`` times more) and the counties.
    Within a group a school weighs quota x popularity for the batch-1 list; for later lists popularity
    counts inversely (students then look for schools with seats left, HY §九.2 补录学校为未完成招生计划的学校).
    """
    S = len(schools)
    quota = schools["quota"].to_numpy(dtype=float)
    usable = schools["registered"].to_numpy(dtype=bool) & (quota > 0)  # unregistered: `_list_unregistered`
    located = school_region >= 0
    city = np.zeros(S, dtype=bool)
    city[located] = urban[school_region[located]]
    county_school = located & ~city
    popularity = rng.lognormal(0.0, pop.popularity_sd, S) * np.where(city, pop.city_popularity, 1.0)
    appeal = np.where(schools["requires_interview"].to_numpy(dtype=bool), pop.interview_appeal, 1.0)
    home = school_region[None, :] == np.arange(R)[:, None]  # [R, S]

    out = []
    for power in (1.0, -1.0, -2.0):
        base = quota * appeal * usable * popularity ** power
        w = np.zeros((R, S))
        for r in range(R):
            if urban[r]:
                inner = base * np.where(home[r], pop.own_district_factor, 1.0)
                groups = [(city, pop.urban_city_share), (county_school, 1.0 - pop.urban_city_share)]
            else:
                inner = base
                groups = [(home[r], pop.home_share), (city, pop.city_share),
                          (county_school & ~home[r], 1.0 - pop.home_share - pop.city_share)]
            mass = [(g, share, inner[g].sum()) for g, share in groups]
            live = sum(share for _, share, total in mass if total > 0)
            for g, share, total in mass:
                if total > 0 and live > 0:
                    w[r, g] = inner[g] / total * share / live
        out.append(w)
    return out


def _choice_counts(rng, n: int, m: int, none_share: float, full_share: float) -> np.ndarray:
    """How many choices each student fills: 0 with none_share, m with full_share, else 1 .. m-1."""
    if m == 1:
        p = [none_share, 1 - none_share]
    else:
        rest = max(0.0, 1 - none_share - full_share) / (m - 1)
        p = [none_share] + [rest] * (m - 1) + [full_share]
    p = np.asarray(p) / np.sum(p)
    return rng.choice(m + 1, size=n, p=p)


def draw_choices(rng: np.random.Generator, weights: np.ndarray, region: np.ndarray, counts: np.ndarray, m: int,
                 exclude: np.ndarray | None = None) -> np.ndarray:
    """Ordered choice lists int32[n, m] (school codes, -1 empty) drawn without replacement.

    Student i fills ``counts[i]`` choices, each drawn from ``weights[region[i]]`` with the schools already
    on his list and those in ``exclude[i]`` (-1 = none) removed.  A draw is one uniform number mapped
    through the cumulative weights with the removed schools' intervals skipped, so there is no rejection
    loop.  Where the weights run out, the list is shorter; lists are compacted, never with a gap (R3).
    """
    n = len(region)
    R, S = weights.shape
    exclude = np.zeros((n, 0), dtype=np.int32) if exclude is None else exclude
    totals = weights.sum(axis=1)
    norm = np.divide(weights, totals[:, None], out=np.zeros_like(weights, dtype=float), where=totals[:, None] > 0)
    cum = np.cumsum(norm, axis=1)
    cum[totals > 0, -1] = 1.0
    flat = (cum + np.arange(R)[:, None]).ravel()  # row r spans (r, r + 1]: one searchsorted for all regions
    out = np.full((n, m), -1, dtype=np.int32)
    for k in range(m):
        rows = np.flatnonzero(counts > k)
        if not len(rows):
            continue
        reg = region[rows]
        removed = np.sort(np.concatenate([out[rows, :k], exclude[rows]], axis=1), axis=1)
        if removed.shape[1] > 1:  # a school twice in `removed` is one hole
            dup = np.zeros(removed.shape, dtype=bool)
            dup[:, 1:] = removed[:, 1:] == removed[:, :-1]
            removed[dup] = -1
        present = removed >= 0
        safe = np.where(present, removed, 0)
        hole = np.where(present, norm[reg[:, None], safe], 0.0)
        hole_start = cum[reg[:, None], safe] - hole
        left = 1.0 - hole.sum(axis=1)
        t = rng.random(len(rows)) * left
        for e in range(removed.shape[1]):  # holes in ascending order: skip each one at or below t
            t = np.where(present[:, e] & (hole_start[:, e] <= t), t + hole[:, e], t)
        code = np.searchsorted(flat, reg + t, side="right") - reg * S
        bad = (left <= 1e-12) | (totals[reg] <= 0) | (code < 0) | (code >= S)
        code = np.where(bad, 0, code)
        bad |= (removed == code[:, None]).any(axis=1) | (norm[reg, code] <= 0)  # float edge cases
        out[rows, k] = np.where(bad, -1, code)
    order = np.argsort(out < 0, axis=1, kind="stable")  # compact: filled choices first, in order
    return np.take_along_axis(out, order, axis=1)


def _list_unregistered(rng, codes: np.ndarray, schools: pd.DataFrame, share: float) -> None:
    """Some students list an unregistered out-of-city school (void, R2): it replaces one of their choices."""
    unreg = np.flatnonzero(~schools["registered"].to_numpy(dtype=bool))
    filled = (codes >= 0).sum(axis=1)
    who = np.flatnonzero((filled > 0) & (rng.random(len(codes)) < share))
    if not len(unreg) or not len(who):
        return
    slot = np.floor(rng.random(len(who)) * filled[who]).astype(np.int64)
    codes[who, slot] = unreg[rng.integers(0, len(unreg), len(who))]


def _declines(rng, pop: Population, settings: Settings, student_ids: pd.Series, weakness: np.ndarray,
              first_list: np.ndarray) -> pd.DataFrame:
    """R9: students who will not confirm an offer in one batch, mostly batch 1, mostly likely vocational."""
    filer = (first_list >= 0).any(axis=1)
    w = weakness * filer
    p = np.clip(pop.decline_share * w / max(w.mean(), 1e-12), 0.0, 1.0) if len(w) else w
    who = np.flatnonzero(rng.random(len(w)) < p)
    ids = [b.id for b in settings.batches]
    shares = np.asarray(list(pop.decline_batch_shares) + [0.0] * len(ids), dtype=float)[:len(ids)]
    shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(ids), 1 / len(ids))
    batch = np.asarray(ids, dtype=np.int64)[rng.choice(len(ids), size=len(who), p=shares)]
    return pd.DataFrame({"student_id": text(student_ids.to_numpy()[who]), "batch": batch.astype(np.int64)})


def _interviews(rng, pop: Population, student_ids: pd.Series, school_ids: np.ndarray, gated: np.ndarray,
                lists: np.ndarray) -> pd.DataFrame:
    """R3 (HY §九.3): passes for part of the students who list a school that requires an interview."""
    S = len(school_ids)
    rows, cols = np.nonzero(lists >= 0)
    codes = lists[rows, cols]
    keep = gated[codes]
    keys = np.unique(rows[keep].astype(np.int64) * S + codes[keep])
    keys = keys[rng.random(len(keys)) < pop.interview_pass_share]
    return pd.DataFrame({"student_id": text(student_ids.to_numpy()[keys // S]),
                         "school_id": text(school_ids[keys % S])})


# Small helpers --------------------------------------------------------------------------------------------

def apportion(total: int, weights) -> np.ndarray:
    """``total`` split into whole numbers in proportion to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if len(weights) == 0:
        return np.zeros(0, dtype=np.int64)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        out[np.argsort(-(exact - out), kind="stable")[:short]] += 1
    return out


def _percentile(values: np.ndarray, rng) -> np.ndarray:
    """Rank of each value in [0, 1], ties broken at random."""
    n = len(values)
    if n < 2:
        return np.zeros(n)
    order = np.lexsort((rng.random(n), values))
    pct = np.empty(n)
    pct[order] = np.arange(n) / (n - 1)
    return pct


def _choice_lists(rng: np.random.Generator, pop: Population, names: list[str], weights: list[np.ndarray],
                  region: np.ndarray, weakness: np.ndarray, schools: pd.DataFrame, m: int) -> dict[str, np.ndarray]:
    """School codes of each choice list (R3, R5), -1 empty: every student may file the original list; the
    weaker ones the later batches' lists; no school in two lists of a student."""
    n = len(region)
    lists: dict[str, np.ndarray] = {}
    taken = np.zeros((n, 0), dtype=np.int32)
    for i, list_name in enumerate(names):
        if i == 0:
            counts = _choice_counts(rng, n, m, pop.none_share, pop.full_share)
        else:
            share = pop.batch2_share if i == 1 else pop.batch3_share
            files = rng.random(n) < np.clip(2.0 * share * weakness, 0.0, 1.0)
            counts = np.where(files, _choice_counts(rng, n, m, 0.0, pop.full_share), 0)
        codes = draw_choices(rng, weights[min(i, 2)], region, counts, m, exclude=taken)
        if i == 0:
            _list_unregistered(rng, codes, schools, pop.unregistered_share)
        lists[list_name] = codes
        taken = np.concatenate([taken, codes], axis=1)
    return lists


def _student_ids(year: int | None, region: np.ndarray, sizes: np.ndarray) -> pd.Series:
    """考生号-like ids: two digits of the year, the region's number, a serial within the region."""
    width = max(4, len(str(int(sizes.max()))) if len(sizes) else 1)
    region_width = max(2, len(str(len(sizes))))
    starts = np.r_[0, np.cumsum(sizes)][:-1]
    serial = np.arange(len(region)) - starts[region] + 1
    prefix = (year or 2000) % 100
    number = (prefix * 10 ** region_width + region + 1) * 10 ** width + serial
    return from_arrow(pc.cast(pa.array(number.astype(np.int64)), pa.string()))


def _labels(codes: np.ndarray, labels) -> pd.Series:
    """Text column of ``labels[codes]``, "" where a code is -1, built in Arrow (fast at a million rows)."""
    dictionary = pa.array([str(v) for v in labels] + [""], type=pa.string())
    idx = np.where(np.asarray(codes) < 0, len(labels), codes).astype(np.int64)
    return from_arrow(dictionary.take(pa.array(idx)))


def _names(kinds, urban_names, county_names) -> list[str]:
    """Region names: from the lists, then numbered."""
    out: list[str] = []
    used = {"urban": 0, "county": 0}
    for kind in kinds:
        pool = urban_names if kind == "urban" else county_names
        i = used[kind]
        used[kind] += 1
        out.append(pool[i] if i < len(pool) else f"第{i + 1}{'区' if kind == 'urban' else '县'}")
    return out


def _school_names(kinds, region_names: list[str]) -> list[str]:
    """Plausible unique school names: region name + a suffix of the school's kind."""
    out: list[str] = []
    used: dict[tuple[str, str], int] = {}
    for kind, region_name in zip(kinds, region_names):
        suffixes = _TECHNICAL_SUFFIXES if kind == "technical" else _VOCATIONAL_SUFFIXES
        i = used.get((region_name, kind), 0)
        used[(region_name, kind)] = i + 1
        suffix = suffixes[i % len(suffixes)]
        out.append(f"{region_name}{suffix}" if i < len(suffixes) else f"{region_name}第{i + 1}{suffix}")
    return out


def _no_students() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Empty students, declines and interviews tables (a definition before `populate`)."""
    students = pd.DataFrame({"student_id": text([]), "region_id": text([]), "score": pd.Series(dtype=np.float64)})
    declines = pd.DataFrame({"student_id": text([]), "batch": pd.Series(dtype=np.int64)})
    interviews = pd.DataFrame({"student_id": text([]), "school_id": text([])})
    return students, declines, interviews
