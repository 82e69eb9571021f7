"""A set of what-ifs (issue #16.3): several variants of one scenario, each a what-if against the same baseline,
run as Dask tasks (`solver.analysis.distributed`: a LocalCluster, the cluster at ``scheduler``, or one after
another in this process).

A variant is a list of changes (``KEY=VALUE``, `solver.analysis.whatif.changes`); on the command line one
``--variant "quota.S03=+10%; decline_rate=0.04"`` each (changes separated by ``;`` or ``,``), or a file of
them, one variant a line (``--variants FILE``; blank lines and ``#`` comments skipped).  Changes given with
``--set`` apply to every variant, before its own.  Every variant's keys are checked against the scenario
before anything runs, and a variant whose changed scenario breaks the rules is reported with the others, each
problem under ``variant N`` (exit 2, nothing written but errors.csv).

The baseline runs once, in this process, and is sent to the workers with the scenario (once); each task
applies its variant's changes (seeded with ``seed``), runs it and compares it, as `solver.analysis.whatif.whatif`
does, and sends back the variant's run and the comparison tables.  Files: ``baseline/`` (every result file
of the scenario as it is), ``NN/`` per variant (``variant/``, ``changes.csv``, ``regions_compare.csv``,
``schools_compare.csv``, ``schools_by_batch_compare.csv``, ``whatif.xlsx``, ``summary.json``: a what-if's
files but the baseline), ``variants.csv`` (each variant's totals beside the baseline's) and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models.problems import Problem
from models.results import display_name, summary_last, write_csv, write_json
from models.scenario import Scenario
from solver.analysis.distributed import parse_scheduler, run_tasks
from solver.analysis.whatif.apply import AppliedChange, apply_changes
from solver.analysis.whatif.changes import ChangeError, parse_changes
from solver.analysis.whatif.compare import (
    WhatIfReport,
    changed_students,
    compare_regions,
    compare_schools,
    compare_schools_by_batch,
)
from solver.analysis.whatif.files import write_whatif
from solver.engine import figures
from solver.progress import Progress
from solver.run import RunOutput, run, write_outputs

VARIANTS_FILE = "variants.csv"
KINDS_OF_CHANGE = ("placed", "lost", "moved", "reordered", "other")
_SEPARATORS = re.compile(r"[;,]")


class VariantError(ValueError):
    """A variant without a change, or a file of variants that cannot be read."""


def parse_variant(spec: str) -> list[str]:
    """``"quota.S03=+10%; decline_rate=0.04"`` as its changes (``;`` or ``,`` between them)."""
    changes = [part.strip() for part in _SEPARATORS.split(str(spec)) if part.strip()]
    if not changes:
        raise VariantError(f"a variant is KEY=VALUE changes separated by ';', not {spec!r}")
    return changes


def read_variants(path: Path | str) -> list[list[str]]:
    """The variants of a text file (UTF-8), one a line; blank lines and ``#`` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise VariantError(f"cannot read the variants in {path}: {exc}") from None
    variants = [parse_variant(line) for line in (ln.split("#", 1)[0].strip() for ln in lines) if line]
    if not variants:
        raise VariantError(f"{path} holds no variant (one a line: KEY=VALUE; KEY=VALUE ...)")
    return variants


@dataclass
class WhatIfSet:
    scenario: str
    baseline: RunOutput
    reports: list[WhatIfReport]  # one per variant, in their order
    variants: list[list[str]]  # each variant's changes as given (the common ones first)
    seed: int
    workers: int
    scheduler: str
    timings: dict[str, float] = field(default_factory=dict)
    title: str = ""

    def table(self) -> pd.DataFrame:
        """variants.csv: the baseline (variant 0) and each variant: its changes, the 合计 (general, vocational,
        unplaced, 普职比, vocational share, enrollment rate), the vacancies and the students whose outcome
        changed, by kind."""
        rows = [{"variant": 0, "folder": "baseline", "changes": "", **figures.totals(self.baseline.regions),
                 "vacancies": int(self.baseline.schools["vacancies"].sum()), "changed_students": 0,
                 **{k: 0 for k in KINDS_OF_CHANGE}}]
        for n, (report, given) in enumerate(zip(self.reports, self.variants), start=1):
            kinds = report.changed_by_kind()
            rows.append({"variant": n, "folder": folder_name(n, len(self.reports)), "changes": "; ".join(given),
                         **figures.totals(report.variant.regions), "vacancies": report.vacancies()["variant"],
                         "changed_students": len(report.changed), **{k: kinds.get(k, 0) for k in KINDS_OF_CHANGE}})
        table = pd.DataFrame(rows)
        return table[["variant", "folder", "changes", "general", "vocational", "unplaced", "ineligible", "none",
                      "students", "graduates", "general_vocational_ratio", "vocational_share", "enrollment_rate",
                      "vacancies", "changed_students", *KINDS_OF_CHANGE]]

    def summary(self) -> dict[str, object]:
        return {"status": "done", "scenario": self.scenario, "title": self.title, "seed": self.seed,
                "variants": [{"variant": n, "folder": folder_name(n, len(self.reports)), **report.summary(),
                              "given": given}
                             for n, (report, given) in enumerate(zip(self.reports, self.variants), start=1)],
                "workers": self.workers, "scheduler": self.scheduler, "timings": self.timings}


