"""One ``.xlsx`` workbook as planners save it: sheets named in English or in Chinese (考生, 学校, 地区,
分配计划, 放弃, 面试, 批次, 设置), a title row above a header, numeric id cells.  What cannot be read
right is reported, never guessed: merged cells (only their first cell holds the value), a formula
saved without its value (the file was written by a program that does not calculate), a number of 16
or more digits (Excel keeps 15, so the last digits of a long id are lost), an unknown sheet.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from models.headers import normalize
from models.problems import ProblemLog
from models.raw import RawTable, cell_text, find_header, skipped_titles, table_from_rows

if TYPE_CHECKING:  # openpyxl is imported where a workbook is read
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

# Sheet name (after `normalize`) -> what it holds.  A notes sheet (说明) is for people and is not read.
SHEETS = {
    "scenario": "scenario", "设置": "scenario", "情景": "scenario", "参数": "scenario",
    "batches": "batches", "批次": "batches",
    "regions": "regions", "地区": "regions",
    "schools": "schools", "学校": "schools",
    "subquotas": "subquotas", "分配计划": "subquotas",
    "students": "students", "考生": "students", "学生": "students",
    "declines": "declines", "放弃": "declines",
    "interviews": "interviews", "面试": "interviews",
    "说明": "notes", "notes": "notes", "readme": "notes",
}
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
# A cell with a formula and no cached value: <c r="B2"><f>SUM(..)</f><v/></c> or no <v> at all.
_FORMULA_WITHOUT_VALUE = re.compile(
    rb'<(?:\w+:)?c r="([A-Z]+\d+)"[^>]*>\s*<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>[^<]*</(?:\w+:)?f>)\s*'
    rb'(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>')


def sheet_tables(names: list[str], file: str, log: ProblemLog) -> dict[str, str]:
    """table -> sheet name; a sheet named twice for one table is an error."""
    found: dict[str, str] = {}
    for name in names:
        table = SHEETS.get(normalize(name))
        if table is None or table == "notes":
            continue
        if table in found:
            log.error(f"{file}:{name}", None, None, name, "FORMATS",
                      f"sheets {found[table]!r} and {name!r} both hold {table}; keep one", root=True)
            continue
        found[table] = name
    return found


def unknown_sheets(wb: Workbook, tables: dict[str, str], file: str, log: ProblemLog) -> None:
    """A sheet with content that is neither a table nor notes is an error: it may be a misnamed table."""
    known = ", ".join(f"{t} ({zh})" for zh, t in SHEETS.items() if not zh.isascii() and t != "scenario") + \
        ", scenario (设置), notes (说明)"
    for name in wb.sheetnames:
        if SHEETS.get(normalize(name)) is None and any(cell_text(v) for row in wb[name].iter_rows(values_only=True)
                                                     for v in row):
            log.error(f"{file}:{name}", None, None, name, "FORMATS",
                      f"unknown sheet {name!r}: a scenario workbook has the sheets {known}", root=True)


def sheet_paths(path: Path) -> dict[str, str]:
    """sheet name -> its XML part inside the workbook (from workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as z:
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id", ""): r.get("Target", "") for r in rels.findall("p:Relationship", _NS)}
    out = {}
    for sheet in book.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id", ""), "")
        out[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return out


def cell_problems(path: Path, sheets: dict[str, str], file: str, log: ProblemLog) -> None:
    """Merged cells and formulas without a cached value in the sheets read (table -> sheet name)."""
    try:
        parts = sheet_paths(path)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return  # openpyxl opened it: a workbook without these parts has no merges to find
    with zipfile.ZipFile(path) as z:
        for name in sheets.values():
            part = parts.get(name)
            if part is None or part not in z.namelist():
                continue
            xml = z.read(part)
            label = f"{file}:{name}"
            for ref in _MERGE.findall(xml):
                log.error(label, _row_of(ref), ref.decode(), None, "FORMATS",
                          f"merged cells {ref.decode()}: only the first cell holds a value; unmerge them and "
                          "give every column its own header and every row its own value", root=True)
            if b"<f" in xml:
                for ref in _FORMULA_WITHOUT_VALUE.findall(xml):
                    log.error(label, _row_of(ref), ref.decode(), None, "FORMATS",
                              f"cell {ref.decode()} holds a formula saved without its value: open the workbook in "
                              "Excel and save it, or paste the values", root=True)


def _row_of(ref: bytes) -> int:
    return int(ref.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ").partition(b":")[0])


def sheet_table(sheet: ReadOnlyWorksheet, table: str, label: str, log: ProblemLog) -> RawTable:
    """One sheet as a raw table: the header found below any title rows, long numbers reported."""
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = [[cell_text(v) for v in r] for r in rows[:6]]
    h = find_header(table, head) if head else 0
    skipped_titles(label, head, h, log)
    header = rows[h] if rows else []
    while header and cell_text(header[-1]) == "":
        header = header[:-1]
    raw = table_from_rows(table, header, rows[h + 1:], label, h + 1, log, lossy=(int, float))
    raw.info = {"header_row": h + 1}
    return raw
