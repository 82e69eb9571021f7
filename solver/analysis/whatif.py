"""What-if (issue #6.1): change a few figures of a plan, run the rules again, and show both side by side.

A change is ``KEY=VALUE``:

==============================  ============================================================  =====
key                             what it changes                                               rule
==============================  ============================================================  =====
``quota.SCHOOL``                the school's quota (招生计划)                                  R7
``subquota.SCHOOL.REGION``      the region's sub-quota at the school (``none`` removes it)     R8
``general_seats.REGION``        the region's general high school seats (the region then uses   R4
                                seats, its cutoff is dropped)
``general_cutoff.REGION``       the region's general high school cutoff (its seats dropped)    R4
``registered.SCHOOL``           the school is in the catalogue or not (``true`` / ``false``)   R2
``decline_rate``                share of students who decline an offer in some batch (seeded)  R9
==============================  ============================================================  =====

A value is absolute (``520``, ``0.03``, ``3%`` for a rate) or relative to the current one: ``+10%``,
``-15%`` (a percentage of it) or ``+20`` / ``-20`` (added).  Counts are rounded half up.  Schools and
regions are named by id or by their (unique) name, as in the scenario's cells.

The changed scenario is written back to text tables and goes through the same validation as any input
(`models.validate.build_scenario`), so a change that makes it invalid (sub-quotas above the quota, R8)
is reported like bad input, with the key that caused it (`ChangeError`, a `ScenarioError`).

``whatif(sc, changes)`` runs the baseline and the variant with the sequential engine and compares them:
per region (general, vocational, unplaced, 普职比, enrollment rate), per school (quota, confirmed,
vacancies, fill) and per school and batch (confirmed, vacancies after the batch, the lowest admitted
score), and the students whose outcome changed.  ``write_whatif(report, out_dir)`` writes
``baseline/`` and ``variant/`` (every result file of docs/formats.md), ``changes.csv``, the comparison
tables, ``whatif.xlsx`` and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.columns import codes_of, from_arrow, member, text
from models.headers import FALSE_WORDS, TRUE_WORDS
from models.problems import Problem, ProblemLog, ScenarioError
from models.readers import RawScenario, RawTable
from models.results import display_name, write_csv, write_json
from models.scenario import Scenario
from models.validate import build_scenario
from models.workbooks import (
    COUNT,
    OUTCOME_LABELS,
    PERCENT,
    REGION,
    SCHOOL,
    Book,
    bold_cell,
    cell,
    labels,
    zh_header,
)
from models.writers import scenario_tables, settings_dict
from solver.engine import figures
from solver.run import RunOutput, run, write_outputs

Progress = Callable[[str, int, int], None]

KINDS = {  # kind -> (targets, rule id, what it is)
    "quota": (("school",), "R7", "a school's quota (招生计划)"),
    "subquota": (("school", "region"), "R8", "a region's sub-quota at a school"),
    "general_seats": (("region",), "R4", "a region's general high school seats (普高计划)"),
    "general_cutoff": (("region",), "R4", "a region's general high school cutoff (普高最低录取控制分数线)"),
    "registered": (("school",), "R2", "a school in the catalogue (备案) or not"),
    "decline_rate": ((), "R9", "the share of students who decline an offer (seeded)"),
}
SOURCE = "--set"  # the "file" a problem with a change is reported under
COMPARED = ("outcome", "school_id", "batch", "choice_rank")
WHATIF_FILES = ("changes.csv", "regions_compare.csv", "schools_compare.csv", "schools_by_batch_compare.csv",
                "whatif.xlsx", "summary.json")
XLSX_ROWS = 100_000  # rows of the changed-students sheet; changes.csv holds every row

_NUMBER = re.compile(r"^(?P<sign>[+-])?(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<percent>%)?$")
_REMOVE_WORDS = {"none", "remove", "delete", "无", "删除"}


class ChangeError(ScenarioError):
    """Bad changes: each problem names the key (``column``) and the value as written."""


@dataclass(frozen=True)
class Change:
    """One parsed ``KEY=VALUE``; ``target`` holds resolved ids (school, region)."""

    key: str
    kind: str
    target: tuple[str, ...]
    value: str  # as written
    mode: str  # "set", "add", "percent", "remove" or "flag"
    number: float | None = None
    flag: bool | None = None
    position: int = 1  # 1-based place among the changes, reported as the problem's row

    @property
    def rule(self) -> str:
        return KINDS[self.kind][1]

    def new_value(self, current: float | None) -> float:
        """The value after the change, given the current one (None when there is none)."""
        if self.mode == "set":
            return float(self.number)
        if current is None or (isinstance(current, float) and math.isnan(current)):
            raise ValueError("there is no current value to change relatively; give an absolute value")
        if self.mode == "add":
            return current + self.number
        return current * (1 + self.number / 100)


@dataclass(frozen=True)
class AppliedChange:
    key: str
    value: str
    before: str
    after: str
    rule: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


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
    timings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        base, var = figures.totals(self.baseline.regions), figures.totals(self.variant.regions)
        keys = ("general", "vocational", "unplaced", "general_vocational_ratio", "vocational_share",
                "enrollment_rate")
        kinds = self.changed["change"].value_counts()
        return {
            "status": "done",
            "scenario": self.scenario,
            "changes": [c.as_dict() for c in self.changes],
            "seed": self.seed,
            "totals": {k: {"baseline": base[k], "variant": var[k],
                           **({"change": _diff(var[k], base[k])} if not isinstance(base[k], str) else {})}
                       for k in keys},
            "vacancies": {"baseline": int(self.baseline.schools["vacancies"].sum()),
                          "variant": int(self.variant.schools["vacancies"].sum())},
            "changed_students": len(self.changed),
            "changed_by_kind": {str(k): int(v) for k, v in kinds.items()},
            "timings": self.timings,
        }


def _diff(a, b):
    if a is None or b is None:
        return None
    return round(a - b, 4) if isinstance(a, float) or isinstance(b, float) else a - b


# Parsing -----------------------------------------------------------------------------------------------

def parse_changes(sc: Scenario, items: Iterable[str] | Mapping[str, object]) -> list[Change]:
    """``KEY=VALUE`` strings (or a ``{key: value}`` mapping) as typed changes against ``sc``; every bad
    key or value is reported at once (`ChangeError`), each naming its key."""
    pairs: list[tuple[str, str]] = []
    problems: list[Problem] = []
    if isinstance(items, Mapping):
        pairs = [(str(k).strip(), _value_text(v)) for k, v in items.items()]
    else:
        for i, item in enumerate(items, start=1):
            key, eq, value = str(item).partition("=")
            if not eq or not key.strip():
                problems.append(Problem(SOURCE, i, (key.strip() or None) if eq else None, str(item), "FORMATS",
                                        "a change is KEY=VALUE, e.g. quota.S03=520 or quota.S03=+10%"))
                pairs.append(("", ""))
                continue
            pairs.append((key.strip(), value.strip()))
    lookups = _Lookups(sc)
    changes, seen = [], {}
    for i, (key, value) in enumerate(pairs, start=1):
        if not key:
            continue
        try:
            change = _parse_one(key, value, i, lookups)
        except _Bad as bad:
            problems.append(Problem(SOURCE, i, key, value, bad.rule, bad.message))
            continue
        canonical = (change.kind, change.target)
        if canonical in seen:
            problems.append(Problem(SOURCE, i, key, value, change.rule,
                                    f"{key} changes what {seen[canonical]} already changes; give each key once"))
            continue
        seen[canonical] = key
        changes.append(change)
    if problems:
        raise ChangeError(sorted(problems, key=lambda p: p.row or 0))
    return changes


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v).strip()


class _Bad(Exception):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule, self.message = rule, message


class _Lookups:
    """Ids and unique names of schools and regions, as the loader accepts them in cells."""

    def __init__(self, sc: Scenario):
        self.school = self._lookup(sc.schools["school_id"], sc.schools["name"])
        self.region = self._lookup(sc.regions["region_id"], sc.regions["name"])

    @staticmethod
    def _lookup(ids: pd.Series, names: pd.Series) -> dict[str, str]:
        out = {str(i): str(i) for i in ids}
        counts = names.value_counts()
        for i, n in zip(ids, names):
            if n and n not in out and counts[n] == 1:
                out[str(n)] = str(i)
        return out


def _parse_one(key: str, value: str, position: int, lookups: _Lookups) -> Change:
    kind, _, rest = key.partition(".")
    if kind not in KINDS:
        known = ", ".join(f"{k}.SCHOOL" if t == ("school",) else f"{k}.REGION" if t == ("region",)
                          else f"{k}.SCHOOL.REGION" if t else k for k, (t, _, _) in KINDS.items())
        raise _Bad("FORMATS", f"unknown key {key!r}; keys: {known}")
    targets, rule, _ = KINDS[kind]
    target = _targets(kind, targets, rest, lookups, rule)
    if value == "":
        raise _Bad(rule, f"{key} has no value")
    if kind == "registered":
        word = value.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise _Bad(rule, f"{key} must be true or false (是/否)")
        return Change(key, kind, target, value, "flag", flag=word in TRUE_WORDS, position=position)
    if kind == "subquota" and value.lower() in _REMOVE_WORDS:
        return Change(key, kind, target, value, "remove", position=position)
    m = _NUMBER.match(value.replace(" ", ""))
    if not m:
        extra = " or none (to remove the sub-quota)" if kind == "subquota" else ""
        raise _Bad(rule, f"{key}: {value!r} is not a number, +N%, -N%, +N or -N{extra}")
    number = float(m["number"])
    if m["sign"] and m["percent"]:
        mode, number = "percent", (number if m["sign"] == "+" else -number)
    elif m["sign"]:
        mode, number = "add", (number if m["sign"] == "+" else -number)
    elif m["percent"]:
        if kind != "decline_rate":
            raise _Bad(rule, f"{key}: write +{m['number']}% or -{m['number']}% for a change relative to the "
                             "current value")
        mode, number = "set", number / 100
    else:
        mode = "set"
    if kind in ("quota", "subquota", "general_seats") and mode in ("set", "add") and number != int(number):
        raise _Bad(rule, f"{key} must be a whole number of seats")
    if kind == "decline_rate" and mode == "set" and not 0 <= number <= 1:
        raise _Bad(rule, f"{key} must be a share between 0 and 1 (or 0% to 100%)")
    return Change(key, kind, target, value, mode, number=number, position=position)


def _targets(kind: str, targets: tuple, rest: str, lookups: _Lookups, rule: str) -> tuple[str, ...]:
    if not targets:
        if rest:
            raise _Bad("FORMATS", f"{kind} takes no school or region: write {kind}=VALUE")
        return ()
    if not rest:
        raise _Bad("FORMATS", f"{kind} needs a {'.'.join(t.upper() for t in targets)} after the dot")
    if targets == ("school",):
        return (_resolve(rest, lookups.school, "school", rule),)
    if targets == ("region",):
        return (_resolve(rest, lookups.region, "region", rule),)
    parts = rest.split(".")  # ids may hold dots: try every split into a known school and a known region
    for cut in range(1, len(parts)):
        school, region = ".".join(parts[:cut]), ".".join(parts[cut:])
        if school in lookups.school and region in lookups.region:
            return lookups.school[school], lookups.region[region]
    if len(parts) < 2:
        raise _Bad("FORMATS", f"{kind} needs SCHOOL.REGION, e.g. {kind}.S01.R02")
    school, region = parts[0], ".".join(parts[1:])
    _resolve(school, lookups.school, "school", rule)
    _resolve(region, lookups.region, "region", rule)
    raise _Bad(rule, f"no school and region named by {rest!r}")


def _resolve(name: str, lookup: dict[str, str], what: str, rule: str) -> str:
    if name in lookup:
        return lookup[name]
    raise _Bad(rule, f"unknown {what} {name!r}")


# Applying -------------------------------------------------------------------------------------------------

def apply_changes(sc: Scenario, changes: list[Change] | Iterable[str] | Mapping[str, object],
                  seed: int = 0) -> tuple[Scenario, list[AppliedChange]]:
    """The changed scenario, validated like input, and what each change did (before, after)."""
    if not (isinstance(changes, list) and all(isinstance(c, Change) for c in changes)):
        changes = parse_changes(sc, changes)
    regions = sc.regions.copy()
    schools = sc.schools.copy()
    subquotas = sc.subquotas.copy()
    declines = sc.declines
    applied: list[AppliedChange] = []
    problems: list[Problem] = []
    stage = sc.settings.general_stage
    for c in changes:
        try:
            if c.kind == "quota":
                j = _row(schools, "school_id", c.target[0])
                before = int(schools.at[j, "quota"])
                after = _count(c, before)
                schools.at[j, "quota"] = after
                applied.append(AppliedChange(c.key, c.value, str(before), str(after), c.rule))
            elif c.kind == "registered":
                j = _row(schools, "school_id", c.target[0])
                before = bool(schools.at[j, "registered"])
                schools.at[j, "registered"] = bool(c.flag)
                applied.append(AppliedChange(c.key, c.value, _flag(before), _flag(bool(c.flag)), c.rule))
            elif c.kind == "subquota":
                subquotas, before, after = _subquota(subquotas, c)
                applied.append(AppliedChange(c.key, c.value, before, after, c.rule))
            elif c.kind in ("general_seats", "general_cutoff"):
                if stage == "none":
                    raise _Bad(c.rule, "the scenario has no general stage (general_stage: none), so general seats "
                                       "and cutoffs are not used")
                r = _row(regions, "region_id", c.target[0])
                before = _general_text(regions, r, stage)
                current = None if pd.isna(regions.at[r, c.kind]) else float(regions.at[r, c.kind])
                if current is None and c.mode != "set":
                    raise _Bad(c.rule, f"region {c.target[0]} gives no {c.kind} ({before}) to change by {c.value}; "
                                       "give an absolute value")
                if c.kind == "general_seats":  # R4: a region uses what it gives, so drop the other figure
                    regions.at[r, "general_seats"] = _count(c, None if current is None else int(current))
                    regions.at[r, "general_cutoff"] = pd.NA
                else:
                    regions.at[r, "general_cutoff"] = c.new_value(current)
                    regions.at[r, "general_seats"] = pd.NA
                applied.append(AppliedChange(c.key, c.value, before, _general_text(regions, r, stage), c.rule))
            elif c.kind == "decline_rate":
                declines, before, after = _declines_at_rate(sc, declines, c, seed)
                applied.append(AppliedChange(c.key, c.value, before, after, c.rule))
        except _Bad as bad:
            problems.append(Problem(SOURCE, c.position, c.key, c.value, bad.rule, bad.message))
        except ValueError as exc:
            problems.append(Problem(SOURCE, c.position, c.key, c.value, c.rule, f"{c.key}: {exc}"))
    if problems:
        raise ChangeError(problems)
    kinds = {c.kind for c in changes}
    tables = {name: frame for name, frame, touched in (
        ("regions", regions, {"general_seats", "general_cutoff"}), ("schools", schools, {"quota", "registered"}),
        ("subquotas", subquotas, {"subquota"}), ("declines", declines, {"decline_rate"})) if kinds & touched}
    return rebuild(sc, changes, **tables), applied


def _row(frame: pd.DataFrame, column: str, ident: str) -> int:
    return int(np.flatnonzero((frame[column] == ident).to_numpy())[0])


def _count(c: Change, current: int | None) -> int:
    value = c.new_value(None if current is None else float(current))
    value = math.floor(value + 0.5)  # counts are rounded half up
    if value < 0:
        raise _Bad(c.rule, f"{c.key} would be {value}: a number of seats is never negative")
    return int(value)


def _flag(v: bool) -> str:
    return "true" if v else "false"


def _general_text(regions: pd.DataFrame, r: int, stage: str) -> str:
    seats, cutoff = regions.at[r, "general_seats"], regions.at[r, "general_cutoff"]
    has_seats, has_cutoff = not pd.isna(seats), not pd.isna(cutoff)
    if has_cutoff and (not has_seats or stage == "cutoff"):
        return f"general_cutoff {float(cutoff):g}"
    if has_seats:
        return f"general_seats {int(seats)}"
    return "none"


def _subquota(subquotas: pd.DataFrame, c: Change) -> tuple[pd.DataFrame, str, str]:
    school, region = c.target
    here = ((subquotas["school_id"] == school) & (subquotas["region_id"] == region)).to_numpy()
    current = int(subquotas.loc[here, "quota"].iloc[0]) if here.any() else None
    before = "none" if current is None else str(current)
    if c.mode == "remove":
        if current is None:
            raise _Bad(c.rule, f"{school} has no sub-quota for {region} to remove")
        return subquotas[~here].reset_index(drop=True), before, "none"
    if current is None and c.mode != "set":
        raise _Bad(c.rule, f"{school} has no sub-quota for {region} to change by {c.value}; give an absolute value")
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
        raise _Bad(c.rule, f"{c.key} would be {rate:.4g}: a rate is between 0 and 1")
    target = math.floor(rate * n + 0.5)
    declining = member(st["student_id"], declines["student_id"])
    current = int(declining.sum())
    rng = np.random.default_rng(seed)
    if target < current:
        keep = rng.choice(np.flatnonzero(declining), size=target, replace=False)
        declines = declines[member(declines["student_id"], st["student_id"].iloc[np.sort(keep)])]
    elif target > current:
        filed = np.zeros(n, dtype=bool)
        for list_name in sc.settings.choice_lists:
            for col in sc.choice_columns(list_name):
                filed |= (st[col] != "").to_numpy()
        candidates = np.flatnonzero(filed & ~declining)
        need = target - current
        if need > len(candidates):
            raise _Bad(c.rule, f"{c.key} asks for {target:,} declining students, but only "
                               f"{current + len(candidates):,} students filed a choice")
        score = st["score"].to_numpy(dtype=float)
        weakness = 1.0 - pd.Series(score).rank(pct=True).to_numpy()  # 1 = weakest
        w = weakness[candidates] + 1e-6
        chosen = np.sort(rng.choice(candidates, size=need, replace=False, p=w / w.sum()))
        counts = declines["batch"].value_counts().sort_index()
        ids = counts.index.to_numpy(dtype=np.int64) if len(counts) else np.array([sc.settings.batches[0].id])
        shares = counts.to_numpy(dtype=float) / counts.sum() if len(counts) else np.array([1.0])
        batch = ids[rng.choice(len(ids), size=need, p=shares)]
        added = pd.DataFrame({"student_id": st["student_id"].iloc[chosen].reset_index(drop=True),
                              "batch": batch.astype(np.int64)})
        declines = pd.concat([declines, added], ignore_index=True)
    declines = declines.reset_index(drop=True)
    return declines, f"{current_rate:.4f} ({current:,} students)", f"{target / n if n else 0:.4f} ({target:,} students)"


DEFINITION_TABLES = ("regions", "schools", "subquotas")


def rebuild(sc: Scenario, changes: list[Change] = (), *, settings=None, text_tables: dict | None = None,
            full: bool = False, **tables: pd.DataFrame) -> Scenario:
    """``sc`` with some tables (and settings) replaced, through the same validation as input
    (`models.validate.build_scenario`).  Problems raise `ChangeError`, naming the changes that touch the
    table (and the school or region) where each problem is.

    When only regions, quotas or sub-quotas change (and at most the ``general_stage`` setting), the
    validation of the students, declines and interview passes cannot change: it depends on the settings
    of the lists, the ids of schools and regions and the catalogue flags only.  Then the changed tables
    are validated as input with the students' header alone (as `scenarios.bundled` validates a
    definition), and the students, declines, passes and their warnings are kept; ``full=True`` validates
    everything again.  ``text_tables``: the text form of unchanged tables the caller already has."""
    draft = dataclasses.replace(sc, settings=settings or sc.settings, **tables)
    definition_only = not full and _students_unaffected(sc, draft, set(tables))
    given = {k: v for k, v in (text_tables or {}).items() if k not in tables}
    if definition_only:
        given = {"students": students_text(sc.students.iloc[0:0])}
    elif "students" not in given:
        given["students"] = students_text(draft.students)
    skip = set(given) | ({"declines", "interviews"} if definition_only else set())
    texts = scenario_tables(_without(draft, skip))  # the small tables, as `write_scenario` writes them
    texts.update(given)
    label, first_row = _file_labels(sc.source)
    raw_tables = {name: RawTable(frame.reset_index(drop=True), label(name), first_row, {c: c for c in frame.columns})
                  for name, frame in texts.items()}
    raw = RawScenario(settings_dict(draft), label("scenario"), raw_tables, sc.source)
    try:
        built = build_scenario(raw, ProblemLog())
    except ScenarioError as exc:
        raise ChangeError(_blame(exc.problems, list(changes), raw_tables)) from None
    if definition_only:
        return dataclasses.replace(sc, settings=built.settings, regions=built.regions, schools=built.schools,
                                   subquotas=built.subquotas)
    return built


def _file_labels(source: str):
    """How the loader named the scenario's tables and numbered their rows (`models.readers`), so that a
    warning of the changed scenario points at the planner's own file: ``students.csv`` (row 2 = first
    record) for a folder, ``book.xlsx:students`` for a workbook, ``plan.json:students`` (row 1) for JSON."""
    name = Path(source).name if source else ""
    if name.lower().endswith(".json"):
        return (lambda table: f"{name}:{table}"), 1
    if name.lower().endswith((".xlsx", ".xlsm")):
        return (lambda table: f"{name}:{table}"), 2
    return (lambda table: "scenario.yaml" if table == "scenario" else f"{table}.csv"), 2


def _students_unaffected(sc: Scenario, draft: Scenario, changed: set[str]) -> bool:
    """True when the validation of students, declines and interview passes (and the void-choice warnings,
    R2/R3) is the same for ``draft`` as for ``sc``."""
    if not changed <= set(DEFINITION_TABLES):
        return False
    if dataclasses.replace(draft.settings, general_stage=sc.settings.general_stage) != sc.settings:
        return False
    same = ["school_id", "name", "registered", "requires_interview"]
    if not draft.schools[same].equals(sc.schools[same]):
        return False
    return draft.regions[["region_id", "name"]].equals(sc.regions[["region_id", "name"]])


def students_text(students: pd.DataFrame) -> pd.DataFrame:
    """The students table as the text a file holds, column by column in Arrow (`models.writers` converts
    numbers one by one in Python, seconds at a million rows).  Numbers are written in their shortest form
    that reads back to the same float; booleans as true/false; missing cells empty."""
    out = {}
    for col in students.columns:
        s = students[col]
        if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
            out[col] = text(np.where(s.to_numpy(dtype=bool), "true", "false"))
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            values = pa.array(s.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)
            out[col] = from_arrow(pc.fill_null(pc.cast(values, pa.string()), ""))
        elif isinstance(s.dtype, pd.StringDtype):
            out[col] = s.fillna("").reset_index(drop=True)
        else:
            out[col] = text(s.astype(object).where(s.notna(), "").astype(str))
    return pd.DataFrame(out, columns=list(students.columns))


def _without(sc: Scenario, names: set[str]) -> Scenario:
    """A copy of ``sc`` whose tables ``names`` are empty (so that only the others are converted to text)."""
    return dataclasses.replace(sc, **{name: getattr(sc, name).iloc[0:0] for name in names})


_TABLE_KINDS = {"schools": ("quota", "registered"), "subquotas": ("subquota", "quota"),
                "regions": ("general_seats", "general_cutoff"), "declines": ("decline_rate",)}


def _blame(problems: list[Problem], changes: list[Change], raw_tables: dict[str, RawTable]) -> list[Problem]:
    """Each error of the rebuilt scenario as a problem of the changes that touch its table and row."""
    out = []
    for p in problems:
        if p.severity != "error":
            continue
        name = next((n for n, t in raw_tables.items() if t.file == p.file), None)
        kinds = _TABLE_KINDS.get(name, ())
        ident = None
        table = raw_tables.get(name)
        if table is not None and p.row is not None and 0 <= p.row - table.first_row < len(table.frame):
            frame = table.frame
            col = "school_id" if "school_id" in frame.columns else "region_id" if "region_id" in frame.columns else None
            ident = str(frame[col].iloc[p.row - table.first_row]) if col else None
        blamed = [c for c in changes if c.kind in kinds and (ident is None or ident in c.target)] or list(changes)
        keys = ", ".join(f"{c.key}={c.value}" for c in blamed) or "the changes"
        out.append(Problem(SOURCE, blamed[0].position if blamed else None, blamed[0].key if blamed else None,
                           blamed[0].value if blamed else None, p.clause,
                           f"{keys} make{'s' if len(blamed) == 1 else ''} the scenario invalid: {p.file}"
                           f"{'' if p.row is None else f' row {p.row}'}: {p.message}"))
    return out


# Comparing ------------------------------------------------------------------------------------------------

def whatif(sc: Scenario, changes, seed: int = 0, progress: Progress | None = None,
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
    rows = []
    for out in (base, var):
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
        rows.append(pd.concat([frame, pd.DataFrame([total])], ignore_index=True))
    b, v = rows
    table = _side_by_side(b[["region_id", "name", "graduates"]], b, v, metrics,
                          text_metrics=("general_vocational_ratio",))
    return table.drop(columns=["general_seats_change", "general_cutoff_change"])


def compare_schools(base: RunOutput, var: RunOutput) -> pd.DataFrame:
    """Per school: registered, quota, applicants, offers, confirmed, vacancies, fill rate, both runs."""
    metrics = ["registered", "quota", "applicants", "offers", "confirmed", "vacancies", "fill_rate"]
    b, v = base.schools, var.schools
    table = _side_by_side(b[["school_id", "name", "kind", "region_id"]], b, v, metrics, text_metrics=("registered",))
    return table


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
        cut_cols = [f"cutoff_b{b.id}_r{k}" for k in range(1, sc.settings.max_choices + 1) if f"cutoff_b{b.id}_r{k}" in s]
        cutoff = s[cut_cols].min(axis=1, skipna=True).to_numpy(dtype=float) if cut_cols else np.full(S, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            fill = np.where(quota > 0, np.round(cumulative / np.where(quota > 0, quota, 1), 4), np.nan)
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


# Writing --------------------------------------------------------------------------------------------------

def write_whatif(report: WhatIfReport, out_dir: Path | str) -> Path:
    """``baseline/`` and ``variant/`` (the full result files of docs/formats.md), ``changes.csv`` (the
    changed students), ``regions_compare.csv``, ``schools_compare.csv``, ``schools_by_batch_compare.csv``,
    ``whatif.xlsx`` (for a planner to forward) and ``summary.json`` (written last)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    t = time.perf_counter()
    write_outputs(report.baseline, out / "baseline")
    write_outputs(report.variant, out / "variant")
    write_csv(report.changed, out / "changes.csv")
    write_csv(report.regions, out / "regions_compare.csv")
    write_csv(report.schools, out / "schools_compare.csv")
    write_csv(report.schools_by_batch, out / "schools_by_batch_compare.csv")
    write_workbook(report, out / "whatif.xlsx")
    report.timings["write"] = round(time.perf_counter() - t, 4)
    write_json(report.summary(), out / "summary.json")
    return out


