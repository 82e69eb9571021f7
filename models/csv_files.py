"""CSV files as offices really save them: UTF-8 with or without a BOM ("CSV UTF-8"), or GB18030 — what
"CSV (逗号分隔)" writes on Chinese Windows, a superset of GBK and GB2312 — with an optional title row
above the header, and Excel's comma-only rows at the end.  Anything else is refused with the row and
column of the first byte that cannot be read.  Parsing is pyarrow's (a million rows in about a second);
a file with ragged rows is parsed again with the standard library to name every such row exactly.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from models.columns import TEXT
from models.problems import ProblemLog
from models.raw import RawTable, beyond_header, find_header, map_headers, skipped_titles, spaced, text_frame

UTF8_BOM = b"\xef\xbb\xbf"
REMEDY = "in Excel use 'Save as' → 'CSV UTF-8 (逗号分隔)'"


@dataclass
class Decoded:
    """A CSV file's UTF-8 bytes (``raw`` from ``start``: past a BOM, without a copy) and the encoding read.
    The text itself is decoded only where it is needed: a pure ASCII file is valid UTF-8 as it is."""

    raw: bytes
    start: int
    encoding: str
    _text: str | None = None

    def text(self, limit: int | None = None) -> str:
        """The text (its first ``limit`` characters)."""
        if self._text is None:
            end = None if limit is None else self.start + limit
            text = self.raw[self.start:end].decode("ascii")  # only ASCII files have no text yet
            if limit is not None:
                return text
            self._text = text
        return self._text if limit is None else self._text[:limit]

    def buffer(self) -> pa.Buffer:
        """The bytes for pyarrow, without a copy."""
        return pa.py_buffer(self.raw).slice(self.start)

    def has(self, byte: bytes) -> bool:
        return self.raw.find(byte, self.start) >= 0


def _ascii(raw: bytes, start: int) -> bool:
    """Whether the bytes from ``start`` on are ASCII (no copy of them)."""
    if start == 0:
        return raw.isascii()
    return len(raw) <= start or int(np.frombuffer(raw, dtype=np.uint8, offset=start).max()) < 0x80


def decode(raw: bytes, file: str, log: ProblemLog) -> Decoded | None:
    """The UTF-8 bytes of a CSV file's bytes and their encoding: UTF-8 (BOM or not), else GB18030; None
    after reporting the first byte that is neither."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        log.error(file, 1, None, None, "FORMATS", f"the file is UTF-16 text (Excel's 'Unicode text'): {REMEDY}",
                  root=True)
        return None
    bom = raw.startswith(UTF8_BOM)
    start = 3 if bom else 0
    encoding = "utf-8-sig" if bom else "utf-8"
    if _ascii(raw, start):  # valid UTF-8 as it is: no need to decode a million rows
        return Decoded(raw, start, encoding)
    try:
        return Decoded(raw, start, encoding, raw[start:].decode("utf-8"))
    except UnicodeDecodeError as exc:
        bad = exc.start + start
    if not bom:
        try:
            content = raw.decode("gb18030")
            return Decoded(content.encode("utf-8"), 0, "gb18030", content)
        except UnicodeDecodeError:
            pass
    line_start = raw.rfind(b"\n", 0, bad) + 1
    row = raw.count(b"\n", 0, bad) + 1
    header = next(csv.reader([raw[: raw.find(b"\n")].decode("utf-8", "replace").lstrip("\ufeff")]), [])
    index = raw[line_start:bad].count(b",")
    column = header[index].strip() if index < len(header) and row > 1 else f"column {index + 1}"
    log.error(file, row, column, f"0x{raw[bad]:02X}", "FORMATS",
              f"byte {bad + 1} cannot be read: the file is neither UTF-8 nor GB18030 (GBK) text; {REMEDY}",
              root=True)
    return None


