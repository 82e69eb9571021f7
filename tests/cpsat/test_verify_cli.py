"""The command line of the verification layer (`api.cli`): ``verify`` proves the CP-SAT model's result
equal to the sequential engine's and unique, and says so in summary.json and its exit code; ``run
--engine cpsat`` writes the sequential engine's admissions; a time limit too short is "not proven",
never a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

import solver.verify as verify_module
from api.cli import cli
from models.results import Result
from solver.engine.sequential import run_sequential

from builders import hand_checked_scenario, write_csv_folder


def tiny(tmp_path: Path) -> Path:
    """R4 seats, R6 Boston order, R8 sub-quota, R9 decline, R5 fallback (tests/test_engine_vs_reference)."""
    data = hand_checked_scenario()
    return write_csv_folder(data, tmp_path / "tiny")


EXPECTED = {"a": ("general", "", "", ""), "b": ("vocational", "Q", "2", "2"), "c": ("vocational", "Q", "1", "1"),
            "d": ("vocational", "P", "1", "1"), "e": ("unplaced", "", "", "")}


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [*map(str, args), "--quiet"])


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def admissions(out: Path) -> dict:
    adm = pd.read_csv(out / "admissions.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {r.student_id: (r.outcome, r.school_id, r.batch, r.choice_rank) for r in adm.itertuples()}


def test_verify_exits_0_with_the_verdict_in_summary(tmp_path):
    out = tmp_path / "out"
    res = invoke("verify", tiny(tmp_path), "--out", out)
    assert res.exit_code == 0, res.output
    v = summary(out)["verification"]
    assert v["verdict"] == "verified"
    assert v["equal"] is True and v["unique"] is True and v["differences"] == 0
    assert v["checker_violations"] == {"sequential": 0, "cpsat": 0}
    assert v["status"] == {"solve": "OPTIMAL", "proof": "INFEASIBLE"}
    assert v["mode"] == "constraints only"
    assert admissions(out) == EXPECTED
    assert not (out / "differences.csv").exists()
    assert "verified" in res.output


def test_run_cpsat_writes_the_same_admissions_as_sequential(tmp_path):
    scenario = tiny(tmp_path)
    outs = {}
    for engine in ("sequential", "cpsat"):
        outs[engine] = tmp_path / engine
        res = invoke("run", scenario, "--out", outs[engine], "--engine", engine)
        assert res.exit_code == 0, res.output
        assert summary(outs[engine])["engines"] == [engine]
    assert admissions(outs["cpsat"]) == EXPECTED
    for name in ("admissions.csv", "offers.csv", "schools.csv", "regions.csv"):
        assert (outs["cpsat"] / name).read_bytes() == (outs["sequential"] / name).read_bytes(), name
    facts = summary(outs["cpsat"])["engine_facts"]
    assert facts["cpsat_status"] == "OPTIMAL" and facts["mode"] == "constraints only"


def test_run_defaults_to_both_engines(tmp_path):
    out = tmp_path / "out"
    res = invoke("run", tiny(tmp_path), "--out", out)
    assert res.exit_code == 0, res.output
    s = summary(out)
    assert s["engine"] == "both" and s["engines"] == ["sequential", "cpsat"]
    assert s["verification"]["verdict"] == "verified"
    assert admissions(out) == EXPECTED


def test_verify_exits_1_and_lists_the_differences_when_the_engines_disagree(tmp_path, monkeypatch):
    def wrong_engine(scenario, progress=None, arrays=None):  # e gets a seat he should not have
        right = run_sequential(scenario, progress, arrays)
        adm = right.admissions.copy()
        adm.loc[adm["student_id"] == "e", ["outcome", "school_id"]] = ["vocational", "P"]
        return Result(adm, right.offers, "sequential")

    monkeypatch.setattr(verify_module, "run_sequential", wrong_engine)
    out = tmp_path / "out"
    res = invoke("verify", tiny(tmp_path), "--out", out)
    assert res.exit_code == 1, res.output
    v = summary(out)["verification"]
    assert v["verdict"] == "FAILED" and v["equal"] is False and v["differences"] == 1
    diff = pd.read_csv(out / "differences.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert diff["student_id"].tolist() == ["e"]


def test_verify_with_a_time_limit_too_short_is_not_proven(tmp_path):
    """Hengyang 2021 (80,000 students): 0.01 s is not enough to solve, and the layer says so."""
    out = tmp_path / "out"
    res = invoke("verify", "hengyang-2021", "--out", out, "--time-limit", "0.01")
    assert res.exit_code == 1, res.output
    v = summary(out)["verification"]
    assert v["verdict"] == "not proven (time limit)"
    assert v["equal"] is None and v["unique"] is None
    assert v["status"]["solve"] == "UNKNOWN"
    assert "not proven" in res.output
