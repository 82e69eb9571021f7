"""Column headers and cell values as planners write them, mapped to the names of FORMATS.md.

Headers may be English (any case, spaces or hyphens for underscores) or Chinese as the admission
system exports them (考生号, 学籍所在地, 中考成绩 ...).  Unknown columns are kept as they are.
"""

from __future__ import annotations

import re

_CHINESE_ORDINALS = "一二三四五六七八九十"

# Per table: alias -> canonical name.  Keys are compared after `_norm`.
_COMMON = {
    "学校代码": "school_id", "院校代码": "school_id", "学校编号": "school_id", "招生学校": "school_id",
    "地区代码": "region_id", "区县代码": "region_id", "县市区": "region_id", "县（市、区）": "region_id",
    "地区": "region_id", "单位": "region_id", "所在地": "region_id",
    "考生号": "student_id", "学生编号": "student_id", "学籍号": "student_id", "准考证号": "student_id",
}

ALIASES: dict[str, dict[str, str]] = {
    "regions": {
        **_COMMON,
        "名称": "name", "地区名称": "name", "县市区名称": "name",
        "类型": "kind", "类别": "kind",
        "应届初中毕业生数": "graduates", "初中应届毕业生总数": "graduates", "毕业生数": "graduates",
        "普高计划": "general_seats", "普通高中招生计划": "general_seats", "普高招生计划": "general_seats",
        "普高最低录取控制分数线": "general_cutoff", "普高控制线": "general_cutoff", "普高分数线": "general_cutoff",
    },
    "schools": {
        **_COMMON,
        "学校名称": "name", "名称": "name", "院校名称": "name",
        "学校类别": "kind", "类别": "kind", "办学类型": "kind",
        "所在地": "region_id", "坐落地": "region_id",
        "招生计划": "quota", "招生任务": "quota", "中等职业教育招生任务": "quota", "计划数": "quota",
        "是否备案": "registered", "备案": "registered", "列入目录": "registered",
        "需面试": "requires_interview", "面试": "requires_interview", "是否面试": "requires_interview",
    },
    "subquotas": {**_COMMON, "招生计划": "quota", "分配计划": "quota", "计划数": "quota"},
    "students": {
        **_COMMON,
        "学籍所在地": "region_id",
        "姓名": "student_name",
        "中考成绩": "score", "初中毕业考试成绩": "score", "成绩": "score", "总分": "score",
        "综合素质评价": "evaluation", "综合素质评价等级": "evaluation",
        "考生类别": "cohort", "应往届": "cohort",
        "初中毕业证": "certificate", "毕业证": "certificate",
        "报考普高": "applies_general", "填报普高志愿": "applies_general",
        "摇号": "lottery", "随机号": "lottery",
    },
    "declines": {**_COMMON, "批次": "batch"},
    "interviews": {**_COMMON, "面试学校": "school_id"},
    "batches": {
        "批次": "id", "编号": "id", "名称": "name", "批次名称": "name", "志愿": "choices",
        "开始": "open", "预录": "admit_by", "确认": "confirm_by",
    },
}

# 第一志愿 -> choice_1;  第二批次第一志愿 -> batch2_choice_1;  补录第一志愿 -> batch3_choice_1
_CHOICE_ZH = re.compile(r"^(?:第([一二三四五六七八九十\d]+)批次?)?第([一二三四五六七八九十\d]+)志愿$")
_CHOICE_EN = re.compile(r"^(?:(?P<list>[a-z][a-z0-9]*)_)?choice_?(?P<k>\d+)$")


def _norm(header: str) -> str:
    text = str(header).strip().replace("\ufeff", "")
    if text.isascii():
        text = re.sub(r"[\s\-]+", "_", text.lower())
    return text


def _ordinal(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
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


def canonical_header(table: str, header: str) -> str:
    """The FORMATS.md name of a header in ``table``, or the header itself (normalised) if unknown."""
    key = _norm(header)
    aliases = ALIASES.get(table, {})
    if key in aliases:
        return aliases[key]
    m = _CHOICE_ZH.match(key)
    if m and table == "students":
        batch = _ordinal(m.group(1)) if m.group(1) else 1
        return choice_column("choices" if batch == 1 else f"batch{batch}", _ordinal(m.group(2)))
    if key.startswith("补录") and _CHOICE_ZH.match(key[2:]) and table == "students":
        return choice_column("batch3", _ordinal(_CHOICE_ZH.match(key[2:]).group(2)))
    parsed = parse_choice_column(key)
    if parsed and table == "students":
        return choice_column(*parsed)
    return key


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
