"""``zhaosheng trace``: why one student got his outcome (为什么), step by step with the deciding rule."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table

from api.cli.common import DEFAULT_SCENARIO, console, err_console, load, progress_display, show_problems
from models import ScenarioError

if TYPE_CHECKING:
    from solver.analysis.trace import Step, Trace


@click.command("trace")
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--student", "student_id", required=True, help="The student's id (考生号).")
@click.option("--english", is_flag=True, help="Add the English sentence of each step.")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON (what the API returns).")
def trace(scenario: str, student_id: str, english: bool, as_json: bool) -> None:
    """Why this outcome (为什么): the path of one student of SCENARIO through the rules, per batch and
    round, with the rule that decided each step (R1-R12).  Exit 2 for bad input or an unknown student."""
    import json

    from solver.analysis.trace import StudentNotFound, explain, prepare

    try:
        with progress_display(as_json) as progress:
            sc = load(scenario, progress)
            task = progress.add_task("admitting (sequential engine)", total=None)
            basis = prepare(sc)
            progress.remove_task(task)
    except ScenarioError as exc:
        show_problems(exc.problems)
        sys.exit(2)
    try:
        t = explain(basis, student_id)
    except StudentNotFound as exc:
        err_console.print(f"[red]{exc.args[0]}[/]")
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(t.as_dict(), ensure_ascii=False, indent=2))
        return
    console.print(trace_table(t, english))
    if not t.consistent:
        err_console.print("[red]the result does not follow from the rules at a step above[/]")


def trace_table(t: Trace, english: bool) -> Table:
    """A student's trace as a table with Chinese labels: 规则 rule, 批次 batch, 志愿 choice, 学校 school,
    结果 result, 最低分 the round's lowest admitted score (or the general cutoff), 说明 the reason (the step's
    sentence without the batch, choice and school the columns already show)."""
    where = f"，{t.school_name}（{t.school_id}）" if t.school_id else ""
    table = Table(title=f"考生 {t.student_id}（{t.region_name}，成绩 {t.score:g}，评价 {t.evaluation}）："
                        f"{t.outcome_zh}{where}", show_lines=True)
    for col in ("规则", "批次", "志愿", "学校", "结果", "最低分", "说明") + (("explanation",) if english else ()):
        table.add_column(col, overflow="fold", no_wrap=col in ("规则", "志愿", "结果", "最低分"))
    labels = {"general": "普高录取", "general_not_reached": "普高未录取", "general_not_applied": "未报普高",
              "admitted": "录取", "confirmed": "确认", "declined": "放弃", "not_considered": "不投档",
              "school_full": "未录取", "region_full": "未录取", "ineligible": "不具备资格", "outcome": t.outcome_zh}
    for s in t.steps:
        table.add_row(*_step_cells(s, labels), *([s.en] if english else []))
    return table


def _step_cells(s: Step, labels: dict[str, str]) -> list[str]:
    """规则, 批次, 志愿, 学校, 结果, 最低分 and 说明 of one step."""
    label = "无效" if s.kind.startswith("void") else labels.get(s.kind, "未录取" if s.admitted is False else "")
    reason = s.zh.split("：", 1)[1] if s.school_id and s.kind != "outcome" and "：" in s.zh else s.zh
    return [s.rule, s.batch_name or "", str(s.round or ""), f"{s.school_name}（{s.school_id}）" if s.school_id else "",
            label, "" if s.cutoff is None else f"{s.cutoff:g}", reason]
