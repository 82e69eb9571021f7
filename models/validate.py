"""Turn raw text tables into a valid `Scenario`, reporting every problem at once.

Each check is vectorized over rows and names the clause it enforces: R-ids of docs/rules.md where a rule
stands behind the requirement (quota R7, sub-quota R8, choices R3, dates R11 ...), docs/formats.md
otherwise.  Missing quotas, scores or graduates are errors, never defaulted.  Void choices (a school
that is not registered, R2, or that needs an interview the student has not passed, R3) are warnings.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import member, numbers, text, translate
from models.headers import (
    CARRIED,
    COHORTS,
    EVALUATION_GRADES,
    FALSE_WORDS,
    REGION_KINDS,
    SCHOOL_KINDS,
    TRUE_WORDS,
    choice_column,
    normalize,
    parse_choice_column,
    suggestion,
)
from models.ids import FIX, Lookup, mangled, truncated
from models.problems import ProblemLog, Severity
from models.raw import BLANK, RawTable
from models.readers import REQUIRED_TABLES, TABLES, RawScenario
from models.scenario import DEFAULT_TIE_BREAK, Batch, Scenario, Settings, as_general_stage

F_YAML = "FORMATS scenario.yaml"
Mask = NDArray[np.bool_] | pd.Series  # rows of a table: a bool array or a bool Series aligned with it


def build_scenario(raw: RawScenario, log: ProblemLog) -> Scenario:
    """Validate everything, then raise `ScenarioError` with all problems if any is an error."""
    settings = _settings(raw, log)
    for name in REQUIRED_TABLES:
        if name not in raw.tables and not raw.unreadable:
            log.error(f"{name}.csv", None, None, None, f"FORMATS {name}.csv", f"the scenario has no {name} table",
                      root=True)
    v = _Validator(raw, settings, log)
    regions = v.regions()
    schools = v.schools()
    subquotas = v.subquotas()
    students = v.students()
    declines = v.declines()
    interviews = v.interviews()
    if settings is not None and students is not None and schools is not None:
        v.void_choice_warnings(settings, students, schools, interviews)
    if regions is not None and students is not None and not log.has_errors:
        v.graduates_warnings(regions, students)
    log.raise_if_errors()
    if settings is None or regions is None or schools is None or students is None:  # each reported an error
        raise RuntimeError("the scenario is incomplete, yet no error was reported")
    return Scenario(settings, regions, schools, subquotas, students, declines, interviews,
                    warnings=log.ordered(), source=raw.source, inputs=raw.inputs)


# Settings (scenario.yaml) ------------------------------------------------------------------------

# Keys of scenario.yaml and of a batch (docs/formats.md); any other key is an error, never ignored.
SETTINGS_KEYS = ("name", "title", "year", "max_choices", "general_stage", "tie_break", "batches", "extra_columns")
BATCH_KEYS = ("id", "name", "choices", "fallback", "open", "admit_by", "confirm_by", "mechanism", "e")
MECHANISMS = ("boston",)  # R6; parallel and chen-kesten (docs/rules.md, R6 variants) are refused until built


def _unknown_key(key: object, known: Sequence[str], where: str) -> str:
    near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown key {key!r} in {where}{hint} (keys: {', '.join(known)})"


class _ErrorLog(Protocol):
    """Where the settings checks report: a `ProblemLog`, or a `_SheetLog` in front of one."""

    def error(self, file: str, row: int | None, column: str | None, value: object, clause: str,
              message: str) -> None: ...


class _SettingsProblems:
    """Reports a problem of one settings key (on the workbook row of the key, if any) and remembers
    that the settings are not valid."""

    def __init__(self, raw: RawScenario, log: ProblemLog) -> None:
        self.raw, self.log = raw, log
        self.ok = True

    def __call__(self, key: str, value: object, clause: str, message: str) -> None:
        self.ok = False
        self.log.error(self.raw.settings_file, self.raw.settings_rows.get(key), key, value, clause, message)


def _settings(raw: RawScenario, log: ProblemLog) -> Settings | None:
    if raw.settings is None:
        return None
    data = dict(raw.settings)
    bad = _SettingsProblems(raw, log)
    for key in data:
        if key not in SETTINGS_KEYS:
            bad(key, None, F_YAML, _unknown_key(key, SETTINGS_KEYS, "scenario.yaml"))
    name = str(data.get("name") or "").strip() or _stem(raw.source)
    year = _year(data.get("year"), bad)
    max_choices = _max_choices(data.get("max_choices"), bad)
    stage = as_general_stage(str(data.get("general_stage", "")).strip().lower())
    if stage is None:
        bad("general_stage", data.get("general_stage"), "R4", "general_stage must be one of seats, cutoff, none")
    tie_break = _tie_break(data.get("tie_break", list(DEFAULT_TIE_BREAK)), bad)
    batches = _batches(data.get("batches"), raw.settings_file, log, raw.batches_sheet)
    extra_columns = _extra_columns(data.get("extra_columns"), bad)
    if not bad.ok or batches is None or stage is None:
        return None
    extra = {k: data[k] for k in ("title", "extra_columns") if data.get(k) not in (None, "")}
    return Settings(name=name, year=year, max_choices=max_choices, general_stage=stage,
                    batches=tuple(batches), tie_break=tuple(tie_break), extra=extra, extra_columns=extra_columns)


def _year(value: object, bad: _SettingsProblems) -> int | None:
    """``year``: a whole number, or absent."""
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        bad("year", value, F_YAML, "year must be a whole number")
        return None


def _max_choices(value: object, bad: _SettingsProblems) -> int:
    """``max_choices`` (R3): a whole number >= 1; 0 after reporting anything else."""
    try:
        max_choices = int(str(value))
        if max_choices < 1:
            raise ValueError
    except (TypeError, ValueError):
        bad("max_choices", value, "R3", "max_choices must be a whole number >= 1 (HY §八.三: 2)")
        return 0
    return max_choices


def _tie_break(value: object, bad: _SettingsProblems) -> list[str]:
    """``tie_break`` (R6): column names, each may end in ``:asc`` or ``:desc``, as a list or comma-separated;
    ``student_id`` is added last when absent, so that priorities are strict."""
    if isinstance(value, str):
        value = [t.strip() for t in value.split(",") if t.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        bad("tie_break", value, "R6",
            "tie_break must be a list of column names, e.g. [score, evaluation, student_id]")
        value = list(DEFAULT_TIE_BREAK)
    tie_break = [str(t).strip() for t in value]
    for t in tie_break:
        _, _, direction = t.partition(":")
        if direction and direction not in ("asc", "desc"):
            bad("tie_break", t, "R6", "a tie-break key may end in ':asc' or ':desc' only")
    if not any(t.partition(":")[0] == "student_id" for t in tie_break):
        tie_break.append("student_id")  # priorities must be strict (docs/rules.md, uniqueness)
    return tie_break


def _extra_columns(value: object, bad: _SettingsProblems) -> dict[str, frozenset[str]]:
    """``extra_columns``: headers kept as given and carried into the outputs, as a list (any table) or
    a mapping table -> list.  Returns table -> normalized headers ("*" for any table)."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return {"*": frozenset(normalize(v) for v in value)}
    if isinstance(value, dict) and all(t in TABLES and isinstance(v, list) for t, v in value.items()):
        return {t: frozenset(normalize(c) for c in v) for t, v in value.items()}
    bad("extra_columns", value, F_YAML,
        f"extra_columns must be a list of headers, or a mapping of tables ({', '.join(TABLES)}) to lists")
    return {}


