"""Single faults (issue #4, "Tests"): for every rule R1-R12, a correct result of the sequential engine
audits clean, and broken in exactly one way it is reported under that rule alone, naming the right
student (and for R6, R7 and R8 the student who took the seat).

Each case is a tiny scenario built so that the one edit is invisible to every other rule.  What the
other rules would see, and how each scenario keeps it out of sight:

- R6 (justified envy, wasted seats) sees a seat that is freed or taken: the edits either leave every
  school's holders as they were, or change them where nobody else of the batch's pool wants the seat
  (spare seats and no one unplaced who listed the school), or where the school stays full with students
  ranked above the one whose chance changes.
- R7, R8 count confirmed admissions and the offers of a batch: quotas are large enough for the edit,
  except in the R7/R8 cases themselves.
- R12 compares the outcome with the offers: a student moved is moved in both files, with the same
  school, batch and choice rank, and dated by the calendar (R11).
- R3 reads the choice rank from the list the batch reads: an offer carries the rank the school has
  in that list, even where the school is void there (R2, R5 declined school).
- R5 is the pool of a batch, and an ineligible student is in no pool: the checker leaves an offer to
  him to R1 (`solver.checker.r05_batches`), which reports every one of them, so that it is told once.
- R9: an unconfirmed offer needs a decline naming the student and the batch.

R10 and the offers behind it.  A student's second confirmed admission is always also an offer the
rules do not make: in a later batch the student is outside the batch's pool (R5: "batch b > 1 takes
every student who holds no confirmed admission"), a general student is outside every pool (R4, R5), and
two offers in one batch break "one offer per batch" (R3).  The checker reports a second *confirmed*
offer in one batch as R10 alone (the double admission, `solver.checker.r03_choices`; R3 keeps the
extra offers that are not confirmed, or follow an unconfirmed first one), so the single fault of R10
is an offer confirmed twice in one batch: the same row twice, or a second confirmed offer at the
student's next choice.  A confirmed offer in a later batch to a student confirmed earlier
stays R5 + R10 (pinned by test_checker_mutations.test_r5_an_offer_to_a_student_confirmed_earlier), and so
does a confirmed offer to a general student: both are asserted below as the minimal sets.  Two rows of
one student in admissions.csv is not a double admission but a malformed file: the CLI refuses it (exit
2, FORMATS admissions.csv) and the checker reports it as R12.

The same faults go once through ``zhaosheng audit`` (the CSV files of docs/formats.md, click's CliRunner):
exit 1 and the rows of violations.csv; the engine's result exits 0 with a header-only violations.csv.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from solver.audit import audit
from solver.engine.sequential import run_sequential

from builders import (
    add_offer,
    dates,
    drop_offer,
    make_scenario,
    placements,
    region,
    scenario_dict,
    school,
    set_outcome,
    student,
    write_csv_folder,
)

VIOLATION_COLUMNS = ["rule", "student_id", "school_id", "batch", "other_student_id", "detail"]


# Edits of the two frames of a result ---------------------------------------------------------------

def admit(sc, adm, off, sid, school, batch, rank):
    """``sid`` admitted (confirmed) at ``school``, consistently in both files and dated by the calendar."""
    return set_outcome(sc, adm, sid, "vocational", school, batch, rank), add_offer(sc, off, sid, school, batch, rank)


# The cases -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    scenario: dict  # keyword arguments of builders.scenario_dict
    start: dict  # the engine's result for the students the edit is about: sid -> (outcome, school, batch, rank)
    edit: Callable  # (scenario, admissions, offers) -> (admissions, offers)
    expected: set  # every violation: (rule, student, school, batch, other student)
    differ: set = field(default_factory=set)  # the students whose outcome, school, batch or rank is not the rule's
    alone: bool = True  # admissions.csv alone shows the same violations (no declined offer needed)


def _r1(sc, adm, off):
    """i (fresh, no certificate) admitted at A, which has a spare seat nobody else wanted."""
    return admit(sc, adm, off, "i", "A", 1, 1)


def _r2(sc, adm, off):
    """x admitted at his first choice U, which is not registered (void: he was rejected at A, full with y)."""
    return admit(sc, adm, off, "x", "U", 1, 1)


def _r3(sc, adm, off):
    """x holds B, his second choice, published as his first: the same seat, a wrong choice rank."""
    adm.loc[adm["student_id"] == "x", "choice_rank"] = 1
    off.loc[off["student_id"] == "x", "choice_rank"] = 1
    return adm, off


def _r4(sc, adm, off):
    """a (90) is above the general line (85) but placed at A, which has spare seats."""
    return admit(sc, adm, off, "a", "A", 1, 1)


def _r5(sc, adm, off):
    """x declined A in batch 1 but is admitted at A in batch 2, where A is void for him.  B stays full
    with y (ranked above x there: y's first choice, x's second), A had nobody else."""
    return admit(sc, adm, off, "x", "A", 2, 1)


def _r6(sc, adm, off):
    """c (70) takes b's (80) seat at A."""
    adm, off = admit(sc, set_outcome(sc, adm, "b", "unplaced"), drop_offer(off, "b"), "c", "A", 1, 1)
    return adm, off


