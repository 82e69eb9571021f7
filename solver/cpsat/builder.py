"""Vectorized building of a CP-SAT model: whole families of variables and constraints from numpy arrays.

OR-Tools' Python API costs several microseconds per variable or constraint; a province has millions.
Here a family is written as protobuf text by Arrow's string kernels and parsed once by OR-Tools' C++
(`CpModelProto.merge_text_format`), a few times faster.  Rows may have different numbers of terms
(ragged): a row's terms are given as flat arrays plus ``offsets`` (row r owns terms
``offsets[r]:offsets[r + 1]``), the layout of Arrow list arrays.

Literals follow the proto's convention: variable index ``i`` for "true", ``-i - 1`` (= ``~i``) for its
negation.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike, NDArray
from ortools.sat.python import cp_model

IntArray = NDArray[np.int64]
"""Proto indices of variables or literals, positions of applications, row offsets: int64 arrays."""

BoolArray = NDArray[np.bool_]

Segment = tuple[ArrayLike, ArrayLike, ArrayLike]
"""Terms ``(row, variable, coeff)`` of `ProtoBuilder.linear_terms` (``coeff`` may be a scalar)."""


def negated(index: ArrayLike) -> IntArray:
    """The literal "not x" for variable indices x."""
    return -np.asarray(index, dtype=np.int64) - 1


def offsets_of(counts: ArrayLike) -> IntArray:
    """Row offsets from the number of terms of each row."""
    return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])


def _text(values: ArrayLike) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _rows(offsets: ArrayLike, term_text: pa.Array) -> pa.Array:
    """Join each row's term strings into one string per row."""
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), term_text)
    return pc.binary_join(lists, "")