def _stem(source: str) -> str:
    from pathlib import Path

    p = Path(source)
    return p.stem if p.suffix else p.name


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    return dt.date.fromisoformat(text[:10])


def _bool_value(value: object, default: bool) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _batches(items: object, file: str, log: ProblemLog, sheet: tuple[str, int] | None = None) -> list[Batch] | None:
    """Batches from scenario.yaml (problems named ``batches[i].key``) or a workbook's batches sheet
    (problems on the sheet's row, column ``key``).  Once a batch has a problem, the later ones are
    still checked on their own but not against it (R11 order)."""
    if not isinstance(items, list) or not items:
        log.error(file, None, "batches", None, "R5", "batches must be a non-empty list (HY §九.2)")
        return None
    where_log: _ErrorLog = log if sheet is None else _SheetLog(log, sheet)
    out: list[Batch] = []
    ok = True
    seen: set[int] = set()
    for i, item in enumerate(items, start=1):
        b = _batch(item, i, file, where_log, out, seen)
        if b is None or not ok:
            ok = False
            continue
        ok = _batch_in_order(b, out, f"batches[{i}]", file, where_log)
        out.append(b)
    return out if ok else None


def _batch(item: object, i: int, file: str, log: _ErrorLog, before: list[Batch], seen: set[int]) -> Batch | None:
    """The i-th batch (1-based) of the list, or None after reporting its problems.  ``before``: the
    valid batches before it (the first one's open date is required, a later one may take the previous
    one's confirm_by); ``seen``: the batch ids so far."""
    where = f"batches[{i}]"
    if not isinstance(item, dict):
        log.error(file, None, where, item, "R5", "each batch must be a mapping with id, admit_by, confirm_by")
        return None
    ok = _batch_keys(item, i, file, log)
    try:
        bid = int(str(item.get("id", i)).strip())
    except ValueError:
        log.error(file, None, f"{where}.id", item.get("id"), "R5", "batch id must be a whole number")
        return None
    if bid in seen:
        log.error(file, None, f"{where}.id", bid, "R5", f"batch id {bid} appears twice")
        ok = False
    seen.add(bid)
    dates, dates_ok = _batch_dates(item, where, bid, file, log)
    ok &= dates_ok
    open_given = dates["open"] is not None
    if not open_given:
        dates["open"] = _derived_open(item, where, file, log, before)
        ok &= dates["open"] is not None
    fallback = _bool_value(item.get("fallback"), False)
    if fallback is None:
        log.error(file, None, f"{where}.fallback", item.get("fallback"), "R5", "fallback must be true or false")
        ok = False
    choices = str(item.get("choices") or ("choices" if not before else f"batch{bid}")).strip()
    if parse_choice_column(choice_column(choices, 1)) != (choices, 1):
        log.error(file, None, f"{where}.choices", choices, "R5",
                  "a choice list is named by letters and digits, e.g. choices, batch2")
        ok = False
    open_date, admit_by, confirm_by = dates["open"], dates["admit_by"], dates["confirm_by"]
    if not ok or open_date is None or admit_by is None or confirm_by is None:
        return None
    return Batch(bid, str(item.get("name") or f"第{bid}批次"), choices, bool(fallback), open_date, admit_by,
                 confirm_by, open_given)


