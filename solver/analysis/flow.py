"""How good could it be (issue #6.4): the most students who could be placed within their listed choices
under the quotas (R7) and sub-quotas (R8), a maximum flow (networkx), beside the rule's placements.

Who and where.  A student counts if he may be admitted to a vocational school (R1) and is not admitted
to general high school (R4, which precedes the batches and is fixed).  His listed choices are the valid
choices (not void by R2 or R3; a batch's own list or, with ``fallback``, the original one, R5) of every
batch in which he would confirm an offer (no decline names him and that batch, R9).  Every confirmed
placement of the sequential rule is one of these, so the bound is never below the rule.  (The rule
also voids a school declined in an earlier batch; the bound ignores that, which can only raise it.)

The network: source → group of students → school → sink.  Students with the same region and the same
set of listed schools form one group whose capacity is their number (a few thousand groups for ~80,000
students, HY); where a school has a sub-quota for the group's region the edge passes through a
(school, region) node capped by the sub-quota, and the school node is capped by its quota, so the
sub-quota nests inside the quota (R8).

Beside the bound: the seats the rule leaves empty while eligible applicants who listed the school stay
unplaced (per school), and how many of those applicants could take them without anybody admitted
moving (a second maximum flow on the vacancies, R7/R8); the rest of the gap needs students moved.  And
a region → school table of who goes where: the rule's admissions and one maximum assignment (a maximum
flow is not unique; only its size is).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from models.columns import codes_of, text
from models.results import Result, summary_last, write_csv, write_json
from models.scenario import Scenario
from solver.engine.arrays import ScenarioArrays
from solver.engine.choices import batch_choices
from solver.engine.general import general_stage

SOURCE, SINK = "source", "sink"
Node = str | tuple[str, int]  # the source, the sink, ("group", g), ("school", j) or ("share", p)
Edge = tuple[Node, Node, dict[str, int]]
Flow = dict[tuple[int, int], int]  # (group, target code) -> students


def listed_choices(sc: Scenario, arr: ScenarioArrays, general: NDArray[np.bool_] | None = None) -> NDArray[np.int32]:
    """int32[n, L]: per student the distinct schools he validly lists in a batch he would confirm (see the
    module docstring), sorted, padded with -1 on the right; all -1 for students outside the pool (R1, R4)."""
    general = general_stage(sc, arr) if general is None else general
    pool = arr.eligible & ~general
    none = np.zeros(0, dtype=np.int64)
    parts = []
    for b in sc.settings.batches:
        codes = batch_choices(arr, b, none)  # R2, R3, R5
        codes[~pool | arr.declines[b.id]] = -1  # R1, R4, R9
        parts.append(codes)
    if not parts:
        return np.full((arr.n, 0), -1, dtype=np.int32)
    mat = np.sort(np.concatenate(parts, axis=1), axis=1)
    mat[:, 1:][mat[:, 1:] == mat[:, :-1]] = -1  # a school listed in several batches counts once
    big = np.iinfo(np.int32).max
    mat = np.sort(np.where(mat < 0, big, mat), axis=1)  # valid schools first, ascending
    mat[mat == big] = -1
    width = int((mat >= 0).sum(axis=1).max()) if arr.n else 0
    return mat[:, :width].astype(np.int32)


@dataclass
class Network:
    """The flow network of a set of students (grouped) and the seats open to them, as the residual network
    of a starting flow (none, or the rule's placements): a maximum flow of it is what can be added."""

    graph: nx.DiGraph
    n_schools: int
    group_region: NDArray[np.int64]  # int[G]
    group_size: NDArray[np.int64]  # int[G]
    start: Flow  # (group, target code) -> students the starting flow sends there
    start_value: int

    @property
    def size(self) -> dict[str, int]:
        return {"groups": int(len(self.group_size)), "nodes": self.graph.number_of_nodes(),
                "edges": self.graph.number_of_edges()}

    def node(self, code: int) -> tuple[str, int]:
        """A target code: j < S the school j, S + p the (school, region) node of sub-quota p."""
        return ("school", code) if code < self.n_schools else ("share", code - self.n_schools)


def build_network(arr: ScenarioArrays, listed: NDArray[np.int32], who: NDArray[np.bool_], seats: NDArray[np.int64],
                  sub_seats: NDArray[np.int64], placed: NDArray[np.int64] | None = None) -> Network:
    """Students ``who`` (bool[n]) with their ``listed`` schools; ``seats`` per school (R7) and
    ``sub_seats`` per sub-quota (R8) cap what can be placed.  ``placed`` (school per student, -1 for
    none; each a listed school) is the starting flow: the network is its residual network, so that
    the maximum flow only has to find what can be added (a few thousand students, not 40,000)."""
    S = arr.n_schools
    width = listed.shape[1]
    rows = np.flatnonzero(who & (listed[:, 0] >= 0)) if width else np.zeros(0, dtype=np.int64)
    key = np.column_stack([arr.region[rows], listed[rows]]).astype(np.int64)
    if len(rows):
        groups, inverse, size = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
    else:
        groups, inverse, size = key, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    g_region, g_schools = groups[:, 0], groups[:, 1:]
    G = len(size)

    def target(schools: NDArray[np.int64], regions: NDArray[np.int64]) -> NDArray[np.int64]:
        pair = arr.sub_index[schools, regions] if arr.sub_index.size else np.full(len(schools), -1)
        return np.where(pair >= 0, S + pair, schools).astype(np.int64)

    # the starting flow, per (group, target), per sub-quota and per school
    if placed is None:
        placed = np.full(arr.n, -1, dtype=np.int64)
    mine = placed[rows] >= 0
    start_code = target(placed[rows][mine], arr.region[rows][mine])
    start_keys, start_amount = np.unique(inverse[mine] * (S + len(arr.sub_quota)) + start_code, return_counts=True)
    start = {(int(k // (S + len(arr.sub_quota))), int(k % (S + len(arr.sub_quota)))): int(a)
             for k, a in zip(start_keys, start_amount)}
    start_group = np.bincount(inverse[mine], minlength=G)
    share_start = np.bincount(start_code[start_code >= S] - S, minlength=len(arr.sub_quota))
    school_start = np.bincount(placed[rows][mine], minlength=S)

    net = Network(nx.DiGraph(), S, g_region, size, start, int(mine.sum()))
    node = net.node
    edges: list[Edge] = [(SOURCE, ("group", g), {"capacity": int(size[g] - start_group[g])}) for g in range(G)]
    gi, ki = np.nonzero(g_schools >= 0)
    codes = target(g_schools[gi, ki], g_region[gi])
    for g, code in zip(gi.tolist(), codes.tolist()):
        used = start.get((g, code), 0)
        edges.append((("group", g), node(code), {"capacity": int(size[g]) - used}))
        if used:  # the residual edge back: a placed student may be moved elsewhere
            edges.append((node(code), ("group", g), {"capacity": used}))
    for p in range(len(arr.sub_quota)):
        j = int(arr.sub_school[p])
        edges.append((("share", p), ("school", j), {"capacity": int(max(sub_seats[p], 0)) - int(share_start[p])}))
        if share_start[p]:
            edges.append((("school", j), ("share", p), {"capacity": int(share_start[p])}))
    for j in range(S):
        if arr.registered[j]:
            edges.append((("school", j), SINK, {"capacity": int(max(seats[j], 0)) - int(school_start[j])}))
    net.graph.add_node(SOURCE)
    net.graph.add_node(SINK)
    net.graph.add_edges_from(edges)
    return net


def max_flow(net: Network) -> tuple[int, Flow]:
    """The largest flow: the starting flow plus a maximum flow of the residual network (networkx's
    preflow-push), as its value and the students per (group, target code)."""
    added, flow = nx.maximum_flow(net.graph, SOURCE, SINK)
    total: Flow = {}
    for g in range(len(net.group_size)):
        here = ("group", g)
        for t, forward in flow[here].items():  # a group's only successors are its targets
            code = t[1] if t[0] == "school" else net.n_schools + t[1]
            amount = net.start.get((g, code), 0) + forward - flow[t].get(here, 0)
            if amount:
                total[(g, code)] = amount
    return net.start_value + int(added), total


def _assignment(net: Network, flow: Flow, arr: ScenarioArrays) -> NDArray[np.int64]:
    """int[R, S]: students of each region the flow places at each school."""
    out = np.zeros((arr.n_regions, arr.n_schools), dtype=np.int64)
    for (g, code), amount in flow.items():
        school = code if code < arr.n_schools else int(arr.sub_school[code - arr.n_schools])
        out[int(net.group_region[g]), school] += amount
    return out


@dataclass
class BoundReport:
    scenario: str
    students: int
    pool: int  # eligible (R1) and not in general high school (R4)
    in_network: int  # of those, with a listed choice in a batch they would confirm
    rule_placed: int
    bound: int
    without_moving: int  # unplaced applicants who could take the rule's empty seats, nobody moved
    rule_outside: int  # rule placements not in the network (0 unless something is wrong)
    schools: pd.DataFrame
    flows: pd.DataFrame
    network: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> int:
        return self.bound - self.rule_placed

    def summary(self) -> dict[str, object]:
        s = self.schools[self.schools["registered"]]
        return {
            "status": "done", "scenario": self.scenario, "students": self.students,
            "pool": self.pool, "in_network": self.in_network,
            "rule_placed": self.rule_placed, "bound": self.bound, "gap": self.gap,
            "without_moving": self.without_moving, "needs_moving": self.gap - self.without_moving,
            "seats": int(s["quota"].sum()), "rule_vacancies": int(s["vacancies"].sum()),
            "vacancies_with_unplaced_applicants": int((s["vacancies"] > 0).mul(s["unplaced_applicants"] > 0).sum()),
            "rule_outside_network": self.rule_outside,
            "network": self.network, "timings": self.timings,
        }


def bound(sc: Scenario, result: Result | None = None, arr: ScenarioArrays | None = None) -> BoundReport:
    """The max-flow bound beside ``result`` (the sequential rule's, run here when not given)."""
    t0 = time.perf_counter()
    arr = arr or ScenarioArrays.from_scenario(sc)
    if result is None:
        from solver.engine.sequential import run_sequential

        result = run_sequential(sc, arrays=arr)
    general = general_stage(sc, arr)
    listed = listed_choices(sc, arr, general)
    in_net = listed[:, 0] >= 0 if listed.shape[1] else np.zeros(arr.n, dtype=bool)
    t1 = time.perf_counter()

    adm = result.admissions
    row = codes_of(adm["student_id"], arr.student_ids)
    outcome = np.empty(arr.n, dtype=object)
    outcome[row] = adm["outcome"].to_numpy(dtype=object)
    placed_school = np.full(arr.n, -1, dtype=np.int64)
    voc = (adm["outcome"] == "vocational").to_numpy()
    placed_school[row[voc]] = codes_of(adm["school_id"][voc], arr.school_ids)
    placed = placed_school >= 0
    inside = (listed == placed_school[:, None]).any(axis=1) if listed.shape[1] else np.zeros(arr.n, bool)
    rule_outside = int((placed & ~inside).sum())
    S, R = arr.n_schools, arr.n_regions
    confirmed = np.bincount(placed_school[placed], minlength=S)
    rule_flows = np.zeros((R, S), dtype=np.int64)
    np.add.at(rule_flows, (arr.region[placed], placed_school[placed]), 1)
    sub_confirmed = rule_flows[arr.sub_region, arr.sub_school] if len(arr.sub_quota) else np.zeros(0, np.int64)

    start = np.where(placed & inside, placed_school, -1)  # the rule's placements: the starting flow
    net = build_network(arr, listed, in_net, arr.quota, arr.sub_quota, start)
    t2 = time.perf_counter()
    best, flow = max_flow(net)
    t3 = time.perf_counter()
    bound_flows = _assignment(net, flow, arr)

    unplaced = in_net & (outcome == "unplaced")
    vacancies = arr.quota - confirmed
    residual = build_network(arr, listed, unplaced, vacancies, arr.sub_quota - sub_confirmed)
    extra, extra_flow = max_flow(residual)
    fillable = _assignment(residual, extra_flow, arr).sum(axis=0)
    t4 = time.perf_counter()

    lists_it = np.zeros(S, dtype=np.int64)
    unplaced_lists_it = np.zeros(S, dtype=np.int64)
    for k in range(listed.shape[1]):
        col = listed[:, k]
        lists_it += np.bincount(col[col >= 0], minlength=S)
        unplaced_col = col[unplaced & (col >= 0)]
        unplaced_lists_it += np.bincount(unplaced_col, minlength=S)
    schools = sc.schools[["school_id", "name", "region_id", "registered", "quota"]].copy()
    schools["confirmed"] = confirmed
    schools["vacancies"] = vacancies
    schools["listed_by"] = lists_it
    schools["unplaced_applicants"] = unplaced_lists_it
    schools["fillable_without_moving"] = fillable
    schools["bound_assignment"] = bound_flows.sum(axis=0)

    nz_r, nz_s = np.nonzero((rule_flows > 0) | (bound_flows > 0))
    flows = pd.DataFrame({
        "region_id": text(arr.region_ids[nz_r].tolist()), "region_name": text(sc.regions["name"].to_numpy()[nz_r]),
        "school_id": text(arr.school_ids[nz_s].tolist()), "school_name": text(sc.schools["name"].to_numpy()[nz_s]),
        "school_region_id": text(sc.schools["region_id"].to_numpy()[nz_s]),
        "rule": rule_flows[nz_r, nz_s], "bound_assignment": bound_flows[nz_r, nz_s],
    })
    timings = {"listed": round(t1 - t0, 4), "network": round(t2 - t1, 4), "max_flow": round(t3 - t2, 4),
               "without_moving": round(t4 - t3, 4), "total": round(time.perf_counter() - t0, 4)}
    return BoundReport(sc.name, arr.n, int((arr.eligible & ~general).sum()), int(in_net.sum()), int(placed.sum()),
                       best, extra, rule_outside, schools, flows, net.size, timings)


def flows_matrix(report: BoundReport, column: str = "rule") -> pd.DataFrame:
    """The region → school table as a matrix: one row per region, one column per school, 合计 row and column."""
    m = report.flows.pivot_table(index="region_name", columns="school_name", values=column, aggfunc="sum",
                                 fill_value=0, sort=False)
    m["合计"] = m.sum(axis=1)
    m.loc["合计"] = m.sum(axis=0)
    return m.reset_index().rename(columns={"region_name": "地区 \\ 学校"})


def write_bound(report: BoundReport, out_dir: Path | str) -> Path:
    """``bound_schools.csv`` (per school), ``flows.csv`` (region → school), ``bound.xlsx`` and
    ``summary.json`` (written last)."""
    with summary_last(out_dir) as out:
        write_csv(report.schools, out / "bound_schools.csv")
        write_csv(report.flows, out / "flows.csv")
        _workbook(report, out / "bound.xlsx")
    write_json(report.summary(), out / "summary.json")
    return out


def _workbook(report: BoundReport, path: Path) -> None:
    """bound.xlsx in Chinese, every sheet set up to print (issue #10.7): 概要, 学校, the region → school
    matrices of the rule's result and of one maximum assignment, and the flows one a row."""
    from models.workbooks import SCHOOL, Book

    s = report.summary()
    overview = [
        ("可录取考生（R1 合格、未被普高录取）", s["pool"]),
        ("有有效志愿的考生", s["in_network"]),
        ("按规则录取", s["rule_placed"]),
        ("最多可录取（上界）", s["bound"]),
        ("差距", s["gap"]),
        ("不调整已录取者即可补录", s["without_moving"]),
        ("需调整已录取者", s["needs_moving"]),
        ("招生计划", s["seats"]),
        ("按规则录取后的空额", s["rule_vacancies"]),
    ]
    book = Book(f"{report.scenario} 录取上界")
    book.table("概要", pd.DataFrame({"item": text([k for k, _ in overview]),
                                   "students": np.array([v for _, v in overview], dtype=np.int64)}),
               names={"students": "人数"}, freeze_columns=1)
    book.table("学校", report.schools, names=SCHOOL, freeze_columns=2)
    book.table("流向（规则）", flows_matrix(report, "rule"), freeze_columns=1)
    book.table("流向（最大）", flows_matrix(report, "bound_assignment"), freeze_columns=1)
    book.table("流向明细", report.flows, names={"rule": "规则录取"}, freeze_columns=2)
    book.save(path)
