"""Read a scenario as it arrives — a folder of CSV + ``scenario.yaml``, one ``.xlsx`` workbook, or
JSON — into raw text tables.  Nothing is interpreted here: `models.validate` turns the raw tables into
a `Scenario` and reports every problem with the file and the row a spreadsheet shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

from models.columns import TEXT, text
from models.headers import canonical_header
from models.problems import ProblemLog

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


@dataclass
class RawTable:
    frame: pd.DataFrame  # every cell as text, "" when empty; headers already canonical
    file: str  # as reported in problems
    first_row: int  # spreadsheet row number of frame.iloc[0] (2 below a header row)
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> header as written


@dataclass
class RawScenario:
    settings: dict | None
    settings_file: str
    tables: dict[str, RawTable]
    source: str
    unreadable: bool = False  # the file itself could not be read: its tables are not "missing"


def _canonical_columns(table: str, columns, file: str, log: ProblemLog) -> tuple[list[str], dict[str, str]]:
    names, written = [], {}
    for col in columns:
        name = canonical_header(table, col)
        if name in written:
            log.error(file, 1, str(col), col, "FORMATS", f"column {name!r} appears twice (also as {written[name]!r})")
            name = f"{name}__dup{len(names)}"
        written[name] = str(col)
        names.append(name)
    return names, written


def _frame_from_rows(table: str, header: list, rows: list[list], file: str, first_row: int, log: ProblemLog) -> RawTable:
    names, written = _canonical_columns(table, header, file, log)
    width = len(names)
    body = [[_cell_text(v) for v in (r + [None] * (width - len(r)))[:width]] for r in rows]
    frame = pd.DataFrame(body, columns=names, dtype=TEXT) if body else pd.DataFrame(
        {n: text([]) for n in names})
    return RawTable(frame, file, first_row, written)


def _cell_text(value) -> str:
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


# Folder of CSV files ------------------------------------------------------------------------------

def read_csv_table(path: Path, table: str, log: ProblemLog, label: str | None = None) -> RawTable:
    """One CSV file, every column as text (pyarrow: fast at a million rows).  A UTF-8 BOM is accepted."""
    label = label or path.name
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text_head = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].decode("utf-8")
    except UnicodeDecodeError:
        log.error(label, 1, None, None, "FORMATS", "the file is not UTF-8 text (save it from Excel as 'CSV UTF-8')")
        return RawTable(pd.DataFrame(), label, 2)
    header = next(csv.reader([text_head.rstrip("\r")]), [])
    if not header or all(not h.strip() for h in header):
        log.error(label, 1, None, None, "FORMATS", "the file has no header row")
        return RawTable(pd.DataFrame(), label, 2)
    names, written = _canonical_columns(table, header, label, log)
    try:
        arrow = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        log.error(label, None, None, None, "FORMATS", f"the file cannot be read as CSV: {exc}")
        return RawTable(pd.DataFrame({n: text([]) for n in names}), label, 2, written)
    trimmed = pa.table({n: pc.utf8_trim_whitespace(arrow.column(i)) for i, n in enumerate(names)})
    frame = trimmed.to_pandas(types_mapper={pa.string(): TEXT}.get)
    return RawTable(frame, label, 2, written)


def read_folder(folder: Path, log: ProblemLog) -> RawScenario:
    settings = None
    yaml_path = folder / "scenario.yaml"
    if not yaml_path.exists():
        yaml_path = folder / "scenario.yml"
    if yaml_path.exists():
        settings = read_yaml(yaml_path, log)
    else:
        log.error("scenario.yaml", None, None, None, "FORMATS scenario.yaml", f"{folder} has no scenario.yaml")
    tables = {}
    for table in TABLES:
        path = folder / f"{table}.csv"
        if path.exists():
            tables[table] = read_csv_table(path, table, log)
    return RawScenario(settings, yaml_path.name, tables, str(folder))


def read_yaml(path: Path, log: ProblemLog) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        log.error(path.name, mark.line + 1 if mark else None, None, None, "FORMATS scenario.yaml",
                  f"malformed YAML: {exc.problem}")
        return None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        log.error(path.name, None, None, None, "FORMATS scenario.yaml", f"malformed YAML: {exc}")
        return None
    if not isinstance(data, dict):
        log.error(path.name, None, None, None, "FORMATS scenario.yaml", "scenario.yaml must be a mapping of settings")
        return None
    return data


# One .xlsx workbook --------------------------------------------------------------------------------

def read_workbook(path: Path, log: ProblemLog) -> RawScenario:
    import openpyxl  # imported here: only workbooks need it

    label = path.name
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        log.error(label, None, None, None, "FORMATS", f"the workbook cannot be opened: {exc}")
        return RawScenario(None, label, {}, str(path), unreadable=True)
    sheets = {name.strip().lower(): wb[name] for name in wb.sheetnames}
    settings = None
    if "scenario" in sheets:
        settings = _settings_from_sheet(sheets["scenario"], f"{label}:scenario", log)
    else:
        log.error(f"{label}", None, None, None, "FORMATS", "the workbook has no 'scenario' sheet")
    if settings is not None and "batches" in sheets and "batches" not in settings:
        table = _sheet_table(sheets["batches"], "batches", f"{label}:batches", log)
        settings["batches"] = table.frame.to_dict("records")
        settings["_batches_rows"] = (table.file, table.first_row)
    tables = {}
    for table in TABLES:
        if table in sheets:
            tables[table] = _sheet_table(sheets[table], table, f"{label}:{table}", log)
    wb.close()
    return RawScenario(settings, f"{label}:scenario", tables, str(path))


def _sheet_rows(sheet) -> list[list]:
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()
    return rows


def _sheet_table(sheet, table: str, label: str, log: ProblemLog) -> RawTable:
    rows = _sheet_rows(sheet)
    if not rows:
        return RawTable(pd.DataFrame(), label, 2)
    header = rows[0]
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header = header[:-1]
    return _frame_from_rows(table, [_cell_text(h) for h in header], rows[1:], label, 2, log)


def _settings_from_sheet(sheet, label: str, log: ProblemLog) -> dict | None:
    settings: dict = {}
    for i, row in enumerate(_sheet_rows(sheet), start=1):
        if not row or row[0] is None or str(row[0]).strip() == "":
            continue
        key = str(row[0]).strip()
        if i == 1 and key.lower() == "key":
            continue  # a header row
        value = row[1] if len(row) > 1 else None
        if key in ("batches", "tie_break") and isinstance(value, str):
            try:
                value = yaml.safe_load(value) if key == "batches" else [v.strip() for v in value.split(",") if v.strip()]
            except yaml.YAMLError as exc:
                log.error(label, i, "value", value, "FORMATS scenario.yaml", f"malformed YAML in {key}: {exc}")
                continue
        settings[key] = value
    return settings


# JSON ------------------------------------------------------------------------------------------------

def read_json(path: Path | None, log: ProblemLog, data=None, label: str | None = None) -> RawScenario:
    """A JSON object ``{"scenario": {...settings...}, "regions": [{...}, ...], "schools": [...], ...}``."""
    label = label or (path.name if path else "scenario.json")
    if data is None:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            row = getattr(exc, "lineno", None)
            log.error(label, row, None, None, "FORMATS", f"malformed JSON: {exc}")
            return RawScenario(None, label, {}, str(path), unreadable=True)
    if not isinstance(data, dict):
        log.error(label, None, None, None, "FORMATS", "the JSON scenario must be an object")
        return RawScenario(None, label, {}, label)
    settings = data.get("scenario", data.get("settings"))
    if settings is not None and not isinstance(settings, dict):
        log.error(label, None, "scenario", None, "FORMATS scenario.yaml", "'scenario' must be an object of settings")
        settings = None
    if settings is None:
        log.error(label, None, "scenario", None, "FORMATS scenario.yaml", "the JSON has no 'scenario' settings object")
    tables = {}
    for table in TABLES:
        records = data.get(table)
        if records is None:
            continue
        if isinstance(records, dict) and isinstance(records.get("columns"), list) and isinstance(records.get("rows"), list):
            header, rows = [str(c) for c in records["columns"]], [list(r) for r in records["rows"]]
        elif isinstance(records, list) and all(isinstance(r, dict) for r in records):
            header = list(EMPTY_TABLE_COLUMNS[table]) if not records else []
            for r in records:
                header.extend(k for k in r if k not in header)
            rows = [[r.get(k) for k in header] for r in records]
        else:
            log.error(label, None, table, None, "FORMATS",
                      f"'{table}' must be a list of objects, or {{\"columns\": [...], \"rows\": [[...], ...]}}")
            continue
        # JSON has no spreadsheet rows: row n is the n-th record (1-based).
        tables[table] = _frame_from_rows(table, header, rows, f"{label}:{table}", 1, log)
    return RawScenario(dict(settings) if settings else None, f"{label}:scenario", tables, label)
