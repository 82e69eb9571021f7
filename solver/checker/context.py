"""The facts every rule of the checker needs, computed once from a scenario and a published result.

This is a second, independent reading of docs/rules.md: it imports nothing of the engines (no
`solver.engine.sequential`, `solver.engine.choices`, `solver.engine.arrays`), only the scenario model.  It works out

- the codes of students, schools, regions and sub-quota pairs, and the tie-break chain rank
  (`Scenario.priority_rank`, the scenario's own definition of the R6 chain);
- the result as arrays: one row per admission and per offer, with ids turned into codes, batches into
  positions of the calendar, ranks, confirmation flags and dates as day numbers;
- per batch (R5): the pool of students it takes, the list each student's choices come from (its own
  list, or with ``fallback`` the original one for a student who filed none of it), and the usable
  choices: a choice is void at an unregistered school (R2), at an interview school without a pass
  (R3), or at a school the student declined an offer at in an earlier batch (R5, R9);
- each offer's priority at its school (R6): the school's position in the student's usable list, then
  the chain.

Python loops run over batches and choice ranks only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.columns import TEXT, arrow, codes_of, text
from models.headers import TRUE_WORDS, choice_column
from models.scenario import OUTCOMES, Batch, Scenario

COLUMNS = ["rule", "student_id", "school_id", "batch", "other_student_id", "detail"]
NODAY = np.iinfo(np.int64).min  # a missing or unreadable date
GENERAL, VOCATIONAL, UNPLACED, INELIGIBLE, NONE = (OUTCOMES.index(o) for o in
                                                   ("general", "vocational", "unplaced", "ineligible", "none"))


# Small vectorized helpers ---------------------------------------------------------------------------

def in_sorted(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """queries.isin(keys) for a sorted ``keys`` array (binary search)."""
    if len(keys) == 0:
        return np.zeros(np.shape(queries), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return keys[pos] == queries


def group_starts(sorted_groups: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted array."""
    if len(sorted_groups) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])


