"""What every ``zhaosheng`` command shares: the consoles, the progress display, loading a scenario
(bundled name or path) and showing its problems root cause first.  Exit codes of every command: 0 done,
1 failed (or not verified), 2 bad input or usage (errors listed and written to errors.csv)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.problems import Problem
from models.scenario import Scenario

DEFAULT_SCENARIO = "jiaozuo-2022"
console = Console()
err_console = Console(stderr=True)


class Teardown:
    """Whether the process may end without the interpreter's teardown.  A command sets ``skippable`` once
    its results are published and nothing of it is left to close (no thread, process, server or open
    file): `api.cli.main` then flushes the consoles and leaves with ``os._exit``, as mypy does, instead of
    freeing a province's arrays object by object (about 0.12 s of a 1M-student ``run``, issue #14.3).
    Under click's test runner, which never calls ``main``, the flag has no effect."""

    skippable = False


@contextmanager
def progress_display(quiet: bool) -> Iterator[Progress]:
    progress = Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=quiet)
    with progress:
        yield progress


def load(spec: str, progress: Progress | None = None) -> Scenario:
    import scenarios

    task = progress.add_task(f"loading {spec}", total=None) if progress else None
    try:
        return scenarios.load(spec)
    finally:
        if progress and task is not None:
            progress.remove_task(task)


def show_problems(problems: list[Problem], limit: int = 20) -> None:
    """The errors, root causes first (as the loader orders them); the same problem in many rows of one
    column is one line with its rows and count."""
    errors = [p for p in problems if p.severity == "error"]
    groups: dict[tuple, list[Problem]] = {}
    for p in errors:
        groups.setdefault((p.file, p.column, p.clause, p.message), []).append(p)
    table = Table(title=f"{len(errors):,} error(s) in the input", show_lines=False)
    for col in ("file", "row", "column", "value", "clause", "problem"):
        table.add_column(col, overflow="fold")
    for (file, column, clause, message), items in list(groups.items())[:limit]:
        rows = [p.row for p in items if p.row is not None]
        where = "" if not rows else str(rows[0]) if len(items) == 1 else f"{rows[0]}–{rows[-1]} ({len(items):,} rows)"
        table.add_row(file, where, column or "", items[0].value or "", clause, message)
    err_console.print(table)
    if len(groups) > limit:
        err_console.print(f"... and {len(groups) - limit} more kinds of problem")


def show_reading_warnings(warnings: list[Problem], limit: int = 8) -> None:
    """How the input was read where a planner should know it (an encoding, a skipped title row, more
    students than graduates): every warning but the void choices (R2, R3), which are counted."""
    reading = [w for w in warnings if w.clause not in ("R2", "R3")]
    for w in reading[:limit]:
        err_console.print(f"[yellow]note[/]: {w.file}" + (f", row {w.row}" if w.row else "") + f": {w.message}")
    if len(reading) > limit:
        err_console.print(f"... and {len(reading) - limit} more notes in warnings.csv")


def default_out(spec: str) -> Path:
    return Path("results") / Path(spec).stem
