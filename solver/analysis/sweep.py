"""Ratio sweep (issue #6.2): how the 普职比 and the enrollment rate move with the general high school plan.

Each step sets every region's general high school seats to a share of its graduates (R4, rounded half
up; the region's cutoff is dropped and the scenario's ``general_stage`` becomes ``seats``), validates the
changed scenario like any input (`solver.analysis.whatif.validation.rebuild`) and runs the sequential engine.  Per step
and region it reports general, vocational and unplaced students, the vocational share, the 普职比, the
enrollment rate and the vacancies of the vocational schools sitting in the region, with a 合计 row.

The steps are independent: they run as Dask tasks (`solver.analysis.distributed`: a LocalCluster of
``workers`` processes, or the cluster at ``scheduler``), each worker receiving the scenario (and its students
as text) once; with one worker and no scheduler, one after another in this process.  The chart puts the vocational
share and the unplaced students against the general share, with the 1 : 1 line (vocational share 0.5,
JZ §一, §五) and the 95% enrollment line (HY §六.三): ``sweep.png`` (matplotlib, Chinese labels in the
CJK font of `solver.analysis.fonts`) and ``sweep.html`` (plotly, with plotly.js embedded so that it opens offline).
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import codes_of, text
from models.results import display_name, summary_last, write_csv, write_json
from models.scenario import Scenario
from models.typed import plain
from solver.analysis.distributed import default_workers, run_tasks
from solver.analysis.whatif.validation import rebuild, students_text
from solver.engine.figures import totals
from solver.progress import Progress
from solver.run import RunOutput, run

ONE_TO_ONE = 0.5  # vocational share at 普职比 1 : 1 (JZ §一 普职比大体相当, §五)
ENROLLMENT_TARGET = 0.95  # 高中阶段入学率 at least 95% (HY §六.三)
TOTAL = "合计"
COLUMNS = ["general_share", "region_id", "name", "graduates", "general_seats", "students", "general", "vocational",
           "unplaced", "ineligible", "none", "general_vocational_ratio", "vocational_share", "enrollment_rate",
           "vocational_quota", "vocational_vacancies"]


class ShareError(ValueError):
    """A bad --general-share specification."""


def parse_shares(spec: str) -> list[float]:
    """``START:STOP:STEP`` (both ends included, e.g. ``0.40:0.60:0.02``: 11 steps), a comma list
    (``0.45,0.5,0.55``) or one share, full-width forms too (``０．４：０．６：０．０２``).  Shares lie between 0
    and 1."""
    spec = plain(spec)
    try:
        shares = _range(spec) if ":" in spec else [float(p) for p in spec.split(",") if p.strip()]
    except ShareError:
        raise
    except ValueError:
        raise ShareError(f"{spec!r} is not START:STOP:STEP, a comma list or a number") from None
    if not shares:
        raise ShareError("no general share given")
    bad = [s for s in shares if not 0 <= s <= 1]
    if bad:
        raise ShareError(f"a general share lies between 0 and 1, not {bad[0]:g}")
    if len(set(shares)) != len(shares):
        raise ShareError("a share is given twice")
    return shares


def _range(spec: str) -> list[float]:
    """The shares of ``START:STOP:STEP``, both ends included."""
    parts = [float(p) for p in spec.split(":")]
    if len(parts) != 3:
        raise ShareError("a range is START:STOP:STEP, e.g. 0.40:0.60:0.02")
    start, stop, step = parts
    if step <= 0:
        raise ShareError("the step of a range must be positive")
    if stop < start:
        raise ShareError("a range needs START <= STOP")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(count)]


def share_label(share: float) -> str:
    """45% or 45.5%: as many decimals as the share needs."""
    return f"{share:.0%}" if round(share * 100, 6).is_integer() else f"{share:.1%}"


def general_seats_at(sc: Scenario, share: float) -> NDArray[np.int64]:
    """Each region's general seats at ``share`` of its graduates, rounded half up (R4)."""
    graduates = sc.regions["graduates"].to_numpy(dtype=float, na_value=0.0)
    return np.floor(graduates * share + 0.5 + 1e-9).astype(np.int64)


