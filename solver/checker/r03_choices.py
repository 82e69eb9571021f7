"""R3 Choices (HY §八.三, §九.3): a student is offered only a school of the list the batch reads, at the
rank it holds in that list, one offer per batch (a later choice counts only if an earlier one did not
admit him); a school that requires an interview is void without a pass.  Offers at unregistered
schools are R2's, at schools declined earlier R5's, and a second confirmed offer in a batch beside a
confirmed first one is R10's (a double admission, which R10 reports on that very offer)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from solver.checker.context import Context, at, in_sorted, join, order_by, pick, position_in_group, violations


def check(ctx: Context) -> pd.DataFrame:
    o = ctx.offers
    st, sc, bpos, rank = (o[c].to_numpy() for c in ("student", "school", "bpos", "rank"))
    valid = (st >= 0) & (sc >= 0) & (bpos >= 0)
    listed = np.zeros(len(o), dtype=np.int64)
    for p in range(ctx.B):
        sel = np.flatnonzero(valid & (bpos == p))
        listed[sel] = ctx.listed_position(p, st[sel], sc[sel])
    names = np.array([b.choices for b in ctx.batches] + [""], dtype=object)
    frames = []

    not_listed = valid & (listed == 0)
    batch = o["batch"].to_numpy()
    frames.append(violations("R3", o["student_id"][not_listed], o["school_id"][not_listed], batch[not_listed],
                             detail=join("school is not in the student's list '", names[bpos[not_listed]],
                                         "' read by this batch")))

    gated = valid & (listed > 0) & at(ctx.requires_interview, sc, False)
    no_pass = gated & ~in_sorted(st.astype(np.int64) * ctx.S + sc, ctx.interview_keys)
    frames.append(violations("R3", o["student_id"][no_pass], o["school_id"][no_pass], o["batch"].to_numpy()[no_pass],
                             detail="school requires an interview (HY §九.3) the student has not passed"))

    wrong_rank = valid & (listed > 0) & (rank != listed)
    frames.append(violations("R3", o["student_id"][wrong_rank], o["school_id"][wrong_rank],
                             o["batch"].to_numpy()[wrong_rank],
                             detail=join("choice_rank ", rank[wrong_rank], " but the school is choice ",
                                         listed[wrong_rank], " of the list")))

    # one offer per student per batch: a later choice is read only if the earlier ones did not admit him
    both = np.flatnonzero((st >= 0) & (bpos >= 0))
    order = both[order_by(st[both], bpos[both], o["true_rank"].to_numpy()[both])]
    group = st[order].astype(np.int64) * (ctx.B + 1) + bpos[order]
    within, start = position_in_group(group)
    confirmed = o["confirmed"].to_numpy()[order]
    # two confirmed offers in one batch: the second is R10's double admission (same row, same order)
    extra = (within > 0) & ~(confirmed & confirmed[start])
    rows, first = order[extra], order[start[extra]]
    frames.append(violations("R3", pick(o["student_id"], rows), pick(o["school_id"], rows), ctx.batch_ids(bpos[rows]),
                             detail=join("more than one offer in this batch (also offered ",
                                         pick(o["school_id"], first), ")")))
    return pd.concat(frames, ignore_index=True)
