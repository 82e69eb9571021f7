"""Quota planning (issue #6.3): CP-SAT chooses every school's quota (招生计划) within its bounds and a
given total, with the admission rules R1–R12 kept as constraints over the quota variables.

The model is the verification model (`solver.cpsat.AdmissionModel`) with one change: R7's cap is an
integer variable ``q_s`` in ``[min_s, max_s]`` per school (``full <=> count >= q_s``, the seats held after
each batch stay ``<= q_s``), and ``sum(q_s) == total``.  For any fixed quota vector the rules have a
single outcome (docs/rules.md, "Why the CP-SAT model has exactly one solution"), so every feasible
assignment of the model is "a quota vector and *its* outcome under the rules"; the objective picks the
best vector.  The result is not trusted: the sequential engine re-runs the scenario with the chosen
quotas and must give exactly the predicted admissions and offers (``rerun_equal``).

Objectives (all over confirmed vocational admissions, i.e. outcome ``vocational``):

- ``placed``: maximize the number of students admitted to a vocational school.
- ``first-choice``: maximize the number admitted at choice 1 of the *first* batch (第一批次第一志愿).
- ``ratio``: minimize ``sum over regions |vocational_r - target_r|`` (by the students' region).  The
  target is the region's general admissions (普职比 1 : 1, the policy's 大体相当) unless a
  ``target_share`` s is given: then ``target_r = round(s * graduates_r)``.

Bounds: by default each school may change by -20 % .. +20 % of its current quota (``min = ceil``,
``max = floor``); a ``school_max`` table (school_id, max[, min]) replaces them per school.  Two
adjustments, both reported in the bounds table: a school's minimum is raised to the sum of its
sub-quotas (R8: the sub-quotas are parts of its plan and stay fixed data) when the current quota
already covers them; an unregistered school (R2) takes no student, so its quota stays as it is.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.results import write_csv, write_json
from models.scenario import Scenario
from solver.engine.arrays import ScenarioArrays
from solver.run import RunOutput, run, write_outputs

OBJECTIVES = ("placed", "first-choice", "ratio")
Progress = Callable[[str], None]


class PlanError(ValueError):
    """Bad planning input (bounds, total, objective): the CLI exits 2."""


@dataclass
class Bounds:
    lower: np.ndarray  # int64[S]
    upper: np.ndarray
    notes: list[str] = field(default_factory=list)  # one line per school whose bounds were adjusted


@dataclass
class PlanReport:
    scenario: Scenario  # the original scenario
    objective: str
    total: int
    status: str  # OPTIMAL / FEASIBLE / INFEASIBLE / UNKNOWN / MODEL_INVALID
    objective_value: float | None
    bound: float | None
    bounds: Bounds
    quota_before: np.ndarray
    quota_after: np.ndarray | None
    predicted: object | None = None  # models.results.Result from the CP-SAT solution
    rerun: RunOutput | None = None  # the sequential engine with quota_after
    rerun_equal: bool | None = None
    rerun_differences: int | None = None
    rerun_objective: float | None = None
    baseline_objective: float | None = None  # the objective of the current quotas (sequential engine)
    target_share: float | None = None
    times: dict = field(default_factory=dict)
    model_size: dict = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        if self.objective_value is None or self.bound is None:
            return None
        return abs(self.bound - self.objective_value)

    @property
    def relative_gap(self) -> float | None:
        g = self.gap
        return None if g is None else g / max(1.0, abs(self.objective_value))

    @property
    def sense(self) -> str:
        return "minimize" if self.objective == "ratio" else "maximize"

    def quota_table(self) -> pd.DataFrame:
        sch = self.scenario.schools
        after = self.quota_after if self.quota_after is not None else np.full(len(sch), -1)
        table = pd.DataFrame({
            "school_id": sch["school_id"].astype(str).to_numpy(), "name": sch["name"].to_numpy(),
            "quota_before": self.quota_before, "quota_after": after,
            "min": self.bounds.lower, "max": self.bounds.upper,
            "change": after - self.quota_before,
        })
        if self.quota_after is None:
            table[["quota_after", "change"]] = None
        return table

    def summary(self) -> dict:
        return {
            "status": self.status,
            "scenario": self.scenario.name,
            "objective": self.objective,
            "sense": self.sense,
            "objective_definition": OBJECTIVE_TEXT[self.objective] + (
                f" (target share {self.target_share})" if self.objective == "ratio" and self.target_share is not None
                else ""),
            "total": self.total,
            "objective_value": self.objective_value,
            "bound": self.bound,
            "gap": self.gap,
            "relative_gap": self.relative_gap,
            "optimal": self.status == "OPTIMAL",
            "baseline_objective_current_quotas": self.baseline_objective,
            "rerun_objective": self.rerun_objective,
            "sequential re-run equals prediction": self.rerun_equal,
            "rerun_differences": self.rerun_differences,
            "quota_total_before": int(self.quota_before.sum()),
            "quota_total_after": None if self.quota_after is None else int(self.quota_after.sum()),
            "bounds_notes": self.bounds.notes,
            "model_size": self.model_size,
            "times": self.times,
        }


OBJECTIVE_TEXT = {
    "placed": "maximize confirmed vocational admissions",
    "first-choice": "maximize confirmed vocational admissions at choice 1 of the first batch",
    "ratio": "minimize sum over regions of |vocational admissions - target| (target = general admissions)",
}


# Bounds -----------------------------------------------------------------------------------------------

def read_school_max(path: Path | str) -> pd.DataFrame:
    """A CSV ``school_id,max[,min]``."""
    try:
        frame = pd.read_csv(path, dtype={"school_id": str}, encoding="utf-8-sig")
    except Exception as exc:  # unreadable, empty
        raise PlanError(f"{path}: cannot read the school bounds ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "school_id" not in frame.columns or "max" not in frame.columns:
        raise PlanError(f"{path}: needs the columns school_id,max (and optionally min)")
    return frame


def quota_bounds(sc: Scenario, min_change: float = -0.2, max_change: float = 0.2,
                 school_max: pd.DataFrame | None = None) -> Bounds:
    if min_change > 0 or max_change < 0 or min_change < -1:
        raise PlanError(f"--min-change must lie in -100%..0 and --max-change be >= 0 (got {min_change:+.0%}, "
                        f"{max_change:+.0%})")
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    ids = sc.schools["school_id"].astype(str).to_numpy()
    lower = np.array([max(0, math.ceil(q * (1 + min_change) - 1e-9)) for q in quota], dtype=np.int64)
    upper = np.array([math.floor(q * (1 + max_change) + 1e-9) for q in quota], dtype=np.int64)
    notes: list[str] = []
    if school_max is not None:
        where = {sid: j for j, sid in enumerate(ids)}
        unknown = sorted(set(school_max["school_id"].astype(str).str.strip()) - set(where))
        if unknown:
            raise PlanError(f"--school-max names unknown school(s): {', '.join(unknown[:10])}")
        for row in school_max.to_dict("records"):
            j = where[str(row["school_id"]).strip()]
            hi = _whole(row["max"], f"max of {ids[j]}")
            lo = _whole(row["min"], f"min of {ids[j]}") if "min" in row and pd.notna(row["min"]) else None
            upper[j] = hi
            lower[j] = lo if lo is not None else min(lower[j], hi)
            if lower[j] > upper[j]:
                raise PlanError(f"--school-max: school {ids[j]} has min {lower[j]} > max {upper[j]}")
    sub = sc.subquotas.groupby(sc.subquotas["school_id"].astype(str))["quota"].sum()
    for j, sid in enumerate(ids):
        need = int(sub.get(sid, 0))
        if need > lower[j] and need <= quota[j] and need <= upper[j]:
            notes.append(f"{sid}: min raised from {lower[j]} to {need}, the sum of its sub-quotas (R8)")
            lower[j] = need
    registered = sc.schools["registered"].to_numpy(dtype=bool)
    for j in np.flatnonzero(~registered):
        if lower[j] != quota[j] or upper[j] != quota[j]:
            notes.append(f"{ids[j]}: not registered (R2), takes no student: quota kept at {quota[j]}")
        lower[j] = upper[j] = quota[j]
    return Bounds(lower, upper, notes)


def _whole(value, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"--school-max: {what} is not a number ({value!r})") from None
    if number != int(number) or number < 0:
        raise PlanError(f"--school-max: {what} must be a whole number >= 0 ({value!r})")
    return int(number)


def parse_change(text: str) -> float:
    """"-20%", "+15%", "0.2" -> a fraction."""
    t = str(text).strip()
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise PlanError(f"not a change: {text!r} (e.g. -20% or +15%)") from None


# Objective values of a result (the same definitions the model optimizes) -----------------------------------

def objective_of(sc: Scenario, result, objective: str, target_share: float | None = None) -> float:
    adm = result.admissions
    voc = adm["outcome"] == "vocational"
    if objective == "placed":
        return float(voc.sum())
    if objective == "first-choice":
        first = sc.settings.batches[0].id
        batch = pd.to_numeric(adm["batch"], errors="coerce")
        rank = pd.to_numeric(adm["choice_rank"], errors="coerce")
        return float((voc & (batch == first) & (rank == 1)).sum())
    if objective == "ratio":
        regions = sc.regions["region_id"].astype(str)
        by_region = adm["region_id"].astype(str)
        v = voc.groupby(by_region).sum().reindex(regions, fill_value=0).to_numpy()
        g = (adm["outcome"] == "general").groupby(by_region).sum().reindex(regions, fill_value=0).to_numpy()
        return float(np.abs(v - _targets(sc, g, target_share)).sum())
    raise PlanError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")


def _targets(sc: Scenario, general: np.ndarray, target_share: float | None) -> np.ndarray:
    """The vocational target per region: its general admissions, or round(share * graduates)."""
    if target_share is None:
        return np.asarray(general, dtype=np.int64)
    grads = sc.regions["graduates"].to_numpy(dtype=float, na_value=np.nan)
    out = np.where(np.isnan(grads), general, np.rint(target_share * np.nan_to_num(grads)))
    return out.astype(np.int64)


# Planning ---------------------------------------------------------------------------------------------------

def flow_bound(sc: Scenario, arr: ScenarioArrays, upper: np.ndarray) -> int:
    """The most students who could be placed within their listed choices with every school at the top of
    its bounds (max flow, `solver.analysis.flow`; sub-quotas as they are): the rule's placements under any quota
    vector within the bounds are one such flow, so this bounds objective ``placed``."""
    from solver.analysis.flow import build_network, listed_choices, max_flow

    listed = listed_choices(sc, arr)
    who = listed[:, 0] >= 0 if listed.shape[1] else np.zeros(arr.n, dtype=bool)
    value, _ = max_flow(build_network(arr, listed, who, np.maximum(upper, 0), arr.sub_quota))
    return int(value)


def plan_quotas(sc: Scenario, total: int | None = None, objective: str = "placed", *, min_change: float = -0.2,
                max_change: float = 0.2, school_max: pd.DataFrame | None = None, bounds: Bounds | None = None,
                target_share: float | None = None, time_limit: float | None = 120.0, workers: int = 2,
                progress: Progress | None = None, warm_start: bool = True) -> PlanReport:
    """Choose the quotas; ``total`` defaults to the current sum of quotas.  Raises `PlanError` on bad input."""
    from ortools.sat.python import cp_model

    from solver.cpsat import AdmissionModel, build_instance

    say = progress or (lambda _: None)
    if objective not in OBJECTIVES:
        raise PlanError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    t_start = time.perf_counter()
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    bounds = bounds or quota_bounds(sc, min_change, max_change, school_max)
    total = int(quota.sum()) if total is None else int(total)
    lo_sum, hi_sum = int(bounds.lower.sum()), int(bounds.upper.sum())
    if not lo_sum <= total <= hi_sum:
        raise PlanError(f"--total {total:,} is outside what the school bounds allow ({lo_sum:,} .. {hi_sum:,})")

    say("building the model")
    arr = ScenarioArrays.from_scenario(sc)
    arr = dataclasses.replace(arr, quota=np.maximum(bounds.upper, 0))  # seat counts are bounded by max_s
    inst = build_instance(sc, arr)
    model = AdmissionModel(inst, quota_bounds=(bounds.lower, bounds.upper))
    m = model.model
    q_vars = [m.get_int_var_from_proto_index(int(i)) for i in model.quota_index]
    m.add(sum(q_vars) == total)
    confirmed = np.flatnonzero(~inst.declines)  # an offer counts once confirmed (R9)
    x = model.vars.x
    # redundant (implied by R7, R10), for the LP bound: a school confirms at most q_s students, and at most
    # as many as the distinct students who apply to it
    for j, var in enumerate(q_vars):
        here = confirmed[inst.school[confirmed] == j]
        if len(here):
            seats = sum(m.get_bool_var_from_proto_index(int(i)) for i in x[here])
            m.add(seats <= var)
            m.add(seats <= len(np.unique(inst.student[here])))
    if objective == "placed":
        chosen = confirmed
    elif objective == "first-choice":
        chosen = confirmed[(inst.batch[confirmed] == 0) & (inst.rank[confirmed] == 1)]
    else:
        chosen = None
    if chosen is not None:
        gain = sum(m.get_bool_var_from_proto_index(int(i)) for i in x[chosen])
        # seats, students who could take them, and (placed) the max flow with every school at its maximum
        trivial_bound = min(total, len(np.unique(inst.student[chosen])))
        if objective == "placed":
            most = flow_bound(sc, arr, bounds.upper)
            trivial_bound = min(trivial_bound, most)
        m.add(gain <= trivial_bound)  # redundant: a bound for the search
        m.maximize(gain)
    else:
        trivial_bound = None
        R = arr.n_regions
        general = np.bincount(arr.region[inst.general], minlength=R)
        targets = _targets(sc, general, target_share)
        devs = []
        for r in range(R):
            here = confirmed[inst.region[confirmed] == r]
            voc = sum(m.get_bool_var_from_proto_index(int(i)) for i in x[here]) if len(here) else 0
            d = m.new_int_var(0, int(max(targets[r], len(here))), f"dev_{r}")
            m.add(d >= voc - int(targets[r]))
            m.add(d >= int(targets[r]) - voc)
            devs.append(d)
        m.minimize(sum(devs))
    t_built = time.perf_counter()

    say("sequential run with the current quotas")  # the baseline, and a warm start when it fits the total
    current = run(sc, "sequential")
    baseline = objective_of(sc, current.result, objective, target_share)
    if warm_start:  # a complete solution to start from: the rules' outcome of a feasible quota vector
        say("warm start: the outcome of a feasible quota vector")
        start_q = _feasible_start(quota, bounds, total)
        fixed = m.clone()
        for i, v in zip(model.quota_index, start_q):
            fixed.add(fixed.get_int_var_from_proto_index(int(i)) == int(v))
        fixed.clear_objective()
        first = cp_model.CpSolver()
        first.parameters.num_workers = workers
        if time_limit:
            first.parameters.max_time_in_seconds = float(time_limit)
        if first.solve(fixed) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            m.clear_hints()
            values = np.asarray(first.response_proto.solution, dtype=np.int64)
            m.proto.merge_text_format("solution_hint { " + " ".join(
                f"vars: {i} values: {v}" for i, v in enumerate(values.tolist())) + " }")

    say("solving")
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.cp_model_probing_level = 0  # probing costs most of the presolve here, for little
    if time_limit:
        solver.parameters.max_time_in_seconds = max(1.0, float(time_limit) - (time.perf_counter() - t_start))
    t0 = time.perf_counter()

    class Found(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            say(f"solution {self.objective_value:,.0f}, bound {self.best_objective_bound:,.0f} "
                f"({time.perf_counter() - t0:.0f} s)")

    status = solver.solve(m, Found())
    t_solved = time.perf_counter()
    report = PlanReport(sc, objective, total, solver.status_name(status), None, None, bounds, quota, None,
                        baseline_objective=baseline, target_share=target_share, model_size=model.size())
    report.times = {"build": round(t_built - t_start, 3), "solve": round(t_solved - t0, 3)}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return report
    report.objective_value = float(solver.objective_value)
    report.bound = float(solver.best_objective_bound)
    if trivial_bound is not None:  # CP-SAT's reported bound may stay above this valid one (sum q_s = total)
        report.bound = min(report.bound, float(trivial_bound))
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    report.quota_after = values[model.quota_index]
    report.predicted = model.result(values[model.decision_index].astype(bool), engine="cpsat")

    say("sequential re-run with the new quotas")
    t1 = time.perf_counter()
    report.rerun = run(_with_quotas(sc, report.quota_after), "sequential")
    report.rerun_differences, report.rerun_equal = _same(report.predicted, report.rerun.result)
    report.rerun_objective = objective_of(sc, report.rerun.result, objective, target_share)
    if report.rerun_objective != report.objective_value:
        report.rerun_equal = False
    report.times["rerun"] = round(time.perf_counter() - t1, 3)
    report.times["total"] = round(time.perf_counter() - t_start, 3)
    return report


def _with_quotas(sc: Scenario, quotas: np.ndarray) -> Scenario:
    schools = sc.schools.copy()
    schools["quota"] = np.asarray(quotas, dtype=np.int64)
    return dataclasses.replace(sc, schools=schools)


def _feasible_start(quota: np.ndarray, bounds: Bounds, total: int) -> np.ndarray:
    """The current quotas clipped to the bounds, then moved to the total one school at a time."""
    q = np.clip(quota, bounds.lower, bounds.upper).astype(np.int64)
    diff = total - int(q.sum())
    for j in np.argsort(-quota, kind="stable"):
        if diff == 0:
            break
        step = min(diff, bounds.upper[j] - q[j]) if diff > 0 else max(diff, bounds.lower[j] - q[j])
        q[j] += step
        diff -= step
    return q


def _same(a, b) -> tuple[int, bool]:
    """Students whose outcome, school, batch or rank differ, and whether admissions and offers are equal."""
    from solver.verify import compare, offers_equal

    differences = len(compare(a, b))
    return differences, differences == 0 and offers_equal(a, b)


# Files ------------------------------------------------------------------------------------------------------

def write_plan(report: PlanReport, out_dir: Path | str) -> Path:
    """quotas.csv, the predicted result files (the sequential re-run's, equal to the prediction when
    ``rerun_equal``), plan.xlsx (quotas and regions) and summary.json (the plan's figures, and the
    re-run's own summary under ``outcome``)."""
    out_dir = Path(out_dir)
    outcome = None
    if report.rerun is not None:
        write_outputs(report.rerun, out_dir)
        outcome = report.rerun.summary()
    out_dir.mkdir(parents=True, exist_ok=True)
    table = report.quota_table()
    write_csv(table, out_dir / "quotas.csv")
    write_workbook(report, table, out_dir / "plan.xlsx")
    write_json({**report.summary(), "outcome": outcome}, out_dir / "summary.json")
    return out_dir


# The workbook a planner forwards (issue #10.7): Chinese sheets and headers, set up to print.
SUMMARY_LABELS = {
    "status": "求解状态", "scenario": "方案", "objective": "目标", "sense": "方向", "objective_definition": "目标定义",
    "total": "计划总数", "objective_value": "目标值", "bound": "上界", "gap": "差距", "relative_gap": "相对差距",
    "optimal": "已证最优", "baseline_objective_current_quotas": "现行计划的目标值", "rerun_objective": "复算的目标值",
    "sequential re-run equals prediction": "复算与预测一致", "rerun_differences": "复算与预测不同的考生",
    "quota_total_before": "原计划合计", "quota_total_after": "新计划合计", "bounds_notes": "上下限说明",
    "model_size": "模型规模", "times": "用时（秒）",
}


def write_workbook(report: PlanReport, quotas: pd.DataFrame, path: Path) -> None:
    """plan.xlsx: 概要 (the plan's figures), 计划 (each school's quota before and after, its bounds), and the
    re-run's 地区 and 学校 tables."""
    from models.columns import text
    from models.results import display_name
    from models.workbooks import REGION, SCHOOL, Book

    summary = report.summary()
    overview = pd.DataFrame({"item": text([SUMMARY_LABELS.get(k, k) for k in summary]),
                             "value": text([_shown(v) for v in summary.values()])})
    book = Book(f"{display_name(report.scenario)} 招生计划方案")
    book.table("概要", overview, freeze_columns=1)
    book.table("计划", quotas, names=SCHOOL, freeze_columns=2)
    if report.rerun is not None:
        book.table("地区", report.rerun.regions, names=REGION, freeze_columns=2,
                   percent=("vocational_share", "enrollment_rate"))
        book.table("学校", report.rerun.schools, names=SCHOOL, freeze_columns=2, percent=("fill_rate",))
    book.save(path)


def _shown(value) -> str:
    """A summary value as text: counts with thousands separators, flags as 是/否."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return f"{int(v):,}" if v.is_integer() else f"{v:,.2f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(value)
