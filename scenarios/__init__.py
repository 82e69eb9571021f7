"""Bundled scenarios and the generator of synthetic ones (uses `models`; STYLE.md, layering).

    import scenarios
    scenarios.bundled_names()             # ['hengyang-2021', 'jiaozuo-2022']
    sc = scenarios.load("jiaozuo-2022")   # students materialized once into the cache, then loaded
    sc = scenarios.load("my-city/")       # any docs/formats.md folder, .xlsx workbook or .json file
    sc = scenarios.generate(100_000, regions=12, schools=40, seed=1)

A bundled scenario is loaded through `models.load_scenario` from its materialized folder, so it passes
the same validation as user input (`scenarios.bundled`).  Each bundled folder's README.md says what
is real (with the seed clauses) and what is synthetic.
"""

from __future__ import annotations

from pathlib import Path

from models import Scenario, ScenarioError, load_scenario
from scenarios.bundled import bundled_names, bundled_path, cache_root, materialize, unknown_problem
from scenarios.generator import Population, generate, populate

__all__ = ["Population", "bundled_names", "bundled_path", "cache_root", "generate", "load", "materialize",
           "populate"]


def load(name_or_path: str | Path) -> Scenario:
    """A bundled scenario by name, or a scenario folder, ``.xlsx`` workbook or ``.json`` file by path.

    A string that names a bundled scenario is the bundled one (pass a ``Path``, or ``./name``, for a local
    folder of the same name).  Anything else that does not exist raises `ScenarioError` listing the
    bundled names; invalid input raises `ScenarioError` with every problem (`models.load_scenario`).
    """
    if isinstance(name_or_path, str) and name_or_path in bundled_names():
        return load_scenario(materialize(name_or_path))
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ScenarioError([unknown_problem(str(name_or_path))])
    return load_scenario(path)
