"""Applying the changes of a what-if to a scenario: each change sets a figure of the regions, schools,
sub-quotas or declines (a count rounded half up, never negative; a new decline rate drawn seeded), and
the changed scenario is rebuilt through the validation of any input (`solver.analysis.whatif.validation.rebuild`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.columns import member, text
from models.problems import Problem
from models.scenario import Scenario
from solver.analysis.whatif.changes import SOURCE, BadChange, Change, ChangeError, Changes, are_parsed, parse_changes
from solver.analysis.whatif.validation import rebuild


@dataclass(frozen=True)
class AppliedChange:
    key: str
    value: str
    before: str
    after: str
    rule: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass
class _Draft:
    """The tables of a scenario as the changes leave them, one change after the other."""

    sc: Scenario
    seed: int
    regions: pd.DataFrame
    schools: pd.DataFrame
    subquotas: pd.DataFrame
    declines: pd.DataFrame


def apply_changes(sc: Scenario, changes: Changes, seed: int = 0) -> tuple[Scenario, list[AppliedChange]]:
    """The changed scenario, validated like input, and what each change did (before, after)."""
    parsed = changes if are_parsed(changes) else parse_changes(sc, changes)
    draft = _Draft(sc, seed, sc.regions.copy(), sc.schools.copy(), sc.subquotas.copy(), sc.declines)
    applied: list[AppliedChange] = []
    problems: list[Problem] = []
    for c in parsed:
        try:
            applied.append(_APPLY[c.kind](draft, c))
        except BadChange as bad:
            problems.append(Problem(SOURCE, c.position, c.key, c.value, bad.rule, bad.message))
        except ValueError as exc:
            problems.append(Problem(SOURCE, c.position, c.key, c.value, c.rule, f"{c.key}: {exc}"))
    if problems:
        raise ChangeError(problems)
    kinds = {c.kind for c in parsed}
    return rebuild(sc, parsed,
                   regions=draft.regions if kinds & {"general_seats", "general_cutoff"} else None,
                   schools=draft.schools if kinds & {"quota", "registered"} else None,
                   subquotas=draft.subquotas if "subquota" in kinds else None,
                   declines=draft.declines if "decline_rate" in kinds else None), applied


def _quota(d: _Draft, c: Change) -> AppliedChange:
    j = _row(d.schools, "school_id", c.target[0])
    before = int(d.schools["quota"].iloc[j])
    after = _count(c, before)
    d.schools.at[j, "quota"] = after
    return AppliedChange(c.key, c.value, str(before), str(after), c.rule)


def _registered(d: _Draft, c: Change) -> AppliedChange:
    j = _row(d.schools, "school_id", c.target[0])
    before = bool(d.schools["registered"].iloc[j])
    d.schools.at[j, "registered"] = bool(c.flag)
    return AppliedChange(c.key, c.value, _flag(before), _flag(bool(c.flag)), c.rule)


def _subquota(d: _Draft, c: Change) -> AppliedChange:
    d.subquotas, before, after = _subquota_changed(d.subquotas, c)
    return AppliedChange(c.key, c.value, before, after, c.rule)


def _general(d: _Draft, c: Change) -> AppliedChange:
    """R4: a region's general seats or cutoff; the region then uses the figure given, the other is dropped."""
    stage = d.sc.settings.general_stage
    if stage == "none":
        raise BadChange(c.rule, "the scenario has no general stage (general_stage: none), so general seats "
                                "and cutoffs are not used")
    regions = d.regions
    r = _row(regions, "region_id", c.target[0])
    before = _general_text(regions, r, stage)
    value = regions[c.kind].iloc[r]
    current = None if pd.isna(value) else float(value)
    if current is None and c.mode != "set":
        raise BadChange(c.rule, f"region {c.target[0]} gives no {c.kind} ({before}) to change by {c.value}; "
                                "give an absolute value")
    if c.kind == "general_seats":
        regions.at[r, "general_seats"] = _count(c, None if current is None else int(current))
        regions.at[r, "general_cutoff"] = pd.NA
    else:
        regions.at[r, "general_cutoff"] = c.new_value(current)
        regions.at[r, "general_seats"] = pd.NA
    return AppliedChange(c.key, c.value, before, _general_text(regions, r, stage), c.rule)


def _decline_rate(d: _Draft, c: Change) -> AppliedChange:
    d.declines, before, after = _declines_at_rate(d.sc, d.declines, c, d.seed)
    return AppliedChange(c.key, c.value, before, after, c.rule)


_APPLY: dict[str, Callable[[_Draft, Change], AppliedChange]] = {
    "quota": _quota, "registered": _registered, "subquota": _subquota, "general_seats": _general,
    "general_cutoff": _general, "decline_rate": _decline_rate}


def _row(frame: pd.DataFrame, column: str, ident: str) -> int:
    return int(np.flatnonzero((frame[column] == ident).to_numpy())[0])


def _count(c: Change, current: int | None) -> int:
    value = c.new_value(None if current is None else float(current))
    value = math.floor(value + 0.5)  # counts are rounded half up
    if value < 0:
        raise BadChange(c.rule, f"{c.key} would be {value}: a number of seats is never negative")
    return int(value)


