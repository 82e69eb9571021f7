"""The ``zhaosheng`` command: run, validate, generate, export, scenarios.

Thin: it parses arguments, shows progress, and calls `scenarios`, `models` and `solver.run`.
Exit codes: 0 done, 1 failed, 2 bad input or usage (errors listed and written to errors.csv).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from models import ScenarioError
from models.problems import Problem

DEFAULT_SCENARIO = "jiaozuo-2022"
console = Console()
err_console = Console(stderr=True)


def main() -> None:
    cli(prog_name="zhaosheng")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhaosheng")
def cli() -> None:
    """Plan and check secondary vocational (中职/技工) admissions under the rules R1–R12."""


# helpers ------------------------------------------------------------------------------------------

@contextmanager
def _progress(quiet: bool):
    progress = Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=quiet)
    with progress:
        yield progress


def _load(spec: str, progress: Progress | None = None):
    import scenarios

    task = progress.add_task(f"loading {spec}", total=None) if progress else None
    try:
        return scenarios.load(spec)
    finally:
        if progress and task is not None:
            progress.remove_task(task)


def _show_problems(problems: list[Problem], limit: int = 20) -> None:
    errors = [p for p in problems if p.severity == "error"]
    table = Table(title=f"{len(errors)} error(s) in the input", show_lines=False)
    for col in ("file", "row", "column", "value", "clause", "problem"):
        table.add_column(col, overflow="fold")
    for p in errors[:limit]:
        table.add_row(p.file, "" if p.row is None else str(p.row), p.column or "", p.value or "", p.clause, p.message)
    err_console.print(table)
    if len(errors) > limit:
        err_console.print(f"... and {len(errors) - limit} more")


def _regions_summary(out) -> Table:
    from solver.figures import totals

    regions = out.regions
    table = Table(title=f"{out.scenario.name}: {len(out.scenario.students):,} students, engine {out.result.engine}")
    # 地区 region, 毕业生 graduates, 普高 general, 中职 vocational, 未录取 unplaced, 入学率 enrollment rate
    for col, justify in (("地区", "left"), ("毕业生", "right"), ("普高", "right"), ("中职", "right"),
                         ("未录取", "right"), ("普职比", "right"), ("入学率", "right")):
        table.add_column(col, justify=justify, no_wrap=True)

    def pct(v):
        return "" if v is None or v != v else f"{v:.1%}"

    for r in regions.itertuples(index=False):
        grads = "" if r.graduates is None or r.graduates != r.graduates else f"{int(r.graduates):,}"
        table.add_row(str(r.name), grads, f"{r.general:,}", f"{r.vocational:,}", f"{r.unplaced:,}",
                      r.general_vocational_ratio, pct(r.enrollment_rate))
    t = totals(regions)
    table.add_section()
    table.add_row("合计", f"{t['graduates']:,}", f"{t['general']:,}", f"{t['vocational']:,}",
                  f"{t['unplaced']:,}", t["general_vocational_ratio"], pct(t["enrollment_rate"]), style="bold")
    return table


def _default_out(spec: str) -> Path:
    return Path("results") / Path(spec).stem


# commands -----------------------------------------------------------------------------------------

@cli.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the result files [default: results/SCENARIO].")
@click.option("--engine", type=click.Choice(["sequential", "cpsat", "both"]), default="sequential", show_default=True,
              help="sequential: the rules as written. cpsat/both: arrive with the CP-SAT model.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def run(scenario: str, out_dir: Path | None, engine: str, quiet: bool) -> None:
    """Run SCENARIO (a folder, an .xlsx/.json file, or a bundled name) and write the results."""
    from solver.run import EngineUnavailable, run as run_scenario, write_failure, write_outputs

    out_dir = out_dir or _default_out(scenario)
    started = time.perf_counter()
    try:
        with _progress(quiet) as progress:
            t0 = time.perf_counter()
            sc = _load(scenario, progress)
            load_seconds = time.perf_counter() - t0
            task = progress.add_task("admitting", total=1 + len(sc.settings.batches) * sc.settings.max_choices)

            def tick(what: str, done: int, total: int) -> None:
                progress.update(task, description=what, completed=done, total=total)

            output = run_scenario(sc, engine=engine, progress=tick)
            progress.update(task, description="writing results")
            write_outputs(output, out_dir, {"load": round(load_seconds, 4)})
    except ScenarioError as exc:
        write_failure(out_dir, exc.problems, scenario, "invalid input")
        _show_problems(exc.problems)
        err_console.print(f"[red]Nothing was run.[/] Every problem is listed in {out_dir / 'errors.csv'}")
        sys.exit(2)
    except EngineUnavailable as exc:
        err_console.print(f"[red]{exc}[/]")
        sys.exit(2)
    console.print(_regions_summary(output))
    warnings = len(output.scenario.warnings)
    if warnings:
        console.print(f"{warnings:,} warning(s) (void choices, R2/R3) listed in {out_dir / 'warnings.csv'}")
    console.print(f"Results in {out_dir}/ (admissions.csv, offers.csv, schools.csv, regions.csv, progress.xlsx, "
                  f"summary.json) in {time.perf_counter() - started:.1f} s")


@cli.command()
@click.argument("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write errors.csv (and warnings.csv) into this folder.")
def validate(scenario: str, out_dir: Path | None) -> None:
    """Check SCENARIO and list every problem, without running it."""
    from models.problems import problems_frame
    from models.results import write_csv

    try:
        sc = _load(scenario)
    except ScenarioError as exc:
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            write_csv(problems_frame(exc.problems), out_dir / "errors.csv")
        _show_problems(exc.problems)
        sys.exit(2)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(problems_frame(sc.warnings), out_dir / "warnings.csv")
    console.print(f"{sc.name}: valid — {len(sc.regions)} regions, {len(sc.schools)} schools, "
                  f"{len(sc.students):,} students, {len(sc.settings.batches)} batches, {len(sc.warnings):,} warning(s)")


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--students", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--regions", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--schools", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batches", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option("--max-choices", type=click.IntRange(1, 9), default=2, show_default=True)
def generate(out: Path, students: int, regions: int, schools: int, seed: int, batches: int, max_choices: int) -> None:
    """Write a synthetic scenario to OUT (a folder, or .xlsx / .json), the same for the same seed."""
    from models import write_scenario
    from scenarios.generator import generate as make

    t0 = time.perf_counter()
    sc = make(students=students, regions=regions, schools=schools, seed=seed, batches=batches, max_choices=max_choices)
    write_scenario(sc, out)
    console.print(f"wrote {out}: {len(sc.students):,} students, {len(sc.regions)} regions, {len(sc.schools)} schools, "
                  f"{len(sc.settings.batches)} batches in {time.perf_counter() - t0:.1f} s")


@cli.command()
@click.argument("scenario")
@click.argument("out", type=click.Path(path_type=Path))
def export(scenario: str, out: Path) -> None:
    """Write SCENARIO (e.g. a bundled one) to OUT as a folder, .xlsx or .json, to edit it."""
    from models import write_scenario

    try:
        sc = _load(scenario)
    except ScenarioError as exc:
        _show_problems(exc.problems)
        sys.exit(2)
    write_scenario(sc, out)
    console.print(f"wrote {out}")


@cli.command("scenarios")
def list_scenarios() -> None:
    """List the bundled scenarios."""
    import scenarios

    for name in scenarios.bundled_names():
        readme = scenarios.bundled_path(name) / "README.md"
        title = readme.read_text(encoding="utf-8").splitlines()[0].lstrip("# ") if readme.exists() else ""
        console.print(f"{name:16} {title}")


if __name__ == "__main__":
    main()
