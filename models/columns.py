"""Fast operations on text columns (pandas ``str`` dtype, stored in Arrow): look-ups of ids, mapping
of words, membership, parsing of numbers.  All run in Arrow's kernels: a million rows take
milliseconds, where Python objects would take seconds.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

TEXT = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype


def text(values: Iterable[object], index: pd.Index | None = None) -> pd.Series[str]:
    """A Series of the text dtype ("" for missing)."""
    return pd.Series(values, index=index, dtype=TEXT).fillna("")


def constant(value: str, n: int, index: pd.Index | None = None) -> pd.Series[str]:
    """A text Series of ``n`` times the same value."""
    return from_arrow(pa.repeat(pa.scalar(value, type=pa.large_string()), n), index=index)


def arrow(values: Iterable[object]) -> pa.Array | pa.ChunkedArray:
    """Text values as an Arrow string array (no copy for a ``str`` Series: its own large_string data)."""
    if isinstance(values, pd.Series):
        values = values.array
    stored = arrow_data(values)
    if stored is not None:
        return stored
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def arrow_data(values: object) -> pa.ChunkedArray | None:
    """The Arrow data a text Series (or its array) is stored in, without a copy; None for other
    storage.  Arrow data never changes: the same object is the same text."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        data = values.__arrow_array__()
        return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])
    return None


def same_data(a: pd.Series[str], b: pd.Series[str]) -> bool:
    """Whether two text Series are stored in the very same Arrow data (so hold the same text)."""
    data = arrow_data(a)
    return data is not None and data is arrow_data(b)


_TEXT_TYPES = {pa.string(): TEXT, pa.large_string(): TEXT}


