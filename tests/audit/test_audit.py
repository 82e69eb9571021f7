"""``zhaosheng audit`` (issue #4; docs/formats.md, "An audit"): a result of the sequential engine audits
clean; broken in exactly one way it is reported under that rule alone (with the right pair for R6 and
R7) and its differences from the rule's result are listed; Chinese headers and workbooks are read; a
malformed published file exits 2 with every bad row in errors.csv."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from models.problems import ScenarioError
from models.published import read_published

from builders import write_tiny

VIOLATION_COLUMNS = ["rule", "student_id", "school_id", "batch", "other_student_id", "detail"]
VOC_B1 = ["vocational", "1", "1", "2021-07-20", "2021-07-22"]  # outcome, batch, rank, admit, confirm
FIELDS = ["outcome", "batch", "choice_rank", "admit_date", "confirm_date"]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny scenario of test_cli and its result by the sequential engine: 1 general, 2 at S1,
    3 unplaced (S1 and S2 full), 4 none, 5 at S2."""
    base = tmp_path_factory.mktemp("audit")
    scenario = write_tiny(base / "sc")
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(base / "res"), "--engine", "sequential",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    return scenario, base / "res"


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def run_audit(scenario: Path, out: Path, admissions: Path, offers: Path | None = None):
    args = ["audit", str(scenario), "--result", str(admissions), "--out", str(out)]
    if offers is not None:
        args += ["--offers", str(offers)]
    return CliRunner().invoke(cli, args)