# The workbook a planner forwards (issue #10.7): Chinese sheets, headers and words; the CSV files keep the
# English names.
KIND_LABELS = {"placed": "新录取", "lost": "不再录取", "moved": "改录他校", "reordered": "同校改批次或志愿",
               "other": "其他"}
PERCENT_COLUMNS = ("vocational_share", "enrollment_rate", "fill_rate")


def write_workbook(report: WhatIfReport, path: Path) -> None:
    """whatif.xlsx: 说明 (the changes and the totals), 地区, 学校, 学校分批次, 考生变化; Chinese headers
    (`models.workbooks.zh_header`), outcomes and kinds of change in words, rates as percentages, every
    sheet set up to print."""
    title = display_name(report.baseline.scenario)
    book = Book(f"{title} 方案比较")
    _explanation_sheet(book, report, title)
    changed = report.changed.copy()
    for col in ("outcome_baseline", "outcome_variant"):
        changed[col] = labels(changed[col], OUTCOME_LABELS)
    changed["change"] = labels(changed["change"], KIND_LABELS)
    sheets = [("地区", report.regions, REGION, None), ("学校", report.schools, SCHOOL, None),
              ("学校分批次", report.schools_by_batch, SCHOOL, None), ("考生变化", changed, None, XLSX_ROWS)]
    for name, frame, names, limit in sheets:
        book.table(name, frame, names=names, freeze_columns=2, limit=limit, rest="changes.csv", percent=PERCENT_COLUMNS)
    book.save(path)


