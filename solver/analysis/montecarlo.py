"""Monte Carlo of declines (issue #16.3): what happens after the last batch if about ``rate`` of the offers are
declined (R9), before the plan is published.

Each draw ``d`` (0, 1, ... ``draws`` - 1) has its own random generator, seeded from ``(seed, d)``: numpy's
``SeedSequence(seed).spawn(draws)[d]``, i.e. ``SeedSequence(seed, spawn_key=(d,))``, so that a draw is the
same whatever the number of draws, of workers or the order in which the draws run.  The draw decides for
every student and every batch, independently, with probability ``rate``, whether the student declines an
offer of that batch (a decline names a student and a batch, R9; it matters only where the student gets
an offer in that batch).  By default the draw *replaces* the scenario's declines.csv (a planner asking
"what if about 4% decline" means the random ones only); with ``keep_declines`` the listed declines stay
and the drawn ones are added.  Rate 0 without the listed declines is the scenario with no decline at all;
rate 0 keeping them is the scenario as given; rate 1 declines every offer, so every seat stays empty.

Each draw runs the sequential engine (`solver.engine.sequential.run_sequential`, the rules as written) on
the scenario's arrays made once per worker, with the draw's declines in place of the listed ones, and
returns small arrays: per school the vacancies after the last batch (quota - confirmed) and the declined
offers, per region (the students' region) the general, vocational and unplaced students.  The scenario is
sent to each worker once (`solver.analysis.distributed`); one more task runs the scenario as given, for
comparison.  From the draws: per school the mean vacancies, the 5th, 50th and 95th percentiles (numpy's
linear interpolation between draws), min, max and the probability of filling (vacancies == 0); per region
and in total the band (5th, 50th, 95th percentiles) of the 普职比 as vocational per general student
(1 : x, JZ §一: about 1 : 1) and of the enrollment rate (HY §六.三: at least 95%), and the probability that
the enrollment rate reaches 95%.

Files (`write_montecarlo`): ``montecarlo_schools.csv``, ``montecarlo_regions.csv`` (with a 合计 row),
``montecarlo_draws.csv`` (each draw's totals), ``montecarlo.xlsx`` (Chinese headers: 说明, 学校, 地区),
``montecarlo.png`` (Chinese chart) and ``summary.json`` (written last).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import codes_of, text
from models.results import display_name, summary_last, write_csv, write_json
from models.scenario import Scenario
from models.typed import fraction
from solver.analysis.distributed import parse_scheduler, run_tasks
from solver.engine.arrays import ScenarioArrays
from solver.engine.figures import divide, share
from solver.engine.sequential import run_sequential
from solver.progress import Progress
from solver.resources import peak_memory_mib

DEFAULT_RATE = 0.04
DEFAULT_DRAWS = 200
DEFAULT_SEED = 1
MAX_TASKS = 1000  # draws are grouped into at most this many tasks
DRAWS_PER_TASK = 8  # and into tasks of up to 8 draws (fewer when there are few: at least 64 tasks)
ENROLLMENT_TARGET = 0.95  # 高中阶段入学率 at least 95% (HY §六.三)
ONE_TO_ONE = 1.0  # vocational per general student at 普职比 1 : 1 (JZ §一)
TOTAL = "合计"
PERCENTILES = (5, 50, 95)
MONTECARLO_FILES = ("montecarlo_schools.csv", "montecarlo_regions.csv", "montecarlo_draws.csv", "montecarlo.xlsx",
                    "montecarlo.png", "summary.json")
SEEDING = "numpy.random.SeedSequence(seed, spawn_key=(draw,)): SeedSequence(seed).spawn(draws)[draw]"


class MonteCarloError(ValueError):
    """A bad parameter: a rate outside [0, 1], fewer than one draw, a negative seed."""


def parse_rate(value: float | str) -> float:
    """A decline rate: ``0.04`` or ``4%`` (``４％`` too: `models.typed.fraction`), between 0 and 1."""
    spec = str(value).strip()
    try:
        rate = fraction(spec)
    except ValueError:
        raise MonteCarloError(f"the decline rate is a number between 0 and 1 (0.04 or 4%), not {spec!r}") from None
    if not 0 <= rate <= 1:
        raise MonteCarloError(f"the decline rate lies between 0 and 1, not {spec}")
    return rate


def check_params(rate: float | str, draws: int, seed: int) -> float:
    """The rate (`parse_rate`), with the draws (at least 1) and the seed (0 or more) checked."""
    rate = parse_rate(rate)
    if int(draws) < 1:
        raise MonteCarloError(f"at least one draw is needed, not {draws}")
    if int(seed) < 0:
        raise MonteCarloError(f"the seed is a whole number of 0 or more, not {seed}")
    return rate


def draw_generator(seed: int, draw: int) -> np.random.Generator:
    """The random generator of draw ``draw``: keyed by the draw's index, never by the worker."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(draw),)))


