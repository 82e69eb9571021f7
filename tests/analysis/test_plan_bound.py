"""The bound of a quota plan (issue #14.4, solver/analysis/plan/reach.py, relax.py, branch.py).

The oracle is the sequential engine: `reach` at one quota vector must be exactly its offers; over a box it
must allow every offer that some vector of the box makes (``can``) and hold only offers that every vector
makes (``sure``); the bound of a box must be at least the objective of every vector of it, found by brute
force; the budget network's minimum cut must equal networkx's maximum flow.
"""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import load_scenario_data
from solver.analysis.plan import Bounds, flow_bound, objective_of, plan_quotas
from solver.analysis.plan.objectives import counted_applications
from solver.analysis.plan.reach import Applications, applications, reach, supported
from solver.analysis.plan.relax import Network, box_bound, budget_flow, tighten
from solver.engine.arrays import ScenarioArrays
from solver.engine.sequential import run_sequential

from builders import make_scenario, school, student
from strategies import scenarios

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def offers_at(sc, arr: ScenarioArrays, quotas) -> set[tuple[int, int, int]]:
    """(student row, school code, batch position) of every offer of the sequential engine."""
    res = run_sequential(sc, arrays=dataclasses.replace(arr, quota=np.asarray(quotas, dtype=np.int64)))
    student = {sid: i for i, sid in enumerate(arr.student_ids.astype(str))}
    school = {sid: j for j, sid in enumerate(arr.school_ids.astype(str))}
    batch = {b.id: k for k, b in enumerate(sc.settings.batches)}
    off = res.offers
    return {(student[str(s)], school[str(c)], batch[int(b)])
            for s, c, b in zip(off["student_id"], off["school_id"], off["batch"])}


def app_set(apps: Applications, mask) -> set[tuple[int, int, int]]:
    rows = np.flatnonzero(mask)
    return set(zip(apps.student[rows].tolist(), apps.school[rows].tolist(), apps.batch[rows].tolist()))


def box_of(sc, data) -> Bounds:
    quota = sc.schools["quota"].to_numpy(dtype=np.int64)
    S = len(quota)
    down = np.array(data.draw(st.lists(st.integers(0, 3), min_size=S, max_size=S)), dtype=np.int64)
    up = np.array(data.draw(st.lists(st.integers(0, 3), min_size=S, max_size=S)), dtype=np.int64)
    return Bounds(np.maximum(quota - down, 0), quota + up)


def values_in(box: Bounds, total: int | None = None):
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(box.lower, box.upper)]
    for q in itertools.product(*ranges):
        if total is None or sum(q) == total:
            yield np.array(q, dtype=np.int64)


@SLOW
@given(data=st.data())
def test_reach_at_one_quota_vector_is_the_rule(data):
    sc = load_scenario_data(data.draw(scenarios(later_batches=data.draw(st.booleans()))))
    arr = ScenarioArrays.from_scenario(sc)
    apps = applications(sc, arr)
    q = box_of(sc, data).upper
    r = reach(apps, q, q)
    assert (r.can == r.sure).all()
    assert app_set(apps, r.sure) == offers_at(sc, arr, q)


@SLOW
@given(data=st.data())
def test_reach_over_a_box_holds_every_vector_of_it(data):
    sc = load_scenario_data(data.draw(scenarios(later_batches=data.draw(st.booleans()))))
    arr = ScenarioArrays.from_scenario(sc)
    apps = applications(sc, arr)
    box = box_of(sc, data)
    r = reach(apps, box.lower, box.upper)
    assert not (r.sure & ~r.can).any()
    can, sure = app_set(apps, r.can), app_set(apps, r.sure)
    for q in itertools.islice(values_in(box), 40):
        made = offers_at(sc, arr, q)
        assert made <= can and sure <= made


@SLOW
@given(data=st.data(), objective=st.sampled_from(["placed", "first-choice"]))
def test_box_bound_is_at_least_every_vector_of_the_box(data, objective):
    """The bound of the whole box, and of a part of it, against brute force; at one vector it is exact."""
    sc = load_scenario_data(data.draw(scenarios(later_batches=data.draw(st.booleans()))))
    arr = ScenarioArrays.from_scenario(sc)
    apps = applications(sc, arr)
    counted = counted_applications(apps.batch, apps.rank, objective)
    box = box_of(sc, data)
    total = data.draw(st.integers(int(box.lower.sum()), int(box.upper.sum())))
    lo, hi = tighten(box.lower, box.upper, total)
    bound = box_bound(apps, reach(apps, lo, hi), lo, hi, total, counted)
    best = None
    for q in values_in(box, total):
        sc_q = dataclasses.replace(sc, schools=sc.schools.assign(quota=q))
        value = objective_of(sc_q, run_sequential(sc_q, arrays=dataclasses.replace(arr, quota=q)), objective)
        best = value if best is None else max(best, value)
        assert box_bound(apps, reach(apps, q, q), q, q, total, counted) == value
    assert bound is not None and best is not None and bound >= best


def test_tighten_by_the_total():
    lo, hi = tighten(np.array([0, 5, 2]), np.array([10, 9, 4]), 8)
    assert list(lo) == [0, 5, 2] and list(hi) == [1, 6, 3]
    assert tighten(np.array([3, 3]), np.array([4, 4]), 9) is None


