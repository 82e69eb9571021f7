"""The figures a planner reads (docs/rules.md, "Figures"; JZ §一, §五, A1, A2; HY §二.二, §六.三).

Computed from a scenario and any result (admissions + offers), so that every engine, and a published
result under audit, gets the same tables: per school (quota, applicants by batch and choice rank,
offers, confirmed, vacancies, fill rate, the lowest admitted score per batch and round), per
sub-quota, per region (general, vocational, unplaced, 普职比, vocational share, enrollment rate), and
the JZ A2 progress table.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from models.columns import codes_of, derived
from models.results import PROGRESS_HEADERS, Result
from models.scenario import OUTCOMES, Scenario
from solver.engine.arrays import ScenarioArrays, scenario_codes
from solver.engine.choices import batch_choices
from solver.engine.fairness import Fairness


def _ratio_text(general: float, vocational: float) -> str:
    """普职比 written as 普 : 职 with 普 = 1 (policy aim about 1 : 1, JZ §一)."""
    if general <= 0:
        return "0 : 1" if vocational > 0 else ""
    return f"1 : {vocational / general:.2f}"


def divide(num: ArrayLike, den: ArrayLike) -> NDArray[np.float64]:
    """``num / den`` elementwise, NaN where ``den`` is not positive (a ratio or rate of nobody)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def share(num: ArrayLike, den: ArrayLike) -> NDArray[np.float64]:
    """`divide` rounded to 4 decimals, as the result files give shares and rates."""
    return np.round(divide(num, den), 4)


def schools_table(sc: Scenario, result: Result, arr: ScenarioArrays | None = None,
                  fairness: Fairness | None = None) -> pd.DataFrame:
    """Per school; its ``envy`` column counts the students with justified envy toward it (`fairness`), which
    ``fairness`` (when given) also collects for the totals."""
    arr = arr or ScenarioArrays.from_scenario(sc)
    fair = fairness if fairness is not None else Fairness()
    S, m = arr.n_schools, sc.settings.max_choices
    adm, offers = result.admissions, result.offers
    table = sc.schools[["school_id", "name", "kind", "region_id", "quota", "registered", "requires_interview"]].copy()

    outcome = outcome_codes(adm)
    vocational = outcome == OUTCOMES.index("vocational")
    in_pool = np.asarray([o in ("vocational", "unplaced", "none") for o in OUTCOMES] + [False])  # [-1]: other
    eligible_pool = in_pool[outcome] & arr.eligible
    conf_batch = adm["batch"].fillna(0).to_numpy(dtype=np.int64)
    off_school = result_codes(sc, offers, "school_id", sc.schools["school_id"])
    off_student = (result.offer_rows if result.offer_rows is not None and len(result.offer_rows) == len(offers)
                   else codes_of(offers["student_id"], arr.student_ids))
    off_batch = offers["batch"].to_numpy(dtype=np.int64)
    off_rank = offers["choice_rank"].to_numpy(dtype=np.int64)
    off_conf = offers["confirmed"].to_numpy(dtype=bool)

    applicants_total = np.zeros(S, dtype=np.int64)
    for b in sc.settings.batches:
        # Batch b's pool (R5): eligible, not general, no confirmed admission before b.
        pool = eligible_pool & ~(vocational & (conf_batch < b.id))
        before = (off_batch < b.id) & ~off_conf
        declined = arr.pair_keys(off_student[before], off_school[before])
        codes = batch_choices(arr, b, declined, pool)
        here = off_batch == b.id
        held = (off_conf & (off_batch < b.id)) | here  # seats held at the end of the batch (R7, R8, R9)
        pairs = (arr.sub_index[off_school[held], arr.region[off_student[held]]] if arr.sub_index.size
                 else np.zeros(0, np.int64))
        fair.add_batch(arr, codes, off_student[here], off_school[here], off_rank[here],
                       np.bincount(pairs[pairs >= 0], minlength=len(arr.sub_quota)))
        listed = np.zeros(S, dtype=bool)
        for k in range(m):
            col = codes[:, k]
            counts = np.bincount(col[col >= 0], minlength=S)
            table[f"applicants_b{b.id}_r{k + 1}"] = counts
            listed |= counts > 0
            applicants_total += counts
    table["applicants"] = applicants_total
    table["offers"] = np.bincount(off_school, minlength=S)
    table["confirmed"] = np.bincount(off_school[off_conf], minlength=S)
    table["declined"] = table["offers"] - table["confirmed"]
    table["vacancies"] = table["quota"] - table["confirmed"]
    table["fill_rate"] = share(table["confirmed"], table["quota"])
    table["envy"] = fair.per_school()  # students with justified envy toward the school (`fairness`)
    score = arr.score[off_student] if len(off_student) else np.zeros(0)
    for b in sc.settings.batches:
        for k in range(1, m + 1):
            here = (off_batch == b.id) & (off_rank == k)
            low = pd.Series(score[here]).groupby(off_school[here]).min()
            col = np.full(S, np.nan)
            col[low.index.to_numpy(dtype=np.int64)] = low.to_numpy()
            table[f"cutoff_b{b.id}_r{k}"] = col  # the lowest admitted score: the school's line
    return table