def at_share(sc: Scenario, share: float, text_tables: Mapping[str, pd.DataFrame] | None = None) -> Scenario:
    """``sc`` with every region's general seats at ``share`` of its graduates and ``general_stage: seats``,
    validated like input."""
    regions = sc.regions.copy()
    regions["general_seats"] = pd.array(general_seats_at(sc, share), dtype="Int64")
    regions["general_cutoff"] = pd.array([pd.NA] * len(regions), dtype="Float64")
    settings = replace(sc.settings, general_stage="seats")
    return rebuild(sc, settings=settings, regions=regions, text_tables=text_tables)


def step_figures(out: RunOutput, share: float) -> pd.DataFrame:
    """One step's rows: per region (by the students' region; vocational quota and vacancies of the
    registered schools sitting in it) and the 合计 row."""
    reg = out.regions
    schools = out.schools[out.schools["registered"]]
    where = codes_of(schools["region_id"], reg["region_id"])
    R = len(reg)
    inside = where >= 0
    quota = np.bincount(where[inside], weights=schools["quota"].to_numpy()[inside], minlength=R).astype(np.int64)
    vacancies = np.bincount(where[inside], weights=schools["vacancies"].to_numpy()[inside],
                            minlength=R).astype(np.int64)
    rows = pd.DataFrame({
        "general_share": share, "region_id": reg["region_id"].to_numpy(), "name": reg["name"].to_numpy(),
        "graduates": reg["graduates"].to_numpy(dtype=float, na_value=np.nan),
        "general_seats": reg["general_seats"].to_numpy(dtype=float, na_value=np.nan),
        **{c: reg[c].to_numpy() for c in ("students", "general", "vocational", "unplaced", "ineligible", "none",
                                          "general_vocational_ratio", "vocational_share", "enrollment_rate")},
        "vocational_quota": quota, "vocational_vacancies": vacancies,
    })
    t = totals(reg)
    total = {"general_share": share, "region_id": "", "name": TOTAL, "graduates": float(t["graduates"]),
             "general_seats": float(np.nansum(rows["general_seats"])),
             "students": t["students"], "general": t["general"], "vocational": t["vocational"],
             "unplaced": t["unplaced"], "ineligible": t["ineligible"], "none": t["none"],
             "general_vocational_ratio": t["general_vocational_ratio"],
             "vocational_share": np.nan if t["vocational_share"] is None else t["vocational_share"],
             "enrollment_rate": np.nan if t["enrollment_rate"] is None else t["enrollment_rate"],
             "vocational_quota": int(schools["quota"].sum()), "vocational_vacancies": int(schools["vacancies"].sum())}
    return pd.concat([rows, pd.DataFrame([total])], ignore_index=True)[COLUMNS]


@dataclass
class SweepReport:
    scenario: str
    shares: list[float]
    table: pd.DataFrame  # COLUMNS: per step, its regions and the 合计 row
    workers: int
    timings: dict[str, float] = field(default_factory=dict)
    title: str = ""  # the scenario as a planner names it (models.results.display_name)
    scheduler: str = "in-process"  # where the steps ran (`solver.analysis.distributed.TaskRun.scheduler`)

    @property
    def totals(self) -> pd.DataFrame:
        return self.table[self.table["name"] == TOTAL].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        steps = [_step_totals(r) for r in self.totals.to_dict("records")]
        meets = [s["general_share"] for s in steps
                 if (rate := s["enrollment_rate"]) is not None and rate >= ENROLLMENT_TARGET]
        return {"status": "done", "scenario": self.scenario, "steps": len(self.shares), "workers": self.workers,
                "scheduler": self.scheduler,
                "one_to_one_vocational_share": ONE_TO_ONE, "enrollment_target": ENROLLMENT_TARGET,
                "shares_meeting_enrollment_target": meets, "totals": steps, "timings": self.timings}


class StepTotals(TypedDict):
    """One step's 合计 in summary.json."""

    general_share: float
    general: int
    vocational: int
    unplaced: int
    general_vocational_ratio: str
    vocational_share: float | None
    enrollment_rate: float | None
    vocational_vacancies: int


