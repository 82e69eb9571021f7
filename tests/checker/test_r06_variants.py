"""The checker's R6 under a batch's declared mechanism (docs/rules.md "R6 variants"): a result is held to
the priority the batch names — (choice rank, chain) under boston, the chain alone under parallel, (block of
e, chain) under chen-kesten.  The same published result is clean under one and wrong under the other."""

from __future__ import annotations

from solver.engine.sequential import run_sequential

from builders import drop_offer, envy_case, set_outcome, three_choices
from checker_helpers import engine, found, move


def test_a_boston_result_declared_parallel_shows_the_justified_envy():
    """Under parallel p (90), rejected at A while q (80) holds it, is wronged; under boston q's first
    choice comes first."""
    boston = run_sequential(envy_case("boston"))
    assert found(envy_case("parallel"), boston.admissions, boston.offers) == {("R6", "p", "A", 1, "q")}
    assert found(envy_case("boston"), boston.admissions, boston.offers) == set()


def test_a_parallel_result_declared_boston_is_wrong_too():
    """Under boston q's first choice A outranks p's second: q, rejected, is wronged by p."""
    parallel = run_sequential(envy_case("parallel"))
    assert found(envy_case("boston"), parallel.admissions, parallel.offers) == {("R6", "q", "A", 1, "p")}
    assert found(envy_case("parallel"), parallel.admissions, parallel.offers) == set()


def test_chen_kesten_blocks_are_the_priority():
    """e = 2: x's second choice C is in the first block with y's first: the chain puts x (90) before y (80).
    The e = 1 result (y at C, x unplaced) wrongs x at C; y, holding his first choice, wrongs nobody."""
    one = run_sequential(three_choices(1))
    assert found(three_choices(2), one.admissions, one.offers) == {("R6", "x", "C", 1, "y")}
    assert found(three_choices(1), one.admissions, one.offers) == set()


def test_a_moved_parallel_offer_is_found():
    """Mutation: in a clean parallel result, give p's seat at A to q (behind him in the chain)."""
    sc = envy_case("parallel")
    adm, off = engine(sc)
    adm, off = move(sc, adm, off, "q", "A", 1, 1)
    adm = set_outcome(sc, adm, "p", "unplaced", None, None, None)
    off = drop_offer(off, "p", 1)
    assert found(sc, adm, off) == {("R6", "p", "A", 1, "q")}
