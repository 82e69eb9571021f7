"""R12 Outcome (HY §十): each student ends with exactly one outcome, ``general``, ``vocational`` (school,
batch, choice rank), ``unplaced`` (took part, no seat), ``ineligible`` (R1) or ``none`` (filed no usable
choice and was not admitted to general high school).  Checked: one admissions row per student of the
scenario; a vocational row matches a confirmed offer; no other outcome while a confirmed offer is held;
ineligible exactly for the students R1 excludes; none and unplaced as the student took part or not
(had a usable choice in a batch whose pool he was in, R5); the fields of a non-vocational row empty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scenario import OUTCOMES
from solver.checker.context import (
    INELIGIBLE,
    NONE,
    UNPLACED,
    VOCATIONAL,
    Context,
    at,
    in_sorted,
    join,
    joint_keys,
    pick,
    position_in_group,
    violations,
)


def check(ctx: Context) -> pd.DataFrame:
    a, o = ctx.adm, ctx.offers
    ast, outcome, batch = a["student"].to_numpy(), a["outcome"].to_numpy(), a["batch"].to_numpy()
    outcome_text = a["outcome_text"]
    frames = []

    def add(mask, detail, ids=None, with_school=False):
        """Violations for the admissions rows in ``mask`` (or, with ``ids``, for students)."""
        r = np.flatnonzero(mask)
        if ids is not None:
            frames.append(violations("R12", pick(ids, r), detail=detail))
            return
        frames.append(violations("R12", pick(a["student_id"], r), pick(a["school_id"], r) if with_school else None,
                                 batch[r] if with_school else None,
                                 detail=detail if isinstance(detail, str) else detail(r)))

    known = ast >= 0
    add(~known, "admissions row of a student not in the scenario")
    add(ctx.adm_rows == 0, "student missing from admissions", ids=ctx.student_ids)
    order = np.flatnonzero(known)
    order = order[np.argsort(ast[order], kind="stable")]
    within, _ = position_in_group(ast[order])
    again = np.zeros(len(a), dtype=bool)
    again[order[within > 0]] = True
    add(again, lambda r: join("student listed ", ctx.adm_rows[ast[r]], " times in admissions"))
    add(outcome < 0, lambda r: join("outcome '", pick(outcome_text, r), "' is not one of " + ", ".join(OUTCOMES)))

    # the confirmed offers each student holds
    o_st = o["student"].to_numpy()
    conf = np.flatnonzero((o_st >= 0) & o["confirmed"].to_numpy())
    holds = at(np.bincount(o_st[conf], minlength=ctx.n) > 0, ast, False)
    conf_sorted = conf[np.argsort(o_st[conf], kind="stable")]

    def first_offer(r):  # the first confirmed offer of the student of each admissions row r
        pos = np.searchsorted(o_st[conf_sorted], ast[r])
        return conf_sorted[np.minimum(pos, max(len(conf_sorted) - 1, 0))]

    voc = known & (outcome == VOCATIONAL)
    vrows = np.flatnonzero(voc)

    def columns(f, rows):
        return [f["student"].to_numpy()[rows] + 1, f["school"].to_numpy()[rows] + 1, f["bpos"].to_numpy()[rows] + 1,
                np.maximum(f["rank"].to_numpy()[rows] + 1, 0)]

    keys = joint_keys(*[np.r_[x, y] for x, y in zip(columns(a, vrows), columns(o, conf))])
    matched = np.zeros(len(a), dtype=bool)
    matched[vrows] = in_sorted(keys[:len(vrows)], np.sort(keys[len(vrows):]))
    add(voc & ~holds, "vocational without a confirmed offer", with_school=True)

    def differs(r):
        f = first_offer(r)
        return join("vocational (", pick(a["school_id"], r), ", batch ", batch[r], ", choice ", a["rank"].to_numpy()[r],
                    ") differs from the confirmed offer (", pick(o["school_id"], f), ", batch ",
                    o["batch"].to_numpy()[f], ", choice ", o["rank"].to_numpy()[f], ")")
    add(voc & holds & ~matched, differs, with_school=True)

    add(known & np.isin(outcome, [UNPLACED, NONE, INELIGIBLE]) & holds,
        lambda r: join(pick(outcome_text, r), " while holding a confirmed offer at ",
                       pick(o["school_id"], first_offer(r))))
    eligible = at(ctx.eligible, ast, True)
    add(known & (outcome == INELIGIBLE) & eligible, "ineligible although the student is eligible (R1)")
    add(known & ~eligible & np.isin(outcome, [UNPLACED, NONE]) & ~holds,
        lambda r: join(pick(outcome_text, r), " for a fresh student without a certificate: should be ineligible (R1)"))
    took = at(ctx.took_part, ast, False)
    add(known & eligible & (outcome == NONE) & took & ~holds,
        "none although the student took part (a usable choice in a batch whose pool he was in)")
    add(known & eligible & (outcome == UNPLACED) & ~took & ~holds,
        "unplaced although the student took part in no batch (no usable choice while in a batch's pool)")

    filled = ((a["school_id"] != "").to_numpy() | (batch >= 0) | (a["rank"].to_numpy() >= 0)
              | (a["admit_text"] != "").to_numpy() | (a["confirm_text"] != "").to_numpy())
    add((outcome >= 0) & (outcome != VOCATIONAL) & filled,
        lambda r: join("school, batch, choice_rank and dates must be empty for outcome ", pick(outcome_text, r)))
    own = pick(ctx.region_ids, at(ctx.region, ast, -1))
    region = a["region_id"].reset_index(drop=True)
    add(known & (region != "").to_numpy() & (region != own.reset_index(drop=True)).to_numpy(),
        lambda r: join("region_id ", pick(region, r), " is not the student's region (学籍所在地) ", pick(own, r)))

    if ctx.with_offers:
        bad = o_st < 0
        frames.append(violations("R12", o["student_id"][bad], o["school_id"][bad], o["batch"].to_numpy()[bad],
                                 detail="offer to a student not in the scenario"))
    return pd.concat(frames, ignore_index=True)
