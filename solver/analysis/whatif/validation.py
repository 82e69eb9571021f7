"""A changed scenario rebuilt through the same validation as any input (`models.validate.build_scenario`):
its tables written back to text and read again, so that a change that makes it invalid is reported like
bad input, naming the changes that caused it (`ChangeError`).  The ratio sweep (`solver.analysis.sweep`)
rebuilds its steps the same way."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.columns import from_arrow, text
from models.problems import Problem, ProblemLog, ScenarioError
from models.readers import RawScenario, RawTable
from models.scenario import Scenario, Settings
from models.validate import build_scenario
from models.writers import scenario_tables, settings_dict
from solver.analysis.whatif.changes import SOURCE, Change, ChangeError

DEFINITION_TABLES = ("regions", "schools", "subquotas")
TABLE_KINDS = {"schools": ("quota", "registered"), "subquotas": ("subquota", "quota"),
               "regions": ("general_seats", "general_cutoff"), "declines": ("decline_rate",)}
"""The kinds of change that touch each table (a problem in the table is blamed on them)."""


def rebuild(sc: Scenario, changes: Sequence[Change] = (), *, settings: Settings | None = None,
            text_tables: Mapping[str, pd.DataFrame] | None = None, full: bool = False,
            regions: pd.DataFrame | None = None, schools: pd.DataFrame | None = None,
            subquotas: pd.DataFrame | None = None, declines: pd.DataFrame | None = None) -> Scenario:
    """``sc`` with some tables (and settings) replaced, through the same validation as input
    (`models.validate.build_scenario`).  Problems raise `ChangeError`, naming the changes that touch the
    table (and the school or region) where each problem is.

    When only regions, quotas or sub-quotas change (and at most the ``general_stage`` setting), the
    validation of the students, declines and interview passes cannot change: it depends on the settings
    of the lists, the ids of schools and regions and the catalogue flags only.  Then the changed tables
    are validated as input with the students' header alone (as `scenarios.bundled` validates a
    definition), and the students, declines, passes and their warnings are kept; ``full=True`` validates
    everything again.  ``text_tables``: the text form of unchanged tables the caller already has."""
    tables = {name: frame for name, frame in (("regions", regions), ("schools", schools), ("subquotas", subquotas),
                                              ("declines", declines)) if frame is not None}
    draft = dataclasses.replace(sc, settings=settings or sc.settings, regions=tables.get("regions", sc.regions),
                                schools=tables.get("schools", sc.schools),
                                subquotas=tables.get("subquotas", sc.subquotas),
                                declines=tables.get("declines", sc.declines))
    definition_only = not full and _students_unaffected(sc, draft, set(tables))
    texts = _texts(draft, tables, text_tables or {}, definition_only)
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


def _texts(draft: Scenario, tables: Mapping[str, pd.DataFrame], text_tables: Mapping[str, pd.DataFrame],
           definition_only: bool) -> dict[str, pd.DataFrame]:
    """Every table of ``draft`` to validate, as the text a file holds (the students' header alone when only
    the definition is validated again)."""
    given = {k: v for k, v in text_tables.items() if k not in tables}
    if definition_only:
        given = {"students": students_text(draft.students.iloc[0:0])}
    elif "students" not in given:
        given["students"] = students_text(draft.students)
    skip = set(given) | ({"declines", "interviews"} if definition_only else set())
    texts = scenario_tables(_without(draft, skip))  # the small tables, as `write_scenario` writes them
    texts.update(given)
    return texts


def _file_labels(source: str) -> tuple[Callable[[str], str], int]:
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


def _blame(problems: list[Problem], changes: list[Change], raw_tables: dict[str, RawTable]) -> list[Problem]:
    """Each error of the rebuilt scenario as a problem of the changes that touch its table and row."""
    out = []
    for p in problems:
        if p.severity != "error":
            continue
        name = next((n for n, t in raw_tables.items() if t.file == p.file), None)
        kinds = TABLE_KINDS.get(name, ()) if name is not None else ()
        ident = _row_id(raw_tables.get(name) if name is not None else None, p.row)
        blamed = [c for c in changes if c.kind in kinds and (ident is None or ident in c.target)] or list(changes)
        out.append(_blamed_problem(p, blamed))
    return out


def _row_id(table: RawTable | None, row: int | None) -> str | None:
    """The school or region id in the table's row (spreadsheet numbering), if the table has such a column."""
    if table is None or row is None or not 0 <= row - table.first_row < len(table.frame):
        return None
    frame = table.frame
    col = "school_id" if "school_id" in frame.columns else "region_id" if "region_id" in frame.columns else None
    return str(frame[col].iloc[row - table.first_row]) if col else None


def _blamed_problem(p: Problem, blamed: list[Change]) -> Problem:
    keys = ", ".join(f"{c.key}={c.value}" for c in blamed) or "the changes"
    first = blamed[0] if blamed else None
    return Problem(SOURCE, first.position if first else None, first.key if first else None,
                   first.value if first else None, p.clause,
                   f"{keys} make{'s' if len(blamed) == 1 else ''} the scenario invalid: {p.file}"
                   f"{'' if p.row is None else f' row {p.row}'}: {p.message}")
