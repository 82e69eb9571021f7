"""The checker: a verifier that knows nothing of the engines, one module per rule id (docs/rules.md R1-R12).

``check(scenario, admissions, offers=None)`` reads a scenario and a published result in the form of
docs/formats.md (``admissions.csv``, optionally ``offers.csv``; typed frames or every column as text) and
returns the violations (``violations.csv``: rule, student_id, school_id, batch, other_student_id,
detail), sorted by rule, then student.  An empty frame means the result follows every rule.

The facts the rules share (codes, the chain, each batch's pool and usable choices) are worked out once
in `solver.checker.context`, a second implementation of R2, R3 and R5 that imports no engine code.
Without ``offers`` the vocational admissions stand for the confirmed offers, and the checks that need
the declined offers are skipped (R5 declined schools, R9 unconfirmed offers) or made conservative: R6
reports nothing an unseen declined offer could explain (`r06_order._Hidden`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scenario import Scenario
from solver.checker import (
    r01_eligibility,
    r02_catalogue,
    r03_choices,
    r04_general,
    r05_batches,
    r06_order,
    r07_quota,
    r08_subquota,
    r09_confirmation,
    r10_no_double,
    r11_dates,
    r12_outcome,
)
from solver.checker.context import COLUMNS, Context, build, empty

RULES = {
    "R1": r01_eligibility.check, "R2": r02_catalogue.check, "R3": r03_choices.check, "R4": r04_general.check,
    "R5": r05_batches.check, "R6": r06_order.check, "R7": r07_quota.check, "R8": r08_subquota.check,
    "R9": r09_confirmation.check, "R10": r10_no_double.check, "R11": r11_dates.check, "R12": r12_outcome.check,
}

__all__ = ["COLUMNS", "RULES", "Context", "build", "check", "check_context"]


def check(scenario: Scenario, admissions: pd.DataFrame, offers: pd.DataFrame | None = None,
          rules=None) -> pd.DataFrame:
    """Every violation of the rules (all of them, or the ids in ``rules``) by this result."""
    return check_context(build(scenario, admissions, offers), rules)


def check_context(ctx: Context, rules=None) -> pd.DataFrame:
    """`check` on facts already worked out by `build` (the audit reuses them for its explanations)."""
    frames = [RULES[rule](ctx) for rule in (rules or RULES)]
    out = pd.concat([empty(), *[f for f in frames if len(f)]], ignore_index=True)
    # one row per (rule, student, school, batch): one fault seen by two checks of a rule is told once
    out = out.drop_duplicates(["rule", "student_id", "school_id", "batch"], keep="first")
    rule_no = out["rule"].str.slice(1).astype(np.int64) if len(out) else pd.Series(dtype=np.int64)
    out = out.assign(_rule=rule_no).sort_values(["_rule", "student_id", "school_id", "batch", "other_student_id"],
                                                 kind="stable", na_position="first")
    return out.drop(columns="_rule").reset_index(drop=True)[COLUMNS]
