"""Mechanisms run on the same students and compared: per mechanism the figures of every run (placed,
unplaced, justified envy, first-choice share, 普职比, enrollment rate; per region and per school), and
between each pair the students whose result differs, each told as a gain, a loss or a move *by his own
lists*, counted per score band and region.

How a student's two results are told apart (``change``, from mechanism A to mechanism B of a pair), by
his own lists (the list each batch reads for him, R5: the batch's own, or the original one where
``fallback`` gives it to a student who filed none):

* ``gain``: a seat under B and none under A, or a seat under both that his lists rank higher under B —
  in the same batch a better (lower) choice rank; in different batches, B's school listed above A's seat
  in the list that placed him under A (else A's school listed below B's seat in the list of B's batch);
* ``lose``: the reverse;
* ``move``: a seat under both that his lists do not rank either way: the same school in another batch or
  at another rank, or schools of different batches that no list of his names together (a later batch's
  list is filed after the earlier batch's outcome, 补填志愿, HY §九.1);
* ``other``: no seat under either, but another outcome (``unplaced`` and ``none``, R12).

The lists are the same under every mechanism: under ``boston`` they were filed for the sequential rule and
are strategic, so the comparison shows the mechanical difference between the rules, not the behavioural
one (`CAVEAT`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from models.columns import codes_of, text
from models.headers import choice_column
from models.results import display_name
from models.scenario import Scenario
from solver.analysis.compare.spec import MechanismSpec, with_mechanism
from solver.engine import figures
from solver.engine.arrays import ScenarioArrays
from solver.engine.fairness import Fairness
from solver.progress import Progress
from solver.run import RunOutput, run

CAVEAT = ("Under boston (the sequential rule, 顺序志愿) students' lists are strategic: they were filed for that rule, "
          "ranking a school first where a first choice is likely to be admitted. Every mechanism here runs on the "
          "same lists, so the comparison shows the mechanical difference between the rules, not the behavioural "
          "one: under another mechanism students would list differently.")
CAVEAT_ZH = ("注意：顺序志愿（boston）下考生的志愿是策略性填报的——考生按“第一志愿优先”的规则权衡后填写。本比较让各种"
             "录取机制使用同一份志愿，显示的只是录取规则本身的机械差异，而不是考生在新机制下改变填报行为之后的差异。")
CHANGES = ("gain", "lose", "move", "other")
CHANGE_LABELS = {"gain": "得益", "lose": "受损", "move": "改录（志愿未分先后）", "other": "其他"}
CHANGE_KINDS = {  # summary.json: what each word means, from mechanism A to B
    "gain": "a seat under B and none under A, or a seat his own lists rank higher under B",
    "lose": "the reverse of gain",
    "move": "a seat under both that his lists do not rank either way (the same school in another batch or rank, "
            "or schools of different batches no list of his names together)",
    "other": "no seat under either, another outcome (unplaced / none)"}
DEFAULT_BAND = 10.0  # points of a score band
TOTAL = "合计"

MECHANISM_COLUMNS = [
    "mechanism", "mechanism_name", "e", "same_as", "students", "graduates", "general", "vocational", "unplaced",
    "ineligible", "none", "took_part", "placed_first_choice", "first_choice_share", "justified_envy_students",
    "envy_share", "general_vocational_ratio", "vocational_share", "enrollment_rate", "quota", "vacancies",
    "fill_rate", "seconds"]
MOVE_COLUMNS = [
    "mechanism_a", "mechanism_b", "student_id", "region_id", "region_name", "score", "score_band", "change",
    "outcome_a", "school_id_a", "school_name_a", "batch_a", "choice_rank_a", "envy_a",
    "outcome_b", "school_id_b", "school_name_b", "batch_b", "choice_rank_b", "envy_b"]
PAIR_COLUMNS = ["mechanism_a", "mechanism_b", "by", "key", "name", "took_part", "changed", *CHANGES, "net"]


@dataclass
class Seats:
    """One mechanism's result, student by student (the scenario's order)."""

    outcome: np.ndarray  # R12 words
    school: np.ndarray  # school_id or ""
    batch: np.ndarray  # 0 without a seat
    rank: np.ndarray  # choice rank, 0 without a seat
    envy: np.ndarray  # justified envy toward some school (solver.engine.fairness)

    @property
    def placed(self) -> np.ndarray:
        return np.asarray(self.outcome == "vocational")

    @property
    def took_part(self) -> np.ndarray:
        return np.asarray((self.outcome == "vocational") | (self.outcome == "unplaced"))


@dataclass
class CompareReport:
    scenario: str
    title: str
    specs: list[MechanismSpec]
    band: float
    max_choices: int
    mechanisms: pd.DataFrame  # MECHANISM_COLUMNS (+ placed_rank_k): one row per mechanism
    regions: pd.DataFrame  # per mechanism and region
    schools: pd.DataFrame  # per mechanism and school
    moves: pd.DataFrame  # MOVE_COLUMNS: per pair, each student whose result differs
    pairs: pd.DataFrame  # PAIR_COLUMNS: per pair, the changes in total, per score band and per region
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.specs]

    def pair_totals(self) -> pd.DataFrame:
        return self.pairs[self.pairs["by"] == "total"].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        figures_of = {str(r["mechanism"]): {k: _plain(r[k]) for k in MECHANISM_COLUMNS[1:] if k != "seconds"}
                      for r in self.mechanisms.to_dict("records")}
        pairs = [{"a": r["mechanism_a"], "b": r["mechanism_b"], "changed": int(r["changed"]),
                  **{k: int(r[k]) for k in CHANGES}, "net": int(r["net"])}
                 for r in self.pair_totals().to_dict("records")]
        return {"status": "done", "scenario": self.scenario, "title": self.title, "mechanisms": self.labels,
                "caveat": CAVEAT, "caveat_zh": CAVEAT_ZH, "score_band": self.band,
                "change_kinds": CHANGE_KINDS,
                "figures": figures_of, "pairs": pairs, "timings": self.timings}


def _plain(v: object) -> object:
    """A table cell as JSON: numbers as numbers, NaN / NA as None."""
    if v is None or v is pd.NA or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return round(float(v), 4)
    return v


def student_envy(out: RunOutput) -> np.ndarray:
    """Per student of ``out``'s scenario: has he justified envy toward some school (`Fairness`, the figure the
    run counts in ``fairness["justified_envy_students"]``)."""
    sc = out.scenario
    arr = ScenarioArrays.from_scenario(sc)
    fair = Fairness()
    figures.schools_table(sc, out.result, arr, fair)
    flags = np.zeros(arr.n, dtype=bool)
    if fair.envy_pairs:
        keys = np.concatenate(fair.envy_pairs)
        flags[keys // max(arr.n_schools, 1)] = True
    return flags


def _seats(out: RunOutput) -> Seats:
    adm = out.result.admissions
    return Seats(outcome=adm["outcome"].to_numpy(dtype=object),
                  school=adm["school_id"].fillna("").to_numpy(dtype=object),
                  batch=adm["batch"].fillna(0).to_numpy(dtype=np.int64),
                  rank=adm["choice_rank"].fillna(0).to_numpy(dtype=np.int64),
                  envy=student_envy(out))


def compare(sc: Scenario, specs: list[MechanismSpec], band: float = DEFAULT_BAND,
            progress: Progress | None = None) -> CompareReport:
    """Run ``sc`` under each mechanism of ``specs`` (every batch; the sequential engine) and compare them."""
    if band <= 0:
        raise ValueError("a score band is more than 0 points wide")
    t0 = time.perf_counter()
    say = progress or (lambda *_: None)
    steps = len(specs) + 1
    rows, regions, schools, seats = [], [], [], []
    seconds: dict[str, float] = {}
    for i, spec in enumerate(specs):
        say(f"running {spec.label}", i, steps)
        t = time.perf_counter()
        out = run(with_mechanism(sc, spec), engine="sequential")
        one = _seats(out)
        seconds[spec.label] = round(time.perf_counter() - t, 4)
        rows.append(_mechanism_row(spec, out, one, seconds[spec.label], sc.settings.max_choices))
        regions.append(_regions_of(spec, out, one))
        schools.append(_schools_of(spec, out))
        seats.append(one)
        del out
    say("comparing", len(specs), steps)
    t1 = time.perf_counter()
    moves, pairs = _compare_pairs(sc, specs, seats, band)
    mechanisms = pd.DataFrame(rows)
    mechanisms["e"] = mechanisms["e"].astype("Int64")
    mechanisms["same_as"] = text(mechanisms["same_as"].astype(object).where(mechanisms["same_as"].notna(), ""))
    report = CompareReport(
        scenario=sc.name, title=display_name(sc), specs=list(specs), band=band, max_choices=sc.settings.max_choices,
        mechanisms=mechanisms, regions=pd.concat(regions, ignore_index=True),
        schools=pd.concat(schools, ignore_index=True), moves=moves, pairs=pairs)
    report.timings = {**{f"run {label}": v for label, v in seconds.items()},
                      "compare": round(time.perf_counter() - t1, 4), "total": round(time.perf_counter() - t0, 4)}
    say("compared", steps, steps)
    return report


# per mechanism -------------------------------------------------------------------------------------------

def _mechanism_row(spec: MechanismSpec, out: RunOutput, one: Seats, seconds: float,
                   max_choices: int) -> dict[str, object]:
    t = figures.totals(out.regions)
    fair = out.fairness
    registered = out.schools[out.schools["registered"]]
    quota = int(registered["quota"].sum())
    took_part = int(one.took_part.sum())
    envy = int(one.envy.sum())
    row: dict[str, object] = {
        "mechanism": spec.label, "mechanism_name": spec.name_zh, "e": spec.e, "same_as": spec.same_as(max_choices),
        "students": t["students"], "graduates": t["graduates"], "general": t["general"],
        "vocational": t["vocational"], "unplaced": t["unplaced"], "ineligible": t["ineligible"], "none": t["none"],
        "took_part": took_part, "placed_first_choice": fair.get("placed_first_choice"),
        "first_choice_share": fair.get("first_choice_share"), "justified_envy_students": envy,
        "envy_share": round(envy / took_part, 4) if took_part else None,
        "general_vocational_ratio": t["general_vocational_ratio"], "vocational_share": t["vocational_share"],
        "enrollment_rate": t["enrollment_rate"], "quota": quota, "vacancies": int(registered["vacancies"].sum()),
        "fill_rate": round(int(registered["confirmed"].sum()) / quota, 4) if quota else None, "seconds": seconds}
    for k in range(1, max_choices + 1):
        row[f"placed_rank_{k}"] = int((one.placed & (one.rank == k)).sum())
    return row


def _regions_of(spec: MechanismSpec, out: RunOutput, one: Seats) -> pd.DataFrame:
    """The run's regions.csv with, per region (of the students), the students with justified envy and the
    first-choice figures."""
    reg = out.regions
    where = codes_of(out.result.admissions["region_id"], reg["region_id"])
    inside = where >= 0
    R = len(reg)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(where[inside & mask], minlength=R).astype(np.int64)

    took_part, first = count(one.took_part), count(one.placed & (one.rank == 1))
    table = reg[["region_id", "name", "kind", "graduates", "students", "general", "vocational", "unplaced",
                 "ineligible", "none", "general_vocational_ratio", "vocational_share", "enrollment_rate"]].copy()
    table.insert(0, "mechanism", spec.label)
    table["took_part"] = took_part
    table["placed_first_choice"] = first
    table["first_choice_share"] = figures.share(first, took_part)
    table["justified_envy_students"] = count(one.envy)
    return table


def _schools_of(spec: MechanismSpec, out: RunOutput) -> pd.DataFrame:
    """The run's schools.csv, in short: quota, offers, confirmed, vacancies, fill rate, students with
    justified envy toward the school, and the lowest admitted score over every batch and round."""
    s = out.schools
    cut = [c for c in s.columns if str(c).startswith("cutoff_b")]
    table = s[["school_id", "name", "kind", "region_id", "quota", "registered", "offers", "confirmed", "declined",
               "vacancies", "fill_rate", "envy"]].copy()
    table.insert(0, "mechanism", spec.label)
    table["cutoff"] = s[cut].min(axis=1, skipna=True).to_numpy(dtype=float) if cut else np.nan
    return table


# between each pair ------------------------------------------------------------------------------------

class StudentLists:
    """The list each batch reads for each student (R5: the batch's own list, or the original one where the
    batch has ``fallback`` and the student filed none), read for the rows asked only."""

    def __init__(self, sc: Scenario):
        self.sc = sc

    def matrix(self, batch_id: int, rows: np.ndarray) -> np.ndarray:
        """The (rows, max_choices) school ids of batch ``batch_id``'s list ("" where empty)."""
        sc, batch = self.sc, self.sc.settings.batch(batch_id)
        out = self._list(batch.choices, rows)
        if batch.fallback and batch.choices != "choices":
            filed_none = (out == "").all(axis=1)
            if filed_none.any():
                out[filed_none] = self._list("choices", rows[filed_none])
        return out if out.shape[1] else np.zeros((len(rows), sc.settings.max_choices), dtype=object)

    def _list(self, name: str, rows: np.ndarray) -> np.ndarray:
        st, m = self.sc.students, self.sc.settings.max_choices
        out = np.full((len(rows), m), "", dtype=object)
        for k in range(1, m + 1):
            col = choice_column(name, k)
            if col in st.columns:
                out[:, k - 1] = st[col].fillna("").to_numpy(dtype=object)[rows]
        return out

    def rank_of(self, rows: np.ndarray, batches: np.ndarray, schools: np.ndarray) -> np.ndarray:
        """The 1-based rank of ``schools[i]`` in the list batch ``batches[i]`` reads for student ``rows[i]``;
        0 where it is not listed there."""
        found = np.zeros(len(rows), dtype=np.int64)
        for b in np.unique(batches):
            sel = np.flatnonzero(batches == b)
            hit = self.matrix(int(b), rows[sel]) == schools[sel][:, None]
            found[sel] = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)
        return found


