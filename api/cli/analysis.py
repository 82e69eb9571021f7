"""The analysis commands of ``zhaosheng`` (issue #6): ``whatif``, ``sweep`` and ``bound``, and the Monte Carlo of
declines ``montecarlo`` (issue #16.3).

Thin: parse, show progress, run the analysis and write its files as the service does
(`solver.analysis.jobs.run_analysis`), print a short table.  Exit codes: 0 done, 1 failed (a Dask scheduler
that cannot be reached), 2 bad input (a bad scenario, key or value: every problem listed, each naming its key;
a bad parameter of the Monte Carlo or a bad scheduler address).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console, JustifyMethod
from rich.progress import Progress as ProgressBar
from rich.progress import TaskID
from rich.table import Table

from api.cli.common import console, err_console, load, progress_display, show_problems

if TYPE_CHECKING:
    from models.scenario import Scenario
    from solver.analysis.whatif import WhatIfReport


def _out(spec: str, what: str) -> Path:
    return Path("results") / f"{Path(spec).stem}-{what}"


def _load_or_exit(spec: str, progress: ProgressBar | None = None) -> Scenario:
    from models import ScenarioError

    try:
        return load(spec, progress)
    except ScenarioError as exc:
        show_problems(exc.problems)
        err_console.print("[red]Nothing was run.[/]")
        sys.exit(2)


class _Bar:
    """The progress callbacks of an analysis (`solver.progress`) drawn on one task of the progress display."""

    def __init__(self, progress: ProgressBar, task: TaskID):
        self.progress, self.task = progress, task

    def tick(self, what: str, done: int, total: int) -> None:
        self.progress.update(self.task, description=what, completed=done, total=total)

    def phase(self, what: str) -> None:
        self.progress.update(self.task, description=what, completed=None, total=None)


def _pct(v: float | None) -> str:
    return "" if v is None or v != v else f"{v:.1%}"


def _signed(v: float | None, pct: bool = False) -> str:
    if v is None or v != v or v == 0 or (pct and abs(v) < 0.0005):
        return ""
    return f"{v:+.1%}" if pct else f"{int(v):+,}"


Command = TypeVar("Command", bound=Callable[..., Any])
SCHEDULER_HELP = ("Run the tasks on the Dask cluster of this scheduler (tcp://HOST:PORT; its workers must have this "
                  "project installed) instead of a local cluster [env: ZHAOSHENG_DASK_SCHEDULER].")


def scheduler_option(command: Command) -> Command:
    """``--scheduler tcp://HOST:PORT`` (or ZHAOSHENG_DASK_SCHEDULER), checked: a bad address exits 2."""
    from solver.analysis.distributed import SCHEDULER_ENV

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        from solver.analysis.distributed import SchedulerError, parse_scheduler

        try:
            return parse_scheduler(value)
        except SchedulerError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return click.option("--scheduler", metavar="tcp://HOST:PORT", envvar=SCHEDULER_ENV, callback=check,
                        help=SCHEDULER_HELP)(command)


def _serial_or_scheduler(serial: bool, scheduler: str | None) -> str | None:
    """The scheduler to use: none with --serial (one from ZHAOSHENG_DASK_SCHEDULER is then ignored; one given
    as --scheduler is a usage error, exit 2)."""
    if not (serial and scheduler):
        return scheduler
    source = click.get_current_context().get_parameter_source("scheduler")
    if source == click.core.ParameterSource.ENVIRONMENT:
        return None
    raise click.BadParameter("--serial runs in this process: it takes no --scheduler", param_hint="--serial")


@contextmanager
def _cluster_or_exit(progress: ProgressBar) -> Iterator[None]:
    """A Dask scheduler that cannot be reached (`SchedulerError`) ends the command: its message, exit 1."""
    from solver.analysis.distributed import SchedulerError

    try:
        yield
    except SchedulerError as exc:
        progress.stop()
        err_console.print(f"[red]{exc}[/]")
        sys.exit(1)


# whatif ----------------------------------------------------------------------------------------------------

@click.command("whatif")
@click.argument("scenario")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A change: quota.SCHOOL, subquota.SCHOOL.REGION, general_seats.REGION, general_cutoff.REGION, "
                   "registered.SCHOOL or decline_rate = an absolute value (520, 0.03) or a relative one "
                   "(+10%, -15%, +20). Repeat for several changes. With --variant: changes of every variant.")
