"""The workbooks a planner forwards (issue #10.7): admissions.xlsx, audit.xlsx, whatif.xlsx, bound.xlsx,
plan.xlsx and an exported scenario.  One writer for all of them (`Book`): a table a sheet, Chinese
headers (`zh_header`) bold, wrapped and frozen and repeated on every printed page; the page landscape
and fit to its width; counts with thousands separators, rates as percentages, widths from the content.

openpyxl lays out each sheet (widths, frozen panes, page set-up, print titles, styles), but it writes
some 100,000 cells a second, too slow for the 录取名册 of a whole province.  The rows of a table are
therefore made column by column with Arrow, as the sheet XML of inline strings and numbers, and put
into the (empty) ``sheetData`` of the sheet openpyxl wrote: a million students take seconds.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # openpyxl is imported where a workbook is written
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

COUNT = "#,##0"  # whole numbers with thousands separators
PERCENT = "0.00%"
EXCEL_ROWS = 1_048_576  # an Excel sheet holds no more rows
CELL_CHARS = 32_767  # nor more characters in a cell
MIN_WIDTH, MAX_WIDTH = 6, 48  # column widths in characters; longer text wraps
SHORT_HEADER = 12  # a header this wide sets its column's width; a longer one wraps
CHUNK = 50_000  # rows made at once
LINE_HEIGHT = 15  # points per line of the wrapped header

# R12: each student's outcome as a planner reads it.
OUTCOME_LABELS = {"general": "普通高中", "vocational": "中职录取", "unplaced": "未录取",
                  "ineligible": "不符合条件 (R1)", "none": "未填报志愿"}

# Chinese headers of the columns our tables share (the CSV files keep the English names).
HEADERS = {
    "student_id": "考生号", "region_id": "地区代码", "name": "名称", "region_name": "地区名称", "school_id": "学校代码",
    "school_name": "学校名称", "school_region_id": "学校所在地区代码", "kind": "类别", "graduates": "初中应届毕业生数",
    "general_seats": "普高计划", "general_cutoff": "普高控制线", "students": "考生数", "general": "普高录取",
    "vocational": "中职录取", "unplaced": "未录取", "ineligible": "不符合条件", "none": "未填报志愿",
    "general_vocational_ratio": "普职比", "vocational_per_general": "职/普", "vocational_share": "中职占比",
    "enrollment_rate": "高中阶段入学率", "registered": "备案", "requires_interview": "需面试", "quota": "招生计划",
    "applicants": "报考人次", "offers": "预录", "confirmed": "确认录取", "declined": "放弃", "vacancies": "空额",
    "fill_rate": "完成率", "envy": "正当嫉妒人数", "cutoff": "最低录取分", "score": "中考成绩",
    "evaluation": "综合素质评价", "outcome": "录取结果", "batch": "批次", "choice_rank": "志愿序号",
    "admit_date": "录取日期", "confirm_date": "确认日期", "change": "变化", "rule": "规则", "title": "规则名称",
    "detail": "详情",
    "other_student_id": "相关考生号", "violations": "违规条数", "rules": "违反规则", "differences": "差异人数",
    "published_not_rule": "公布录取而规则未录取", "rule_not_published": "规则录取而公布未录取",
    "covers": "涉及违规条数", "facts": "事实数", "minimal": "已证最小", "method": "方法", "explanation": "解释",
    "core": "核心事实", "listed_by": "填报人数", "unplaced_applicants": "填报而未录取",
    "fillable_without_moving": "无需调整即可补录", "bound_assignment": "最大录取分配", "quota_before": "原计划",
    "quota_after": "新计划", "min": "下限", "max": "上限", "item": "项目", "value": "值", "no": "序号",
    "fact_no": "事实序号", "fact": "事实",
}
SCHOOL = {"name": "学校名称", "region_id": "所在地区代码"}  # `names` of a table of schools
REGION = {"name": "地区名称"}  # and of regions
SIDES = {"baseline": "原方案", "variant": "新方案", "change": "变化", "published": "公布", "rule": "按规则"}
_PER_BATCH_ROUND = re.compile(r"(applicants|cutoff)_b(\d+)_r(\d+)$")
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # not allowed in XML 1.0
_EMPTY_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>\s*</sheetData>")


def zh_header(column: str, names: dict[str, str] | None = None) -> str:
    """The Chinese header of one of our columns (``names`` first, then `HEADERS`): ``applicants_b1_r2`` is
    第1批次第2志愿报考, a side suffix (``_baseline``, ``_rule`` …) is told in brackets; others as they are."""
    table = {**HEADERS, **(names or {})}
    if column in table:
        return table[column]
    per = _PER_BATCH_ROUND.match(column)
    if per:
        return f"第{per[2]}批次第{per[3]}志愿{'报考' if per[1] == 'applicants' else '最低分'}"
    base, _, side = column.rpartition("_")
    if base and side in SIDES:
        return f"{zh_header(base, names)}（{SIDES[side]}）"
    return column


def labels(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Codes shown as words (outcomes, kinds of change); codes not in ``mapping`` stay as they are."""
    codes = values.astype(object)
    return codes.map(mapping).where(codes.isin(list(mapping)), codes)


