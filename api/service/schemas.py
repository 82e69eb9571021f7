"""Request and response bodies of the service (apart from the storage tables of `api.service.db`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from solver.analysis.jobs import AnalysisKind
from solver.analysis.plan.objectives import OBJECTIVES
from solver.run import Engine

T = TypeVar("T")
Status = Literal["queued", "running", "done", "failed"]


def _iso_utc(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # stored as naive UTC (`api.service.db.utcnow`)
    return value.isoformat().replace("+00:00", "Z")


Time = Annotated[dt.datetime, PlainSerializer(_iso_utc, return_type=str, when_used="json")]


class ProblemOut(BaseModel):
    """One problem of an input: the file, the row as a spreadsheet numbers it, the column, the value, and
    the rule (R1-R12) or docs/formats.md clause it breaks."""
    severity: Literal["error", "warning"] = "error"
    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    clause: str
    message: str


class JobRef(BaseModel):
    kind: str = Field(description="run, audit, what-if, sweep or bound")
    id: str
    status: str
    url: str


class ErrorOut(BaseModel):
    detail: str
    problems: list[ProblemOut] = Field(default_factory=list)
    problems_total: int | None = None  # when more problems were found than listed here
    jobs: list[JobRef] | None = Field(None, description="409: the queued or running jobs in the way")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    runs_running: int
    runs_queued: int
    analyses_running: int = 0  # what-ifs, sweeps and bounds
    analyses_queued: int = 0


class Page(BaseModel, Generic[T]):
    total: int
    offset: int
    limit: int
    items: list[T]


class ScenarioOut(BaseModel):
    id: str = Field(description="the name of a bundled scenario, or the id given to an upload")
    name: str
    bundled: bool
    format: Literal["bundled", "folder", "xlsx", "json"]
    filename: str | None = None
    title: str | None = None
    created_at: Time | None = None
    info: dict[str, Any] = Field(default_factory=dict, description="year, counts, batches, warnings")
    runs_url: str


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: Engine = Field("both", description="sequential: the rules as written; cpsat: the CP-SAT model of "
                                               "the rules; both: both, proven equal and unique, and checked")
    time_limit: float | None = Field(None, ge=1, description="seconds for the CP-SAT phases (at least 1); the run "
                                     "is stopped when it exceeds this plus the server's grace for loading and "
                                     "writing")
    hint: bool = Field(False, description="labelled mode: CP-SAT is given the sequential result as a hint")


class RunProgress(BaseModel):
    phase: str | None = None
    done: int | None = None
    total: int | None = None
    fraction: float | None = None
    detail: str | None = None

    @classmethod
    def of(cls, progress: dict | None, done_status: bool) -> RunProgress | None:
        """The progress a worker wrote to its job's row (runs and analyses alike); complete when done."""
        if done_status:
            return cls(phase="done", fraction=1.0)
        p = progress or {}
        if not p:
            return None
        done, total = p.get("done"), p.get("total")
        return cls(phase=p.get("phase"), done=done, total=total, detail=p.get("detail"),
                   fraction=round(done / total, 4) if done is not None and total else None)


def elapsed_seconds(started_at: dt.datetime | None, finished_at: dt.datetime | None, now: dt.datetime) -> float | None:
    """Seconds a job has run (so far, while it runs)."""
    return None if started_at is None else round(((finished_at or now) - started_at).total_seconds(), 3)


class RunOut(BaseModel):
    id: str
    scenario_id: str
    engine: Engine
    time_limit: float
    hint: bool
    status: Status
    cancelled: bool = False
    created_at: Time
    started_at: Time | None = None
    finished_at: Time | None = None
    elapsed_seconds: float | None = None
    queue_position: int | None = None
    progress: RunProgress | None = None
    timings: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    reason: str | None = None
    problems: list[ProblemOut] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict, description="the result files there are, by name")


class AdmissionOut(BaseModel):
    student_id: str
    region_id: str | None = None
    outcome: str
    school_id: str | None = None
    batch: int | None = None
    choice_rank: int | None = None
    admit_date: str | None = None
    confirm_date: str | None = None
    score: float | None = Field(None, description="the student's score (中考成绩)")


class ViolationOut(BaseModel):
    rule: str
    student_id: str | None = None
    school_id: str | None = None
    batch: str | None = None
    other_student_id: str | None = None
    detail: str | None = None


class AuditOut(BaseModel):
    id: str
    scenario_id: str
    status: Literal["running", "clean", "violations", "failed"]
    created_at: Time
    finished_at: Time | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] | None = None
    reason: str | None = None
    violations: Page[ViolationOut] | None = None
    files: dict[str, str] = Field(default_factory=dict)


# analyses (issue #6): what-if, sweep, bound ------------------------------------------------------------------

ChangeValue = Annotated[bool | int | float | str | None, Field(union_mode="smart")]


class WhatIfCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: dict[Annotated[str, Field(max_length=300)], ChangeValue] | list[Annotated[str, Field(max_length=400)]] = \
        Field(default_factory=list, max_length=1000,
              description='{"quota.S03": "+10%", "decline_rate": 0.04} or ["quota.S03=520", ...]: quota.SCHOOL, '
                          "subquota.SCHOOL.REGION (none removes it), general_seats.REGION, general_cutoff.REGION, "
                          "registered.SCHOOL, decline_rate; absolute (520, 0.03, 3%) or relative (+10%, -15%, +20)",
              examples=[{"quota.S03": "+10%"}, ["quota.S03=520", "decline_rate=0.04"]])
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the students a decline_rate change draws")


class SweepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    general_share: str | float = Field(description="START:STOP:STEP with both ends (0.40:0.60:0.02: 11 steps), "
                                                   "a comma list (0.45,0.5) or one share",
                                       examples=["0.40:0.60:0.02"])


class PlanCreate(BaseModel):
    """``zhaosheng plan-quotas`` as a job: every school's quota chosen within its bounds (solver.analysis.plan:
    local search and branch and bound for placed and first-choice, CP-SAT for the ratio)."""
    model_config = ConfigDict(extra="forbid")

    total: int | None = Field(None, ge=0, le=10**9, description="the sum of all quotas (default: the current "
                                                                "sum); outside the bounds' range the plan fails")
    objective: str = Field("placed", description="placed: most vocational admissions; first-choice: most "
                           "admitted at choice 1 of batch 1; ratio: each region's vocational admissions closest "
                           "to its target", json_schema_extra={"enum": list(OBJECTIVES)})
    min_change: str | float = Field("-20%", description="lowest quota relative to the current one (-100%..0)",
                                    examples=["-20%"])
    max_change: str | float = Field("+20%", description="highest quota relative to the current one (>= 0)",
                                    examples=["+20%"])
    target_share: float | None = Field(None, ge=0, le=1, description="ratio: target vocational admissions = "
                                                                     "share x graduates per region")
    time_limit: float | None = Field(None, ge=1, description="seconds for the plan (model, warm start, search); "
                                     "at most the server's max_time_limit; 120 by default")

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, value: str) -> str:
        if value not in OBJECTIVES:
            raise ValueError(f"one of {', '.join(OBJECTIVES)}")
        return value


class CompareCreate(BaseModel):
    """``zhaosheng compare`` as a job: the scenario under each mechanism, every batch, on the same students."""
    model_config = ConfigDict(extra="forbid")

    mechanisms: Annotated[str, Field(max_length=400)] | Annotated[
        list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = Field(
        "boston,parallel", description="boston (the sequential rule, 顺序志愿), parallel (平行志愿), chen-kesten:E "
                                       "(choices in blocks of E): a comma list or a list, at least two, none twice",
        examples=["boston,parallel,chen-kesten:2", ["boston", "parallel"]])
    band: float = Field(10.0, gt=0, le=1000, description="points of a score band in moves.csv and pairs.csv")


class MonteCarloCreate(BaseModel):
    """``zhaosheng montecarlo`` as a job: draws of who declines an offer (R9), each run with the rules."""
    model_config = ConfigDict(extra="forbid")

    decline_rate: float | Annotated[str, Field(max_length=20)] = Field(
        0.04, description="chance that a student declines an offer, per student and batch: 0.04 or \"4%\", 0..1",
        examples=[0.04, "4%"])
    draws: int = Field(200, ge=1, le=10_000, description="draws, each a whole run of the rules")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="draw d uses numpy's SeedSequence(seed).spawn(...)[d]")
    keep_declines: bool = Field(False, description="keep the scenario's declines.csv and add the drawn ones "
                                                   "(default: the drawn ones replace it)")


class AnalysisOut(BaseModel):
    id: str
    kind: AnalysisKind
    scenario_id: str
    params: dict[str, Any] = Field(default_factory=dict, description="the request as given")
    status: Status
    cancelled: bool = False
    created_at: Time
    started_at: Time | None = None
    finished_at: Time | None = None
    elapsed_seconds: float | None = None
    queue_position: int | None = Field(None, description="place among the queued runs and analyses")
    progress: RunProgress | None = None
    summary: dict[str, Any] | None = Field(None, description="summary.json")
    regions: list[dict[str, Any]] | None = Field(None, description="what-if: regions_compare.csv as rows "
                                                                   "(baseline, variant, change side by side); "
                                                                   "montecarlo: montecarlo_regions.csv as rows")
    schools: list[dict[str, Any]] | None = Field(None, description="bound: bound_schools.csv as rows")
    quotas: list[dict[str, Any]] | None = Field(None, description="plan: quotas.csv as rows (each school's quota "
                                                                  "before and after, its bounds)")
    mechanisms: list[dict[str, Any]] | None = Field(None, description="compare: mechanisms.csv as rows (the "
                                                                      "figures of each mechanism)")
    pairs: list[dict[str, Any]] | None = Field(None, description="compare: each pair's totals (pairs.csv's "
                                                                 "total rows: gain, lose, move, other)")
    reason: str | None = None
    problems: list[ProblemOut] = Field(default_factory=list, description="bad changes, each naming its key")
    files: dict[str, str] = Field(default_factory=dict, description="the files there are, by name")