def _step_totals(r: Mapping[Hashable, Any]) -> StepTotals:
    """A 合计 row of the table (a record of `SweepReport.totals`) as summary.json gives it."""
    return {"general_share": float(r["general_share"]), "general": int(r["general"]),
            "vocational": int(r["vocational"]), "unplaced": int(r["unplaced"]),
            "general_vocational_ratio": str(r["general_vocational_ratio"]),
            "vocational_share": _num(r["vocational_share"]), "enrollment_rate": _num(r["enrollment_rate"]),
            "vocational_vacancies": int(r["vocational_vacancies"])}


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)


# The steps ---------------------------------------------------------------------------------------------------

def _run_step(shared: tuple[Scenario, dict[str, pd.DataFrame]], share: float) -> tuple[pd.DataFrame, float]:
    """A task: one step, on the scenario and its students as text (sent to each worker once)."""
    t = time.perf_counter()
    base, texts = shared
    sc = at_share(base, share, texts)
    out = run(sc, engine="sequential")
    return step_figures(out, share), time.perf_counter() - t


def sweep(sc: Scenario, shares: list[float], workers: int | None = None,
          progress: Progress | None = None, scheduler: str | None = None) -> SweepReport:
    """Run every step and collect the figures: as Dask tasks on ``workers`` local processes (default the
    CPUs) or on the cluster at ``scheduler``; with one worker and no scheduler, in this process."""
    t0 = time.perf_counter()
    shares = list(shares)
    workers = max(1, min(workers or default_workers(), len(shares)))
    texts = {"students": students_text(sc.students)}  # converted once, not per step
    say = progress or (lambda *_: None)
    say("sweeping", 0, len(shares))
    in_order = workers == 1 and not scheduler  # in this process: the steps end in their order

    def ticks(count: int, total: int, index: int) -> None:
        if count:
            say(f"general share {share_label(shares[index])}" if in_order else "general shares", count, total)

    ran = run_tasks(_run_step, shares, (sc, texts), scheduler=scheduler, workers=workers,
                    in_process=in_order, ticks=ticks, name="sweep")
    table = pd.concat([rows for rows, _ in ran.results], ignore_index=True)
    step_seconds = [seconds for _, seconds in ran.results]
    for col in ("region_id", "name", "general_vocational_ratio"):
        table[col] = text(table[col])
    timings = {"total": round(time.perf_counter() - t0, 4), "steps_sum": round(sum(step_seconds), 4),
               "step_max": round(max(step_seconds), 4), **{f"dask_{k}": v for k, v in ran.timings.items()}}
    return SweepReport(sc.name, shares, table, ran.workers, timings, title=display_name(sc), scheduler=ran.scheduler)


# Writing and the chart ---------------------------------------------------------------------------------------

def write_sweep(report: SweepReport, out_dir: Path | str) -> Path:
    """``sweep.csv`` (per step and region, with 合计 rows), ``sweep.png``, ``sweep.html`` and
    ``summary.json`` (written last)."""
    with summary_last(out_dir, report.timings) as out:
        write_csv(report.table, out / "sweep.csv")
        chart_png(report, out / "sweep.png")
        chart_html(report, out / "sweep.html")
    write_json(report.summary(), out / "summary.json")
    return out


# Chart labels (issue #10.7): Chinese, drawn with the CJK font of solver.analysis.fonts.
X_LABEL = "普通高中招生计划占初中毕业生的比例（%）"
ONE_TO_ONE_LABEL = "普职比 1 : 1（JZ §一、§五）"
ENROLLMENT_LABEL = "高中阶段入学率 95%（HY §六.三）"


def chart_title(report: SweepReport) -> str:
    return f"{report.title or report.scenario}：普职比测算（{len(report.shares)} 个方案）"


