"""Numbers typed by a planner with a Chinese input method (full width: ４％, ＋１０％, －２０％) or with the minus
sign U+2212 mean what the same ASCII means, in the Monte Carlo's rate, the plan's changes and a what-if's
values (`models.typed`); everything else stays refused, never read as some other number."""

from __future__ import annotations

import pytest

from models.typed import fraction
from solver.analysis.montecarlo import MonteCarloError, parse_rate
from solver.analysis.plan.bounds import PlanError, parse_change
from solver.analysis.whatif import ChangeError, parse_changes

from builders import make_scenario, school, student


@pytest.mark.parametrize(("typed", "value"), [
    ("4%", 0.04), ("0.04", 0.04), ("４％", 0.04), ("０．０４", 0.04), ("\u30004％\u3000", 0.04),
    ("－２０％", -0.2), ("−20%", -0.2), ("＋１５％", 0.15), ("+15%", 0.15),
])
def test_full_width_and_the_minus_sign_read_as_ascii(typed, value):
    assert fraction(typed) == pytest.approx(value)


@pytest.mark.parametrize("typed", ["abc", "4%%", "4²%", "½", "nan", "inf", "-inf", "", "4 4%", "4‰"])
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError):
        fraction(typed)


def test_the_monte_carlo_rate_and_the_plan_changes():
    assert parse_rate("４％") == pytest.approx(0.04)
    assert parse_change("－２０％") == pytest.approx(-0.2) and parse_change("＋２０％") == pytest.approx(0.2)
    for bad in ("4²%", "nan"):
        with pytest.raises(MonteCarloError):
            parse_rate(bad)
        with pytest.raises(PlanError):
            parse_change(bad)


def test_a_what_if_value_in_full_width_is_the_ascii_change():
    sc = make_scenario(schools=[school("A", 10)], students=[student("p", 90, ["A"])])
    def read(value: str) -> list[tuple[str, float]]:
        return [(c.mode, c.number) for c in parse_changes(sc, [f"quota.A={value}"])]

    assert read("＋１０％") == read("+10%") == [("percent", 10.0)]
    assert read("－３") == read("-3") == [("add", -3.0)]
    assert read("１２") == [("set", 12.0)]
    assert parse_changes(sc, ["quota.A=＋１０％"])[0].value == "＋１０％"  # reported as written
    with pytest.raises(ChangeError):
        parse_changes(sc, ["quota.A=1²"])


def test_sweep_shares_in_full_width():
    from solver.analysis.sweep import ShareError, parse_shares

    assert parse_shares("０．４：０．５：０．０５") == parse_shares("0.4:0.5:0.05") == pytest.approx([0.4, 0.45, 0.5])
    assert parse_shares("０．４５，０．５") == [0.45, 0.5]
    with pytest.raises(ShareError):
        parse_shares("0.4、0.5")  # the enumeration comma is not a separator