def print_setup(ws: Worksheet | WriteOnlyWorksheet, title_rows: str | None = "1:1", page_title: str = "") -> None:
    """Landscape A4 fit to the page width, as many pages down as needed, ``title_rows`` repeated on every
    page, ``page_title`` at the top and the page number at the bottom of each page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    if title_rows:
        ws.print_title_rows = title_rows
    if page_title:
        ws.oddHeader.center.text = page_title.replace("&", "&&")
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def text_width(values: pa.Array | pa.ChunkedArray | Iterable[str]) -> int:
    """The widest text as Excel draws it: a CJK character (3 bytes in UTF-8) as wide as two Latin ones."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values), type=pa.string())
    if len(arr) == 0 or arr.null_count == len(arr):
        return 0
    chars = pc.utf8_length(arr)
    wide = pc.divide(pc.subtract(pc.binary_length(arr), chars), 2)
    return int(pc.max(pc.add(chars, wide)).as_py())


# One column of a table sheet ----------------------------------------------------------------------------

@dataclass
class _Column:
    values: pa.Array  # cell text (XML-escaped) or the number as text; null = empty cell
    number: bool
    format: str | None  # COUNT, PERCENT or None (General)
    width: int  # of the widest value as shown


def _column(series: pd.Series, percent: bool) -> _Column:
    """A frame column as cells: integers as counts, floats as counts when whole (else as they are) or as
    percentages, flags as 是/否, everything else as text; missing or empty values as empty cells."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(series.astype(object).where(series.notna(), None).tolist(), type=pa.bool_())
        return _text_column(pc.if_else(flags, "是", "否"))
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return _number_column(series, percent)
    if isinstance(dtype, pd.StringDtype):
        arr = pa.array(series.array, type=pa.string(), from_pandas=True)
    else:
        arr = pa.array([None if _missing(v) else str(v) for v in series.tolist()], type=pa.string())
    return _text_column(arr)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text_column(arr: pa.Array) -> _Column:
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    if pc.any(pc.match_substring_regex(arr, _CONTROL)).as_py():
        arr = pc.replace_substring_regex(arr, _CONTROL, "")
    arr = pc.utf8_slice_codeunits(arr, 0, CELL_CHARS)
    width = text_width(arr)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        arr = pc.replace_substring(arr, raw, escaped)
    return _Column(arr, False, None, width)


def _number_column(series: pd.Series, percent: bool) -> _Column:
    if pd.api.types.is_integer_dtype(series.dtype):
        arr = pa.array(series.astype("Int64").array, type=pa.int64(), from_pandas=True)
        whole = True
    else:
        floats = series.to_numpy(dtype=float, na_value=np.nan)
        floats = np.where(np.isfinite(floats), floats, np.nan)
        arr = pa.array(floats, from_pandas=True)
        shown = floats[~np.isnan(floats)]
        whole = bool((shown == np.round(shown)).all())
    values = pc.cast(arr, pa.string())
    if percent:
        return _Column(values, True, PERCENT, 8)
    digits = text_width(values)
    return _Column(values, True, COUNT if whole else None, digits + (digits - 1) // 3 if whole else digits)


# The workbook -----------------------------------------------------------------------------------------------

@dataclass
class _Body:
    header: list[str]
    columns: list[_Column]
    header_height: float
    header_style: int
    styles: list[int]  # per column: the style id of its cells (0 = none)
    rest: str  # a last line saying where the rows left out are ("" when none are)


class Book:
    """A workbook of table sheets (`table`) and free sheets (`sheet`, rows appended with openpyxl),
    every sheet set up to print (`print_setup`)."""

    def __init__(self, page_title: str = ""):
        import openpyxl

        self.wb = openpyxl.Workbook(write_only=True)
        self.page_title = page_title
        # (sheet, its rows); sheets get their file names at save
        self._bodies: list[tuple[WriteOnlyWorksheet, _Body]] = []
        self._styles: dict[tuple[bool, bool, str | None], int] = {}

    def _style(self, ws: WriteOnlyWorksheet, *, bold: bool = False, wrap: bool = False,
               number_format: str | None = None) -> int:
        """The workbook's style id for bold and/or wrapped cells with ``number_format`` (0: none)."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font

        key = (bold, wrap, number_format)
        if key not in self._styles:
            cell = WriteOnlyCell(ws)
            if bold:
                cell.font = Font(bold=True)
            if wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top" if not bold else "center")
            if number_format:
                cell.number_format = number_format
            self._styles[key] = int(cell.style_id)
        return self._styles[key]

    def sheet(self, title: str, widths: Iterable[float] = ()) -> WriteOnlyWorksheet:
        """A free sheet (a title, key/value rows) to fill with ``ws.append``; printed like the tables."""
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(title)
        print_setup(ws, None, self.page_title)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        return ws

    def table(self, title: str, frame: pd.DataFrame, *, names: dict[str, str] | None = None, freeze_columns: int = 0,
              limit: int | None = None, rest: str = "", percent: Iterable[str] = ()) -> None:
        """``frame`` as sheet ``title``: headers by `zh_header` (``names`` first), the header row and the first
        ``freeze_columns`` columns frozen, at most ``limit`` rows (a last line says the rest are in ``rest``);
        columns starting with a ``percent`` prefix shown as percentages."""
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(title)
        print_setup(ws, "1:1", self.page_title)
        ws.freeze_panes = f"{get_column_letter(freeze_columns + 1)}2"
        cap = EXCEL_ROWS - 2 if limit is None else min(limit, EXCEL_ROWS - 2)
        shown = frame.head(cap) if len(frame) > cap else frame
        prefixes = tuple(percent)
        columns = [_column(shown.iloc[:, i], bool(prefixes) and str(c).startswith(prefixes))
                   for i, c in enumerate(frame.columns)]
        header = [zh_header(str(c), names) for c in frame.columns]
        widths, lines = _widths(header, columns)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        styles = [self._style(ws, wrap=col.width > MAX_WIDTH - 2, number_format=col.format) for col in columns]
        note = ""
        if len(frame) > len(shown):
            note = f"… 另有 {len(frame) - len(shown):,} 行{f'，见 {rest}' if rest else ''}"
        self._bodies.append((ws, _Body(header, columns, lines * LINE_HEIGHT, self._style(ws, bold=True, wrap=True),
                                       styles, note)))

    def save(self, path: Path | str) -> None:
        """Write the workbook: openpyxl's sheets, with each table's rows put into its sheet."""
        staged = io.BytesIO()
        self.wb.save(staged)
        bodies = {ws.path.lstrip("/"): body for ws, body in self._bodies}
        with zipfile.ZipFile(staged) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info)
                body = bodies.get(info.filename)
                if body is None:
                    dst.writestr(info, data)
                    continue
                xml = data.decode("utf-8")
                found = _EMPTY_SHEET_DATA.search(xml)
                if found is None:
                    raise ValueError(f"{info.filename}: openpyxl wrote a sheet with rows; expected an empty one")
                with dst.open(info.filename, "w", force_zip64=True) as out:
                    out.write(xml[: found.start()].encode("utf-8") + b"<sheetData>")
                    for part in _rows(body):
                        out.write(part)
                    out.write(b"</sheetData>" + xml[found.end():].encode("utf-8"))


