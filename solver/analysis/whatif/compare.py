"""A what-if run and compared: the baseline and the changed scenario through the sequential engine, side by
side per region (general, vocational, unplaced, 普职比, enrollment rate), per school (quota, confirmed,
vacancies, fill) and per school and batch (confirmed, vacancies after the batch, the lowest admitted
score), and the students whose outcome changed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from models.columns import codes_of, text
from models.scenario import Scenario
from solver.analysis.whatif.apply import AppliedChange, apply_changes
from solver.analysis.whatif.changes import Changes
from solver.engine import figures
from solver.progress import Progress
from solver.run import RunOutput, run

COMPARED = ("outcome", "school_id", "batch", "choice_rank")
TotalKey = Literal["general", "vocational", "unplaced", "general_vocational_ratio", "vocational_share",
                   "enrollment_rate"]
TOTAL_KEYS: tuple[TotalKey, ...] = get_args(TotalKey)  # the figures of the 合计 a what-if compares


@dataclass
class WhatIfReport:
    scenario: str
    changes: list[AppliedChange]
    baseline: RunOutput
    variant: RunOutput
    regions: pd.DataFrame  # per region (and 合计): baseline, variant, change
    schools: pd.DataFrame  # per school
    schools_by_batch: pd.DataFrame  # per school and batch
    changed: pd.DataFrame  # the students whose outcome changed, both outcomes
    seed: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def total_rows(self) -> dict[str, dict[str, int | float | str | None]]:
        """Per figure of the 合计 (`TOTAL_KEYS`): baseline, variant and, but for the 普职比 text, the change."""
        base, var = figures.totals(self.baseline.regions), figures.totals(self.variant.regions)
        rows: dict[str, dict[str, int | float | str | None]] = {}
        for k in TOTAL_KEYS:
            b, v = base[k], var[k]
            rows[k] = {"baseline": b, "variant": v, **({"change": _diff(v, b)} if not isinstance(b, str) else {})}
        return rows

    def vacancies(self) -> dict[str, int]:
        return {"baseline": int(self.baseline.schools["vacancies"].sum()),
                "variant": int(self.variant.schools["vacancies"].sum())}

    def changed_by_kind(self) -> dict[str, int]:
        """How many students changed, per kind of change (placed, lost, moved, reordered, other)."""
        return {str(k): int(v) for k, v in self.changed["change"].value_counts().items()}

    def summary(self) -> dict[str, object]:
        return {
            "status": "done",
            "scenario": self.scenario,
            "changes": [c.as_dict() for c in self.changes],
            "seed": self.seed,
            "totals": self.total_rows(),
            "vacancies": self.vacancies(),
            "changed_students": len(self.changed),
            "changed_by_kind": self.changed_by_kind(),
            "timings": self.timings,
        }


def _diff(a: int | float | str | None, b: int | float | str | None) -> int | float | None:
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):  # None: a figure without a value
        return None
    return round(a - b, 4) if isinstance(a, float) or isinstance(b, float) else a - b


def whatif(sc: Scenario, changes: Changes, seed: int = 0, progress: Progress | None = None,
           baseline: RunOutput | None = None) -> WhatIfReport:
    """Run ``sc`` and ``sc`` with ``changes`` (``KEY=VALUE`` strings, a mapping or parsed `Change` s) with
    the sequential engine and compare them.  ``baseline``: a run of ``sc`` already at hand."""
    t0 = time.perf_counter()
    steps = 4
    say = progress or (lambda *_: None)
    say("applying the changes", 0, steps)
    variant_sc, applied = apply_changes(sc, changes, seed=seed)
    t1 = time.perf_counter()
    say("running the baseline", 1, steps)
    base = baseline if baseline is not None else run(sc, engine="sequential")
    t2 = time.perf_counter()
    say("running the variant", 2, steps)
    var = run(variant_sc, engine="sequential")
    t3 = time.perf_counter()
    say("comparing", 3, steps)
    report = WhatIfReport(
        scenario=sc.name, changes=applied, baseline=base, variant=var,
        regions=compare_regions(base, var), schools=compare_schools(base, var),
        schools_by_batch=compare_schools_by_batch(base, var), changed=changed_students(base, var), seed=seed)
    t4 = time.perf_counter()
    report.timings = {"apply": round(t1 - t0, 4), "baseline": round(t2 - t1, 4), "variant": round(t3 - t2, 4),
                      "compare": round(t4 - t3, 4)}
    say("compared", 4, steps)
    return report


def _side_by_side(keys: pd.DataFrame, base: pd.DataFrame, var: pd.DataFrame, metrics: list[str],
                  text_metrics: tuple[str, ...] = ()) -> pd.DataFrame:
    out = keys.reset_index(drop=True).copy()
    for m in metrics:
        b, v = base[m].reset_index(drop=True), var[m].reset_index(drop=True)
        out[f"{m}_baseline"] = b
        out[f"{m}_variant"] = v
        if m in text_metrics:
            continue
        if pd.api.types.is_integer_dtype(b.dtype) and pd.api.types.is_integer_dtype(v.dtype):
            out[f"{m}_change"] = v.astype("Int64") - b.astype("Int64")
        else:
            out[f"{m}_change"] = (v.astype(float) - b.astype(float)).round(4)
    return out


def compare_regions(base: RunOutput, var: RunOutput) -> pd.DataFrame:
    """Per region (by the students' 学籍所在地) and 合计: general, vocational, unplaced, 普职比, vocational
    share and enrollment rate, baseline and variant and the change (JZ §一, HY §六.三)."""
    metrics = ["general_seats", "general_cutoff", "general", "vocational", "unplaced", "general_vocational_ratio",
               "vocational_per_general", "vocational_share", "enrollment_rate"]
    b, v = (_regions_with_total(out) for out in (base, var))
    table = _side_by_side(b[["region_id", "name", "graduates"]], b, v, metrics,
                          text_metrics=("general_vocational_ratio",))
    return table.drop(columns=["general_seats_change", "general_cutoff_change"])


def _regions_with_total(out: RunOutput) -> pd.DataFrame:
    """The regions of one run with their 合计 row."""
    t = figures.totals(out.regions)
    g, v = t["general"], t["vocational"]
    total = {"region_id": "", "name": "合计", "graduates": t["graduates"],
             "general_seats": out.regions["general_seats"].sum(skipna=True)
             if out.regions["general_seats"].notna().any() else np.nan,
             "general_cutoff": np.nan, "general": g, "vocational": v, "unplaced": t["unplaced"],
             "general_vocational_ratio": t["general_vocational_ratio"],
             "vocational_per_general": round(v / g, 4) if g else np.nan,
             "vocational_share": t["vocational_share"] if t["vocational_share"] is not None else np.nan,
             "enrollment_rate": t["enrollment_rate"] if t["enrollment_rate"] is not None else np.nan}
    frame = out.regions[list(total)].copy()
    for col in ("general_seats", "general_cutoff", "graduates"):
        frame[col] = frame[col].astype(float)
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def compare_schools(base: RunOutput, var: RunOutput) -> pd.DataFrame:
    """Per school: registered, quota, applicants, offers, confirmed, vacancies, fill rate, both runs."""
    metrics = ["registered", "quota", "applicants", "offers", "confirmed", "vacancies", "fill_rate"]
    b, v = base.schools, var.schools
    return _side_by_side(b[["school_id", "name", "kind", "region_id"]], b, v, metrics, text_metrics=("registered",))


def _per_batch(out: RunOutput) -> pd.DataFrame:
    """Per school and batch: confirmed in the batch, vacancies and fill after it, the lowest admitted score."""
    sc = out.scenario
    s = out.schools
    adm = out.result.admissions
    voc = adm[adm["outcome"] == "vocational"]
    S = len(s)
    codes = codes_of(voc["school_id"], s["school_id"])
    batch = voc["batch"].to_numpy(dtype=np.int64)
    quota = s["quota"].to_numpy(dtype=np.int64)
    frames, cumulative = [], np.zeros(S, dtype=np.int64)
    for b in sc.settings.batches:
        confirmed = np.bincount(codes[batch == b.id], minlength=S)
        cumulative = cumulative + confirmed
        cut_cols = [c for c in (f"cutoff_b{b.id}_r{k}" for k in range(1, sc.settings.max_choices + 1)) if c in s]
        cutoff = s[cut_cols].min(axis=1, skipna=True).to_numpy(dtype=float) if cut_cols else np.full(S, np.nan)
        fill = figures.share(cumulative, quota)
        frames.append(pd.DataFrame({
            "school_id": s["school_id"].to_numpy(), "name": s["name"].to_numpy(), "batch": b.id,
            "quota": quota, "confirmed": confirmed, "vacancies": quota - cumulative, "fill_rate": fill,
            "cutoff": cutoff, "order": np.arange(S)}))
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["order", "batch"], kind="stable").drop(columns="order").reset_index(drop=True)


def compare_schools_by_batch(base: RunOutput, var: RunOutput) -> pd.DataFrame:
    """Per school and batch: confirmed in the batch, vacancies and fill rate after it, and the cutoff (the
    lowest score among the batch's offers), baseline and variant and the change."""
    b, v = _per_batch(base), _per_batch(var)
    table = _side_by_side(b[["school_id", "name", "batch"]], b, v,
                          ["quota", "confirmed", "vacancies", "fill_rate", "cutoff"])
    table["school_id"] = text(table["school_id"])
    table["name"] = text(table["name"])
    return table


def changed_students(base: RunOutput, var: RunOutput) -> pd.DataFrame:
    """The students whose outcome, school, batch or choice rank differs, with both and a word for the
    kind of change: placed (now vocational), lost (no longer vocational), moved (another school),
    reordered (same school, another batch or choice), other (e.g. general and unplaced)."""
    a, b = base.result.admissions, var.result.admissions
    differ = np.zeros(len(a), dtype=bool)
    for c in COMPARED:
        x = a[c].astype(object).where(a[c].notna(), None).to_numpy()
        y = b[c].astype(object).where(b[c].notna(), None).to_numpy()
        differ |= x != y
    rows = np.flatnonzero(differ)
    sa, sb = a.iloc[rows].reset_index(drop=True), b.iloc[rows].reset_index(drop=True)
    out = pd.DataFrame({"student_id": sa["student_id"], "region_id": sa["region_id"],
                        "score": base.scenario.students["score"].to_numpy()[rows]})
    for c in COMPARED:
        out[f"{c}_baseline"] = sa[c]
    for c in COMPARED:
        out[f"{c}_variant"] = sb[c]
    was, now = (sa["outcome"] == "vocational").to_numpy(), (sb["outcome"] == "vocational").to_numpy()
    same_school = (sa["school_id"] == sb["school_id"]).to_numpy()
    kind = np.select([~was & now, was & ~now, was & now & ~same_school, was & now & same_school],
                     ["placed", "lost", "moved", "reordered"], "other")
    out["change"] = text(kind)
    names = dict(zip(base.scenario.schools["school_id"], base.scenario.schools["name"]))
    out["school_name_baseline"] = text(sa["school_id"].map(names).fillna(""))
    out["school_name_variant"] = text(sb["school_id"].map(names).fillna(""))
    return out