@click.option("--variant", "variants", multiple=True, metavar='"KEY=VALUE; KEY=VALUE"',
              help="One what-if of a set: its changes separated by ';'. Repeat for several what-ifs, run as Dask "
                   "tasks against one baseline.")
@click.option("--variants", "variants_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A text file of what-ifs, one a line (KEY=VALUE; KEY=VALUE ...; '#' comments).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for baseline/, variant/, changes.csv and whatif.xlsx (a set: baseline/, 01/, 02/ ..., "
                   "variants.csv) [default: results/SCENARIO-whatif].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the students a decline_rate change draws.")
@click.option("--workers", type=click.IntRange(min=1), help="A set: local Dask worker processes [default: the CPUs].")
@click.option("--serial", is_flag=True, help="A set: the what-ifs one after another in this process (no Dask).")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def whatif_command(scenario: str, sets: tuple[str, ...], variants: tuple[str, ...], variants_file: Path | None,
                   out_dir: Path | None, seed: int, workers: int | None, serial: bool, scheduler: str | None,
                   quiet: bool) -> None:
    """Run SCENARIO as it is and with the changes --set KEY=VALUE, and compare them side by side: per
    region, per school and batch, and every student whose outcome changed.  With --variant (or --variants
    FILE): a set of what-ifs, each against the same baseline, as Dask tasks."""
    from models.results import write_failed
    from solver.analysis.jobs import run_analysis
    from solver.analysis.whatif import WHATIF_FILES, ChangeError

    out_dir = out_dir or _out(scenario, "whatif")
    if variants or variants_file:
        _whatif_set(scenario, sets, variants, variants_file, out_dir, seed, workers, serial, scheduler, quiet)
        return
    started = time.perf_counter()
    with progress_display(quiet) as progress:
        sc = _load_or_exit(scenario, progress)
        bar = _Bar(progress, progress.add_task("what-if", total=4))
        try:
            report = run_analysis("whatif", sc, {"changes": list(sets), "seed": seed}, out_dir, bar.tick,
                                  bar.phase).report
        except ChangeError as exc:
            progress.stop()
            write_failed(out_dir, exc.problems, WHATIF_FILES, {"scenario": scenario, "reason": "invalid change"})
            show_problems(exc.problems)
            err_console.print(f"[red]Nothing was run.[/] The problems are listed in {out_dir / 'errors.csv'}")
            sys.exit(2)
    _print_whatif(console, report)
    if not sets:
        console.print("No --set KEY=VALUE given: the variant is the baseline.")
    console.print(f"Results in {out_dir}/ (baseline/, variant/, changes.csv, whatif.xlsx, summary.json) "
                       f"in {time.perf_counter() - started:.1f} s")


def _whatif_set(scenario: str, sets: tuple[str, ...], variants: tuple[str, ...], variants_file: Path | None,
                out_dir: Path, seed: int, workers: int | None, serial: bool, scheduler: str | None,
                quiet: bool) -> None:
    """``whatif --variant ...``: the set of what-ifs (`solver.analysis.whatif.sets`) and its table."""
    from models.results import write_failed
    from solver.analysis.whatif import (
        VARIANTS_FILE,
        ChangeError,
        VariantError,
        parse_variant,
        read_variants,
        whatif_set,
        write_whatif_set,
    )

    scheduler = _serial_or_scheduler(serial, scheduler)
    try:
        given = [parse_variant(v) for v in variants] + (read_variants(variants_file) if variants_file else [])
    except VariantError as exc:
        raise click.BadParameter(str(exc), param_hint="--variant") from None
    started = time.perf_counter()
    with progress_display(quiet) as progress:
        sc = _load_or_exit(scenario, progress)
        bar = _Bar(progress, progress.add_task("what-ifs", total=len(given)))
        with _cluster_or_exit(progress):
            try:
                report = whatif_set(sc, given, seed, sets, workers=workers, scheduler=scheduler, serial=serial,
                                    progress=bar.tick)
                bar.phase("writing results")
                write_whatif_set(report, out_dir)
            except ChangeError as exc:
                progress.stop()
                write_failed(out_dir, exc.problems, (VARIANTS_FILE, "summary.json"),
                             {"scenario": scenario, "reason": "invalid change"})
                show_problems(exc.problems)
                err_console.print(f"[red]Nothing was written[/] but {out_dir / 'errors.csv'}, which lists the "
                                  "problems.")
                sys.exit(2)
    table = Table(title=f"{report.scenario}: {len(report.reports)} what-ifs in {report.workers} process(es) "
                        f"({report.scheduler})")
    for col in ("", "changes", "普高", "中职", "未录取", "普职比", "入学率", "空额", "changed"):
        table.add_column(col, justify="left" if col in ("", "changes") else "right")
    for r in report.table().to_dict("records"):
        table.add_row(str(r["folder"]), str(r["changes"]), f"{int(r['general']):,}", f"{int(r['vocational']):,}",
                      f"{int(r['unplaced']):,}", str(r["general_vocational_ratio"]), _pct(r["enrollment_rate"]),
                      f"{int(r['vacancies']):,}", f"{int(r['changed_students']):,}")
    console.print(table)
    console.print(f"Results in {out_dir}/ (baseline/, 01/ ... each a what-if's files, {VARIANTS_FILE}, summary.json) "
                  f"in {time.perf_counter() - started:.1f} s")


