"""What the rules can and must give over a whole box of quota vectors: which offers are possible under
*some* quota vector with ``lower <= q <= upper``, and which are made under *every* one of them (`reach`).
The bound of a plan (`solver.analysis.plan.relax`) and its branch and bound (`solver.analysis.plan.branch`)
are built on it.

The rule (R5–R9, as the sequential engine applies it) processes applications in a fixed order: batch by
batch, round k = 1 .. max_choices, each school its round's applicants in the order of the chain.  An
application a (student i, school s, batch b, round k) ends in an offer iff

- i is *active* at a: in batch b's pool (no confirmed offer in an earlier batch, R5), no offer in an
  earlier round of batch b (R3), and s not declined by i in an earlier batch (R5, R9); and
- s has a free seat at a's turn: its *slack* ``q_s - held seats`` is > 0 (R7), and so has the share of i's
  region at s where there is one (R8, slack ``sub_quota - held``);

then both slacks fall by one.  At the end of a batch each declined offer returns its seat (R9).

Here every quantity is replaced by what is known of it over the box: a slack by an interval ``[lo, hi]``
(at the start of batch 1 ``[lower_s, upper_s]``; a share's ``[sub_quota, sub_quota]``), a yes/no fact
(active, offered, in the pool, declined there) by the pair "can be true" / "is surely true".  The
updates, in the rule's order:

- offer *can* happen iff active can be true, ``hi > 0`` and the share's ``hi > 0``; it *surely* happens
  iff active is sure, ``lo > 0`` and the share's ``lo > 0``;
- a sure offer: ``[lo - 1, hi - 1]``;  an offer that can happen: ``lo -> max(lo - 1, 0)``, and ``hi ->
  max(hi - 1, 0)`` when the applicant is surely active and the other slack surely free (then the slack
  is exactly ``max(slack - 1, 0)``), else ``hi`` stays;  no offer possible: unchanged;
- end of batch: ``lo`` gains the sure declined offers there, ``hi`` those that can happen;
- pool and declined schools: sure/can of the previous batch's confirmed and declined offers.

Why it is valid (the bound rests on it): by induction along the rule's order, for every quota vector
q of the box the true slack lies in its interval and every true fact is allowed by its pair — each update
above maps every value of the interval to a value of the new interval (a slack never goes below 0, since
an offer needs slack > 0).  So an offer made under some q of the box has ``can``, and one with ``sure`` is
made under every q of the box.  With ``lower == upper`` every interval is a point and ``can == sure`` is
exactly the rule's outcome (the tests compare it with the sequential engine).

Vectorized per school and round where no share can fill (a slack after m applicants is a clipped
difference of counts); a school's round where one may is walked applicant by applicant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.scenario import Scenario
from solver.engine.arrays import ScenarioArrays, in_sorted
from solver.engine.choices import batch_choices
from solver.engine.general import general_stage

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass
class Applications:
    """Every application the rule may read, in the rule's order: by batch, round, school, then chain."""

    student: IntArray
    school: IntArray
    batch: IntArray  # batch position 0 .. B-1
    rank: IntArray  # 1-based round (choice rank)
    sub: IntArray  # sub-quota of (school, student's region), -1 where none (R8)
    declines: BoolArray  # the student declines offers of this batch (R9)
    rounds: list[tuple[int, int, int]]  # (batch, start, end) of each round's applications
    n_students: int
    n_schools: int
    sub_quota: IntArray
    sub_school: IntArray  # the school of each sub-quota
    registered: BoolArray  # per school (R2)

    @property
    def n(self) -> int:
        return len(self.student)

    def pair_keys(self, rows: IntArray | slice) -> IntArray:
        return self.student[rows] * self.n_schools + self.school[rows]

    def batch_rows(self, batch: int) -> slice:
        starts = [s for b, s, _ in self.rounds if b == batch]
        ends = [e for b, _, e in self.rounds if b == batch]
        return slice(min(starts), max(ends)) if starts else slice(0, 0)


def supported(sc: Scenario) -> bool:
    """`reach` follows the sequential rule: every batch takes one choice at a time (boston, or chen-kesten
    with e = 1).  Deferred acceptance within a block (parallel, larger e) is not propagated here."""
    m = sc.settings.max_choices
    return all(b.block_size(m) == 1 for b in sc.settings.batches)


