"""The checker on R2 catalogue (docs/rules.md): a correct result of the sequential engine, broken in
exactly one way, is reported under R2."""

from __future__ import annotations

from builders import make_scenario, school, student
from checker_helpers import engine, found, move


def test_r2_an_admission_at_an_unregistered_school():
    sc = make_scenario(schools=[school("U", 1, registered=False), school("A", 1)],
                       students=[student("x", 90, ["U", "A"])])
    adm, off = engine(sc)
    assert adm.loc[0, "school_id"] == "A" and adm.loc[0, "choice_rank"] == 2  # U void, ranks kept (R2)
    adm, off = move(sc, adm, off, "x", "U", 1, 1)
    assert ("R2", "x", "U", 1, "") in found(sc, adm, off)
    assert ("R2", "x", "U", 1, "") in found(sc, adm)


def test_r2_a_school_not_in_the_catalogue():
    sc = make_scenario(schools=[school("A", 1)], students=[student("x", 90, ["A"])])
    adm, off = engine(sc)
    adm, off = move(sc, adm, off, "x", "ZZ", 1, 1)
    assert ("R2", "x", "ZZ", 1, "") in found(sc, adm, off)
