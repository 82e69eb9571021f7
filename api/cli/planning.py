"""``zhaosheng plan-quotas``: each school's quota chosen within its bounds and the total (solver/analysis/plan/):
for placed and first-choice a local search over quota vectors with a branch-and-bound proof (interval
propagation of the rule and a max-flow relaxation), for the ratio or deferred-acceptance batches CP-SAT's search
over the rules R1–R12 as constraints; the sequential engine re-runs the plan to confirm it.

Exit codes: 0 planned (re-run equals the prediction), 1 no plan found or the re-run differs, 2 bad input.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.table import Table

from api.cli.common import console, err_console, load, progress_display, show_problems
from models import ScenarioError
from solver.analysis.jobs import run_analysis
from solver.analysis.plan import OBJECTIVES, PlanError, PlanReport, parse_change, read_school_max


@click.command("plan-quotas")
@click.argument("scenario")
@click.option("--total", type=click.IntRange(min=0), help="Sum of all quotas [default: the current sum].")
@click.option("--objective", type=click.Choice(OBJECTIVES), default="placed",
              show_default=True, help="placed: most vocational admissions; first-choice: most admitted at "
                                      "choice 1 of batch 1; ratio: each region's vocational admissions closest "
                                      "to its target (default: its general admissions, 普职比 1:1).")
@click.option("--min-change", default="-20%", show_default=True, help="Lowest quota, relative to the current one.")
@click.option("--max-change", default="+20%", show_default=True, help="Highest quota, relative to the current one.")
@click.option("--school-max", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV school_id,max[,min]: bounds for these schools instead of the relative ones.")
@click.option("--target-share", type=click.FloatRange(0, 1),
              help="ratio objective: target vocational admissions = share x graduates per region.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="Seconds for the whole plan (model, warm start and search).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the plan [default: results/SCENARIO-plan].")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def plan_quotas(scenario: str, total: int | None, objective: str, min_change: str, max_change: str,
                school_max: Path | None, target_share: float | None, time_limit: float, workers: int,
                out_dir: Path | None, quiet: bool) -> None:
    """Choose every school's quota in SCENARIO to optimize OBJECTIVE under the admission rules."""
    out_dir = out_dir or Path("results") / f"{Path(scenario).stem}-plan"
    started = time.perf_counter()
    try:
        parse_change(min_change), parse_change(max_change)  # bad input before the scenario is loaded
        limits = read_school_max(school_max) if school_max else None
        params = {"total": total, "objective": objective, "min_change": min_change, "max_change": max_change,
                  "school_max": None if limits is None else limits.to_dict("records"),
                  "target_share": target_share, "time_limit": time_limit, "threads": workers}
        with progress_display(quiet) as progress:
            sc = load(scenario, progress)
            task = progress.add_task("planning", total=None)

            def say(what: str) -> None:
                progress.update(task, description=what[:90])

            # the one dispatch the service's POST /scenarios/{id}/plan calls too
            report = run_analysis("plan", sc, params, out_dir, phase=say).report
    except ScenarioError as exc:
        show_problems(exc.problems)
        sys.exit(2)
    except PlanError as exc:
        err_console.print(f"[red]Bad input:[/] {exc}")
        click.echo(f"Bad input: {exc}")
        sys.exit(2)

    if report.quota_after is None:
        console.print(f"[red]No quota plan found[/] ({report.status}) within {time_limit:g} s.")
        sys.exit(1)
    _show_plan(report, f"{sc.name}: quotas for {objective} ({report.sense}), total {report.total:,}")
    console.print(f"Plan in {out_dir}/ (quotas.csv, plan.xlsx, summary.json, admissions.csv ...) in "
                  f"{time.perf_counter() - started:.1f} s")
    if not report.rerun_equal:
        sys.exit(1)


def _show_plan(report: PlanReport, title: str) -> None:
    """The quota table, the objective against its bound and the current quotas, the bounds' notes, and
    whether the sequential re-run equals the prediction."""
    s = report.summary()
    table = Table(title=title)
    for col in ("school", "name", "before", "after", "change", "min", "max"):
        table.add_column(col, justify="left" if col in ("school", "name") else "right")
    for r in report.quota_table().itertuples(index=False):
        table.add_row(str(r.school_id), str(r.name), f"{r.quota_before:,}", f"{r.quota_after:,}",
                      f"{r.change:+,}", f"{r.min:,}", f"{r.max:,}")
    console.print(table)
    gap = "" if report.status == "OPTIMAL" else f", gap {s['gap']:,.0f} ({s['relative_gap']:.2%})"
    console.print(f"{report.status}: objective {s['objective_value']:,.0f}, bound {s['bound']:,.0f}{gap}; "
                  f"current quotas give {s['baseline_objective_current_quotas']:,.0f}")
    for note in report.bounds.notes:
        console.print(f"  bound note: {note}")
    if report.rerun_equal:
        console.print("Sequential re-run with the new quotas equals the prediction (admissions and offers).")
    else:
        console.print(f"[red]Sequential re-run with the new quotas DIFFERS from the prediction[/] "
                      f"({report.rerun_differences} student(s)).")
