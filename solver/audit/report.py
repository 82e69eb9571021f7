"""The audit of a published result (issue #4; docs/formats.md, "An audit"): which rules R1-R12 it breaks,
and where it differs from the result the rules give.

``audit(scenario, admissions, offers=None)`` runs the independent checker (`solver.checker.check`) on
the published frames and the sequential engine (R6 as written) on the scenario, and compares the
published outcome of every student with the rule's.  ``write_audit(report, out_dir)`` writes

- ``violations.csv``: ``rule,student_id,school_id,batch,other_student_id,detail`` exactly (header only
  when the result follows every rule);
- ``differences.csv``: the students whose published outcome, school, batch or choice rank is not the
  rule's, both sides next to each other;
- ``explanations.csv`` (with ``explain=True``): per fault, a minimal set of published facts that cannot
  all hold under the rules and its sentence (`solver.audit.explain`);
- ``audit.xlsx``: the human summary in Chinese, set up to print (概要, 按规则, 按学校, 违规明细, 违规解释
  and its facts 解释依据, 差异明细, 各校差异);
- ``summary.json``: status (``clean`` / ``violations``) and the counts.

Python loops run over rules and schools only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.columns import text
from models.problems import Problem
from models.results import Result, display_name, write_csv, write_failed, write_json
from models.scenario import Scenario
from models.workbooks import OUTCOME_LABELS, SCHOOL, Book, labels
from solver.checker import COLUMNS, RULES, build, check_context
from solver.checker.context import as_text, id_codes, ints
from solver.engine.sequential import run_sequential

if TYPE_CHECKING:
    from solver.audit.explain import Explanations

RULE_TITLES = {
    "R1": "Eligibility 资格", "R2": "Catalogue 备案目录", "R3": "Choices 志愿",
    "R4": "General high school first 普高优先",
    "R5": "Batches 批次", "R6": "Order within a batch 顺序录取", "R7": "Quota cap 招生计划",
    "R8": "Regional sub-quota 分地区计划", "R9": "Confirmation 确认", "R10": "No double admission 不重复录取",
    "R11": "Batch windows 录取时间", "R12": "Outcome 录取结果",
}
COMPARED = ("outcome", "school_id", "batch", "choice_rank")
DIFFERENCE_COLUMNS = ["student_id", "region_id", *(f"{c}_published" for c in COMPARED),
                      *(f"{c}_rule" for c in COMPARED)]
AUDIT_FILES = ("violations.csv", "differences.csv", "explanations.csv", "audit.xlsx", "summary.json", "errors.csv")
XLSX_ROWS = 100_000  # rows of the detail sheets; the CSV files hold every row


@dataclass
class AuditReport:
    scenario: str
    students: int
    violations: pd.DataFrame  # COLUMNS of violations.csv
    differences: pd.DataFrame  # DIFFERENCE_COLUMNS
    by_rule: pd.DataFrame  # rule, title, violations, students (every rule R1-R12, zeros included)
    by_school: pd.DataFrame  # school_id, name, violations, rules
    differences_by_school: pd.DataFrame  # school_id, name, differences, published_not_rule, rule_not_published
    with_offers: bool = False
    timings: dict = field(default_factory=dict)
    explanations: Explanations | None = None  # solver.audit.explain, when asked for
    title: str = ""  # the scenario as a planner names it (models.results.display_name)

    @property
    def clean(self) -> bool:
        return self.violations.empty

    @property
    def status(self) -> str:
        return "clean" if self.clean else "violations"

    def summary(self) -> dict:
        return {"status": self.status, "scenario": self.scenario, "students": self.students,
                "with_offers": self.with_offers, "violations": len(self.violations),
                "violations_by_rule": {rule: int(n) for rule, n in zip(self.by_rule["rule"].to_numpy(),
                                                                       self.by_rule["violations"].to_numpy()) if n},
                "students_with_violations": int(self.violations["student_id"].nunique()),
                "differences": len(self.differences),
                "schools_with_differences": int((self.differences_by_school["differences"] > 0).sum()),
                **({"explanations": self.explanations.summary()} if self.explanations is not None else {}),
                "timings": self.timings}


def audit(sc: Scenario, admissions: pd.DataFrame, offers: pd.DataFrame | None = None,
          rule: Result | None = None, explain: bool = False, explain_limit: int | None = 200) -> AuditReport:
    """Audit a published result (frames as `models.published.read_published` gives them, or typed).
    ``rule``: the sequential engine's result if already at hand.  ``explain``: also explain the violations
    by CP-SAT cores of published facts (`solver.audit.explain`; at most ``explain_limit`` faults)."""
    timings = {}
    t = time.perf_counter()
    ctx = build(sc, admissions, offers)
    violations = check_context(ctx)[COLUMNS]
    timings["checker"] = _since(t)
    t = time.perf_counter()
    rule = rule or run_sequential(sc)
    timings["sequential"] = _since(t)
    t = time.perf_counter()
    differences = compare_published(admissions, rule.admissions)
    timings["differences"] = _since(t)
    names = dict(zip(as_text(sc.schools["school_id"], len(sc.schools)),
                     as_text(sc.schools["name"], len(sc.schools)) if "name" in sc.schools.columns else ""))
    explanations = None
    if explain:
        from solver.audit.explain import explain as explain_violations  # loads OR-Tools

        explanations = explain_violations(ctx, violations, limit=explain_limit)
        timings.update(explanations.timings)
    return AuditReport(scenario=sc.name, students=len(sc.students), violations=violations, differences=differences,
                       by_rule=count_by_rule(violations), by_school=count_by_school(violations, names),
                       differences_by_school=differences_per_school(differences, names),
                       with_offers=offers is not None, timings=timings, explanations=explanations,
                       title=display_name(sc))


# The difference from the rule ------------------------------------------------------------------------

def compare_published(published: pd.DataFrame, rule: pd.DataFrame) -> pd.DataFrame:
    """Students whose published outcome, school, batch or choice rank is not the rule's (``rule``: the
    engine's admissions), both sides.  A student only one side names is listed with the other side empty.
    Aligned by id codes, not by a merge: a million students take a fraction of a second."""
    n_pub, n_rule = len(published), len(rule)
    pub_ids = as_text(published["student_id"], n_pub)
    rule_ids = as_text(rule["student_id"], n_rule)
    at_rule = id_codes(pub_ids, rule_ids) if n_pub and n_rule else np.full(n_pub, -1, dtype=np.int64)

    def side(frame: pd.DataFrame, k: int) -> dict:
        def col(c: str) -> pd.Series | None:
            return frame[c] if c in frame.columns else None

        return {"outcome": as_text(col("outcome"), k).str.strip().str.lower().to_numpy(dtype=object),
                "school_id": as_text(col("school_id"), k).to_numpy(dtype=object),
                "batch": ints(col("batch")) if col("batch") is not None else np.full(k, -1, np.int64),
                "choice_rank": ints(col("choice_rank")) if col("choice_rank") is not None else np.full(k, -1, np.int64)}

    p, r = side(published, n_pub), side(rule, n_rule)
    matched = at_rule >= 0
    differ = ~matched
    rp = np.maximum(at_rule, 0)
    for c in COMPARED:
        differ |= matched & (p[c] != r[c][rp])
    seen = np.zeros(n_rule, dtype=bool)
    seen[at_rule[matched]] = True
    missing = np.flatnonzero(~seen)  # students of the scenario the published result does not name
    rows = np.flatnonzero(differ)

    pub_region = as_text(published["region_id"], n_pub) if "region_id" in published.columns else text([""] * n_pub)
    rule_region = as_text(rule["region_id"], n_rule) if "region_id" in rule.columns else text([""] * n_rule)
    rr = np.where(matched[rows], at_rule[rows], -1)
    region = np.where(rr >= 0, rule_region.to_numpy(dtype=object)[np.maximum(rr, 0)],
                      pub_region.to_numpy(dtype=object)[rows])
    out = {"student_id": np.r_[pub_ids.to_numpy(dtype=object)[rows], rule_ids.to_numpy(dtype=object)[missing]],
           "region_id": np.r_[region, rule_region.to_numpy(dtype=object)[missing]]}
    for c in COMPARED:
        empty = "" if c in ("outcome", "school_id") else -1
        pub_part = p[c][rows]
        rule_part = np.where(rr >= 0, r[c][np.maximum(rr, 0)], empty)
        out[f"{c}_published"] = np.r_[pub_part, np.full(len(missing), empty, dtype=pub_part.dtype)]
        out[f"{c}_rule"] = np.r_[rule_part, r[c][missing]]
    frame = pd.DataFrame(out)
    for col in frame.columns:
        if col.startswith(("batch", "choice_rank")):
            values = frame[col].to_numpy(dtype=np.int64)
            frame[col] = pd.arrays.IntegerArray(values, values < 0)
        else:
            frame[col] = text(frame[col].to_numpy(dtype=object))
    return frame[DIFFERENCE_COLUMNS].sort_values("student_id", kind="stable").reset_index(drop=True)


def differences_per_school(differences: pd.DataFrame, names: dict) -> pd.DataFrame:
    """Per school: the students who differ and name it on either side; those the published result puts
    there and the rule does not; those the rule puts there and the published result does not."""
    pub, rule = differences["school_id_published"], differences["school_id_rule"]
    moved_in = pub[(pub != "") & (pub != rule)].value_counts()
    moved_out = rule[(rule != "") & (pub != rule)].value_counts()
    either = pd.concat([pub[pub != ""], rule[(rule != "") & (rule != pub)]]).value_counts()
    schools = sorted(set(either.index) | set(moved_in.index) | set(moved_out.index))
    frame = pd.DataFrame({"school_id": text(schools)})
    frame["name"] = text([names.get(s, "") for s in schools])
    for col, counts in (("differences", either), ("published_not_rule", moved_in), ("rule_not_published", moved_out)):
        frame[col] = (counts.reindex(schools, fill_value=0).to_numpy(dtype=np.int64) if schools
                      else np.zeros(0, np.int64))
    return (frame.sort_values(["differences", "school_id"], ascending=[False, True], kind="stable")
            .reset_index(drop=True))


# Counts ----------------------------------------------------------------------------------------------

def count_by_rule(violations: pd.DataFrame) -> pd.DataFrame:
    """Every rule R1-R12 with its violations and the students they concern (zeros included)."""
    rules = list(RULES)
    counts = violations["rule"].value_counts()
    students = violations.groupby("rule")["student_id"].nunique() if len(violations) else pd.Series(dtype=np.int64)
    return pd.DataFrame({"rule": text(rules), "title": text([RULE_TITLES.get(r, "") for r in rules]),
                         "violations": counts.reindex(rules, fill_value=0).to_numpy(dtype=np.int64),
                         "students": students.reindex(rules, fill_value=0).to_numpy(dtype=np.int64)})


def count_by_school(violations: pd.DataFrame, names: dict) -> pd.DataFrame:
    """Violations per school named in them ("" for those without a school, e.g. R4), with the rules."""
    if violations.empty:
        return pd.DataFrame({"school_id": text([]), "name": text([]), "violations": pd.Series(dtype=np.int64),
                             "rules": text([])})
    per = violations.groupby(["school_id", "rule"]).size().rename("n").reset_index()
    per["_no"] = per["rule"].str.slice(1).astype(np.int64)
    per = per.sort_values(["school_id", "_no"], kind="stable")
    per["part"] = per["rule"] + " " + per["n"].astype(str)  # "R7 3"
    rules = per.groupby("school_id", sort=False)["part"].agg(", ".join)
    total = per.groupby("school_id", sort=False)["n"].sum()
    schools = list(total.index)
    frame = pd.DataFrame({"school_id": text(schools), "name": text([names.get(s, "") for s in schools]),
                          "violations": total.to_numpy(dtype=np.int64), "rules": text(rules.reindex(schools).tolist())})
    return frame.sort_values(["violations", "school_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


# Writing ---------------------------------------------------------------------------------------------

def write_audit(report: AuditReport, out_dir: Path | str, extra: dict | None = None) -> Path:
    """violations.csv, differences.csv, audit.xlsx and summary.json into ``out_dir`` (an errors.csv of an
    earlier failed audit is removed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "errors.csv").unlink(missing_ok=True)
    t = time.perf_counter()
    write_csv(report.violations[COLUMNS], out / "violations.csv")
    write_csv(report.differences, out / "differences.csv")
    (out / "explanations.csv").unlink(missing_ok=True)  # an earlier audit's, when this one has none
    if report.explanations is not None:
        write_csv(report.explanations.frame, out / "explanations.csv")
    write_workbook(report, out / "audit.xlsx")
    report.timings["write"] = _since(t)
    write_json({**report.summary(), **(extra or {})}, out / "summary.json")
    return out


