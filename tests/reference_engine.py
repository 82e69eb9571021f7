"""An independent oracle: docs/rules.md R1-R12 as a plain loop over students, written from the text of the
rules and nothing else.  It is slow on purpose and makes no attempt to be clever; the vectorized engine
(solver.engine.sequential) must give exactly the same admissions and offers (tests/test_engine_vs_reference.py).

Input is a valid `models.Scenario` (only its tables and settings are read); output is two lists of
dicts in the columns of docs/formats.md (admissions.csv, offers.csv + region_id, confirm_date).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# R6: A > B > C > D (综合素质评价), or a higher number.
GRADES = {"A": 4, "B": 3, "C": 2, "D": 1, "优秀": 4, "优": 4, "良好": 3, "良": 3, "合格": 2, "待合格": 1, "不合格": 1}
# R6: the chain is score descending, evaluation descending, student_id ascending; a lottery is lower first.
HIGHER_FIRST = {"score": True, "evaluation": True, "lottery": False, "student_id": False}


@dataclass
class Reference:
    admissions: list[dict]
    offers: list[dict]


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (str(v) in ("", "<NA>", "nan"))


def _evaluation_value(v) -> float:
    text = str(v).strip()
    if text.upper() in GRADES:
        return GRADES[text.upper()]
    if text in GRADES:
        return GRADES[text]
    return float(text)


def _id_key(ids: list[str]):
    """student_id ascending.  The rules do not say how ids compare; ids of digits compare as numbers."""
    if ids and all(i.isdigit() for i in ids):
        return lambda i: (int(i), i)
    return lambda i: (0, i)


class _Desc:
    """Wraps a value so that sorting puts the larger one first."""

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


def chain_order(students: list[dict], tie_break) -> list[dict]:
    """The students in the order of the tie-break chain (R6), best first.  The chain always ends in
    student_id, so no two students tie."""
    keys = [k.strip() for k in tie_break]
    if not any(k.partition(":")[0] == "student_id" for k in keys):
        keys.append("student_id")
    id_key = _id_key([s["student_id"] for s in students])

    def key(s):
        parts = []
        for spec in keys:
            name, _, direction = spec.partition(":")
            if direction:
                higher_first = direction == "desc"
            elif name in HIGHER_FIRST:
                higher_first = HIGHER_FIRST[name]
            else:
                raise NotImplementedError(f"tie-break key {name!r} needs an explicit :asc or :desc")
            if name == "student_id":
                value = id_key(s["student_id"])
            elif name == "evaluation":
                value = _evaluation_value(s["evaluation"])
            else:
                value = float(s[name])
            parts.append(_Desc(value) if higher_first else value)
        return tuple(parts)

    return sorted(students, key=key)


def _list_of(s: dict, list_name: str, max_choices: int) -> list[str]:
    out = []
    for k in range(1, max_choices + 1):
        col = f"choice_{k}" if list_name == "choices" else f"{list_name}_choice_{k}"
        v = s.get(col, "")
        out.append("" if _missing(v) else str(v))
    return out


def run_reference(sc) -> Reference:
    settings = sc.settings
    m = settings.max_choices
    students = [dict(r) for r in sc.students.to_dict("records")]
    for s in students:
        s["student_id"] = str(s["student_id"])
    schools = {str(r["school_id"]): r for r in sc.schools.to_dict("records")}
    regions = {str(r["region_id"]): r for r in sc.regions.to_dict("records")}
    sub_quota = {(str(r["school_id"]), str(r["region_id"])): int(r["quota"]) for r in sc.subquotas.to_dict("records")}
    passes = {(str(r["student_id"]), str(r["school_id"])) for r in sc.interviews.to_dict("records")}
    declines = {(str(r["student_id"]), int(r["batch"])) for r in sc.declines.to_dict("records")}
    chain = chain_order(students, settings.tie_break)

    # R1: a fresh student without a graduation certificate never goes to a vocational school.
    def eligible(s) -> bool:
        return not (s["cohort"] == "fresh" and not bool(s["certificate"]))

    # R4: general high school first, per region, by seats (chain order) or by cutoff.
    general: set[str] = set()
    if settings.general_stage != "none":
        for rid, reg in regions.items():
            seats = None if _missing(reg.get("general_seats")) else int(reg["general_seats"])
            cutoff = None if _missing(reg.get("general_cutoff")) else float(reg["general_cutoff"])
            if seats is not None and cutoff is not None:  # both given: the setting decides
                use = settings.general_stage
            else:
                use = "seats" if seats is not None else "cutoff" if cutoff is not None else None
            applicants = [s for s in chain if s["region_id"] == rid and bool(s["applies_general"])]
            if use == "seats":
                general.update(s["student_id"] for s in applicants[:seats])
            elif use == "cutoff":
                general.update(s["student_id"] for s in applicants if float(s["score"]) >= cutoff)

    free = {sid: int(r["quota"]) for sid, r in schools.items()}  # R7
    free_sub = dict(sub_quota)  # R8
    confirmed: dict[str, tuple] = {}  # student -> (school, batch, rank)   R10: at most one
    declined_at: dict[str, set] = {s["student_id"]: set() for s in students}  # R5
    took_part: set[str] = set()
    offers: list[dict] = []

    for b in settings.batches:  # R5: batches in order
        pool = [s for s in chain
                if eligible(s) and s["student_id"] not in general and s["student_id"] not in confirmed]
        usable: dict[str, list[str]] = {}
        for s in pool:
            sid = s["student_id"]
            lst = _list_of(s, b.choices, m)
            if b.fallback and all(c == "" for c in lst):
                lst = _list_of(s, "choices", m)
            out = []
            for school in lst:
                void = (school == ""
                        or not bool(schools[school]["registered"])  # R2
                        or (bool(schools[school]["requires_interview"]) and (sid, school) not in passes)  # R3
                        or school in declined_at[sid])  # R5
                out.append("" if void else school)  # a void choice keeps its place (R2)
            usable[sid] = out
            if any(out):
                took_part.add(sid)

        seats = dict(free)  # offers hold their seats until the batch ends (R9)
        sub_seats = dict(free_sub)
        offered: dict[str, tuple[str, int]] = {}
        for k in range(m):  # R6: rounds k = 1 .. max_choices
            for s in pool:  # in chain order, each applicant at the school of his k-th choice
                sid = s["student_id"]
                if sid in offered:
                    continue
                school = usable[sid][k]
                if not school:
                    continue
                pair = (school, s["region_id"])
                if seats[school] > 0 and (pair not in sub_seats or sub_seats[pair] > 0):  # R7, R8
                    offered[sid] = (school, k + 1)
                    seats[school] -= 1
                    if pair in sub_seats:
                        sub_seats[pair] -= 1
                # else: rejected; a full region does not stop later students of other regions (R8)

        for s in students:  # R9: confirmed unless declined; a declined seat returns after the batch
            sid = s["student_id"]
            if sid not in offered:
                continue
            school, rank = offered[sid]
            ok = (sid, b.id) not in declines
            offers.append({"student_id": sid, "school_id": school, "batch": b.id, "choice_rank": rank,
                           "admit_date": b.admit_by.isoformat(), "confirmed": ok, "region_id": s["region_id"],
                           "confirm_date": b.confirm_by.isoformat() if ok else None})
            if ok:
                confirmed[sid] = (school, b.id, rank)
                free[school] -= 1
                if (school, s["region_id"]) in free_sub:
                    free_sub[(school, s["region_id"])] -= 1
            else:
                declined_at[sid].add(school)

    dates = {b.id: (b.admit_by.isoformat(), b.confirm_by.isoformat()) for b in settings.batches}
    admissions = []
    for s in students:  # R12: exactly one outcome
        sid = s["student_id"]
        row = {"student_id": sid, "region_id": s["region_id"], "outcome": None, "school_id": None, "batch": None,
               "choice_rank": None, "admit_date": None, "confirm_date": None}
        if sid in general:
            row["outcome"] = "general"
        elif sid in confirmed:
            school, bid, rank = confirmed[sid]
            row.update(outcome="vocational", school_id=school, batch=bid, choice_rank=rank,
                       admit_date=dates[bid][0], confirm_date=dates[bid][1])
        elif not eligible(s):
            row["outcome"] = "ineligible"
        elif sid in took_part:
            row["outcome"] = "unplaced"
        else:
            row["outcome"] = "none"
        admissions.append(row)
    return Reference(admissions, offers)