def changes(a: Seats, b: Seats, lists: StudentLists) -> np.ndarray:
    """Per student, from A to B: ``gain``, ``lose``, ``move``, ``other`` or "" (the same result); see the
    module's docstring."""
    differ = (a.outcome != b.outcome) | (a.school != b.school) | (a.batch != b.batch) | (a.rank != b.rank)
    pa, pb = a.placed, b.placed
    both, same_batch = pa & pb, a.batch == b.batch
    better = both & same_batch & (b.rank < a.rank)
    worse = both & same_batch & (b.rank > a.rank)
    across = np.flatnonzero(both & ~same_batch & (a.school != b.school))
    if len(across):
        here = lists.rank_of(across, a.batch[across], b.school[across])  # B's school in A's list
        there = lists.rank_of(across, b.batch[across], a.school[across])  # A's school in B's list
        ra, rb = a.rank[across], b.rank[across]
        better[across] = np.where(here > 0, here < ra, (there > 0) & (rb < there))
        worse[across] = np.where(here > 0, here > ra, (there > 0) & (rb > there))
    gain, lose = (pb & ~pa) | better, (pa & ~pb) | worse
    move = both & differ & ~better & ~worse
    kind = np.select([gain, lose, move, differ], ["gain", "lose", "move", "other"], "")
    return np.asarray(kind, dtype=object)


