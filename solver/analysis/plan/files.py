"""A plan's files: quotas.csv, the predicted result files (the sequential re-run's, equal to the
prediction when ``rerun_equal``), plan.xlsx (the workbook a planner forwards, issue #10.7: Chinese
sheets and headers, set up to print) and summary.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.results import write_csv, write_json
from solver.analysis.plan.report import PlanReport
from solver.run import write_outputs


def write_plan(report: PlanReport, out_dir: Path | str) -> Path:
    """quotas.csv, the predicted result files (the sequential re-run's, equal to the prediction when
    ``rerun_equal``), plan.xlsx (quotas and regions) and summary.json (the plan's figures, and the
    re-run's own summary under ``outcome``)."""
    out_dir = Path(out_dir)
    outcome = None
    if report.rerun is not None:
        write_outputs(report.rerun, out_dir)
        outcome = report.rerun.summary()
    out_dir.mkdir(parents=True, exist_ok=True)
    table = report.quota_table()
    write_csv(table, out_dir / "quotas.csv")
    write_workbook(report, table, out_dir / "plan.xlsx")
    write_json({**report.summary(), "outcome": outcome}, out_dir / "summary.json")
    return out_dir


SUMMARY_LABELS = {  # summary.json's names as the workbook's 概要 shows them
    "status": "求解状态", "scenario": "方案", "objective": "目标", "sense": "方向", "objective_definition": "目标定义",
    "total": "计划总数", "objective_value": "目标值", "bound": "上界", "gap": "差距", "relative_gap": "相对差距",
    "optimal": "已证最优", "baseline_objective_current_quotas": "现行计划的目标值", "rerun_objective": "复算的目标值",
    "sequential re-run equals prediction": "复算与预测一致", "rerun_differences": "复算与预测不同的考生",
    "quota_total_before": "原计划合计", "quota_total_after": "新计划合计", "bounds_notes": "上下限说明",
    "model_size": "模型规模", "times": "用时（秒）",
}


def write_workbook(report: PlanReport, quotas: pd.DataFrame, path: Path) -> None:
    """plan.xlsx: 概要 (the plan's figures), 计划 (each school's quota before and after, its bounds), and the
    re-run's 地区 and 学校 tables."""
    from models.columns import text
    from models.results import display_name
    from models.workbooks import REGION, SCHOOL, Book

    summary = report.summary()
    overview = pd.DataFrame({"item": text([SUMMARY_LABELS.get(k, k) for k in summary]),
                             "value": text([shown(v) for v in summary.values()])})
    book = Book(f"{display_name(report.scenario)} 招生计划方案")
    book.table("概要", overview, freeze_columns=1)
    book.table("计划", quotas, names=SCHOOL, freeze_columns=2)
    if report.rerun is not None:
        book.table("地区", report.rerun.regions, names=REGION, freeze_columns=2,
                   percent=("vocational_share", "enrollment_rate"))
        book.table("学校", report.rerun.schools, names=SCHOOL, freeze_columns=2, percent=("fill_rate",))
    book.save(path)


def shown(value: object) -> str:
    """A summary value as text: counts with thousands separators, flags as 是/否."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return f"{int(v):,}" if v.is_integer() else f"{v:,.2f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(value)