def outcome_codes(admissions: pd.DataFrame) -> NDArray[np.int64]:
    """Each student's outcome as its position in `OUTCOMES` (R12), -1 for any other value (as the engine
    left them, while the column is the one it made)."""
    kept = derived(admissions).get("outcome", (admissions["outcome"],))
    if kept is not None:
        return np.asarray(kept, dtype=np.int64)
    return np.asarray(codes_of(admissions["outcome"], list(OUTCOMES)), dtype=np.int64)


def result_codes(sc: Scenario, frame: pd.DataFrame, column: str, keys: pd.Series) -> NDArray[np.int64]:
    """Position of each id of a result's column in ``keys`` (-1 where absent): as the engine that made the
    column left it, else as the loader did, else looked up."""
    kept = derived(frame).get("codes", (frame[column], keys))
    return np.asarray(scenario_codes(sc, frame[column], keys) if kept is None else kept, dtype=np.int64)


def _groups(sc: Scenario, values: pd.DataFrame, keys: pd.DataFrame,
            columns: list[str]) -> tuple[NDArray[np.int64], NDArray[np.int64], int] | None:
    """The rows of ``values`` and of ``keys`` as one group number each, by their ids in ``columns`` (each an
    id column of the scenario's table of that name), so that equal ids make equal numbers as a group-by
    of the texts would; a value row whose ids are not all the table's gets -1.  Also how many numbers
    there are.  None when a key names an id its table lacks."""
    size = 1
    flat, at = np.zeros(len(values), dtype=np.int64), np.zeros(len(keys), dtype=np.int64)
    known = np.ones(len(values), dtype=bool)
    for c in columns:
        table = {"school_id": sc.schools, "region_id": sc.regions}[c][c]
        first = scenario_codes(sc, table, table)  # each id's first row: a repeated id is one group
        of_values = result_codes(sc, values, c, table)
        of_keys = scenario_codes(sc, keys[c], table)
        if (of_keys < 0).any():
            return None
        known &= of_values >= 0
        flat = flat * len(table) + first[np.maximum(of_values, 0)]
        at = at * len(table) + first[of_keys]
        size *= len(table)
    return np.where(known, flat, -1), at, size


def subquotas_table(sc: Scenario, result: Result) -> pd.DataFrame:
    """Each sub-quota (R8) with the confirmed admissions of its region at its school."""
    table = sc.subquotas.copy()
    adm = result.admissions
    vocational = outcome_codes(adm) == OUTCOMES.index("vocational")
    groups = _groups(sc, adm, table, ["school_id", "region_id"])
    if groups is not None:
        flat, at, size = groups
        table["confirmed"] = np.bincount(flat[vocational & (flat >= 0)], minlength=size)[at].astype(np.int64)
    else:  # a sub-quota of an unknown school or region (a scenario built in code): by the texts
        counts = adm[vocational].groupby(["school_id", "region_id"]).size()
        keys = pd.MultiIndex.from_frame(table[["school_id", "region_id"]]) if len(table) else None
        table["confirmed"] = counts.reindex(keys, fill_value=0).to_numpy() if keys is not None else []
    table["vacancies"] = table["quota"] - table["confirmed"]
    return table