def write_audit_failure(out_dir: Path | str, problems: list[Problem], label: str, reason: str) -> Path:
    """Bad input: ``errors.csv`` with every problem, a summary with status "failed", and no audit files
    of an earlier audit left to be read as this one's.  The audited files themselves are never touched."""
    return write_failed(Path(out_dir), problems, AUDIT_FILES, {"input": label, "reason": reason})


SHEETS = {"summary": "概要", "by_rule": "按规则", "by_school": "按学校", "violations": "违规明细",
          "explanations": "违规解释", "core": "解释依据", "differences": "差异明细",
          "differences_by_school": "各校差异"}


def write_workbook(report: AuditReport, path: Path) -> None:
    """audit.xlsx, for a planner to forward (issue #10.7): one sheet per view with Chinese names and
    headers, set up to print (`models.workbooks.Book`); the explanations' long ``core`` column on a sheet
    of its own (解释依据), one fact a row, keyed by the explanation's number (序号).  Detail sheets are cut
    at XLSX_ROWS rows, the CSV files hold every row."""
    book = Book(f"{report.title or report.scenario} 审核报告")
    book.table(SHEETS["summary"], _overview(report), freeze_columns=1)
    by_rule = report.by_rule.assign(title=[RULE_TITLES.get(r, "").rsplit(" ", 1)[-1] for r in report.by_rule["rule"]])
    book.table(SHEETS["by_rule"], by_rule, names={"students": "涉及考生"}, freeze_columns=1)
    book.table(SHEETS["by_school"], report.by_school, names=SCHOOL, freeze_columns=1)
    book.table(SHEETS["violations"], report.violations, limit=XLSX_ROWS, rest="violations.csv")
    if report.explanations is not None:
        explanations, core = _explanation_sheets(report.explanations.frame)
        book.table(SHEETS["explanations"], explanations, freeze_columns=1, limit=XLSX_ROWS, rest="explanations.csv")
        book.table(SHEETS["core"], core, freeze_columns=1, limit=XLSX_ROWS, rest="explanations.csv")
    differences = report.differences.copy()
    for col in ("outcome_published", "outcome_rule"):
        differences[col] = labels(differences[col], OUTCOME_LABELS)
    book.table(SHEETS["differences"], differences, freeze_columns=1, limit=XLSX_ROWS, rest="differences.csv")
    book.table(SHEETS["differences_by_school"], report.differences_by_school, names=SCHOOL, freeze_columns=1)
    book.save(path)


