"""One run of a scenario, end to end: engine, figures, files.  The CLI and the service both call this.

Files are written into a staging folder and moved into place only when complete, so a failed run never
leaves half a result (errors.csv and a summary with status "failed" instead).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd

from models.problems import Problem, problems_frame
from models.results import (
    ADMISSION_COLUMNS,
    OFFER_COLUMNS,
    Result,
    progress_title,
    publish_files,
    write_admissions_workbook,
    write_csv,
    write_failed,
    write_json,
    write_progress_workbook,
)
from models.scenario import Scenario
from solver.engine import figures
from solver.engine.arrays import ScenarioArrays
from solver.engine.fairness import Fairness, first_choice
from solver.engine.sequential import run_sequential
from solver.progress import Log, Phase, Progress
from solver.resources import peak_memory_mib

if TYPE_CHECKING:  # imported for real only when CP-SAT runs (it loads OR-Tools)
    from solver.verify import Verification

Engine = Literal["sequential", "cpsat", "both"]
"""sequential: the rules as written; cpsat: the CP-SAT model of the rules alone; both: the two, proved equal
and checked (`solver.verify`).  The one list of engine names: the CLI's --engine, the service's schema."""
ENGINES: tuple[Engine, ...] = get_args(Engine)
RESULT_FILES = ("admissions.csv", "admissions.xlsx", "offers.csv", "schools.csv", "subquotas.csv", "regions.csv",
                "summary.json", "progress.xlsx", "warnings.csv", "differences.csv", "violations.csv")


class NotSolved(Exception):
    """The CP-SAT engine found no result (time limit, or no feasible admission)."""


@dataclass
class RunOutput:
    scenario: Scenario
    result: Result
    schools: pd.DataFrame
    regions: pd.DataFrame
    subquotas: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = "sequential"
    verification: Verification | None = None  # solver.verify (imported when both engines run)
    fairness: dict[str, object] = field(default_factory=dict)  # solver.engine.fairness: envy, first choices

    def summary(self) -> dict[str, object]:
        sc = self.scenario
        s = self.schools
        return {
            "status": "done",
            "scenario": sc.name,
            "source": sc.source,
            "inputs": sc.inputs,
            "engine": self.engine,
            "engines": ["sequential", "cpsat"] if self.engine == "both" else [self.engine],
            "settings": {
                "max_choices": sc.settings.max_choices,
                "general_stage": sc.settings.general_stage,
                "tie_break": list(sc.settings.tie_break),
                "batches": [{"id": b.id, "name": b.name, "choices": b.choices, "fallback": b.fallback,
                             "open": b.open, "admit_by": b.admit_by, "confirm_by": b.confirm_by,
                             "mechanism": b.mechanism, "e": b.e}
                            for b in sc.settings.batches],
            },
            "counts": {
                "students": len(sc.students), "regions": len(sc.regions), "schools": len(sc.schools),
                "subquotas": len(sc.subquotas), "declines": len(sc.declines), "interviews": len(sc.interviews),
                "warnings": len(sc.warnings),
            },
            "totals": figures.totals(self.regions),
            "schools": {
                "quota": int(s["quota"].sum()), "offers": int(s["offers"].sum()),
                "confirmed": int(s["confirmed"].sum()), "declined": int(s["declined"].sum()),
                "vacancies": int(s["vacancies"].sum()),
                "fill_rate": round(float(s["confirmed"].sum() / s["quota"].sum()), 4) if s["quota"].sum() else None,
            },
            "timings": self.timings,
            **({"engine_facts": self.result.extra} if self.result.extra else {}),
            **({"verification": self.verification.verdict.as_dict()} if self.verification else {}),
            "fairness": self.fairness,
            "peak_memory_mib": peak_memory_mib(),
        }


def run(sc: Scenario, engine: str = "sequential", progress: Progress | None = None, *,
        time_limit: float | None = None, phase: Phase | None = None, log: Log | None = None,
        hint: bool = False, method: str = "batches") -> RunOutput:
    """Run one engine, or both with the verification layer (`solver.verify`; ``method``: its `METHODS`,
    batch by batch or the whole model at once)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    arr = ScenarioArrays.from_scenario(sc)
    t1 = time.perf_counter()
    verification = None
    extra_timings: dict[str, float] = {}
    if engine == "sequential":
        result = run_sequential(sc, progress=progress, arrays=arr)
    elif engine == "cpsat":
        result, extra_timings = _cpsat(sc, arr, time_limit, phase, log, hint, progress)
    else:
        from solver.verify import verify  # OR-Tools is loaded only when CP-SAT runs

        verification = verify(sc, time_limit=time_limit, phase=phase, log=log, hint=hint, arrays=arr,
                              method=method, progress=progress)
        result = verification.sequential  # the rule as written; equal to CP-SAT's when verified
        extra_timings = {f"verify_{k}": v for k, v in verification.verdict.times.items()}
    t2 = time.perf_counter()
    fair = Fairness()
    schools = figures.schools_table(sc, result, arr, fair)
    regions = figures.regions_table(sc, result)
    subquotas = figures.subquotas_table(sc, result)
    t3 = time.perf_counter()
    timings = {"arrays": round(t1 - t0, 4), "engine": round(t2 - t1, 4), "figures": round(t3 - t2, 4), **extra_timings}
    mechanisms = {str(b.id): b.mechanism + (f" (e = {b.e})" if b.e else "") for b in sc.settings.batches}
    fairness: dict[str, object] = {"mechanisms": mechanisms,
                "justified_envy_students": fair.students(),
                **first_choice(result.admissions["outcome"].to_numpy(dtype=object),
                               result.admissions["choice_rank"].fillna(0).to_numpy(dtype=np.int64))}
    return RunOutput(sc, result, schools, regions, subquotas, timings, engine, verification, fairness)


