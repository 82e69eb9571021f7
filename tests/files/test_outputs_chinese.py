"""What a planner forwards is in Chinese and prints well (issue #10.7): admissions.xlsx (录取名册) with the
students' name columns, school names and the outcomes in words (R12); audit.xlsx, whatif.xlsx, bound.xlsx
and plan.xlsx with Chinese sheets and headers; every workbook landscape, fit to the page width, its header
row repeated on every page and wrapped, counts with thousands separators; progress.xlsx titled with the
scenario's display name; `export` writes numbers as numbers; the charts draw Chinese with the CJK font
of the mplfonts wheel."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from models import load_scenario, load_scenario_data, write_scenario
from models.results import progress_title

from builders import contested, envy_scenario, moved, region, scenario_dict, school, student, write_csv_folder

TITLE = "测试市2021年中等职业学校招生"
ROSTER_HEADER = ["考生号", "姓名", "性别", "毕业学校", "家长电话", "学籍所在地", "录取结果", "录取学校", "学校代码",
                 "录取批次", "志愿序号", "录取日期", "确认日期"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def named(sid, score, choices, name, *, region_id="R1", **extra):
    return student(sid, score, choices, region=region_id, 姓名=name, 性别="女", 毕业学校="第一初级中学",
                   家长电话=f"1380000000{sid}", **extra)


def roster_scenario(**settings) -> dict:
    """1 takes 甲区's general seat (R4); 2 takes S1 and 5 takes S2 at their first choice; 3 finds both full
    (unplaced); 4 lists nothing (none); 6 is a fresh graduate without a certificate (ineligible, R1)."""
    students = [named("1", 600, ["S1"], "张一"), named("2", 480, ["S1", "S2"], "李二"),
                named("3", 470, ["S1", "S2"], "王三", region_id="R2"), named("4", 300, [], "赵四", region_id="R2"),
                named("5", 200, ["S2"], "钱五"),
                named("6", 450, ["S1"], "孙六", region_id="R2", cohort="fresh", certificate="false")]
    settings.setdefault("extra_columns", ["家长电话"])
    return scenario_dict(students=students, schools=[school("S1", 1), school("S2", 1, region="R2")],
                         regions=[region("R1", graduates=3, seats=1), region("R2", graduates=3, seats=0)],
                         general_stage="seats", name="roster", **settings)


@pytest.fixture(scope="module")
def run_out(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("roster")
    folder = write_csv_folder(roster_scenario(title=TITLE), tmp / "sc")
    out = tmp / "out"
    result = CliRunner().invoke(cli, ["run", str(folder), "--out", str(out), "--engine", "sequential", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def rows_of(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def assert_printable(ws, title_row: int = 1) -> None:
    """Landscape, fit to one page wide and as many down as needed, the header row on every page, wrapped
    and frozen, widths set."""
    assert ws.page_setup.orientation == "landscape", ws.title
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert ws.print_title_rows == f"${title_row}:${title_row}", ws.title
    assert ws.freeze_panes is not None and int(re.sub(r"\D", "", ws.freeze_panes)) == title_row + 1, ws.title
    header = [c for c in ws[title_row] if c.value is not None]
    assert header and all(c.alignment.wrap_text for c in header), ws.title
    assert all(c.font.b for c in header), ws.title
    assert ws.column_dimensions["A"].width and ws.column_dimensions["A"].customWidth, ws.title


def assert_chinese_headers(ws, allowed=()) -> None:
    header = [c for c in next(ws.iter_rows(max_row=1, values_only=True)) if c is not None]
    assert header, ws.title
    foreign = [h for h in header if not CJK.search(str(h)) and h not in allowed]
    assert not foreign, (ws.title, foreign)


# admissions.xlsx ---------------------------------------------------------------------------------------

def test_admissions_workbook_is_the_roster_in_chinese(run_out):
    wb = openpyxl.load_workbook(run_out / "admissions.xlsx")
    assert wb.sheetnames == ["录取名册"]
    rows = rows_of(wb["录取名册"])
    assert list(rows[0]) == ROSTER_HEADER
    got = {r[0]: dict(zip(ROSTER_HEADER, r)) for r in rows[1:]}
    assert sorted(got) == ["1", "2", "3", "4", "5", "6"]
    assert got["2"] == {"考生号": "2", "姓名": "李二", "性别": "女", "毕业学校": "第一初级中学",
                        "家长电话": "13800000002", "学籍所在地": "地区R1", "录取结果": "中职录取",
                        "录取学校": "学校S1", "学校代码": "S1", "录取批次": "第一批次", "志愿序号": 1,
                        "录取日期": "2021-07-20", "确认日期": "2021-07-22"}
    outcomes = {sid: row["录取结果"] for sid, row in got.items()}
    assert outcomes == {"1": "普通高中", "2": "中职录取", "3": "未录取", "4": "未填报志愿", "5": "中职录取",
                        "6": "不符合条件 (R1)"}
    assert got["5"]["录取学校"] == "学校S2" and got["5"]["学籍所在地"] == "地区R1"
    assert got["3"]["学籍所在地"] == "地区R2" and got["3"]["录取学校"] is None and got["3"]["志愿序号"] is None
    assert [got[s]["姓名"] for s in "123456"] == ["张一", "李二", "王三", "赵四", "钱五", "孙六"]


def test_admissions_workbook_prints_and_is_a_result_file(run_out):
    from solver.run import RESULT_FILES

    assert "admissions.xlsx" in RESULT_FILES  # the service serves it, a failed run removes it
    ws = openpyxl.load_workbook(run_out / "admissions.xlsx")["录取名册"]
    assert_printable(ws)
    assert ws.freeze_panes == "C2"  # 考生号 and 姓名 stay in view
    rank = ROSTER_HEADER.index("志愿序号")
    assert ws.cell(row=3, column=rank + 1).number_format == "#,##0"
    assert TITLE in ws.oddHeader.center.text


def test_roster_without_name_columns_has_ids_regions_and_outcomes(tmp_path):
    data = scenario_dict(students=[student("07", 500, ["S1"])], schools=[school("S1", 1)])
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(write_csv_folder(data, tmp_path / "sc")), "--out", str(out),
                                      "--engine", "sequential", "--quiet"])
    assert result.exit_code == 0, result.output
    rows = rows_of(openpyxl.load_workbook(out / "admissions.xlsx")["录取名册"])
    assert rows[0][:3] == ("考生号", "学籍所在地", "录取结果")
    assert rows[1][:5] == ("07", "地区R1", "中职录取", "学校S1", "S1")  # the leading zero kept: ids are text


# progress.xlsx ------------------------------------------------------------------------------------------

def test_progress_workbook_is_titled_with_the_display_name_and_prints(run_out):
    ws = openpyxl.load_workbook(run_out / "progress.xlsx").active
    assert ws["A1"].value == f"{TITLE}\u3000高中阶段教育学校招生进展情况汇总表"
    assert_printable(ws, title_row=3)
    assert [ws.cell(row=4, column=c).number_format for c in range(2, 6)] == ["#,##0"] * 4
    assert ws.cell(row=4, column=7).number_format == "0.00%"


def test_progress_title_from_the_name_the_year_or_a_table_title():
    plain = load_scenario_data(scenario_dict(students=[student("1", 500)], name="jz"))
    assert progress_title(plain) == "jz\u30002021年高中阶段教育学校招生进展情况汇总表"
    titled = load_scenario_data(scenario_dict(students=[student("1", 500)], title="焦作市"))
    assert progress_title(titled) == "焦作市\u30002021年高中阶段教育学校招生进展情况汇总表"
    table = load_scenario_data(scenario_dict(students=[student("1", 500)],
                                             title="焦作市2022年高中阶段教育招生进度统计表"))
    assert progress_title(table) == "焦作市2022年高中阶段教育招生进度统计表"


# audit.xlsx -------------------------------------------------------------------------------------------

def test_audit_workbook_in_chinese_with_the_core_on_its_own_sheet(tmp_path):

    from solver.engine.sequential import run_sequential

    data = scenario_dict(**envy_scenario(title=TITLE))
    folder = write_csv_folder(data, tmp_path / "sc")
    sc = load_scenario_data(data)
    adm = moved(sc, moved(sc, run_sequential(sc).admissions, "A", None), "B", "S03", rank=2)
    adm.to_csv(tmp_path / "adm.csv", index=False)
    result = CliRunner().invoke(cli, ["audit", str(folder), "--result", str(tmp_path / "adm.csv"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    wb = openpyxl.load_workbook(tmp_path / "out" / "audit.xlsx")
    assert wb.sheetnames == ["概要", "按规则", "按学校", "违规明细", "违规解释", "解释依据", "差异明细", "各校差异"]
    for ws in wb.worksheets:
        assert_printable(ws)
        assert_chinese_headers(ws)
    explanations = rows_of(wb["违规解释"])
    assert explanations[0][:3] == ("序号", "规则", "批次") and "核心事实" not in explanations[0]
    assert "解释" in explanations[0] and explanations[1][0] == 1
    core = rows_of(wb["解释依据"])
    assert core[0] == ("序号", "事实序号", "事实")
    assert len(core) > 2 and {r[0] for r in core[1:]} == {1}  # every fact of explanation 1, one a row
    assert [r[1] for r in core[1:]] == list(range(1, len(core)))
    by_rule = rows_of(wb["按规则"])
    assert by_rule[0] == ("规则", "规则名称", "违规条数", "涉及考生")
    assert by_rule[6][:2] == ("R6", "顺序录取") and by_rule[6][2] >= 1
    assert wb["按规则"].cell(row=2, column=3).number_format == "#,##0"
    differences = {r[0]: r for r in rows_of(wb["差异明细"])[1:]}
    header = rows_of(wb["差异明细"])[0]
    assert differences["A"][header.index("录取结果（公布）")] == "未录取"
    assert differences["A"][header.index("录取结果（按规则）")] == "中职录取"
    summary = dict(rows_of(wb["概要"])[1:])
    assert summary["方案"] == TITLE and summary["结论"] == "违反规则"


# whatif.xlsx, bound.xlsx, plan.xlsx ----------------------------------------------------------------------

def test_whatif_workbook_in_chinese(tmp_path):
    from solver.analysis.whatif import whatif, write_whatif

    sc = load_scenario_data(roster_scenario(title=TITLE))
    out = write_whatif(whatif(sc, ["quota.S2=2"]), tmp_path / "wi")
    wb = openpyxl.load_workbook(out / "whatif.xlsx")
    assert wb.sheetnames == ["说明", "地区", "学校", "学校分批次", "考生变化"]
    assert wb["说明"]["A1"].value == f"方案比较：{TITLE}"
    assert wb["说明"].page_setup.orientation == "landscape" and wb["说明"].page_setup.fitToWidth == 1
    for name in wb.sheetnames[1:]:
        assert_printable(wb[name])
        assert_chinese_headers(wb[name])
    changed = rows_of(wb["考生变化"])
    row = dict(zip(changed[0], changed[1]))
    assert row["考生号"] == "3" and row["录取结果（原方案）"] == "未录取" and row["录取结果（新方案）"] == "中职录取"
    assert row["变化"] == "新录取" and row["学校名称（新方案）"] == "学校S2"
    regions = wb["地区"]
    header = [c.value for c in regions[1]]
    assert regions.cell(row=2, column=header.index("初中应届毕业生数") + 1).number_format == "#,##0"
    assert regions.cell(row=2, column=header.index("中职占比（原方案）") + 1).number_format == "0.00%"
    explanation = rows_of(wb["说明"])
    assert ("改动", "取值", "原", "新", "规则") in explanation
    assert not [v for r in explanation for v in r if isinstance(v, str) and re.fullmatch(r"[A-Za-z ]+", v)]


def test_bound_workbook_in_chinese(tmp_path):
    from solver.analysis.flow import bound, write_bound

    sc = load_scenario_data(roster_scenario())
    out = write_bound(bound(sc), tmp_path / "bd")
    wb = openpyxl.load_workbook(out / "bound.xlsx")
    assert wb.sheetnames == ["概要", "学校", "流向（规则）", "流向（最大）", "流向明细"]
    for ws in wb.worksheets:
        assert_printable(ws)
    for name in ("概要", "学校", "流向明细"):
        assert_chinese_headers(wb[name])
    overview = rows_of(wb["概要"])
    assert overview[0] == ("项目", "人数") and wb["概要"]["B2"].number_format == "#,##0"


def test_plan_workbook_in_chinese(tmp_path):

    folder = write_csv_folder(contested(), tmp_path / "sc")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["plan-quotas", str(folder), "--total", "6", "--objective", "first-choice",
                                   "--min-change", "-50%", "--max-change", "+50%", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(out / "plan.xlsx")
    assert wb.sheetnames == ["概要", "计划", "地区", "学校"]
    for ws in wb.worksheets:
        assert_printable(ws)
        assert_chinese_headers(ws)
    plan = rows_of(wb["计划"])
    assert plan[0] == ("学校代码", "学校名称", "原计划", "新计划", "下限", "上限", "变化")
    assert plan[1][:4] == ("A", "学校A", 2, 3)
    summary = dict(rows_of(wb["概要"])[1:])
    assert summary["求解状态"] == "OPTIMAL" and summary["复算与预测一致"] == "是"


def test_counts_get_thousands_separators(tmp_path):
    from models.workbooks import Book

    book = Book()
    book.table("表", pd.DataFrame({"school_id": ["S1", "S2"], "quota": [12345, 2], "score": [498.5, 512.0],
                                  "graduates": [4000.0, None], "fill_rate": [0.5, 0.25]}), percent=("fill_rate",))
    book.save(tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["表"]
    assert [c.value for c in ws[1]] == ["学校代码", "招生计划", "中考成绩", "初中应届毕业生数", "完成率"]
    assert [c.value for c in ws[2]] == ["S1", 12345, 498.5, 4000, 0.5]
    assert ws["A2"].data_type == "s" and ws["B2"].number_format == "#,##0"
    assert ws["C2"].number_format == "General"  # a score with a fraction is shown as it is
    assert ws["D2"].number_format == "#,##0" and ws["D3"].value is None
    assert ws["E2"].number_format == "0.00%"


def test_long_tables_say_where_the_rest_is_and_text_is_escaped(tmp_path):
    from models.workbooks import Book

    book = Book()
    book.table("明细", pd.DataFrame({"detail": ["a < b & c", "x\x01y", "z"]}), limit=2, rest="violations.csv")
    book.save(tmp_path / "t.xlsx")
    rows = rows_of(openpyxl.load_workbook(tmp_path / "t.xlsx")["明细"])
    assert rows == [("详情",), ("a < b & c",), ("xy",), ("… 另有 1 行，见 violations.csv",)]


# export --------------------------------------------------------------------------------------------------

def test_export_writes_numbers_as_numbers_and_reads_back_the_same(tmp_path):
    data = roster_scenario()
    data["students"][0]["student_id"] = "0001"
    data["students"][1]["score"] = 480.5
    sc = load_scenario_data(data)
    write_scenario(sc, tmp_path / "sc.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "sc.xlsx")
    schools = rows_of(wb["schools"])
    quota = schools[0].index("quota")
    assert [r[quota] for r in schools[1:]] == [1, 1] and all(type(r[quota]) is int for r in schools[1:])
    regions = rows_of(wb["regions"])
    assert [r[regions[0].index("graduates")] for r in regions[1:]] == [3, 3]
    assert [r[regions[0].index("general_seats")] for r in regions[1:]] == [1, 0]
    students = rows_of(wb["students"])
    header = students[0]
    assert [r[header.index("score")] for r in students[1:3]] == [600, 480.5]
    assert students[1][header.index("student_id")] == "0001"  # ids stay text
    assert all(isinstance(r[header.index("region_id")], str) for r in students[1:])
    assert rows_of(wb["batches"])[1][0] == 1
    again = load_scenario(tmp_path / "sc.xlsx")
    for name in ("regions", "schools", "students"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(sc, name), check_dtype=False)


# charts ------------------------------------------------------------------------------------------------------

def test_the_cjk_font_is_registered_and_resolved():
    import mplfonts
    from matplotlib import font_manager, rcParams
    from matplotlib.ft2font import FT2Font

    from solver.analysis.fonts import font_path, use_cjk_font

    path = font_path()
    assert path is not None and Path(mplfonts.__file__).parent in path.parents
    family = use_cjk_font()
    assert family and rcParams["font.sans-serif"][0] == family
    assert str(path) in {f.fname for f in font_manager.fontManager.ttflist}
    found = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert Path(found) == path
    assert all(FT2Font(str(path)).get_char_index(ord(ch)) for ch in "中职占比未录取普职比")


def _sweep_report():
    from solver.analysis.sweep import sweep

    sc = load_scenario_data(roster_scenario(title=TITLE))
    return sweep(sc, [0.2, 0.5], workers=1)


def test_sweep_png_draws_chinese_without_missing_glyphs(tmp_path):
    from solver.analysis.sweep import chart_png

    report = _sweep_report()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart_png(report, tmp_path / "sweep.png")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing
    assert (tmp_path / "sweep.png").stat().st_size > 10_000


def test_sweep_html_labels_in_chinese(tmp_path):
    from solver.analysis.sweep import X_LABEL, chart_html

    chart_html(_sweep_report(), tmp_path / "sweep.html")
    html = (tmp_path / "sweep.html").read_text(encoding="utf-8")
    for label in (X_LABEL, "中职占比与高中阶段入学率", "未录取考生与中职空额", f"{TITLE}：普职比测算"):
        assert label in html or label.encode("unicode_escape").decode() in html, label
    assert "vocational share" not in html and "unplaced students" not in html
