"""What `pip install .` installs: every module of the source tree, so that the installed command works
from any folder (tests import from the work tree and would not notice a package left out)."""

from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "solver", "api", "scenarios")


def _installed_files() -> set[str] | None:
    try:
        dist = metadata.distribution("zhaosheng")
    except metadata.PackageNotFoundError:
        return None
    files = {str(f).replace("\\", "/") for f in dist.files or ()}
    if not any(f.startswith("solver/") for f in files):
        return None  # an editable install points at the work tree
    return files


def test_every_module_is_installed():
    files = _installed_files()
    if files is None:
        pytest.skip("zhaosheng is not installed from a wheel here (CI installs it with pip install .)")
    sources = {str(p.relative_to(ROOT)).replace("\\", "/") for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    missing = sorted(sources - files)
    assert not missing, f"not in the installed package: {missing}"


def test_bundled_scenario_files_are_installed():
    files = _installed_files()
    if files is None:
        pytest.skip("zhaosheng is not installed from a wheel here")
    for name in ("jiaozuo-2022", "hengyang-2021"):
        for part in ("scenario.yaml", "regions.csv", "schools.csv", "students.yaml", "README.md"):
            assert f"scenarios/{name}/{part}" in files
    for part in ("scenario.yaml", "base.yaml", "README.md"):  # a variant: its base's tables, its own batches
        assert f"scenarios/hengyang-2021-parallel/{part}" in files
