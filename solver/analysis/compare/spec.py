"""The mechanisms a comparison runs, as a planner writes them: ``boston``, ``parallel``, ``chen-kesten:E``
(docs/rules.md, "R6 variants"), comma-separated or as a list; the Chinese words and ``sequential`` of
`models.scenario.MECHANISMS` are understood too (顺序志愿 = boston, 平行志愿 = parallel).  A bad
specification is refused with every problem in one message (`MechanismError`), never run as something
else; `with_mechanism` gives the scenario with every batch under one mechanism."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from models.scenario import MECHANISMS, Mechanism, Scenario

MAX_MECHANISMS = 8  # 28 pairs at most
NAMES_ZH = {"boston": "顺序志愿", "parallel": "平行志愿", "chen-kesten": "分段平行"}


class MechanismError(ValueError):
    """A bad --mechanisms specification (its message lists every problem)."""


@dataclass(frozen=True)
class MechanismSpec:
    """One mechanism of a comparison: applied to every batch of the scenario."""

    mechanism: Mechanism
    e: int | None = None  # chen-kesten's block size

    @property
    def label(self) -> str:
        """As it is written back: ``boston``, ``parallel``, ``chen-kesten:2``."""
        return f"{self.mechanism}:{self.e}" if self.mechanism == "chen-kesten" else self.mechanism

    @property
    def name_zh(self) -> str:
        """As a planner reads it: 顺序志愿, 平行志愿, 分段平行（每段 2 个志愿）."""
        word = NAMES_ZH[self.mechanism]
        return f"{word}（每段 {self.e} 个志愿）" if self.mechanism == "chen-kesten" else word

    def same_as(self, max_choices: int) -> str | None:
        """The mechanism this one equals for lists of ``max_choices`` (RULES.md: ``e = 1`` is the sequential
        rule, ``e >= max_choices`` is parallel), or None."""
        if self.mechanism != "chen-kesten" or self.e is None:
            return None
        if self.e == 1:
            return "boston"
        return "parallel" if self.e >= max_choices else None


def _items(spec: str | Sequence[str]) -> list[str]:
    parts = [spec] if isinstance(spec, str) else [str(s) for s in spec]
    return [p.strip() for part in parts for p in part.replace("，", ",").split(",") if p.strip()]


def _one(item: str) -> tuple[MechanismSpec | None, str | None]:
    """(the mechanism of one item, None) or (None, what is wrong with it)."""
    word, colon, e_text = item.partition(":")
    word = word.strip()
    mechanism = MECHANISMS.get(word.lower()) or MECHANISMS.get(word)
    if mechanism is None:
        near = difflib.get_close_matches(word.lower(), list(MECHANISMS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return None, (f"{item!r} is not a mechanism{hint}; write boston, parallel or chen-kesten:E "
                      "(E = choices per block, a whole number >= 1)")
    if mechanism != "chen-kesten":
        if colon:
            return None, f"{item!r}: {mechanism} takes no block size (only chen-kesten:E does)"
        return MechanismSpec(mechanism), None
    e_text = e_text.strip().removeprefix("e=").strip()
    if not colon or not e_text:
        return None, f"{item!r}: chen-kesten needs its block size E, e.g. chen-kesten:2"
    try:
        e = int(e_text)
    except ValueError:
        return None, f"{item!r}: the block size E of chen-kesten:E is a whole number >= 1, not {e_text!r}"
    if e < 1:
        return None, f"{item!r}: the block size E of chen-kesten:E is a whole number >= 1, not {e}"
    return MechanismSpec("chen-kesten", e), None


def parse_mechanisms(spec: str | Sequence[str]) -> list[MechanismSpec]:
    """The mechanisms of ``boston,parallel,chen-kesten:2`` (or a list of such items), in the order given:
    at least two, at most `MAX_MECHANISMS`, none twice; `MechanismError` naming every bad item."""
    items = _items(spec)
    problems: list[str] = []
    found: list[MechanismSpec] = []
    for item in items:
        one, problem = _one(item)
        if one is None:
            problems.append(str(problem))
        elif one in found:
            problems.append(f"{one.label} is given twice")
        else:
            found.append(one)
    if not problems and len(found) < 2:
        problems.append("a comparison needs at least two mechanisms, e.g. boston,parallel"
                        + (f" (only {found[0].label} given)" if found else ""))
    if len(found) > MAX_MECHANISMS:
        problems.append(f"at most {MAX_MECHANISMS} mechanisms, not {len(found)}")
    if problems:
        raise MechanismError("; ".join(problems))
    return found


def with_mechanism(sc: Scenario, spec: MechanismSpec) -> Scenario:
    """``sc`` with every batch under ``spec`` (the settings replaced, the tables shared)."""
    batches = tuple(replace(b, mechanism=spec.mechanism, e=spec.e) for b in sc.settings.batches)
    return replace(sc, settings=replace(sc.settings, batches=batches))
