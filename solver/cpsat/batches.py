"""The CP-SAT model batch by batch (docs/verification.md, "Batch by batch"): one model per batch, built,
solved, proved unique and freed before the next.

Batch b depends on the batches before it only through who still holds no confirmed offer (R5), which
schools each student declined (R5) and the seats confirmed at each school and share (R7, R8, R9).  Those
are taken from the model's *own* solution of the earlier batches (`instance.stage_instance`), never from
the sequential engine: nothing here imports it.  The stages' offers are assembled over the whole
`Instance`, and `outcome.result_of` turns them into a result as for the whole model.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from models.scenario import Scenario
from solver.cpsat.builder import BoolArray
from solver.cpsat.instance import Instance, stage_instance
from solver.cpsat.model import AdmissionModel, SolveReport
from solver.progress import Log, Phase, Progress

Said = Callable[[str, int], None]
"""Told the phase being worked on ("building", "solving", "proving uniqueness") and the batch id."""


@dataclass
class BatchReport:
    batch: int  # the batch's id
    size: dict[str, int]  # AdmissionModel.size() of the batch's model
    build_seconds: float
    solve: SolveReport
    proof: SolveReport | None = None  # None: not asked for, or no time left

    def as_dict(self) -> dict[str, object]:
        return {"batch": self.batch, "model_size": self.size, "build": round(self.build_seconds, 3),
                "solve": round(self.solve.seconds, 3), "solve_status": self.solve.status,
                "proof": None if self.proof is None else round(self.proof.seconds, 3),
                "proof_status": None if self.proof is None else self.proof.status}


@dataclass
class BatchSolve:
    offered: BoolArray | None  # bool per application of the whole instance; None: a batch was not solved
    batches: list[BatchReport] = field(default_factory=list)

    @property
    def unique(self) -> bool | None:
        """True when every batch's proof found no other solution; False when one found another; None when a
        proof is missing (not asked for, or the time ran out)."""
        statuses = [None if b.proof is None else b.proof.status for b in self.batches]
        if any(s in ("OPTIMAL", "FEASIBLE") for s in statuses):
            return False
        if self.offered is not None and statuses and all(s == "INFEASIBLE" for s in statuses):
            return True
        return None

    def totals(self) -> dict[str, float]:
        """Seconds spent building, solving and proving, over every batch."""
        return {"build": round(sum(b.build_seconds for b in self.batches), 3),
                "solve": round(sum(b.solve.seconds for b in self.batches), 3),
                "proof": round(sum(b.proof.seconds for b in self.batches if b.proof is not None), 3)}

    def largest(self) -> dict[str, int]:
        """The size of the largest batch model (the one that sets the memory)."""
        return max((b.size for b in self.batches), key=lambda s: s["variables"], default={})


def solve_by_batches(whole: Instance, time_limit: float | None = None, workers: int = 1, log: Log | None = None,
                     prove: bool = True, said: Said | None = None) -> BatchSolve:
    """Solve (and with ``prove`` prove unique) each batch of ``whole`` in turn, each given the offers the
    model itself made in the batches before it."""
    say = said or (lambda what, batch: None)
    deadline = None if not time_limit else time.perf_counter() + time_limit
    offered = np.zeros(whole.n_apps, dtype=bool)
    out = BatchSolve(offered=None)
    for bpos, batch in enumerate(whole.sc.settings.batches):
        say(STEPS[0], batch.id)
        stage = stage_instance(whole, bpos, offered)
        model = AdmissionModel(stage.inst)
        report = BatchReport(batch.id, model.size(), model.build_seconds, SolveReport("UNKNOWN", 0.0))
        out.batches.append(report)
        say(STEPS[1], batch.id)
        report.solve = model.solve(_left(deadline), workers, log)
        if report.solve.solution is None:
            return out
        offered[stage.positions] = report.solve.solution[:len(stage.positions)]
        left = _left(deadline)
        if prove and (left is None or left > 0.001):
            say(STEPS[2], batch.id)
            report.proof = model.prove_unique(report.solve.solution, left, workers, log, keep_model=False)
        del model, stage
        gc.collect()  # the next batch's model is built only once this one is gone
    out.offered = offered
    return out


STEPS = ("building the CP-SAT model", "solving", "proving uniqueness")


def batch_steps(sc: Scenario, phase: Phase, progress: Progress | None = None) -> Said:
    """The `Said` that reports each step of each batch as a phase ("batch 2 (2 of 3): solving") and, with
    ``progress``, as steps done of all (three per batch: a bar on the CLI, done/total on the service)."""
    position = {b.id: i for i, b in enumerate(sc.settings.batches)}
    n = len(position)

    def said(what: str, batch: int) -> None:
        label = f"batch {batch} ({position[batch] + 1} of {n}): {what}"
        if progress is not None and what in STEPS:
            progress(label, position[batch] * len(STEPS) + STEPS.index(what), n * len(STEPS))
        else:
            phase(label)

    return said


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 0.001)