def _derived_open(item: dict[object, object], where: str, file: str, log: _ErrorLog,
                  before: list[Batch]) -> dt.date | None:
    """The open date of a batch that gives none (R11): the previous batch's confirm_by; None for the
    first batch, which needs one (reported unless the date was given but malformed)."""
    if before:
        return before[-1].confirm_by  # R11: batch b opens no earlier than b-1's confirm_by
    if item.get("open") in (None, ""):
        log.error(file, None, f"{where}.open", None, "R11", "the first batch needs an open date")
    return None


def _batch_keys(item: dict[object, object], i: int, file: str, log: _ErrorLog) -> bool:
    """Every key of a batch is known, its mechanism is one this version admits by, and ``e`` is absent;
    False after reporting what is not."""
    where = f"batches[{i}]"
    ok = True
    for key in item:
        if key not in BATCH_KEYS:
            log.error(file, None, f"{where}.{key}", item[key], "FORMATS scenario.yaml",
                      _unknown_key(key, BATCH_KEYS, f"batch {i}"))
            ok = False
    mechanism = str(item.get("mechanism") or "boston").strip().lower()
    if mechanism not in MECHANISMS:
        log.error(file, None, f"{where}.mechanism", item.get("mechanism"), "R6",
                  f"mechanism {mechanism!r} is not supported yet: this version admits by the sequential rule "
                  "(boston, R6) only")
        ok = False
    if item.get("e") not in (None, ""):
        log.error(file, None, f"{where}.e", item.get("e"), "R6", "e belongs to mechanism chen-kesten only")
        ok = False
    return ok


def _batch_dates(item: dict[object, object], where: str, bid: int, file: str,
                 log: _ErrorLog) -> tuple[dict[str, dt.date | None], bool]:
    """open, admit_by and confirm_by of a batch (R11), None where empty or malformed; and False when a
    date is malformed or admit_by or confirm_by is missing (reported; ``open`` may follow from the
    previous batch)."""
    dates: dict[str, dt.date | None] = {}
    ok = True
    for key in ("open", "admit_by", "confirm_by"):
        try:
            dates[key] = _date(item.get(key))
        except ValueError:
            log.error(file, None, f"{where}.{key}", item.get(key), "R11", f"{key} must be an ISO date (2021-07-20)")
            ok = False
            dates[key] = None
        if dates[key] is None and key != "open" and item.get(key) in (None, ""):
            log.error(file, None, f"{where}.{key}", None, "R11", f"batch {bid} has no {key} date")
            ok = False
    return dates, ok


def _batch_in_order(b: Batch, before: list[Batch], where: str, file: str, log: _ErrorLog) -> bool:
    """R11: open <= admit_by <= confirm_by, and no batch opens before the previous one is confirmed."""
    ok = True
    if not (b.open <= b.admit_by <= b.confirm_by):
        log.error(file, None, where, f"{b.open} / {b.admit_by} / {b.confirm_by}", "R11",
                  f"batch {b.id}: dates out of order, need open <= admit_by <= confirm_by")
        ok = False
    if before and b.open < before[-1].confirm_by:
        log.error(file, None, f"{where}.open", b.open, "R11",
                  f"batch {b.id} opens before batch {before[-1].id} is confirmed ({before[-1].confirm_by})")
        ok = False
    return ok


class _SheetLog:
    """Turns ``batches[i].key`` problems into problems on row i of a workbook's batches sheet."""

    def __init__(self, log: ProblemLog, sheet: tuple[str, int]):
        self.log, (self.file, self.first_row) = log, sheet

    def error(self, file: str, row: int | None, column: str | None, value: object, clause: str,
              message: str) -> None:
        if column and column.startswith("batches["):
            index, _, key = column[len("batches["):].partition("]")
            row, column, file = self.first_row + int(index) - 1, key.lstrip(".") or None, self.file
        self.log.error(file, row, column, value, clause, message)


# Tables --------------------------------------------------------------------------------------------

