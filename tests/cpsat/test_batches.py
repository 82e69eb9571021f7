"""Batch by batch (`solver.cpsat.batches`, docs/verification.md "Batch by batch"): the per-batch path and
the whole model give the same verdict on random scenarios, the per-batch path never reads the sequential
engine's result, each stage takes its input from the offers it is given, and the applications that can
never find their school full carry no count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import solver.cpsat.model as model_module
import solver.engine.sequential as sequential_module
import solver.verify as verify_module
from models import load_scenario_data
from solver.cpsat import AdmissionModel, build_instance
from solver.cpsat.batches import solve_by_batches
from solver.cpsat.instance import stage_instance
from solver.cpsat.outcome import result_of
from solver.cpsat.r06_order import R06Order
from solver.cpsat.r07_quota import R07Quota
from solver.engine.sequential import run_sequential
from solver.verify import verify

from builders import make_scenario, school, student
from cpsat_helpers import assert_same_result
from strategies import scenarios

ROOT = Path(__file__).resolve().parents[2]
RANDOM = settings(max_examples=40, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@RANDOM
@given(scenarios(later_batches=True))
def test_batch_by_batch_and_whole_model_agree_on_random_scenarios(data):
    sc = load_scenario_data(data)
    by_batch, whole = verify(sc, method="batches"), verify(sc, method="whole")
    assert by_batch.verdict.method == "batches" and whole.verdict.method == "whole"
    assert by_batch.verdict.text == whole.verdict.text == "verified"
    assert (by_batch.verdict.equal, by_batch.verdict.unique) == (whole.verdict.equal, whole.verdict.unique)
    assert len(by_batch.verdict.batches) == len(sc.settings.batches)
    assert_same_result(by_batch.cpsat, whole.cpsat)


def _contested():
    """p takes A and declines it in batch 1; A's seat returns; q gets it in batch 2 (test_vs_sequential)."""
    return make_scenario(schools=[school("A", 1), school("B", 1)],
                         students=[student("p", 90, ["A", "B"]), student("q", 80, ["A", "B"]),
                                   student("r", 70, ["B"])],
                         declines=[("p", 1)], batches=2)


@pytest.mark.parametrize("rule", [R06Order, R07Quota])
def test_both_paths_fail_alike_when_a_rule_is_missing(monkeypatch, rule):
    """Without R6 nothing forces an offer, without R7 nothing caps one: neither path may say verified."""
    sc = _contested()
    monkeypatch.setattr(model_module, "RULE_MODULES",
                        tuple(m for m in model_module.RULE_MODULES if not isinstance(m, rule)))
    by_batch, whole = verify(sc, method="batches"), verify(sc, method="whole")
    assert by_batch.verdict.text == whole.verdict.text == "FAILED"
    assert by_batch.verdict.unique is False and whole.verdict.unique is False


def test_the_batch_path_never_reads_the_sequential_result(monkeypatch):
    """With the sequential engine made to fail wherever it could be reached, the batch-by-batch solve still
    finds the right admissions; and no module of solver.cpsat imports the engine's rule."""
    sc = _contested()
    want = run_sequential(sc)

    def forbidden(*args, **kwargs):
        raise AssertionError("the batch-by-batch path read the sequential engine")

    for module in (sequential_module, verify_module):
        monkeypatch.setattr(module, "run_sequential", forbidden)
    inst = build_instance(sc)
    solved = solve_by_batches(inst)
    assert solved.unique is True
    assert_same_result(result_of(inst, solved.offered), want)
    for path in (ROOT / "solver" / "cpsat").glob("*.py"):
        imported = {n.module for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(n, ast.ImportFrom)}
        assert "solver.engine.sequential" not in imported, path.name


def test_a_stage_takes_its_input_from_the_offers_it_is_given():
    """Batch 2 of the contested case given two different histories: with no offer in batch 1 everyone is
    in the pool and no seat is held; with p's declined offer at A and r's confirmed one at B, p may no
    longer apply to A (R5), r is gone (R5) and B's seat is held (R7)."""
    sc = _contested()
    whole = build_instance(sc)
    nobody = stage_instance(whole, 1, np.zeros(whole.n_apps, dtype=bool))
    ids = whole.arr.student_ids.to_numpy(dtype=object)
    schools = whole.arr.school_ids

    def apps(stage):
        return sorted((ids[s], schools[c]) for s, c in zip(stage.inst.student, stage.inst.school))

    assert apps(nobody) == [("p", "A"), ("p", "B"), ("q", "A"), ("q", "B"), ("r", "B")]
    assert nobody.inst.seats_held()[0].tolist() == [0, 0]
    history = np.zeros(whole.n_apps, dtype=bool)
    for who, where in (("p", "A"), ("r", "B")):
        history[np.flatnonzero((ids[whole.student] == who) & (schools[whole.school] == where)
                               & (whole.batch == 0))] = True
    later = stage_instance(whole, 1, history)
    assert apps(later) == [("p", "B"), ("q", "A"), ("q", "B")]
    held = dict(zip(schools, later.inst.seats_held()[0].tolist()))
    assert held == {"A": 0, "B": 1}  # p's seat at A was declined: it came back (R9)
    assert (whole.batch[later.positions] == 1).all()


def test_applications_with_room_for_them_carry_no_count():
    """A school with 2 seats and 5 applicants in its only batch: the first two can never find it full, so
    only the last three get a count and a full literal; with 5 seats nobody does.  Same admissions."""
    students = [student(f"s{i}", 90 - i, ["A"]) for i in range(5)]

    def counted(quota: int) -> tuple[int, list[str]]:
        sc = make_scenario(schools=[school("A", quota)], students=students)
        model = AdmissionModel(build_instance(sc))
        solved = model.solve()
        placed = sorted(model.result(solved.solution).admissions.query("outcome == 'vocational'")["student_id"])
        return int((model.vars.full >= 0).sum()), placed

    assert counted(2) == (3, ["s0", "s1"])
    assert counted(5) == (0, ["s0", "s1", "s2", "s3", "s4"])