def _r7(sc, adm, off):
    """A (quota 1) admits y as well as x."""
    return admit(sc, adm, off, "y", "A", 1, 1)


def _r8(sc, adm, off):
    """A admits y from R2 over R2's sub-quota (1, held by x); A's quota (3) has room."""
    return admit(sc, adm, off, "y", "A", 1, 1)


def _r9(sc, adm, off):
    """x's offer confirmed although a decline names x in batch 1 (A has a seat for both x and y)."""
    off.loc[off["student_id"] == "x", ["confirmed", "confirm_date"]] = [True, dates(sc, 1)[1]]
    return set_outcome(sc, adm, "x", "vocational", "A", 1, 1), off


def _r10(sc, adm, off):
    """x's confirmed offer at A written twice: an offer confirmed twice (A has room for two)."""
    return adm, pd.concat([off, off[off["student_id"] == "x"]], ignore_index=True)


def _r11(sc, adm, off):
    """x's offer dated a day before batch 1 opens (不得私自提前录取), in both files."""
    for frame in (adm, off):
        frame.loc[frame["student_id"] == "x", "admit_date"] = "2021-07-09"
    return adm, off


def _r12(sc, adm, off):
    """n filed no choice: 'unplaced' instead of 'none'."""
    return set_outcome(sc, adm, "n", "unplaced"), off


