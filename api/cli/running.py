"""``zhaosheng run``, ``verify``, ``validate``, ``generate``, ``export`` and ``scenarios``: the rules on a
scenario with one engine or both (docs/verification.md), and the scenario files themselves."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import JustifyMethod
from rich.table import Table

from api.cli.common import (
    DEFAULT_SCENARIO,
    Teardown,
    console,
    default_out,
    err_console,
    load,
    progress_display,
    show_problems,
    show_reading_warnings,
)
from models import ScenarioError
from solver.methods import METHODS
from solver.resources import limit_memory, out_of_memory, ran_out_of_memory
from solver.run import ENGINES, RESULT_FILES, ROSTER_LIMIT, RunOutput

if TYPE_CHECKING:
    from solver.verify import Verdict

ENGINE_HELP = ("sequential: the rules as written (fast). cpsat: the CP-SAT model of the rules alone. "
               "both: run both, prove them equal and the result unique, and check it (R1-R12).")


def _regions_summary(out: RunOutput) -> Table:
    from solver.engine.figures import totals

    regions = out.regions
    table = Table(title=f"{out.scenario.name}: {len(out.scenario.students):,} students, engine {out.result.engine}")
    # 地区 region, 毕业生 graduates, 普高 general, 中职 vocational, 未录取 unplaced, 入学率 enrollment rate
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("地区", "left"), ("毕业生", "right"), ("普高", "right"), ("中职", "right"), ("未录取", "right"),
        ("普职比", "right"), ("入学率", "right"))
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=True)

    def pct(v: float | None) -> str:
        return "" if v is None or v != v else f"{v:.1%}"

    for r in regions.to_dict("records"):
        grads = "" if r["graduates"] is None or r["graduates"] != r["graduates"] else f"{int(r['graduates']):,}"
        table.add_row(str(r["name"]), grads, f"{r['general']:,}", f"{r['vocational']:,}", f"{r['unplaced']:,}",
                      r["general_vocational_ratio"], pct(r["enrollment_rate"]))
    t = totals(regions)
    table.add_section()
    table.add_row("合计", f"{t['graduates']:,}", f"{t['general']:,}", f"{t['vocational']:,}",
                  f"{t['unplaced']:,}", t["general_vocational_ratio"], pct(t["enrollment_rate"]), style="bold")
    return table


def _engine_run(scenario: str, out_dir: Path, engine: str, quiet: bool, time_limit: float | None, hint: bool,
                roster: bool | None = None, method: str = "batches") -> RunOutput:
    """Load, run and write, with progress; exits 2 on bad input, 1 when CP-SAT finds no result."""
    from solver.run import NotSolved, write_failure, write_outputs
    from solver.run import run as run_scenario

    detail = {"phase": "loading the scenario"}
    try:
        with progress_display(quiet) as progress:
            t0 = time.perf_counter()
            sc = load(scenario, progress)
            load_seconds = time.perf_counter() - t0
            task = progress.add_task("admitting", total=1 + len(sc.settings.batches) * sc.settings.max_choices)

            def tick(what: str, done: int, total: int) -> None:
                detail["phase"] = what
                progress.update(task, description=what, completed=done, total=total)

            def phase(what: str) -> None:
                detail["phase"] = what
                progress.update(task, description=what, completed=None, total=None)

            def log(line: str) -> None:  # CP-SAT's own log: show where the solver is
                line = line.strip()
                if line:
                    progress.update(task, description=f"{detail['phase']}: {line[:70]}")

            output = run_scenario(sc, engine=engine, progress=tick, time_limit=time_limit, phase=phase,
                                  log=log if not quiet else None, hint=hint, method=method)
            detail["phase"] = "writing results"
            progress.update(task, description="writing results")
            write_outputs(output, out_dir, {"load": round(load_seconds, 4)}, roster=roster)
    except ScenarioError as exc:
        write_failure(out_dir, exc.problems, scenario, "invalid input")
        show_problems(exc.problems)
        err_console.print(f"[red]Nothing was run.[/] Every problem is listed in {out_dir / 'errors.csv'}")
        sys.exit(2)
    except NotSolved as exc:
        write_failure(out_dir, [], scenario, str(exc))
        err_console.print(f"[red]{exc}[/]")
        sys.exit(1)
    except (MemoryError, RuntimeError) as exc:  # what ran out, where, what to try; a failed summary, no traceback
        if not ran_out_of_memory(exc):
            raise
        reason = out_of_memory(detail["phase"], exc)
        write_failure(out_dir, [], scenario, reason)
        err_console.print(f"[red]{reason}[/]")
        sys.exit(1)
    return output


def _verdict(output: RunOutput) -> Verdict:
    """The verdict of a run of both engines (`solver.verify`)."""
    assert output.verification is not None, "both engines ran"
    return output.verification.verdict


def _verdict_table(output: RunOutput) -> Table:
    v = _verdict(output)
    table = Table(title=f"verification of {output.scenario.name}: {v.text}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")

    def mark(flag: bool | None) -> str:
        return "not proven" if flag is None else ("yes" if flag else "NO")

    table.add_row("equal", mark(v.equal), f"{v.differences if v.differences is not None else '?'} student(s) differ")
    table.add_row("unique", mark(v.unique), f"proof: {v.status.get('proof', 'not run')}")
    for engine, n in v.checker_violations.items():
        table.add_row(f"checker ({engine})", "clean" if n == 0 else f"{n} violation(s)", "R1-R12")
    t = v.times
    table.add_row("times", "", ", ".join(f"{k} {t[k]:.1f} s" for k in ("build", "solve", "proof", "checker", "total")
                                         if k in t))
    m = v.model
    table.add_row("model", "", f"{m.get('applications', 0):,} applications, {m.get('variables', 0):,} variables, "
                               f"{m.get('constraints', 0):,} constraints" + (" (hinted mode)" if v.hint else ""))
    return table


@click.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the result files [default: results/SCENARIO].")
@click.option("--engine", type=click.Choice(ENGINES), default="both", show_default=True,
              help=ENGINE_HELP)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the CP-SAT phases.")
@click.option("--hint", is_flag=True, help="Labelled mode: give CP-SAT the sequential result as a hint.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--roster/--no-roster", default=None,
              help="Write admissions.xlsx (录取名册) [default: up to 300,000 students].")
@click.option("--memory-limit", type=click.FloatRange(min=0.1), metavar="GIB",
              help="Cap this run's memory (address space) at GIB GiB: past it the run stops with a clear message.")
def run(scenario: str, out_dir: Path | None, engine: str, time_limit: float | None, hint: bool, quiet: bool,
        roster: bool | None, memory_limit: float | None) -> None:
    """Run SCENARIO (a folder, an .xlsx/.json file, or a bundled name) and write the results."""
    out_dir = out_dir or default_out(scenario)
    if memory_limit:
        limit_memory(memory_limit)
    started = time.perf_counter()
    output = _engine_run(scenario, out_dir, engine, quiet, time_limit, hint, roster)
    if output.verification is not None:
        console.print(_verdict_table(output))
    console.print(_regions_summary(output))
    warnings = len(output.scenario.warnings)
    show_reading_warnings(output.scenario.warnings)
    if warnings:
        console.print(f"{warnings:,} warning(s) (void choices, R2/R3, and how the files were read) listed in "
                      f"{out_dir / 'warnings.csv'}")
    written = ", ".join(name for name in RESULT_FILES if name != "warnings.csv" and (out_dir / name).is_file())
    console.print(f"Results in {out_dir}/ ({written}) in {time.perf_counter() - started:.1f} s")
    if not (out_dir / "admissions.xlsx").is_file():
        console.print(f"admissions.xlsx (录取名册) not written (by default only up to {ROSTER_LIMIT:,} students): "
                      "--roster writes it")
    Teardown.skippable = True
    if output.verification is not None and not output.verification.verdict.ok:
        sys.exit(1)


@click.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the result files [default: results/SCENARIO].")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the CP-SAT phases.")
@click.option("--hint", is_flag=True, help="Labelled mode: give CP-SAT the sequential result as a hint "
              "(solves the whole model).")
@click.option("--method", type=click.Choice(METHODS), default="batches", show_default=True,
              help="batches: one model per batch, each given the model's own earlier batches (less memory); "
                   "whole: the whole model at once.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--memory-limit", type=click.FloatRange(min=0.1), metavar="GIB",
              help="Cap this run's memory (address space) at GIB GiB: past it the run stops with a clear message.")
def verify(scenario: str, out_dir: Path | None, time_limit: float | None, hint: bool, method: str,
           quiet: bool, memory_limit: float | None) -> None:
    """Prove that the CP-SAT model of the rules gives exactly the sequential engine's result, that it is
    the only one, and that the checker finds no violation.  Exit 0 only then; 1 otherwise."""
    out_dir = out_dir or default_out(scenario)
    if memory_limit:
        limit_memory(memory_limit)
    output = _engine_run(scenario, out_dir, "both", quiet, time_limit, hint, method=method)
    console.print(_verdict_table(output))
    verdict = _verdict(output)
    if verdict.differences:
        console.print(f"{verdict.differences} student(s) differ: {out_dir / 'differences.csv'}")
    violations = sum(verdict.checker_violations.values())
    if violations:
        console.print(f"{violations} violation(s): {out_dir / 'violations.csv'}")
    console.print(f"summary with the verdict: {out_dir / 'summary.json'}")
    Teardown.skippable = True
    sys.exit(0 if verdict.ok else 1)


@click.command()
@click.argument("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write errors.csv (and warnings.csv) into this folder.")
def validate(scenario: str, out_dir: Path | None) -> None:
    """Check SCENARIO and list every problem, without running it."""
    from models.problems import problems_frame
    from models.results import write_csv

    try:
        sc = load(scenario)
    except ScenarioError as exc:
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            write_csv(problems_frame(exc.problems), out_dir / "errors.csv")
        show_problems(exc.problems)
        sys.exit(2)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(problems_frame(sc.warnings), out_dir / "warnings.csv")
    show_reading_warnings(sc.warnings)
    console.print(f"{sc.name}: valid — {len(sc.regions)} regions, {len(sc.schools)} schools, "
                  f"{len(sc.students):,} students, {len(sc.settings.batches)} batches, {len(sc.warnings):,} warning(s)")


@click.command()
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


@click.command()
@click.argument("scenario")
@click.argument("out", type=click.Path(path_type=Path))
def export(scenario: str, out: Path) -> None:
    """Write SCENARIO (e.g. a bundled one) to OUT as a folder, .xlsx or .json, to edit it."""
    from models import write_scenario

    try:
        sc = load(scenario)
    except ScenarioError as exc:
        show_problems(exc.problems)
        sys.exit(2)
    write_scenario(sc, out)
    console.print(f"wrote {out}")


@click.command("scenarios")
def list_scenarios() -> None:
    """List the bundled scenarios."""
    import scenarios

    for name in scenarios.bundled_names():
        readme = scenarios.bundled_path(name) / "README.md"
        title = readme.read_text(encoding="utf-8").splitlines()[0].lstrip("# ") if readme.exists() else ""
        console.print(f"{name:16} {title}")