def score_bands(scores: np.ndarray, band: float) -> np.ndarray:
    """The lower end of each score's band: ``band`` points wide, from 0 (440 for 440 <= score < 450)."""
    return np.floor(np.asarray(scores, dtype=float) / band + 1e-9) * band


def band_label(low: float, band: float) -> str:
    """440–450分 (from 440 up to, not including, 450)."""
    return f"{low:g}–{low + band:g}分"


def _compare_pairs(sc: Scenario, specs: list[MechanismSpec], seats: list[Seats],
                   band: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    st = sc.students
    scores = st["score"].to_numpy(dtype=float)
    bands = score_bands(scores, band)
    region_names = dict(zip(sc.regions["region_id"], sc.regions["name"]))
    school_names = dict(zip(sc.schools["school_id"], sc.schools["name"]))
    region = st["region_id"].to_numpy(dtype=object)
    lists = StudentLists(sc)
    moves, pairs = [], []
    for i, j in combinations(range(len(specs)), 2):
        a, b, la, lb = seats[i], seats[j], specs[i].label, specs[j].label
        kind = changes(a, b, lists)
        rows = np.flatnonzero(kind != "")
        moves.append(_moves(st, rows, kind, a, b, la, lb, bands, region_names, school_names))
        pairs.append(_pair_counts(sc, kind, a.took_part | b.took_part, bands, band, region, la, lb))
    move_frame = pd.concat(moves, ignore_index=True) if moves else pd.DataFrame(columns=MOVE_COLUMNS)
    return move_frame[MOVE_COLUMNS], pd.concat(pairs, ignore_index=True)[PAIR_COLUMNS]


def _moves(st: pd.DataFrame, rows: np.ndarray, kind: np.ndarray, a: Seats, b: Seats, la: str, lb: str,
           bands: np.ndarray, region_names: dict[str, str], school_names: dict[str, str]) -> pd.DataFrame:
    def seat(side: Seats) -> dict[str, object]:
        return {"outcome": text(side.outcome[rows]), "school_id": text(side.school[rows]),
                "school_name": text([school_names.get(s, "") for s in side.school[rows]]),
                "batch": _seat_number(side.batch[rows]), "choice_rank": _seat_number(side.rank[rows]),
                "envy": side.envy[rows]}

    sa, sb = seat(a), seat(b)
    regions = st["region_id"].to_numpy(dtype=object)[rows]
    frame = pd.DataFrame({
        "mechanism_a": text([la] * len(rows)), "mechanism_b": text([lb] * len(rows)),
        "student_id": text(st["student_id"].to_numpy(dtype=object)[rows]), "region_id": text(regions),
        "region_name": text([region_names.get(r, "") for r in regions]),
        "score": st["score"].to_numpy(dtype=float)[rows], "score_band": bands[rows], "change": text(kind[rows]),
        **{f"{k}_a": v for k, v in sa.items()}, **{f"{k}_b": v for k, v in sb.items()}})
    return frame


def _seat_number(values: np.ndarray) -> pd.Series:
    """A batch or choice rank (0: no seat) as whole numbers with empty cells."""
    return pd.Series(values, dtype="Int64").mask(values == 0).reset_index(drop=True)


def _pair_counts(sc: Scenario, kind: np.ndarray, took_part: np.ndarray, bands: np.ndarray, band: float,
                 region: np.ndarray, la: str, lb: str) -> pd.DataFrame:
    """The changes of one pair: in total, per score band and per region (of the students); ``took_part``:
    students in a vocational batch under either mechanism; groups where nobody took part are left out."""
    frame = pd.DataFrame({"band": bands, "region": region, "took_part": took_part,
                          **{k: kind == k for k in CHANGES}})
    frame["changed"] = kind != ""
    counted = ["took_part", "changed", *CHANGES]
    parts = [pd.DataFrame([{"by": "total", "key": "", "name": TOTAL, **{c: int(frame[c].sum()) for c in counted}}])]
    by_band = frame.groupby("band", sort=True)[counted].sum().reset_index()
    parts.append(pd.DataFrame({"by": "score_band", "key": [f"{low:g}" for low in by_band["band"]],
                               "name": [band_label(low, band) for low in by_band["band"]],
                               **{c: by_band[c].to_numpy() for c in counted}}))
    by_region = frame.groupby("region", sort=False)[counted].sum()
    ids = [r for r in sc.regions["region_id"] if r in by_region.index]
    names = dict(zip(sc.regions["region_id"], sc.regions["name"]))
    parts.append(pd.DataFrame({"by": "region", "key": ids, "name": [names[r] for r in ids],
                               **{c: by_region.loc[ids, c].to_numpy() for c in counted}}))
    out = pd.concat(parts, ignore_index=True)
    out = out[(out["by"] == "total") | (out["took_part"] > 0) | (out["changed"] > 0)].reset_index(drop=True)
    for c in counted:
        out[c] = out[c].astype(np.int64)
    out["net"] = out["gain"] - out["lose"]
    out.insert(0, "mechanism_b", lb)
    out.insert(0, "mechanism_a", la)
    for c in ("mechanism_a", "mechanism_b", "by", "key", "name"):
        out[c] = text(out[c])
    return out
