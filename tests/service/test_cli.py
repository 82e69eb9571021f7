"""The zhaosheng command: run writes every docs/formats.md file, bad input exits 2 with errors.csv and no
result, unavailable engines say so, validate/export/generate work."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from models.results import ADMISSION_COLUMNS, OFFER_COLUMNS

from builders import write_tiny


def test_run_writes_every_result_file(tmp_path):
    scenario = write_tiny(tmp_path / "sc")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "--engine", "sequential", "--quiet"])
    assert result.exit_code == 0, result.output
    for name in ("admissions.csv", "offers.csv", "schools.csv", "regions.csv", "subquotas.csv", "summary.json",
                 "progress.xlsx", "warnings.csv"):
        assert (out / name).exists(), name
    adm = pd.read_csv(out / "admissions.csv", dtype=str, keep_default_na=False)
    assert list(adm.columns) == ADMISSION_COLUMNS
    # 1 is general (R1 has one seat). Round 1: S1 (quota 1) takes 2 (480) over 3 (470); S2 takes 5, its
    # only 1st-choice applicant. Round 2: 3's 2nd choice S2 is full. Batch 2 (fallback): both full.
    got = dict(zip(adm["student_id"], zip(adm["outcome"], adm["school_id"], adm["choice_rank"])))
    assert got == {"1": ("general", "", ""), "2": ("vocational", "S1", "1"), "3": ("unplaced", "", ""),
                   "4": ("none", "", ""), "5": ("vocational", "S2", "1")}
    offers = pd.read_csv(out / "offers.csv", dtype=str, keep_default_na=False)
    assert list(offers.columns[: len(OFFER_COLUMNS)]) == OFFER_COLUMNS
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "done" and summary["engine"] == "sequential"
    assert summary["totals"]["general"] == 1 and summary["totals"]["vocational"] == 2
    ws = openpyxl.load_workbook(out / "progress.xlsx").active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert rows[0][:5] == ("单位", "初中应届毕业生总数", "高中阶段教育招生总数", "普通高中招生数", "中等职业教育招生数")
    assert rows[-1][0] == "合计" and rows[-1][1:5] == (7, 3, 1, 2)
    assert "甲区" in result.output and "1 : 2.00" in result.output  # 甲区: 1 general, 2 vocational


def test_bad_input_exits_2_with_errors_csv_and_no_result(tmp_path):
    scenario = write_tiny(tmp_path / "sc", students="student_id,region_id,score,evaluation,choice_1,choice_2\n"
                                                   "1,R1,,A,S1,S2\n1,R9,abc,B,S1,S1\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "admissions.csv").write_text("stale", encoding="utf-8")  # an earlier run's result
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    found = set(zip(errors["row"], errors["column"], errors["clause"]))
    assert ("2", "score", "R6") in found  # missing score
    assert ("3", "student_id", "FORMATS students.csv") in found  # duplicate id
    assert ("3", "region_id", "FORMATS students.csv") in found  # unknown region
    assert ("3", "score", "R6") in found  # not a number
    assert ("3", "choice_2", "R3") in found  # same school twice
    assert not (out / "admissions.csv").exists()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_run_defaults_to_both_engines_with_a_verdict(tmp_path):
    scenario = write_tiny(tmp_path / "sc")
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["engines"] == ["sequential", "cpsat"]
    assert summary["verification"]["verdict"] == "verified"
    assert summary["verification"]["equal"] is True and summary["verification"]["unique"] is True


def test_validate_reports_ok_and_errors(tmp_path):
    good = write_tiny(tmp_path / "good")
    ok = CliRunner().invoke(cli, ["validate", str(good)])
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = write_tiny(tmp_path / "bad", students="student_id,region_id,score,evaluation,choice_1,choice_2,"
                                                "batch2_choice_1,batch2_choice_2\n1,R1,-5,A,,,,\n")
    res = CliRunner().invoke(cli, ["validate", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    errors = pd.read_csv(tmp_path / "o" / "errors.csv", dtype=str)
    assert errors.loc[0, "value"] == "-5" and errors.loc[0, "clause"] == "R6"


@pytest.mark.parametrize("suffix", ["", ".xlsx", ".json"])
def test_export_round_trips_and_runs_the_same(tmp_path, suffix):
    scenario = write_tiny(tmp_path / "sc")
    target = tmp_path / f"copy{suffix}"
    assert CliRunner().invoke(cli, ["export", str(scenario), str(target)]).exit_code == 0
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "a"), "-q"]).exit_code == 0
    assert runner.invoke(cli, ["run", str(target), "--out", str(tmp_path / "b"), "-q"]).exit_code == 0
    a = (tmp_path / "a" / "admissions.csv").read_bytes()
    assert a == (tmp_path / "b" / "admissions.csv").read_bytes()


def test_generate_is_deterministic_per_seed(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        res = runner.invoke(cli, ["generate", str(tmp_path / name), "--students", "500", "--regions", "4",
                                  "--schools", "6", "--seed", "3"])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "students.csv").read_bytes() == (tmp_path / "b" / "students.csv").read_bytes()
    res = runner.invoke(cli, ["generate", str(tmp_path / "c"), "--students", "500", "--regions", "4",
                              "--schools", "6", "--seed", "4"])
    assert (tmp_path / "a" / "students.csv").read_bytes() != (tmp_path / "c" / "students.csv").read_bytes()
    assert runner.invoke(cli, ["run", str(tmp_path / "a"), "--out", str(tmp_path / "out"), "-q"]).exit_code == 0


def test_unknown_scenario_name_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(cli, ["run", "no-such-city-2099", "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 2
    assert "jiaozuo-2022" in res.output  # lists the bundled names


def test_the_roster_workbook_is_left_out_above_the_limit_or_when_asked(tmp_path, monkeypatch):
    import solver.run

    scenario = write_tiny(tmp_path / "sc")
    assert CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "a"), "-q",
                                    "--engine", "sequential"]).exit_code == 0
    assert (tmp_path / "a" / "admissions.xlsx").exists()
    assert CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "b"), "-q", "--engine",
                                    "sequential", "--no-roster"]).exit_code == 0
    assert not (tmp_path / "b" / "admissions.xlsx").exists()
    monkeypatch.setattr(solver.run, "ROSTER_LIMIT", 4)  # the tiny scenario has 5 students
    assert CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "c"), "-q",
                                    "--engine", "sequential"]).exit_code == 0
    summary = json.loads((tmp_path / "c" / "summary.json").read_text(encoding="utf-8"))
    assert not (tmp_path / "c" / "admissions.xlsx").exists() and "not written" in summary["admissions_xlsx"]
    assert CliRunner().invoke(cli, ["run", str(scenario), "--out", str(tmp_path / "d"), "-q", "--engine",
                                    "sequential", "--roster"]).exit_code == 0
    assert (tmp_path / "d" / "admissions.xlsx").exists()
