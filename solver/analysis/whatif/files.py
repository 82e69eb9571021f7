"""The files of a what-if: ``baseline/`` and ``variant/`` (every result file of docs/formats.md),
``changes.csv``, the comparison tables, ``whatif.xlsx`` (the workbook a planner forwards: Chinese sheets,
headers and words; the CSV files keep the English names) and ``summary.json``."""

from __future__ import annotations

from pathlib import Path

from models.results import display_name, summary_last, write_csv, write_json
from models.workbooks import (
    COUNT,
    OUTCOME_LABELS,
    PERCENT,
    REGION,
    SCHOOL,
    Book,
    bold_cell,
    cell,
    labels,
    zh_header,
)
from solver.analysis.whatif.compare import WhatIfReport
from solver.run import write_outputs

WHATIF_FILES = ("changes.csv", "regions_compare.csv", "schools_compare.csv", "schools_by_batch_compare.csv",
                "whatif.xlsx", "summary.json")
XLSX_ROWS = 100_000  # rows of the changed-students sheet; changes.csv holds every row
KIND_LABELS = {"placed": "新录取", "lost": "不再录取", "moved": "改录他校", "reordered": "同校改批次或志愿",
               "other": "其他"}
PERCENT_COLUMNS = ("vocational_share", "enrollment_rate", "fill_rate")


def write_whatif(report: WhatIfReport, out_dir: Path | str, baseline: bool = True) -> Path:
    """``baseline/`` and ``variant/`` (the full result files of docs/formats.md), ``changes.csv`` (the
    changed students), ``regions_compare.csv``, ``schools_compare.csv``, ``schools_by_batch_compare.csv``,
    ``whatif.xlsx`` (for a planner to forward) and ``summary.json`` (written last).  ``baseline=False``: without
    ``baseline/`` (a set of what-ifs writes it once, `solver.analysis.whatif.sets`)."""
    with summary_last(out_dir, report.timings) as out:
        if baseline:
            write_outputs(report.baseline, out / "baseline")
        write_outputs(report.variant, out / "variant")
        write_csv(report.changed, out / "changes.csv")
        write_csv(report.regions, out / "regions_compare.csv")
        write_csv(report.schools, out / "schools_compare.csv")
        write_csv(report.schools_by_batch, out / "schools_by_batch_compare.csv")
        write_workbook(report, out / "whatif.xlsx")
    write_json(report.summary(), out / "summary.json")
    return out


def write_workbook(report: WhatIfReport, path: Path) -> None:
    """whatif.xlsx: 说明 (the changes and the totals), 地区, 学校, 学校分批次, 考生变化; Chinese headers
    (`models.workbooks.zh_header`), outcomes and kinds of change in words, rates as percentages, every
    sheet set up to print."""
    title = display_name(report.baseline.scenario)
    book = Book(f"{title} 方案比较")
    _explanation_sheet(book, report, title)
    changed = report.changed.copy()
    for col in ("outcome_baseline", "outcome_variant"):
        changed[col] = labels(changed[col], OUTCOME_LABELS)
    changed["change"] = labels(changed["change"], KIND_LABELS)
    sheets = [("地区", report.regions, REGION, None), ("学校", report.schools, SCHOOL, None),
              ("学校分批次", report.schools_by_batch, SCHOOL, None), ("考生变化", changed, None, XLSX_ROWS)]
    for name, frame, names, limit in sheets:
        book.table(name, frame, names=names, freeze_columns=2, limit=limit, rest="changes.csv", percent=PERCENT_COLUMNS)
    book.save(path)


def _explanation_sheet(book: Book, report: WhatIfReport, title: str) -> None:
    """说明: what was changed, the totals before and after, and how many students the change moved."""
    totals, vacancies, kinds = report.total_rows(), report.vacancies(), report.changed_by_kind()
    ws = book.sheet("说明", widths=(28, 22, 22, 22, 22))
    ws.append([bold_cell(ws, f"方案比较：{title}")])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("改动", "取值", "原", "新", "规则")])
    for c in report.changes:
        ws.append([c.key, c.value, c.before, c.after, c.rule])
    ws.append([])
    ws.append([bold_cell(ws, h) for h in ("合计", "原方案", "新方案", "变化")])
    for key, row in totals.items():
        fmt = PERCENT if key in PERCENT_COLUMNS else COUNT
        ws.append([zh_header(key)] + [cell(ws, row.get(side), number_format=fmt)
                                      for side in ("baseline", "variant", "change")])
    ws.append(["空额"] + [cell(ws, v, number_format=COUNT) for v in
                         (vacancies["baseline"], vacancies["variant"], vacancies["variant"] - vacancies["baseline"])])
    ws.append([])
    ws.append([bold_cell(ws, "结果改变的考生"), cell(ws, len(report.changed), number_format=COUNT)])
    for kind, n in kinds.items():
        ws.append([KIND_LABELS.get(kind, kind), cell(ws, n, number_format=COUNT)])
    ws.append([])
    ws.append(["baseline/ 与 variant/ 文件夹：两次运行的全部结果文件；changes.csv：每个结果改变的考生。"])
