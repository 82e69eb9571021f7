"""An analysis as one job (issue #6): a what-if, a ratio sweep, a bound, a quota plan or a mechanism comparison
(#15.3) run on a loaded scenario and its files written, the one dispatch that the command line
(`api.cli.analysis`, `api.cli.planning`, `api.cli.comparing`) and the service's worker (`api.service.worker`)
both call, so that ``zhaosheng whatif`` and ``POST /scenarios/{id}/whatif`` (``plan-quotas`` and
``POST /scenarios/{id}/plan``, ``compare`` and ``POST /scenarios/{id}/compare``) give the same files.

The parameters are the service's (the request's JSON as stored with the analysis): a what-if's
``changes`` (`solver.analysis.whatif.Changes`) and ``seed``; a sweep's ``general_share``
(``START:STOP:STEP``, a comma list or one share, `solver.analysis.sweep.parse_shares`) and ``workers``
(processes; the number of CPUs when not given); a bound takes none; a plan's ``total`` (the current sum
when not given), ``objective`` (`solver.analysis.plan.OBJECTIVES`), ``min_change`` and ``max_change``
(``-20%``, ``+20%``), ``school_max`` (rows ``{school_id, max[, min]}``), ``target_share``, ``time_limit``
(seconds, 120 by default) and ``threads`` (CP-SAT's workers, 2 by default); a mechanism comparison's
``mechanisms`` (``boston,parallel,chen-kesten:2`` or a list, `solver.analysis.compare.parse_mechanisms`) and
``band`` (the points of a score band, 10 by default); a Monte Carlo of declines' (#16.3) ``decline_rate``
(0.04 or ``4%``), ``draws`` (200), ``seed`` (1), ``keep_declines`` (false: the drawn declines replace the
listed ones), ``workers`` and ``serial`` (`solver.analysis.montecarlo.montecarlo`).  A sweep and a Monte Carlo
also take ``scheduler`` (``tcp://HOST:PORT``: their tasks run on that Dask cluster, `solver.analysis.distributed`).
The analyses are imported when run (the service's schemas read `AnalysisKind` without loading them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union, get_args, overload

import pandas as pd

from models.results import write_json
from solver.progress import Phase, Progress
from solver.resources import peak_memory_mib

if TYPE_CHECKING:
    from models.scenario import Scenario
    from solver.analysis.compare import CompareReport
    from solver.analysis.flow import BoundReport
    from solver.analysis.montecarlo import MonteCarloReport
    from solver.analysis.plan import PlanReport
    from solver.analysis.sweep import SweepReport
    from solver.analysis.whatif import WhatIfReport

AnalysisKind = Literal["whatif", "sweep", "bound", "plan", "compare", "montecarlo"]
ANALYSIS_KINDS: tuple[AnalysisKind, ...] = get_args(AnalysisKind)
ANALYSIS_NAMES: dict[AnalysisKind, str] = {"whatif": "what-if", "sweep": "sweep", "bound": "bound",
                                           "plan": "quota plan", "compare": "mechanism comparison",
                                           "montecarlo": "Monte Carlo of declines"}  # in messages
Params = Mapping[str, Any]  # JSON values, as the service stores them
Report = TypeVar("Report", "WhatIfReport", "SweepReport", "BoundReport", "PlanReport", "CompareReport",
                 "MonteCarloReport")
AnyAnalysis = Union["Analysis[WhatIfReport]", "Analysis[SweepReport]", "Analysis[BoundReport]",
                    "Analysis[PlanReport]", "Analysis[CompareReport]", "Analysis[MonteCarloReport]"]


@dataclass
class Analysis(Generic[Report]):
    """A finished analysis: its report, summary.json as written, and the tables the service keeps beside
    the summary (a what-if's regions side by side, a bound's schools)."""

    kind: AnalysisKind
    report: Report
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@overload
def run_analysis(kind: Literal["whatif"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[WhatIfReport]: ...
@overload
def run_analysis(kind: Literal["sweep"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[SweepReport]: ...
@overload
def run_analysis(kind: Literal["bound"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[BoundReport]: ...
@overload
def run_analysis(kind: Literal["plan"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[PlanReport]: ...
@overload
def run_analysis(kind: Literal["compare"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[CompareReport]: ...
@overload
def run_analysis(kind: Literal["montecarlo"], sc: Scenario, params: Params, out_dir: Path,
                 progress: Progress | None = None, phase: Phase | None = None) -> Analysis[MonteCarloReport]: ...
@overload
def run_analysis(kind: str, sc: Scenario, params: Params, out_dir: Path, progress: Progress | None = None,
                 phase: Phase | None = None) -> AnyAnalysis:
    ...
def run_analysis(kind: str, sc: Scenario, params: Params, out_dir: Path, progress: Progress | None = None,
                 phase: Phase | None = None) -> AnyAnalysis:
    """Run the analysis ``kind`` on ``sc`` and write its files into ``out_dir`` (summary.json last).
    ``progress`` gets the steps of a what-if or a sweep, ``phase`` the writing, a bound's run and a plan's
    steps, a comparison's runs.  A bad change raises `solver.analysis.whatif.ChangeError` before anything is
    written, bad planning input (bounds, total, objective) `solver.analysis.plan.PlanError`, bad mechanisms
    `solver.analysis.compare.MechanismError`."""
    runner = _RUNNERS.get(kind)
    if runner is None:
        raise ValueError(f"unknown analysis kind {kind!r}")
    return runner(sc, params, Path(out_dir), progress, phase or _silent)


def _silent(_: str) -> None:
    pass


def _whatif(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
            phase: Phase) -> Analysis[WhatIfReport]:
    from solver.analysis.whatif import whatif, write_whatif

    report = whatif(sc, params["changes"], seed=int(params.get("seed") or 0), progress=progress)
    phase("writing results")
    write_whatif(report, out_dir)
    return Analysis("whatif", report, _summary(out_dir), {"regions": report.regions})


def _sweep(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
           phase: Phase) -> Analysis[SweepReport]:
    from solver.analysis.sweep import parse_shares, sweep, write_sweep

    report = sweep(sc, parse_shares(params["general_share"]), workers=params.get("workers"),
                   scheduler=params.get("scheduler"), progress=progress)
    phase("writing results")
    write_sweep(report, out_dir)
    return Analysis("sweep", report, _summary(out_dir))


def _bound(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
           phase: Phase) -> Analysis[BoundReport]:
    from solver.analysis.flow import bound, write_bound

    phase("running the rules and the maximum flow")
    report = bound(sc)
    phase("writing results")
    write_bound(report, out_dir)
    return Analysis("bound", report, _summary(out_dir), {"schools": report.schools})


def _plan(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
          phase: Phase) -> Analysis[PlanReport]:
    from solver.analysis.plan import parse_change, plan_quotas, write_plan

    school_max = params.get("school_max")
    total = params.get("total")
    report = plan_quotas(sc, None if total is None else int(total), str(params.get("objective") or "placed"),
                         min_change=parse_change(str(params.get("min_change", "-20%"))),
                         max_change=parse_change(str(params.get("max_change", "+20%"))),
                         school_max=None if school_max is None else pd.DataFrame(list(school_max)),
                         target_share=params.get("target_share"),
                         time_limit=float(params.get("time_limit") or 120.0),
                         workers=int(params.get("threads") or 2), progress=phase)
    phase("writing the plan")
    write_plan(report, out_dir)
    return Analysis("plan", report, _summary(out_dir), {"quotas": report.quota_table()})


def _compare(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
             phase: Phase) -> Analysis[CompareReport]:
    from solver.analysis.compare import DEFAULT_BAND, compare, parse_mechanisms, write_compare

    specs = parse_mechanisms(params["mechanisms"])
    report = compare(sc, specs, band=float(params.get("band") or DEFAULT_BAND), progress=progress)
    phase("writing results")
    write_compare(report, out_dir)
    return Analysis("compare", report, _summary(out_dir), {"mechanisms": report.mechanisms,
                                                           "pairs": report.pair_totals()})


def _montecarlo(sc: Scenario, params: Params, out_dir: Path, progress: Progress | None,
                phase: Phase) -> Analysis[MonteCarloReport]:
    from solver.analysis.montecarlo import DEFAULT_DRAWS, DEFAULT_RATE, DEFAULT_SEED, montecarlo, write_montecarlo

    given = {k: params.get(k) for k in ("decline_rate", "draws", "seed")}
    report = montecarlo(sc, DEFAULT_RATE if given["decline_rate"] is None else given["decline_rate"],
                        DEFAULT_DRAWS if given["draws"] is None else int(given["draws"]),
                        DEFAULT_SEED if given["seed"] is None else int(given["seed"]),
                        keep_declines=bool(params.get("keep_declines")), workers=params.get("workers"),
                        scheduler=params.get("scheduler"), serial=bool(params.get("serial")), progress=progress)
    phase("writing results")
    write_montecarlo(report, out_dir)
    return Analysis("montecarlo", report, _summary(out_dir), {"regions": report.regions})


_Runner = Callable[["Scenario", Params, Path, "Progress | None", Phase], AnyAnalysis]
_RUNNERS: dict[str, _Runner] = {"whatif": _whatif, "sweep": _sweep, "bound": _bound, "plan": _plan,
                                 "compare": _compare, "montecarlo": _montecarlo}


def _summary(out_dir: Path) -> dict[str, Any]:
    """summary.json as written (JSON types: what the service stores and serves), with the job's peak memory
    added (issue #14.5)."""
    path = out_dir / "summary.json"
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    summary["peak_memory_mib"] = peak_memory_mib()
    write_json(summary, path)
    return summary
