"""R4 General high school first in the CP-SAT model (`solver.cpsat.r04_general`): the general stage is
data computed from the scenario; a student it admits has no vocational application, so no assignment
can give him a vocational offer as well (R10)."""

from __future__ import annotations

import pytest

from solver.cpsat import build_instance

from builders import make_scenario, region, school, student
from cpsat_helpers import UNPLACED, add_offer, breaks, decided, drop_offer

GEN = ("general", None, None, None)

# g and h apply to general high school; A has one seat.  Who of g, h, k gets A depends on the stage.
CASES = {
    "seats": (region("R1", seats=1), {"g": GEN, "h": ("vocational", "A", 1, 1), "k": UNPLACED}),
    "cutoff": (region("R1", cutoff=92), {"g": GEN, "h": ("vocational", "A", 1, 1), "k": UNPLACED}),
    "none": (region("R1", seats=1), {"g": ("vocational", "A", 1, 1), "h": UNPLACED, "k": UNPLACED}),
}


def _scenario(stage):
    return make_scenario(regions=[CASES[stage][0]], schools=[school("A", 1)], general_stage=stage,
                         students=[student("g", 95, ["A"], applies_general=True),
                                   student("h", 90, ["A"], applies_general=True),
                                   student("k", 80, ["A"])])


@pytest.mark.parametrize("stage", list(CASES))
def test_general_stage_decides_who_enters_the_vocational_batch(stage):
    sc = _scenario(stage)
    decided(sc, CASES[stage][1])
    inst = build_instance(sc)
    applicants = {str(inst.arr.student_ids[i]) for i in inst.student}
    assert applicants == ({"h", "k"} if stage != "none" else {"g", "h", "k"})
    assert [str(s) for s in inst.arr.student_ids[inst.general]] == ([] if stage == "none" else ["g"])


@pytest.mark.parametrize("stage", ["seats", "cutoff"])
def test_a_vocational_offer_to_a_general_student_is_rejected(stage):
    sc = _scenario(stage)
    model, seq = decided(sc, CASES[stage][1])
    stats = breaks(model, add_offer(sc, drop_offer(seq, "h", 1), "g", "A", 1, 1))
    assert stats["unmatched_offers"] == [("g", "A", 1, 1)]