def _cpsat(sc: Scenario, arr: ScenarioArrays, time_limit: float | None, phase: Phase | None, log: Log | None,
           hint: bool, progress: Progress | None = None) -> tuple[Result, dict[str, float]]:
    """The CP-SAT model alone, batch by batch (`solver.cpsat.batches`); the labelled hinted mode solves the
    whole model at once, hinted with the sequential result."""
    from solver.cpsat import AdmissionModel, build_instance
    from solver.cpsat.batches import batch_steps, solve_by_batches
    from solver.cpsat.outcome import result_of

    say: Phase = phase or (lambda _: None)
    say("building the CP-SAT model")
    inst = build_instance(sc, arr)
    if not hint:
        solved = solve_by_batches(inst, time_limit, log=log, prove=False, said=batch_steps(sc, say, progress))
        if solved.offered is None:
            status = solved.batches[-1].solve.status
            raise NotSolved(f"CP-SAT found no result for batch {solved.batches[-1].batch}: {status}"
                            + (" (time limit reached)" if status == "UNKNOWN" else ""))
        result = result_of(inst, solved.offered)
        result.extra = {"cpsat_status": "OPTIMAL", "method": "batch by batch", "mode": "constraints only",
                        "batches": [b.as_dict() for b in solved.batches]}
        totals = solved.totals()
        return result, {"build": totals["build"], "solve": totals["solve"]}
    model = AdmissionModel(inst)
    say("solving")
    hint_values = model.decisions_of(run_sequential(sc, arrays=arr))[0]
    report = model.solve(time_limit, log=log, hint=hint_values)
    if report.solution is None:
        raise NotSolved(f"CP-SAT found no result: {report.status}"
                        + (" (time limit reached)" if report.status == "UNKNOWN" else ""))
    result = model.result(report.solution)
    result.extra = {"cpsat_status": report.status, "model_size": model.size(), "method": "whole model",
                    "mode": "hinted with the sequential result (labelled mode)"}
    return result, {"build": round(model.build_seconds, 3), "solve": round(report.seconds, 3)}


# admissions.xlsx is a city's list to forward: above this many students (a province) it would take
# seconds per 100,000 rows and nobody forwards it whole, so it is left out unless asked for.
ROSTER_LIMIT = 300_000


def write_outputs(out: RunOutput, target: Path, extra_timings: dict[str, float] | None = None,
                  roster: bool | None = None) -> Path:
    """Write every result file of docs/formats.md into ``target`` (replaced as a whole when complete), and
    admissions.xlsx, the 录取名册 a planner forwards (issue #10.7): always with ``roster=True``, never
    with False, and by default up to `ROSTER_LIMIT` students (summary.json says when it is left out)."""
    if roster is None:
        roster = len(out.scenario.students) <= ROSTER_LIMIT
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        t0 = time.perf_counter()
        adm = out.result.admissions
        off = out.result.offers
        tables = [
            (adm[ADMISSION_COLUMNS + [c for c in adm.columns if c not in ADMISSION_COLUMNS]], "admissions.csv"),
            (off[OFFER_COLUMNS + [c for c in off.columns if c not in OFFER_COLUMNS]], "offers.csv"),
            (out.schools, "schools.csv"), (out.subquotas, "subquotas.csv"), (out.regions, "regions.csv"),
            (problems_frame(out.scenario.warnings), "warnings.csv"),
        ]
        if out.verification is not None:
            tables.append((out.verification.violations, "violations.csv"))
            if len(out.verification.differences):
                tables.append((out.verification.differences, "differences.csv"))
        with ThreadPoolExecutor(max_workers=2) as pool:  # Arrow writes CSV without holding the GIL
            book = pool.submit(write_admissions_workbook, out.scenario, adm, staging / "admissions.xlsx") \
                if roster else None
            written = [pool.submit(write_csv, frame, staging / name) for frame, name in tables]
            # meanwhile, in this thread, the progress table (openpyxl: Python, loaded on the way)
            write_progress_workbook(figures.progress_table(out.regions), staging / "progress.xlsx",
                                    progress_title(out.scenario))
            for job in written:
                job.result()
            if book is not None:
                book.result()
        timings = dict(out.timings)
        timings.update(extra_timings or {})
        timings["write"] = round(time.perf_counter() - t0, 4)
        out.timings = timings
        summary = out.summary()
        if not roster:
            summary["admissions_xlsx"] = (f"not written ({len(out.scenario.students):,} students; admissions.xlsx is "
                                          f"written up to {ROSTER_LIMIT:,} or with --roster)")
        write_json(summary, staging / "summary.json")
        publish_files(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def write_failure(target: Path, problems: list[Problem], scenario_label: str, reason: str) -> Path:
    """A failed run: ``errors.csv`` and a "failed" summary; an earlier run's results are removed."""
    return write_failed(target, problems, RESULT_FILES, {"scenario": scenario_label, "reason": reason,
                                                         "peak_memory_mib": peak_memory_mib()})
