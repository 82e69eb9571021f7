"""The sequential engine: the admission rules exactly as the policy documents state them, vectorized.

R1 eligibility, R2 catalogue and R3 choices (via `solver.engine.choices`), R4 general high school first,
R5 batches in order, R6 the sequential rule (rounds k = 1 .. max_choices, each school taking its k-th
choice applicants in the order of the tie-break chain) or a variant of it a batch names (docs/rules.md,
"R6 variants": parallel 平行志愿, chen-kesten with e), R7 quota caps across batches, R8 regional
sub-quotas nested in the quota, R9 confirmation and declines, R10 no double admission, R11 offer dates
from the batch calendar, R12 one outcome per student.

Every mechanism takes the choices in blocks (one choice under boston, all under parallel, e under
chen-kesten): within a block, deferred acceptance over the block's choices with the seats left after the
earlier blocks (`admit_block`); at the end of a block the holds become offers.  A block of one choice is
one round of the sequential rule.

Python loops run over batches, blocks and deferred-acceptance steps only; every step inside is a numpy
operation over all applications of the step.
"""

from __future__ import annotations

import time

import numpy as np

from models.results import Result, build_admissions, build_offers
from models.scenario import OUTCOMES, Scenario
from solver.engine.arrays import ScenarioArrays, cumcount, filled_any, stable_by
from solver.engine.choices import batch_choices
from solver.engine.general import general_stage
from solver.progress import Progress


def admit_round(arr: ScenarioArrays, students: np.ndarray, schools: np.ndarray,
                seats: np.ndarray, sub_seats: np.ndarray) -> np.ndarray:
    """One round of R6 at every school at once.  ``students``/``schools`` are the round's applications
    sorted by (school, chain rank).  A student is admitted while the school has a free seat (R7) and
    his region's share of it has one (R8); a student skipped for a full region does not stop the school
    from admitting students of other regions after him.  ``seats`` and ``sub_seats`` are updated.

    Sequentially, the school's count only grows, so an applicant is admitted iff (a) fewer applicants of
    his region with a sub-quota came before him than the region's free seats, and (b) fewer applicants
    passing (a) came before him than the school's free seats.
    """
    if len(students) == 0:
        return np.zeros(0, dtype=bool)
    pair = arr.sub_index[schools, arr.region[students]] if arr.sub_index.size else np.full(len(students), -1)
    region_ok = np.ones(len(students), dtype=bool)
    limited = np.flatnonzero(pair >= 0)
    if len(limited):
        order = limited[np.argsort(pair[limited], kind="stable")]  # keeps chain order within a pair
        within = np.empty(len(students), dtype=np.int64)
        within[order] = cumcount(pair[order])
        region_ok[limited] = within[limited] < sub_seats[pair[limited]]
    ok = region_ok.astype(np.int64)
    running = np.cumsum(ok) - ok  # passing applicants before this one, over all schools
    starts = np.flatnonzero(np.r_[True, schools[1:] != schools[:-1]])
    offset = np.repeat(running[starts], np.diff(np.r_[starts, len(schools)]))
    admitted = region_ok & (running - offset < seats[schools])
    seats -= np.bincount(schools[admitted], minlength=len(seats))
    taken = pair[admitted & (pair >= 0)]
    if len(taken):
        sub_seats -= np.bincount(taken, minlength=len(sub_seats))
    return admitted


