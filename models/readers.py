"""Read a scenario as it arrives — a folder of CSV + ``scenario.yaml``, one ``.xlsx`` workbook, or
JSON — into raw text tables.  Cells are not interpreted here: `models.validate` turns the raw tables
into a `Scenario` and reports every problem with the file and the row a spreadsheet shows.  What the
readers cannot place is reported too: a CSV file, a sheet or a JSON key that is no table of a scenario.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from models.csv_files import read_csv_table
from models.problems import ProblemLog
from models.raw import RawTable, cell_text, table_from_rows
from models.workbook_files import cell_problems, sheet_table, sheet_tables, unknown_sheets

if TYPE_CHECKING:  # openpyxl is imported where a workbook is read
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

__all__ = ["RawScenario", "RawTable", "read_csv_table", "read_folder", "read_json", "read_workbook", "read_yaml"]

TABLES = ("regions", "schools", "subquotas", "students", "declines", "interviews")
REQUIRED_TABLES = ("regions", "schools", "students")
# The columns an empty JSON list stands for (a list of no records names no columns).
EMPTY_TABLE_COLUMNS = {
    "regions": ("region_id", "name", "kind", "graduates"),
    "schools": ("school_id", "name", "kind", "region_id", "quota"),
    "subquotas": ("school_id", "region_id", "quota"),
    "students": ("student_id", "region_id", "score", "evaluation"),
    "declines": ("student_id", "batch"),
    "interviews": ("student_id", "school_id"),
}
# Files a scenario folder may hold besides its tables: notes and the bundled scenarios' provenance.
FOLDER_EXTRAS = ("README.md", "students.yaml")


@dataclass
class RawScenario:
    settings: dict[str, object] | None  # scenario.yaml as given
    settings_file: str
    tables: dict[str, RawTable]
    source: str
    unreadable: bool = False  # the file itself could not be read: its tables are not "missing"
    settings_rows: dict[str, int] = field(default_factory=dict)  # key -> row of a workbook's settings sheet
    batches_sheet: tuple[str, int] | None = None  # a workbook's batches sheet: (label, first data row)

    @property
    def inputs(self) -> dict[str, dict[str, object]]:
        """How each table was read (encoding, header row), for summary.json."""
        return {t.file: t.info for t in self.tables.values() if t.info}


# Folder of CSV files ------------------------------------------------------------------------------

def read_folder(folder: Path, log: ProblemLog) -> RawScenario:
    settings: dict[str, object] | None = None
    yaml_path = folder / "scenario.yaml"
    if not yaml_path.exists():
        yaml_path = folder / "scenario.yml"
    if yaml_path.exists():
        settings = read_yaml(yaml_path, log)
    else:
        log.error("scenario.yaml", None, None, None, "FORMATS scenario.yaml", f"{folder} has no scenario.yaml",
                  root=True)
    tables: dict[str, RawTable] = {}
    for table in TABLES:
        path = folder / f"{table}.csv"
        if path.exists():
            tables[table] = read_csv_table(path, table, log)
    known = {f"{t}.csv" for t in TABLES}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == ".csv" and path.name not in known:
            log.error(path.name, None, None, path.name, "FORMATS",
                      f"{path.name} is no table of a scenario (tables: {', '.join(sorted(known))}); "
                      "rename it or move it out of the folder", root=True)
    return RawScenario(settings, yaml_path.name, tables, str(folder))


def read_yaml(path: Path, log: ProblemLog) -> dict[str, object] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        log.error(path.name, mark.line + 1 if mark else None, None, None, "FORMATS scenario.yaml",
                  f"malformed YAML: {exc.problem}", root=True)
        return None
    except UnicodeDecodeError as exc:
        log.error(path.name, None, None, None, "FORMATS scenario.yaml",
                  f"scenario.yaml is not UTF-8 text ({exc.reason} at byte {exc.start + 1}): save it as UTF-8",
                  root=True)
        return None
    except yaml.YAMLError as exc:
        log.error(path.name, None, None, None, "FORMATS scenario.yaml", f"malformed YAML: {exc}", root=True)
        return None
    if not isinstance(data, dict):
        log.error(path.name, None, None, None, "FORMATS scenario.yaml", "scenario.yaml must be a mapping of settings",
                  root=True)
        return None
    return data


# One .xlsx workbook --------------------------------------------------------------------------------

def read_workbook(path: Path, log: ProblemLog) -> RawScenario:
    import openpyxl  # imported here: only workbooks need it

    label = path.name
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        log.error(label, None, None, None, "FORMATS", f"the workbook cannot be opened: {exc}", root=True)
        return RawScenario(None, label, {}, str(path), unreadable=True)
    try:
        sheets = sheet_tables(wb.sheetnames, label, log)
        unknown_sheets(wb, sheets, label, log)
        cell_problems(path, sheets, label, log)
        settings: dict[str, object] | None = None
        settings_file = f"{label}:scenario"
        settings_rows: dict[str, int] = {}
        batches: tuple[str, int] | None = None
        if "scenario" in sheets:
            settings_file = f"{label}:{sheets['scenario']}"
            settings, settings_rows = _settings_from_sheet(wb[sheets["scenario"]], settings_file, log)
        else:
            log.error(label, None, None, None, "FORMATS", "the workbook has no 'scenario' (设置) sheet", root=True)
        if settings is not None and "batches" in sheets:
            if "batches" in settings:
                log.error(settings_file, settings_rows.get("batches"), "batches", None, "FORMATS scenario.yaml",
                          f"batches are given twice: in this sheet and in the sheet {sheets['batches']!r}; keep one")
            else:
                table = sheet_table(wb[sheets["batches"]], "batches", f"{label}:{sheets['batches']}", log)
                settings["batches"] = table.frame.to_dict("records")
                batches = (table.file, table.first_row)
        tables = {t: sheet_table(wb[sheets[t]], t, f"{label}:{sheets[t]}", log) for t in TABLES if t in sheets}
    finally:
        wb.close()
    return RawScenario(settings, settings_file, tables, str(path), settings_rows=settings_rows, batches_sheet=batches)


def _settings_from_sheet(sheet: ReadOnlyWorksheet, label: str,
                         log: ProblemLog) -> tuple[dict[str, object] | None, dict[str, int]]:
    """Key/value rows (key in column A, value in B); a first row ``key | value`` is a header."""
    settings: dict[str, object] = {}
    rows: dict[str, int] = {}
    for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = list(row)
        key = _settings_key(cells, i, label, log)
        if key is None:
            continue
        value = cells[1] if len(cells) > 1 else None
        if key in ("batches", "tie_break", "extra_columns") and isinstance(value, str):
            try:
                value = _sheet_value(key, value)
            except yaml.YAMLError as exc:
                log.error(label, i, "B", value, "FORMATS scenario.yaml", f"malformed YAML in {key}: {exc}")
                continue
        if key in settings:
            log.error(label, i, "A", key, "FORMATS scenario.yaml", f"{key} is given twice (also on row {rows[key]})")
        settings[key] = value
        rows[key] = i
    return settings, rows


def _settings_key(cells: list[object], i: int, label: str, log: ProblemLog) -> str | None:
    """The key of settings row i (column A); None for an empty row, a header row (``key | value``) or a
    row without a key (reported).  Cells beyond column B are reported."""
    key = cell_text(cells[0]) if cells else ""
    if not key:
        if any(cell_text(v) for v in cells):
            log.error(label, i, "A", None, "FORMATS scenario.yaml", "a value without a key in column A")
        return None
    if i == 1 and key.lower() in ("key", "设置项", "项目"):
        return None  # a header row
    if any(cell_text(v) for v in cells[2:]):
        log.error(label, i, "C", cell_text(next(v for v in cells[2:] if cell_text(v))), "FORMATS scenario.yaml",
                  "a settings row holds a key in column A and its value in column B, nothing beyond")
    return key


def _sheet_value(key: str, value: str) -> object:
    """A list or mapping written into one cell of the settings sheet: YAML, or ``tie_break`` as
    comma-separated keys."""
    if key == "tie_break":
        return [v.strip() for v in value.split(",") if v.strip()]
    loaded: object = yaml.safe_load(value)
    return loaded


# JSON ------------------------------------------------------------------------------------------------

def read_json(path: Path | None, log: ProblemLog, data: object = None, label: str | None = None) -> RawScenario:
    """A JSON object ``{"scenario": {...settings...}, "regions": [{...}, ...], "schools": [...], ...}``."""
    label = label or (path.name if path else "scenario.json")
    if data is None:
        if path is None:
            raise ValueError("read_json needs a path or data")
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            row = getattr(exc, "lineno", None)
            log.error(label, row, None, None, "FORMATS", f"malformed JSON: {exc}", root=True)
            return RawScenario(None, label, {}, str(path), unreadable=True)
    if not isinstance(data, dict):
        log.error(label, None, None, None, "FORMATS", "the JSON scenario must be an object", root=True)
        return RawScenario(None, label, {}, label, unreadable=True)
    settings = _json_settings(data, label, log)
    tables: dict[str, RawTable] = {}
    for table in TABLES:
        records = data.get(table)
        if records is None:
            continue
        cells = _json_cells(table, records)
        if cells is None:
            log.error(label, None, table, None, "FORMATS",
                      f"'{table}' must be a list of objects, or {{\"columns\": [...], \"rows\": [[...], ...]}}",
                      root=True)
            continue
        # JSON has no spreadsheet rows: row n is the n-th record (1-based), and no header row.
        t = table_from_rows(table, *cells, f"{label}:{table}", 0, log)
        t.header_row = None
        tables[table] = t
    return RawScenario(dict(settings) if settings else None, f"{label}:scenario", tables, label)


def _json_settings(data: dict[object, object], label: str, log: ProblemLog) -> dict[str, object] | None:
    """The settings object of a JSON scenario (``scenario``, or ``settings``), after reporting any key
    that is neither it nor a table."""
    for key in data:
        if key not in TABLES and key not in ("scenario", "settings"):
            log.error(label, None, str(key), None, "FORMATS",
                      f"unknown key {key!r}: a JSON scenario holds 'scenario' and the tables {', '.join(TABLES)}",
                      root=True)
    settings = data.get("scenario", data.get("settings"))
    if settings is not None and not isinstance(settings, dict):
        log.error(label, None, "scenario", None, "FORMATS scenario.yaml", "'scenario' must be an object of settings",
                  root=True)
        settings = None
    if settings is None:
        log.error(label, None, "scenario", None, "FORMATS scenario.yaml", "the JSON has no 'scenario' settings object",
                  root=True)
    return settings


def _json_cells(table: str, records: object) -> tuple[list[str], list[list[object]]] | None:
    """(header, rows) of a JSON table: a list of records, or ``{"columns": [...], "rows": [[...], ...]}``;
    None when it is neither."""
    if isinstance(records, dict) and isinstance(records.get("columns"), list) and isinstance(records.get("rows"), list):
        return [str(c) for c in records["columns"]], [list(r) for r in records["rows"]]
    if isinstance(records, list) and all(isinstance(r, dict) for r in records):
        header = list(EMPTY_TABLE_COLUMNS[table]) if not records else []
        for r in records:
            header.extend(k for k in r if k not in header)
        return header, [[r.get(k) for k in header] for r in records]
    return None


def empty_table(file: str, columns: Iterable[str]) -> RawTable:
    """A table with these columns and no rows (a bundled scenario's students before they are drawn)."""
    from models.columns import text

    return RawTable(pd.DataFrame({c: text([]) for c in columns}), file, 2)