CASES = {
    "R1": Case(dict(schools=[school("A", 2)],
                    students=[student("x", 90, ["A"]), student("i", 80, ["A"], certificate=False)]),
               {"x": ("vocational", "A", 1, 1), "i": ("ineligible", None, None, None)},
               _r1, {("R1", "i", "A", 1, "")}, {"i"}),
    "R2": Case(dict(schools=[school("U", 1, registered=False), school("A", 1)],
                    students=[student("y", 95, ["A"]), student("x", 90, ["U", "A"])]),
               {"y": ("vocational", "A", 1, 1), "x": ("unplaced", None, None, None)},
               _r2, {("R2", "x", "U", 1, "")}, {"x"}),
    "R3": Case(dict(schools=[school("A", 1), school("B", 1)],
                    students=[student("h", 90, ["A", "B"]), student("x", 80, ["A", "B"])]),
               {"h": ("vocational", "A", 1, 1), "x": ("vocational", "B", 1, 2)},
               _r3, {("R3", "x", "B", 1, "")}, {"x"}),
    "R4": Case(dict(schools=[school("A", 5)], general_stage="cutoff", regions=[region("R1", cutoff=85)],
                    students=[student("a", 90, ["A"]), student("b", 80, ["A"])]),
               {"a": ("general", None, None, None), "b": ("vocational", "A", 1, 1)},
               _r4, {("R4", "a", "", None, "")}, {"a"}),
    "R5": Case(dict(schools=[school("A", 1), school("B", 1)], batches=2, declines=[("x", 1)],
                    students=[student("x", 90, ["A"], batch2=["A", "B"]), student("y", 80, [], batch2=["B"])]),
               {"x": ("unplaced", None, None, None), "y": ("vocational", "B", 2, 1)},
               _r5, {("R5", "x", "A", 2, "")}, {"x"}, alone=False),
    "R6": Case(dict(schools=[school("A", 2)],
                    students=[student("a", 90, ["A"]), student("b", 80, ["A"]), student("c", 70, ["A"])]),
               {"b": ("vocational", "A", 1, 1), "c": ("unplaced", None, None, None)},
               _r6, {("R6", "b", "A", 1, "c")}, {"b", "c"}),
    "R7": Case(dict(schools=[school("A", 1)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])]),
               {"x": ("vocational", "A", 1, 1), "y": ("unplaced", None, None, None)},
               _r7, {("R7", "y", "A", 1, "x")}, {"y"}),
    "R8": Case(dict(schools=[school("A", 3)], subquotas=[("A", "R2", 1)],
                    students=[student("x", 90, ["A"], region="R2"), student("y", 85, ["A"], region="R2"),
                              student("z", 80, ["A"])]),
               {"x": ("vocational", "A", 1, 1), "y": ("unplaced", None, None, None),
                "z": ("vocational", "A", 1, 1)},
               _r8, {("R8", "y", "A", 1, "x")}, {"y"}),
    "R9": Case(dict(schools=[school("A", 2)], students=[student("x", 90, ["A"]), student("y", 80, ["A"])],
                    declines=[("x", 1)]),
               {"x": ("unplaced", None, None, None), "y": ("vocational", "A", 1, 1)},
               _r9, {("R9", "x", "A", 1, "")}, {"x"}),
    "R10": Case(dict(schools=[school("A", 2)], students=[student("x", 90, ["A"])]),
                {"x": ("vocational", "A", 1, 1)},
                _r10, {("R10", "x", "A", 1, "")}, set(), alone=False),
    "R11": Case(dict(schools=[school("A", 2)], students=[student("x", 90, ["A"])]),
                {"x": ("vocational", "A", 1, 1)},
                _r11, {("R11", "x", "A", 1, "")}, set()),  # dates are not compared: no difference
    "R12": Case(dict(schools=[school("A", 1)],
                     students=[student("v", 90, ["A"]), student("u", 80, ["A"]), student("n", 70, [])]),
                {"v": ("vocational", "A", 1, 1), "u": ("unplaced", None, None, None), "n": ("none", None, None, None)},
                _r12, {("R12", "n", "", None, "")}, {"n"}),
}


# More single faults of the same rules: the other direction, the other kind of record --------------

def _r4_below_line(sc, adm, off):
    """b (80) is below the general line (85) but called general (his offer at A withdrawn)."""
    return set_outcome(sc, adm, "b", "general"), drop_offer(off, "b")


def _r4_seats(sc, adm, off):
    """The region's one general seat goes to g2 (90) instead of g1 (95), who takes g2's place at A."""
    adm = set_outcome(sc, adm, "g2", "general")
    return admit(sc, adm, drop_offer(off, "g2"), "g1", "A", 1, 1)


def _r5_after_confirmed(sc, adm, off):
    """x, confirmed at A in batch 1, is offered B in batch 2 (he declines it)."""
    return adm, add_offer(sc, off, "x", "B", 2, 1, confirmed=False)


def _r6_wasted(sc, adm, off):
    """b is placed at his second choice B while his first choice A keeps a free seat."""
    off = drop_offer(off, "b")
    return set_outcome(sc, adm, "b", "vocational", "B", 1, 2), add_offer(sc, off, "b", "B", 1, 2)


def _r9_unconfirmed(sc, adm, off):
    """y's offer is not confirmed although no decline names him."""
    off.loc[off["student_id"] == "y", ["confirmed", "confirm_date"]] = [False, ""]
    return set_outcome(sc, adm, "y", "unplaced"), off


