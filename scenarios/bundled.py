"""Bundled scenarios and their cache.

A bundled scenario is a folder ``scenarios/<name>/`` holding what is real or documented — its
``scenario.yaml`` (settings and batches, R3 R4 R5 R11), ``regions.csv``, ``schools.csv``,
``subquotas.csv`` (if any) and a ``README.md`` saying what comes from which seed clause — and a
``students.yaml`` with the settings of its synthetic students (``seed`` and ``population``, the
fields of `scenarios.generator.Population`).

A variant of another bundled scenario holds only its own ``scenario.yaml`` (its settings: another name,
title or mechanism) and ``README.md``, and a ``base.yaml`` naming the scenario whose other files it takes
(``base: hengyang-2021``: the same regions, schools, sub-quotas and students' settings, so the same
students are drawn); its own files win over the base's (`definition_files`).

On first use the students are drawn (`scenarios.generator.populate`) and the whole scenario is written
as an ordinary docs/formats.md folder into the cache (``$ZHAOSHENG_CACHE``, default ``~/.cache/zhaosheng``,
subfolder ``scenarios/<name>-<hash>``), keyed by a hash of the bundled files and of the generator's
source, so a changed definition is materialized anew.  The folder is written under a temporary name
and renamed into place when complete, so a crash never leaves half a scenario.  It is then loaded
with `models.load_scenario`: a bundled scenario passes the same validation as user input.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from models import Problem, Scenario, ScenarioError, write_scenario
from models.columns import text
from models.problems import ProblemLog
from models.readers import RawTable, read_folder
from models.validate import build_scenario
from scenarios import generator

PACKAGE_DIR = Path(__file__).resolve().parent
CACHE_ENV = "ZHAOSHENG_CACHE"
DEFAULT_CACHE = "~/.cache/zhaosheng"
STUDENTS_FILE = "students.yaml"
BASE_FILE = "base.yaml"  # a variant: ``base: NAME``, the bundled scenario whose other files it takes
OWN_FILES = ("scenario.yaml", "README.md")  # never taken from the base
MARKER = "materialized.json"  # written last inside the staging folder: what was drawn from what
DEFINITION_SUFFIXES = (".yaml", ".csv", ".md")  # the package data of pyproject.toml: */*.yaml, */*.csv, */*.md
CACHE_FORMAT = 1  # bump when the cache layout changes
_STALE_PARTIAL_SECONDS = 3600


def bundled_names() -> list[str]:
    """The names of the bundled scenarios, sorted."""
    return sorted(p.name for p in PACKAGE_DIR.iterdir()
                  if p.is_dir() and (p / "scenario.yaml").is_file()
                  and ((p / STUDENTS_FILE).is_file() or (p / BASE_FILE).is_file()))


def bundled_path(name: str) -> Path:
    """The folder of a bundled scenario; an unknown name is a `ScenarioError` listing the known ones."""
    if name not in bundled_names():
        raise ScenarioError([unknown_problem(name)])
    return PACKAGE_DIR / name


def unknown_problem(name: str) -> Problem:
    return Problem(str(name), None, None, None, "FORMATS",
                   f"no bundled scenario and no scenario folder or file named {str(name)!r}; "
                   f"bundled scenarios: {', '.join(bundled_names())}")


def cache_root() -> Path:
    """``$ZHAOSHENG_CACHE``, or ``~/.cache/zhaosheng``."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def materialize(name: str) -> Path:
    """The cache folder of a bundled scenario, drawn and written on first use (see module docstring)."""
    return materialize_folder(bundled_path(name))


def base_of(folder: Path) -> Path | None:
    """The folder of the scenario a variant's ``base.yaml`` names (beside the variant, else bundled), or None
    for a scenario of its own; a base that is missing or itself a variant is a `ScenarioError`."""
    path = Path(folder) / BASE_FILE
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = str(data.get("base") or "") if isinstance(data, dict) else ""
    unknown = sorted(set(data) - {"base"}) if isinstance(data, dict) else []
    beside = Path(folder).parent / name
    base = beside if name and (beside / "scenario.yaml").is_file() else PACKAGE_DIR / name
    problem = None
    if not name or unknown:
        problem = f"{BASE_FILE} holds one key, base: the name of a bundled scenario" + (
            f" (unknown: {', '.join(map(str, unknown))})" if unknown else "")
    elif base.resolve() == Path(folder).resolve() or not (base / "scenario.yaml").is_file():
        problem = f"{BASE_FILE}: no bundled scenario {name!r} to take the files of"
    elif (base / BASE_FILE).is_file():
        problem = f"{BASE_FILE}: {name!r} is itself a variant; name the scenario it is based on"
    if problem:
        raise ScenarioError([Problem(str(path), None, "base", name or None, "FORMATS", problem)])
    return base