def _flag(v: bool) -> str:
    return "true" if v else "false"


def _general_text(regions: pd.DataFrame, r: int, stage: str) -> str:
    seats, cutoff = regions["general_seats"].iloc[r], regions["general_cutoff"].iloc[r]
    has_seats, has_cutoff = not pd.isna(seats), not pd.isna(cutoff)
    if has_cutoff and (not has_seats or stage == "cutoff"):
        return f"general_cutoff {float(cutoff):g}"
    if has_seats:
        return f"general_seats {int(seats)}"
    return "none"


def _subquota_changed(subquotas: pd.DataFrame, c: Change) -> tuple[pd.DataFrame, str, str]:
    school, region = c.target
    here = ((subquotas["school_id"] == school) & (subquotas["region_id"] == region)).to_numpy()
    current = int(subquotas.loc[here, "quota"].iloc[0]) if here.any() else None
    before = "none" if current is None else str(current)
    if c.mode == "remove":
        if current is None:
            raise BadChange(c.rule, f"{school} has no sub-quota for {region} to remove")
        return subquotas[~here].reset_index(drop=True), before, "none"
    if current is None and c.mode != "set":
        raise BadChange(c.rule, f"{school} has no sub-quota for {region} to change by {c.value}; "
                                "give an absolute value")
    after = _count(c, current)
    if current is None:
        row = pd.DataFrame({"school_id": text([school]), "region_id": text([region]),
                            "quota": np.array([after], dtype=np.int64)})
        subquotas = pd.concat([subquotas, row], ignore_index=True)
    else:
        subquotas = subquotas.copy()
        subquotas.loc[here, "quota"] = after
    return subquotas, before, str(after)


def decline_rate(sc: Scenario, declines: pd.DataFrame | None = None) -> float:
    """Share of the students who decline an offer in some batch (R9), as `scenarios.generator` draws it."""
    declines = sc.declines if declines is None else declines
    n = len(sc.students)
    return declines["student_id"].nunique() / n if n else 0.0


def _declines_at_rate(sc: Scenario, declines: pd.DataFrame, c: Change, seed: int) -> tuple[pd.DataFrame, str, str]:
    """R9: the declines table at a new rate, as close to the current one as possible and seeded: at a lower
    rate a random part of the declining students is kept; at a higher one students who filed a choice are
    added, weaker ones more likely (as `scenarios.generator` draws them), each in a batch drawn from the
    batches of the current declines (batch 1 when there are none: HY §九.1, the first confirmation)."""
    st = sc.students
    n = len(st)
    current_rate = decline_rate(sc, declines)
    rate = c.new_value(current_rate)
    if not 0 <= rate <= 1:
        raise BadChange(c.rule, f"{c.key} would be {rate:.4g}: a rate is between 0 and 1")
    target = math.floor(rate * n + 0.5)
    declining = member(st["student_id"], declines["student_id"])
    current = int(declining.sum())
    rng = np.random.default_rng(seed)
    if target < current:
        keep = rng.choice(np.flatnonzero(declining), size=target, replace=False)
        declines = declines[member(declines["student_id"], st["student_id"].iloc[np.sort(keep)])]
    elif target > current:
        declines = pd.concat([declines, _more_declines(sc, declining, target - current, rng, declines, c)],
                             ignore_index=True)
    declines = declines.reset_index(drop=True)
    return declines, f"{current_rate:.4f} ({current:,} students)", f"{target / n if n else 0:.4f} ({target:,} students)"


def _more_declines(sc: Scenario, declining: np.ndarray, need: int, rng: np.random.Generator,
                   declines: pd.DataFrame, c: Change) -> pd.DataFrame:
    """``need`` more declining students among those who filed a choice, weaker ones more likely, each in a
    batch drawn from the batches of the current ``declines``."""
    st = sc.students
    filed = np.zeros(len(st), dtype=bool)
    for list_name in sc.settings.choice_lists:
        for col in sc.choice_columns(list_name):
            filed |= (st[col] != "").to_numpy()
    candidates = np.flatnonzero(filed & ~declining)
    if need > len(candidates):
        current = int(declining.sum())
        raise BadChange(c.rule, f"{c.key} asks for {current + need:,} declining students, but only "
                                f"{current + len(candidates):,} students filed a choice")
    score = st["score"].to_numpy(dtype=float)
    weakness = 1.0 - pd.Series(score).rank(pct=True).to_numpy()  # 1 = weakest
    w = weakness[candidates] + 1e-6
    chosen = np.sort(rng.choice(candidates, size=need, replace=False, p=w / w.sum()))
    counts = declines["batch"].value_counts().sort_index()
    ids = counts.index.to_numpy(dtype=np.int64) if len(counts) else np.array([sc.settings.batches[0].id])
    shares = counts.to_numpy(dtype=float) / counts.sum() if len(counts) else np.array([1.0])
    batch = ids[rng.choice(len(ids), size=need, p=shares)]
    return pd.DataFrame({"student_id": st["student_id"].iloc[chosen].reset_index(drop=True),
                         "batch": batch.astype(np.int64)})