def _print_whatif(console: Console, report: WhatIfReport) -> None:
    changes = Table(title=f"{report.scenario}: what if")
    for col in ("change", "value", "before", "after", "rule"):
        changes.add_column(col)
    for c in report.changes:
        changes.add_row(c.key, c.value, c.before, c.after, c.rule)
    console.print(changes)
    table = Table(title="per region: baseline → variant")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("地区", "left"), ("普高", "right"), ("中职", "right"), ("未录取", "right"), ("普职比", "right"),
        ("入学率", "right"))
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=True)
    rows = report.regions.to_dict("records")
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            table.add_section()
        before, after = row["general_vocational_ratio_baseline"], row["general_vocational_ratio_variant"]
        table.add_row(
            str(row["name"]),
            *(f"{int(row[f'{m}_variant']):,} {_signed(row[f'{m}_change'])}".strip()
              for m in ("general", "vocational", "unplaced")),
            f"{before} → {after}" if before != after else after,
            f"{_pct(row['enrollment_rate_variant'])} {_signed(row['enrollment_rate_change'], pct=True)}".strip(),
            style="bold" if i == len(rows) - 1 else None)
    console.print(table)
    kinds = ", ".join(f"{k} {v:,}" for k, v in report.changed_by_kind().items())
    vacancies = report.vacancies()
    console.print(f"{len(report.changed):,} student(s) with another outcome{': ' + kinds if kinds else ''}; "
                  f"vacancies {vacancies['baseline']:,} → {vacancies['variant']:,}")


# sweep ----------------------------------------------------------------------------------------------------

@click.command("sweep")
@click.argument("scenario")
@click.option("--general-share", "shares", required=True, metavar="START:STOP:STEP",
              help="General high school seats per region as a share of its graduates: a range with both ends "
                   "(0.40:0.60:0.02, 11 steps), a comma list or one share.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for sweep.csv, sweep.png, sweep.html [default: results/SCENARIO-sweep].")
@click.option("--workers", type=click.IntRange(min=1),
              help="Local Dask worker processes; 1: the steps one after another in this process "
                   "[default: the number of CPUs].")
