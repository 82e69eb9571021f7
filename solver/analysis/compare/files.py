"""The files of a mechanism comparison: ``mechanisms.csv``, ``regions_by_mechanism.csv``,
``schools_by_mechanism.csv``, ``moves.csv``, ``pairs.csv``, ``compare.xlsx`` (the workbook a planner
forwards: Chinese sheets, headers and words; the CSV files keep the English names), ``compare.png`` and
``compare.html`` (the chart, in Chinese) and ``summary.json`` (last).  The caveat on strategic lists
(`CAVEAT`) is in summary.json, on the workbook's 说明 sheet and under the chart."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from models.results import summary_last, write_csv, write_json
from models.workbooks import COUNT, OUTCOME_LABELS, PERCENT, REGION, SCHOOL, Book, bold_cell, cell, labels
from solver.analysis.compare.report import (
    CAVEAT_ZH,
    CHANGE_LABELS,
    CHANGES,
    TOTAL,
    CompareReport,
    band_label,
)

COMPARE_FILES = ("mechanisms.csv", "regions_by_mechanism.csv", "schools_by_mechanism.csv", "moves.csv", "pairs.csv",
                 "compare.xlsx", "compare.png", "compare.html", "summary.json")
XLSX_ROWS = 100_000  # rows of the moves sheet; moves.csv holds every row
PERCENT_COLUMNS = ("first_choice_share", "envy_share", "vocational_share", "enrollment_rate", "fill_rate")
BY_LABELS = {"total": "合计", "score_band": "分数段", "region": "地区"}
KIND_LABELS = {"urban": "城区", "county": "县（市）", "vocational": "中职", "technical": "技工"}
SIDE = {"a": "甲", "b": "乙"}
NAMES = {
    "mechanism": "录取机制", "mechanism_name": "机制名称", "e": "每段志愿数 e", "same_as": "等同于",
    "took_part": "参加中职批次录取的考生", "placed_first_choice": "第一志愿录取",
    "first_choice_share": "第一志愿录取占比", "justified_envy_students": "有合理嫉妒的考生",
    "envy_share": "有合理嫉妒的考生占比",
    "seconds": "用时（秒）", "envy": "对该校有合理嫉妒的考生", "cutoff": "最低录取分", "mechanism_a": "机制甲",
    "mechanism_b": "机制乙", "region_name": "地区名称", "score_band": "分数段（下限）", "change": "变化",
    "by": "分组", "key": "代码", "name": "名称", "changed": "结果不同的考生", "net": "净得益（得益−受损）",
    **{k: v for k, v in CHANGE_LABELS.items()},
    **{f"{col}_{side}": f"{zh}（{word}）" for side, word in SIDE.items()
       for col, zh in (("outcome", "录取结果"), ("school_id", "录取学校代码"), ("school_name", "录取学校"),
                       ("batch", "批次"), ("choice_rank", "志愿序号"), ("envy", "有合理嫉妒"))},
}
ENVY_NOTE = ("合理嫉妒：考生被他填报在前的某校拒绝，而该校在同一批次录取了按排序规则（成绩、综合素质评价、考生号）"
             "排在他之后、他本可占用其名额的考生。平行志愿下没有这样的考生；顺序志愿下的人数就是“志愿优先”规则的代价。")
CHANGE_NOTES = {
    "gain": "机制乙下被录取而机制甲下未被录取，或两者都录取而考生自己的志愿表把机制乙下的学校排在前面"
            "（同一批次比志愿序号；不同批次时看录取所在批次的志愿表中是否填报了另一所学校及其位置）",
    "lose": "与“得益”相反",
    "move": "两种机制下都被录取，但志愿表不能说明孰先孰后：同一学校换了批次或志愿序号，"
            "或两所学校分属不同批次、没有出现在同一张志愿表中（后一批次的志愿是在前一批次结果之后补填的）",
    "other": "两种机制下都未被录取，但录取结果不同（未录取与未填报志愿）",
}


def write_compare(report: CompareReport, out_dir: Path | str) -> Path:
    """Every file of the comparison into ``out_dir``; ``summary.json`` written last."""
    from solver.analysis.compare.chart import chart_html, chart_png

    with summary_last(out_dir, report.timings) as out:
        write_csv(report.mechanisms, out / "mechanisms.csv")
        write_csv(report.regions, out / "regions_by_mechanism.csv")
        write_csv(report.schools, out / "schools_by_mechanism.csv")
        write_csv(report.moves, out / "moves.csv")
        write_csv(report.pairs, out / "pairs.csv")
        write_workbook(report, out / "compare.xlsx")
        chart_png(report, out / "compare.png")
        chart_html(report, out / "compare.html")
    summary = report.summary()
    summary["files"] = list(COMPARE_FILES)
    write_json(summary, out / "summary.json")
    return out


def _names(report: CompareReport) -> dict[str, str]:
    return {**NAMES, **{f"placed_rank_{k}": f"第{k}志愿录取" for k in range(1, report.max_choices + 1)}}


def write_workbook(report: CompareReport, path: Path) -> None:
    """compare.xlsx: 说明 (the caveat, the mechanisms, the changes defined, each pair's totals), 各机制, 各地区,
    各学校, 两两比较, 考生变动; Chinese headers, outcomes and changes in words, rates as percentages."""
    title = report.title or report.scenario
    book = Book(f"{title} 录取机制比较")
    _explanation_sheet(book, report, title)
    names = _names(report)
    pairs = report.pairs.copy()
    pairs["by"] = labels(pairs["by"], BY_LABELS)
    moves = report.moves.copy()
    for col in ("outcome_a", "outcome_b"):
        moves[col] = labels(moves[col], OUTCOME_LABELS)
    moves["change"] = labels(moves["change"], CHANGE_LABELS)
    regions, schools = report.regions.copy(), report.schools.copy()
    for frame in (regions, schools):
        frame["kind"] = labels(frame["kind"], KIND_LABELS)
    sheets: list[tuple[str, pd.DataFrame, dict[str, str], int, int | None]] = [
        ("各机制", report.mechanisms, names, 2, None), ("各地区", regions, {**names, **REGION}, 3, None),
        ("各学校", schools, {**names, **SCHOOL}, 3, None), ("两两比较", pairs, names, 2, None),
        ("考生变动", moves, names, 3, XLSX_ROWS)]
    for name, frame, headers, freeze, limit in sheets:
        book.table(name, frame, names=headers, freeze_columns=freeze, limit=limit, rest="moves.csv",
                   percent=PERCENT_COLUMNS)
    book.save(path)


def _explanation_sheet(book: Book, report: CompareReport, title: str) -> None:
    ws = book.sheet("说明", widths=(30, 18, 18, 18, 18, 18, 18))
    ws.append([bold_cell(ws, f"录取机制比较：{title}")])
    ws.append([])
    for line in textwrap.wrap(CAVEAT_ZH, 60):
        ws.append([bold_cell(ws, line)])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("录取机制", "机制名称", "等同于", "中职录取", "未录取", "第一志愿录取占比",
                                          "有合理嫉妒的考生")])
    for r in report.mechanisms.to_dict("records"):
        ws.append([r["mechanism"], r["mechanism_name"], r["same_as"] or "",
                   cell(ws, r["vocational"], number_format=COUNT), cell(ws, r["unplaced"], number_format=COUNT),
                   cell(ws, r["first_choice_share"], number_format=PERCENT),
                   cell(ws, r["justified_envy_students"], number_format=COUNT)])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("机制甲 → 机制乙", "结果不同的考生", *(CHANGE_LABELS[k] for k in CHANGES),
                                          "净得益")])
    for r in report.pair_totals().to_dict("records"):
        ws.append([f"{r['mechanism_a']} → {r['mechanism_b']}", cell(ws, int(r["changed"]), number_format=COUNT),
                   *(cell(ws, int(r[k]), number_format=COUNT) for k in CHANGES),
                   cell(ws, int(r["net"]), number_format=COUNT)])
    ws.append([])
    ws.append([bold_cell(ws, "变化（以考生自己的志愿衡量，从机制甲到机制乙）")])
    for k in CHANGES:
        ws.append([CHANGE_LABELS[k], CHANGE_NOTES[k]])
    ws.append([])
    for line in textwrap.wrap(ENVY_NOTE, 60):
        ws.append([line])
    ws.append([f"分数段：每 {report.band:g} 分一段，如 {band_label(400.0, report.band)} 含 400 分、不含 "
               f"{400 + report.band:g} 分；{TOTAL}行为全部考生。"])
    ws.append(["每种机制都用于情景的全部批次；各机制使用同一批考生、同一份志愿、同样的计划。"])
    ws.append(["moves.csv：每对机制下结果不同的每名考生；pairs.csv：按分数段和地区的统计。"])