def _explanation_sheet(book: Book, report: WhatIfReport, title: str) -> None:
    """说明: what was changed, the totals before and after, and how many students the change moved."""
    summary = report.summary()
    ws = book.sheet("说明", widths=(28, 22, 22, 22, 22))
    ws.append([bold_cell(ws, f"方案比较：{title}")])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("改动", "取值", "原", "新", "规则")])
    for c in report.changes:
        ws.append([c.key, c.value, c.before, c.after, c.rule])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("合计", "原方案", "新方案", "变化")])
    for key, row in summary["totals"].items():
        fmt = PERCENT if key in PERCENT_COLUMNS else COUNT
        ws.append([zh_header(key)] + [cell(ws, row.get(side), number_format=fmt)
                                      for side in ("baseline", "variant", "change")])
    vacancies = summary["vacancies"]
    ws.append(["空额"] + [cell(ws, v, number_format=COUNT) for v in
                         (vacancies["baseline"], vacancies["variant"], vacancies["variant"] - vacancies["baseline"])])
    ws.append([])
    ws.append([bold_cell(ws, "结果改变的考生"), cell(ws, summary["changed_students"], number_format=COUNT)])
    for kind, n in summary["changed_by_kind"].items():
        ws.append([KIND_LABELS.get(kind, kind), cell(ws, n, number_format=COUNT)])
    ws.append([])
    ws.append(["baseline/ 与 variant/ 文件夹：两次运行的全部结果文件；changes.csv：每个结果改变的考生。"])