@scheduler_option
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def sweep_command(scenario: str, shares: str, out_dir: Path | None, workers: int | None, scheduler: str | None,
                  quiet: bool) -> None:
    """Run SCENARIO with the general seats of every region at each share of its graduates, and chart the
    vocational share and the unplaced against it, with the 1 : 1 line (JZ §一) and 95% enrollment (HY §六.三)."""
    from solver.analysis.jobs import run_analysis
    from solver.analysis.sweep import ENROLLMENT_TARGET, ShareError, parse_shares, share_label

    try:
        steps = parse_shares(shares)
    except ShareError as exc:
        raise click.BadParameter(str(exc), param_hint="--general-share") from None
    out_dir = out_dir or _out(scenario, "sweep")
    started = time.perf_counter()
    with progress_display(quiet) as progress:
        sc = _load_or_exit(scenario, progress)
        bar = _Bar(progress, progress.add_task("sweeping", total=len(steps)))
        with _cluster_or_exit(progress):
            report = run_analysis("sweep", sc, {"general_share": shares, "workers": workers, "scheduler": scheduler},
                                  out_dir, bar.tick, bar.phase).report
    where = "" if report.scheduler in ("in-process", "local") else f" of {report.scheduler}"
    table = Table(title=f"{report.scenario}: {len(steps)} steps in {report.workers} process(es){where}")
    for col in ("普高占比", "普高", "中职", "未录取", "普职比", "中职占比", "入学率", "中职空额"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in report.totals.to_dict("records"):
        table.add_row(share_label(r["general_share"]),
                      f"{int(r['general']):,}", f"{int(r['vocational']):,}", f"{int(r['unplaced']):,}",
                      r["general_vocational_ratio"], _pct(r["vocational_share"]), _pct(r["enrollment_rate"]),
                      f"{int(r['vocational_vacancies']):,}",
                      style=None if r["enrollment_rate"] >= ENROLLMENT_TARGET else "dim")
    console.print(table)
    console.print(f"dim rows: enrollment below {ENROLLMENT_TARGET:.0%} (HY §六.三). Results in {out_dir}/ "
                       f"(sweep.csv, sweep.png, sweep.html, summary.json) in {time.perf_counter() - started:.1f} s")


# bound ----------------------------------------------------------------------------------------------------

@click.command("bound")
@click.argument("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for bound_schools.csv, flows.csv, bound.xlsx [default: results/SCENARIO-bound].")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def bound_command(scenario: str, out_dir: Path | None, quiet: bool) -> None:
    """How good could it be: the most students who could be placed within their listed choices under the
    quotas and sub-quotas (a maximum flow), beside the rule's placements, the seats it leaves empty while
    applicants stay unplaced, and who goes where (region → school)."""
    from solver.analysis.jobs import run_analysis

    out_dir = out_dir or _out(scenario, "bound")
    started = time.perf_counter()
    with progress_display(quiet) as progress:
        sc = _load_or_exit(scenario, progress)
        bar = _Bar(progress, progress.add_task("bound", total=None))
        report = run_analysis("bound", sc, {}, out_dir, phase=bar.phase).report
    s = report.summary()
    table = Table(title=f"{report.scenario}: how good could it be")
    table.add_column("")
    table.add_column("students", justify="right")
    for label, key in (("eligible, not in general high school (R1, R4)", "pool"),
                       ("  with a valid listed choice", "in_network"),
                       ("placed by the rule (R6)", "rule_placed"),
                       ("most that could be placed (max flow, R7, R8)", "bound"),
                       ("gap", "gap"),
                       ("  fillable without moving anybody", "without_moving"),
                       ("  needs admitted students moved", "needs_moving"),
                       ("seats left empty by the rule", "rule_vacancies")):
        table.add_row(label, f"{s[key]:,}", style="bold" if key in ("rule_placed", "bound") else None)
    console.print(table)
    empty = report.schools[(report.schools["vacancies"] > 0) & (report.schools["unplaced_applicants"] > 0)]
    if len(empty):
        schools = Table(title="seats left empty while applicants who listed the school stay unplaced")
        for col in ("school", "quota", "vacancies", "unplaced applicants", "fillable without moving"):
            schools.add_column(col, justify="left" if col == "school" else "right")
        for r in empty.sort_values("vacancies", ascending=False).head(15).itertuples(index=False):
            schools.add_row(str(r.name), f"{r.quota:,}", f"{r.vacancies:,}", f"{r.unplaced_applicants:,}",
                            f"{r.fillable_without_moving:,}")
        console.print(schools)
    console.print(f"Results in {out_dir}/ (bound_schools.csv, flows.csv, bound.xlsx, summary.json) "
                       f"in {time.perf_counter() - started:.1f} s")


# montecarlo -------------------------------------------------------------------------------------------------

@click.command("montecarlo")
@click.argument("scenario")
@click.option("--decline-rate", "rate", default="0.04", show_default=True, metavar="RATE",
              help="Chance that a student declines an offer, per student and batch: 0.04 or 4%, between 0 and 1.")
@click.option("--draws", type=int, default=200, show_default=True, help="Draws (each a whole run of the rules).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed; draw d uses numpy's SeedSequence(seed).spawn(...)[d], whatever the workers.")
@click.option("--keep-declines", is_flag=True,
              help="Keep the scenario's declines.csv and add the drawn declines [default: the drawn ones replace it].")
@click.option("--workers", type=click.IntRange(min=1), help="Local Dask worker processes [default: the CPUs].")
@click.option("--serial", is_flag=True, help="Run the draws one after another in this process (no Dask).")
@scheduler_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for montecarlo_schools.csv, montecarlo_regions.csv, montecarlo.xlsx, montecarlo.png "
                   "[default: results/SCENARIO-montecarlo].")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def montecarlo_command(scenario: str, rate: str, draws: int, seed: int, keep_declines: bool, workers: int | None,
                       serial: bool, scheduler: str | None, out_dir: Path | None, quiet: bool) -> None:
    """Before the plan is published: if about RATE of the offers are declined (R9), how many seats stay empty
    after the last batch at each school (mean, 5th and 95th percentile, chance of filling), and where do each
    region's 普职比 and enrollment rate land (5th, 50th, 95th percentile)."""
    from solver.analysis.jobs import run_analysis
    from solver.analysis.montecarlo import MonteCarloError, check_params

    try:
        check_params(rate, draws, seed)
    except MonteCarloError as exc:
        raise click.BadParameter(str(exc)) from None
    scheduler = _serial_or_scheduler(serial, scheduler)
    out_dir = out_dir or _out(scenario, "montecarlo")
    started = time.perf_counter()
    params = {"decline_rate": rate, "draws": draws, "seed": seed, "keep_declines": keep_declines,
              "workers": workers, "serial": serial, "scheduler": scheduler}
    with progress_display(quiet) as progress:
        sc = _load_or_exit(scenario, progress)
        bar = _Bar(progress, progress.add_task("draws", total=draws))
        with _cluster_or_exit(progress):
            report = run_analysis("montecarlo", sc, params, out_dir, bar.tick, bar.phase).report
    totals = report.totals()
    table = Table(title=f"{report.scenario}: {report.draws} draws at decline rate {report.rate:.1%} "
                        f"(seed {report.seed}; {report.workers} worker(s), {report.scheduler})")
    table.add_column("")
    for col in ("as listed", "mean", "p5", "p50", "p95"):
        table.add_column(col, justify="right")
    for key, label in (("vacancies", "vacancies after the last batch"), ("declined_offers", "declined offers"),
                       ("vocational", "vocational"), ("unplaced", "unplaced")):
        band = totals[key]
        table.add_row(label, *("" if band.get(k) is None else f"{band[k]:,.1f}".removesuffix(".0")
                               for k in ("scenario", "mean", "p5", "p50", "p95")))
    ratio, rate_band = totals["vocational_per_general"], totals["enrollment_rate"]
    table.add_row("普职比 1 : x", *("" if ratio.get(k) is None else f"{ratio[k]:.3f}"
                                  for k in ("scenario", "mean", "p5", "p50", "p95")))
    table.add_row("enrollment rate", *(_pct(rate_band.get(k)) for k in ("scenario", "mean", "p5", "p50", "p95")))
    console.print(table)
    regions = Table(title="per region: band over the draws (p5 – p95)")
    for col in ("地区", "普职比（中位数）", "职/普 p5 – p95", "入学率 p5 – p95", "入学率≥95% 的概率"):
        regions.add_column(col, justify="left" if col == "地区" else "right")
    rows = report.regions.to_dict("records")
    for i, r in enumerate(rows):
        if i == len(rows) - 1:
            regions.add_section()
        regions.add_row(str(r["name"]), str(r["general_vocational_ratio"]),
                        f"{r['vocational_per_general_p5']:.3f} – {r['vocational_per_general_p95']:.3f}",
                        f"{_pct(r['enrollment_rate_p5'])} – {_pct(r['enrollment_rate_p95'])}",
                        _pct(float(r["enrollment_target_probability"])))
    console.print(regions)
    schools = report.schools[report.schools["registered"]]
    risky = schools[schools["fill_probability"] < 1].sort_values(["fill_probability", "vacancies_mean"],
                                                                  ascending=[True, False])
    console.print(f"{len(schools) - len(risky):,} of {len(schools):,} registered schools filled in every draw; "
                  f"{int((schools['fill_probability'] == 0).sum()):,} in none.")
    if len(risky):
        t = Table(title="schools least likely to fill")
        for col in ("school", "quota", "vacancies mean", "p5 – p95", "chance of filling"):
            t.add_column(col, justify="left" if col == "school" else "right")
        for s in risky.head(10).to_dict("records"):
            t.add_row(str(s["name"]), f"{s['quota']:,}", f"{s['vacancies_mean']:,.1f}",
                      f"{s['vacancies_p5']:,.0f} – {s['vacancies_p95']:,.0f}", _pct(float(s["fill_probability"])))
        console.print(t)
    console.print(f"Results in {out_dir}/ (montecarlo_schools.csv, montecarlo_regions.csv, montecarlo_draws.csv, "
                  f"montecarlo.xlsx, montecarlo.png, summary.json) in {time.perf_counter() - started:.1f} s")