def draw_masks(n: int, batch_ids: list[int], rate: float, seed: int, draw: int) -> dict[int, NDArray[np.bool_]]:
    """Per batch, which of the ``n`` students decline an offer of that batch in draw ``draw`` (each with
    probability ``rate``, independently; the batches in their order)."""
    rng = draw_generator(seed, draw)
    return {b: rng.random(n) < rate for b in batch_ids}


def draw_declines(sc: Scenario, rate: float, seed: int, draw: int, keep_declines: bool = False) -> pd.DataFrame:
    """Draw ``draw`` as a declines.csv table (student_id, batch): what a planner would write to re-run it
    (`solver.run.run` on ``dataclasses.replace(sc, declines=...)`` gives the draw's figures)."""
    masks = draw_masks(len(sc.students), [b.id for b in sc.settings.batches], rate, seed, draw)
    ids = sc.students["student_id"].reset_index(drop=True)
    parts = [pd.DataFrame({"student_id": ids[mask].reset_index(drop=True), "batch": np.int64(b)})
             for b, mask in masks.items()]
    if keep_declines:
        parts.insert(0, sc.declines[["student_id", "batch"]])
    table = pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
    return table.astype({"batch": np.int64})


# A draw, in a worker -----------------------------------------------------------------------------------------

class DrawFigures(NamedTuple):
    """What one draw sends back: small arrays, not a result."""

    draw: int  # -1: the scenario as given (its declines.csv)
    vacancies: NDArray[np.int64]  # [S] quota - confirmed after the last batch
    declined: NDArray[np.int64]  # [S] offers declined
    general: NDArray[np.int64]  # [R] by the students' region
    vocational: NDArray[np.int64]  # [R]
    unplaced: NDArray[np.int64]  # [R]
    seconds: float
    peak_mib: float  # the worker's peak memory so far


class _Shipment:
    """What every task needs, sent to each worker once: the scenario and the parameters; the scenario's
    arrays are made on the worker at its first draw and kept (never pickled)."""

    def __init__(self, sc: Scenario, rate: float, seed: int, keep_declines: bool):
        self.sc, self.rate, self.seed, self.keep_declines = sc, rate, seed, keep_declines
        self._arrays: ScenarioArrays | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": None}

    def arrays(self) -> ScenarioArrays:
        if self._arrays is None:
            self._arrays = ScenarioArrays.from_scenario(self.sc)
        return self._arrays


def run_draw(sc: Scenario, rate: float, seed: int, draw: int, keep_declines: bool = False) -> DrawFigures:
    """One draw in this process (``draw`` -1: the scenario as given), as a worker runs it."""
    return _draw(_Shipment(sc, rate, seed, keep_declines), draw)


def _draws(ship: _Shipment, draws: range) -> list[DrawFigures]:
    """A task: the draws of ``draws`` (a draw of -1: the scenario as given)."""
    return [_draw(ship, d) for d in draws]


def _draw(ship: _Shipment, draw: int) -> DrawFigures:
    t = time.perf_counter()
    sc, arr = ship.sc, ship.arrays()
    if draw < 0:
        masks = arr.declines
    else:
        masks = draw_masks(arr.n, [b.id for b in sc.settings.batches], ship.rate, ship.seed, draw)
        if ship.keep_declines:
            masks = {b: m | arr.declines[b] for b, m in masks.items()}
    result = run_sequential(sc, arrays=dataclasses.replace(arr, declines=masks))
    adm, offers = result.admissions, result.offers
    S, R = arr.n_schools, arr.n_regions
    school = codes_of(adm["school_id"], arr.school_ids)
    confirmed = np.bincount(school[school >= 0], minlength=S)
    refused = ~offers["confirmed"].to_numpy(dtype=bool)
    declined = np.bincount(codes_of(offers["school_id"][refused], arr.school_ids), minlength=S)
    codes, names = pd.factorize(adm["outcome"])  # one pass over the students' outcomes (R12)
    counts = np.bincount(codes.astype(np.int64) * R + arr.region, minlength=len(names) * R).reshape(len(names), R)
    found = {str(name): i for i, name in enumerate(names)}
    per_region = {o: counts[found[o]] if o in found else np.zeros(R, dtype=np.int64)
                  for o in ("general", "vocational", "unplaced")}
    return DrawFigures(draw, (arr.quota - confirmed).astype(np.int64), declined.astype(np.int64),
                       per_region["general"].astype(np.int64), per_region["vocational"].astype(np.int64),
                       per_region["unplaced"].astype(np.int64), time.perf_counter() - t,
                       peak_memory_mib(children=False))