def read_csv_table(path: Path, table: str, log: ProblemLog, label: str | None = None) -> RawTable:
    """One CSV file of ``table``, every cell as text.  The encoding read and the header row are kept
    in ``info``; a GB18030 file, or a title row above the header, is also a warning."""
    label = label or path.name
    decoded = decode(path.read_bytes(), label, log)
    if decoded is None:
        return RawTable(pd.DataFrame(), label, 2, unreadable=True)
    encoding = decoded.encoding
    if encoding == "gb18030":
        log.warning(label, None, None, None, "FORMATS",
                    "read as GB18030 (GBK), the encoding of Excel's 'CSV (逗号分隔)' on Chinese Windows")
    head = list(csv.reader(io.StringIO("\n".join(decoded.text(65536).split("\n")[:6]))))
    if not head or not any(c.strip() for c in head[0] + sum(head[1:], [])):
        log.error(label, 1, None, None, "FORMATS", "the file has no header row", root=True)
        return RawTable(pd.DataFrame(), label, 2, unreadable=True)
    h = find_header(table, head)
    skipped_titles(label, head, h, log)
    names, written, unknown = map_headers(table, head[h], label, h + 1, log)
    frame, rows = _parse(decoded, names, h + 1, label, log)
    info = {"encoding": encoding, "header_row": h + 1}
    first = int(rows[0]) if rows is not None and len(rows) else h + 2
    return RawTable(frame, label, first, written, unknown, spaced(rows) if rows is not None else None, info=info,
                    header_row=h + 1)


def _parse(decoded: Decoded, names: list[str], skip: int, file: str,
           log: ProblemLog) -> tuple[pd.DataFrame, NDArray[np.int64] | None]:
    """The rows below the header as a text frame and their spreadsheet row numbers (None: all rows, one
    after another); empty and comma-only rows are dropped, a row with a value beyond the header's columns
    is an error."""
    ragged: list[int] = []

    def invalid(row: object) -> str:
        ragged.append(1)
        return "skip"

    try:
        arrow = pacsv.read_csv(
            pa.BufferReader(decoded.buffer()),  # no copy of the bytes
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip),
            # large_string: the storage of pandas' text dtype, so the frame takes the columns as they are
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
            # without a quote in the file no value can hold a line break: the reader splits it faster
            parse_options=pacsv.ParseOptions(newlines_in_values=decoded.has(b'"'), ignore_empty_lines=False,
                                             invalid_row_handler=invalid),
        )
    except pa.ArrowInvalid:
        ragged.append(1)
    if ragged:
        return _parse_exactly(decoded.text(), names, skip, file, log)
    trimmed = pa.table({n: _trimmed(arrow.column(i)) for i, n in enumerate(names)})
    filled = _filled(trimmed)
    rows = None  # every row kept: they follow one another from the one below the header
    if not filled.all():
        rows = np.flatnonzero(filled) + skip + 1
        trimmed = trimmed.filter(pa.array(filled))
    frame: pd.DataFrame = trimmed.to_pandas(types_mapper={pa.large_string(): TEXT}.get)
    return frame, rows


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The cells without leading and trailing whitespace.  A column whose text holds no byte that can be
    part of whitespace (ASCII space and controls, any non-ASCII byte) is returned as it is."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size:
            octets = np.frombuffer(data, dtype=np.uint8)
            if octets.min() <= 0x20 or octets.max() >= 0x80:  # two reductions, no array made
                return pc.utf8_trim_whitespace(column)
    return column


def _filled(table: pa.Table) -> NDArray[np.bool_]:
    """Rows with a value in any column; only the rows whose first cell is empty are looked at further."""
    filled = np.asarray(pc.not_equal(table.column(0), "").to_numpy(zero_copy_only=False), dtype=bool)
    if filled.all() or table.num_columns == 1:
        return filled
    rest = np.flatnonzero(~filled)
    where = pa.array(rest)
    for column in table.columns[1:]:
        filled[rest] |= np.asarray(pc.not_equal(pc.take(column, where), "").to_numpy(zero_copy_only=False), dtype=bool)
    return filled


def _parse_exactly(content: str, names: list[str], skip: int, file: str,
                   log: ProblemLog) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """The standard library's reader, row by row, for a file with ragged rows: a short row is padded
    (its missing cells are empty, as Excel means), a value beyond the header is reported."""
    width = len(names)
    body: list[list[str]] = []
    rows: list[int] = []
    for number, record in enumerate(csv.reader(io.StringIO(content)), start=1):
        if number <= skip:
            continue
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        beyond_header(cells, width, file, number, log)
        body.append((cells + [""] * width)[:width])
        rows.append(number)
    return text_frame(body, names), np.asarray(rows, dtype=np.int64)
