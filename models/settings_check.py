"""scenario.yaml (or a workbook's settings and batches sheets, or JSON's ``scenario`` object) into
`Settings`, reporting every problem: an unknown key (a typo) is an error naming it and the nearest key;
max_choices (R3), general_stage (R4), the batches and their lists (R5), tie_break (R6), the mechanism
(R6, boston only for now), the batch windows (R11), extra_columns and title (docs/formats.md).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from typing import Protocol

from models.headers import FALSE_WORDS, TRUE_WORDS, choice_column, normalize, parse_choice_column
from models.problems import ProblemLog
from models.readers import TABLES, RawScenario
from models.scenario import DEFAULT_TIE_BREAK, MECHANISMS, Batch, Mechanism, Settings, as_general_stage

F_YAML = "FORMATS scenario.yaml"


# Settings (scenario.yaml) ------------------------------------------------------------------------

# Keys of scenario.yaml and of a batch (docs/formats.md); any other key is an error, never ignored.
SETTINGS_KEYS = ("name", "title", "year", "max_choices", "general_stage", "tie_break", "batches", "extra_columns")
BATCH_KEYS = ("id", "name", "choices", "fallback", "open", "admit_by", "confirm_by", "mechanism", "e")


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


def read_settings(raw: RawScenario, log: ProblemLog) -> Settings | None:
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
    mechanism = _mechanism(item, where, file, log)
    ok &= mechanism is not None
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
    if not ok or open_date is None or admit_by is None or confirm_by is None or mechanism is None:
        return None
    return Batch(bid, str(item.get("name") or f"第{bid}批次"), choices, bool(fallback), open_date, admit_by,
                 confirm_by, open_given, *mechanism)


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
    """Every key of a batch is known; False after reporting what is not."""
    where = f"batches[{i}]"
    ok = True
    for key in item:
        if key not in BATCH_KEYS:
            log.error(file, None, f"{where}.{key}", item[key], "FORMATS scenario.yaml",
                      _unknown_key(key, BATCH_KEYS, f"batch {i}"))
            ok = False
    return ok


def _mechanism(item: dict[object, object], where: str, file: str,
               log: _ErrorLog) -> tuple[Mechanism, int | None] | None:
    """The batch's mechanism (R6 variants; default boston) and ``e`` (chen-kesten only: a whole number >= 1,
    required there); None after reporting what is wrong."""
    given = item.get("mechanism")
    word = "boston" if given in (None, "") else str(given).strip().lower()
    mechanism = MECHANISMS.get(word)
    if mechanism is None:
        log.error(file, None, f"{where}.mechanism", given, "R6",
                  f"unknown mechanism {given!r}: write boston (顺序志愿, the sequential rule), parallel (平行志愿) "
                  "or chen-kesten (with e)")
        return None
    raw_e = item.get("e")
    if mechanism != "chen-kesten":
        if raw_e not in (None, ""):
            log.error(file, None, f"{where}.e", raw_e, "R6", f"e belongs to mechanism chen-kesten, not {mechanism}")
            return None
        return mechanism, None
    if isinstance(raw_e, float) and raw_e.is_integer():  # a workbook's number cell
        raw_e = int(raw_e)
    text = str(raw_e).strip() if raw_e is not None and not isinstance(raw_e, bool | float) else ""
    if not text.isdigit() or int(text) < 1:
        log.error(file, None, f"{where}.e", raw_e, "R6",
                  "mechanism chen-kesten needs e, a whole number of choices per block (1 = boston; "
                  ">= max_choices = parallel)")
        return None
    return mechanism, int(text)


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