def admit_block(arr: ScenarioArrays, codes: np.ndarray, first: int, last: int, applicants: np.ndarray,
                seats: np.ndarray, sub_seats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deferred acceptance over the choices ``first .. last - 1`` (0-based columns of ``codes``) of the
    students ``applicants`` (R6 variants): each applies to his first usable choice of the block; each school
    holds, in chain order, the applicants for whom both it and their region's share have room (R7, R8,
    `admit_round` on its current applicants) and rejects the rest, who apply to their next choice of the
    block; when nobody rejected has a choice left, the holds are the block's offers.  Returns (students
    offered, their schools, their 0-based choice columns); ``seats`` and ``sub_seats`` are updated.

    A step re-reads, at each school that has newcomers, the newcomers and those it holds behind the best of
    them in the chain, against the seats the school (and each share) had when the block began less the
    holds ahead of him, which no newcomer can take; schools without newcomers keep their holds untouched.
    (With one chain for every school a step is thus deferred acceptance's step, done on the part of each
    list that can change.)"""
    column = np.full(arr.n, last, dtype=np.int64)  # the choice each applicant applies to now (last: none left)
    column[applicants] = _next_usable(codes, applicants, np.full(len(applicants), first), last)
    held_at = np.full(arr.n, -1, dtype=np.int64)  # the school holding each student
    holders = np.zeros(0, dtype=np.int64)
    newcomers = applicants[column[applicants] < last]
    best = np.empty(len(seats), dtype=np.int64)  # per school: the chain position of its best newcomer
    current = np.zeros(arr.n, dtype=bool)
    shares = len(sub_seats)
    while len(newcomers):
        best[:] = arr.n
        np.minimum.at(best, codes[newcomers, column[newcomers]], arr.rank[newcomers])
        school_of = held_at[holders]
        behind = arr.rank[holders] > best[school_of]  # held behind a newcomer: compared again
        ahead = holders[~behind & (best[school_of] < arr.n)]  # held ahead of every newcomer: kept, seat taken
        room = seats - np.bincount(held_at[ahead], minlength=len(seats))
        sub_room = sub_seats.copy()
        if shares and len(ahead):
            pair = arr.sub_index[held_at[ahead], arr.region[ahead]]
            sub_room -= np.bincount(pair[pair >= 0], minlength=shares)
        current[:] = False
        current[holders[behind]] = True
        current[newcomers] = True
        students = arr.in_chain_order(current)
        at = codes[students, column[students]]
        order = stable_by(at, arr.n_schools)  # by (school, chain)
        students, at = students[order], at[order].astype(np.int64)
        held = admit_round(arr, students, at, room, sub_room)
        held_at[students] = np.where(held, at, -1)
        holders = np.concatenate([holders, newcomers])  # a newcomer was held nowhere before
        holders = holders[held_at[holders] >= 0]
        rejected = students[~held]
        column[rejected] = _next_usable(codes, rejected, column[rejected] + 1, last)
        newcomers = rejected[column[rejected] < last]
    current[:] = False
    current[holders] = True
    holders = arr.in_chain_order(current)
    holders = holders[stable_by(held_at[holders], arr.n_schools)]
    at = held_at[holders]
    admitted = admit_round(arr, holders, at, seats, sub_seats)  # the holds become offers: seats taken
    return holders[admitted], at[admitted], column[holders[admitted]]


def _next_usable(codes: np.ndarray, students: np.ndarray, start: np.ndarray, last: int) -> np.ndarray:
    """For each student, the first column >= start (and < last) with a usable choice; ``last`` if none."""
    column = start.copy()
    for _ in range(last):
        void = column < last
        void[void] = codes[students[void], column[void]] < 0
        if not void.any():
            break
        column[void] += 1
    return column


def run_sequential(sc: Scenario, progress: Progress | None = None, arrays: ScenarioArrays | None = None) -> Result:
    t0 = time.perf_counter()
    arr = arrays or ScenarioArrays.from_scenario(sc)
    m = sc.settings.max_choices
    batches = sc.settings.batches
    total_steps = 1 + len(batches) * m
    step = 0

    def tick(what: str) -> None:
        nonlocal step
        step += 1
        if progress:
            progress(what, step, total_steps)

    general = general_stage(sc, arr)  # R4
    tick("general stage (R4)")

    school = np.full(arr.n, -1, dtype=np.int32)  # confirmed admission (R10: at most one)
    batch_of = np.zeros(arr.n, dtype=np.int32)
    rank_of = np.zeros(arr.n, dtype=np.int32)
    took_part = np.zeros(arr.n, dtype=bool)
    free = arr.quota.copy()  # R7: quota minus confirmed admissions
    free_sub = arr.sub_quota.copy()  # R8
    declined_keys = np.zeros(0, dtype=np.int64)
    offer_parts = []

    for b in batches:
        pool = arr.eligible & ~general & (school < 0)  # R1, R4, R5
        codes = batch_choices(arr, b, declined_keys, pool)  # R2, R3, R5
        took_part |= filled_any(codes)
        offered = np.full(arr.n, -1, dtype=np.int32)
        offered_rank = np.zeros(arr.n, dtype=np.int32)
        seats, sub_seats = free.copy(), free_sub.copy()  # offers hold seats during the batch (R9)
        size = b.block_size(m)
        for k in range(0, m, size):  # R6: a block of choices at a time (one round of one choice: boston)
            if size == 1:  # round k reads the k-th choices of students not yet admitted
                students = arr.in_chain_order((codes[:, k] >= 0) & (offered < 0))
                schools = codes[students, k]
                order = stable_by(schools, arr.n_schools)  # by (school, chain)
                students, schools = students[order], schools[order]
                admitted = admit_round(arr, students, schools, seats, sub_seats)
                students, schools = students[admitted], schools[admitted]
                columns = np.full(len(students), k, dtype=np.int64)
            else:
                last = min(k + size, m)
                applicants = np.flatnonzero((codes[:, k:last] >= 0).any(axis=1) & (offered < 0))
                students, schools, columns = admit_block(arr, codes, k, last, applicants, seats, sub_seats)
            offered[students] = schools
            offered_rank[students] = columns + 1
            for done in range(k, min(k + size, m)):
                tick(f"batch {b.id}, round {done + 1}")
        got = np.flatnonzero(offered >= 0)
        declined = arr.declines[b.id][got]  # R9: confirmed unless a decline names student and batch
        confirmed = got[~declined]
        school[confirmed] = offered[confirmed]
        batch_of[confirmed] = b.id
        rank_of[confirmed] = offered_rank[confirmed]
        free -= np.bincount(offered[confirmed], minlength=arr.n_schools)
        pair = arr.sub_index[offered[confirmed], arr.region[confirmed]] if arr.sub_index.size else np.zeros(0, int)
        if len(pair):
            free_sub -= np.bincount(pair[pair >= 0], minlength=len(free_sub))
        declined_keys = np.concatenate([declined_keys, arr.pair_keys(got[declined], offered[got[declined]])])
        offer_parts.append((b, got, offered[got], offered_rank[got], ~declined))

    outcome = np.full(arr.n, OUTCOMES.index("none"), dtype=np.int8)  # R12, in order of precedence below
    outcome[took_part] = OUTCOMES.index("unplaced")
    outcome[~arr.eligible] = OUTCOMES.index("ineligible")
    outcome[school >= 0] = OUTCOMES.index("vocational")
    outcome[general] = OUTCOMES.index("general")
    engine_seconds = time.perf_counter() - t0
    admissions = build_admissions(sc, arr.student_ids, arr.school_ids, outcome, school, batch_of, rank_of)
    offers = build_offers(sc, arr.student_ids, arr.school_ids, offer_parts)
    rows = np.concatenate([part[1] for part in offer_parts]) if offer_parts else np.zeros(0, dtype=np.int64)
    return Result(admissions=admissions, offers=offers, engine="sequential",
                  timings={"engine": round(engine_seconds, 4)}, offer_rows=rows)
