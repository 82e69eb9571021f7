"""The checker on R8 regional sub-quota (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R8, naming the right pair of students."""

from __future__ import annotations

from builders import add_offer, make_scenario, school, set_outcome, student
from checker_helpers import engine, found


def test_r8_over_a_sub_quota():
    sc = make_scenario(schools=[school("A", 3)], subquotas=[("A", "R2", 1)],
                       students=[student("x", 90, ["A"], region="R2"), student("y", 85, ["A"], region="R2"),
                                 student("z", 80, ["A"])])
    adm, off = engine(sc)  # x and z; y skipped
    adm, off = set_outcome(sc, adm, "y", "vocational", "A", 1, 1), add_offer(sc, off, "y", "A", 1, 1)
    assert found(sc, adm, off) == {("R8", "y", "A", 1, "x")}
    assert found(sc, adm) == {("R8", "y", "A", 1, "x")}
