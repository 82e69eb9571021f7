"""The ``zhaosheng`` command: run, validate, generate, export, scenarios.

Thin: it parses arguments, shows progress, and calls `scenarios`, `models` and `solver.run`.
Exit codes: 0 done, 1 failed, 2 bad input or usage (errors listed and written to errors.csv).
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from models import ScenarioError
from models.problems import Problem

DEFAULT_SCENARIO = "jiaozuo-2022"
console = Console()
err_console = Console(stderr=True)


def main() -> None:
    cli(prog_name="zhaosheng")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhaosheng")
def cli() -> None:
    """Plan and check secondary vocational (中职/技工) admissions under the rules R1–R12."""


# helpers ------------------------------------------------------------------------------------------

@contextmanager
def _progress(quiet: bool):
    progress = Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=quiet)
    with progress:
        yield progress


def _load(spec: str, progress: Progress | None = None):
    import scenarios

    task = progress.add_task(f"loading {spec}", total=None) if progress else None
    try:
        return scenarios.load(spec)
    finally:
        if progress and task is not None:
            progress.remove_task(task)


def _show_problems(problems: list[Problem], limit: int = 20) -> None:
    """The errors, root causes first (as the loader orders them); the same problem in many rows of one
    column is one line with its rows and count."""
    errors = [p for p in problems if p.severity == "error"]
    groups: dict[tuple, list[Problem]] = {}
    for p in errors:
        groups.setdefault((p.file, p.column, p.clause, p.message), []).append(p)
    table = Table(title=f"{len(errors):,} error(s) in the input", show_lines=False)
    for col in ("file", "row", "column", "value", "clause", "problem"):
        table.add_column(col, overflow="fold")
    for (file, column, clause, message), items in list(groups.items())[:limit]:
        rows = [p.row for p in items if p.row is not None]
        where = "" if not rows else str(rows[0]) if len(items) == 1 else f"{rows[0]}–{rows[-1]} ({len(items):,} rows)"
        table.add_row(file, where, column or "", items[0].value or "", clause, message)
    err_console.print(table)
    if len(groups) > limit:
        err_console.print(f"... and {len(groups) - limit} more kinds of problem")


def _show_reading_warnings(warnings: list[Problem], limit: int = 8) -> None:
    """How the input was read where a planner should know it (an encoding, a skipped title row, more
    students than graduates): every warning but the void choices (R2, R3), which are counted."""
    reading = [w for w in warnings if w.clause not in ("R2", "R3")]
    for w in reading[:limit]:
        err_console.print(f"[yellow]note[/]: {w.file}" + (f", row {w.row}" if w.row else "") + f": {w.message}")
    if len(reading) > limit:
        err_console.print(f"... and {len(reading) - limit} more notes in warnings.csv")


def _regions_summary(out) -> Table:
    from solver.figures import totals

    regions = out.regions
    table = Table(title=f"{out.scenario.name}: {len(out.scenario.students):,} students, engine {out.result.engine}")
    # 地区 region, 毕业生 graduates, 普高 general, 中职 vocational, 未录取 unplaced, 入学率 enrollment rate
    for col, justify in (("地区", "left"), ("毕业生", "right"), ("普高", "right"), ("中职", "right"),
                         ("未录取", "right"), ("普职比", "right"), ("入学率", "right")):
        table.add_column(col, justify=justify, no_wrap=True)

    def pct(v):
        return "" if v is None or v != v else f"{v:.1%}"

    for r in regions.itertuples(index=False):
        grads = "" if r.graduates is None or r.graduates != r.graduates else f"{int(r.graduates):,}"
        table.add_row(str(r.name), grads, f"{r.general:,}", f"{r.vocational:,}", f"{r.unplaced:,}",
                      r.general_vocational_ratio, pct(r.enrollment_rate))
    t = totals(regions)
    table.add_section()
    table.add_row("合计", f"{t['graduates']:,}", f"{t['general']:,}", f"{t['vocational']:,}",
                  f"{t['unplaced']:,}", t["general_vocational_ratio"], pct(t["enrollment_rate"]), style="bold")
    return table


def _default_out(spec: str) -> Path:
    return Path("results") / Path(spec).stem


# commands -----------------------------------------------------------------------------------------

ENGINE_HELP = ("sequential: the rules as written (fast). cpsat: the CP-SAT model of the rules alone. "
               "both: run both, prove them equal and the result unique, and check it (R1-R12).")


def _engine_run(scenario: str, out_dir: Path, engine: str, quiet: bool, time_limit: float | None, hint: bool,
                roster: bool | None = None):
    """Load, run and write, with progress; exits 2 on bad input, 1 when CP-SAT finds no result."""
    from solver.run import NotSolved, run as run_scenario, write_failure, write_outputs

    try:
        with _progress(quiet) as progress:
            t0 = time.perf_counter()
            sc = _load(scenario, progress)
            load_seconds = time.perf_counter() - t0
            task = progress.add_task("admitting", total=1 + len(sc.settings.batches) * sc.settings.max_choices)
            detail = {"phase": ""}

            def tick(what: str, done: int, total: int) -> None:
                progress.update(task, description=what, completed=done, total=total)

            def phase(what: str) -> None:
                detail["phase"] = what
                progress.update(task, description=what, completed=None, total=None)

            def log(line: str) -> None:  # CP-SAT's own log: show where the solver is
                line = line.strip()
                if line:
                    progress.update(task, description=f"{detail['phase']}: {line[:70]}")

            output = run_scenario(sc, engine=engine, progress=tick, time_limit=time_limit, phase=phase,
                                  log=log if not quiet else None, hint=hint)
            progress.update(task, description="writing results")
            write_outputs(output, out_dir, {"load": round(load_seconds, 4)}, roster=roster)
    except ScenarioError as exc:
        write_failure(out_dir, exc.problems, scenario, "invalid input")
        _show_problems(exc.problems)
        err_console.print(f"[red]Nothing was run.[/] Every problem is listed in {out_dir / 'errors.csv'}")
        sys.exit(2)
    except NotSolved as exc:
        write_failure(out_dir, [], scenario, str(exc))
        err_console.print(f"[red]{exc}[/]")
        sys.exit(1)
    return output


def _verdict_table(output) -> Table:
    v = output.verification.verdict
    table = Table(title=f"verification of {output.scenario.name}: {v.text}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")

    def mark(flag):
        return "not proven" if flag is None else ("yes" if flag else "NO")

    table.add_row("equal", mark(v.equal), f"{v.differences if v.differences is not None else '?'} student(s) differ")
    table.add_row("unique", mark(v.unique), f"proof: {v.status.get('proof', 'not run')}")
    for engine, n in v.checker_violations.items():
        table.add_row(f"checker ({engine})", "clean" if n == 0 else f"{n} violation(s)", "R1-R12")
    t = v.times
    table.add_row("times", "", ", ".join(f"{k} {t[k]:.1f} s" for k in ("build", "solve", "proof", "checker", "total") if k in t))
    m = v.model
    table.add_row("model", "", f"{m.get('applications', 0):,} applications, {m.get('variables', 0):,} variables, "
                               f"{m.get('constraints', 0):,} constraints" + (" (hinted mode)" if v.hint else ""))
    return table


@cli.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the result files [default: results/SCENARIO].")
@click.option("--engine", type=click.Choice(["sequential", "cpsat", "both"]), default="both", show_default=True,
              help=ENGINE_HELP)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the CP-SAT phases.")
@click.option("--hint", is_flag=True, help="Labelled mode: give CP-SAT the sequential result as a hint.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--roster/--no-roster", default=None,
              help="Write admissions.xlsx (录取名册) [default: up to 300,000 students].")
def run(scenario: str, out_dir: Path | None, engine: str, time_limit: float | None, hint: bool, quiet: bool,
        roster: bool | None) -> None:
    """Run SCENARIO (a folder, an .xlsx/.json file, or a bundled name) and write the results."""
    out_dir = out_dir or _default_out(scenario)
    started = time.perf_counter()
    output = _engine_run(scenario, out_dir, engine, quiet, time_limit, hint, roster)
    if output.verification is not None:
        console.print(_verdict_table(output))
    console.print(_regions_summary(output))
    warnings = len(output.scenario.warnings)
    _show_reading_warnings(output.scenario.warnings)
    if warnings:
        console.print(f"{warnings:,} warning(s) (void choices, R2/R3, and how the files were read) listed in "
                      f"{out_dir / 'warnings.csv'}")
    console.print(f"Results in {out_dir}/ (admissions.csv, admissions.xlsx, offers.csv, schools.csv, regions.csv, "
                  f"progress.xlsx, summary.json) in {time.perf_counter() - started:.1f} s")
    if output.verification is not None and not output.verification.verdict.ok:
        sys.exit(1)


@cli.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the result files [default: results/SCENARIO].")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Seconds for the CP-SAT phases.")
@click.option("--hint", is_flag=True, help="Labelled mode: give CP-SAT the sequential result as a hint.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def verify(scenario: str, out_dir: Path | None, time_limit: float | None, hint: bool, quiet: bool) -> None:
    """Prove that the CP-SAT model of the rules gives exactly the sequential engine's result, that it is
    the only one, and that the checker finds no violation.  Exit 0 only then; 1 otherwise."""
    out_dir = out_dir or _default_out(scenario)
    output = _engine_run(scenario, out_dir, "both", quiet, time_limit, hint)
    console.print(_verdict_table(output))
    differences = output.verification.verdict.differences
    if differences:
        console.print(f"{differences} student(s) differ: {out_dir / 'differences.csv'}")
    violations = sum(output.verification.verdict.checker_violations.values())
    if violations:
        console.print(f"{violations} violation(s): {out_dir / 'violations.csv'}")
    console.print(f"summary with the verdict: {out_dir / 'summary.json'}")
    sys.exit(0 if output.verification.verdict.ok else 1)


@cli.command()
@click.argument("scenario")
@click.option("--result", "result_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The published admissions (admissions.csv form; CSV or .xlsx, Chinese headers accepted).")
@click.option("--offers", "offers_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The published offers (offers.csv form), for the checks of declines and confirmations.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the audit files [default: audit/ next to the result file].")
@click.option("--explain/--no-explain", default=True, show_default=True,
              help="Explain each fault by a minimal set of published facts (CP-SAT core) in explanations.csv.")
@click.option("--explain-limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="At most this many R6/R7/R8 faults are explained by CP-SAT.")
def audit(scenario: str, result_path: Path, offers_path: Path | None, out_dir: Path | None, explain: bool,
          explain_limit: int) -> None:
    """Audit a published result of SCENARIO against the rules R1-R12: violations.csv, differences.csv
    (where it is not the rule's result), explanations.csv (why, in published facts), audit.xlsx,
    summary.json.  Exit 0 clean, 1 violations, 2 bad input."""
    from models.problems import ProblemLog
    from models.published import read_published_into
    from solver.audit import audit as run_audit, write_audit, write_audit_failure

    out_dir = out_dir or result_path.parent / "audit"
    started = time.perf_counter()
    log, sc = ProblemLog(), None
    try:
        sc = _load(scenario)
    except ScenarioError as exc:  # the result files' problems are reported together with the scenario's
        log.extend(exc.problems)
    admissions = read_published_into(result_path, "admissions", log)
    offers = read_published_into(offers_path, "offers", log) if offers_path else None
    if log.has_errors:
        write_audit_failure(out_dir, log.items, str(result_path), "invalid input")
        _show_problems(log.items)
        err_console.print(f"[red]Nothing was audited.[/] Every problem is listed in {out_dir / 'errors.csv'}")
        sys.exit(2)
    load_seconds = time.perf_counter() - started
    with _progress(False) as progress:
        progress.add_task("checking R1-R12" + (" and explaining" if explain else ""), total=None)
        report = run_audit(sc, admissions, offers, explain=explain, explain_limit=explain_limit)
    report.timings["load"] = round(load_seconds, 3)
    write_audit(report, out_dir, {"result": str(result_path), "offers": str(offers_path) if offers_path else None})
    table = Table(title=f"audit of {result_path.name} ({sc.name}): "
                        f"{'follows every rule' if report.clean else f'{len(report.violations):,} violation(s)'}")
    for col, justify in (("rule", "left"), ("", "left"), ("violations", "right"), ("students", "right")):
        table.add_column(col, justify=justify)
    for r in report.by_rule.itertuples(index=False):
        table.add_row(r.rule, r.title, f"{r.violations:,}", f"{r.students:,}", style=None if r.violations else "dim")
    console.print(table)
    console.print(f"{len(report.differences):,} student(s) differ from the rule's result "
                  f"({int((report.differences_by_school['differences'] > 0).sum())} school(s)): "
                  f"{out_dir / 'differences.csv'}")
    ex = report.explanations
    if ex is not None and len(ex.frame):
        shown = ex.frame[ex.frame["method"] != "fact"].head(5)
        for sentence in (shown if len(shown) else ex.frame.head(5))["explanation"]:
            console.print(f"  • {sentence}")
        more = f", {ex.skipped:,} beyond --explain-limit" if ex.skipped else ""
        console.print(f"{len(ex.frame):,} explanation(s) ({ex.explained:,} by CP-SAT cores{more}): "
                      f"{out_dir / 'explanations.csv'}")
    console.print(f"Audit in {out_dir}/ (violations.csv, differences.csv, "
                  f"{'explanations.csv, ' if ex is not None else ''}audit.xlsx, summary.json) "
                  f"in {time.perf_counter() - started:.1f} s")
    sys.exit(0 if report.clean else 1)


@cli.command()
@click.argument("scenario")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write errors.csv (and warnings.csv) into this folder.")
def validate(scenario: str, out_dir: Path | None) -> None:
    """Check SCENARIO and list every problem, without running it."""
    from models.problems import problems_frame
    from models.results import write_csv

    try:
        sc = _load(scenario)
    except ScenarioError as exc:
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            write_csv(problems_frame(exc.problems), out_dir / "errors.csv")
        _show_problems(exc.problems)
        sys.exit(2)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(problems_frame(sc.warnings), out_dir / "warnings.csv")
    _show_reading_warnings(sc.warnings)
    console.print(f"{sc.name}: valid — {len(sc.regions)} regions, {len(sc.schools)} schools, "
                  f"{len(sc.students):,} students, {len(sc.settings.batches)} batches, {len(sc.warnings):,} warning(s)")


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--students", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--regions", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--schools", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batches", type=click.IntRange(1, 9), default=3, show_default=True)
@click.option("--max-choices", type=click.IntRange(1, 9), default=2, show_default=True)
def generate(out: Path, students: int, regions: int, schools: int, seed: int, batches: int, max_choices: int) -> None:
    """Write a synthetic scenario to OUT (a folder, or .xlsx / .json), the same for the same seed."""
    from models import write_scenario
    from scenarios.generator import generate as make

    t0 = time.perf_counter()
    sc = make(students=students, regions=regions, schools=schools, seed=seed, batches=batches, max_choices=max_choices)
    write_scenario(sc, out)
    console.print(f"wrote {out}: {len(sc.students):,} students, {len(sc.regions)} regions, {len(sc.schools)} schools, "
                  f"{len(sc.settings.batches)} batches in {time.perf_counter() - t0:.1f} s")


@cli.command()
@click.argument("scenario")
@click.argument("out", type=click.Path(path_type=Path))
def export(scenario: str, out: Path) -> None:
    """Write SCENARIO (e.g. a bundled one) to OUT as a folder, .xlsx or .json, to edit it."""
    from models import write_scenario

    try:
        sc = _load(scenario)
    except ScenarioError as exc:
        _show_problems(exc.problems)
        sys.exit(2)
    write_scenario(sc, out)
    console.print(f"wrote {out}")


@cli.command("scenarios")
def list_scenarios() -> None:
    """List the bundled scenarios."""
    import scenarios

    for name in scenarios.bundled_names():
        readme = scenarios.bundled_path(name) / "README.md"
        title = readme.read_text(encoding="utf-8").splitlines()[0].lstrip("# ") if readme.exists() else ""
        console.print(f"{name:16} {title}")


@cli.command()
@click.option("--host", help="Address to listen on [default: 127.0.0.1, or $ZHAOSHENG_HOST].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [default: 8000, or $ZHAOSHENG_PORT].")
@click.option("--database", "database_url", metavar="URL",
              help="SQLAlchemy URL [default: a SQLite file in the data directory, or $ZHAOSHENG_DATABASE_URL].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory [default: ~/.local/share/zhaosheng, or $ZHAOSHENG_DATA_DIR].")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve(host: str | None, port: int | None, database_url: str | None, data_dir: Path | None, log_level: str) -> None:
    """Start the HTTP service (OpenAPI docs at /docs).  Settings come from the environment
    (ZHAOSHENG_DATABASE_URL, ZHAOSHENG_API_TOKEN, limits: see the README) and these options."""
    import uvicorn
    from pydantic import ValidationError

    from api.service import Settings, create_app

    given = {"host": host, "port": port, "database_url": database_url, "data_dir": data_dir}
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        err_console.print(f"[red]Invalid settings:[/] {exc}")
        sys.exit(2)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.token is None:
        err_console.print(f"[yellow]Listening on {settings.host} without ZHAOSHENG_API_TOKEN: anyone who reaches "
                          "this address can use the service.[/]")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level, workers=1,
                timeout_graceful_shutdown=10)


from api.analysis_cli import bound_command, sweep_command, whatif_command  # noqa: E402  (issue #6)

cli.add_command(whatif_command)
cli.add_command(sweep_command)
cli.add_command(bound_command)

from api.plan_cli import plan_quotas  # noqa: E402
cli.add_command(plan_quotas)


@cli.command("trace")
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--student", "student_id", required=True, help="The student's id (考生号).")
@click.option("--english", is_flag=True, help="Add the English sentence of each step.")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON (what the API returns).")
def trace(scenario: str, student_id: str, english: bool, as_json: bool) -> None:
    """Why this outcome (为什么): the path of one student of SCENARIO through the rules, per batch and
    round, with the rule that decided each step (R1-R12).  Exit 2 for bad input or an unknown student."""
    import json

    from solver.trace import StudentNotFound, explain, prepare

    try:
        with _progress(as_json) as progress:
            sc = _load(scenario, progress)
            task = progress.add_task("admitting (sequential engine)", total=None)
            basis = prepare(sc)
            progress.remove_task(task)
    except ScenarioError as exc:
        _show_problems(exc.problems)
        sys.exit(2)
    try:
        t = explain(basis, student_id)
    except StudentNotFound as exc:
        err_console.print(f"[red]{exc.args[0]}[/]")
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(t.as_dict(), ensure_ascii=False, indent=2))
        return
    console.print(_trace_table(t, english))
    if not t.consistent:
        err_console.print("[red]the result does not follow from the rules at a step above[/]")


def _trace_table(t, english: bool) -> Table:
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
        label = "无效" if s.kind.startswith("void") else labels.get(s.kind, "未录取" if s.admitted is False else "")
        reason = s.zh.split("：", 1)[1] if s.school_id and s.kind != "outcome" and "：" in s.zh else s.zh
        table.add_row(s.rule, s.batch_name or "", str(s.round or ""),
                      f"{s.school_name}（{s.school_id}）" if s.school_id else "", label,
                      "" if s.cutoff is None else f"{s.cutoff:g}", reason, *([s.en] if english else []))
    return table

if __name__ == "__main__":
    main()
