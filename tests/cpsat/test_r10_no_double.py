"""R10 No double admission in the CP-SAT model (`solver.cpsat.r10_no_double`): at most one confirmed
offer per student over all batches.  The module states the rule itself; R5's pool already implies it
across batches and R3's at-most-one within a batch, so a double admission is excluded by each of them."""

from __future__ import annotations

import pandas as pd

from models.results import Result
from solver.cpsat.r03_choices import R03Choices
from solver.cpsat.r05_batches import R05Batches
from solver.cpsat.r10_no_double import R10NoDouble

from builders import make_scenario, school, student
from cpsat_helpers import add_offer, breaks, decided, holds, model_without


def _two_batches():
    # x confirms A in batch 1; y reads [B] in batch 2 and gets it; B would have room for x too.
    return make_scenario(schools=[school("A", 1), school("B", 2)],
                         students=[student("x", 90, ["A"], batch2=["B"]), student("y", 80, ["A"], batch2=["B"])],
                         batches=2)


EXPECTED = {"x": ("vocational", "A", 1, 1), "y": ("vocational", "B", 2, 1)}


def test_two_confirmed_offers_in_two_batches_are_rejected():
    sc = _two_batches()
    model, seq = decided(sc, EXPECTED)
    broken = add_offer(sc, seq, "x", "B", 2, 1)  # confirmed: no decline names x
    assert broken.offers["confirmed"].all()
    breaks(model, broken)
    breaks(model_without(sc, R10NoDouble), broken)  # R5: x is no longer in batch 2's pool
    breaks(model_without(sc, R05Batches), broken)  # R10 alone excludes it
    holds(model_without(sc, R10NoDouble, R05Batches), broken)


def test_two_confirmed_offers_in_one_batch_are_rejected():
    sc = make_scenario(schools=[school("A", 1), school("B", 1)], students=[student("s", 90, ["A", "B"])])
    model, seq = decided(sc, {"s": ("vocational", "A", 1, 1)})
    broken = add_offer(sc, seq, "s", "B", 1, 2)
    breaks(model, broken)
    breaks(model_without(sc, R03Choices, R05Batches), broken)  # R10 alone excludes it
    holds(model_without(sc, R03Choices, R05Batches, R10NoDouble), broken)


def test_the_same_offer_listed_twice_is_rejected():
    sc = _two_batches()
    model, seq = decided(sc, EXPECTED)
    twice = seq.offers[seq.offers["student_id"] == "x"]
    broken = Result(seq.admissions, pd.concat([seq.offers, twice], ignore_index=True), "broken")
    breaks(model, broken)
