"""A published result read for an audit: ``admissions.csv`` and ``offers.csv`` of docs/formats.md ("A run's
results"), as CSV (UTF-8, a BOM accepted) or as an ``.xlsx`` workbook, the way an admission office
exports them (UTF-8 or GB18030 CSV, a title row above the header, as `models.csv_files` and
`models.workbook_files` read any input).

Headers may be English (any case) or Chinese (录取学校 -> school_id, 录取批次 -> batch, 志愿序号 ->
choice_rank, 录取结果 -> outcome, 录取日期 -> admit_date, 确认日期 -> confirm_date, 是否确认 -> confirmed
...); outcome words may be Chinese (普高, 中职, 未录取, 不符合条件, 无).  The frames returned hold every cell
as text, with canonical names and values: outcomes in English, whole numbers without decimals, dates in
ISO form, ``confirmed`` as true/false.  Names and notes (姓名, 学校名称, 中考成绩, 备注 ...) are kept as given;
any other column is an error naming the nearest known ones, so that nothing is audited on a misread.

Load errors (clause "FORMATS admissions.csv" / "FORMATS offers.csv") are what makes a file unreadable
as the format: an unknown or missing column, an id Excel turned into a number (``21010001.0``, ``2.021E+09``), an
unknown outcome word, a batch or choice rank that is not a
whole number, a malformed date or ``confirmed`` flag, an empty student id, and a student with two rows
in admissions.csv.  Every such problem is reported at once, by file, spreadsheet row and column.

Facts that are well formed but wrong against the scenario (a student or school the scenario does not
know, a batch id it has no batch for, a student missing from admissions.csv, a vocational row without a
school) are *not* load errors: they are rule matters, and the checker reports them as violations (R12,
R2, R5 ...), so that an audit of a flawed result still says what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.columns import arrow, text
from models.csv_files import read_csv_table
from models.headers import FALSE_WORDS, TRUE_WORDS, suggestion
from models.ids import mangled
from models.problems import ProblemLog
from models.raw import BLANK, RawTable
from models.workbook_files import sheet_table

KINDS = ("admissions", "offers")
REQUIRED = {"admissions": ("student_id", "outcome"), "offers": ("student_id", "school_id", "batch")}

# Outcome words (R12) -> the docs/formats.md value.
OUTCOME_WORDS = {
    "general": "general", "普高": "general", "普通高中": "general", "普高录取": "general",
    "vocational": "vocational", "中职": "vocational", "中职录取": "vocational", "职高": "vocational",
    "技工": "vocational", "已录取": "vocational", "录取": "vocational",
    "unplaced": "unplaced", "未录取": "unplaced", "落榜": "unplaced",
    "ineligible": "ineligible", "不符合条件": "ineligible", "不具备资格": "ineligible", "无资格": "ineligible",
    "none": "none", "无": "none", "未填报": "none", "无志愿": "none",
}

_WHOLE = r"^[0-9]+$"
_DATE_FORMS = (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
               re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"))


def read_published(path: Path | str, kind: str = "admissions") -> pd.DataFrame:
    """``admissions`` or ``offers`` of a published result as a text frame with canonical columns and
    values; raises `ScenarioError` with every problem when the file is not in the format."""
    log = ProblemLog()
    frame = read_published_into(path, kind, log)
    log.raise_if_errors()
    return frame


def read_published_into(path: Path | str, kind: str, log: ProblemLog) -> pd.DataFrame:
    """As `read_published`, adding the problems to ``log`` instead of raising (to report the problems of
    several files together)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    path = Path(path)
    clause = f"FORMATS {kind}.csv"
    if not path.exists():
        log.error(path.name, None, None, None, clause, f"{path} does not exist")
        return pd.DataFrame()
    raw = _read_table(path, kind, log)
    if raw is None:
        return pd.DataFrame()
    if not _header_problems(raw, kind, clause, log):
        return raw.frame
    cells = _Cells(raw, clause, log)
    cells.check_ids()
    cells.canonical_values()
    if kind == "admissions":
        cells.one_row_per_student()
    return raw.frame