def frames(res: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read(res / "admissions.csv"), read(res / "offers.csv")


def save(tmp_path: Path, adm: pd.DataFrame, off: pd.DataFrame | None) -> tuple[Path, Path | None]:
    adm.to_csv(tmp_path / "adm.csv", index=False)
    if off is None:
        return tmp_path / "adm.csv", None
    off.to_csv(tmp_path / "off.csv", index=False)
    return tmp_path / "adm.csv", tmp_path / "off.csv"


# A correct result ---------------------------------------------------------------------------------------

def test_engine_result_audits_clean(published, tmp_path):
    scenario, res = published
    out = tmp_path / "audit"
    result = run_audit(scenario, out, res / "admissions.csv", res / "offers.csv")
    assert result.exit_code == 0, result.output
    violations = (out / "violations.csv").read_text(encoding="utf-8-sig")
    assert violations.strip() == ",".join(VIOLATION_COLUMNS)  # header only: follows every rule
    assert read(out / "differences.csv").empty
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "clean" and summary["violations"] == 0 and summary["differences"] == 0
    wb = openpyxl.load_workbook(out / "audit.xlsx", read_only=True)
    assert {"按规则", "按学校", "违规明细", "差异明细", "各校差异"} <= set(wb.sheetnames)
    rules = [row[0] for row in wb["按规则"].iter_rows(min_row=2, values_only=True)]
    assert rules == [f"R{i}" for i in range(1, 13)]
    # without offers.csv the admissions stand for the confirmed offers
    assert run_audit(scenario, tmp_path / "a2", res / "admissions.csv").exit_code == 0


# Broken in exactly one way ------------------------------------------------------------------------------

def _place(adm, sid, school, values):
    adm.loc[adm["student_id"] == sid, ["school_id", *FIELDS]] = [school, *values]


def break_r6(adm, off):
    """3 (470) takes S1's only seat from 2 (480), who ranked it the same (R6)."""
    _place(adm, "2", "", ["unplaced", "", "", "", ""])
    _place(adm, "3", "S1", VOC_B1)
    off.loc[off["student_id"] == "2", ["student_id", "region_id"]] = ["3", "R2"]
    return adm, off


def break_r7(adm, off):
    """S1 (quota 1) admits 3 as well as 2 (R7)."""
    _place(adm, "3", "S1", VOC_B1)
    return adm, pd.concat([off, off[off["student_id"] == "2"].assign(student_id="3", region_id="R2")],
                          ignore_index=True)


def break_r11(adm, off):
    """5's offer is dated after batch 1's admit_by (R11)."""
    adm.loc[adm["student_id"] == "5", "admit_date"] = "2021-07-30"
    off.loc[off["student_id"] == "5", "admit_date"] = "2021-07-30"
    return adm, off


def break_r12(adm, off):
    """4 filed no choice: 'unplaced' instead of 'none' (R12)."""
    adm.loc[adm["student_id"] == "4", "outcome"] = "unplaced"
    return adm, off


CASES = {  # rule -> (edit, the violation's (student, other student), the students that differ from the rule)
    "R6": (break_r6, ("2", "3"), {"2", "3"}),
    "R7": (break_r7, ("3", "2"), {"3"}),
    "R11": (break_r11, ("5", ""), set()),  # dates are not compared: no difference of outcome
    "R12": (break_r12, ("4", ""), {"4"}),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_one_fault_is_reported_under_its_rule(published, tmp_path, rule):
    scenario, res = published
    adm, off = CASES[rule][0](*frames(res))
    out = tmp_path / "audit"
    result = run_audit(scenario, out, *save(tmp_path, adm, off))
    assert result.exit_code == 1, result.output
    v = read(out / "violations.csv")
    assert list(v.columns) == VIOLATION_COLUMNS
    assert set(v["rule"]) == {rule}, v.to_string()
    student, other = CASES[rule][1]
    assert (student, other) in set(zip(v["student_id"], v["other_student_id"]))
    differences = read(out / "differences.csv")
    assert set(differences["student_id"]) == CASES[rule][2]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "violations" and summary["violations_by_rule"] == {rule: len(v)}
    assert rule in result.output


def test_differences_show_both_outcomes_and_count_per_school(published, tmp_path):
    scenario, res = published
    adm, off = break_r6(*frames(res))
    out = tmp_path / "audit"
    assert run_audit(scenario, out, *save(tmp_path, adm, off)).exit_code == 1
    d = read(out / "differences.csv").set_index("student_id")
    assert (d.loc["2", ["outcome_published", "outcome_rule", "school_id_rule"]].tolist()
            == ["unplaced", "vocational", "S1"])
    assert (d.loc["3", ["outcome_published", "school_id_published", "outcome_rule"]].tolist()
            == ["vocational", "S1", "unplaced"])
    wb = openpyxl.load_workbook(out / "audit.xlsx", read_only=True)
    rows = list(wb["各校差异"].iter_rows(values_only=True))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert header[:3] == ("学校代码", "学校名称", "差异人数")
    assert (body["S1"]["差异人数"] == 2 and body["S1"]["公布录取而规则未录取"] == 1
            and body["S1"]["规则录取而公布未录取"] == 1)


# Chinese headers, workbooks ----------------------------------------------------------------------------

ZH = {"student_id": "考生号", "region_id": "地区代码", "outcome": "录取结果", "school_id": "录取学校",
      "batch": "录取批次", "choice_rank": "志愿序号", "admit_date": "录取日期", "confirm_date": "确认日期"}
ZH_OUTCOME = {"general": "普高", "vocational": "中职", "unplaced": "未录取", "ineligible": "不符合条件", "none": "无"}


def test_chinese_headers_and_words_are_mapped(published, tmp_path):
    scenario, res = published
    adm, off = frames(res)
    adm["outcome"] = adm["outcome"].map(ZH_OUTCOME)
    adm["admit_date"] = adm["admit_date"].str.replace("-", "/")  # 2021/07/20 as Excel may write it
    adm = adm.rename(columns=ZH)
    off = off.rename(columns={"student_id": "考生号", "school_id": "录取院校", "batch": "批次",
                              "choice_rank": "第几志愿", "admit_date": "预录日期", "confirmed": "是否确认"})
    off["是否确认"] = "是"
    assert run_audit(scenario, tmp_path / "csv", *save(tmp_path, adm, off)).exit_code == 0
    # the same as one workbook sheet
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "录取结果"
    ws.append(list(adm.columns))
    for row in adm.itertuples(index=False):
        ws.append([int(v) if v.isdigit() and c in ("录取批次", "志愿序号") else (v or None)
                   for c, v in zip(adm.columns, row)])
    wb.save(tmp_path / "adm.xlsx")
    result = run_audit(scenario, tmp_path / "xlsx", tmp_path / "adm.xlsx")
    assert result.exit_code == 0, result.output
    frame = read_published(tmp_path / "adm.xlsx")
    assert set(frame["outcome"]) == {"general", "vocational", "unplaced", "none"}
    assert frame.loc[frame["student_id"] == "2", "admit_date"].item() == "2021-07-20"


# Bad input ---------------------------------------------------------------------------------------------

def test_bad_published_file_exits_2_with_every_bad_row(published, tmp_path):
    scenario, res = published
    adm, _ = frames(res)
    adm.loc[adm["student_id"] == "3", "outcome"] = "admitted"  # row 4: unknown outcome
    adm.loc[adm["student_id"] == "2", "batch"] = "one"  # row 3: not a whole number
    adm.loc[adm["student_id"] == "5", "choice_rank"] = "1.5"  # row 6
    adm.loc[adm["student_id"] == "5", "confirm_date"] = "2021-07-32"  # row 6: no such day
    adm = pd.concat([adm, adm[adm["student_id"] == "4"]], ignore_index=True)  # row 7: 4 again
    out = tmp_path / "audit"
    (out).mkdir()
    (out / "violations.csv").write_text("stale", encoding="utf-8")
    result = run_audit(scenario, out, *save(tmp_path, adm, None))
    assert result.exit_code == 2, result.output
    errors = read(out / "errors.csv")
    got = {(int(r.row), r.column) for r in errors.itertuples()}
    assert got == {(4, "outcome"), (3, "batch"), (6, "choice_rank"), (6, "confirm_date"), (7, "student_id")}
    assert set(errors["clause"]) == {"FORMATS admissions.csv"}
    assert set(errors["file"]) == {"adm.csv"}
    assert not (out / "violations.csv").exists()  # no audit of an earlier run left behind
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_missing_required_columns(published, tmp_path):
    scenario, res = published
    adm, off = frames(res)
    adm = adm.drop(columns="outcome")
    off = off.drop(columns="school_id")
    out = tmp_path / "audit"
    result = run_audit(scenario, out, *save(tmp_path, adm, off))
    assert result.exit_code == 2, result.output
    errors = read(out / "errors.csv")
    assert set(zip(errors["file"], errors["column"], errors["clause"])) == {
        ("adm.csv", "outcome", "FORMATS admissions.csv"), ("off.csv", "school_id", "FORMATS offers.csv")}
    with pytest.raises(ScenarioError):
        read_published(tmp_path / "adm.csv")


def test_unknown_students_and_schools_are_rule_matters(published, tmp_path):
    """Well-formed facts the scenario does not know are violations (R12 ...), not load errors."""
    scenario, res = published
    adm, _ = frames(res)
    adm = pd.concat([adm, pd.DataFrame([{"student_id": "99", "region_id": "R1", "outcome": "unplaced"}])],
                    ignore_index=True).fillna("")
    out = tmp_path / "audit"
    result = run_audit(scenario, out, *save(tmp_path, adm, None))
    assert result.exit_code == 1, result.output
    v = read(out / "violations.csv")
    assert "99" in set(v["student_id"])
    assert "99" in set(read(out / "differences.csv")["student_id"])