def definition_files(folder: Path) -> dict[str, Path]:
    """name -> file of a bundled definition: its own files, over those of its base (`base_of`) but for the
    base's ``scenario.yaml`` and ``README.md``."""
    files: dict[str, Path] = {}
    base = base_of(folder)
    if base is not None:
        files.update({p.name: p for p in _definition_files(base) if p.name not in OWN_FILES})
    files.update({p.name: p for p in _definition_files(folder)})
    return dict(sorted(files.items()))


def definition_hash(folder: Path) -> str:
    """sha256 of the bundled files (names and bytes; a variant's base's too), the generator's source and the
    cache format."""
    h = hashlib.sha256(f"cache-format {CACHE_FORMAT}\n".encode())
    for path in definition_files(folder).values():
        h.update(f"{path.name}\n{path.stat().st_size}\n".encode())
        h.update(path.read_bytes())
    h.update(Path(generator.__file__).read_bytes())
    return h.hexdigest()


def materialize_folder(folder: Path, root: Path | None = None) -> Path:
    """Materialize the bundled-scenario definition in ``folder`` into ``root`` (default `cache_root`)
    and return the complete scenario folder; reuse it when it is already there."""
    folder = Path(folder)
    name = folder.name
    key = definition_hash(folder)[:16]
    parent = (root or cache_root()) / "scenarios"
    target = parent / f"{name}-{key}"
    if (target / MARKER).is_file():
        return target
    if target.exists():  # not written by us (we rename complete folders only): replace it
        shutil.rmtree(target, ignore_errors=True)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-{key}.", suffix=".partial", dir=parent))
    try:
        _write(folder, staging, key)
        try:
            os.rename(staging, target)  # atomic: the folder appears complete or not at all
        except OSError:
            if not (target / MARKER).is_file():  # not another process that got there first
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale(parent, name, target)
    return target


def read_definition(folder: Path) -> Scenario:
    """The bundled settings, regions, schools and sub-quotas as a `Scenario` without students, checked by
    the same validator as user input (`models.build_scenario`); problems raise `ScenarioError`.  A variant
    is read from its files and its base's put together in a temporary folder."""
    if base_of(folder) is None:
        return _read_definition(Path(folder))
    with tempfile.TemporaryDirectory(prefix=f"{Path(folder).name}-") as tmp:
        for name, path in definition_files(folder).items():
            shutil.copyfile(path, Path(tmp) / name)
        return _read_definition(Path(tmp))


def _read_definition(folder: Path) -> Scenario:
    log = ProblemLog()
    raw = read_folder(folder, log)
    if "students" not in raw.tables:  # the students are drawn later; validate the rest now
        empty = {c: text([]) for c in ("student_id", "region_id", "score", "evaluation")}
        raw.tables["students"] = RawTable(pd.DataFrame(empty), "students.csv", 2)
    return build_scenario(raw, log)


def read_students_settings(folder: Path) -> tuple[int, generator.Population]:
    """``seed`` and ``population`` of the bundled ``students.yaml`` (a variant's base's)."""
    path = definition_files(folder).get(STUDENTS_FILE, Path(folder) / STUDENTS_FILE)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        return int(data["seed"]), generator.Population.from_dict(data.get("population"))
    except (KeyError, TypeError, ValueError) as exc:
        message = f"students.yaml needs a whole-number seed and valid population settings: {exc}"
        raise ScenarioError([Problem(str(path), None, None, None, "FORMATS", message)]) from exc


def _write(folder: Path, staging: Path, key: str) -> None:
    definition = read_definition(folder)
    seed, population = read_students_settings(folder)
    scenario = generator.populate(definition, seed, population)
    write_scenario(scenario, staging)
    files = definition_files(folder)
    for extra in ("README.md", STUDENTS_FILE, BASE_FILE):  # provenance travels with the data
        if extra in files:
            shutil.copyfile(files[extra], staging / extra)
    base = base_of(folder)
    (staging / MARKER).write_text(json.dumps({
        "name": folder.name, "hash": key, "seed": seed, "students": len(scenario.students),
        "source": str(folder), **({"base": base.name} if base is not None else {}),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _definition_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix in DEFINITION_SUFFIXES)


def _remove_stale(parent: Path, name: str, keep: Path) -> None:
    """Older materializations of the same scenario, and staging folders left by a crash long ago."""
    current = re.compile(rf"^{re.escape(name)}-[0-9a-f]{{16}}$")
    partial = re.compile(rf"^\.{re.escape(name)}-[0-9a-f]{{16}}\..*\.partial$")
    now = time.time()
    for p in parent.iterdir():
        if p == keep or not p.is_dir():
            continue
        stale = current.match(p.name) or (partial.match(p.name) and now - p.stat().st_mtime > _STALE_PARTIAL_SECONDS)
        if stale:
            shutil.rmtree(p, ignore_errors=True)

