"""Raw input tables: every cell as text, headers mapped to docs/formats.md names, rows numbered as a
spreadsheet shows them.  Shared by the CSV, workbook and JSON readers; nothing is interpreted here
beyond the headers (`models.validate` checks the cells).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import TEXT, text
from models.headers import FALLBACK, canonical_header, normalize
from models.problems import ProblemLog

BLANK = "__blank"  # prefix of a column whose header cell is empty


@dataclass
class RawTable:
    frame: pd.DataFrame  # every cell as text, "" when empty; known headers canonical, others as written
    file: str  # as reported in problems
    first_row: int  # spreadsheet row number of frame.iloc[0] (2 below a header in row 1)
    headers: dict[str, str] = field(default_factory=dict)  # frame column -> header as written
    unknown: list[str] = field(default_factory=list)  # frame columns whose header is not a known one
    rows: NDArray[np.int64] | None = None  # spreadsheet row of each frame row, where not first_row + position
    unreadable: bool = False  # the file itself could not be read: its columns are not "missing"
    info: dict[str, object] = field(default_factory=dict)  # how it was read (encoding, header row), for summary.json
    header_row: int | None = -1  # where the header stands (None: JSON records have none; -1: the row above)

    def __post_init__(self) -> None:
        if self.header_row == -1:
            self.header_row = (self.first_row - 1) or None

    def row_numbers(self) -> NDArray[np.int64]:
        """The spreadsheet row of every frame row (empty rows dropped in between keep their numbers)."""
        if self.rows is not None:
            return self.rows
        return np.arange(len(self.frame), dtype=np.int64) + self.first_row

    def row_numbers_at(self, positions: NDArray[np.integer]) -> NDArray[np.int64]:
        """The spreadsheet rows of the frame rows at ``positions`` (`row_numbers`, without every row's)."""
        if self.rows is not None:
            return np.asarray(self.rows[positions], dtype=np.int64)
        return np.asarray(positions, dtype=np.int64) + self.first_row


def map_headers(table: str, header: list[str], file: str, header_row: int,
                log: ProblemLog) -> tuple[list[str], dict[str, str], list[str]]:
    """Frame column names for the header cells of ``table``: canonical names for known headers, the
    header as written for unknown ones (`models.validate` reports them unless declared), ``__blankN``
    for empty header cells.  A column named twice is an error."""
    names: list[str] = []
    written: dict[str, str] = {}
    unknown: list[str] = []
    canon = [canonical_header(table, h) if str(h).strip() else None for h in header]
    for i, (h, name) in enumerate(zip(header, canon)):
        raw = str(h).strip()
        if not raw:
            name = f"{BLANK}{i}"
        elif name is None:
            name = raw
            unknown.append(name)
        elif normalize(raw) in FALLBACK and FALLBACK[normalize(raw)] not in canon:
            name = FALLBACK[normalize(raw)]  # 学籍号 is the id where no 考生号 is given
        if name in written:
            log.error(file, header_row, raw, raw, "FORMATS",
                      f"two columns mean {name!r}: {written[name]!r} and {raw!r}; keep one", root=True)
            name = f"{name}__dup{i}"
        written[name] = raw
        names.append(name)
    return names, written, unknown


def find_header(table: str, rows: list[list[str]], look: int = 5) -> int:
    """Index of the header among the first rows: the first row whose filled cells are at least half
    known headers, provided every row above it is title-like (at most two filled cells); else 0."""
    for i, row in enumerate(rows[:look]):
        cells = [c for c in row if str(c).strip()]
        known = sum(canonical_header(table, c) is not None for c in cells)
        if known and 2 * known >= len(cells):
            return i
        if len(cells) > 2:
            break
    return 0


def skipped_titles(file: str, rows: list[list[str]], header: int, log: ProblemLog) -> None:
    """A warning for the title rows above the header (Excel reports often start with one)."""
    for i in range(header):
        title = " ".join(str(c).strip() for c in rows[i] if str(c).strip())
        if title:
            log.warning(file, i + 1, None, title, "FORMATS",
                        f"row {i + 1} is above the header (row {header + 1}): read as a title and skipped")


def cell_text(value: object) -> str:
    """A cell as text the way a planner typed it: 512.0 -> "512", dates as ISO, None -> ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


LONG_NUMBER = 1e15  # Excel keeps 15 significant digits of a number


def _magnitude(value: object) -> float:
    """|value| of a number cell (0 for anything else)."""
    return abs(value) if isinstance(value, (int, float)) else 0.0


def table_from_rows(table: str, header: Sequence[object], rows: Sequence[Sequence[object]], file: str, header_row: int,
                    log: ProblemLog, lossy: tuple[type, ...] = (float,)) -> RawTable:
    """A raw table from a header and rows of Python values (workbook sheets, JSON records).  Rows whose
    every cell is empty are dropped (Excel leaves them behind); the others keep their row numbers.  A
    number of the ``lossy`` types with 16 or more digits is an error: its last digits are lost."""
    names, written, unknown = map_headers(table, [cell_text(h) for h in header], file, header_row, log)
    width = len(names)
    body: list[list[str]] = []
    numbers: list[int] = []
    for i, r in enumerate(rows):
        cells = [cell_text(v) for v in r]
        if not any(cells):
            continue
        row = header_row + 1 + i
        _row_problems(r, cells, header, width, file, row, log, lossy)
        body.append((cells + [""] * width)[:width])
        numbers.append(row)
    return RawTable(text_frame(body, names), file, numbers[0] if numbers else header_row + 1, written, unknown,
                    spaced(numbers), header_row=header_row)


def _row_problems(values: Sequence[object], cells: list[str], header: Sequence[object], width: int, file: str,
                  row: int, log: ProblemLog, lossy: tuple[type, ...]) -> None:
    """A number of 16 or more digits (of the ``lossy`` types), a value beyond the header's columns."""
    for j, v in enumerate(values):
        if isinstance(v, lossy) and not isinstance(v, bool) and _magnitude(v) >= LONG_NUMBER:
            log.error(file, row, str(header[j]) if j < len(header) else f"column {j + 1}", cells[j], "FORMATS",
                      "a number of 16 or more digits: Excel keeps only 15, so its last digits are lost; "
                      "format the column as text (文本) and enter the ids again", root=True)
    beyond_header(cells, width, file, row, log)


def beyond_header(cells: list[str], width: int, file: str, row: int, log: ProblemLog) -> None:
    """A value beyond the header's ``width`` columns has no column header: an error (a comma too many in
    a CSV row, a stray cell right of a sheet's table)."""
    beyond = [j for j in range(width, len(cells)) if cells[j]]
    if beyond:
        log.error(file, row, f"column {beyond[0] + 1}", cells[beyond[0]], "FORMATS",
                  f"a value beyond the header's {width} columns: it has no column header", root=True)


def text_frame(body: list[list[str]], names: list[str]) -> pd.DataFrame:
    """Rows of text cells (each ``len(names)`` long) as a frame of the text dtype, empty or not."""
    return pd.DataFrame(body, columns=names, dtype=TEXT) if body else pd.DataFrame({n: text([]) for n in names})


def spaced(numbers: Sequence[int] | NDArray[np.int64]) -> NDArray[np.int64] | None:
    """The row numbers when some rows were dropped between them, else None (first_row + position)."""
    if len(numbers) == 0 or numbers[-1] - numbers[0] == len(numbers) - 1:
        return None
    return np.asarray(numbers, dtype=np.int64)