def regions_table(sc: Scenario, result: Result) -> pd.DataFrame:
    reg = sc.regions
    adm = result.admissions
    table = reg[["region_id", "name", "kind", "graduates", "general_seats", "general_cutoff"]].copy()
    groups = _groups(sc, adm, reg, ["region_id"])
    if groups is None:  # cannot be: the keys are the regions themselves
        raise ValueError("regions_table: a region the scenario lacks")
    flat, at, size = groups
    kinds = len(OUTCOMES) + 1  # column 0: an outcome that is none of them
    known = flat >= 0
    counts = np.bincount(flat[known] * kinds + outcome_codes(adm)[known] + 1,
                         minlength=size * kinds).reshape(size, kinds)[at]
    table["students"] = counts.sum(axis=1)
    for i, o in enumerate(OUTCOMES):
        table[o] = counts[:, i + 1]
    g, v = table["general"].to_numpy(), table["vocational"].to_numpy()
    grads = table["graduates"].to_numpy(dtype=float, na_value=np.nan)
    table["general_vocational_ratio"] = [_ratio_text(a, b) for a, b in zip(g, v)]
    table["vocational_per_general"] = share(v, g)
    table["vocational_share"] = share(v, g + v)
    table["enrollment_rate"] = share(g + v, grads)
    return table


class Totals(TypedDict):
    """The 合计 of the regions table: students by outcome (R12), graduates, 普职比, shares."""

    general: int
    vocational: int
    unplaced: int
    ineligible: int
    none: int
    students: int
    graduates: int
    general_vocational_ratio: str
    vocational_share: float | None  # None without general or vocational students
    enrollment_rate: float | None  # None without graduates


def totals(regions: pd.DataFrame) -> Totals:
    counts = {o: int(regions[o].sum()) for o in OUTCOMES}
    g, v = counts["general"], counts["vocational"]
    grads = int(regions["graduates"].sum())
    return {
        "general": g, "vocational": v, "unplaced": counts["unplaced"], "ineligible": counts["ineligible"],
        "none": counts["none"],
        "students": int(regions["students"].sum()),
        "graduates": grads,
        "general_vocational_ratio": _ratio_text(g, v),
        "vocational_share": round(v / (g + v), 4) if g + v else None,
        "enrollment_rate": round((g + v) / grads, 4) if grads else None,
    }


def progress_table(regions: pd.DataFrame) -> pd.DataFrame:
    """JZ 附件2: one row per region (单位) and a 合计 row, with the A2 headers."""
    rows = pd.DataFrame({
        PROGRESS_HEADERS[0]: regions["name"].to_numpy(),
        PROGRESS_HEADERS[1]: regions["graduates"].to_numpy(dtype=float, na_value=np.nan),
        PROGRESS_HEADERS[2]: (regions["general"] + regions["vocational"]).to_numpy(),
        PROGRESS_HEADERS[3]: regions["general"].to_numpy(),
        PROGRESS_HEADERS[4]: regions["vocational"].to_numpy(),
    })
    total = {PROGRESS_HEADERS[0]: "合计", **{h: rows[h].sum() for h in PROGRESS_HEADERS[1:5]}}
    rows = pd.concat([rows, pd.DataFrame([total])], ignore_index=True)
    rows[PROGRESS_HEADERS[5]] = [_ratio_text(a, b)
                                 for a, b in zip(rows[PROGRESS_HEADERS[3]], rows[PROGRESS_HEADERS[4]])]
    rows[PROGRESS_HEADERS[6]] = share(rows[PROGRESS_HEADERS[2]], rows[PROGRESS_HEADERS[1]])
    for h in PROGRESS_HEADERS[1:5]:
        rows[h] = rows[h].astype("Int64")
    return rows
