"""Explanations (issue #4, point 4): for a published result that is not the rule's, a small set of
published facts that cannot all hold under the rules, found as an infeasible core of a CP-SAT model and
told as a sentence.

Why not the verification model (`solver.cpsat`)?  It derives every placement from the scenario alone, so
any single wrong published fact is infeasible by itself and its core names one fact and no reason.  The
model here is the rules *relative to the published facts*: one school in one batch, where who was still
free at the school's turn and whether the school was full at a turn are unknowns, and only the published
facts given as assumptions pin them down.  Its constraints, per applicant in the school's priority order
(the batch's priority block of the choice rank — the rank under boston, one block under parallel, blocks
of e under chen-kesten, docs/rules.md "R6 variants" — then the chain; applicants the school may not take
come last):

- R6 (HY §九.1): a free applicant who is not admitted finds the school (or, R8, his region's share of it)
  full at his turn; an admitted one finds both with a seat; only a free student is admitted.
- "full" only ever turns on along the order, and full at a turn means the seats ahead are taken:
  confirmed admissions of earlier batches plus the offers ahead of him reach the quota (R7) or the
  region's sub-quota (R8).  A threshold, not an equivalence: it is all a proof needs.
- R7 / R8 (HY §五): the offers of the batch plus earlier confirmations stay within the quota, and within
  each sub-quota.

Facts (assumption literals): for every applicant, "offered a seat here in this batch" or not, and "free
at his turn" (in the batch's pool and holding no offer at an earlier choice of the batch) or not.
Without offers.csv, the freedom of a student a decline names in this batch or before is unknown and is
not assumed (a declined offer is unseen, R9).  The rule's own result satisfies every school's model with
all facts (a test checks this on the bundled scenarios).

The checker's R6, R7 and R8 rows are grouped by fault (the rows naming the same seat-taker or free seat
at a school in a batch, the over-quota rows of a school, of a region's share) and each fault seeds a
search with its own facts: "A rejected, A free, B admitted"; for a wasted seat, or a seat-taker of
another region where A's region has a sub-quota, also enough refusals ahead of A that the seats could
not all be taken before his turn; for R7 / R8 the offers one over the cap.  If they are not enough,
CP-SAT's sufficient assumptions over the facts of the applicants up to the fault give a core.  Facts
are then dropped while the rest stays infeasible; ``minimal`` says that every fact left was shown needed
(all but long lists of refusals, which are kept as the arithmetic gives them).  Violations of the other
rules are single published facts that the scenario's data alone contradict (a date, a decline, an
ineligible student); they are explained by that fact, without a model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from models.columns import text
from solver.checker.context import Context, as_text, id_codes

EXPLANATION_COLUMNS = ["rule", "batch", "school_id", "student_id", "other_student_id", "covers", "facts", "minimal",
                       "method", "explanation", "core"]
MODEL_RULES = ("R6", "R7", "R8")
CORE_SHOWN = 6  # students named in a sentence; the rest are counted (all are in the core column)


def ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


@dataclass(frozen=True)
class Fact:
    """One published fact about one applicant: ``kind`` "offer" (offered a seat here) or "free" (free at
    his turn); ``holds`` whether the published result says so."""
    kind: str
    pos: int  # the applicant's position in the school's priority order
    holds: bool


@dataclass
class Applicants:
    """One school in one batch: its applicants in priority order, with what the published result says."""
    batch: int  # batch position
    school: int
    student: np.ndarray  # student codes, in priority order
    rank: np.ndarray  # 1-based usable choice rank; m + 1 for a student offered a seat he could not use
    offered: np.ndarray  # bool: published offer here in this batch
    offer_known: np.ndarray  # bool: False where a declined offer may be unseen (no offers.csv, R9)
    free: np.ndarray  # int8: 1 free at his turn, 0 not, -1 unknown
    region: np.ndarray
    sub: np.ndarray  # index of his region's sub-quota at this school, -1 none
    held: int  # seats confirmed in earlier batches (R7)
    sub_held: dict  # sub-quota index -> seats of that region confirmed in earlier batches (R8)
    ids: pd.Series  # student ids, in priority order

    @cached_property
    def position(self) -> dict[str, int]:
        """Position in the priority order by student id."""
        return {sid: i for i, sid in enumerate(self.ids.tolist())}


class _Attempt(NamedTuple):
    """One try of a solve (`SchoolModel.infeasible`): a stronger LP and a longer time limit than the last."""

    linearization_level: int
    max_time_in_seconds: float


class SchoolModel:
    """The CP-SAT model of one school in one batch relative to the published facts (see the module)."""

    def __init__(self, ctx: Context, a: Applicants):
        from ortools.sat.python import cp_model

        self.ctx, self.a = ctx, a
        self.cp = cp_model
        m = self.model = cp_model.CpModel()
        L = len(a.student)
        quota = int(ctx.quota[a.school])
        self.x = [m.new_bool_var(f"offer_{i}") for i in range(L)]
        self.v = [m.new_bool_var(f"free_{i}") for i in range(L)]
        for i in range(L):
            m.add_implication(self.x[i], self.v[i])  # only a free student is admitted
        # seats confirmed beyond a cap in earlier batches are that batch's fault, not this one's
        full = self._chain("full", list(range(L)), max(quota - a.held, 0))  # R7
        share_full: dict[int, object] = {}
        for q in np.unique(a.sub[a.sub >= 0]):  # R8: one chain per region with a sub-quota here
            members = np.flatnonzero(a.sub == q).tolist()
            cap = max(int(ctx.sub_quota[q]) - int(a.sub_held.get(int(q), 0)), 0)
            share_full.update(zip(members, self._chain(f"share_full_{q}", members, cap)))
        for i in range(L):  # R6: free and not admitted => the school or his region's share was full
            reasons = [full[i]] + ([share_full[i]] if i in share_full else [])
            m.add_bool_or([self.x[i], self.v[i].Not(), *reasons])

        self.facts: list[Fact] = []
        for i in range(L):
            if a.offer_known[i]:
                self.facts.append(Fact("offer", i, bool(a.offered[i])))
            if a.free[i] >= 0:
                self.facts.append(Fact("free", i, bool(a.free[i])))
        self.solves = 0
        self.undecided = 0  # solves that ended at the time limit

    def _chain(self, name: str, members: list[int], cap: int) -> list:
        """"Full" literals along ``members`` (in priority order) for a cap of ``cap`` free seats: full stays
        full, an admitted member finds it not full, the members' offers stay within the cap, and full at
        some turn means they reach it.  Offers come only before the first full turn, so the offers ahead
        of that turn are all the offers: one linear constraint, not a chain of prefix counts."""
        m = self.model
        full = [m.new_bool_var(f"{name}_{i}") for i in members]
        for t, i in enumerate(members):
            m.add_implication(self.x[i], full[t].Not())
            if t + 1 < len(members):
                m.add_implication(full[t], full[t + 1])
        offers = sum(self.x[i] for i in members)
        m.add(offers <= cap)
        if members and cap > 0:
            m.add(offers >= cap).only_enforce_if(full[-1])
        return full

    def literal(self, f: Fact):
        var = (self.x if f.kind == "offer" else self.v)[f.pos]
        return var if f.holds else var.Not()

    # Most solves are decided by propagation, and probing, the LP and symmetry only cost time.  Where
    # the school's quota and a region's sub-quota interact (R6 "full or share full"), a consistent set of
    # facts can need real search, which the LP's counting settles in about a second: the second attempt.
    CHECKED = 40  # counted facts tested one by one for need

    ATTEMPTS = (_Attempt(linearization_level=0, max_time_in_seconds=1.0),
                _Attempt(linearization_level=2, max_time_in_seconds=30.0))

    def infeasible(self, facts: list[Fact]) -> tuple[bool, list[Fact]]:
        """Whether these facts together break the rules; and, if so, CP-SAT's sufficient subset of them.
        A solve that ends undecided counts as "not shown infeasible" and is counted in ``undecided``."""
        m = self.model
        m.clear_assumptions()
        lits = [self.literal(f) for f in facts]
        m.add_assumptions(lits)
        for attempt in self.ATTEMPTS:
            solver = self.cp.CpSolver()
            prm = solver.parameters
            prm.num_workers = 1
            prm.cp_model_presolve = False  # presolve may answer with unrelated assumptions
            prm.cp_model_probing_level = 0
            prm.symmetry_level = 0
            prm.linearization_level = attempt.linearization_level
            prm.max_time_in_seconds = attempt.max_time_in_seconds
            status = solver.solve(m)
            self.solves += 1
            if status == self.cp.INFEASIBLE:
                index = {lit.index: f for lit, f in zip(lits, facts)}
                core = [index[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in index]
                return True, core or facts
            if status in (self.cp.FEASIBLE, self.cp.OPTIMAL):
                return False, []
        self.undecided += 1
        return False, []

    def core(self, seed: list[Fact], counted: list[Fact], fixed: tuple[Fact, ...]) -> tuple[list[Fact], bool, bool]:
        """(facts, found, minimal): an infeasible set of facts that contains ``fixed`` (the fact explained,
        e.g. "A was not admitted"), and whether it is shown minimal: without any one of its other facts
        it is consistent with the rules.

        First the fault's own facts (`_seed`): each fact of ``seed``, and of ``counted`` when there are at
        most `CHECKED` of them, is dropped if the rest stays infeasible.  A longer ``counted`` list (the
        refusals ahead of a wronged student at a large school) is kept as the arithmetic gave it and the
        core is not claimed minimal.  If the fault's facts are not enough: the facts of the applicants up to
        the last one the fault names (leaving out self-contradicting ones, e.g. an offer to a student who
        was not free: those are told under their own rule), shrunk by deletion while the wronged student's
        refusal and freedom stay.  ``([], False, False)`` when even those are consistent with the rules."""
        facts = list(dict.fromkeys([*fixed, *seed, *counted]))
        ok, _ = self.infeasible(facts)
        if ok:
            return self._fault_core(facts, seed, counted, fixed), True, len(counted) <= self.CHECKED
        return self._applicants_core(facts, seed, counted, fixed)

    def _fault_core(self, facts: list[Fact], seed: list[Fact], counted: list[Fact],
                    fixed: tuple[Fact, ...]) -> list[Fact]:
        """The fault's own ``facts`` (infeasible), less each fact of ``seed`` and of a short ``counted``
        that the rest does not need."""
        checked = [f for f in dict.fromkeys([*seed, *(counted if len(counted) <= self.CHECKED else [])])
                   if f not in fixed]
        for f in checked:
            if self.infeasible([x for x in facts if x != f])[0]:
                facts.remove(f)
        return facts

    def _applicants_core(self, facts: list[Fact], seed: list[Fact], counted: list[Fact],
                         fixed: tuple[Fact, ...]) -> tuple[list[Fact], bool, bool]:
        """The fault's ``facts`` (consistent on their own) with those of the applicants up to the last one
        they name, shrunk by deletion around the wronged student's refusal and freedom (see `core`)."""
        last = max((f.pos for f in facts), default=-1)
        a = self.a
        contradicting = {i for i in np.flatnonzero(a.offered & (a.free == 0))}
        pool = [f for f in self.facts if f.pos <= last and f.pos not in contradicting]
        ok, core = self.infeasible(list(dict.fromkeys([*facts, *pool])))
        if not ok:
            return [], False, False
        # the proof stays about the wronged student: his refusal and his freedom are kept
        kept = [*fixed, *(f for f in seed if f.kind == "free" and any(x.pos == f.pos for x in fixed))]
        keep_last = set(seed) | set(counted)
        rest = sorted(set(core) - set(kept), key=lambda f: (f in keep_last, f.kind == "free", f.pos))
        return kept + self._shrink(rest, kept), True, True

    def _shrink(self, core: list[Fact], fixed: list[Fact]) -> list[Fact]:
        """Deletion-based minimization, chunks halving down to single facts: ``core + fixed`` stays
        infeasible, and becomes feasible without any one fact of ``core``."""
        chunk = max(1, len(core) // 2)
        while True:
            i = 0
            while i < len(core):
                trial = core[:i] + core[i + chunk:]
                ok, sub = self.infeasible(trial + fixed) if trial or fixed else (False, [])
                if ok:
                    kept = set(sub)
                    core = [f for f in trial if f in kept] if len(sub) < len(trial) + len(fixed) else trial
                else:
                    i += chunk
            if chunk == 1:
                return core
            chunk = max(1, chunk // 2)


@dataclass
class Explanations:
    frame: pd.DataFrame  # EXPLANATION_COLUMNS
    explained: int = 0
    unexplained: int = 0  # model rules whose facts were consistent here (e.g. hidden declines)
    skipped: int = 0  # beyond the limit
    solves: int = 0
    timings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"explanations": len(self.frame), "explained_by_core": self.explained,
                "not_explained": self.unexplained, "beyond_limit": self.skipped, "cp_sat_solves": self.solves}


def explain(ctx: Context, violations: pd.DataFrame, limit: int | None = 200) -> Explanations:
    """Explain the violations: the other rules' by their single published fact; R6, R7 and R8 by a minimal
    CP-SAT core, one per fault: the R6 rows naming the same seat-taker (or the same free seat) at a school
    in a batch, the R7 rows of a school, the R8 rows of a school's regional share.  Each explanation is
    told for the group's highest-priority student and says how many rows it covers.  At most ``limit``
    groups are modelled (None: all)."""
    t0 = time.perf_counter()
    v = violations.reset_index(drop=True)
    rows = [_single_row(r) for r in v[~v["rule"].isin(MODEL_RULES)].itertuples(index=False)]
    groups = _groups(ctx, v[v["rule"].isin(MODEL_RULES)])
    skipped = max(len(groups) - limit, 0) if limit is not None else 0
    explained = unexplained = 0
    school_code = {s: i for i, s in enumerate(ctx.school_ids.tolist())}
    batch_pos = {b.id: p for p, b in enumerate(ctx.batches)}
    models: dict[tuple[int, int], SchoolModel] = {}
    for g in groups[:len(groups) - skipped]:
        s, p = school_code.get(g.school_id, -1), batch_pos.get(g.batch, -1)
        if s < 0 or p < 0:  # no school or batch to model: R2-R5 will have said so
            unexplained += 1
            continue
        if (p, s) not in models:
            models[(p, s)] = SchoolModel(ctx, applicants(ctx, p, s))
        row, ok = _core_row(ctx, models[(p, s)], g)
        explained += ok
        unexplained += not ok
        rows.append(row)
    return Explanations(_explanation_frame(rows), explained, unexplained, skipped,
                        sum(mo.solves for mo in models.values()), {"explain": round(time.perf_counter() - t0, 3)})


def _single_row(r: Any) -> dict[str, object]:
    """A violation of a rule told by its one published fact (a row of violations.csv, as a named tuple)."""
    return {"rule": r.rule, "batch": r.batch, "school_id": r.school_id, "student_id": r.student_id,
            "other_student_id": r.other_student_id, "covers": 1, "facts": 1, "minimal": True,
            "method": "fact", "explanation": _single_sentence(r), "core": f"published: {r.detail}"}


def _core_row(ctx: Context, model: SchoolModel, g: _Group) -> tuple[dict[str, object], bool]:
    """The explanation of one fault of R6-R8 by a minimal core of its school's model, and whether the
    model shows the published facts inconsistent at all."""
    base: dict[str, object] = {"rule": g.rule, "batch": g.batch, "school_id": g.school_id,
                               "student_id": g.student_id, "other_student_id": g.other_student_id,
                               "covers": g.covers}
    undecided = model.undecided
    core, ok, minimal = model.core(*_seed(model, g))
    if not ok:
        return {**base, "facts": 0, "minimal": False, "method": "cp-sat",
                "explanation": "the published facts of this school and batch are consistent with R6-R8 "
                               "here (a declined offer the result does not show may explain it)",
                "core": ""}, False
    sentence = _sentence(ctx, model.a, core, g.rule)
    if g.covers > 1:
        sentence += f"; the same fault concerns {g.covers - 1} more student(s) in violations.csv"
    return {**base, "facts": len(core), "minimal": minimal and model.undecided == undecided,
            "method": "cp-sat core", "explanation": sentence,
            "core": "; ".join(_fact_text(ctx, model.a, f) for f in core)}, True


def _explanation_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """explanations.csv: by rule number, batch, school and student; text, whole numbers and flags."""
    frame = pd.DataFrame(rows, columns=EXPLANATION_COLUMNS)
    if len(frame):
        frame["_no"] = frame["rule"].str.slice(1).astype(np.int64)
        frame = frame.sort_values(["_no", "batch", "school_id", "student_id"], kind="stable").drop(columns="_no")
    frame = frame.reset_index(drop=True)
    for c in ("rule", "school_id", "student_id", "other_student_id", "method", "explanation", "core"):
        frame[c] = text(frame[c].fillna("").astype(str).tolist())
    frame["batch"] = pd.array([None if pd.isna(b) else int(b) for b in frame["batch"]], dtype="Int64")
    for c in ("covers", "facts"):
        frame[c] = frame[c].astype(np.int64)
    frame["minimal"] = frame["minimal"].astype(bool)
    return frame


@dataclass
class _Group:
    rule: str
    batch: int
    school_id: str
    student_id: str  # the group's highest-priority student
    other_student_id: str
    covers: int


def _groups(ctx: Context, v: pd.DataFrame) -> list[_Group]:
    """One group per fault (see `explain`), in the order of violations.csv."""
    if v.empty:
        return []
    v = v[v["batch"].notna()]
    student = id_codes(as_text(v["student_id"], len(v)), ctx.student_ids)
    chain = np.where(student >= 0, ctx.rank[np.maximum(student, 0)], ctx.n)
    region = np.where(student >= 0, ctx.region[np.maximum(student, 0)], -1)
    other = v["other_student_id"].fillna("").astype(str)
    key = pd.DataFrame({"rule": v["rule"].astype(str).to_numpy(), "batch": v["batch"].astype(np.int64).to_numpy(),
                        "school_id": v["school_id"].fillna("").astype(str).to_numpy(),
                        # R6: the seat-taker (or the free seat); R7: the school; R8: the region's share
                        "by": np.where(v["rule"] == "R6", other.to_numpy(),
                                       np.where(v["rule"] == "R8", region.astype(str), "")),
                        "chain": chain, "student_id": v["student_id"].astype(str).to_numpy(),
                        "other": other.to_numpy(), "order": np.arange(len(v))})
    out = []
    for _, g in key.groupby(["rule", "batch", "school_id", "by"], sort=False):
        best = g.sort_values(["chain", "order"], kind="stable")  # its first row
        rule, batch, school, student, other_id = (best[c].to_numpy()[0]
                                                  for c in ("rule", "batch", "school_id", "student_id", "other"))
        out.append(_Group(str(rule), int(batch), str(school), str(student), str(other_id), len(g)))
    return out


def applicants(ctx: Context, p: int, s: int) -> Applicants:
    """The applicants of school s in batch position p, in its priority order (R6), with the published
    offers and who was free at his turn; students offered a seat there they could not use come last."""
    usable = ctx.usable[p]
    rows, ks = np.nonzero(usable == s)
    o = ctx.offers
    st, sc, bp, tr = (o[c].to_numpy() for c in ("student", "school", "bpos", "true_rank"))
    conf = o["confirmed"].to_numpy()
    in_b = (bp == p) & (st >= 0) & (sc >= 0)
    here = in_b & (sc == s)
    offered_here = np.unique(st[here])
    foreign = np.setdiff1d(offered_here, rows)
    student = np.r_[rows, foreign].astype(np.int64)
    rank = np.r_[ks + 1, np.full(len(foreign), ctx.m + 1)].astype(np.int64)
    order = np.lexsort((ctx.rank[student], ctx.batches[p].priority_block(rank, ctx.m)))
    student, rank = student[order], rank[order]

    best = np.full(ctx.n, ctx.m + 2, dtype=np.int64)  # the best usable rank of an offer held in the batch
    np.minimum.at(best, st[in_b], tr[in_b])
    free = (ctx.pool[p][student] & (best[student] >= rank)).astype(np.int8)
    offer_known = np.ones(len(student), dtype=bool)
    if not ctx.with_offers:  # R9: a declined offer is unseen; his offers and freedom are unknown
        declined = np.zeros(ctx.n, dtype=bool)
        for q in range(p + 1):
            declined |= ctx.declined_in[q]
        free[declined[student]] = -1
        offer_known = ~ctx.declined_in[p][student]
    region = ctx.region[student]
    sub = ctx.sub_pair(np.full(len(student), s), region)
    before = (bp < p) & conf & (st >= 0) & (sc == s)
    sub_before = ctx.sub_pair(np.full(int(before.sum()), s), ctx.region[st[before]])
    sub_held = {int(q): int(c) for q, c in zip(*np.unique(sub_before[sub_before >= 0], return_counts=True))}
    return Applicants(batch=p, school=s, student=student, rank=rank, offered=np.isin(student, offered_here),
                      offer_known=offer_known, free=free, region=region, sub=sub, held=int(before.sum()),
                      sub_held=sub_held, ids=ctx.student_ids.iloc[student].reset_index(drop=True))


def _seed(model: SchoolModel, g: _Group) -> tuple[list[Fact], list[Fact], tuple[Fact, ...]]:
    """The facts a fault names: (``seed``, each to be tested for need; ``counted``, needed by counting;
    ``fixed``, the fact explained).

    R6: the wronged student A (not offered a seat: the fact explained; free at his turn) and the student
    who took the seat.  Where the seat-taker is none (a wasted seat), or is of another region while A's
    region has a sub-quota here, the proof must also show that the seats ahead of A were not all taken:
    enough refusals of the applicants ahead of him that fewer than the free seats could be filled before
    his turn (any fewer would leave room to fill them).  R7 / R8: the first offers in priority order, one
    more than the free seats of the school / of the region's share (any smaller set fits under it)."""
    ctx, a = model.ctx, model.a
    me = a.position.get(g.student_id, -1)
    if me < 0:
        return [], [], ()
    known = set(model.facts)
    if g.rule == "R6":
        refusal = Fact("offer", me, bool(a.offered[me]))
        seed = [refusal, Fact("free", me, bool(a.free[me] == 1))]
        other = a.position.get(g.other_student_id, -1)
        if other >= 0:
            seed.append(Fact("offer", other, True))
        seed = [f for f in seed if f in known]
        counted: list[Fact] = []
        ahead = np.arange(len(a.student)) < me
        q = int(a.sub[me])
        if other < 0:  # a wasted seat: the school had room at his turn
            counted += _refusals(a, ahead, int(ctx.quota[a.school]) - a.held)
        if q >= 0 and (other < 0 or a.sub[other] != q):  # and his region's share had room
            counted += _refusals(a, ahead & (a.sub == q), int(ctx.sub_quota[q]) - a.sub_held.get(q, 0))
        return seed, list(dict.fromkeys(counted)), (refusal,) if not refusal.holds else ()
    if g.rule == "R7":
        group, cap = np.ones(len(a.student), dtype=bool), int(ctx.quota[a.school]) - a.held
    else:
        q = int(a.sub[me])
        if q < 0:  # no sub-quota for his region here: nothing R8 could have broken
            return [], [], ()
        group, cap = a.sub == q, int(ctx.sub_quota[q]) - a.sub_held.get(q, 0)
    offered = np.flatnonzero(a.offered & a.offer_known & group)[:max(cap, 0) + 1]
    return [], [Fact("offer", int(i), True) for i in offered], ()


def _refusals(a: Applicants, ahead: np.ndarray, cap: int) -> list[Fact]:
    """Published refusals among the applicants ``ahead``, as few as leave fewer than ``cap`` of them able to
    take a seat (the last ones in priority order); [] when the published facts cannot show it."""
    need = int(ahead.sum()) - max(cap, 0) + 1
    if need <= 0:
        return []
    refused = np.flatnonzero(ahead & a.offer_known & ~a.offered)
    if len(refused) < need:
        return []
    return [Fact("offer", int(i), False) for i in refused[-need:]]


# Sentences ---------------------------------------------------------------------------------------------

def _who(ctx: Context, a: Applicants, i: int, school: str | None = None) -> str:
    st = int(a.student[i])
    score = ctx.score[st]
    score_text = f"score {score:g}" if score == score else "no score"
    k = int(a.rank[i])
    if k > ctx.m:
        choice = "not a usable choice of his"
    else:
        choice = f"{ordinal(k)} choice" + (f" {school}" if school else "")
    return f"student {ctx.student_ids.iloc[st]} ({score_text}, {choice})"


def _fact_text(ctx: Context, a: Applicants, f: Fact) -> str:
    sid = ctx.student_ids.iloc[int(a.student[f.pos])]
    if f.kind == "offer":
        return f"{sid} {'offered' if f.holds else 'not offered'} a seat"
    return f"{sid} {'free' if f.holds else 'not free'} at his turn"


def _names(ctx: Context, a: Applicants, positions: list[int], school: str | None = None) -> str:
    shown = [_who(ctx, a, i, school) for i in positions[:CORE_SHOWN]]
    more = len(positions) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class _CoreFacts:
    """The facts of a core by what they say (positions among the school's applicants)."""

    offered: list[int]  # admitted
    not_free: list[int]  # placed before their turn here
    wronged: list[int]  # refused though free at their turn
    others: list[int]  # refused, not shown free

    @classmethod
    def of(cls, core: list[Fact]) -> _CoreFacts:
        refused = {f.pos for f in core if f.kind == "offer" and not f.holds}
        free = {f.pos for f in core if f.kind == "free" and f.holds}
        return cls(offered=sorted(f.pos for f in core if f.kind == "offer" and f.holds),
                   not_free=sorted(f.pos for f in core if f.kind == "free" and not f.holds),
                   wronged=sorted(refused & free), others=sorted(refused - free))


def _was(positions: list[int]) -> str:
    return "was" if len(positions) == 1 else "were"


def _sentence(ctx: Context, a: Applicants, core: list[Fact], rule: str) -> str:
    """The core as one sentence: who was rejected though free, who was admitted, and the seats."""
    school = ctx.school_ids.iloc[a.school]
    batch = ctx.batches[a.batch].id
    facts = _CoreFacts.of(core)
    if facts.wronged:
        parts = _rejected_though_free(ctx, a, facts, rule, school)
    elif facts.offered and not facts.not_free:
        parts = [f"{school} admitted {len(facts.offered)} student(s) in batch {batch}: "
                 f"{_names(ctx, a, facts.offered)}",
                 f"beyond {_seats(ctx, a, rule, facts.offered[-1])}"]
    else:
        parts = _admitted_and_not(ctx, a, facts, school)
    return ", ".join(parts) + f", batch {batch} ({rule})"


def _rejected_though_free(ctx: Context, a: Applicants, facts: _CoreFacts, rule: str, school: str) -> list[str]:
    """R6-R8: who was rejected though free at his turn, who was admitted instead, and the free seat."""
    wronged, offered = facts.wronged, facts.offered
    earlier = [i for i in wronged if a.rank[i] > 1]
    head = f"{_names(ctx, a, wronged, school)} {_was(wronged)} rejected at {school}"
    if earlier:
        head += " though not admitted at an earlier choice"
    if offered:
        head += f" while {_names(ctx, a, offered)} {_was(offered)} admitted there"
    parts = [head]
    ahead = sorted((set(facts.others) | set(facts.not_free)) - set(wronged))
    if ahead:
        parts.append(f"and {len(ahead)} applicant(s) ahead of him took no seat there "
                     f"({_names(ctx, a, ahead)}: not admitted, or placed earlier), so "
                     f"{_seats(ctx, a, rule, wronged[0])} still had a free seat at his turn")
    elif not offered:
        parts[-1] += f" while {_seats(ctx, a, rule, wronged[0])} had a free seat"
    return parts


def _admitted_and_not(ctx: Context, a: Applicants, facts: _CoreFacts, school: str) -> list[str]:
    """Who was admitted, who was not free (placed earlier) and how many others were not admitted."""
    parts = []
    if facts.offered:
        parts.append(f"{_names(ctx, a, facts.offered)} {_was(facts.offered)} admitted at {school}")
    if facts.not_free:
        parts.append(f"though {_names(ctx, a, facts.not_free)} {_was(facts.not_free)} not free "
                     "(admitted earlier in the process)")
    if facts.others:
        parts.append(f"{len(facts.others)} applicant(s) were not admitted")
    return parts


def _seats(ctx: Context, a: Applicants, rule: str, i: int) -> str:
    if rule in ("R6", "R8") and a.sub[i] >= 0:  # his region's share at the school (R8)
        q = int(a.sub[i])
        if q >= 0:
            region = ctx.region_ids.iloc[int(a.region[i])]
            cap, held = int(ctx.sub_quota[q]), a.sub_held.get(q, 0)
            return f"the sub-quota of {region} ({cap}{f', {held} confirmed earlier' if held else ''})"
    quota = int(ctx.quota[a.school])
    return f"its quota ({quota}{f', {a.held} confirmed in earlier batches' if a.held else ''})"


def _single_sentence(r) -> str:
    where = f" at {r.school_id}" if isinstance(r.school_id, str) and r.school_id else ""
    batch = f", batch {int(r.batch)}" if pd.notna(r.batch) else ""
    return f"student {r.student_id}{where}: {r.detail}{batch} ({r.rule})"