class ProtoBuilder:
    def __init__(self, model: cp_model.CpModel) -> None:
        self.model = model
        self.pending: list[pa.Array] = []
        self.added = 0

    # variables: created at once, so that indices are known --------------------------------------
    def new_vars(self, lower: ArrayLike, upper: ArrayLike, count: int | None = None) -> IntArray:
        """``count`` integer variables with bounds ``lower``/``upper`` (scalars or arrays); returns indices."""
        if count is None:
            count = len(np.atleast_1d(upper))
        low = np.broadcast_to(np.asarray(lower, dtype=np.int64), (count,))
        high = np.broadcast_to(np.asarray(upper, dtype=np.int64), (count,))
        first = len(self.model.proto.variables)
        if count:
            text = pc.binary_join_element_wise("variables { domain: ", _text(low), " domain: ", _text(high),
                                               " }\n", "")
            self.model.proto.merge_text_format(_concat(text))
        return np.arange(first, first + count, dtype=np.int64)

    def new_bools(self, count: int) -> IntArray:
        return self.new_vars(0, 1, count)

    # constraints: collected, parsed at `flush` -----------------------------------------------------
    def linear(self, offsets: ArrayLike, variables: ArrayLike, coeffs: ArrayLike, lower: ArrayLike,
               upper: ArrayLike, enforce: ArrayLike | None = None) -> None:
        """Rows ``lower[r] <= sum(coeffs * variables over row r's terms) <= upper[r]``, each optionally
        enforced by the literal ``enforce[r]``."""
        offs = np.asarray(offsets, dtype=np.int64)
        var = np.asarray(variables, dtype=np.int64)
        n_rows = len(offs) - 1
        if n_rows == 0:
            return
        coef = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), var.shape)
        low = np.broadcast_to(np.asarray(lower, dtype=np.int64), (n_rows,))
        high = np.broadcast_to(np.asarray(upper, dtype=np.int64), (n_rows,))
        lit = None if enforce is None else np.asarray(enforce, dtype=np.int64)
        empty = low > high
        if empty.any():  # no value fits: the row can only hold if its enforcing literal is false
            if lit is None:
                self.bool_or(np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64))  # infeasible
                return
            self.bool_or(np.arange(empty.sum() + 1), negated(lit[empty]))
            keep = np.flatnonzero(~empty)
            counts = np.diff(offs)[keep]
            starts = offs[keep]
            flat = np.repeat(starts - offsets_of(counts)[:-1], counts) + np.arange(counts.sum())
            offs, var, coef = offsets_of(counts), var[flat], coef[flat]
            low, high, lit, n_rows = low[keep], high[keep], lit[keep], len(keep)
            if n_rows == 0:
                return
        terms = pc.binary_join_element_wise("vars: ", _text(var), " coeffs: ", _text(coef), " ", "")
        body = _rows(offs, terms)
        head = self._enforcement(lit, n_rows)
        self._add(pc.binary_join_element_wise(head, "linear { ", body, "domain: ", _text(low), " domain: ",
                                              _text(high), " } }\n", ""), n_rows)

    def linear_terms(self, n_rows: int, segments: Iterable[Segment], lower: ArrayLike, upper: ArrayLike,
                     enforce: ArrayLike | None = None) -> None:
        """Rows given as segments of terms ``(row, variable, coeff)`` (arrays, coeff may be a scalar):
        the terms of all segments are gathered by row, in segment order."""
        rows: list[IntArray] = []
        variables: list[IntArray] = []
        coeffs: list[IntArray] = []
        for row_of_term, var, coeff in segments:
            row = np.asarray(row_of_term, dtype=np.int64)
            rows.append(row)
            variables.append(np.asarray(var, dtype=np.int64))
            coeffs.append(np.broadcast_to(np.asarray(coeff, dtype=np.int64), row.shape))
        every = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        order = np.argsort(every, kind="stable")
        offsets = offsets_of(np.bincount(every, minlength=n_rows))
        self.linear(offsets, np.concatenate(variables)[order], np.concatenate(coeffs)[order], lower, upper, enforce)

    def bool_or(self, offsets: ArrayLike, literals: ArrayLike, enforce: ArrayLike | None = None) -> None:
        """Rows "at least one of row r's literals"."""
        self._literal_rows("bool_or", offsets, literals, enforce)

    def at_most_one(self, offsets: ArrayLike, literals: ArrayLike) -> None:
        self._literal_rows("at_most_one", offsets, literals, None)

    def pairs_or(self, a: ArrayLike, b: ArrayLike) -> None:
        """Rows ``a[r] or b[r]`` (two literals each): implications and exclusions."""
        first = np.asarray(a, dtype=np.int64)
        second = np.asarray(b, dtype=np.int64)
        literals = np.empty(2 * len(first), dtype=np.int64)
        literals[0::2], literals[1::2] = first, second
        self.bool_or(np.arange(0, 2 * len(first) + 1, 2), literals)

    def _literal_rows(self, kind: str, offsets: ArrayLike, literals: ArrayLike, enforce: ArrayLike | None) -> None:
        n_rows = len(np.asarray(offsets)) - 1
        if n_rows == 0:
            return
        terms = pc.binary_join_element_wise("literals: ", _text(literals), " ", "")
        head = self._enforcement(enforce, n_rows)
        self._add(pc.binary_join_element_wise(head, f"{kind} {{ ", _rows(offsets, terms), "} }\n", ""), n_rows)

    @staticmethod
    def _enforcement(enforce: ArrayLike | None, n_rows: int) -> pa.Array | str:
        if enforce is None:
            return pa.array(["constraints { "] * n_rows) if n_rows else "constraints { "
        return pc.binary_join_element_wise("constraints { enforcement_literal: ", _text(enforce), " ", "")

    def _add(self, rows: pa.Array, n_rows: int) -> None:
        self.pending.append(rows)
        self.added += n_rows

    def flush(self) -> None:
        """Parse everything collected into the model."""
        for rows in self.pending:
            self.model.proto.merge_text_format(_concat(rows))
        self.pending = []


def _concat(rows: pa.Array) -> str:
    """All strings of a (non-null) string array, back to back: its data buffer, without a copy per row."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    data: bytes = rows.buffers()[2].to_pybytes()
    return data[offsets[0]:offsets[-1]].decode("utf-8")
