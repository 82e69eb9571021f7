"""``zhaosheng audit``: a published result checked against the rules R1-R12, with explanations."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import JustifyMethod
from rich.table import Table

from api.cli.common import console, err_console, load, progress_display, show_problems
from models import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from models.scenario import Scenario
    from solver.audit.explain import Explanations
    from solver.audit.report import AuditReport


@click.command()
@click.argument("scenario")
@click.option("--result", "result_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The published admissions (admissions.csv form; CSV or .xlsx, Chinese headers accepted).")
@click.option("--offers", "offers_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The published offers (offers.csv form), for the checks of declines and confirmations.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the audit files [default: audit/ next to the result file].")
@click.option("--explain/--no-explain", default=True, show_default=True,
              help="Explain each fault by a minimal set of published facts (CP-SAT core) in explanations.csv.")
@click.option("--explain-limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="At most this many R6/R7/R8 faults are explained by CP-SAT.")
def audit(scenario: str, result_path: Path, offers_path: Path | None, out_dir: Path | None, explain: bool,
          explain_limit: int) -> None:
    """Audit a published result of SCENARIO against the rules R1-R12: violations.csv, differences.csv
    (where it is not the rule's result), explanations.csv (why, in published facts), audit.xlsx,
    summary.json.  Exit 0 clean, 1 violations, 2 bad input."""
    from solver.audit import audit as run_audit
    from solver.audit import write_audit

    out_dir = out_dir or result_path.parent / "audit"
    started = time.perf_counter()
    sc, admissions, offers = _read_or_exit(scenario, result_path, offers_path, out_dir)
    load_seconds = time.perf_counter() - started
    with progress_display(False) as progress:
        progress.add_task("checking R1-R12" + (" and explaining" if explain else ""), total=None)
        report = run_audit(sc, admissions, offers, explain=explain, explain_limit=explain_limit)
    report.timings["load"] = round(load_seconds, 3)
    write_audit(report, out_dir, {"result": str(result_path), "offers": str(offers_path) if offers_path else None})
    console.print(_rules_table(report, f"audit of {result_path.name} ({sc.name})"))
    console.print(f"{len(report.differences):,} student(s) differ from the rule's result "
                  f"({int((report.differences_by_school['differences'] > 0).sum())} school(s)): "
                  f"{out_dir / 'differences.csv'}")
    ex = report.explanations
    if ex is not None and len(ex.frame):
        _show_explanations(ex, out_dir)
    console.print(f"Audit in {out_dir}/ (violations.csv, differences.csv, "
                  f"{'explanations.csv, ' if ex is not None else ''}audit.xlsx, summary.json) "
                  f"in {time.perf_counter() - started:.1f} s")
    sys.exit(0 if report.clean else 1)


def _read_or_exit(scenario: str, result_path: Path, offers_path: Path | None,
                  out_dir: Path) -> tuple[Scenario, pd.DataFrame, pd.DataFrame | None]:
    """The scenario and the published files; every problem of them together, and exit 2, when any is bad."""
    from models.problems import ProblemLog
    from models.published import read_published_into
    from solver.audit import write_audit_failure

    log, sc = ProblemLog(), None
    try:
        sc = load(scenario)
    except ScenarioError as exc:  # the result files' problems are reported together with the scenario's
        log.extend(exc.problems)
    admissions = read_published_into(result_path, "admissions", log)
    offers = read_published_into(offers_path, "offers", log) if offers_path else None
    if log.has_errors or sc is None:
        write_audit_failure(out_dir, log.items, str(result_path), "invalid input")
        show_problems(log.items)
        err_console.print(f"[red]Nothing was audited.[/] Every problem is listed in {out_dir / 'errors.csv'}")
        sys.exit(2)
    return sc, admissions, offers


def _rules_table(report: AuditReport, title: str) -> Table:
    """Violations and students per rule (dim where the rule holds)."""
    table = Table(title=f"{title}: "
                        f"{'follows every rule' if report.clean else f'{len(report.violations):,} violation(s)'}")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("rule", "left"), ("", "left"), ("violations", "right"), ("students", "right"))
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for r in report.by_rule.to_dict("records"):
        table.add_row(r["rule"], r["title"], f"{r['violations']:,}", f"{r['students']:,}",
                      style=None if r["violations"] else "dim")
    return table


def _show_explanations(ex: Explanations, out_dir: Path) -> None:
    """The first few explanations (those by CP-SAT cores first) and where the others are."""
    shown = ex.frame[ex.frame["method"] != "fact"].head(5)
    for sentence in (shown if len(shown) else ex.frame.head(5))["explanation"]:
        console.print(f"  • {sentence}")
    more = f", {ex.skipped:,} beyond --explain-limit" if ex.skipped else ""
    console.print(f"{len(ex.frame):,} explanation(s) ({ex.explained:,} by CP-SAT cores{more}): "
                  f"{out_dir / 'explanations.csv'}")