def _header_problems(raw: RawTable, kind: str, clause: str, log: ProblemLog) -> bool:
    """Report unknown columns, values under no header and missing required columns; False when a
    required column is missing (the cells are then not read)."""
    frame = raw.frame
    for col in raw.unknown:
        log.error(raw.file, raw.header_row, col, None, clause,
                  f"unknown column {col!r}:{suggestion(kind, col) or ' no known column is near it.'} "
                  "Rename or remove it", root=True)
    for col in (c for c in frame.columns if c.startswith(BLANK) and (frame[c] != "").any()):
        log.error(raw.file, raw.header_row, f"column {int(col[len(BLANK):]) + 1}", None, clause,
                  "a column holds values but has no header", root=True)
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    for col in missing:
        log.error(raw.file, raw.header_row, col, None, clause, f"the required column {col!r} is missing", root=True)
    return not missing


class _Cells:
    """The cells of a published table with every required column: checked, and turned into canonical
    values in place (``raw.frame``)."""

    def __init__(self, raw: RawTable, clause: str, log: ProblemLog) -> None:
        self.raw, self.frame, self.clause, self.log = raw, raw.frame, clause, log
        self.rows = raw.row_numbers()

    def bad(self, column: str, mask: NDArray[np.bool_], message: str) -> None:
        """One error per row of ``mask``, on ``column`` with its value."""
        idx = np.flatnonzero(mask)
        if len(idx):
            self.log.rows("error", self.raw.file, self.rows[idx], self.raw.headers.get(column, column),
                          self.frame[column].to_numpy()[idx], self.clause, message)

    def check_ids(self) -> None:
        """An empty student id; an id Excel turned into a number (R12 reads ids as text)."""
        frame = self.frame
        self.bad("student_id", (frame["student_id"] == "").to_numpy(), "the student id is empty")
        for col in ("student_id", "school_id", "region_id"):
            if col in frame.columns:
                wrong, messages = mangled(frame[col])
                for message in pd.unique(messages[wrong]):
                    self.bad(col, wrong & (messages == message), str(message))

    def canonical_values(self) -> None:
        """Outcomes in English, whole numbers without decimals, ISO dates, ``confirmed`` as true/false."""
        frame = self.frame
        if "outcome" in frame.columns:
            frame["outcome"], unknown = _outcomes(frame["outcome"])
            self.bad("outcome", unknown, "unknown outcome: use general, vocational, unplaced, ineligible or none "
                                         "(普高, 中职, 未录取, 不符合条件, 无) (R12)")
        for col in ("batch", "choice_rank"):
            if col in frame.columns:
                frame[col], wrong = _whole_numbers(frame[col])
                self.bad(col, wrong, f"{col} must be a whole number (or empty)")
        for col in ("admit_date", "confirm_date"):
            if col in frame.columns:
                frame[col], wrong = _dates(frame[col])
                self.bad(col, wrong, f"{col} is not a date (YYYY-MM-DD)")
        if "confirmed" in frame.columns:
            frame["confirmed"], wrong = _flags(frame["confirmed"])
            self.bad("confirmed", wrong, "confirmed must be true or false (是/否)")

    def one_row_per_student(self) -> None:
        """A student with a second row in admissions.csv (R12)."""
        sid = self.frame["student_id"]
        dup = sid.duplicated(keep="first").to_numpy() & (sid != "").to_numpy()
        if dup.any():
            rows = self.rows
            first_row = pd.Series(rows, index=self.frame.index).groupby(sid.to_numpy()).transform("min").to_numpy()
            idx = np.flatnonzero(dup)
            self.log.rows("error", self.raw.file, rows[idx], self.raw.headers.get("student_id", "student_id"),
                          sid.to_numpy()[idx], self.clause,
                          [f"the student has another row (row {first_row[i]}): one row per student (R12)"
                           for i in idx])


