"""The verification layer: the CP-SAT model's result equals the sequential engine's, it is the model's
only feasible assignment, and the independent checker finds no violation in either (docs/rules.md, "Why the
CP-SAT model has exactly one solution").

By default the model is solved and proved batch by batch (`solver.cpsat.batches`; docs/verification.md,
"Batch by batch": uniqueness of each batch given its input chains into uniqueness of the whole); the
whole model at once (``method="whole"``) remains, and is the one the labelled hinted mode uses.

A time limit is respected: a solve or proof cut short is reported as "not proven", never as a verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from models.results import Result
from models.scenario import Scenario
from solver.cpsat import AdmissionModel, build_instance
from solver.cpsat.batches import Said, batch_steps, solve_by_batches
from solver.cpsat.outcome import result_of
from solver.engine.arrays import ScenarioArrays
from solver.engine.sequential import run_sequential
from solver.methods import METHODS
from solver.progress import Log, Phase, Progress

COMPARED = ["outcome", "school_id", "batch", "choice_rank"]


@dataclass
class Verdict:
    equal: bool | None = None  # None: not proven (time limit)
    unique: bool | None = None
    checker_violations: dict = field(default_factory=dict)  # engine -> count
    differences: int | None = None  # students whose outcome differs between the engines
    status: dict = field(default_factory=dict)  # CP-SAT status of the solve and of the proof
    times: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    hint: bool = False  # the labelled mode in which the solve was given the sequential result as a hint
    method: str = "whole"  # one of METHODS
    batches: list[dict] = field(default_factory=list)  # batch by batch: each batch's model, times and statuses

    @property
    def ok(self) -> bool:
        return bool(self.equal and self.unique and not any(self.checker_violations.values()))

    @property
    def text(self) -> str:
        if self.equal is None or self.unique is None:
            return "not proven (time limit)"
        return "verified" if self.ok else "FAILED"

    def as_dict(self) -> dict:
        return {"verdict": self.text, "equal": self.equal, "unique": self.unique,
                "checker_violations": self.checker_violations, "differences": self.differences,
                "status": self.status, "times": self.times, "model_size": self.model,
                "mode": "hinted with the sequential result (labelled mode)" if self.hint else "constraints only",
                "method": "batch by batch" if self.method == "batches" else "whole model",
                **({"batches": self.batches} if self.batches else {})}


@dataclass
class Verification:
    sequential: Result
    cpsat: Result | None
    verdict: Verdict
    differences: pd.DataFrame
    violations: pd.DataFrame  # the checker's findings on both results, with an `engine` column


def compare(a: Result, b: Result) -> pd.DataFrame:
    """Students whose outcome, school, batch or choice rank differ, with both sides."""
    left = a.admissions[["student_id"] + COMPARED]
    right = b.admissions[["student_id"] + COMPARED]
    merged = left.merge(right, on="student_id", how="outer", suffixes=(f"_{a.engine}", f"_{b.engine}"),
                        indicator=True)
    differ = merged["_merge"] != "both"
    for col in COMPARED:
        x, y = merged[f"{col}_{a.engine}"], merged[f"{col}_{b.engine}"]
        differ |= ~((x == y) | (x.isna() & y.isna())).fillna(False).to_numpy(dtype=bool)
    return merged[differ].drop(columns="_merge").reset_index(drop=True)


def verify(sc: Scenario, time_limit: float | None = None, phase: Phase | None = None, log: Log | None = None,
           hint: bool = False, workers: int = 1, arrays: ScenarioArrays | None = None,
           method: str = "batches", progress: Progress | None = None) -> Verification:
    """``workers``: CP-SAT search workers.  One is enough: presolve's propagation decides the whole
    model (no branching), and each further worker holds another copy of the model in memory.
    ``method``: one of `METHODS`; the hinted mode always uses the whole model (its hint is the sequential
    result, which the batch-by-batch path never reads).  ``progress`` gets the steps of the batches (three each)."""
    from solver.checker import check

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    say = phase or (lambda _: None)
    verdict = Verdict(hint=hint, method="whole" if hint else method)
    t0 = time.perf_counter()
    say("sequential engine")
    arr = arrays or ScenarioArrays.from_scenario(sc)
    sequential = run_sequential(sc, arrays=arr)
    verdict.times["sequential"] = _since(t0)

    deadline = None if not time_limit else time.perf_counter() + time_limit
    if verdict.method == "whole":
        cpsat = _whole(sc, arr, verdict, deadline, say, log, workers, sequential)
    else:
        cpsat = _by_batches(sc, arr, verdict, deadline, batch_steps(sc, say, progress), log, workers)
    differences = pd.DataFrame(columns=["student_id"])
    if cpsat is not None:
        differences = compare(sequential, cpsat)
        verdict.equal = differences.empty and offers_equal(sequential, cpsat)
        verdict.differences = len(differences)

    t = time.perf_counter()
    say("checking both results (R1-R12)")
    found = []
    for result in (sequential, cpsat):
        if result is None:
            continue
        v = check(sc, result.admissions, result.offers)
        verdict.checker_violations[result.engine] = len(v)
        found.append(v.assign(engine=result.engine))
    verdict.times["checker"] = _since(t)
    verdict.times["total"] = _since(t0)
    violations = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    return Verification(sequential, cpsat, verdict, differences, violations)


def _whole(sc: Scenario, arr: ScenarioArrays, verdict: Verdict, deadline: float | None, say: Phase,
           log: Log | None, workers: int, sequential: Result) -> Result | None:
    """The whole model at once: build, solve (hinted in the labelled mode), prove unique."""
    t = time.perf_counter()
    say("building the CP-SAT model")
    model = AdmissionModel(build_instance(sc, arr))
    verdict.times["build"] = _since(t)
    verdict.model = model.size()
    say("solving")
    seq_hint = model.decisions_of(sequential)[0] if verdict.hint else None
    solve = model.solve(_left(deadline), workers, log, hint=seq_hint)
    verdict.times["solve"] = round(solve.seconds, 3)
    verdict.status["solve"] = solve.status
    if solve.solution is None:
        if solve.status == "INFEASIBLE":
            verdict.equal = False  # the rules as constraints admit no result at all: a defect somewhere
        return None
    cpsat = model.result(solve.solution)
    left = _left(deadline)
    if left is None or left > 0.001:
        say("proving uniqueness")
        proof = model.prove_unique(solve.solution, left, workers, log, keep_model=False)
        verdict.times["proof"] = round(proof.seconds, 3)
        verdict.status["proof"] = proof.status
        if proof.status == "INFEASIBLE":
            verdict.unique = True
        elif proof.solution is not None:
            verdict.unique = False
    return cpsat


def _by_batches(sc: Scenario, arr: ScenarioArrays, verdict: Verdict, deadline: float | None, said: Said,
                log: Log | None, workers: int) -> Result | None:
    """One model per batch, each given the model's own solution of the batches before it
    (`solver.cpsat.batches`); the sequential result is not passed in."""
    t = time.perf_counter()
    inst = build_instance(sc, arr)
    solved = solve_by_batches(inst, _left(deadline), workers, log, prove=True, said=said)
    verdict.batches = [b.as_dict() for b in solved.batches]
    totals = solved.totals()
    elapsed = time.perf_counter() - t  # building the instance and every batch's model, and freeing them
    verdict.times["build"] = round(elapsed - totals["solve"] - totals["proof"], 3)
    verdict.times.update(solve=totals["solve"], proof=totals["proof"])
    verdict.model = {key: sum(b.size[key] for b in solved.batches) for key in
                     ("applications", "variables", "constraints", "decision_variables")}
    verdict.model["largest_batch_variables"] = solved.largest().get("variables", 0)
    verdict.model["largest_batch_constraints"] = solved.largest().get("constraints", 0)
    statuses = [b.solve.status for b in solved.batches]
    verdict.status["solve"] = next((s for s in statuses if s not in ("OPTIMAL", "FEASIBLE")), "OPTIMAL")
    proofs = [b.proof.status if b.proof else "not run" for b in solved.batches]
    if solved.offered is None:
        if "INFEASIBLE" in statuses:
            verdict.equal = False  # a batch's rules as constraints admit no result: a defect somewhere
        return None
    verdict.status["proof"] = next((s for s in proofs if s != "INFEASIBLE"), "INFEASIBLE")
    verdict.unique = solved.unique
    return result_of(inst, solved.offered)


def offers_equal(a: Result, b: Result) -> bool:
    """Whether both results make the same offers (student, school, batch, rank, confirmed)."""
    cols = ["student_id", "school_id", "batch", "choice_rank", "confirmed"]
    left = a.offers[cols].sort_values(cols[:3]).reset_index(drop=True)
    right = b.offers[cols].sort_values(cols[:3]).reset_index(drop=True)
    return left.astype(str).equals(right.astype(str))


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 0.001)


def _since(t: float) -> float:
    return round(time.perf_counter() - t, 3)
