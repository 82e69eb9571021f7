"""The changes of a what-if: ``KEY=VALUE`` strings (or a ``{key: value}`` mapping) parsed into typed
`Change` s against a scenario, schools and regions resolved by id or unique name; every bad key or value
is a `Problem` of ``--set`` (`SOURCE`) naming its key, all reported at once (`ChangeError`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

import pandas as pd

from models.headers import FALSE_WORDS, TRUE_WORDS
from models.problems import Problem, ScenarioError
from models.scenario import Scenario
from models.typed import plain

KINDS: dict[str, tuple[tuple[str, ...], str, str]] = {  # kind -> (targets, rule id, what it is)
    "quota": (("school",), "R7", "a school's quota (招生计划)"),
    "subquota": (("school", "region"), "R8", "a region's sub-quota at a school"),
    "general_seats": (("region",), "R4", "a region's general high school seats (普高计划)"),
    "general_cutoff": (("region",), "R4", "a region's general high school cutoff (普高最低录取控制分数线)"),
    "registered": (("school",), "R2", "a school in the catalogue (备案) or not"),
    "decline_rate": ((), "R9", "the share of students who decline an offer (seeded)"),
}
SOURCE = "--set"  # the "file" a problem with a change is reported under

_NUMBER = re.compile(r"^(?P<sign>[+-])?(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<percent>%)?$")
_REMOVE_WORDS = {"none", "remove", "delete", "无", "删除"}
_COUNT_KINDS = ("quota", "subquota", "general_seats")  # whole numbers of seats


class ChangeError(ScenarioError):
    """Bad changes: each problem names the key (``column``) and the value as written."""


class BadChange(Exception):
    """One change that cannot be parsed or applied: the rule it touches and why.  Collected as a problem
    of ``--set`` by `parse_changes` and `solver.analysis.whatif.apply.apply_changes`."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule, self.message = rule, message


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
        number = 0.0 if self.number is None else self.number  # a "set", "add" or "percent" change has one
        if self.mode == "set":
            return float(number)
        if current is None or (isinstance(current, float) and math.isnan(current)):
            raise ValueError("there is no current value to change relatively; give an absolute value")
        if self.mode == "add":
            return current + number
        return current * (1 + number / 100)


Changes = list[Change] | Iterable[str] | Mapping[str, object]
"""What a what-if takes as its changes: ``KEY=VALUE`` strings, a ``{key: value}`` mapping or parsed ones."""


def parse_changes(sc: Scenario, items: Iterable[object] | Mapping[str, object]) -> list[Change]:
    """``KEY=VALUE`` strings (or a ``{key: value}`` mapping) as typed changes against ``sc``; every bad
    key or value is reported at once (`ChangeError`), each naming its key."""
    pairs, problems = _pairs(items)
    lookups = Lookups(sc)
    changes: list[Change] = []
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for i, (key, value) in enumerate(pairs, start=1):
        if not key:
            continue
        try:
            change = _parse_one(key, value, i, lookups)
        except BadChange as bad:
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


def are_parsed(changes: object) -> TypeGuard[list[Change]]:
    """True when ``changes`` are parsed already (a list of `Change`)."""
    return isinstance(changes, list) and all(isinstance(c, Change) for c in changes)


