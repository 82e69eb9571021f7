"""The empty scenario workbook a planner downloads and fills in Excel (issue #13.1): the sheets the loader
reads (`models.workbook_files.SHEETS`: 设置, 批次, 地区, 学校, 分配计划, 考生, 放弃, 面试) under Chinese headers
that `models.headers.COLUMNS` understands (考生号, 学籍所在地, 中考成绩, 第一志愿 …), and a 说明 sheet, which the
loader skips, explaining every column: what it holds, whether it is required, and the rule (R1-R12) or
docs/formats.md clause behind it.

The settings (设置) and the batches (批次) come filled with the defaults of docs/formats.md (two choices, the
general stage by seats, two batches, the second falling back to the original list) so that a filled workbook
loads as it is; every other sheet has its header row only.  Id columns (考生号, 学校代码, 地区代码, the choices)
are formatted as text, so that Excel keeps leading zeros and long ids exactly (docs/formats.md, "Files as
offices save them").
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.workbook_files import SHEETS


@dataclass(frozen=True)
class Column:
    """One column of a template sheet: its Chinese header, whether the loader needs it, a text cell (ids)
    or not, and the line of the 说明 sheet."""

    header: str
    required: bool
    text: bool
    note: str


# The settings (sheet 设置): key in column A, value in column B (docs/formats.md, scenario.yaml).
SETTINGS: list[tuple[str, Any, str]] = [
    ("name", "我的情景", "情景名称（英文或中文，不含空格为宜），必填"),
    ("title", "某市2025年中等职业学校招生", "显示在各工作簿标题上的名称，可空"),
    ("year", 2025, "招生年份，必填"),
    ("max_choices", 2, "每批次最多可填志愿数（R3，衡阳 §八.三 为 2）"),
    ("general_stage", "seats", "普高阶段（R4）：seats 按普高计划人数，cutoff 按普高控制线，none 不录普高"),
    ("tie_break", "score, evaluation, student_id", "同校同轮次的排序（R6）：成绩高者先，再综合素质评价，再考生号"),
]

# The batches (sheet 批次), one row each (R5, R11).
BATCHES: list[Column] = [
    Column("批次编号", True, False, "批次序号 1、2、3 …，按先后（R5）"),
    Column("批次名称", True, False, "如 第一批次、第二批次、调剂补录"),
    Column("志愿表", True, False,
           "该批次读取的志愿：choices 为原志愿（第一志愿 …），batch2 为第二批次志愿（第二批次第一志愿 …）"),
    Column("沿用原志愿", False, False, "是 / 否：未填本批次志愿者沿用原志愿（R5）"),
    Column("开始日期", False, False, "批次开始日期 YYYY-MM-DD；空则为上一批次的确认截止日（R11）"),
    Column("预录截止", True, False, "预录取截止日期 YYYY-MM-DD（R11）"),
    Column("确认截止", True, False, "确认截止日期 YYYY-MM-DD（R9, R11）"),
]
BATCH_ROWS: list[list[Any]] = [
    [1, "第一批次", "choices", "否", "2025-07-10", "2025-07-20", "2025-07-22"],
    [2, "第二批次", "batch2", "是", "", "2025-07-24", "2025-07-26"],
]

TABLES: dict[str, list[Column]] = {
    "地区": [
        Column("地区代码", True, True, "县（市、区）代码，唯一；考生的学籍所在地、学校的所在地引用它"),
        Column("地区名称", True, False, "如 珠晖区"),
        Column("类型", True, False, "城区 或 县（也可写 urban / county）"),
        Column("应届初中毕业生数", True, False, "初中应届毕业生总数（普职比、入学率的分母）"),
        Column("普高计划", False, False, "普通高中招生计划人数（R4，general_stage 为 seats 时必填）"),
        Column("普高最低录取控制分数线", False, False, "普高控制线（R4，general_stage 为 cutoff 时必填）"),
    ],
    "学校": [
        Column("学校代码", True, True, "学校代码，唯一；志愿、分配计划引用它（也可用唯一的学校名称）"),
        Column("学校名称", True, False, "学校全称"),
        Column("学校类别", True, False, "中职 或 技工（也可写 vocational / technical）"),
        Column("所在地", False, True, "学校所在地区代码；市外学校可空"),
        Column("招生计划", True, False, "招生计划（最高限额，R7），整数"),
        Column("备案", False, False, "是 / 否：是否列入招生目录（R2），空为是"),
        Column("是否面试", False, False, "是 / 否：是否需面试（R3），空为否；面试通过者列在“面试”表"),
    ],
    "分配计划": [
        Column("学校代码", True, True, "市属学校代码"),
        Column("地区代码", True, True, "分配到的县（市、区）代码"),
        Column("分配计划", True, False, "该地区考生在该校的录取上限（R8）；同一学校各地区之和不超过其招生计划"),
    ],
    "考生": [
        Column("考生号", True, True, "考生号，唯一（R6 排序的最后一项）"),
        Column("学籍所在地", True, True, "学籍所在地区代码（或唯一的地区名称）"),
        Column("中考成绩", True, False, "中考总分（R4, R6）"),
        Column("综合素质评价", True, False, "A、B、C、D（或 优秀、良好、合格、待合格；R6：成绩相同时等级高者优先）"),
        Column("考生类别", False, False, "应届 或 往届，空为应届（R1）"),
        Column("初中毕业证", False, False, "是 / 否，空为是；应届无毕业证者不能录入中职（R1）"),
        Column("报考普高", False, False, "是 / 否，空为是：是否参加普高录取（R4）"),
        Column("第一志愿", False, True, "第一批次第一志愿学校代码（R3）"),
        Column("第二志愿", False, True, "第一批次第二志愿学校代码（R3）"),
        Column("第二批次第一志愿", False, True, "第二批次第一志愿学校代码（R5）；空则按“沿用原志愿”"),
        Column("第二批次第二志愿", False, True, "第二批次第二志愿学校代码（R5）"),
        Column("姓名", False, False, "考生姓名：规则不读，原样带入录取名册"),
    ],
    "放弃": [
        Column("考生号", True, True, "放弃该批次录取的考生（R9）"),
        Column("批次", True, False, "放弃的批次编号"),
    ],
    "面试": [
        Column("考生号", True, True, "面试通过的考生（R3）"),
        Column("学校代码", True, True, "面试通过的学校代码"),
    ],
}

# The table each sheet holds, as the loader names it.
TABLE_OF = {sheet: SHEETS[sheet] for sheet in ("设置", "批次", *TABLES)}


def _notes(notes: Any) -> None:
    """The 说明 sheet: a line per column of every sheet."""
    from openpyxl.styles import Alignment, Font

    notes.title = "说明"
    notes.append(["中等职业学校招生情景模板（zhaosheng）"])
    notes["A1"].font = Font(bold=True, size=14)
    notes.append(["按各工作表填写后，在工作台“情景”页上传本文件。浅黄色表头为必填列；代码列已设为文本格式，"
                  "请勿改为数字（长考生号会丢失末位）。本“说明”表不会被读取。"])
    notes.append([])
    notes.append(["工作表", "列", "必填", "说明"])
    for c in notes[4]:
        c.font = Font(bold=True)
    for key, _value, text in SETTINGS:
        notes.append(["设置", key, "是" if key in ("name", "year") else "否", text])
    for sheet, columns in {"批次": BATCHES, **TABLES}.items():
        for column in columns:
            notes.append([sheet, column.header, "是" if column.required else "否", column.note])
    for letter, width in zip("ABCD", (12, 26, 8, 90)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=5):
        row[3].alignment = Alignment(wrap_text=True, vertical="top")


def _table(ws: Any, columns: list[Column]) -> None:
    """A header row (required columns shaded), widths, text cells for the id columns, the header frozen."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.append([c.header for c in columns])
    for i, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        dimension = ws.column_dimensions[get_column_letter(i)]
        dimension.width = max(10, 2 * len(column.header) + 4)
        if column.text:
            dimension.number_format = "@"  # the whole column as text: what is typed into it stays text
    ws.freeze_panes = "A2"


def write_template(path: Path | str | io.BytesIO) -> None:
    """The empty scenario workbook, with the 说明 sheet first."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    _notes(wb.active)
    settings = wb.create_sheet("设置")
    settings.append(["项目", "值"])
    for c in settings[1]:
        c.font = Font(bold=True)
    for key, value, _text in SETTINGS:
        settings.append([key, value])
    settings.column_dimensions["A"].width, settings.column_dimensions["B"].width = 18, 40
    for sheet, columns in {"批次": BATCHES, **TABLES}.items():
        ws = wb.create_sheet(sheet)
        _table(ws, columns)
        if sheet == "批次":
            for row in BATCH_ROWS:
                ws.append(row)
    wb.save(path)


def template_bytes() -> bytes:
    buf = io.BytesIO()
    write_template(buf)
    return buf.getvalue()
