"""Identifiers as Excel leaves them, and names that stand for ids.

Excel turns an id column it takes for numbers into numbers: ``21010001`` comes back as ``21010001.0``,
a long one as ``2.021E+09`` or with its digits after the 15th replaced by zeros, and ``0101`` loses its
leading zero.  None of these may reach a result: each is reported with the fix (format the column as
text), never repaired by guessing.  A name may stand for an id only when exactly one row has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.columns import arrow, digits_only, holds_any, longest

FIX = "format the column as text (文本) in Excel and enter the ids again"
_POINT_ZERO = r"^[0-9]+\.0+$"
_SCIENTIFIC = r"^[+-]?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$"


def _matches(cells: pd.Series, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(arrow(cells), pattern), False).to_numpy(
        zero_copy_only=False), dtype=bool)


def mangled(cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(mask, messages) of the cells Excel turned into numbers: a '.0' suffix or scientific notation."""
    messages = np.full(len(cells), "", dtype=object)
    # Excel writes '.0' and 'E+09': a plain byte scan settles the usual case fast.
    if not holds_any(cells, ".+"):
        return np.zeros(len(cells), dtype=bool), messages
    point = _matches(cells, _POINT_ZERO)
    sci = _matches(cells, _SCIENTIFIC)
    messages[point] = f"an id ending in '.0': Excel stored the id as a number; {FIX}"
    messages[sci] = f"an id in scientific notation: Excel shows a long id so and loses its last digits; {FIX}"
    return point | sci, messages


def truncated(ids: pd.Series) -> np.ndarray:
    """Ids of 16 or more digits whose digits after the 15th are all zeros, where every such id in the
    column is so (at least two): Excel kept 15 digits of a number and filled the rest with zeros."""
    if longest(ids) < 16:  # no id has 16 digits
        return np.zeros(len(ids), dtype=bool)
    a = arrow(ids)
    long = np.asarray(pc.fill_null(pc.match_substring_regex(a, r"^[0-9]{16,}$"), False).to_numpy(
        zero_copy_only=False), dtype=bool)
    if long.sum() < 2:
        return np.zeros(len(ids), dtype=bool)
    zeros = np.asarray(pc.fill_null(pc.match_substring_regex(a, r"^[0-9]{15}0+$"), False).to_numpy(
        zero_copy_only=False), dtype=bool)
    return long if zeros[long].all() else np.zeros(len(ids), dtype=bool)


class IdIndex:
    """Ids that are whole numbers, as numbers in ascending order: repeated ids and the row of an id are
    found by sorting and binary search instead of hashing a million texts.  Made only where the numbers
    keep the ids apart as texts do: every id 1 to 18 ASCII digits, and leading zeros only where all ids
    have the same length (so that "7" and "07" never meet, and numeric order is the texts' order)."""

    def __init__(self, numbers: NDArray[np.int64], lengths: NDArray[np.int64]) -> None:
        self.numbers = numbers
        self.lengths = lengths  # digits of each id: with the number, its text
        self.order: NDArray[np.int64] = np.asarray(np.argsort(numbers), dtype=np.int64)  # rows by ascending id
        self.ordered = numbers[self.order]

    @classmethod
    def of(cls, ids: pd.Series) -> IdIndex | None:
        if not digits_only(ids):
            return None
        a = arrow(ids)
        lengths = np.asarray(pc.binary_length(a).to_numpy(), dtype=np.int64)
        shortest, widest = int(lengths.min()), int(lengths.max())
        if widest > 18 or shortest != widest and pc.any(pc.starts_with(a, "0")).as_py():
            return None
        return cls(np.asarray(pc.cast(a, pa.int64()).to_numpy(), dtype=np.int64), lengths)

    @property
    def distinct(self) -> bool:
        """No id is given twice."""
        return not bool((self.ordered[1:] == self.ordered[:-1]).any())

    def rows_of(self, values: pd.Series) -> NDArray[np.int64]:
        """The row of each value among the ids (all distinct), -1 where it is none: a number found is the
        id only if it has as many digits too ("7" is not "07")."""
        a = arrow(values)
        if not len(a) or not len(self.ordered):
            return np.full(len(a), -1, dtype=np.int64)
        ok = np.asarray(pc.fill_null(pc.match_substring_regex(a, r"^[0-9]{1,18}$"), False).to_numpy(
            zero_copy_only=False), dtype=bool)
        numbers = np.asarray(pc.cast(pc.if_else(pa.array(ok), a, "0"), pa.int64()).to_numpy(), dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ordered, numbers), len(self.ordered) - 1)
        rows = self.order[pos]
        digits = np.asarray(pc.fill_null(pc.binary_length(a), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        hit = ok & (self.ordered[pos] == numbers) & (self.lengths[rows] == digits)
        return np.asarray(np.where(hit, rows, -1), dtype=np.int64)


@dataclass
class Lookup:
    """Cell text -> id: every id, and every name that exactly one row has."""

    ids: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # a name several rows share -> their ids
    ok: bool = True  # False when the table itself could not be read: references to it are not checked

    @classmethod
    def of(cls, ids: pd.Series, names: pd.Series | None) -> Lookup:
        lookup = {i: i for i in ids if i}
        ambiguous: dict[str, list[str]] = {}
        if names is not None:
            counts = names.value_counts()
            for i, n in zip(ids, names):
                if not n or n in lookup and lookup[n] == n:
                    continue
                if counts[n] == 1:
                    lookup[n] = i
                else:
                    ambiguous.setdefault(n, []).append(i)
        return cls(lookup, ambiguous)

    def unknown_message(self, value: str, what: str) -> str:
        """Why ``value`` names no row: an ambiguous name, a lost leading zero, or simply unknown."""
        if value in self.ambiguous:
            return f"ambiguous {what} name: {len(self.ambiguous[value])} rows have it " \
                   f"({', '.join(self.ambiguous[value][:5])}); write the id"
        padded = self.zero_padded.get(value.lstrip("0")) if value.isdigit() else None
        if padded and padded != value:
            return f"unknown {what}; did you mean {padded!r}? Excel drops the leading zeros of a number: {FIX}"
        return f"unknown {what}"

    @cached_property
    def zero_padded(self) -> dict[str, str]:
        """Digit ids with leading zeros, by the number they show as."""
        return {i.lstrip("0"): i for i in self.ids if i.startswith("0") and i.isdigit()}