def test_budget_flow_is_networkx_maximum_flow():
    """The budget network (shares nested in their school, the seats above the minima from one budget)
    solved by OR-Tools equals networkx on the same network written out by hand."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        S, P, n = int(rng.integers(1, 6)), int(rng.integers(0, 4)), int(rng.integers(1, 25))
        share_school = rng.integers(0, S, P)
        rows = [(i, int(s)) for i in range(n) for s in rng.choice(S, size=int(rng.integers(1, S + 1)), replace=False)]
        who = np.array([r[0] for r in rows], dtype=np.int64)
        where = np.array([r[1] for r in rows], dtype=np.int64)
        sub = np.array([int(rng.choice(np.flatnonzero(share_school == s))) if (share_school == s).any()
                        and rng.integers(0, 2) else -1 for s in where], dtype=np.int64)
        net = Network(rng.integers(-1, 8, S), rng.integers(-2, 8, S), int(rng.integers(-1, 15)),
                      rng.integers(-1, 5, P), share_school)
        g = nx.DiGraph()
        for i, s, p in zip(who, where, sub):
            g.add_edge("source", ("i", i), capacity=1)
            g.add_edge(("i", i), ("p", p) if p >= 0 else ("s", s), capacity=1)
        for p in range(P):
            g.add_edge(("p", p), ("s", share_school[p]), capacity=max(int(net.share_seats[p]), 0))
        for s in range(S):
            cap = max(int(net.seats[s]), 0)
            free = min(max(int(net.free[s]), 0), cap)
            g.add_edge(("s", s), "sink", capacity=free)
            g.add_edge(("s", s), "budget", capacity=cap - free)
        g.add_edge("budget", "sink", capacity=max(net.extra, 0))
        assert budget_flow(net, who, where, sub) == nx.maximum_flow_value(g, "source", "sink")


def test_immediate_acceptance_loss_is_in_the_bound():
    """A and B each full of first-choice applicants beyond any quota of their range: whoever lists only A
    and B is placed by the max flow (B's seat taken by an A-first student who could go to C), never by the
    rule.  The plan's bound, below the max-flow bound, is proven equal to its best value."""
    students = ([student(f"a{i}", 90 - i, ["A", "C"]) for i in range(4)]
                + [student(f"b{i}", 80 - i, ["B", "A"]) for i in range(4)]
                + [student("z", 10, ["A", "B"])])
    sc = make_scenario(students=students, schools=[school("A", 2), school("B", 2), school("C", 4)])
    bounds = Bounds(np.array([2, 2, 2]), np.array([3, 3, 6]))
    report = plan_quotas(sc, 9, "placed", bounds=bounds, time_limit=30, workers=1)
    assert report.status == "OPTIMAL" and report.objective_value == report.bound
    best = max(objective_of(sc, run_sequential(dataclasses.replace(sc, schools=sc.schools.assign(quota=q))),
                            "placed") for q in values_in(bounds, 9))
    assert report.objective_value == best
    assert report.method["root_bound"] >= best and report.method["proven_optimal"] is True
    assert best == 7 < flow_bound(sc, ScenarioArrays.from_scenario(sc), bounds.upper) == 9
    assert report.rerun_equal is True


def test_deferred_acceptance_batches_are_left_to_cp_sat():
    sc = make_scenario(students=[student("s", 50, ["A"])], schools=[school("A", 1)])
    assert supported(sc)
    batches = tuple(dataclasses.replace(b, mechanism="parallel") for b in sc.settings.batches)
    other = dataclasses.replace(sc, settings=dataclasses.replace(sc.settings, batches=batches))
    assert not supported(other)
    report = plan_quotas(other, 1, "placed", bounds=Bounds(np.array([0]), np.array([2])), time_limit=30, workers=1)
    assert report.status == "OPTIMAL" and report.method == {}


def test_shares_that_fill_are_walked_and_sound():
    """Region R1's share of A (1 seat) fills in round 1: the second R1 applicant is skipped and R2's get in
    after him (R8); over the box every vector's offers lie between ``sure`` and ``can``, and at each vector
    `reach` is the rule."""
    students = [student("r1a", 90, ["A", "B"]), student("r1b", 85, ["A", "B"]),
                student("r2a", 80, ["A", "B"], region="R2"), student("r2b", 75, ["A"], region="R2"),
                student("r1c", 70, ["B", "A"]), student("r2c", 65, ["B", "A"], region="R2")]
    sc = make_scenario(students=students, schools=[school("A", 3), school("B", 2)],
                       subquotas=[("A", "R1", 1), ("B", "R2", 1)], batches=2, declines=[("r1a", 1)])
    arr = ScenarioArrays.from_scenario(sc)
    apps = applications(sc, arr)
    box = Bounds(np.array([1, 0]), np.array([4, 3]))
    r = reach(apps, box.lower, box.upper)
    can, sure = app_set(apps, r.can), app_set(apps, r.sure)
    for q in values_in(box):
        made = offers_at(sc, arr, q)
        assert made <= can and sure <= made
        point = reach(apps, q, q)
        assert (point.can == point.sure).all() and app_set(apps, point.sure) == made