def task_ranges(draws: int) -> list[range]:
    """The draws as tasks of consecutive draws: up to `DRAWS_PER_TASK` (fewer while that leaves less than 64
    tasks), more only to stay within `MAX_TASKS`; the scenario as given (-1) is a task of its own, first.
    How the draws are grouped changes nothing in them (each is seeded by its index)."""
    size = max(1, math.ceil(draws / MAX_TASKS), min(DRAWS_PER_TASK, draws // 64))
    return [range(-1, 0)] + [range(s, min(s + size, draws)) for s in range(0, draws, size)]


# The report ---------------------------------------------------------------------------------------------------

@dataclass
class MonteCarloReport:
    scenario: str
    rate: float
    draws: int
    seed: int
    keep_declines: bool
    schools: pd.DataFrame  # montecarlo_schools.csv
    regions: pd.DataFrame  # montecarlo_regions.csv, with the 合计 row
    per_draw: pd.DataFrame  # montecarlo_draws.csv: each draw's totals
    workers: int
    scheduler: str
    declines_listed: int
    timings: dict[str, float] = field(default_factory=dict)
    worker_peak_memory_mib: float | None = None
    title: str = ""

    def totals(self) -> dict[str, dict[str, Any]]:
        """In total over the regions: the scenario as given and the band over the draws of the vacancies (of
        the registered schools), the declined offers, the vocational and unplaced students, the 普职比 and the
        enrollment rate."""
        total = self.regions[self.regions["name"] == TOTAL].iloc[0]
        d = self.per_draw
        registered = self.schools[self.schools["registered"]]
        return {
            "vacancies": _band(d["vacancies"], int(registered["vacancies_scenario"].sum())),
            "declined_offers": _band(d["declined"], int(self.schools["declined_scenario"].sum())),
            "vocational": _band(d["vocational"], _int(total["vocational_scenario"])),
            "unplaced": _band(d["unplaced"], _int(total["unplaced_scenario"])),
            "vocational_per_general": {**_rates(total, "vocational_per_general"),
                                       "general_vocational_ratio": str(total["general_vocational_ratio"])},
            "enrollment_rate": {**_rates(total, "enrollment_rate"),
                                "probability_meeting_target": _num(total["enrollment_target_probability"])},
        }

    def summary(self) -> dict[str, object]:
        registered = self.schools[self.schools["registered"]]  # an unregistered school admits nobody (R2)
        return {
            "status": "done", "scenario": self.scenario, "title": self.title,
            "params": {"decline_rate": self.rate, "draws": self.draws, "seed": self.seed,
                       "keep_declines": self.keep_declines},
            "declines": ("the listed declines kept, the drawn ones added" if self.keep_declines
                         else "the drawn declines replace the listed ones"),
            "declines_listed": self.declines_listed,
            "seeds": {"seed": self.seed, "draws": self.draws, "per_draw": SEEDING},
            "draws": self.draws, "workers": self.workers, "scheduler": self.scheduler,
            "enrollment_target": ENROLLMENT_TARGET, "one_to_one_vocational_per_general": ONE_TO_ONE,
            "totals": self.totals(),
            "schools": {"registered": len(registered),
                        "always_filled": int((registered["fill_probability"] == 1).sum()),
                        "never_filled": int((registered["fill_probability"] == 0).sum())},
            "timings": self.timings,
            "worker_peak_memory_mib": self.worker_peak_memory_mib,
            "peak_memory_mib": peak_memory_mib(),
        }


def _num(v: Any, digits: int = 4) -> float | None:
    x = float(v) if v is not None else math.nan
    return None if math.isnan(x) else round(x, digits)


def _int(v: Any) -> int | None:
    x = _num(v)
    return None if x is None else int(x)


def _band(values: pd.Series, scenario: int | None) -> dict[str, object]:
    x = values.to_numpy(dtype=float)
    p5, p50, p95 = np.percentile(x, PERCENTILES)
    return {"scenario": scenario, "mean": round(float(x.mean()), 2), "p5": round(float(p5), 2),
            "p50": round(float(p50), 2), "p95": round(float(p95), 2), "min": int(x.min()), "max": int(x.max())}


def _rates(row: pd.Series, name: str) -> dict[str, float | None]:
    return {"scenario": _num(row[f"{name}_scenario"]),
            **{f"p{p}": _num(row[f"{name}_p{p}"]) for p in PERCENTILES}}


def montecarlo(sc: Scenario, rate: float | str = DEFAULT_RATE, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, *,
               keep_declines: bool = False, workers: int | None = None, scheduler: str | None = None,
               serial: bool = False, progress: Progress | None = None) -> MonteCarloReport:
    """``draws`` draws of declines at ``rate`` (seeded from ``seed`` and each draw's index), as Dask tasks on
    a LocalCluster of ``workers`` processes (default the CPUs) or on the cluster at ``scheduler``, or one
    after another in this process (``serial``); bad parameters raise `MonteCarloError`."""
    t0 = time.perf_counter()
    rate = check_params(rate, draws, seed)
    draws, seed = int(draws), int(seed)
    scheduler = parse_scheduler(scheduler)
    say = progress or (lambda *_: None)
    ranges = task_ranges(draws)
    sizes = [len(r) for r in ranges]

    drawn_so_far = [0]

    def ticks(done: int, total: int, index: int) -> None:
        if index > 0:  # the first task is the scenario as given
            drawn_so_far[0] += sizes[index]
        say("draws", drawn_so_far[0], draws)

    ship = _Shipment(sc, rate, seed, keep_declines)
    ran = run_tasks(_draws, ranges, ship, scheduler=scheduler, workers=workers, in_process=serial, ticks=ticks,
                    name="montecarlo")
    figures = [f for part in ran.results for f in part]
    given, drawn = figures[0], figures[1:]
    t1 = time.perf_counter()
    schools = schools_table(sc, given, drawn)
    regions = regions_table(sc, given, drawn)
    per_draw = draws_table(sc, drawn)
    seconds = [f.seconds for f in figures]
    timings = {**ran.timings, "draws_sum": round(sum(seconds), 4), "draw_max": round(max(seconds), 4),
               "aggregate": round(time.perf_counter() - t1, 4), "total": round(time.perf_counter() - t0, 4)}
    return MonteCarloReport(sc.name, rate, draws, seed, keep_declines, schools, regions, per_draw, ran.workers,
                            ran.scheduler, len(sc.declines), timings, max(f.peak_mib for f in figures),
                            display_name(sc))


def _stack(drawn: list[DrawFigures], name: str) -> NDArray[np.float64]:
    return np.vstack([getattr(f, name) for f in drawn]).astype(float)


def _percentiles(x: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The 5th, 50th and 95th percentiles over the draws (axis 0), NaN where every draw is NaN."""
    out = np.full((len(PERCENTILES), x.shape[1]), np.nan)
    some = ~np.isnan(x).all(axis=0)
    if some.any():
        out[:, some] = np.nanpercentile(x[:, some], PERCENTILES, axis=0)
    return [np.round(out[i], 4) for i in range(len(PERCENTILES))]


def schools_table(sc: Scenario, given: DrawFigures, drawn: list[DrawFigures]) -> pd.DataFrame:
    """Per school: the vacancies after the last batch with the listed declines and over the draws."""
    vac = _stack(drawn, "vacancies")
    p5, p50, p95 = _percentiles(vac)
    table = sc.schools[["school_id", "name", "region_id", "registered", "quota"]].reset_index(drop=True)
    for col in ("school_id", "name", "region_id"):
        table[col] = text(table[col])
    table["vacancies_scenario"] = given.vacancies
    table["vacancies_mean"] = np.round(vac.mean(axis=0), 2)
    table["vacancies_p5"], table["vacancies_p50"], table["vacancies_p95"] = p5, p50, p95
    table["vacancies_min"] = vac.min(axis=0).astype(np.int64)
    table["vacancies_max"] = vac.max(axis=0).astype(np.int64)
    table["fill_probability"] = np.round((vac == 0).mean(axis=0), 4)
    table["declined_scenario"] = given.declined
    table["declined_mean"] = np.round(_stack(drawn, "declined").mean(axis=0), 2)
    return table


def ratio_text(x: float) -> str:
    """普职比 as 1 : x (x vocational per general student)."""
    return "" if x is None or math.isnan(x) else f"1 : {x:.2f}"


def regions_table(sc: Scenario, given: DrawFigures, drawn: list[DrawFigures]) -> pd.DataFrame:
    """Per region (the students' region) and in total: the scenario as given and the band over the draws of
    the vocational and unplaced students, the 普职比 (vocational per general) and the enrollment rate."""
    reg = sc.regions
    graduates = reg["graduates"].to_numpy(dtype=float, na_value=np.nan)
    gen, voc, unp = (_stack(drawn, n) for n in ("general", "vocational", "unplaced"))
    add_total = np.c_[np.eye(len(reg)), np.ones(len(reg))]  # [R, R + 1]: each region, then their sum
    gen, voc, unp = gen @ add_total, voc @ add_total, unp @ add_total
    grads = np.r_[graduates, np.nansum(graduates)]
    g0, v0, u0 = (np.r_[x, x.sum()].astype(float) for x in (given.general, given.vocational, given.unplaced))
    table = pd.DataFrame({"region_id": text([*reg["region_id"].astype(str), ""]),
                          "name": text([*reg["name"].astype(str), TOTAL]),
                          "graduates": grads, "general": gen.mean(axis=0).round(2)})
    table["vocational_scenario"] = v0.astype(np.int64)
    table["vocational_mean"] = voc.mean(axis=0).round(2)
    table["vocational_p5"], _, table["vocational_p95"] = _percentiles(voc)
    table["unplaced_scenario"] = u0.astype(np.int64)
    table["unplaced_mean"] = unp.mean(axis=0).round(2)
    table["unplaced_p5"], _, table["unplaced_p95"] = _percentiles(unp)
    ratio = divide(voc, gen)
    table["vocational_per_general_scenario"] = share(v0, g0)
    p5, p50, p95 = _percentiles(ratio)
    table["vocational_per_general_p5"], table["vocational_per_general_p50"] = p5, p50
    table["vocational_per_general_p95"] = p95
    table["general_vocational_ratio"] = text([ratio_text(x) for x in p50])
    rate = divide(gen + voc, grads)
    table["enrollment_rate_scenario"] = share(g0 + v0, grads)
    p5, p50, p95 = _percentiles(rate)
    table["enrollment_rate_p5"], table["enrollment_rate_p50"], table["enrollment_rate_p95"] = p5, p50, p95
    meets = (np.nan_to_num(rate, nan=-1.0) >= ENROLLMENT_TARGET - 1e-12).mean(axis=0)
    table["enrollment_target_probability"] = np.where(np.isnan(rate).all(axis=0), np.nan, np.round(meets, 4))
    return table


def draws_table(sc: Scenario, drawn: list[DrawFigures]) -> pd.DataFrame:
    """Each draw's totals: declined offers, vocational, unplaced, vacancies (of the registered schools, R2),
    普职比 and enrollment rate."""
    registered = sc.schools["registered"].to_numpy(dtype=bool)
    graduates = float(np.nansum(sc.regions["graduates"].to_numpy(dtype=float, na_value=np.nan)))
    g = np.array([f.general.sum() for f in drawn], dtype=float)
    v = np.array([f.vocational.sum() for f in drawn], dtype=float)
    return pd.DataFrame({
        "draw": np.array([f.draw for f in drawn], dtype=np.int64),
        "declined": np.array([f.declined.sum() for f in drawn], dtype=np.int64),
        "general": g.astype(np.int64), "vocational": v.astype(np.int64),
        "unplaced": np.array([f.unplaced.sum() for f in drawn], dtype=np.int64),
        "vacancies": np.array([f.vacancies[registered].sum() for f in drawn], dtype=np.int64),
        "vocational_per_general": share(v, g),
        "enrollment_rate": share(g + v, graduates),
    })


# Files --------------------------------------------------------------------------------------------------------

HEADERS = {  # the workbook's Chinese headers of our columns (models.workbooks.zh_header knows the rest)
    "vacancies_scenario": "空额（方案所列放弃）", "vacancies_mean": "空额均值", "vacancies_p5": "空额P5",
    "vacancies_p50": "空额中位数", "vacancies_p95": "空额P95", "vacancies_min": "空额最小", "vacancies_max": "空额最大",
    "fill_probability": "招满概率", "declined_scenario": "放弃人数（方案所列放弃）", "declined_mean": "放弃人数均值",
    "general": "普高录取（均值）",
    "vocational_scenario": "中职录取（方案所列放弃）", "vocational_mean": "中职录取均值", "vocational_p5": "中职录取P5",
    "vocational_p95": "中职录取P95", "unplaced_scenario": "未录取（方案所列放弃）", "unplaced_mean": "未录取均值",
    "unplaced_p5": "未录取P5", "unplaced_p95": "未录取P95",
    "vocational_per_general_scenario": "职/普（方案所列放弃）", "vocational_per_general_p5": "职/普P5",
    "vocational_per_general_p50": "职/普中位数", "vocational_per_general_p95": "职/普P95",
    "general_vocational_ratio": "普职比（中位数）", "enrollment_rate_scenario": "入学率（方案所列放弃）",
    "enrollment_rate_p5": "入学率P5", "enrollment_rate_p50": "入学率中位数", "enrollment_rate_p95": "入学率P95",
    "enrollment_target_probability": "入学率达95%的概率",
}
PERCENT_COLUMNS = ("fill_probability", "enrollment_rate", "enrollment_target_probability")


def write_montecarlo(report: MonteCarloReport, out_dir: Path | str) -> Path:
    """``montecarlo_schools.csv``, ``montecarlo_regions.csv``, ``montecarlo_draws.csv``, ``montecarlo.xlsx``,
    ``montecarlo.png`` and ``summary.json`` (written last)."""
    with summary_last(out_dir, report.timings) as out:
        write_csv(report.schools, out / "montecarlo_schools.csv")
        write_csv(report.regions, out / "montecarlo_regions.csv")
        write_csv(report.per_draw, out / "montecarlo_draws.csv")
        write_workbook(report, out / "montecarlo.xlsx")
        chart_png(report, out / "montecarlo.png")
    write_json(report.summary(), out / "summary.json")
    return out


def write_workbook(report: MonteCarloReport, path: Path) -> None:
    """montecarlo.xlsx: 说明 (the parameters and the totals), 学校, 地区; Chinese headers, rates as percentages."""
    from models.workbooks import COUNT, PERCENT, REGION, SCHOOL, Book, bold_cell, cell

    title = report.title or report.scenario
    book = Book(f"{title} 放弃录取模拟")
    ws = book.sheet("说明", widths=(30, 18, 18, 18, 18, 18))
    ws.append([bold_cell(ws, f"放弃录取模拟（蒙特卡洛）：{title}")])
    ws.append([])
    rows: list[tuple[str, object, str | None]] = [
        ("放弃率（每名考生每批次）", report.rate, PERCENT), ("模拟次数", report.draws, COUNT),
        ("随机种子", report.seed, None),
        ("方案所列放弃（declines.csv）", "保留，并加上随机放弃" if report.keep_declines else "由随机放弃代替", None),
        ("方案所列放弃条数", report.declines_listed, COUNT), ("计算进程", report.workers, COUNT),
        ("调度", report.scheduler, None)]
    for label, value, fmt in rows:
        ws.append([label, cell(ws, value, number_format=fmt)])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("合计", "方案所列放弃", "均值", "P5", "中位数", "P95")])
    s = report.totals()
    for key, label, fmt in (("vacancies", "空额", COUNT), ("declined_offers", "放弃人数", COUNT),
                            ("vocational", "中职录取", COUNT), ("unplaced", "未录取", COUNT),
                            ("vocational_per_general", "职/普", None), ("enrollment_rate", "高中阶段入学率", PERCENT)):
        band = s[key]
        ws.append([label] + [cell(ws, band.get(k), number_format=fmt) for k in ("scenario", "mean", "p5", "p50",
                                                                               "p95")])
    total = report.regions[report.regions["name"] == TOTAL].iloc[0]
    ws.append([])
    ws.append(["入学率达95%的概率", cell(ws, _num(total["enrollment_target_probability"]), number_format=PERCENT)])
    ws.append([])
    ws.append(["每次模拟按考生和批次独立抽取放弃（概率为放弃率），按规则重新录取；P5、P95：各次模拟的第5、第95百分位。"])
    book.table("学校", report.schools, names={**SCHOOL, **HEADERS}, freeze_columns=2, percent=PERCENT_COLUMNS)
    book.table("地区", report.regions, names={**REGION, **HEADERS}, freeze_columns=2, percent=PERCENT_COLUMNS)
    book.table("各次模拟", report.per_draw, names={"draw": "模拟序号", "declined": "放弃人数", **HEADERS},
               percent=PERCENT_COLUMNS)
    book.save(path)


SCHOOLS_SHOWN = 30  # schools in the chart: those with the most vacancies on average


def chart_title(report: MonteCarloReport) -> str:
    return (f"{report.title or report.scenario}：放弃率 {report.rate:.1%} 的录取模拟（{report.draws} 次，"
            f"种子 {report.seed}）")


def chart_png(report: MonteCarloReport, path: Path) -> None:
    """Left: the schools with the most vacancies on average, the mean and the 5th–95th percentile band, with
    the probability of filling; middle and right: per region and in total the band of 职/普 (1 : 1 line) and
    of the enrollment rate (95% line).  Labels in Chinese (`solver.analysis.fonts`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from solver.analysis.fonts import use_cjk_font

    use_cjk_font()
    schools = report.schools[report.schools["registered"]]  # an unregistered school admits nobody (R2)
    schools = schools.sort_values(["vacancies_mean", "school_id"], ascending=[False, True])
    shown_all = len(schools) <= SCHOOLS_SHOWN
    schools = schools.head(SCHOOLS_SHOWN).iloc[::-1]
    regions = report.regions
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(17, max(5.0, 0.28 * len(schools) + 1.5)),
                                              constrained_layout=True)
    y = np.arange(len(schools))
    mean = schools["vacancies_mean"].to_numpy(dtype=float)
    low = schools["vacancies_p5"].to_numpy(dtype=float)
    high = schools["vacancies_p95"].to_numpy(dtype=float)
    left.barh(y, mean, color="C0", alpha=0.6, label="空额均值")
    left.errorbar(mean, y, xerr=[np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)], fmt="none",
                  ecolor="C3", capsize=2, lw=1, label="P5–P95")
    left.scatter(schools["vacancies_scenario"], y, marker="|", color="k", s=60, label="方案所列放弃")
    left.set_yticks(y, [f"{n}（招满 {p:.0%}）" for n, p in zip(schools["name"], schools["fill_probability"])],
                    fontsize=7)
    left.set_xlabel("末批次后空额（人）")
    left.set_title("各学校空额" if shown_all else f"空额最多的 {len(schools)} 所学校")
    left.legend(fontsize=8, loc="lower right")
    left.grid(axis="x", alpha=0.3)
    ry = np.arange(len(regions))[::-1]
    names = regions["name"].astype(str).tolist()
    for ax, col, line, line_label, fmt in (
            (middle, "vocational_per_general", ONE_TO_ONE, "普职比 1 : 1（JZ §一）", None),
            (right, "enrollment_rate", ENROLLMENT_TARGET, "高中阶段入学率 95%（HY §六.三）",
             PercentFormatter(1.0, decimals=1))):
        p5, p50, p95 = (regions[f"{col}_p{p}"].to_numpy(dtype=float) for p in PERCENTILES)
        ax.hlines(ry, p5, p95, color="C0", lw=4, alpha=0.6, label="P5–P95")
        ax.plot(p50, ry, "o", color="C0", label="中位数")
        ax.plot(regions[f"{col}_scenario"].to_numpy(dtype=float), ry, "x", color="k", label="方案所列放弃")
        ax.axvline(line, color="C3", ls=":", lw=1, label=line_label)
        ax.set_yticks(ry, names, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        if fmt is not None:
            ax.xaxis.set_major_formatter(fmt)
    middle.set_title("普职比（每名普高学生对应的中职学生）")
    middle.set_xlabel("职/普")
    right.set_title("高中阶段入学率")
    right.set_xlabel("入学率")
    fig.suptitle(chart_title(report))
    fig.savefig(path, dpi=110)
    plt.close(fig)
