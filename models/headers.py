"""Column headers and cell values as planners write them, mapped to the names of docs/formats.md.

Every header of an input table is either known (a docs/formats.md name or one of its synonyms below, in
English or in Chinese as the admission systems export them: 考生号, 学籍所在地, 中考成绩, 第一志愿学校代码
...), declared as an extra column in ``scenario.yaml`` (``extra_columns``), or reported as an error by
`models.validate` with the nearest known names.  Nothing unrecognized is silently kept or dropped.
"""

from __future__ import annotations

import difflib
import re

_CHINESE_ORDINALS = "一二三四五六七八九十"
_NUM = rf"[{_CHINESE_ORDINALS}\d]+"

# Per table: canonical name -> synonyms.  Compared after `normalize`; the first synonym is the one
# shown beside the canonical name in messages ("did you mean `quota` (招生计划)?").
_STUDENT_ID = ("考生号", "准考证号", "学生编号", "考籍号")
_SCHOOL_ID = ("学校代码", "院校代码", "学校编号", "招生学校代码", "招生学校")
_REGION_ID = ("地区代码", "区县代码", "县市区代码", "县市区", "县(市、区)", "地区", "单位", "所在地")
_NOTE = ("备注",)

COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "regions": {
        "region_id": _REGION_ID,
        "name": ("地区名称", "名称", "县市区名称"),
        "kind": ("类型", "类别", "地区类型"),
        "graduates": ("应届初中毕业生数", "初中应届毕业生总数", "初中应届毕业生数", "毕业生数"),
        "general_seats": ("普高计划", "普通高中招生计划", "普高招生计划"),
        "general_cutoff": ("普高最低录取控制分数线", "普高控制线", "普高分数线", "普高录取控制线"),
        "note": _NOTE,
    },
    "schools": {
        "school_id": _SCHOOL_ID,
        "name": ("学校名称", "名称", "院校名称"),
        "kind": ("学校类别", "类别", "办学类型", "学校类型"),
        "region_id": ("所在地", "坐落地", "所在地区", "地区代码", "区县代码", "地区"),
        "quota": ("招生计划", "计划数", "招生计划数", "招生任务", "中等职业教育招生任务"),
        "registered": ("备案", "备案情况", "是否备案", "列入目录", "是否列入目录"),
        "requires_interview": ("是否面试", "需面试", "面试"),
        "note": _NOTE,
    },
    "subquotas": {
        "school_id": _SCHOOL_ID,
        "region_id": _REGION_ID + ("分配地区",),
        "quota": ("分配计划", "招生计划", "计划数", "分配数"),
        "school_name": ("学校名称", "院校名称"),
        "region_name": ("地区名称", "县市区名称"),
        "note": _NOTE,
    },
    "students": {
        "student_id": _STUDENT_ID,
        "region_id": ("学籍所在地", "地区代码", "区县代码", "县市区", "县(市、区)", "地区", "所在地"),
        "score": ("中考成绩", "初中毕业考试成绩", "成绩", "总分", "中考总分"),
        "evaluation": ("综合素质评价", "综合素质评价等级", "综评等级"),
        "cohort": ("考生类别", "应往届", "应往届别"),
        "certificate": ("初中毕业证", "毕业证", "是否有毕业证"),
        "applies_general": ("报考普高", "填报普高志愿", "是否报考普高"),
        "lottery": ("摇号", "随机号"),
        "student_name": ("姓名", "考生姓名", "学生姓名", "name"),
        "gender": ("性别", "sex"),
        "middle_school": ("毕业学校", "初中学校", "毕业初中", "就读学校"),
        "student_number": ("学籍号",),
        "note": _NOTE,
    },
    "declines": {
        "student_id": _STUDENT_ID,
        "batch": ("批次", "放弃批次"),
        "student_name": ("姓名", "考生姓名"),
        "student_number": ("学籍号",),
        "note": _NOTE,
    },
    "interviews": {
        "student_id": _STUDENT_ID,
        "school_id": _SCHOOL_ID + ("面试学校", "面试学校代码"),
        "student_name": ("姓名", "考生姓名"),
        "student_number": ("学籍号",),
        "school_name": ("学校名称",),
        "note": _NOTE,
    },
    "admissions": {  # a published result (docs/formats.md, "A run's results"), as an audit reads it
        "student_id": _STUDENT_ID + ("student",),
        "region_id": ("学籍所在地",) + _REGION_ID + ("region",),
        "outcome": ("录取结果", "结果", "录取类别", "录取状态", "result"),
        "school_id": ("录取学校", "录取院校", "录取学校代码", "录取院校代码") + _SCHOOL_ID + ("school",),
        "batch": ("录取批次", "批次", "批次代码"),
        "choice_rank": ("志愿序号", "第几志愿", "志愿顺序", "录取志愿", "rank", "choice"),
        "admit_date": ("录取日期", "预录日期", "预录取日期"),
        "confirm_date": ("确认日期", "确认时间"),
        "confirmed": ("是否确认", "确认", "已确认"),
        "student_name": ("姓名", "考生姓名"),
        "student_number": ("学籍号",),
        "school_name": ("录取学校名称", "学校名称", "院校名称"),
        "region_name": ("地区名称", "县市区名称"),
        "score": ("中考成绩", "成绩", "总分"),
        "note": _NOTE,
    },
    "batches": {
        "id": ("批次", "编号", "批次编号"),
        "name": ("名称", "批次名称"),
        "choices": ("志愿", "志愿表"),
        "fallback": ("沿用原志愿",),
        "open": ("开始", "开始日期"),
        "admit_by": ("预录", "预录截止"),
        "confirm_by": ("确认", "确认截止"),
        "mechanism": ("录取方式",),
        "e": (),
    },
}