def _widths(header: list[str], columns: list[_Column]) -> tuple[list[int], int]:
    """Each column's width from its widest value (text longer than MAX_WIDTH wraps) and its header (a long
    one wraps onto two lines or more), and the lines the header row needs."""
    widths: list[int] = []
    lines = 1
    for name, col in zip(header, columns):
        head = text_width([name])
        width = min(MAX_WIDTH, max(MIN_WIDTH, col.width, head if head <= SHORT_HEADER else math.ceil(head / 2)) + 2)
        widths.append(width)
        lines = max(lines, math.ceil(head / (width - 1)))
    return widths, lines


def _rows(body: _Body) -> Iterator[bytes]:
    """The sheet's rows as XML, a chunk at a time: the header, the values, the line about the rest."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(i + 1) for i in range(len(body.columns))]
    head = "".join(f'<c r="{c}1" t="inlineStr" s="{body.header_style}"><is><t>{_escape(name)}</t></is></c>'
                   for c, name in zip(letters, body.header))
    yield f'<row r="1" ht="{body.header_height}" customHeight="1">{head}</row>'.encode()
    n = len(body.columns[0].values) if body.columns else 0
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        row = pc.cast(pa.array(np.arange(lo + 2, hi + 2, dtype=np.int64)), pa.string())
        cells = [_cells(letter, row, col.values.slice(lo, hi - lo), col.number, style)
                 for letter, col, style in zip(letters, body.columns, body.styles)]
        rows = pc.binary_join_element_wise('<row r="', row, '">', *cells, "</row>", "")
        yield "".join(rows.to_pylist()).encode("utf-8")
    if body.rest:
        r = n + 2
        yield f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{_escape(body.rest)}</t></is></c></row>'.encode()


def _cells(letter: str, row: pa.Array, values: pa.Array, number: bool, style: int) -> pa.Array:
    """One column's cells of a chunk of rows; an empty cell is left out."""
    s = f' s="{style}"' if style else ""
    if number:
        cells = pc.binary_join_element_wise(f'<c r="{letter}', row, f'"{s}><v>', values, "</v></c>", "")
    else:
        cells = pc.binary_join_element_wise(f'<c r="{letter}', row, f'" t="inlineStr"{s}><is><t xml:space="preserve">',
                                            values, "</t></is></c>", "")
    return pc.fill_null(cells, "")


def _escape(value: str) -> str:
    value = re.sub(_CONTROL, "", str(value))
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(ws: WriteOnlyWorksheet, value: object, *, bold: bool = False,
         number_format: str | None = None) -> WriteOnlyCell:
    """A cell of a free sheet: bold, and/or with a number format (`COUNT`, `PERCENT`)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    c = WriteOnlyCell(ws, value=value)
    if bold:
        c.font = Font(bold=True)
    if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        c.number_format = number_format
    return c


def bold_cell(ws: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    """A bold cell for the free sheets (titles, headers)."""
    return cell(ws, value, bold=True)