class _Validator:
    def __init__(self, raw: RawScenario, settings: Settings | None, log: ProblemLog):
        self.raw = raw
        self.settings = settings
        self.log = log
        self.region_lookup = Lookup(ok=False)
        self.school_lookup = Lookup(ok=False)
        self.student_ids: pd.Series | None = None
        self.view = _SettingsView.of(raw.settings, settings)

    # helpers ----------------------------------------------------------------------------------
    def _table(self, name: str) -> RawTable | None:
        """The raw table, once its columns are accounted for; None when absent or unreadable."""
        t = self.raw.tables.get(name)
        if t is None or t.unreadable:
            return None
        self._columns(t, name)
        return t

    def _columns(self, t: RawTable, table: str) -> None:
        """Every column is known, declared in ``extra_columns``, or an error naming the nearest known
        names; a column with values but no header is an error too."""
        declared = self._declared(table)
        chain = {k.partition(":")[0] for k in (self.settings.tie_break if self.settings else ())}
        header_row = t.header_row or None
        for c in t.unknown:
            if normalize(c) not in declared and c not in chain:
                self.log.error(t.file, header_row, c, None, f"FORMATS {_table_file(t)}",
                               f"unknown column {c!r}:{suggestion(table, c) or ' no known column is near it.'} "
                               "Rename it, or declare it in scenario.yaml under extra_columns to keep it as it is",
                               root=True)
        for c in t.frame.columns:
            if c.startswith(BLANK):
                filled = (t.frame[c] != "").to_numpy()
                if filled.any():
                    position = int(c[len(BLANK):]) + 1
                    self._report(t, filled & (np.cumsum(filled) == 1), c, f"FORMATS {_table_file(t)}",
                                 f"column {position} holds values but has no header", root=True)

    def _declared(self, table: str) -> frozenset[str]:
        extra = self.settings.extra_columns if self.settings else {}
        return extra.get("*", frozenset()) | extra.get(table, frozenset())

    def _rows(self, t: RawTable, mask: Mask) -> NDArray[np.int64]:
        return t.row_numbers()[np.flatnonzero(np.asarray(mask))]

    def _report(self, t: RawTable, mask: Mask, column: str, clause: str, message: str | NDArray[np.object_],
                severity: Severity = "error", root: bool = False) -> None:
        """A problem on each row of ``mask``: one ``message``, or a message per row of the table."""
        rows = np.asarray(mask, dtype=bool)
        if not rows.any():
            return
        values = t.frame[column].to_numpy()[rows] if column in t.frame.columns else [None] * int(rows.sum())
        messages = message if isinstance(message, str) else [str(m) for m in np.asarray(message, dtype=object)[rows]]
        header = t.headers.get(column, column)
        if root:
            for row, value, text in zip(self._rows(t, rows), values, np.broadcast_to(messages, (int(rows.sum()),))):
                self.log.error(t.file, int(row), header, value, clause, str(text), root=True)
            return
        self.log.rows(severity, t.file, self._rows(t, rows), header, values, clause, messages)

    def _require(self, t: RawTable, column: str, clause: str) -> bool:
        if column in t.frame.columns:
            return True
        self.log.error(t.file, t.header_row or None, column, None, clause, f"required column {column!r} is missing",
                       root=True)
        return False

    def _ids(self, t: RawTable, column: str, what: str) -> pd.Series | None:
        if not self._require(t, column, f"FORMATS {_table_file(t)}"):
            return None
        ids = t.frame[column]
        clause = f"FORMATS {_table_file(t)}"
        self._report(t, ids == "", column, clause, f"missing {what} id")
        bad, messages = mangled(ids)
        self._report(t, bad, column, clause, messages, root=True)
        self._report(t, truncated(ids), column, clause,
                     f"an id of 16 or more digits ending in zeros: Excel keeps 15 digits of a number and fills the "
                     f"rest with zeros; {FIX}", root=True)
        dup = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
        if dup.any():
            first_row: dict[str, int] = {}
            numbers = t.row_numbers()
            for pos, v in zip(np.flatnonzero(ids.duplicated(keep=False).to_numpy()), ids[ids.duplicated(keep=False)]):
                first_row.setdefault(v, int(numbers[pos]))
            msgs = np.full(len(ids), "", dtype=object)
            msgs[dup] = [f"duplicate {what} id (first on row {first_row[v]})" for v in ids[dup]]
            self._report(t, dup, column, f"FORMATS {_table_file(t)}", msgs)
        return ids

    def _number(self, t: RawTable, column: str, clause: str, what: str, *, required: bool, integer: bool,
                minimum: float | None = 0) -> pd.Series:
        """Parse a numeric column; empty cells are errors when ``required`` (never defaulted)."""
        cells = t.frame[column] if column in t.frame.columns else text([""] * len(t.frame), index=t.frame.index)
        empty = cells == ""
        values = numbers(cells)
        if required:
            self._report(t, empty, column, clause, f"missing {what}")
        self._report(t, ~empty & values.isna(), column, clause, f"{what} is not a number")
        if integer:
            frac = values.notna() & (values != np.floor(values.fillna(0)))
            self._report(t, frac, column, clause, f"{what} must be a whole number")
        if minimum is not None:
            self._report(t, values.notna() & (values < minimum), column, clause, f"{what} must not be negative")
        return values

    def _flag(self, t: RawTable, column: str, default: bool, clause: str) -> pd.Series:
        if column not in t.frame.columns:
            return pd.Series(np.full(len(t.frame), default), index=t.frame.index)
        cells = t.frame[column].str.lower()
        out = pd.Series(np.full(len(t.frame), default), index=t.frame.index)
        out[cells.isin(TRUE_WORDS)] = True
        out[cells.isin(FALSE_WORDS)] = False
        self._report(t, (cells != "") & ~cells.isin(TRUE_WORDS | FALSE_WORDS), column, clause,
                     f"{column} must be true or false (是/否)")
        return out.astype(bool)

    def _word(self, t: RawTable, column: str, words: dict[str, str], default: str, clause: str) -> pd.Series:
        if column not in t.frame.columns:
            return text([default] * len(t.frame), index=t.frame.index)
        cells = t.frame[column]
        mapped, found = translate(cells.str.lower(), words)
        empty = (cells == "").to_numpy()
        self._report(t, ~found & ~empty, column, clause,
                     f"{column} must be one of {', '.join(sorted(set(words.values())))}")
        return mapped.where(~empty, default)

    def _reference(self, t: RawTable, column: str, lookup: Lookup, what: str, clause: str,
                   allow_empty: bool = False) -> pd.Series:
        """Map ids (or unique names) to ids.  A cell Excel mangled, an ambiguous name or an unknown value
        is an error; references to a table that could not be read are not checked (its own error is
        the root cause)."""
        cells = t.frame[column]
        mapped, found = translate(cells, lookup.ids)
        empty = (cells == "").to_numpy()
        if not allow_empty:
            self._report(t, empty, column, clause, f"missing {what}")
        if not lookup.ok:
            return mapped
        bad, messages = mangled(cells)
        self._report(t, bad, column, clause, messages, root=True)
        unknown = ~empty & ~found & ~bad
        if unknown.any():
            values = cells.to_numpy()[unknown]
            why = {v: lookup.unknown_message(v, what) for v in pd.unique(values)}
            messages = np.full(len(cells), "", dtype=object)
            messages[unknown] = [why[v] for v in values]
            self._report(t, unknown, column, clause, messages)
        return mapped

    def _extras(self, t: RawTable, table: str) -> dict[str, pd.Series]:
        """The columns carried as given: names and notes (`CARRIED`) and the declared extra columns."""
        declared = self._declared(table)
        return {c: t.frame[c] for c in t.frame.columns if c in CARRIED or normalize(c) in declared}

    # regions ------------------------------------------------------------------------------------
    def regions(self) -> pd.DataFrame | None:
        t = self._table("regions")
        if t is None:
            return None
        ids = self._ids(t, "region_id", "region")
        if ids is None:
            return None
        names = t.frame["name"] if "name" in t.frame.columns else ids
        names = names.where(names != "", ids)
        self.region_lookup = Lookup.of(ids, names)
        if self._require(t, "graduates", "FORMATS regions.csv"):
            graduates = self._number(t, "graduates", "FORMATS regions.csv", "graduates (应届初中毕业生数)",
                                     required=True, integer=True)
        else:
            graduates = pd.Series(np.nan, index=t.frame.index)
        seats = self._number(t, "general_seats", "R4", "general_seats", required=False, integer=True)
        cutoff = self._number(t, "general_cutoff", "R4", "general_cutoff", required=False, integer=False, minimum=None)
        stage = self.settings.general_stage if self.settings else "none"
        if stage != "none":
            neither = seats.isna() & cutoff.isna()
            bad_cells = neither & ~(t.frame.get("general_seats", pd.Series("", index=t.frame.index)) != "") \
                & ~(t.frame.get("general_cutoff", pd.Series("", index=t.frame.index)) != "")
            column = "general_seats" if stage == "seats" else "general_cutoff"
            self._report(t, bad_cells, column if column in t.frame.columns else "region_id", "R4",
                         f"general_stage is {stage}: the region needs general_seats or general_cutoff")
        frame = pd.DataFrame({
            "region_id": ids, "name": names,
            "kind": self._word(t, "kind", REGION_KINDS, "county", "FORMATS regions.csv"),
            "graduates": graduates.astype("Int64"),
            "general_seats": seats.round().astype("Int64"),
            "general_cutoff": cutoff.astype("Float64"),
            **self._extras(t, "regions"),
        })
        return frame.reset_index(drop=True)

    # schools ------------------------------------------------------------------------------------
    def schools(self) -> pd.DataFrame | None:
        t = self._table("schools")
        if t is None:
            return None
        ids = self._ids(t, "school_id", "school")
        if ids is None:
            return None
        names = t.frame["name"] if "name" in t.frame.columns else ids
        names = names.where(names != "", ids)
        self.school_lookup = Lookup.of(ids, names)
        region = (self._reference(t, "region_id", self.region_lookup, "region", "FORMATS schools.csv", allow_empty=True)
                  if "region_id" in t.frame.columns else text([""] * len(ids), index=ids.index))
        if self._require(t, "quota", "R7"):
            quota = self._number(t, "quota", "R7", "quota (招生计划)", required=True, integer=True)
        else:
            quota = pd.Series(np.nan, index=t.frame.index)
        frame = pd.DataFrame({
            "school_id": ids, "name": names,
            "kind": self._word(t, "kind", SCHOOL_KINDS, "vocational", "FORMATS schools.csv"),
            "region_id": region,
            "quota": quota.fillna(0).round().astype(np.int64),
            "registered": self._flag(t, "registered", True, "R2"),
            "requires_interview": self._flag(t, "requires_interview", False, "R3"),
            **self._extras(t, "schools"),
        })
        return frame.reset_index(drop=True)

    # sub-quotas ---------------------------------------------------------------------------------
    def subquotas(self) -> pd.DataFrame:
        empty = pd.DataFrame({"school_id": text([]), "region_id": text([]), "quota": pd.Series(dtype=np.int64)})
        t = self._table("subquotas")
        if t is None or not len(t.frame):
            return empty
        if not all([self._require(t, c, "R8") for c in ("school_id", "region_id", "quota")]):
            return empty
        school = self._reference(t, "school_id", self.school_lookup, "school", "R8")
        region = self._reference(t, "region_id", self.region_lookup, "region", "R8")
        quota = self._number(t, "quota", "R8", "sub-quota", required=True, integer=True)
        pair = school + "\x00" + region
        dup = pair.duplicated(keep="first") & (school != "") & (region != "")
        self._report(t, dup, "region_id", "R8", "a second sub-quota for the same school and region")
        frame = pd.DataFrame({"school_id": school, "region_id": region,
                              "quota": quota.fillna(0).round().astype(np.int64)})
        schools = self.raw.tables.get("schools")
        if schools is not None and "quota" in schools.frame.columns and len(frame):
            school_quota = dict(zip(schools.frame.get("school_id", []),
                                    pd.to_numeric(schools.frame["quota"], errors="coerce")))
            total = frame[school != ""].groupby("school_id")["quota"].sum()
            for sid, tot in total.items():
                q = school_quota.get(sid)
                if q is not None and q == q and tot > q:
                    rows = t.row_numbers()[np.flatnonzero((school == sid).to_numpy())]
                    self.log.error(t.file, int(rows[0]), "quota", int(tot), "R8",
                                   f"sub-quotas of {sid} add up to {int(tot)}, more than its quota {int(q)} "
                                   f"(rows {', '.join(map(str, rows))})")
        return frame.reset_index(drop=True)

    # students -----------------------------------------------------------------------------------
    def students(self) -> pd.DataFrame | None:
        t = self._table("students")
        if t is None:
            return None
        ids = self._ids(t, "student_id", "student")
        if ids is None:
            return None
        self.student_ids = ids
        region = (self._reference(t, "region_id", self.region_lookup, "region (学籍所在地)", "FORMATS students.csv")
                  if self._require(t, "region_id", "FORMATS students.csv") else text([""] * len(ids), index=ids.index))
        if self._require(t, "score", "R6"):
            score = self._number(t, "score", "R6", "score (中考成绩)", required=True, integer=False)
        else:
            score = pd.Series(np.nan, index=t.frame.index)
        columns = {"student_id": ids, "region_id": region, "score": score.astype(float)}
        chain = self.settings.tie_break if self.settings else DEFAULT_TIE_BREAK
        chain_keys = [k.partition(":")[0] for k in chain]
        if "evaluation" in t.frame.columns or "evaluation" in chain_keys:
            if "evaluation" in chain_keys and not self._require(t, "evaluation", "R6"):
                pass
            else:
                columns["evaluation"] = self._evaluation(t, required="evaluation" in chain_keys)
        columns["cohort"] = self._word(t, "cohort", COHORTS, "fresh", "R1")
        columns["certificate"] = self._flag(t, "certificate", True, "R1")
        columns["applies_general"] = self._flag(t, "applies_general", True, "R4")
        columns.update(self._tie_break_columns(t, chain_keys))
        columns.update(self._choices(t))
        for c, values in self._extras(t, "students").items():
            columns.setdefault(c, values)
        return pd.DataFrame(columns).reset_index(drop=True)

    def _tie_break_columns(self, t: RawTable, chain_keys: list[str]) -> dict[str, pd.Series]:
        """The other columns of the tie-break chain (R6), as numbers; ``lottery`` kept as given when the
        chain does not read it (with a warning: it decides nothing)."""
        columns: dict[str, pd.Series] = {}
        for key in chain_keys:
            if key in ("score", "evaluation", "student_id"):
                continue
            if self._require(t, key, "R6"):
                columns[key] = self._number(t, key, "R6", f"tie-break {key}", required=True, integer=False,
                                            minimum=None)
        if "lottery" in t.frame.columns and "lottery" not in chain_keys:
            columns["lottery"] = t.frame["lottery"]  # kept as given (round trips), though it decides nothing
            self.log.warning(t.file, t.header_row or None, t.headers.get("lottery"), None, "R6",
                             "the lottery column is not in tie_break, so it decides nothing; add it to tie_break "
                             "(e.g. [score, evaluation, lottery]) if it should")
        return columns

    def _evaluation(self, t: RawTable, required: bool) -> pd.Series:
        cells = t.frame["evaluation"] if "evaluation" in t.frame.columns else pd.Series("", index=t.frame.index)
        upper = cells.str.upper()
        graded = upper.isin(EVALUATION_GRADES.keys()) | cells.isin(EVALUATION_GRADES.keys())
        numeric = numbers(cells.where(~graded, ""))
        empty = cells == ""
        if required:
            self._report(t, empty, "evaluation", "R6", "missing evaluation (综合素质评价)")
        self._report(t, ~empty & ~graded & numeric.isna(), "evaluation", "R6",
                     "evaluation must be A, B, C, D (优秀/良好/合格/待合格) or a number")
        if graded.any() and numeric.notna().any():
            self._report(t, numeric.notna(), "evaluation", "R6",
                         "evaluation mixes grades (A-D) and numbers; use one kind in the whole column")
        return upper.where(upper.isin(EVALUATION_GRADES.keys()), cells)

    def _choices(self, t: RawTable) -> dict[str, pd.Series]:
        """Choice lists (R3): known schools, no school twice, no gap, at most max_choices filled."""
        out: dict[str, pd.Series] = {}
        by_list: dict[str, dict[int, str]] = defaultdict(dict)
        for c in t.frame.columns:
            parsed = parse_choice_column(c)
            if parsed:
                by_list[parsed[0]][parsed[1]] = c
        # With broken settings, the columns are still checked (every problem at once), as far as known.
        m = self.view.max_choices or max((max(cols) for cols in by_list.values()), default=0)
        read = self.view.choice_lists if self.view.choice_lists is not None else list(by_list)
        self._missing_choice_lists(t, by_list)
        for list_name, cols in by_list.items():
            if list_name in read:
                out.update(self._choice_list(t, list_name, cols, m))
            else:
                self._unread_choice_list(t, list_name, cols)
                out.update({c: t.frame[c] for c in cols.values()})
        return out

    def _missing_choice_lists(self, t: RawTable, by_list: dict[str, dict[int, str]]) -> None:
        """A list a batch reads must have its columns (R5)."""
        for list_name in self.view.batch_lists or ():
            if list_name not in by_list and len(t.frame):  # with no students no choice can be lost
                self.log.error(t.file, t.header_row or None, choice_column(list_name, 1), None, "R5",
                               f"a batch reads the choice list {list_name!r}, but the students table has no "
                               f"column of it ({choice_column(list_name, 1)}, {choice_column(list_name, 2)} …; "
                               "for batch 2 also 第二批次第一志愿 …): add the columns, or let the batch read another "
                               "list", root=True)

    def _unread_choice_list(self, t: RawTable, list_name: str, cols: dict[int, str]) -> None:
        """A warning for a filled list that no batch reads (its columns are kept as given)."""
        filled = np.zeros(len(t.frame), dtype=bool)
        for c in cols.values():
            filled |= (t.frame[c] != "").to_numpy()
        if filled.any():
            self.log.warning(t.file, t.header_row or None, t.headers.get(next(iter(cols.values()))), None, "R5",
                             f"choice list {list_name!r} is read by no batch, so its {int(filled.sum())} filled "
                             f"row(s) are not used: add a batch with choices: {list_name} if they should be")

    def _choice_list(self, t: RawTable, list_name: str, cols: dict[int, str], m: int) -> dict[str, pd.Series]:
        """One list a batch reads (R3): no missing column before a later one, at most ``m`` filled, known
        schools, none twice, no gap."""
        out: dict[str, pd.Series] = {}
        for k in range(1, max(cols) + 1):
            if k not in cols:
                self.log.error(t.file, t.header_row or None, choice_column(list_name, k), None, "R3",
                               f"column {choice_column(list_name, k)} is missing while a later choice column "
                               "exists", root=True)
        mapped = {}
        for k in sorted(cols):
            c = cols[k]
            if k > m:
                self._report(t, t.frame[c] != "", c, "R3", f"more filled choices than max_choices = {m}")
                out[c] = text([""] * len(t.frame), index=t.frame.index)
                continue
            mapped[k] = self._reference(t, c, self.school_lookup, "school", "R3", allow_empty=True)
            out[c] = mapped[k]
        ks = sorted(mapped)
        for a_i, a in enumerate(ks):  # a school listed twice in one list
            for b in ks[a_i + 1:]:
                same = (mapped[a] == mapped[b]) & (mapped[a] != "")
                self._report(t, same, cols[b], "R3", f"the same school is also choice {a} of this list")
        later_filled = np.zeros(len(t.frame), dtype=bool)
        for k in reversed(sorted(cols)):  # a gap: choice k empty, a later one filled
            cell = (t.frame[cols[k]] != "").to_numpy()
            self._report(t, ~cell & later_filled, cols[k], "R3", "empty choice before a filled later choice")
            later_filled |= cell
        return out

    # declines and interviews --------------------------------------------------------------------
    def declines(self) -> pd.DataFrame:
        empty = pd.DataFrame({"student_id": text([]), "batch": pd.Series(dtype=np.int64)})
        t = self._table("declines")
        if t is None or not len(t.frame):
            return empty
        if not (self._require(t, "student_id", "R9") & self._require(t, "batch", "R9")):
            return empty
        student = self._student_reference(t, "R9")
        batch = self._number(t, "batch", "R9", "batch", required=True, integer=True)
        ids = self.view.batch_ids
        if ids is not None:  # unknown when the batches themselves are wrong (reported there)
            self._report(t, batch.notna() & ~batch.isin(ids), "batch", "R9", f"unknown batch (batches: {sorted(ids)})")
        frame = pd.DataFrame({"student_id": student, "batch": batch.fillna(-1).round().astype(np.int64)})
        return frame.drop_duplicates().reset_index(drop=True)

    def interviews(self) -> pd.DataFrame:
        empty = pd.DataFrame({"student_id": text([]), "school_id": text([])})
        t = self._table("interviews")
        if t is None or not len(t.frame):
            return empty
        if not (self._require(t, "student_id", "R3") & self._require(t, "school_id", "R3")):
            return empty
        student = self._student_reference(t, "R3")
        school = self._reference(t, "school_id", self.school_lookup, "school", "R3")
        return pd.DataFrame({"student_id": student, "school_id": school}).drop_duplicates().reset_index(drop=True)

    def _student_reference(self, t: RawTable, clause: str) -> pd.Series:
        cells = t.frame["student_id"]
        known = member(cells, self.student_ids) if self.student_ids is not None else np.ones(len(cells), dtype=bool)
        bad, messages = mangled(cells)
        self._report(t, cells == "", "student_id", clause, "missing student id")
        self._report(t, bad, "student_id", clause, messages, root=True)
        self._report(t, (cells != "") & ~known & ~bad, "student_id", clause, "unknown student")
        return cells

    def graduates_warnings(self, regions: pd.DataFrame, students: pd.DataFrame) -> None:
        """A region with more fresh (应届) students than fresh graduates is a mismatch of the two tables
        (former students may add to the students, never to the graduates); its rate could pass 100%."""
        t = self.raw.tables["regions"]
        counts = students.loc[students["cohort"] == "fresh", "region_id"].value_counts()
        graduates = regions["graduates"].to_numpy(dtype=float, na_value=np.nan)
        have = regions["region_id"].map(counts).fillna(0).to_numpy()
        over = have > graduates
        for i in np.flatnonzero(over):
            self.log.warning(t.file, int(t.row_numbers()[i]), t.headers.get("graduates", "graduates"),
                             int(graduates[i]), "FORMATS regions.csv",
                             f"{int(have[i]):,} fresh (应届) students have this region, more than its "
                             f"{int(graduates[i]):,} graduates: its enrollment rate could pass 100%")

    # void choices (warnings) --------------------------------------------------------------------
    def void_choice_warnings(self, settings: Settings, students: pd.DataFrame, schools: pd.DataFrame,
                             interviews: pd.DataFrame) -> None:
        t = self._table("students")
        if t is None:
            return
        unregistered = set(schools.loc[~schools["registered"], "school_id"])
        interview = set(schools.loc[schools["requires_interview"], "school_id"])
        passed = interviews["student_id"] + "\x00" + interviews["school_id"]  # (student, school) keys
        for list_name in settings.choice_lists:
            for k in range(1, settings.max_choices + 1):
                c = choice_column(list_name, k)
                if c not in students.columns:
                    continue
                col = students[c]
                self._report(t, col.isin(unregistered), c, "R2",
                             "void choice: the school is not registered in the catalogue (HY §八.四.2)", "warning")
                needs = col.isin(interview).to_numpy()
                if needs.any():
                    no_pass = needs.copy()
                    no_pass[needs] = ~member(students["student_id"][needs] + "\x00" + col[needs], passed)
                    self._report(t, no_pass, c, "R3",
                                 "void choice: the school requires an interview the student has not passed (HY §九.3)",
                                 "warning")