def position_in_group(sorted_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(0, 1, 2 ... within each run of equal values, start of the run) for each element."""
    n = len(sorted_groups)
    starts = group_starts(sorted_groups)
    start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - start, start


def joint_keys(*columns: np.ndarray) -> np.ndarray:
    """One int64 per row of several non-negative int columns, equal exactly when all columns are equal.
    Columns are folded in pairs; when a product could overflow, the pair is first renumbered densely."""
    key = np.asarray(columns[0], dtype=np.int64)
    for col in columns[1:]:
        col = np.asarray(col, dtype=np.int64)
        width = int(col.max()) + 1 if len(col) else 1
        top = int(key.max()) + 1 if len(key) else 1
        if top * width >= 2 ** 62:
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * width + col
    return key


def order_by(*columns: np.ndarray) -> np.ndarray:
    """Row order sorting by several non-negative int columns, the first one primary (one argsort of a
    joint key: faster than np.lexsort over many keys)."""
    if len(columns[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argsort(joint_keys(*columns), kind="stable")


def at(values: np.ndarray, idx: np.ndarray, fill) -> np.ndarray:
    """values[idx], ``fill`` where idx is -1 (safe for an empty ``values``)."""
    idx = np.asarray(idx, dtype=np.int64)
    padded = np.r_[values, np.array([fill], dtype=np.asarray(values).dtype)]
    return padded[np.where(idx >= 0, idx, len(values))]


def pick(series: pd.Series, rows: np.ndarray) -> pd.Series:
    """series at positions ``rows`` as text, "" where a row is -1 (no copy to Python objects)."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return text([])
    if len(series) == 0:
        return text([""] * len(rows))
    out = series.iloc[np.maximum(rows, 0)].reset_index(drop=True)
    return out.where(rows >= 0, "") if (rows < 0).any() else out


_CANONICAL_NUMBER = r"^(0|[1-9][0-9]{0,17})$"


def id_codes(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each id in ``keys`` (unique ids), -1 where absent.  Two fast paths for a million
    rows: the same ids in the same order (admissions.csv as the engine writes it), and whole-number
    ids in canonical form (no leading zero), looked up as numbers; else a hash look-up."""
    va, ka = (a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in (arrow(values), arrow(keys)))
    if len(va) == len(ka) and len(va) and pc.all(pc.fill_null(pc.equal(va, ka), False)).as_py():
        return np.arange(len(va), dtype=np.int64)
    if len(ka) and len(va) and pc.all(pc.fill_null(pc.match_substring_regex(ka, _CANONICAL_NUMBER), False)).as_py():
        key_numbers = pc.cast(ka, pa.int64()).to_numpy()
        order = np.argsort(key_numbers, kind="stable")
        ordered = key_numbers[order]
        if not (ordered[1:] == ordered[:-1]).any():
            ok = np.asarray(pc.fill_null(pc.match_substring_regex(va, _CANONICAL_NUMBER), False)
                            .to_numpy(zero_copy_only=False), dtype=bool)
            numbers = pc.cast(pc.if_else(pa.array(ok), va, "0"), pa.int64()).to_numpy()
            pos = np.minimum(np.searchsorted(ordered, numbers), len(ordered) - 1)
            return np.where(ok & (ordered[pos] == numbers), order[pos], -1).astype(np.int64)
    return codes_of(values, keys)


def ints(values, missing: int = -1) -> np.ndarray:
    """Whole numbers of a column of any dtype (text from a CSV, Int64, float); ``missing`` where empty,
    malformed or not whole."""
    series = pd.Series(values).reset_index(drop=True)
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce")
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    whole = np.isfinite(arr) & (np.floor(arr) == arr)
    return np.where(whole, np.where(whole, arr, 0), missing).astype(np.int64)


def day_number(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def days(values) -> tuple[np.ndarray, np.ndarray]:
    """ISO dates as day numbers (NODAY where empty or unreadable) and a mask of unreadable cells.
    Each distinct value is parsed once: a million admissions carry a handful of dates."""
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.normalize().to_numpy(dtype="datetime64[D]").astype(np.int64)
        missing = s.isna().to_numpy()
        return np.where(missing, NODAY, out), np.zeros(len(s), dtype=bool)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = np.empty(len(uniques) + 1, dtype=np.int64)
    bad = np.zeros(len(uniques) + 1, dtype=bool)
    parsed[-1] = NODAY  # NA
    for i, v in enumerate(uniques):
        parsed[i], bad[i] = _one_day(v)
    codes = np.where(codes < 0, len(uniques), codes)
    return parsed[codes], bad[codes]


def _one_day(v) -> tuple[int, bool]:
    if isinstance(v, dt.datetime):
        return day_number(v.date()), False
    if isinstance(v, dt.date):
        return day_number(v), False
    t = str(v).strip()
    if t == "":
        return NODAY, False
    for parse in (dt.date.fromisoformat, lambda x: dt.datetime.fromisoformat(x).date()):
        try:
            return day_number(parse(t)), False
        except ValueError:
            pass
    return NODAY, True


def as_text(values, n: int) -> pd.Series:
    """A text Series ("" where missing) of length n."""
    if values is None:
        return text([""] * n)
    s = pd.Series(values).reset_index(drop=True)
    if s.dtype == TEXT:
        return s.fillna("")
    return text(s.astype(object).where(s.notna(), "").astype(str).to_numpy())


def flags(values, n: int, default: bool) -> np.ndarray:
    """true/false cells (bool, 0/1 or words as a spreadsheet writes them)."""
    if values is None:
        return np.full(n, default, dtype=bool)
    s = pd.Series(values).reset_index(drop=True)
    if s.dtype == bool:
        return s.to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.fillna(default).astype(bool).to_numpy()
    words = as_text(s, n).str.strip().str.lower()
    return words.isin(TRUE_WORDS).to_numpy() | ((words == "") & default).to_numpy()


def violations(rule: str, student_id, school_id=None, batch=None, other=None, detail="") -> pd.DataFrame:
    """Violation rows (docs/formats.md violations.csv); scalars are repeated.  ``batch``: batch ids, -1 for none."""
    if len(student_id) == 0:
        return _EMPTY.copy()
    student_id = as_text(student_id, 0)
    n = len(student_id)

    def col(v):
        if v is None:
            return text([""] * n)
        if isinstance(v, str):
            return text([v] * n)
        return as_text(v, n)

    b = np.full(n, -1, dtype=np.int64) if batch is None else np.broadcast_to(np.asarray(batch, dtype=np.int64), (n,))
    return pd.DataFrame({"rule": text([rule] * n), "student_id": student_id, "school_id": col(school_id),
                         "batch": pd.arrays.IntegerArray(b.copy(), b < 0), "other_student_id": col(other),
                         "detail": col(detail)})


_EMPTY = pd.DataFrame({"rule": text([]), "student_id": text([]), "school_id": text([]),
                       "batch": pd.array([], dtype="Int64"), "other_student_id": text([]), "detail": text([])})


def empty() -> pd.DataFrame:
    return _EMPTY.copy()


def join(*parts):
    """A detail text per row from pieces: plain strings, or arrays/Series of one value per row."""
    if any(not isinstance(p, str) and len(p) == 0 for p in parts):
        return text([])
    out = None
    for p in parts:
        if isinstance(p, str):
            piece = p
        else:
            s = pd.Series(p).reset_index(drop=True)
            piece = s if s.dtype == TEXT else s.astype(str).astype(TEXT)
        out = piece if out is None else out + piece
    return out


# The context ----------------------------------------------------------------------------------------

@dataclass
class Context:
    scenario: Scenario
    with_offers: bool  # offers were published; without them declined offers are unknown (R9)
    batches: tuple[Batch, ...]
    m: int  # max_choices (R3)
    # students (row i = row i of scenario.students)
    n: int
    student_ids: pd.Series
    region: np.ndarray  # int64 region code
    rank: np.ndarray  # chain position, 0 = first (R6)
    eligible: np.ndarray  # R1
    applies_general: np.ndarray  # R4
    score: np.ndarray
    declined_in: list[np.ndarray]  # per batch position: bool[n], a decline names the student and the batch (R9)
    # schools and regions
    S: int
    school_ids: pd.Series
    registered: np.ndarray  # R2
    requires_interview: np.ndarray  # R3
    quota: np.ndarray  # R7
    R: int
    region_ids: pd.Series
    sub_school: np.ndarray  # R8 sub-quota pairs
    sub_region: np.ndarray
    sub_quota: np.ndarray
    sub_keys: np.ndarray  # sorted school * R + region
    sub_order: np.ndarray  # sub_keys[i] belongs to pair sub_order[i]
    interview_keys: np.ndarray  # sorted student * S + school of every pass (R3)
    # the result
    adm: pd.DataFrame  # normalized admissions (see `_admissions`)
    offers: pd.DataFrame  # normalized offers (see `_offers`)
    # facts of the result, set by `build` (`_result_facts`, `_batch_facts`)
    general: np.ndarray = field(init=False)  # bool[n]: the result says general (R4)
    outcome: np.ndarray = field(init=False)  # int[n]: outcome code of the student's first row, -1 none
    adm_rows: np.ndarray = field(init=False)  # int[n]: admissions rows naming the student (R12)
    confirmed_pos: np.ndarray = field(init=False)  # int[n]: first batch position with a confirmed offer, B if none
    pool: list[np.ndarray] = field(default_factory=list)  # per batch position: bool[n] (R5)
    listed: list[np.ndarray] = field(default_factory=list)  # per batch position: int32[n, m] the list read (R5)
    usable: list[np.ndarray] = field(default_factory=list)  # per batch position: int32[n, m], -1 void (R2, R3, R5)
    declined_before: list[np.ndarray] = field(default_factory=list)  # per batch: sorted student*S+school keys (R5)
    took_part: np.ndarray = field(init=False)  # bool[n]: a usable choice in a batch whose pool he was in (R12)

    @property
    def B(self) -> int:
        return len(self.batches)

    def sub_pair(self, school: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Index of the sub-quota of (school, region), -1 where there is none (R8)."""
        school = np.asarray(school, dtype=np.int64)
        region = np.asarray(region, dtype=np.int64)
        out = np.full(len(school), -1, dtype=np.int64)
        if len(self.sub_keys) == 0 or len(school) == 0:
            return out
        ok = (school >= 0) & (region >= 0)
        keys = school * self.R + region
        pos = np.minimum(np.searchsorted(self.sub_keys, keys), len(self.sub_keys) - 1)
        hit = ok & (self.sub_keys[pos] == keys)
        out[hit] = self.sub_order[pos[hit]]
        return out

    def batch_ids(self, positions: np.ndarray) -> np.ndarray:
        """Batch ids of batch positions (-1 stays -1)."""
        table = np.array([b.id for b in self.batches] + [-1], dtype=np.int64)
        return table[np.where(positions >= 0, positions, len(self.batches))]

    def usable_position(self, p: int, students: np.ndarray, schools: np.ndarray) -> np.ndarray:
        """1-based position of each school among the student's usable choices in batch position p,
        m + 1 where it is none of them (R3, R6)."""
        out = np.full(len(students), self.m + 1, dtype=np.int64)
        codes = self.usable[p]
        for k in range(self.m - 1, -1, -1):  # the first match wins
            out[codes[students, k] == schools] = k + 1
        return out

    def listed_position(self, p: int, students: np.ndarray, schools: np.ndarray) -> np.ndarray:
        """1-based position of each school in the list the batch reads, 0 where it is not listed."""
        out = np.zeros(len(students), dtype=np.int64)
        codes = self.listed[p]
        for k in range(self.m - 1, -1, -1):
            out[codes[students, k] == schools] = k + 1
        return out


def build(sc: Scenario, admissions: pd.DataFrame, offers: pd.DataFrame | None) -> Context:
    st, sch, reg = (frame.reset_index(drop=True) for frame in (sc.students, sc.schools, sc.regions))
    n, S, R = len(st), len(sch), len(reg)
    student_ids = as_text(st["student_id"], n)
    school_ids = as_text(sch["school_id"], S)
    region_ids = as_text(reg["region_id"], R)
    batches = tuple(sc.settings.batches)
    B = len(batches)

    cohort = as_text(st["cohort"], n) if "cohort" in st.columns else text(["fresh"] * n)
    certificate = flags(st["certificate"], n, True) if "certificate" in st.columns else np.ones(n, dtype=bool)
    eligible = ~((cohort == "fresh").to_numpy() & ~certificate)  # R1 (HY §四)

    sub = sc.subquotas.reset_index(drop=True)
    sub_school = codes_of(as_text(sub["school_id"], len(sub)), school_ids)
    sub_region = codes_of(as_text(sub["region_id"], len(sub)), region_ids)
    keys = np.where((sub_school >= 0) & (sub_region >= 0), sub_school * R + sub_region, -1)
    sub_order = np.argsort(keys, kind="stable")
    sub_order = sub_order[keys[sub_order] >= 0]

    declines = sc.declines
    d_student = codes_of(as_text(declines["student_id"], len(declines)), student_ids)
    d_pos = _positions(batches, ints(declines["batch"]))
    declined_in = []
    for p in range(B):
        mask = np.zeros(n, dtype=bool)
        mask[d_student[(d_pos == p) & (d_student >= 0)]] = True
        declined_in.append(mask)

    iv = sc.interviews
    iv_student = codes_of(as_text(iv["student_id"], len(iv)), student_ids)
    iv_school = codes_of(as_text(iv["school_id"], len(iv)), school_ids)
    ok = (iv_student >= 0) & (iv_school >= 0)

    ctx = Context(
        scenario=sc, with_offers=offers is not None, batches=batches, m=sc.settings.max_choices,
        n=n, student_ids=student_ids, region=codes_of(as_text(st["region_id"], n), region_ids),
        rank=np.asarray(sc.priority_rank(), dtype=np.int64), eligible=eligible,
        applies_general=flags(st["applies_general"], n, True) if "applies_general" in st.columns else np.ones(n, bool),
        score=pd.to_numeric(st["score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        declined_in=declined_in,
        S=S, school_ids=school_ids, registered=flags(sch["registered"], S, True),
        requires_interview=flags(sch["requires_interview"], S, False),
        quota=ints(sch["quota"], missing=0), R=R, region_ids=region_ids,
        sub_school=sub_school, sub_region=sub_region, sub_quota=ints(sub["quota"], missing=0),
        sub_keys=keys[sub_order], sub_order=sub_order,
        interview_keys=np.unique(iv_student[ok].astype(np.int64) * S + iv_school[ok]),
        adm=pd.DataFrame(), offers=pd.DataFrame(),
    )
    ctx.adm = _admissions(ctx, admissions)
    ctx.offers = _offers(ctx, offers)
    _result_facts(ctx)
    _batch_facts(ctx)
    return ctx


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of a published file, or empty cells where the file lacks it."""
    return frame[name] if name in frame.columns else text([""] * len(frame))


def _rows(ctx: Context, frame: pd.DataFrame) -> dict:
    """The columns admissions.csv and offers.csv share, as codes: student (-1 unknown), school (-1 empty
    or unknown), batch id and position in the calendar (-1 empty or unknown), rank (-1 empty), dates as
    day numbers (NODAY where empty) with a mask of unreadable ones, and the texts for the details."""
    k = len(frame)
    student_id, school_id = as_text(_column(frame, "student_id"), k), as_text(_column(frame, "school_id"), k)
    batch = ints(_column(frame, "batch"))
    admit, admit_bad = days(_column(frame, "admit_date"))
    confirm, confirm_bad = days(_column(frame, "confirm_date"))
    return {
        "student_id": student_id, "school_id": school_id,
        "student": id_codes(student_id, ctx.student_ids) if k else np.zeros(0, np.int64),
        "school": codes_of(school_id, ctx.school_ids) if k else np.zeros(0, np.int64),
        "batch": batch, "bpos": _positions(ctx.batches, batch), "rank": ints(_column(frame, "choice_rank")),
        "admit": admit, "admit_bad": admit_bad, "confirm": confirm, "confirm_bad": confirm_bad,
        "admit_text": as_text(_column(frame, "admit_date"), k),
        "confirm_text": as_text(_column(frame, "confirm_date"), k),
    }


def _positions(batches: tuple[Batch, ...], batch: np.ndarray) -> np.ndarray:
    """Position of each batch id in the calendar, -1 where it is none of its batches."""
    ids = np.array([b.id for b in batches], dtype=np.int64)
    order = np.argsort(ids)
    if len(ids) == 0:
        return np.full(len(batch), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(ids[order], batch), len(ids) - 1)
    return np.where(ids[order][pos] == batch, order[pos], -1).astype(np.int64)


def _admissions(ctx: Context, admissions: pd.DataFrame) -> pd.DataFrame:
    """admissions.csv as codes (see `_rows`), with the outcome's code (-1 for an unknown word)."""
    a = admissions.reset_index(drop=True)
    outcome = as_text(_column(a, "outcome"), len(a)).str.strip().str.lower()
    return pd.DataFrame({**_rows(ctx, a), "region_id": as_text(_column(a, "region_id"), len(a)),
                         "outcome_text": outcome, "outcome": codes_of(outcome, list(OUTCOMES))})


def _offers(ctx: Context, offers: pd.DataFrame | None) -> pd.DataFrame:
    """offers.csv as codes (see `_rows`); without it, the vocational admissions as confirmed offers."""
    if offers is None:
        frame = ctx.adm[ctx.adm["outcome"] == VOCATIONAL].reset_index(drop=True)
        return frame.drop(columns=["region_id", "outcome_text", "outcome"]).assign(confirmed=True,
                                                                                   has_confirm_date=True)
    o = offers.reset_index(drop=True)
    return pd.DataFrame({**_rows(ctx, o), "confirmed": flags(o["confirmed"] if "confirmed" in o.columns else None,
                                                              len(o), True),
                         # offers.csv of docs/formats.md has no confirm_date; where it is given, it is checked (R11)
                         "has_confirm_date": np.full(len(o), "confirm_date" in o.columns)})


def _result_facts(ctx: Context) -> None:
    a = ctx.adm
    known = a["student"].to_numpy() >= 0
    st = a["student"].to_numpy()[known]
    ctx.adm_rows = np.bincount(st, minlength=ctx.n)
    outcome = np.full(ctx.n, -1, dtype=np.int64)
    rows = np.flatnonzero(known)[::-1]  # reversed: the first row of a student wins
    outcome[a["student"].to_numpy()[rows]] = a["outcome"].to_numpy()[rows]
    ctx.outcome = outcome
    ctx.general = outcome == GENERAL

    o = ctx.offers
    good = (o["student"].to_numpy() >= 0) & (o["bpos"].to_numpy() >= 0) & o["confirmed"].to_numpy()
    first = np.full(ctx.n, ctx.B, dtype=np.int64)
    np.minimum.at(first, o["student"].to_numpy()[good], o["bpos"].to_numpy()[good])
    ctx.confirmed_pos = first


def _batch_facts(ctx: Context) -> None:
    """Per batch: the pool (R5), the list read (R5 fallback), the usable choices (R2, R3, R5)."""
    sc, n, m, S = ctx.scenario, ctx.n, ctx.m, ctx.S
    st = sc.students.reset_index(drop=True)
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def read(list_name: str):
        if list_name not in raw:
            codes = np.full((n, m), -1, dtype=np.int32)
            filed = np.zeros(n, dtype=bool)
            for k in range(m):
                col = choice_column(list_name, k + 1)
                if col in st.columns:
                    cells = as_text(st[col], n).str.strip()
                    codes[:, k] = codes_of(cells, ctx.school_ids)
                    filed |= (cells != "").to_numpy()
            raw[list_name] = (codes, filed)
        return raw[list_name]

    o = ctx.offers
    o_student, o_school, o_bpos = (o[c].to_numpy() for c in ("student", "school", "bpos"))
    declined = (~o["confirmed"].to_numpy()) & (o_student >= 0) & (o_school >= 0) & (o_bpos >= 0)
    took_part = np.zeros(n, dtype=bool)
    not_general = ctx.eligible & ~ctx.general
    for p, b in enumerate(ctx.batches):
        ctx.pool.append(not_general & (ctx.confirmed_pos >= p))  # R5: never confirmed before batch p
        codes, filed = read(b.choices)
        codes = codes.copy()
        if b.fallback and b.choices != "choices":  # R5: who filed none of the batch's list uses the original
            original, _ = read("choices")
            codes[~filed] = original[~filed]
        ctx.listed.append(codes)
        usable = codes.copy()
        filled = usable >= 0
        safe = np.where(filled, usable, 0)
        usable[filled & ~ctx.registered[safe]] = -1  # R2: an unregistered school is void
        gated = filled & ctx.requires_interview[safe]
        if gated.any():  # R3: an interview school without a pass is void
            r, c = np.nonzero(gated)
            passed = in_sorted(r.astype(np.int64) * S + usable[r, c], ctx.interview_keys)
            usable[r[~passed], c[~passed]] = -1
        before = declined & (o_bpos < p)
        keys = np.unique(o_student[before].astype(np.int64) * S + o_school[before])
        ctx.declined_before.append(keys)
        if len(keys):  # R5: a school the student declined an offer at earlier is void
            rows = np.unique(keys // S)
            part = usable[rows]
            again = (part >= 0) & in_sorted(rows[:, None] * S + part, keys)
            part[again] = -1
            usable[rows] = part
        ctx.usable.append(usable)
        took_part |= ctx.pool[p] & (usable >= 0).any(axis=1)
    ctx.took_part = took_part

    # each offer's priority at its school (R6): its position among the usable choices of its batch
    true_rank = np.full(len(o), m + 1, dtype=np.int64)
    for p in range(ctx.B):
        sel = np.flatnonzero((o_bpos == p) & (o_student >= 0) & (o_school >= 0))
        true_rank[sel] = ctx.usable_position(p, o_student[sel], o_school[sel])
    o["true_rank"] = true_rank
    o["chain"] = at(ctx.rank, o_student, ctx.n)  # unknown students last


def over_cap(groups: np.ndarray, priority: tuple, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows beyond the cap of their group, taking each group's rows in priority order (``priority``:
    non-negative int keys, the first one primary), and for each such row the row of the last one within
    the cap (-1 where the cap is below 1).  Used by R7 and R8."""
    order = order_by(groups, *priority)
    within, start = position_in_group(groups[order])
    cap_o = np.asarray(cap)[order]
    beyond = within >= cap_o
    kept = np.where(cap_o >= 1, start + cap_o - 1, -1)[beyond]
    return order[beyond], np.where(kept >= 0, order[np.maximum(kept, 0)], -1)


def batch_counts(groups: np.ndarray, positions: np.ndarray, size: int, batches: int) -> np.ndarray:
    """int64[size, batches]: rows per (group, batch position); the cumulative sum over batches minus
    this gives the count in earlier batches."""
    out = np.zeros(size * batches, dtype=np.int64)
    if len(groups):
        out += np.bincount(groups.astype(np.int64) * batches + positions, minlength=size * batches)
    return out.reshape(size, batches)
