"""Sheets of the workbooks a planner forwards (audit.xlsx, whatif.xlsx, bound.xlsx): one table a sheet,
the header bold and frozen, cells as Excel shows them (whole numbers, 是/否, empty for missing), and
long tables cut with a line that says where the rest is."""

from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd


def cells(series: pd.Series) -> list:
    """A column as plain cell values: int, float, 是/否 for flags, None for missing or empty text."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return [None if pd.isna(v) else ("是" if v else "否") for v in series.astype(object)]
    if pd.api.types.is_integer_dtype(series.dtype):
        return [None if pd.isna(v) else int(v) for v in series.astype(object)]
    if pd.api.types.is_float_dtype(series.dtype):
        return [None if pd.isna(v) else float(v) for v in series.astype(object)]
    return [None if v is None or (isinstance(v, float) and v != v) or v == "" else v
            for v in series.astype(object).tolist()]


def bold_cell(ws, value):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(ws, value=value)
    cell.font = Font(bold=True)
    return cell


def frame_sheet(wb, title: str, frame: pd.DataFrame, *, freeze: str = "A2",
                width: Callable[[int, str], float] = lambda i, col: 16, header: Callable[[str], str] = str,
                limit: int | None = None, rest: str = "", percent: Iterable[str] = ()) -> None:
    """Append ``frame`` as sheet ``title`` of a write-only workbook.  ``width(i, column)`` sets the column
    widths, ``header`` names the columns, ``limit`` cuts the rows (``rest`` says where the others are) and
    the columns starting with a ``percent`` prefix are shown as percentages."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    ws = wb.create_sheet(title)
    ws.freeze_panes = freeze
    for i, col in enumerate(frame.columns):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = width(i, str(col))
    ws.append([bold_cell(ws, header(str(c))) for c in frame.columns])
    shown = frame if limit is None else frame.head(limit)
    prefixes = tuple(percent)
    as_percent = [bool(prefixes) and str(c).startswith(prefixes) for c in shown.columns]
    for row in zip(*[cells(shown[c]) for c in shown.columns]):
        if any(as_percent):
            row = list(row)
            for k, pct in enumerate(as_percent):
                if pct and row[k] is not None:
                    cell = WriteOnlyCell(ws, value=row[k])
                    cell.number_format = "0.00%"
                    row[k] = cell
        ws.append(row)
    if limit is not None and len(frame) > limit:
        ws.append([f"... {len(frame) - limit:,} more rows{f' in {rest}' if rest else ''}"])