COLUMNS["offers"] = COLUMNS["admissions"]

# A synonym used only where no other header of the table names that column: 学籍号 is the id where no
# 考生号 is given, and a carried column (``student_number``) beside one.
FALLBACK = {"学籍号": "student_id"}

# Columns the rules do not read, kept as given and carried into the outputs (names, notes).
CARRIED = ("student_name", "gender", "middle_school", "student_number", "school_name", "region_name", "note")

# Chinese labels of the carried columns, for the workbooks a planner forwards.
CARRIED_LABELS = {"student_name": "姓名", "gender": "性别", "middle_school": "毕业学校", "student_number": "学籍号",
                  "school_name": "学校名称", "region_name": "地区名称", "note": "备注"}

# 第一志愿, 第一志愿学校代码, 第1志愿代码, 志愿1, 第二批次第一志愿, 第二批志愿2, 补录第一志愿 ...
_CHOICE_ZH = re.compile(
    rf"^(?:(?P<makeup>补录)|第?(?P<batch>{_NUM})批次?)?(?:第(?P<k>{_NUM})志愿|志愿(?P<k2>{_NUM}))"
    r"(?:学校)?(?:代码|编号|名称)?$")
_CHOICE_EN = re.compile(r"^(?:(?P<list>[a-z][a-z0-9]*)_)?choice_?(?P<k>\d+)$")


def normalize(header: object) -> str:
    """A header as compared: BOM and spaces removed, full-width brackets folded; ASCII lower-cased with
    spaces and hyphens as underscores."""
    text = str(header).replace("\ufeff", "").strip()
    if text.isascii():
        return re.sub(r"[\s\-]+", "_", text.lower())
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")")


def _ordinal(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _CHINESE_ORDINALS.index(token[1]) + 1
    return _CHINESE_ORDINALS.index(token) + 1


def choice_column(list_name: str, k: int) -> str:
    """Column of the k-th choice (1-based) of a choice list: ``choices`` -> ``choice_k``."""
    return f"choice_{k}" if list_name == "choices" else f"{list_name}_choice_{k}"


def parse_choice_column(name: str) -> tuple[str, int] | None:
    """``choice_2`` -> ("choices", 2); ``batch2_choice_1`` -> ("batch2", 1); anything else -> None."""
    m = _CHOICE_EN.match(name)
    if not m:
        return None
    return (m.group("list") or "choices", int(m.group("k")))


def _chinese_choice(key: str) -> str | None:
    m = _CHOICE_ZH.match(key)
    if not m:
        return None
    try:
        k = _ordinal(m.group("k") or m.group("k2"))
        batch = 3 if m.group("makeup") else (_ordinal(m.group("batch")) if m.group("batch") else 1)
    except (ValueError, IndexError):
        return None
    if k < 1 or batch < 1:
        return None
    return choice_column("choices" if batch == 1 else f"batch{batch}", k)


def canonical_header(table: str, header: object) -> str | None:
    """The docs/formats.md name of ``header`` in ``table``, or None when it is not a known column."""
    key = normalize(header)
    columns = COLUMNS.get(table, {})
    if key in columns:
        return key
    for name, synonyms in columns.items():
        if key in synonyms:
            return name
    if table == "students":
        parsed = parse_choice_column(key)
        if parsed:
            return choice_column(*parsed)
        return _chinese_choice(key)
    return None


def known_names(table: str) -> list[tuple[str, str]]:
    """(canonical name, first synonym) of every column of ``table``, for messages."""
    return [(name, synonyms[0] if synonyms else "") for name, synonyms in COLUMNS.get(table, {}).items()]


def suggestion(table: str, header: object) -> str:
    """' did you mean `choice_1` (第一志愿)?' with the nearest known names, or '' when none is near."""
    key = normalize(header)
    labels: dict[str, str] = {}  # candidate text -> how it is shown
    for name, synonyms in COLUMNS.get(table, {}).items():
        shown = f"`{name}` ({synonyms[0]})" if synonyms else f"`{name}`"
        for candidate in (name, *synonyms):
            labels.setdefault(candidate, shown)
    if table == "students":
        for k, zh in ((1, "一"), (2, "二"), (3, "三")):
            labels[f"choice_{k}"] = labels[f"第{zh}志愿"] = labels[f"志愿{k}"] = f"`choice_{k}` (第{zh}志愿)"
            labels[f"batch2_choice_{k}"] = labels[f"第二批次第{zh}志愿"] = f"`batch2_choice_{k}` (第二批次第{zh}志愿)"
    near = difflib.get_close_matches(key, list(labels), n=6, cutoff=0.5)
    nearest = list(dict.fromkeys(labels[n] for n in near))[:3]
    return f" did you mean {' or '.join(nearest)}?" if nearest else ""


# Cell values -------------------------------------------------------------------------------------

TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "有", "√", "已备案", "需要"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "无", "未备案", "不需要", "×"}

COHORTS = {"fresh": "fresh", "应届": "fresh", "former": "former", "往届": "former", "other": "other", "其他": "other"}
SCHOOL_KINDS = {"vocational": "vocational", "中职": "vocational", "中专": "vocational", "职高": "vocational",
                "technical": "technical", "技工": "technical", "技校": "technical"}
REGION_KINDS = {"urban": "urban", "城区": "urban", "市城区": "urban", "区": "urban",
                "county": "county", "县": "county", "县市": "county", "县（市）": "county", "市": "county"}
EVALUATION_GRADES = {"A": 4, "B": 3, "C": 2, "D": 1, "优秀": 4, "优": 4, "良好": 3, "良": 3,
                     "合格": 2, "待合格": 1, "不合格": 1}