def chart_png(report: SweepReport, path: Path) -> None:
    """Vocational share and enrollment rate (left) and unplaced students and vocational vacancies (right)
    against the general share, with the 1 : 1 and 95% lines; labels in Chinese (`solver.analysis.fonts`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter, StrMethodFormatter

    from solver.analysis.fonts import use_cjk_font

    use_cjk_font()
    t = report.totals
    x = t["general_share"].to_numpy(dtype=float) * 100
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    regions = report.table[report.table["name"] != TOTAL]
    for i, (_, part) in enumerate(regions.groupby("region_id", sort=False)):
        left.plot(part["general_share"] * 100, part["vocational_share"], color="0.75", lw=0.8,
                  label="中职占比（各地区）" if i == 0 else None)
    left.plot(x, t["vocational_share"], "o-", color="C0", lw=2, label="中职占比（合计）")
    left.plot(x, t["enrollment_rate"], "s--", color="C2", lw=2, label="高中阶段入学率")
    left.axhline(ONE_TO_ONE, color="C3", lw=1, ls=":", label=ONE_TO_ONE_LABEL)
    left.axhline(ENROLLMENT_TARGET, color="C2", lw=1, ls=":", label=ENROLLMENT_LABEL)
    left.set_title("中职占比与高中阶段入学率")
    left.set_xlabel(X_LABEL)
    left.set_ylabel("比例")
    left.set_ylim(0, 1.02)
    left.yaxis.set_major_formatter(PercentFormatter(1.0))
    left.legend(fontsize=8, loc="lower left")
    left.grid(alpha=0.3)
    right.plot(x, t["unplaced"], "o-", color="C1", lw=2, label="未录取考生")
    right.plot(x, t["vocational_vacancies"], "s--", color="C4", lw=2, label="中职空额")
    right.set_title("未录取考生与中职空额")
    right.set_xlabel(X_LABEL)
    right.set_ylabel("人数")
    right.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.suptitle(chart_title(report))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def chart_html(report: SweepReport, path: Path) -> None:
    """The same chart with plotly, every region as a trace to switch on; labels in Chinese; plotly.js is
    embedded (the file opens without a network)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t = report.totals
    x = t["general_share"].to_numpy(dtype=float) * 100
    fig = make_subplots(rows=1, cols=2, subplot_titles=("中职占比与高中阶段入学率", "未录取考生与中职空额"))
    fig.add_trace(go.Scatter(x=x, y=t["vocational_share"], mode="lines+markers", name="中职占比（合计）",
                             customdata=t["general_vocational_ratio"],
                             hovertemplate="普高 %{x:.0f}%：中职占比 %{y:.1%}，普职比 %{customdata}<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=t["enrollment_rate"], mode="lines+markers", name="高中阶段入学率（合计）",
                             line={"dash": "dash"}, hovertemplate="普高 %{x:.0f}%：入学率 %{y:.1%}<extra></extra>"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=t["unplaced"], mode="lines+markers", name="未录取考生（合计）",
                             hovertemplate="普高 %{x:.0f}%：未录取 %{y:,}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=x, y=t["vocational_vacancies"], mode="lines+markers", name="中职空额（合计）",
                             line={"dash": "dash"}, hovertemplate="普高 %{x:.0f}%：中职空额 %{y:,}<extra></extra>"),
                  row=1, col=2)
    regions = report.table[report.table["name"] != TOTAL]
    for _, part in regions.groupby("region_id", sort=False):
        name = str(part["name"].iloc[0])
        px = part["general_share"].to_numpy(dtype=float) * 100
        fig.add_trace(go.Scatter(x=px, y=part["vocational_share"], mode="lines", name=f"{name} 中职占比",
                                 legendgroup=name, visible="legendonly", line={"width": 1}), row=1, col=1)
        fig.add_trace(go.Scatter(x=px, y=part["unplaced"], mode="lines", name=f"{name} 未录取",
                                 legendgroup=name, visible="legendonly", line={"width": 1}), row=1, col=2)
    fig.add_hline(y=ONE_TO_ONE, line_dash="dot", line_color="firebrick", row=1, col=1,
                  annotation_text=ONE_TO_ONE_LABEL, annotation_position="bottom right")
    fig.add_hline(y=ENROLLMENT_TARGET, line_dash="dot", line_color="seagreen", row=1, col=1,
                  annotation_text=ENROLLMENT_LABEL, annotation_position="top right")
    fig.update_xaxes(title_text=X_LABEL)
    fig.update_yaxes(title_text="比例", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(title_text="人数", tickformat=",", row=1, col=2)
    fig.update_layout(title=chart_title(report), hovermode="x unified", height=520,
                      separators=".,", font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"})
    fig.write_html(path, include_plotlyjs=True, full_html=True)