def folder_name(n: int, count: int) -> str:
    """01, 02 ... (as many digits as the count needs, at least two)."""
    return str(n).zfill(max(2, len(str(count))))


class _Shipment:
    """The scenario, its baseline run and the seed: sent to each worker once."""

    def __init__(self, sc: Scenario, baseline: RunOutput, seed: int):
        self.sc, self.baseline, self.seed = sc, baseline, seed


@dataclass
class _Variant:
    """What a task sends back: the variant's run and its comparison with the baseline (or the problems of a
    changed scenario that breaks the rules)."""

    applied: list[AppliedChange]
    variant: RunOutput | None
    tables: dict[str, pd.DataFrame]
    problems: list[Problem]
    seconds: float


def _run_variant(ship: _Shipment, changes: list[str]) -> _Variant:
    t = time.perf_counter()
    try:
        variant_sc, applied = apply_changes(ship.sc, changes, seed=ship.seed)
    except ChangeError as exc:
        return _Variant([], None, {}, list(exc.problems), time.perf_counter() - t)
    base, var = ship.baseline, run(variant_sc, engine="sequential")
    tables = {"regions": compare_regions(base, var), "schools": compare_schools(base, var),
              "schools_by_batch": compare_schools_by_batch(base, var), "changed": changed_students(base, var)}
    return _Variant(applied, var, tables, [], time.perf_counter() - t)


def whatif_set(sc: Scenario, variants: Sequence[Sequence[str]], seed: int = 0, common: Sequence[str] = (), *,
               workers: int | None = None, scheduler: str | None = None, serial: bool = False,
               progress: Progress | None = None) -> WhatIfSet:
    """Each variant (its changes after the ``common`` ones) as a what-if against one baseline, as Dask tasks
    (or in this process with ``serial``).  Bad changes of any variant raise one `ChangeError` with every
    problem, each under ``variant N``."""
    t0 = time.perf_counter()
    scheduler = parse_scheduler(scheduler)
    given = [[*common, *v] for v in variants]
    problems: list[Problem] = []
    for n, changes in enumerate(given, start=1):
        try:
            parse_changes(sc, changes)
        except ChangeError as exc:
            problems += [dataclasses.replace(p, file=f"variant {n}") for p in exc.problems]
    if problems:
        raise ChangeError(problems)
    say = progress or (lambda *_: None)
    say("running the baseline", 0, len(given))
    baseline = run(sc, engine="sequential")
    t1 = time.perf_counter()
    ran = run_tasks(_run_variant, given, _Shipment(sc, baseline, seed), scheduler=scheduler, workers=workers,
                    in_process=serial, ticks=lambda done, total, _: say("variants", done, total), name="whatif")
    for n, result in enumerate(ran.results, start=1):
        problems += [dataclasses.replace(p, file=f"variant {n}") for p in result.problems]
    if problems:
        raise ChangeError(problems)
    reports = []
    for result in ran.results:
        assert result.variant is not None
        t = result.tables
        reports.append(WhatIfReport(scenario=sc.name, changes=result.applied, baseline=baseline,
                                    variant=result.variant, regions=t["regions"], schools=t["schools"],
                                    schools_by_batch=t["schools_by_batch"], changed=t["changed"], seed=seed,
                                    timings={"variant": round(result.seconds, 4)}))
    timings = {"baseline": round(t1 - t0, 4), **ran.timings,
               "variants_sum": round(sum(r.seconds for r in ran.results), 4),
               "total": round(time.perf_counter() - t0, 4)}
    return WhatIfSet(sc.name, baseline, reports, given, seed, ran.workers, ran.scheduler, timings, display_name(sc))


def write_whatif_set(report: WhatIfSet, out_dir: Path | str) -> Path:
    """``baseline/``, ``NN/`` per variant (a what-if's files without its baseline), ``variants.csv`` and
    ``summary.json`` (written last)."""
    with summary_last(out_dir, report.timings) as out:
        write_outputs(report.baseline, out / "baseline")
        for n, variant in enumerate(report.reports, start=1):
            write_whatif(variant, out / folder_name(n, len(report.reports)), baseline=False)
        write_csv(report.table(), out / VARIANTS_FILE)
    write_json(report.summary(), out / "summary.json")
    return out
