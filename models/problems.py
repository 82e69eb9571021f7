"""Problems found in input files: every one is collected, none is fatal on its own.

A problem names the file, the row as a spreadsheet numbers it (header = row 1, first data row = 2),
the column, the offending value and the clause it breaks: a rule id of docs/rules.md (``R3``) or a clause
of docs/formats.md (``FORMATS students.csv``).  Errors stop a run; warnings (void choices, R2/R3) do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning"]

PROBLEM_COLUMNS = ["severity", "file", "row", "column", "value", "clause", "message"]


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    clause: str
    message: str
    severity: Severity = "error"
    root: bool = False  # a cause others follow from (a file that cannot be read, a missing column): listed first

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{self.severity}: {where}{value}: {self.message} [{self.clause}]"


class ScenarioError(Exception):
    """Raised with every problem of an input at once; ``problems`` holds errors and warnings, root causes
    first.  Past `ProblemLog.limit` problems are counted, not kept: the last row then says how many more."""

    def __init__(self, problems: Iterable[Problem], omitted: int = 0):
        self.problems = list(problems)
        self.omitted = omitted
        if omitted:
            self.problems.append(Problem("", None, None, None, "FORMATS",
                                         f"and {omitted:,} more problems, not listed (fix the ones above first)"))
        errors = [p for p in self.problems if p.severity == "error"]
        head = "; ".join(str(p) for p in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} error(s) in the input: {head}{more}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """The problems as a table, in the column order of ``errors.csv``."""
    rows = [(p.severity, p.file, p.row, p.column, p.value, p.clause, p.message) for p in problems]
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


DEFAULT_LIMIT = 100_000  # problems kept; a file of junk must not fill memory with millions of them


class ProblemLog:
    """Collects problems while a loader walks the input: the first ``limit`` are kept, the rest counted."""

    def __init__(self, limit: int | None = DEFAULT_LIMIT) -> None:
        self.items: list[Problem] = []
        self.limit = limit
        self.omitted = 0
        self._errors = False

    def _room(self, n: int) -> int:
        """How many of n new problems are kept; the others are counted in ``omitted``."""
        keep = n if self.limit is None else max(0, min(n, self.limit - len(self.items)))
        self.omitted += n - keep
        return keep

    def add(self, problem: Problem) -> None:
        self._errors |= problem.severity == "error"
        if self._room(1):
            self.items.append(problem)

    def error(self, file: str, row: int | None, column: str | None, value: object, clause: str, message: str,
              *, root: bool = False) -> None:
        self.add(Problem(file, row, column, _text(value), clause, message, "error", root))

    def warning(self, file: str, row: int | None, column: str | None, value: object, clause: str, message: str) -> None:
        self.add(Problem(file, row, column, _text(value), clause, message, "warning"))

    def rows(self, severity: Severity, file: str, rows: Iterable[int], column: str | None, values: Iterable[object],
             clause: str, message: str | Iterable[str]) -> None:
        """Add one problem per row; ``message`` is a string or a sequence aligned with ``rows``."""
        row_list = list(rows)
        if not row_list:
            return
        self._errors |= severity == "error"
        keep = self._room(len(row_list))
        kept_values = list(values)[:keep]
        messages = [message] * keep if isinstance(message, str) else list(message)[:keep]
        for row, value, text in zip(row_list[:keep], kept_values, messages):
            self.items.append(Problem(file, int(row), column, _text(value), clause, text, severity))

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(p)

    @property
    def has_errors(self) -> bool:
        return self._errors or any(p.severity == "error" for p in self.items)  # items may be extended directly

    def ordered(self) -> list[Problem]:
        """Root causes first, then the other errors, then warnings; otherwise in the order found."""
        return sorted(self.items, key=lambda p: (p.severity != "error", not p.root))

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise ScenarioError(self.ordered(), self.omitted)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(value)