class _SettingsView:
    """What the table checks need from the settings, as far as it can be known even when the settings
    themselves have errors (those are reported on their own)."""

    def __init__(self, max_choices: int | None, batch_ids: set[int] | None, choice_lists: list[str] | None,
                 batch_lists: list[str] | None = None):
        self.max_choices, self.batch_ids, self.choice_lists = max_choices, batch_ids, choice_lists
        self.batch_lists = batch_lists  # the lists the batches name (each needs columns, R5)

    @classmethod
    def of(cls, data: dict[str, object] | None, settings: Settings | None) -> _SettingsView:
        if settings is not None:
            return cls(settings.max_choices, {b.id for b in settings.batches}, settings.choice_lists,
                       list(dict.fromkeys(b.choices for b in settings.batches)))
        data = data or {}
        m: int | None
        try:
            m = int(str(data.get("max_choices")))
            m = m if m >= 1 else None
        except ValueError:
            m = None
        batches = data.get("batches")
        if isinstance(batches, list) and batches and all(isinstance(b, dict) for b in batches):
            named = _batch_names(batches)
            if named is None:
                return cls(m, None, None, None)
            ids, names = named
            return cls(m, ids, list(dict.fromkeys(["choices"] + names)), list(dict.fromkeys(names)) if names else None)
        return cls(m, None, None)


def _batch_names(batches: list[dict[object, object]]) -> tuple[set[int], list[str]] | None:
    """The ids of the batches and the choice list each reads, with the defaults of `_batches`; None when
    an id is not a whole number."""
    ids: set[int] = set()
    names: list[str] = []
    try:
        for i, b in enumerate(batches, start=1):
            bid = int(str(b.get("id", i)))
            ids.add(bid)
            names.append(str(b.get("choices") or ("choices" if i == 1 else f"batch{bid}")))
    except ValueError:
        return None
    return ids, names


def _table_file(t: RawTable) -> str:
    return f"{t.file.split(':')[-1]}.csv" if ":" in t.file else t.file
