"""Write a scenario back out as a folder (CSV + scenario.yaml), one .xlsx workbook, or JSON.

What is written loads back to an equal scenario (tests/test_models_roundtrip.py).  CSV files carry a
UTF-8 BOM so that Excel shows Chinese names correctly; the loader accepts it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from models.headers import choice_column
from models.scenario import Scenario

TABLE_ORDER = ("regions", "schools", "subquotas", "students", "declines", "interviews")


def settings_dict(scenario: Scenario) -> dict[str, object]:
    """The settings as scenario.yaml holds them."""
    s = scenario.settings
    data: dict[str, object] = {"name": s.name}
    if s.year is not None:
        data["year"] = s.year
    data["max_choices"] = s.max_choices
    data["general_stage"] = s.general_stage
    data["tie_break"] = list(s.tie_break)
    data["batches"] = batch_dicts(scenario)
    data.update(s.extra)
    return data


def batch_dicts(scenario: Scenario) -> list[dict[str, object]]:
    """The batches as scenario.yaml lists them (``fallback`` only when true, ``open`` only when given)."""
    batches: list[dict[str, object]] = []
    for b in scenario.settings.batches:
        item: dict[str, object] = {"id": b.id, "name": b.name, "choices": b.choices}
        if b.fallback:
            item["fallback"] = True
        if b.open_given:
            item["open"] = b.open
        item["admit_by"] = b.admit_by
        item["confirm_by"] = b.confirm_by
        if b.mechanism != "boston":
            item["mechanism"] = b.mechanism
        if b.e is not None:
            item["e"] = b.e
        batches.append(item)
    return batches


def scenario_tables(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The tables as text, as they are written to files (empty optional tables left out)."""
    return {name: _as_text(frame) for name, frame in _tables(scenario).items()}


def _tables(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The tables with their types, in file order: unused general-stage columns and empty optional
    tables left out, the choice columns of the students last."""
    tables: dict[str, pd.DataFrame] = {}
    regions = scenario.regions.copy()
    for col in ("general_seats", "general_cutoff"):
        if regions[col].isna().all():
            regions = regions.drop(columns=col)
    tables["regions"] = regions
    tables["schools"] = scenario.schools
    if len(scenario.subquotas):
        tables["subquotas"] = scenario.subquotas
    students = scenario.students
    choice_cols = [choice_column(lst, k) for lst in scenario.settings.choice_lists
                   for k in range(1, scenario.settings.max_choices + 1)]
    choice_cols = [c for c in choice_cols if c in students.columns]
    others = [c for c in students.columns if c not in choice_cols]
    tables["students"] = students[others + choice_cols]
    if len(scenario.declines):
        tables["declines"] = scenario.declines
    if len(scenario.interviews):
        tables["interviews"] = scenario.interviews
    return tables


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for col in frame.columns:
        s = frame[col]
        if s.dtype == bool:
            out[col] = s.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(s):
            out[col] = s.map(_number_text)
        else:
            out[col] = s.astype(object).where(s.notna(), "").astype(str)
    return pd.DataFrame(out, columns=list(frame.columns))


def _number_text(value: float) -> str:
    """A float cell as written: "" when missing, whole numbers without decimals."""
    if pd.isna(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_scenario(scenario: Scenario, target: str | Path) -> Path:
    """Write to a folder, or to ``*.xlsx`` / ``*.json`` by the target's suffix."""
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix == ".xlsx":
        write_workbook(scenario, target)
    elif suffix == ".json":
        write_json(scenario, target)
    else:
        write_folder(scenario, target)
    return target


def write_folder(scenario: Scenario, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(
        yaml.safe_dump(settings_dict(scenario), allow_unicode=True, sort_keys=False), encoding="utf-8")
    for name, frame in scenario_tables(scenario).items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")


def write_workbook(scenario: Scenario, path: Path) -> None:
    """One workbook: the ``scenario`` sheet (key, value), ``batches`` and a sheet per table under its file
    name and English headers, so that it loads back as it was.  Numbers are numeric cells (quota,
    graduates, score …), ids and other text stay text, flags are true/false (issue #10.7)."""
    from models.workbooks import Book, bold_cell

    path.parent.mkdir(parents=True, exist_ok=True)
    book = Book(scenario.name)
    settings = settings_dict(scenario)
    ws = book.sheet("scenario", widths=(18, 40))
    ws.append([bold_cell(ws, "key"), bold_cell(ws, "value")])
    for key, value in settings.items():
        if key == "batches":
            continue
        if key == "tie_break" and isinstance(value, list):
            ws.append([key, ", ".join(map(str, value))])
        elif isinstance(value, (dict, list)):
            ws.append([key, yaml.safe_dump(value, allow_unicode=True)])
        else:
            ws.append([key, value])
    cols = ["id", "name", "choices", "fallback", "open", "admit_by", "confirm_by", "mechanism", "e"]
    batches = pd.DataFrame([[_cell(b.get(c, "")) for c in cols] for b in batch_dicts(scenario)], columns=cols)
    for name, table in {"batches": batches, **_tables(scenario)}.items():
        frame = _flags_as_text(table)
        book.table(name, frame, names={str(c): str(c) for c in frame.columns})
    book.save(path)


def _flags_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """true/false for the flag columns, as a folder's CSV files have them; other columns as they are."""
    flags = [c for c in frame.columns if pd.api.types.is_bool_dtype(frame[c].dtype)]
    if not flags:
        return frame
    frame = frame.copy()
    for col in flags:
        frame[col] = frame[col].map({True: "true", False: "false"}).astype(object)
    return frame


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else value


def write_json(scenario: Scenario, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = settings_dict(scenario)
    settings["batches"] = [{k: _cell(v) if k != "fallback" else v for k, v in b.items()} for b in batch_dicts(scenario)]
    data: dict[str, object] = {"scenario": settings}
    for name, frame in scenario_tables(scenario).items():
        # A list of no records would name no columns: an empty table keeps its header this way.
        data[name] = frame.to_dict("records") if len(frame) else {"columns": list(frame.columns), "rows": []}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
