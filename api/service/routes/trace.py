"""为什么 Why this outcome (issue #13.4): one student's path through the rules, as JSON.

    GET /runs/{run_id}/trace?student=ID           the path in a finished run (409 while it is not done)
    GET /scenarios/{scenario_id}/trace?student=ID the path in the rules' result of a scenario

Both answer with `solver.analysis.trace.explain`, the function behind ``zhaosheng trace``.  A run's result is the
rules' result of its scenario (the sequential engine's; CP-SAT's equals it, docs/rules.md "exactly one
solution"), so both routes trace the scenario's sequential result.  Scenarios never change once stored
(an id is never reused), so the prepared result (`solver.analysis.trace.prepare`) is kept for the last few
scenarios: the first trace of a scenario loads and admits it (seconds for a million students), every
later one takes milliseconds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from api.service.db import DONE, RunRecord, ScenarioRecord
from api.service.deps import SessionDep, SettingsDep
from api.service.routes.common import Responses
from api.service.routes.scenarios import find_scenario
from api.service.schemas import ErrorOut
from api.service.worker import scenario_source

if TYPE_CHECKING:  # the trace is imported on first use
    from solver.analysis.trace import TraceBasis

router = APIRouter(tags=["trace"])

KEEP = 2  # prepared scenarios kept in memory (a million students take a few hundred MB)
StudentQuery = Annotated[str, Query(min_length=1, max_length=200, description="the student's id (考生号)")]


class StepOut(BaseModel):
    """One step of the path: the rule that decided it and a sentence in Chinese and in English."""

    rule: str = Field(description="R1 ... R12")
    kind: str = Field(description="general, general_not_reached, ineligible, void_unregistered, void_interview, "
                                  "void_declined, admitted, not_considered, school_full, region_full, declined, "
                                  "confirmed, no_choices, fallback, outcome, ...")
    zh: str
    en: str
    batch: int | None = None
    batch_name: str | None = None
    round: int | None = Field(None, description="choice rank (志愿), 1-based")
    school_id: str | None = None
    school_name: str | None = None
    admitted: bool | None = None
    cutoff: float | None = Field(None, description="the lowest score the school admitted in this batch and round "
                                                   "(the general cutoff for R4)")
    last_student_id: str | None = Field(None, description="who took the last seat (R7) or region share seat (R8)")
    last_student_score: float | None = None
    facts: dict = Field(default_factory=dict)


class TraceOut(BaseModel):
    """A student's path and outcome (R12)."""

    scenario: str
    student_id: str
    region_id: str
    region_name: str
    score: float
    evaluation: str
    cohort: str
    outcome: str
    outcome_zh: str
    school_id: str | None
    school_name: str | None
    batch: int | None
    choice_rank: int | None
    steps: list[StepOut]
    consistent: bool = Field(description="false when the result does not follow from the rules at some step")


class _Prepared:
    """The last ``KEEP`` prepared scenarios, each prepared once even when asked for by many requests."""

    def __init__(self, keep: int = KEEP):
        self.keep, self.lock = keep, threading.Lock()
        self.items: OrderedDict[str, TraceBasis] = OrderedDict()
        self.loading: dict[str, threading.Lock] = {}

    def get(self, key: str, make: Callable[[], TraceBasis]) -> TraceBasis:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            gate = self.loading.setdefault(key, threading.Lock())
        with gate:  # one request prepares; the others wait for it
            with self.lock:
                if key in self.items:
                    return self.items[key]
            value = make()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.keep:
                    self.items.popitem(last=False)
                self.loading.pop(key, None)
            return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


prepared = _Prepared()
NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "no such run, scenario or student"}}


def _basis(session, settings, scenario_id: str):
    """The scenario's prepared result (`solver.analysis.trace.prepare`), loaded and admitted on first use."""
    record = find_scenario(session, scenario_id)
    stored = record.path if isinstance(record, ScenarioRecord) else None
    source = scenario_source(scenario_id, stored, settings.data_dir)

    def make():
        import scenarios
        from solver.analysis.trace import prepare

        return prepare(scenarios.load(source))

    return prepared.get(f"{settings.data_dir}|{scenario_id}", make)


def _trace(basis, student: str) -> TraceOut:
    from solver.analysis.trace import StudentNotFound, explain

    try:
        return TraceOut(**explain(basis, student).as_dict())
    except StudentNotFound as exc:
        raise HTTPException(404, exc.args[0]) from None


@router.get("/runs/{run_id}/trace", response_model=TraceOut,
            responses={**NOT_FOUND, 409: {"model": ErrorOut, "description": "the run is not done"}})
def trace_in_run(run_id: str, student: StudentQuery, session: SessionDep, settings: SettingsDep) -> TraceOut:
    """Why this student's outcome in a finished run: per batch and round, the school tried, admitted or
    not, and why not (school full R7, region share full R8, void choice R2/R3/R5, declined R9 ...)."""
    run = session.get(RunRecord, run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r}")
    if run.status != DONE:
        raise HTTPException(409, f"the run is {run.status}; its trace is there when it is done")
    return _trace(_basis(session, settings, run.scenario_id), student)


@router.get("/scenarios/{scenario_id}/trace", response_model=TraceOut, responses=NOT_FOUND)
def trace_in_scenario(scenario_id: str, student: StudentQuery, session: SessionDep,
                      settings: SettingsDep) -> TraceOut:
    """Why this student's outcome under the rules (the sequential engine's result of the scenario)."""
    return _trace(_basis(session, settings, scenario_id), student)
