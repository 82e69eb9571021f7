"""The empty template workbook (issue #13.1, `models.template`): every header is one the loader reads, the
说明 sheet explains every column, and the template filled with a tiny scenario in Excel's way (ids typed
into text cells, Chinese words for kinds and flags) loads and runs as written."""

from __future__ import annotations

import openpyxl

from models import load_scenario
from models.headers import canonical_header
from models.template import BATCHES, SETTINGS, TABLE_OF, TABLES, template_bytes, write_template
from solver.engine.sequential import run_sequential


def test_every_header_is_understood_and_explained(tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["说明", "设置", "批次", "地区", "学校", "分配计划", "考生", "放弃", "面试"]
    explained = {(r[0], r[1]) for r in wb["说明"].iter_rows(min_row=5, values_only=True)}
    for sheet, columns in {"批次": BATCHES, **TABLES}.items():
        header = [c.value for c in wb[sheet][1]]
        assert header == [c.header for c in columns]
        for h in header:
            assert canonical_header(TABLE_OF[sheet], h) is not None, (sheet, h)
            assert (sheet, h) in explained
    assert {k for k, _, _ in SETTINGS} <= {c for s, c in explained if s == "设置"}
    assert [c.value for c in wb["考生"][1]][:4] == ["考生号", "学籍所在地", "中考成绩", "综合素质评价"]
    assert wb["考生"].column_dimensions["A"].number_format == "@"  # ids stay text in Excel
    assert wb["考生"].max_row == 1  # rows typed or appended start on row 2
    assert template_bytes()[:2] == b"PK"


def test_the_template_filled_with_a_tiny_scenario_loads_and_runs(tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    wb = openpyxl.load_workbook(path)
    wb["地区"].append(["430401", "珠晖区", "城区", 10, 1, None])
    wb["地区"].append(["430421", "衡阳县", "县", 10, 1, None])
    wb["学校"].append(["S01", "衡阳市职业中专", "中职", "430401", 2, "是", "否"])
    wb["学校"].append(["S02", "衡阳县职业中专", "技工", "430421", 1, "是", "否"])
    wb["分配计划"].append(["S01", "430421", 1])
    rows = [("0001", "430401", 600, "A", ["S01"]), ("0002", "430401", 500, "B", ["S01", "S02"]),
            ("0003", "430421", 490, "A", ["S01", "S02"]), ("0004", "430421", 480, "B", ["S01", "S02"]),
            ("0005", "430421", 610, "A", [])]
    for sid, reg, score, ev, choices in rows:
        first, second = (choices + [None, None])[:2]
        wb["考生"].append([sid, reg, score, ev, "应届", "是", "是", first, second, None, None, f"考生{sid}"])
    wb["放弃"].append(["0004", 1])
    wb.save(path)

    scenario = load_scenario(path)
    assert scenario.name == "我的情景" and len(scenario.students) == 5
    assert list(scenario.students["student_id"]) == ["0001", "0002", "0003", "0004", "0005"]  # leading zeros kept
    result = run_sequential(scenario)
    outcome = dict(zip(result.admissions["student_id"], result.admissions["outcome"]))
    # 0001 and 0005 take the general seats of their regions (R4); 0002 and 0003 get S01 (0003 by the
    # sub-quota of 衡阳县, R8); 0004 is turned away by S01's share for 衡阳县 and declines S02 in batch 1 (R9)
    assert outcome["0001"] == "general" and outcome["0005"] == "general"
    assert outcome["0002"] == "vocational" and outcome["0003"] == "vocational"
