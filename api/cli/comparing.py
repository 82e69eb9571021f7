"""``zhaosheng compare``: the scenario under several admission mechanisms (boston, parallel, chen-kesten:E;
docs/rules.md "R6 variants") on the same students and lists, compared (issue #15.3).

Thin: parse the mechanisms, show progress, run the comparison and write its files as the service does
(`solver.analysis.jobs.run_analysis`), print the figures, each pair's gains and losses and the caveat on
strategic lists.  Exit codes: 0 done, 2 bad input (a bad --mechanisms or --band, or a bad scenario).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from api.cli.common import console, err_console, load, progress_display, show_problems

if TYPE_CHECKING:
    from solver.analysis.compare import CompareReport


def _pct(v: float | None) -> str:
    return "" if v is None or v != v else f"{v:.1%}"


@click.command("compare")
@click.argument("scenario")
@click.option("--mechanisms", "mechanisms", default="boston,parallel", show_default=True,
              metavar="M1,M2[,...]",
              help="The mechanisms to compare, each applied to every batch: boston (the sequential rule, 顺序志愿), "
                   "parallel (平行志愿), chen-kesten:E (choices in blocks of E).")
@click.option("--band", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Points of a score band in moves.csv and pairs.csv.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for mechanisms.csv, moves.csv, pairs.csv, compare.xlsx, compare.png "
                   "[default: results/SCENARIO-compare].")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def compare_command(scenario: str, mechanisms: str, band: float, out_dir: Path | None, quiet: bool) -> None:
    """Run SCENARIO under each mechanism on the same students and lists and compare them: per mechanism the
    placed, unplaced, justified envy, first-choice share, 普职比 and enrollment rate; between each pair the
    students who gain, lose or move, by score band and region."""
    from models import ScenarioError
    from solver.analysis.compare import CAVEAT, MechanismError, parse_mechanisms
    from solver.analysis.jobs import run_analysis

    try:
        specs = parse_mechanisms(mechanisms)  # bad input before the scenario is loaded
    except MechanismError as exc:
        raise click.BadParameter(str(exc), param_hint="--mechanisms") from None
    out_dir = out_dir or Path("results") / f"{Path(scenario).stem}-compare"
    started = time.perf_counter()
    with progress_display(quiet) as progress:
        try:
            sc = load(scenario, progress)
        except ScenarioError as exc:
            progress.stop()
            show_problems(exc.problems)
            err_console.print("[red]Nothing was run.[/]")
            sys.exit(2)
        task = progress.add_task("comparing", total=len(specs) + 1)

        def tick(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        def phase(what: str) -> None:
            progress.update(task, description=what)

        params = {"mechanisms": [s.label for s in specs], "band": band}
        report = run_analysis("compare", sc, params, out_dir, tick, phase).report
    _print(report)
    console.print(f"[yellow]Note:[/] {CAVEAT}")
    console.print(f"Results in {out_dir}/ (mechanisms.csv, regions_by_mechanism.csv, schools_by_mechanism.csv, "
                  f"moves.csv, pairs.csv, compare.xlsx, compare.png, compare.html, summary.json) "
                  f"in {time.perf_counter() - started:.1f} s")


def _print(report: CompareReport) -> None:
    table = Table(title=f"{report.scenario}: mechanisms on the same students and lists")
    for col in ("mechanism", "中职录取", "未录取", "第一志愿", "合理嫉妒", "普职比", "入学率"):
        table.add_column(col, justify="left" if col == "mechanism" else "right", no_wrap=True)
    for r in report.mechanisms.to_dict("records"):
        table.add_row(str(r["mechanism"]), f"{int(r['vocational']):,}", f"{int(r['unplaced']):,}",
                      _pct(r["first_choice_share"]), f"{int(r['justified_envy_students']):,}",
                      str(r["general_vocational_ratio"]), _pct(r["enrollment_rate"]))
    console.print(table)
    for r in report.mechanisms.to_dict("records"):
        same = f"; the same as {r['same_as']} for lists of {report.max_choices}" if r["same_as"] else ""
        console.print(f"  {r['mechanism']}: {r['mechanism_name']}{same}")
    pairs = Table(title="between each pair (by the students' own lists)")
    for col in ("A → B", "changed", "gain", "lose", "move", "other", "net"):
        pairs.add_column(col, justify="left" if col == "A → B" else "right", no_wrap=True)
    for r in report.pair_totals().to_dict("records"):
        pairs.add_row(f"{r['mechanism_a']} → {r['mechanism_b']}", *(f"{int(r[k]):,}" for k in
                                                                    ("changed", "gain", "lose", "move", "other")),
                      f"{int(r['net']):+,}")
    console.print(pairs)