def _pairs(items: Iterable[object] | Mapping[str, object]) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(key, value) per change, in order (an empty key where the item is no ``KEY=VALUE``, with its problem)."""
    if isinstance(items, Mapping):
        return [(str(k).strip(), _value_text(v)) for k, v in items.items()], []
    pairs: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for i, item in enumerate(items, start=1):
        key, eq, value = str(item).partition("=")
        if not eq or not key.strip():
            problems.append(Problem(SOURCE, i, (key.strip() or None) if eq else None, str(item), "FORMATS",
                                    "a change is KEY=VALUE, e.g. quota.S03=520 or quota.S03=+10%"))
            pairs.append(("", ""))
            continue
        pairs.append((key.strip(), value.strip()))
    return pairs, problems


def _value_text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v).strip()


class Lookups:
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


def _parse_one(key: str, value: str, position: int, lookups: Lookups) -> Change:
    kind, _, rest = key.partition(".")
    if kind not in KINDS:
        raise BadChange("FORMATS", f"unknown key {key!r}; keys: {_known_keys()}")
    targets, rule, _ = KINDS[kind]
    target = _target_ids(kind, targets, rest, lookups, rule)
    if value == "":
        raise BadChange(rule, f"{key} has no value")
    if kind == "registered":
        word = value.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise BadChange(rule, f"{key} must be true or false (是/否)")
        return Change(key, kind, target, value, "flag", flag=word in TRUE_WORDS, position=position)
    if kind == "subquota" and value.lower() in _REMOVE_WORDS:
        return Change(key, kind, target, value, "remove", position=position)
    mode, number = _number(key, kind, value, rule)
    return Change(key, kind, target, value, mode, number=number, position=position)


def _known_keys() -> str:
    forms = {("school",): "{}.SCHOOL", ("region",): "{}.REGION", ("school", "region"): "{}.SCHOOL.REGION"}
    return ", ".join(forms.get(targets, "{}").format(kind) for kind, (targets, _, _) in KINDS.items())


def _number(key: str, kind: str, value: str, rule: str) -> tuple[str, float]:
    """The mode ("set", "add" or "percent") and the number of a numeric value, checked for its kind."""
    m = _NUMBER.match(plain(value).replace(" ", ""))  # ＋１０％ typed in full width is +10%
    if not m:
        extra = " or none (to remove the sub-quota)" if kind == "subquota" else ""
        raise BadChange(rule, f"{key}: {value!r} is not a number, +N%, -N%, +N or -N{extra}")
    number = float(m["number"])
    signed = number if m["sign"] == "+" else -number
    if m["sign"]:
        mode, number = ("percent" if m["percent"] else "add"), signed
    elif m["percent"]:
        if kind != "decline_rate":
            raise BadChange(rule, f"{key}: write +{m['number']}% or -{m['number']}% for a change relative to the "
                                  "current value")
        mode, number = "set", number / 100
    else:
        mode = "set"
    _check_number(key, kind, mode, number, rule)
    return mode, number


def _check_number(key: str, kind: str, mode: str, number: float, rule: str) -> None:
    """Seats are whole numbers; a decline rate is a share."""
    if kind in _COUNT_KINDS and mode in ("set", "add") and number != int(number):
        raise BadChange(rule, f"{key} must be a whole number of seats")
    if kind == "decline_rate" and mode == "set" and not 0 <= number <= 1:
        raise BadChange(rule, f"{key} must be a share between 0 and 1 (or 0% to 100%)")


def _target_ids(kind: str, targets: tuple[str, ...], rest: str, lookups: Lookups, rule: str) -> tuple[str, ...]:
    """The ids the part of the key after the kind names (school, region or school and region)."""
    if not targets:
        if rest:
            raise BadChange("FORMATS", f"{kind} takes no school or region: write {kind}=VALUE")
        return ()
    if not rest:
        raise BadChange("FORMATS", f"{kind} needs a {'.'.join(t.upper() for t in targets)} after the dot")
    if targets == ("school",):
        return (_resolve(rest, lookups.school, "school", rule),)
    if targets == ("region",):
        return (_resolve(rest, lookups.region, "region", rule),)
    return _school_and_region(kind, rest, lookups, rule)


def _school_and_region(kind: str, rest: str, lookups: Lookups, rule: str) -> tuple[str, str]:
    parts = rest.split(".")  # ids may hold dots: try every split into a known school and a known region
    for cut in range(1, len(parts)):
        school, region = ".".join(parts[:cut]), ".".join(parts[cut:])
        if school in lookups.school and region in lookups.region:
            return lookups.school[school], lookups.region[region]
    if len(parts) < 2:
        raise BadChange("FORMATS", f"{kind} needs SCHOOL.REGION, e.g. {kind}.S01.R02")
    school, region = parts[0], ".".join(parts[1:])
    _resolve(school, lookups.school, "school", rule)
    _resolve(region, lookups.region, "region", rule)
    raise BadChange(rule, f"no school and region named by {rest!r}")


def _resolve(name: str, lookup: dict[str, str], what: str, rule: str) -> str:
    if name in lookup:
        return lookup[name]
    raise BadChange(rule, f"unknown {what} {name!r}")