def from_arrow(values: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series[str]:
    series: pd.Series[str] = values.to_pandas(types_mapper=_TEXT_TYPES.get)
    if index is not None:
        series.index = index
    return series


def codes_of(values: Collection[object], keys: Collection[object]) -> NDArray[np.int64]:
    """Position of each value in ``keys``, -1 where absent (empty cells included)."""
    if len(keys) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    if len(keys) > 8 * len(values) + 1024:
        # Few values, many keys (declines among a million students): hash the small side.
        distinct = pc.unique(arrow(values))
        hit = np.asarray(pc.fill_null(pc.index_in(arrow(keys), value_set=distinct), -1).to_numpy(), dtype=np.int64)
        where = np.full(len(distinct), -1, dtype=np.int64)
        rows = np.flatnonzero(hit >= 0)[::-1]  # reversed: the first occurrence of a key wins
        where[hit[rows]] = rows
        return np.asarray(where[codes_of(values, distinct)], dtype=np.int64)
    found = pc.fill_null(pc.index_in(arrow(values), value_set=arrow(keys)), -1)
    return np.asarray(found.to_numpy(), dtype=np.int64)


def member(values: Collection[object], keys: Collection[object]) -> NDArray[np.bool_]:
    """values.isin(keys) as a numpy bool array, for a key set of any size (the smaller side is hashed)."""
    if isinstance(keys, (set, frozenset)):
        keys = list(keys)
    return codes_of(values, keys) >= 0


def take(values: Collection[object], positions: NDArray[np.integer]) -> pd.Series[str]:
    """values[positions] as a text Series (positions: numpy ints), made in pandas' own storage."""
    table = arrow(values)
    if table.type == pa.string():
        table = table.cast(pa.large_string())  # the small side: the taken column needs no cast after
    return from_arrow(pc.take(table, pa.array(positions)))


def translate(values: pd.Series[str], mapping: dict[str, str]) -> tuple[pd.Series[str], NDArray[np.bool_]]:
    """Map each cell through ``mapping``; returns (mapped text, found mask).  Unmapped cells become ""."""
    keys = list(mapping)
    codes = codes_of(values, keys)
    found = codes >= 0
    if all(k == v for k, v in mapping.items()):  # ids mapped to themselves: keep the column
        return values.where(found, ""), found
    targets = pa.array(list(mapping.values()) + [""], type=pa.string())
    return from_arrow(pc.take(targets, pa.array(np.where(found, codes, len(keys)))), index=values.index), found


def numbers(values: pd.Series[str]) -> pd.Series[float]:
    """Parse text as float; empty or malformed cells become NaN."""
    arr = arrow(values)
    try:
        parsed = pc.cast(pc.if_else(pc.equal(arr, ""), None, arr), pa.float64())
        return pd.Series(np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=float), index=values.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(values.where(values != ""), errors="coerce").astype(float)


class Coded:
    """A text column as codes into its distinct values, for columns of few values (regions, schools,
    words): a check or a mapping runs once per distinct value and reaches the rows through the codes."""

    def __init__(self, cells: pd.Series[str]) -> None:
        self.cells = cells
        self.missing = False
        self.codes: NDArray[np.intp]
        self.values: list[str]
        data = arrow_data(cells)
        spans = _spans(cells) if data is not None else None
        if spans is not None and not any(len(span) for span in spans):  # every cell empty (an unused list)
            self.codes, self.values = np.zeros(len(cells), dtype=np.intp), [""]
        elif data is not None and not data.null_count and len(data) and _encoded(self, data):
            pass
        else:
            codes, uniques = pd.factorize(cells, use_na_sentinel=True)
            self.values = [str(v) for v in uniques]
            self.missing = bool(len(codes) and codes.min() < 0)
            if self.missing:  # a missing cell is an empty one
                codes = np.where(codes < 0, len(self.values), codes)
                self.values.append("")
            self.codes = np.asarray(codes, dtype=np.intp)

    def mask(self, flags: Iterable[bool]) -> NDArray[np.bool_]:
        """A row mask from one flag per distinct value."""
        table: NDArray[np.bool_] = np.asarray(list(flags) or [False], dtype=bool)
        if not table.any():  # the usual answer of a check: no row
            return np.zeros(len(self.codes), dtype=bool)
        return table[self.codes]

    def ints(self, numbers: Iterable[int]) -> NDArray[np.int32]:
        """A row array from one number per distinct value (int32: rows of a table, codes)."""
        table: NDArray[np.int32] = np.asarray(list(numbers) or [0], dtype=np.int32)
        return table[self.codes]

    def objects(self, texts: Iterable[object]) -> NDArray[np.object_]:
        """A row array of Python objects (messages) from one per distinct value."""
        table: NDArray[np.object_] = np.asarray(list(texts) or [""], dtype=object)
        return table[self.codes]

    def text(self, texts: Iterable[str]) -> pd.Series[str]:
        """A text column from one text per distinct value (the cells' own column when nothing changes)."""
        texts = list(texts)
        if texts == self.values and not self.missing:
            return self.cells
        table = pa.array(texts or [""], type=pa.large_string())
        return from_arrow(pc.take(table, pa.array(self.codes)), index=self.cells.index)

    def distinct(self) -> pd.Series[str]:
        """The distinct values as a text Series (to run a column check on them)."""
        return text(self.values)


def _encoded(coded: Coded, data: pa.ChunkedArray) -> bool:
    """Fill ``coded`` from Arrow's dictionary encoding of ``data`` (no missing values): its int32 indices as
    the codes.  False, leaving it, if the chunks do not share one dictionary."""
    encoded = pc.dictionary_encode(data)
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    if any(len(c.dictionary) != len(dictionary) for c in encoded.chunks):
        return False
    if sum(len(c) for c in encoded.chunks) != len(data):
        return False
    codes = np.empty(len(data), dtype=np.intp)  # intp: indexes rows without a conversion at each use
    at = 0
    for c in encoded.chunks:
        codes[at:at + len(c)] = c.indices.to_numpy()
        at += len(c)
    coded.codes, coded.values = codes, [str(v) for v in dictionary.to_pylist()]
    return True


def _spans(values: Collection[object]) -> list[NDArray[np.uint8]] | None:
    """The bytes of each chunk's text, exactly the values' own; None when the column is not plain
    Arrow text without missing values (the callers then scan it with Arrow's kernels)."""
    data = arrow(values)
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    spans = []
    for chunk in chunks:
        if chunk.type not in (pa.string(), pa.large_string()) or chunk.null_count:
            return None
        if not len(chunk):
            continue
        _, offsets, text_bytes = chunk.buffers()
        width = np.dtype(np.int64 if chunk.type == pa.large_string() else np.int32)
        bounds = np.frombuffer(offsets, dtype=width, count=len(chunk) + 1, offset=chunk.offset * width.itemsize)
        whole = np.frombuffer(text_bytes, dtype=np.uint8) if text_bytes is not None else np.zeros(0, dtype=np.uint8)
        spans.append(whole[int(bounds[0]):int(bounds[-1])])
    return spans


def holds_any(values: Collection[object], characters: str) -> bool:
    """Whether any value holds one of these ASCII characters (a byte scan: no value is copied)."""
    spans = _spans(values)
    if spans is None:
        a = arrow(values)
        return any(pc.any(pc.fill_null(pc.match_substring(a, c), False)).as_py() for c in characters)
    codes = np.frombuffer(characters.encode("ascii"), dtype=np.uint8)
    return any(bool(np.isin(span, codes).any()) for span in spans if len(span))


def longest(values: Collection[object]) -> int:
    """The length in bytes (UTF-8) of the longest value, 0 without values."""
    a = arrow(values)
    if not len(a):
        return 0
    most = pc.max(pc.binary_length(a)).as_py()
    return int(most) if most is not None else 0


def digits_only(values: Collection[object]) -> bool:
    """Whether every value is a non-empty run of the ASCII digits 0-9 (a byte scan where it can)."""
    a = arrow(values)
    if not len(a) or pc.min(pc.binary_length(a)).as_py() in (None, 0):
        return False
    spans = _spans(values)
    if spans is None:
        return bool(pc.all(pc.fill_null(pc.match_substring_regex(a, r"^[0-9]+$"), False)).as_py())
    return all(bool(((span - np.uint8(0x30)) < 10).all()) for span in spans)


Ints = NDArray[np.int32] | NDArray[np.int64]


class Derived:
    """Arrays derived from text columns (codes of ids, the order of ids), kept with the tables they were
    derived from.  An entry counts only while the columns are the very Arrow data it was made from
    (Arrow data never changes), so a table replaced or edited since is never read through a stale one."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[int, ...]], tuple[tuple[pa.ChunkedArray, ...], Ints]] = {}

    def put(self, kind: str, columns: Iterable[pd.Series[str]], value: Ints) -> None:
        data = tuple(arrow_data(c) for c in columns)
        if all(d is not None for d in data):
            kept = tuple(d for d in data if d is not None)
            self._entries[(kind, tuple(id(d) for d in kept))] = (kept, value)

    def get(self, kind: str, columns: Iterable[pd.Series[str]]) -> Ints | None:
        data = tuple(arrow_data(c) for c in columns)
        entry = self._entries.get((kind, tuple(id(d) for d in data)))
        if entry is None or len(entry[0]) != len(data) or any(a is not b for a, b in zip(entry[0], data)):
            return None
        return entry[1]


_DERIVED: dict[int, Derived] = {}


def derived(owner: object) -> Derived:
    """The arrays derived for one object (a scenario) while it lives: the loader leaves its codes there for
    the engines.  Kept apart from the object itself, so a copy (``dataclasses.replace``) starts empty."""
    key = id(owner)
    found = _DERIVED.get(key)
    if found is None:
        found = _DERIVED[key] = Derived()
        weakref.finalize(owner, _DERIVED.pop, key, None)
    return found
