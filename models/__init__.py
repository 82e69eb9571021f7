"""Scenario and result types, loading and writing files, validation (docs/rules.md entities, docs/formats.md)."""

from __future__ import annotations

from pathlib import Path

from models.problems import DEFAULT_LIMIT, Problem, ProblemLog, ScenarioError, problems_frame
from models.readers import read_folder, read_json, read_workbook
from models.scenario import OUTCOMES, Batch, Scenario, Settings
from models.validate import build_scenario
from models.writers import write_scenario

__all__ = [
    "OUTCOMES", "Batch", "Problem", "Scenario", "ScenarioError", "Settings", "load_scenario",
    "load_scenario_data", "problems_frame", "write_scenario",
]


def load_scenario(path: str | Path, limit: int | None = DEFAULT_LIMIT) -> Scenario:
    """Load a folder of CSV + scenario.yaml, a .xlsx workbook or a .json file; raise ScenarioError
    listing every problem (the first ``limit``, then how many more) when the input is not valid."""
    path = Path(path)
    log = ProblemLog(limit)
    if path.is_dir():
        raw = read_folder(path, log)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = read_workbook(path, log)
    elif path.suffix.lower() == ".json":
        raw = read_json(path, log)
    elif not path.exists():
        raise ScenarioError([Problem(str(path), None, None, None, "FORMATS", "no such scenario folder or file")])
    else:
        raise ScenarioError([Problem(path.name, None, None, None, "FORMATS",
                                     "a scenario is a folder, an .xlsx workbook or a .json file")])
    return build_scenario(raw, log)


def load_scenario_data(data: dict[str, object], label: str = "scenario.json",
                       limit: int | None = DEFAULT_LIMIT) -> Scenario:
    """Load a scenario given as a JSON-like dict (the API's JSON upload)."""
    log = ProblemLog(limit)
    return build_scenario(read_json(None, log, data=data, label=label), log)