def _r10_next_choice(sc, adm, off):
    """x, confirmed at his first choice A, is confirmed at his second choice B as well, in the same batch."""
    return adm, add_offer(sc, off, "x", "B", 1, 2)


def _r10_later_batch(sc, adm, off):
    """x, confirmed at A in batch 1, is confirmed at B in batch 2 as well: batch 2's pool has no place for
    him (R5) and he holds two admissions (R10)."""
    return adm, add_offer(sc, off, "x", "B", 2, 1)


def _r10_general(sc, adm, off):
    """g, admitted to general high school, also confirms an offer at A: outside every batch's pool (R5)
    and two admissions (R10)."""
    return adm, add_offer(sc, off, "g", "A", 1, 1)


def _r11_confirm_late(sc, adm, off):
    """x confirms two days after batch 1's confirm_by, in both files."""
    for frame in (adm, off):
        frame.loc[frame["student_id"] == "x", "confirm_date"] = "2021-07-24"
    return adm, off


def _r12_missing(sc, adm, off):
    """u's row left out of admissions.csv."""
    return adm[adm["student_id"] != "u"].reset_index(drop=True), off


def _r12_two_rows(sc, adm, off):
    """n's row written twice in admissions.csv."""
    return pd.concat([adm, adm[adm["student_id"] == "n"]], ignore_index=True), off


TWO_BATCHES_AB = dict(schools=[school("A", 1), school("B", 1)], batches=2,
                      students=[student("x", 90, ["A"], batch2=["B"])])

VARIANTS = {
    "R4-below-line": Case(CASES["R4"].scenario, CASES["R4"].start, _r4_below_line, {("R4", "b", "", None, "")}, {"b"}),
    "R4-seats": Case(dict(schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=1)],
                          students=[student("g1", 95, ["A"]), student("g2", 90, ["A"])]),
                     {"g1": ("general", None, None, None), "g2": ("vocational", "A", 1, 1)},
                     _r4_seats, {("R4", "g1", "", None, ""), ("R4", "g2", "", None, "")}, {"g1", "g2"}),
    "R5-after-confirmed": Case(dict(TWO_BATCHES_AB, declines=[("x", 2)]), {"x": ("vocational", "A", 1, 1)},
                               _r5_after_confirmed, {("R5", "x", "B", 2, "")}, set(), alone=False),
    "R6-wasted-seat": Case(dict(schools=[school("A", 2), school("B", 2)],
                                students=[student("a", 90, ["A"]), student("b", 80, ["A", "B"])]),
                           {"b": ("vocational", "A", 1, 1)}, _r6_wasted, {("R6", "b", "A", 1, "")}, {"b"}),
    "R9-unconfirmed": Case(CASES["R9"].scenario, CASES["R9"].start, _r9_unconfirmed, {("R9", "y", "A", 1, "")},
                           {"y"}, alone=False),
    "R10-next-choice": Case(dict(schools=[school("A", 2), school("B", 2)], students=[student("x", 90, ["A", "B"])]),
                            {"x": ("vocational", "A", 1, 1)}, _r10_next_choice, {("R10", "x", "B", 1, "")}, set(),
                            alone=False),
    # not single faults: the minimal sets (see the module docstring)
    "R10-later-batch": Case(TWO_BATCHES_AB, {"x": ("vocational", "A", 1, 1)}, _r10_later_batch,
                            {("R5", "x", "B", 2, ""), ("R10", "x", "B", 2, "")}, set(), alone=False),
    "R10-general": Case(dict(schools=[school("A", 5)], general_stage="seats", regions=[region("R1", seats=1)],
                             students=[student("g", 95, ["A"])]),
                        {"g": ("general", None, None, None)}, _r10_general,
                        {("R5", "g", "A", 1, ""), ("R10", "g", "A", 1, "")}, set(), alone=False),
    "R11-confirm-late": Case(CASES["R11"].scenario, CASES["R11"].start, _r11_confirm_late,
                             {("R11", "x", "A", 1, "")}, set()),
    "R12-missing-row": Case(CASES["R12"].scenario, CASES["R12"].start, _r12_missing, {("R12", "u", "", None, "")},
                            {"u"}),
    "R12-two-rows": Case(CASES["R12"].scenario, CASES["R12"].start, _r12_two_rows, {("R12", "n", "", None, "")}),
}


