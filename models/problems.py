"""Problems found in input files: every one is collected, none is fatal on its own.

A problem names the file, the row as a spreadsheet numbers it (header = row 1, first data row = 2),
the column, the offending value and the clause it breaks: a rule id of RULES.md (``R3``) or a clause
of FORMATS.md (``FORMATS students.csv``).  Errors stop a run; warnings (void choices, R2/R3) do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

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

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{self.severity}: {where}{value}: {self.message} [{self.clause}]"


class ScenarioError(Exception):
    """Raised with every problem of an input at once; ``problems`` holds errors and warnings."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
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


class ProblemLog:
    """Collects problems while a loader walks the input."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, file: str, row: int | None, column: str | None, value, clause: str, message: str) -> None:
        self.items.append(Problem(file, row, column, _text(value), clause, message, "error"))

    def warning(self, file: str, row: int | None, column: str | None, value, clause: str, message: str) -> None:
        self.items.append(Problem(file, row, column, _text(value), clause, message, "warning"))

    def rows(self, severity: Severity, file: str, rows, column: str | None, values, clause: str, message) -> None:
        """Add one problem per row; ``message`` is a string or a sequence aligned with ``rows``."""
        rows = list(rows)
        values = list(values)
        messages = [message] * len(rows) if isinstance(message, str) else list(message)
        for row, value, text in zip(rows, values, messages):
            self.items.append(Problem(file, int(row), column, _text(value), clause, text, severity))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise ScenarioError(self.items)


def _text(value) -> str | None:
    if value is None:
        return None
    return str(value)
