"""R6 variants in the CP-SAT model (`r06_parallel`, `r06_chen_kesten`; docs/rules.md "R6 variants"): on the
tiny cases where the mechanism decides, the model finds exactly the sequential engine's hand-worked result
and proves it unique; on random scenarios with a random mechanism per batch both engines are equal and
unique (batch by batch and whole) and the checker finds nothing; without a variant's module its batches
are no longer decided."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import solver.cpsat.model as model_module
from models import load_scenario_data
from solver.cpsat.r06_chen_kesten import R06ChenKesten
from solver.cpsat.r06_parallel import R06Parallel
from solver.verify import verify

from builders import BOSTON, PARALLEL, UNPLACED, envy_case, three_choices
from cpsat_helpers import decided
from strategies import scenarios

RANDOM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
MECHANISMS = st.sampled_from([("boston", None), ("parallel", None), ("chen-kesten", 1), ("chen-kesten", 2),
                              ("chen-kesten", 3)])


@pytest.mark.parametrize("mechanism, e, expected", [("boston", None, BOSTON), ("parallel", None, PARALLEL),
                                                    ("chen-kesten", 1, BOSTON),
                                                    ("chen-kesten", 2, PARALLEL)])
def test_the_model_decides_the_envy_case_under_each_mechanism(mechanism, e, expected):
    decided(envy_case(mechanism, e), expected)


def test_the_model_decides_chen_kesten_blocks():
    decided(three_choices(1), {"w": ("vocational", "B", 1, 1), "x": UNPLACED, "y": ("vocational", "C", 1, 1),
                                     "z": ("vocational", "A", 1, 1)})
    for e in (2, 3):
        decided(three_choices(e), {"w": ("vocational", "B", 1, 1), "x": ("vocational", "C", 1, 2),
                                         "y": ("vocational", "A", 1, 2), "z": UNPLACED})


@RANDOM
@given(scenarios(later_batches=True), st.lists(MECHANISMS, min_size=3, max_size=3))
def test_equal_and_unique_under_every_mechanism(data, mechanisms):
    data = copy.deepcopy(data)
    for batch, (mechanism, e) in zip(data["scenario"]["batches"], mechanisms):
        batch["mechanism"] = mechanism
        if e is not None:
            batch["e"] = e
    sc = load_scenario_data(data)
    for method in ("batches", "whole"):
        v = verify(sc, method=method)
        assert v.verdict.text == "verified", (method, mechanisms, v.differences.to_dict("records"),
                                              v.violations.to_dict("records"))


@pytest.mark.parametrize("module, mechanism, e", [(R06Parallel, "parallel", None), (R06ChenKesten, "chen-kesten", 2)])
def test_without_the_variant_module_its_batch_is_not_decided(monkeypatch, module, mechanism, e):
    monkeypatch.setattr(model_module, "RULE_MODULES",
                        tuple(m for m in model_module.RULE_MODULES if not isinstance(m, module)))
    v = verify(envy_case(mechanism, e))
    assert v.verdict.unique is False and v.verdict.text == "FAILED"