# Running a case ----------------------------------------------------------------------------------

def engine(case: Case):
    """The scenario, and the engine's result as two frames, checked to be the case's starting point and
    to audit clean (with offers.csv and with admissions.csv alone)."""
    sc = make_scenario(**case.scenario)
    result = run_sequential(sc)
    got = placements(result)
    assert {sid: got[sid] for sid in case.start} == case.start
    for offers in (result.offers, None):
        report = audit(sc, result.admissions, offers, rule=result)
        assert report.clean, report.violations.to_string()
        assert report.differences.empty
    return sc, result


def rows(violations: pd.DataFrame) -> set[tuple]:
    return {(r.rule, r.student_id, r.school_id, None if pd.isna(r.batch) else int(r.batch), r.other_student_id)
            for r in violations.itertuples()}


def check_case(case: Case) -> None:
    sc, result = engine(case)
    adm, off = case.edit(sc, result.admissions.copy(), result.offers.copy())
    report = audit(sc, adm, off, rule=result)
    assert rows(report.violations) == case.expected, report.violations.to_string()
    assert set(report.differences["student_id"]) == case.differ
    if case.alone:
        alone = audit(sc, adm, None, rule=result)
        assert rows(alone.violations) == case.expected, alone.violations.to_string()


@pytest.mark.parametrize("rule", list(CASES))
def test_single_fault(rule):
    case = CASES[rule]
    assert {v[0] for v in case.expected} == {rule}
    check_case(case)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_single_fault_variant(name):
    check_case(VARIANTS[name])


def test_every_rule_has_a_single_fault():
    assert list(CASES) == [f"R{i}" for i in range(1, 13)]


# Through the command line ------------------------------------------------------------------------

def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def run_cli(tmp_path: Path, case: Case, edit: bool):
    """The scenario as a CSV folder, the (broken) result as admissions.csv and offers.csv, and
    ``zhaosheng audit`` on them: (exit code, violations.csv, summary.json)."""
    scenario = write_csv_folder(scenario_dict(**case.scenario), tmp_path / "scenario")
    sc, result = engine(case)
    adm, off = result.admissions.copy(), result.offers.copy()
    if edit:
        adm, off = case.edit(sc, adm, off)
    adm.to_csv(tmp_path / "admissions.csv", index=False)
    off.to_csv(tmp_path / "offers.csv", index=False)
    out = tmp_path / "audit"
    got = CliRunner().invoke(cli, ["audit", str(scenario), "--result", str(tmp_path / "admissions.csv"),
                                   "--offers", str(tmp_path / "offers.csv"), "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return got, read(out / "violations.csv"), summary


@pytest.mark.parametrize("rule", list(CASES))
def test_cli_single_fault(tmp_path, rule):
    case = CASES[rule]
    got, violations, summary = run_cli(tmp_path, case, edit=True)
    assert got.exit_code == 1, got.output
    assert list(violations.columns) == VIOLATION_COLUMNS
    expected = {(r, s, sch, "" if b is None else str(b), o) for r, s, sch, b, o in case.expected}
    assert set(zip(violations["rule"], violations["student_id"], violations["school_id"], violations["batch"],
                   violations["other_student_id"])) == expected
    assert len(violations) == len(expected)
    assert summary["status"] == "violations" and summary["violations_by_rule"] == {rule: len(expected)}


def test_cli_clean(tmp_path):
    got, violations, summary = run_cli(tmp_path, CASES["R6"], edit=False)
    assert got.exit_code == 0, got.output
    assert list(violations.columns) == VIOLATION_COLUMNS and violations.empty
    assert summary["status"] == "clean" and summary["violations"] == 0 and summary["differences"] == 0