# Reading ---------------------------------------------------------------------------------------------

def _read_table(path: Path, kind: str, log: ProblemLog) -> RawTable | None:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl  # only workbooks need it

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            log.error(path.name, None, None, None, f"FORMATS {kind}.csv", f"the workbook cannot be opened: {exc}")
            return None
        try:
            sheets = {name.strip().lower(): name for name in wb.sheetnames}
            name = sheets.get(kind, wb.sheetnames[0])  # the sheet named for the table, else the first
            table = sheet_table(wb[name], kind, f"{path.name}:{name}", log)
        finally:
            wb.close()
    else:
        table = read_csv_table(path, kind, log)
    if table.frame.columns.empty:
        if not log.has_errors:
            log.error(table.file, 1, None, None, f"FORMATS {kind}.csv", "the file has no header row")
        return None
    return table


# Values ----------------------------------------------------------------------------------------------

def _by_distinct(values: pd.Series, convert: Callable[[str], tuple[str, bool]]) -> tuple[pd.Series, NDArray[np.bool_]]:
    """Apply ``convert(text) -> (canonical text, ok)`` once per distinct value (a million rows carry a
    handful of outcomes, batches and dates)."""
    codes, uniques = pd.factorize(values.fillna(""))
    results = [convert(str(u)) for u in uniques]
    canon = np.array([r[0] for r in results] + [""], dtype=object)
    ok = np.array([r[1] for r in results] + [True], dtype=bool)
    codes = np.where(codes < 0, len(uniques), codes)
    return text(canon[codes], index=values.index), ~ok[codes]


def _outcomes(values: pd.Series) -> tuple[pd.Series, NDArray[np.bool_]]:
    def one(v: str) -> tuple[str, bool]:
        key = v.strip()
        word = OUTCOME_WORDS.get(key.lower(), OUTCOME_WORDS.get(key))
        return (word, True) if word else (key, False)

    return _by_distinct(values, one)


def _whole_numbers(values: pd.Series) -> tuple[pd.Series, NDArray[np.bool_]]:
    a = arrow(values)
    ok = pc.fill_null(pc.match_substring_regex(a, _WHOLE), False)
    if pc.all(pc.or_(ok, pc.equal(a, ""))).as_py():
        return values, np.zeros(len(values), dtype=bool)  # the usual case: nothing to convert

    def one(v: str) -> tuple[str, bool]:
        t = v.strip()
        if t == "" or re.fullmatch(_WHOLE, t):
            return (str(int(t)) if t else "", True)
        try:
            f = float(t)
        except ValueError:
            return (t, False)
        return (str(int(f)), True) if f.is_integer() and f >= 0 else (t, False)

    return _by_distinct(values, one)


def _dates(values: pd.Series) -> tuple[pd.Series, NDArray[np.bool_]]:
    def one(v: str) -> tuple[str, bool]:
        t = v.strip()
        if t == "":
            return ("", True)
        for form in _DATE_FORMS:
            m = form.match(t.split("T")[0].split(" ")[0])
            if m:
                try:
                    return (dt.date(*(int(g) for g in m.groups())).isoformat(), True)
                except ValueError:
                    return (t, False)
        return (t, False)

    return _by_distinct(values, one)


def _flags(values: pd.Series) -> tuple[pd.Series, NDArray[np.bool_]]:
    def one(v: str) -> tuple[str, bool]:
        t = v.strip().lower()
        if t == "":
            return ("", True)  # the checker's default: an offer is confirmed unless said otherwise (R9)
        if t in TRUE_WORDS or t in ("已确认", "确认"):
            return ("true", True)
        if t in FALSE_WORDS or t in ("未确认", "放弃"):
            return ("false", True)
        return (t, False)

    return _by_distinct(values, one)
