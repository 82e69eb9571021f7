"""The rule modules' contract (`solver.cpsat.rule.RuleModule`, issue #11): one module per rule id, named
after it; a module only adds constraints (it changes nothing of the variables object); and the modules
built in any order give the same model — the same variables, the same constraints — and the same
admissions."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
from ortools.sat.python import cp_model

import solver.cpsat.model as model_module
from models import load_scenario_data
from scenarios.generator import generate
from solver.cpsat import AdmissionModel, build_instance
from solver.cpsat.builder import ProtoBuilder
from solver.cpsat.rule import RuleModule
from solver.cpsat.variables import AdmissionVars

from builders import contested, hand_checked_scenario, make_scenario, school, student

CPSAT = Path(model_module.__file__).parent


def _later_batches():
    # R5 declined voids (x declines A in batch 1, A is void for him in batch 2), R8, R9 and three batches
    return make_scenario(schools=[school("A", 2), school("B", 1)],
                         students=[student("x", 90, ["A", "B"]), student("y", 80, ["A"], region="R2"),
                                   student("z", 70, ["B", "A"], region="R2")],
                         declines=[("x", 1)], subquotas=[("A", "R2", 1)], batches=3)


SCENARIOS = {
    "contested": lambda: load_scenario_data(contested()),
    "hand-checked": lambda: load_scenario_data(hand_checked_scenario()),
    "later batches": _later_batches,
    "generated": lambda: generate(600, 3, 8, 5),
}


def canonical(model: AdmissionModel) -> tuple[list[str], list[str], str]:
    """The model's variables in order, its constraints as a sorted list, and its objective and hint."""
    proto = model.model.proto
    return ([str(v) for v in proto.variables], sorted(str(c) for c in proto.constraints),
            str(proto.objective) + str(proto.solution_hint))


def test_one_module_per_rule_named_after_it():
    """One module per rule id, and for R6 one per mechanism (boston, parallel, chen-kesten), each in a file
    named after the rule (r06_order.py, r06_parallel.py, r06_chen_kesten.py)."""
    ids = [(m.rule, getattr(m, "mechanism", None)) for m in model_module.RULE_MODULES]
    assert len(set(ids)) == len(ids)
    assert sorted(mech for rule, mech in ids if rule == "R6") == ["boston", "chen-kesten", "parallel"]
    for module in model_module.RULE_MODULES:
        assert isinstance(module, RuleModule)
        number = int(module.rule[1:])
        assert Path(type(module).__module__.replace(".", "/")).name.startswith(f"r{number:02d}_")
    files = sorted(p.name for p in CPSAT.glob("r[0-9][0-9]_*.py"))
    assert len(files) == len(ids), "a rule module file that is not built"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_module_only_adds_constraints(name):
    """Built alone on fresh variables, no module changes a field of the variables object."""
    inst = build_instance(SCENARIOS[name]())
    for module in model_module.RULE_MODULES:
        model = cp_model.CpModel()
        v = AdmissionVars.create(inst, ProtoBuilder(model))
        before = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
        copies = {k: _copy(x) for k, x in before.items()}
        module.build(inst, model, v)
        for key, value in before.items():
            assert getattr(v, key) is value, f"{module.rule} replaced v.{key}"
            assert _same(value, copies[key]), f"{module.rule} changed v.{key}"


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(x) for x in value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b if isinstance(a, dict) else a is b


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("planning", [False, True], ids=["quotas as data", "quota planning"])
def test_any_order_of_the_modules_builds_the_same_model(name, planning):
    inst = build_instance(SCENARIOS[name]())
    quota = inst.arr.quota
    bounds = (np.maximum(quota - 1, 0), quota) if planning else None
    usual = AdmissionModel(inst, bounds)
    want = canonical(usual)
    solved = usual.solve()
    assert solved.solution is not None
    orders = [tuple(reversed(model_module.RULE_MODULES))]
    for seed in range(3):
        shuffled = list(model_module.RULE_MODULES)
        random.Random(seed).shuffle(shuffled)
        orders.append(tuple(shuffled))
    for order in orders:
        model = AdmissionModel(inst, bounds, rules=order)
        assert canonical(model) == want, [m.rule for m in order]
        report = model.solve()
        assert report.status == solved.status
        if not planning:  # quotas as data: the one solution (with quota variables any vector within the bounds)
            assert np.array_equal(report.solution, solved.solution), [m.rule for m in order]
