"""The bundled variant hengyang-2021-parallel (issue #15.4): hengyang-2021's data (taken through base.yaml, not
copied) with every batch parallel; the same students; no justified envy and the figures its README gives;
a changed base re-materializes the variant; a bad base.yaml is refused."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

import scenarios
from models import ScenarioError
from scenarios import bundled
from solver.analysis.compare import compare, parse_mechanisms
from solver.run import run

ROOT = Path(__file__).resolve().parents[2]
VARIANT = "hengyang-2021-parallel"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("variant-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHAOSHENG_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def both(cache):
    return scenarios.load("hengyang-2021"), scenarios.load(VARIANT)


def test_the_variant_is_bundled_and_holds_only_its_own_files():
    assert VARIANT in scenarios.bundled_names()
    folder = scenarios.bundled_path(VARIANT)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["README.md", "base.yaml", "scenario.yaml"]
    files = bundled.definition_files(folder)
    base = scenarios.bundled_path("hengyang-2021")
    for name in ("regions.csv", "schools.csv", "subquotas.csv", "students.yaml"):
        assert files[name] == base / name  # taken from hengyang-2021, not copied
    assert files["scenario.yaml"] == folder / "scenario.yaml" and files["README.md"] == folder / "README.md"
    # every file is package data (pyproject: scenarios = ["*/*.yaml", "*/*.csv", "*/*.md"])
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["scenarios"]
    assert all(any(Path(VARIANT, p.name).match(pat) for pat in patterns) for p in folder.iterdir())


def test_the_same_data_and_students_with_every_batch_parallel(both):
    hy, par = both
    for table in ("regions", "schools", "subquotas", "students", "declines", "interviews"):
        assert getattr(par, table).equals(getattr(hy, table)), table
    assert par.name == VARIANT and "平行志愿" in par.settings.title
    assert [(b.mechanism, b.e) for b in par.settings.batches] == [("parallel", None)] * 3
    assert [b.mechanism for b in hy.settings.batches] == ["boston"] * 3
    assert [(b.id, b.admit_by, b.confirm_by, b.fallback) for b in par.settings.batches] == \
        [(b.id, b.admit_by, b.confirm_by, b.fallback) for b in hy.settings.batches]


def test_parallel_has_no_justified_envy_and_the_readmes_figures(both):
    hy, par = both
    p, b = run(par).fairness, run(hy).fairness
    assert p["justified_envy_students"] == 0 and b["justified_envy_students"] == 1903
    assert (p["first_choice_share"], b["first_choice_share"]) == (0.8374, 0.8775)
    report = compare(hy, parse_mechanisms("boston,parallel"))
    m = report.mechanisms.set_index("mechanism")
    assert (m.loc["boston", "vocational"], m.loc["parallel", "vocational"]) == (35806, 36061)
    total = report.pair_totals().iloc[0]
    assert (total["changed"], total["gain"], total["lose"], total["move"]) == (2677, 912, 1265, 500)
    readme = (scenarios.bundled_path(VARIANT) / "README.md").read_text(encoding="utf-8")
    for figure in ("35,806", "36,061", "1,903", "2,677", "912", "1,265", "500", "87.75 %", "83.74 %"):
        assert figure in readme, figure


def test_the_readme_says_what_is_real_and_what_is_not():
    readme = (scenarios.bundled_path(VARIANT) / "README.md").read_text(encoding="utf-8")
    for words in ("## What is real", "## What is not", "hypothetical", "synthetic", "strategic", "HY §九",
                  "docs/policy/hengyang-2021.txt"):
        assert words in readme, words
    assert (ROOT / "docs" / "policy" / "hengyang-2021.txt").is_file()


def test_a_changed_base_re_materializes_the_variant(tmp_path):
    defs = tmp_path / "defs"
    for name in ("hengyang-2021", VARIANT):
        shutil.copytree(scenarios.bundled_path(name), defs / name)
    variant = defs / VARIANT
    assert bundled.base_of(variant) == defs / "hengyang-2021"  # the base beside it first
    key = bundled.definition_hash(variant)
    schools = defs / "hengyang-2021" / "schools.csv"
    schools.write_text(schools.read_text(encoding="utf-8").replace(",1240,", ",1250,", 1), encoding="utf-8")
    assert bundled.definition_hash(variant) != key
    folder = bundled.materialize_folder(variant, tmp_path / "cache")
    assert (folder / "students.csv").is_file() and (folder / "base.yaml").is_file()
    assert "1250" in (folder / "schools.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("text,message", [
    ("base:\n", "holds one key, base"),
    ("base: hengyang-2021\nmechanism: parallel\n", "unknown: mechanism"),
    ("base: no-such-city\n", "no bundled scenario 'no-such-city'"),
    ("base: hengyang-2021-parallel\n", "is itself a variant"),
])
def test_a_bad_base_is_refused(tmp_path, text, message):
    folder = tmp_path / "variant"
    shutil.copytree(scenarios.bundled_path(VARIANT), folder)
    if "itself" in message:
        shutil.copytree(scenarios.bundled_path(VARIANT), tmp_path / VARIANT)
    (folder / "base.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        bundled.materialize_folder(folder, tmp_path / "cache")
    assert message in str(err.value.problems[0])