def applications(sc: Scenario, arr: ScenarioArrays) -> Applications:
    """The usable choices (R2, R3, R5 lists; a school declined earlier is left to `reach`) of the eligible
    students not admitted to general high school (R1, R4), round by round as the sequential engine reads
    them."""
    general = general_stage(sc, arr)
    none = np.zeros(0, dtype=np.int64)
    parts: list[tuple[IntArray, IntArray, int, int, BoolArray]] = []
    rounds = []
    at = 0
    for bpos, b in enumerate(sc.settings.batches):
        codes = batch_choices(arr, b, none)
        codes[~arr.eligible | general] = -1
        for k in range(codes.shape[1]):
            rows = np.flatnonzero(codes[:, k] >= 0)
            schools = codes[rows, k].astype(np.int64)
            order = np.lexsort((arr.rank[rows], schools))
            rows, schools = rows[order].astype(np.int64), schools[order]
            parts.append((rows, schools, bpos, k + 1, arr.declines[b.id][rows]))
            rounds.append((bpos, at, at + len(rows)))
            at += len(rows)
    cat = np.concatenate
    student = cat([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    school = cat([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    batch = cat([np.full(len(p[0]), p[2], np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
    rank = cat([np.full(len(p[0]), p[3], np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
    declines = cat([p[4] for p in parts]) if parts else np.zeros(0, bool)
    sub = (arr.sub_index[school, arr.region[student]] if arr.sub_index.size else np.full(len(student), -1))
    return Applications(student, school, batch, rank, np.asarray(sub, dtype=np.int64), declines.astype(bool),
                        rounds, arr.n, arr.n_schools, arr.sub_quota.astype(np.int64),
                        arr.sub_school.astype(np.int64), arr.registered.astype(bool))


@dataclass
class Reach:
    can: BoolArray  # per application: an offer under some quota vector of the box
    sure: BoolArray  # an offer under every quota vector of the box
    room: IntArray  # the high end of the school's slack at the application's turn (where to split a box)


@dataclass
class _Slack:
    lo: IntArray
    hi: IntArray


@dataclass
class _Students:
    pool_can: BoolArray
    pool_sure: BoolArray
    void_can: IntArray  # sorted pair keys (student, school) of offers that can have been declined earlier
    void_sure: IntArray  # ... that surely were


def reach(apps: Applications, lower: IntArray, upper: IntArray) -> Reach:
    """The offers possible under some, and made under every, quota vector within ``lower .. upper``."""
    can = np.zeros(apps.n, dtype=bool)
    sure = np.zeros(apps.n, dtype=bool)
    room = np.zeros(apps.n, dtype=np.int64)
    school = _Slack(np.asarray(lower, np.int64).copy(), np.asarray(upper, np.int64).copy())
    share = _Slack(apps.sub_quota.copy(), apps.sub_quota.copy())
    state = _Students(np.ones(apps.n_students, bool), np.ones(apps.n_students, bool),
                      np.zeros(0, np.int64), np.zeros(0, np.int64))
    batches = sorted({b for b, _, _ in apps.rounds})
    for b in batches:
        off_can = np.zeros(apps.n_students, dtype=bool)
        off_sure = np.zeros(apps.n_students, dtype=bool)
        for _, start, end in (r for r in apps.rounds if r[0] == b):
            rows = slice(start, end)
            st = apps.student[rows]
            keys = apps.pair_keys(rows)
            act_can = state.pool_can[st] & ~off_sure[st] & ~in_sorted(keys, state.void_sure)
            act_sure = state.pool_sure[st] & ~off_can[st] & ~in_sorted(keys, state.void_can)
            c, s, room[rows] = _round(apps, start, end, act_can, act_sure, school, share)
            can[rows], sure[rows] = c, s
            off_can[st[c]] = True
            off_sure[st[s]] = True
        _end_of_batch(apps, apps.batch_rows(b), can, sure, school, share, state)
    return Reach(can, sure, room)


def _end_of_batch(apps: Applications, rows: slice, can: BoolArray, sure: BoolArray, school: _Slack,
                  share: _Slack, state: _Students) -> None:
    """Declined offers return their seats (R9); confirmed ones leave the pool, declined ones void their
    school for the student from now on (R5)."""
    dec = apps.declines[rows]
    c, s = can[rows], sure[rows]
    sch, sub, st = apps.school[rows], apps.sub[rows], apps.student[rows]
    S, P = apps.n_schools, len(apps.sub_quota)
    school.hi += np.bincount(sch[c & dec], minlength=S)
    school.lo += np.bincount(sch[s & dec], minlength=S)
    if P:
        share.hi += np.bincount(sub[c & dec & (sub >= 0)], minlength=P)
        share.lo += np.bincount(sub[s & dec & (sub >= 0)], minlength=P)
    keys = apps.pair_keys(rows)
    state.void_can = np.unique(np.concatenate([state.void_can, keys[c & dec]]))
    state.void_sure = np.unique(np.concatenate([state.void_sure, keys[s & dec]]))
    confirmed_can = np.zeros(apps.n_students, dtype=bool)
    confirmed_sure = np.zeros(apps.n_students, dtype=bool)
    confirmed_can[st[c & ~dec]] = True
    confirmed_sure[st[s & ~dec]] = True
    state.pool_sure &= ~confirmed_can
    state.pool_can &= ~confirmed_sure


def _round(apps: Applications, start: int, end: int, act_can: BoolArray, act_sure: BoolArray,
           school: _Slack, share: _Slack) -> tuple[BoolArray, BoolArray, IntArray]:
    """One round at every school: which applications can / surely end in an offer, and the high end of
    their school's slack at their turn; the slacks updated."""
    can = np.zeros(end - start, dtype=bool)
    sure = np.zeros(end - start, dtype=bool)
    room = np.zeros(end - start, dtype=np.int64)
    sch, sub = apps.school[start:end], apps.sub[start:end]
    walked = np.zeros(end - start, dtype=bool)
    if (sub >= 0).any():  # a share that may fill in this round makes its school's round walked
        demand = np.bincount(sub[(sub >= 0) & act_can], minlength=len(share.lo))
        binding = np.flatnonzero(share.lo < demand)
        walked = np.isin(sch, apps.sub_school[binding])
    plain = np.flatnonzero(~walked)
    if len(plain):
        can[plain], sure[plain], room[plain] = _plain_round(sch[plain], sub[plain], act_can[plain],
                                                            act_sure[plain], school, share)
    steps = np.flatnonzero(walked)
    if len(steps):
        can[steps], sure[steps], room[steps] = _walk(sch[steps], apps.sub[start + steps], act_can[steps],
                                                     act_sure[steps], school, share)
    return can, sure, room


def _plain_round(sch: IntArray, sub: IntArray, act_can: BoolArray, act_sure: BoolArray, school: _Slack,
                 share: _Slack) -> tuple[BoolArray, BoolArray, IntArray]:
    """A round at schools whose shares cannot fill in it (each share's low end at least its possibly
    active applicants: its slack stays > 0 for every one of them), ``sch`` sorted (chain order within
    each school): the high end falls by one per surely active applicant, the low end by one per possible
    offer, both clipped at 0; a share's high end by one per surely active applicant whose school surely
    has a seat, its low end by one per possible offer."""
    first = np.flatnonzero(np.r_[True, sch[1:] != sch[:-1]])
    sizes = np.diff(np.r_[first, len(sch)])
    group_start = np.repeat(first, sizes)
    sure_ahead = _exclusive_cumsum(act_sure, group_start)
    room = np.maximum(school.hi[sch] - sure_ahead, 0)
    can = act_can & (room > 0)
    can_ahead = _exclusive_cumsum(can, group_start)
    free = school.lo[sch] - can_ahead > 0
    sure = act_sure & free
    S, P = len(school.lo), len(share.lo)
    school.hi[:] = np.maximum(school.hi - np.bincount(sch[act_sure], minlength=S), 0)
    school.lo[:] = np.maximum(school.lo - np.bincount(sch[can], minlength=S), 0)
    shared = sub >= 0
    if shared.any():
        share.hi[:] = np.maximum(share.hi - np.bincount(sub[shared & act_sure & free], minlength=P), 0)
        share.lo[:] = np.maximum(share.lo - np.bincount(sub[shared & can], minlength=P), 0)
    return can, sure, room


def _exclusive_cumsum(flags: BoolArray, group_start: IntArray) -> IntArray:
    """How many of ``flags`` are true before each position within its group (groups are runs)."""
    total = np.cumsum(flags, dtype=np.int64) - flags
    return total - total[group_start]


def _walk(sch: IntArray, sub: IntArray, act_can: BoolArray, act_sure: BoolArray, school: _Slack, share: _Slack
          ) -> tuple[BoolArray, BoolArray, IntArray]:
    """A round at schools with sub-quotas, applicant by applicant in the chain's order (Python numbers:
    a numpy scalar per step costs more than the step)."""
    slack = _Walk(school.lo.tolist(), school.hi.tolist(), share.lo.tolist(), share.hi.tolist())
    out = [_step(s, p, c, a, slack) for s, p, c, a in zip(sch.tolist(), sub.tolist(), act_can.tolist(),
                                                         act_sure.tolist())]
    school.lo[:], school.hi[:] = slack.lo, slack.hi
    share.lo[:], share.hi[:] = slack.share_lo, slack.share_hi
    can, sure, room = zip(*out)
    return np.array(can, dtype=bool), np.array(sure, dtype=bool), np.array(room, dtype=np.int64)


@dataclass
class _Walk:
    lo: list[int]
    hi: list[int]
    share_lo: list[int]
    share_hi: list[int]


def _step(s: int, p: int, act_can: bool, act_sure: bool, w: _Walk) -> tuple[bool, bool, int]:
    """One applicant at a school with sub-quotas (``p``: his region's share there, or -1): can he get an
    offer, surely, and the high end of the school's slack at his turn."""
    room = w.hi[s]
    shared = p >= 0
    share_hi = w.share_hi[p] if shared else 1
    share_lo = w.share_lo[p] if shared else 1
    if not act_can or room <= 0 or share_hi <= 0:
        return False, False, room
    school_lo = w.lo[s]
    sure = act_sure and school_lo > 0 and share_lo > 0
    if act_sure and share_lo > 0:  # the school's slack is exactly max(slack - 1, 0), and hi > 0
        w.hi[s] -= 1
    w.lo[s] = max(school_lo - 1, 0)
    if shared:
        if act_sure and school_lo > 0:  # the same for the share's slack
            w.share_hi[p] -= 1
        w.share_lo[p] = max(share_lo - 1, 0)
    return True, sure, room