def _overview(report: AuditReport) -> pd.DataFrame:
    rows = [("结论", "符合全部规则" if report.clean else "违反规则"), ("方案", report.title or report.scenario),
            ("考生数", report.students), ("违规条数", len(report.violations)),
            ("涉及违规的考生", int(report.violations["student_id"].nunique())),
            ("与规则结果不同的考生", len(report.differences)),
            ("核对范围", "录取名单与预录记录" if report.with_offers else "仅录取名单（无预录记录）")]
    if report.explanations is not None:
        s = report.explanations.summary()
        rows += [("违规解释", s["explanations"]), ("未能解释", s["not_explained"]), ("超出解释上限", s["beyond_limit"])]
    return pd.DataFrame({"item": text([k for k, _ in rows]),
                         "value": text([v if isinstance(v, str) else f"{v:,}" for _, v in rows])})


def _explanation_sheets(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The explanations numbered (序号) without their ``core``, and the core: one published fact a row,
    with the number of the explanation it belongs to."""
    numbered = frame.drop(columns=["core"]).reset_index(drop=True)
    numbered.insert(0, "no", np.arange(1, len(numbered) + 1, dtype=np.int64))
    facts = frame["core"].fillna("").astype(str).str.split("; ").reset_index(drop=True).explode()
    facts = facts[facts != ""]
    core = pd.DataFrame({"no": facts.index.to_numpy(dtype=np.int64) + 1,
                         "fact_no": facts.groupby(level=0).cumcount().to_numpy(dtype=np.int64) + 1,
                         "fact": text(facts.to_numpy(dtype=object))})
    return numbered, core


def _since(t: float) -> float:
    return round(time.perf_counter() - t, 3)
