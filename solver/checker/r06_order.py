"""R6 Order within a batch, the sequential rule (HY §九.1, §九.3): in round k every school takes its k-th
choice applicants not yet admitted in the batch, in the order of the tie-break chain, while it has a
free seat (R7) and the student's region a free share of it (R8).  A school's priority is therefore
(choice rank, then the chain): the immediate-acceptance (Boston) mechanism.  A batch may declare a
variant (docs/rules.md, "R6 variants"): under parallel (平行志愿) a school's priority is the chain alone,
under chen-kesten with e it is (the block of e choices the rank falls in, then the chain).  Everything
below reads "priority" as the batch's own (`Batch.priority_block`); a student's own preference is always
his choice rank.

Checked without replaying the rounds, per batch b and school s: a student i of b's pool whose usable
choice k is s, who holds no offer in b at a better rank and was not offered s in b, is wronged if

(a) justified envy: a student j offered s in b has lower priority there (a worse priority block, or the
    same block and later in the chain) and j's seat was one i could take (same region, or i's region has no
    sub-quota at s, or i's region's share was not full at the end of the batch); or
(b) a wasted seat: s and i's region's share of it both had a free seat at the end of the batch.

Seats only fill during a batch (offers hold their seats until the batch ends, R9), so "full at the
end" covers "full when i's turn came".  Counts are confirmed admissions of earlier batches plus every
offer of the batch.  The lowest-priority holder is named, per school or per (school, region).

Without offers.csv the declined offers are unseen: a student who declined in b is not judged in b, nor
at a school he may have declined earlier, and the seats unseen offers may have held are counted where
their holders came before i (`_Hidden`), so that nothing is reported that a declined offer could explain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scenario import Batch
from solver.checker.context import Context, group_starts, in_sorted, join, order_by, pick, violations


def _lowest(groups: np.ndarray, rank: np.ndarray, chain: np.ndarray):
    """Per group: (group keys sorted, rank, chain, row) of its lowest-priority member (the largest
    (rank, chain))."""
    order = order_by(groups, rank, chain)
    g = groups[order]
    last = np.r_[group_starts(g)[1:], len(g)] - 1 if len(g) else np.zeros(0, dtype=np.int64)
    rows = order[last]
    return groups[rows], rank[rows], chain[rows], rows


def _lower(block_j, chain_j, block_i, chain_i) -> np.ndarray:
    return (block_j > block_i) | ((block_j == block_i) & (chain_j > chain_i))


def _blocks(batch: Batch, m: int):
    """The batch's priority block of 1-based choice ranks (`Batch.priority_block`; a rank past ``m``, not a
    usable choice of the holder, comes after every block)."""

    def block(rank: np.ndarray) -> np.ndarray:
        return batch.priority_block(rank, m)

    return block


class _Hidden:
    """Without offers.csv the declined offers are unknown.  A student a decline names in batch b, in b's
    pool and not confirmed in b, may have held a seat at any of his usable choices of b.  Such an unseen
    seat can justify rejecting i only if its holder came before i there (a better rank, or the same rank
    and earlier in the chain): a holder after i would wrong i anyway.  `before` counts them per
    candidate, per school or per (school, region)."""

    def __init__(self, ctx: Context, p: int, block):
        m, n = ctx.m, ctx.n
        students = np.flatnonzero(ctx.declined_in[p] & ctx.pool[p] & (ctx.confirmed_pos != p))
        cells = ctx.usable[p][students]
        rows, cols = np.nonzero(cells >= 0)
        self.school = cells[rows, cols].astype(np.int64)
        self.pairs = students[rows].astype(np.int64) * ctx.S + self.school  # (student, school) perhaps declined
        self.rank = block(cols.astype(np.int64) + 1)  # the priority block of each unseen holder's rank
        self.chain = ctx.rank[students[rows]]
        self.region = ctx.region[students[rows]]
        self.width = (2 * m + 3) * (n + 1)  # joint key (group, block, chain)
        self.by_school = np.sort(self.school * self.width + self.rank * (n + 1) + self.chain)
        self.by_pair = np.sort((self.school * ctx.R + self.region) * self.width + self.rank * (n + 1) + self.chain)
        self.n = n

    def before(self, keys: np.ndarray, group: np.ndarray, k: int, chain: np.ndarray) -> np.ndarray:
        """How many unseen holders of ``group`` come before a student in priority block k and this chain
        position."""
        start = group * self.width
        return np.searchsorted(keys, start + k * (self.n + 1) + chain) - np.searchsorted(keys, start)


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st, sc, bpos, tr, chain = (o[c].to_numpy() for c in ("student", "school", "bpos", "true_rank", "chain"))
    valid = (st >= 0) & (sc >= 0) & (bpos >= 0)
    confirmed = valid & o["confirmed"].to_numpy()
    S, R, P, m = ctx.S, ctx.R, len(ctx.sub_quota), ctx.m
    region = ctx.region
    frames = []
    maybe_declined = np.zeros(0, dtype=np.int64)  # without offers.csv: (student, school) keys perhaps declined
    for p, b in enumerate(ctx.batches):
        sel = np.flatnonzero(valid & (bpos == p))
        s_st, s_sc, s_tr, s_ch = st[sel], sc[sel], tr[sel], chain[sel]
        s_reg = region[s_st]
        before = np.flatnonzero(confirmed & (bpos < p))
        holders = np.bincount(sc[before], minlength=S) + np.bincount(s_sc, minlength=S)
        q_all = np.r_[ctx.sub_pair(sc[before], region[st[before]]), ctx.sub_pair(s_sc, s_reg)]
        sub_holders = np.bincount(q_all[q_all >= 0], minlength=P)
        block = _blocks(b, m)
        hidden = None if ctx.with_offers else _Hidden(ctx, p, block)

        held = np.full(ctx.n, m + 2, dtype=np.int64)  # the best rank of an offer each student holds in b
        np.minimum.at(held, s_st, s_tr)
        offered = np.sort(s_st.astype(np.int64) * S + s_sc)

        # the lowest-priority holder of each school, and of each (school, region)
        lo_rank = np.full(S, -1, dtype=np.int64)
        lo_chain = np.full(S, -1, dtype=np.int64)
        lo_who = np.full(S, -1, dtype=np.int64)  # row of offers
        s_blk = block(s_tr)
        keys, blk_s, chain_s, rows = _lowest(s_sc.astype(np.int64), s_blk, s_ch)
        lo_rank[keys], lo_chain[keys], lo_who[keys] = blk_s, chain_s, sel[rows]
        keys, blk_r, chain_r, rows = _lowest(s_sc.astype(np.int64) * R + s_reg, s_blk, s_ch)
        # a sentinel at the end, so that a look-up of a group without holders finds (block -1, nobody)
        keys_r = np.r_[keys, np.iinfo(np.int64).max]
        lo_rank_r, lo_chain_r = np.r_[blk_r, -1], np.r_[chain_r, -1]
        lo_who_r = np.r_[sel[rows], -1]

        for k in range(m):
            cand = ctx.usable[p][:, k]
            i = np.flatnonzero((cand >= 0) & ctx.pool[p] & (held > k + 1))
            s = cand[i].astype(np.int64)
            keep = ~in_sorted(i.astype(np.int64) * S + s, offered)
            if hidden is not None:  # whoever declined in b, or perhaps declined s earlier, is not judged
                keep &= ~ctx.declined_in[p][i] & ~in_sorted(i.astype(np.int64) * S + s, maybe_declined)
            i, s = i[keep], s[keep]
            ci, ri = ctx.rank[i], region[i]
            q = ctx.sub_pair(s, ri)
            taken, sub_taken = holders[s], np.r_[sub_holders, 0][np.where(q >= 0, q, P)]
            bi = int(block(np.array([k + 1]))[0])  # i's priority block at s
            if hidden is not None:
                taken = taken + hidden.before(hidden.by_school, s, bi, ci)
                sub_taken = sub_taken + hidden.before(hidden.by_pair, s * R + ri, bi, ci)
            can_any = (q < 0) | (sub_taken < np.r_[ctx.sub_quota, 0][np.where(q >= 0, q, P)])
            a_any = can_any & _lower(lo_rank[s], lo_chain[s], bi, ci)
            key = s * R + ri
            pos = np.minimum(np.searchsorted(keys_r, key), len(keys_r) - 1)
            pos = np.where(keys_r[pos] == key, pos, len(keys_r) - 1)
            a_same = ~a_any & _lower(lo_rank_r[pos], lo_chain_r[pos], bi, ci)
            wasted = ~a_any & ~a_same & can_any & (taken < ctx.quota[s])

            hit = a_any | a_same
            who = np.where(a_any[hit], lo_who[s[hit]], lo_who_r[pos[hit]])
            j_rank = tr[who]  # the holder's own choice rank (m + 1: not a usable choice of his)
            other = pick(o["student_id"], who)
            frames.append(violations(
                "R6", pick(ctx.student_ids, i[hit]), pick(ctx.school_ids, s[hit]), b.id, other,
                join(f"choice {k + 1} refused while ", other, " holds a seat there with lower priority (",
                     np.where(j_rank > m, "not a usable choice of his", np.char.add("his choice ", j_rank.astype(str))),
                     ")")))
            w = np.flatnonzero(wasted)
            frames.append(violations(
                "R6", pick(ctx.student_ids, i[w]), pick(ctx.school_ids, s[w]), b.id, None,
                join(f"choice {k + 1} refused while a seat was free (", taken[w], " of quota ", ctx.quota[s[w]],
                     " held", np.where(q[w] >= 0, ", his region's share below its sub-quota", ""), ")")))
        if hidden is not None:
            maybe_declined = np.union1d(maybe_declined, hidden.pairs)
    return pd.concat(frames, ignore_index=True) if frames else violations("R6", [])
