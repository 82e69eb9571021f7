"""What-if, sweep and bound over HTTP (issue #6): ``zhaosheng whatif``, ``sweep`` and ``bound`` as jobs; the
quota plan and the mechanism comparison (``plan-quotas``, ``compare``) the same way.

``POST /scenarios/{id}/whatif`` (``{"changes": {"quota.S03": "+10%"} or ["quota.S03=520"], "seed": 0}``),
``POST /scenarios/{id}/sweep`` (``{"general_share": "0.40:0.60:0.02"}``) and ``POST /scenarios/{id}/bound``
queue an analysis (202); it runs in a worker process like a run (`api.service.jobs`: the same slots,
oldest first, kept in the database, a running one failed on restart with the reason "interrupted"), and
``GET /whatif/{id}``, ``/sweep/{id}``, ``/bound/{id}`` give its status, progress, summary and the files it
wrote, exactly the CLI's.  ``POST /scenarios/{id}/plan`` (``{"total": 16164, "objective": "placed",
"min_change": "-20%", "max_change": "+20%", "time_limit": 120}``) queues a quota plan (``zhaosheng
plan-quotas``) the same way: ``GET /plan/{id}``; it is stopped after its own time limit plus the grace.
``POST /scenarios/{id}/compare`` (``{"mechanisms": "boston,parallel,chen-kesten:2", "band": 10}``) queues a
mechanism comparison (``zhaosheng compare``): ``GET /compare/{id}``; its mechanisms are parsed in the request
(`solver.analysis.compare.parse_mechanisms`: 422 naming every bad one).  ``POST /scenarios/{id}/montecarlo``
(``{"decline_rate": 0.04, "draws": 200, "seed": 1}``) queues a Monte Carlo of declines (``zhaosheng
montecarlo``, issue #16.3): ``GET /montecarlo/{id}``; a rate outside 0..1 is 422.  A sweep's steps and a Monte
Carlo's draws run in the job's worker process, or as tasks of the Dask cluster of ``ZHAOSHENG_DASK_SCHEDULER``.

What is checked before queuing.  A what-if's keys and values are checked in the request, without loading
the scenario (which takes seconds for a city of 80,000 students): the form ``KEY=VALUE``, the kind of key,
SCHOOL / REGION / SCHOOL.REGION after it, the value (a number, ``+N%``, ``true``, ``none`` ...), a key
given twice; each problem names its key, with the messages of `solver.analysis.whatif.parse_changes` (422, nothing
queued).  Whether the school or region exists and whether the changed scenario is valid (sub-quotas above
a quota, R8) needs the scenario: that is checked in the worker, and the what-if is then ``failed`` with the
reason "invalid change" and the same problems (and ``errors.csv``).  A sweep's ``general_share`` is parsed
in the request (`solver.analysis.sweep.parse_shares`, at most `MAX_SWEEP_STEPS` steps).

An analysis is cancelled and deleted as a run is (``POST /{kind}/{id}/cancel``, ``DELETE /{kind}/{id}``),
and counts in the one queue whose length ``max_queued_jobs`` bounds (429 beyond it).
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Body, HTTPException, Response, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import delete

from api.service import storage
from api.service.db import ACTIVE, DONE, FAILED, QUEUED, AnalysisRecord, utcnow
from api.service.deps import JobsDep, SessionDep, SettingsDep
from api.service.errors import ProblemsError
from api.service.routes.common import Responses, queue_job
from api.service.routes.scenarios import find_scenario
from api.service.schemas import (
    AnalysisOut,
    CompareCreate,
    ErrorOut,
    MonteCarloCreate,
    PlanCreate,
    RunProgress,
    SweepCreate,
    WhatIfCreate,
    elapsed_seconds,
)
from solver.analysis.jobs import ANALYSIS_KINDS, ANALYSIS_NAMES, AnalysisKind

router = APIRouter(tags=["analysis"])

CSV, XLSX, JSON = "text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", \
    "application/json"
PNG, HTML = "image/png", "text/html; charset=utf-8"
FILES: dict[str, dict[str, str]] = {  # the CLI's files of each kind (README, "What-if, sweep, bound")
    "whatif": {"changes.csv": CSV, "regions_compare.csv": CSV, "schools_compare.csv": CSV,
               "schools_by_batch_compare.csv": CSV, "whatif.xlsx": XLSX, "summary.json": JSON},
    "sweep": {"sweep.csv": CSV, "sweep.png": PNG, "sweep.html": HTML, "summary.json": JSON},
    "bound": {"bound_schools.csv": CSV, "flows.csv": CSV, "bound.xlsx": XLSX, "summary.json": JSON},
}
SIDES = ("baseline", "variant")  # a what-if's two runs, each with a run's files
SIDE_FILES = {"admissions.csv": CSV, "admissions.xlsx": XLSX, "offers.csv": CSV, "schools.csv": CSV,
              "subquotas.csv": CSV, "regions.csv": CSV, "warnings.csv": CSV, "progress.xlsx": XLSX,
              "summary.json": JSON}
# a plan: its quotas and workbook, and the sequential re-run's files with the new quotas
FILES["plan"] = {"quotas.csv": CSV, "plan.xlsx": XLSX, **SIDE_FILES}
# a mechanism comparison (issue #15.3): solver.analysis.compare.COMPARE_FILES
FILES["compare"] = {"mechanisms.csv": CSV, "regions_by_mechanism.csv": CSV, "schools_by_mechanism.csv": CSV,
                    "moves.csv": CSV, "pairs.csv": CSV, "compare.xlsx": XLSX, "compare.png": PNG, "compare.html": HTML,
                    "summary.json": JSON}
# a Monte Carlo of declines (issue #16.3): solver.analysis.montecarlo.MONTECARLO_FILES
FILES["montecarlo"] = {"montecarlo_schools.csv": CSV, "montecarlo_regions.csv": CSV, "montecarlo_draws.csv": CSV,
                       "montecarlo.xlsx": XLSX, "montecarlo.png": PNG, "summary.json": JSON}
DEFAULT_PLAN_SECONDS = 120.0
FAILED_FILES = ("errors.csv", "summary.json")
MAX_SWEEP_STEPS = 201
CHANGES_FILE = "changes"  # the "file" a problem with a change is reported under (the CLI says --set)
NOT_FOUND: Responses = {404: {"model": ErrorOut}}
QUEUED_OR_FULL: Responses = {
    404: {"model": ErrorOut},
    429: {"model": ErrorOut,
          "description": "max_queued_jobs runs and analyses are waiting: try again after Retry-After seconds"},
}
NOT_ENDED: Responses = {404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "the analysis has not ended"}}
NAMES = ANALYSIS_NAMES


# checks that need no scenario -----------------------------------------------------------------------------

def _request_problem(column: str, value, message: str) -> dict:
    return {"severity": "error", "file": "request", "row": None, "column": column,
            "value": None if value is None else str(value)[:200], "clause": "API", "message": message}


def change_problems(problems) -> list[dict]:
    """`solver.analysis.whatif` problems as JSON, under the file ``changes`` (the CLI's ``--set``)."""
    from solver.analysis.whatif import SOURCE

    return [asdict(replace(p, file=CHANGES_FILE) if p.file == SOURCE else p) for p in problems]


def check_changes(changes) -> None:
    """Every problem of the keys and values that shows without the scenario (`solver.analysis.whatif.parse_changes`
    against a stand-in that knows every school and region the keys name): 422 with each key."""
    from models import Scenario, Settings
    from solver.analysis.whatif import ChangeError, parse_changes

    keys = list(changes) if isinstance(changes, dict) else [str(i).partition("=")[0].strip() for i in changes]
    names: set[str] = set()
    for key in keys:
        kind, _, rest = str(key).strip().partition(".")
        if not rest:
            continue
        parts = rest.split(".")
        names.add(rest)
        if kind == "subquota":  # every split into SCHOOL.REGION
            names.update(".".join(parts[:cut]) for cut in range(1, len(parts)))
            names.update(".".join(parts[cut:]) for cut in range(1, len(parts)))
    ids = sorted(names)
    empty = pd.DataFrame()
    stand_in = Scenario(Settings("stand-in", max_choices=1, general_stage="none", batches=()),
                        regions=pd.DataFrame({"region_id": ids, "name": ids}, dtype=object),
                        schools=pd.DataFrame({"school_id": ids, "name": ids}, dtype=object),
                        subquotas=empty, students=empty, declines=empty, interviews=empty)
    try:
        parse_changes(stand_in, changes)
    except ChangeError as exc:
        raise ProblemsError(f"invalid change: {len(exc.errors)} error(s); nothing was queued",
                            change_problems(exc.problems)) from None


def check_shares(spec) -> None:
    from solver.analysis.sweep import ShareError, parse_shares

    try:
        shares = parse_shares(str(spec))
    except ShareError as exc:
        raise ProblemsError("invalid general_share", [_request_problem("body.general_share", spec, str(exc))]) \
            from None
    if len(shares) > MAX_SWEEP_STEPS:
        raise ProblemsError("too many steps", [_request_problem(
            "body.general_share", spec, f"{len(shares)} steps; at most {MAX_SWEEP_STEPS}")])


def check_mechanisms(spec) -> list[str]:
    """The mechanisms of a comparison as stored (their labels, in the order given); 422 naming every bad item
    (`solver.analysis.compare.parse_mechanisms`)."""
    from solver.analysis.compare import MechanismError, parse_mechanisms

    try:
        return [m.label for m in parse_mechanisms(spec)]
    except MechanismError as exc:
        raise ProblemsError("invalid mechanisms; nothing was queued",
                            [_request_problem("body.mechanisms", spec if isinstance(spec, str) else ",".join(spec),
                                              str(exc))]) from None


# the answer -------------------------------------------------------------------------------------------------

def analysis_out(session, record: AnalysisRecord, data_dir) -> AnalysisOut:
    progress = RunProgress.of(record.progress, record.status == DONE)
    elapsed = elapsed_seconds(record.started_at, record.finished_at, utcnow())
    files = _file_links(record, data_dir) if record.status in (DONE, FAILED) else {}
    tables = record.tables or {}
    return AnalysisOut(id=record.id, kind=record.kind, scenario_id=record.scenario_id, params=record.params or {},
                       status=record.status, cancelled=bool(record.cancelled), created_at=record.created_at,
                       started_at=record.started_at,
                       finished_at=record.finished_at, elapsed_seconds=elapsed,
                       queue_position=storage.queue_position(session, record), progress=progress,
                       summary=record.summary,
                       regions=tables.get("regions"), schools=tables.get("schools"), quotas=tables.get("quotas"),
                       mechanisms=tables.get("mechanisms"), pairs=tables.get("pairs"),
                       reason=record.reason,
                       problems=record.problems or [], files=files)


def _file_links(record: AnalysisRecord, data_dir: Path) -> dict[str, str]:
    """name -> address of each file an ended analysis has (a what-if's sides too)."""
    base = f"/{record.kind}/{record.id}"
    folder = storage.analysis_dir(data_dir, record.id)
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    if record.status == FAILED:
        present.add("summary.json")  # from the row when it has no files
    allowed = FILES[record.kind] if record.status == DONE else FAILED_FILES
    files = {name: f"{base}/{name}" for name in allowed if name in present}
    if record.status == DONE and record.kind == "whatif":
        for side in SIDES:
            there = set(os.listdir(folder / side)) if (folder / side).is_dir() else set()
            files.update({f"{side}/{name}": f"{base}/{side}/{name}" for name in SIDE_FILES if name in there})
    return files


def _get(session, kind: AnalysisKind, analysis_id: str) -> AnalysisRecord:
    record = session.get(AnalysisRecord, analysis_id)
    if record is None or record.kind != kind:
        raise HTTPException(404, f"no {NAMES[kind]} {analysis_id!r}")
    return record


def _queue(session, settings, jobs, response: Response, kind: AnalysisKind, scenario, scenario_id: str,
           params: dict) -> AnalysisOut:
    record = AnalysisRecord(id=storage.new_id(), kind=kind, scenario_id=scenario_id, params=params, status=QUEUED,
                            cancelled=False, created_at=utcnow())
    queue_job(session, settings, record, uploaded=scenario is not None)
    jobs.notify()
    response.headers["Location"] = f"/{kind}/{record.id}"
    return analysis_out(session, record, settings.data_dir)


# starting ---------------------------------------------------------------------------------------------------

@router.post("/scenarios/{scenario_id}/whatif", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_whatif(scenario_id: str, body: WhatIfCreate, session: SessionDep, settings: SettingsDep, jobs: JobsDep,
                  response: Response) -> AnalysisOut:
    """Queue a what-if: the scenario as it is and with the changes, both with the sequential engine, compared
    per region, school and batch, and every student whose outcome changed (``zhaosheng whatif``).  Keys
    and values are checked here (422, each problem naming its key); unknown schools or regions and a
    changed scenario that breaks the rules fail the what-if with the same problems."""
    scenario = find_scenario(session, scenario_id)
    changes = dict(body.changes) if isinstance(body.changes, dict) else list(body.changes)
    check_changes(changes)
    return _queue(session, settings, jobs, response, "whatif", scenario, scenario_id,
                  {"changes": changes, "seed": body.seed})


@router.post("/scenarios/{scenario_id}/sweep", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_sweep(scenario_id: str, body: SweepCreate, session: SessionDep, settings: SettingsDep, jobs: JobsDep,
                 response: Response) -> AnalysisOut:
    """Queue a ratio sweep (``zhaosheng sweep --general-share``): each step sets every region's general
    seats to the share of its graduates and runs the rules; the steps run one after another in the job's
    worker process."""
    scenario = find_scenario(session, scenario_id)
    check_shares(body.general_share)
    return _queue(session, settings, jobs, response, "sweep", scenario, scenario_id,
                  {"general_share": str(body.general_share)})


@router.post("/scenarios/{scenario_id}/bound", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_bound(scenario_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep, response: Response,
                 body: Annotated[dict | None, Body(description="nothing (an empty object is accepted)")] = None,
                 ) -> AnalysisOut:
    """Queue the max-flow bound (``zhaosheng bound``): the most students who could be placed within their
    listed choices under the quotas and sub-quotas, beside the rule's placements."""
    scenario = find_scenario(session, scenario_id)
    if body:
        raise ProblemsError("the bound takes no parameters", [
            _request_problem(f"body.{key}", value, "unknown parameter") for key, value in body.items()])
    return _queue(session, settings, jobs, response, "bound", scenario, scenario_id, {})


def check_plan(body: PlanCreate, max_time_limit: float) -> dict:
    """The plan's parameters as stored (the request's, the time limit made explicit); 422 for a change that
    is not one (``-20%``, ``+15%``, ``0.2``) or out of its range, or a time limit above the server's.  The
    total against the bounds needs the scenario: a plan outside them fails with the reason."""
    from solver.analysis.plan import PlanError, parse_change

    problems = []
    for name, value, ok in (("min_change", body.min_change, lambda x: -1 <= x <= 0),
                            ("max_change", body.max_change, lambda x: x >= 0)):
        try:
            if not ok(parse_change(str(value))):
                problems.append(_request_problem(f"body.{name}", value, "min_change lies in -100%..0, max_change "
                                                                        "is at least 0"))
        except PlanError as exc:
            problems.append(_request_problem(f"body.{name}", value, str(exc)))
    limit = body.time_limit or min(DEFAULT_PLAN_SECONDS, max_time_limit)
    if limit > max_time_limit:
        problems.append(_request_problem("body.time_limit", limit, f"at most {max_time_limit:g} seconds"))
    if problems:
        raise ProblemsError("invalid plan parameters; nothing was queued", problems)
    return {**body.model_dump(), "min_change": str(body.min_change), "max_change": str(body.max_change),
            "time_limit": float(limit)}


@router.post("/scenarios/{scenario_id}/plan", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_plan(scenario_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep, response: Response,
                body: Annotated[PlanCreate | None, Body()] = None) -> AnalysisOut:
    """Queue a quota plan (``zhaosheng plan-quotas``, 计划优化): CP-SAT chooses every school's quota within
    ``min_change``..``max_change`` of the current one and summing to ``total``, optimizing ``objective``
    under the rules R1–R12, within ``time_limit`` seconds; the sequential engine then re-runs the scenario
    with the plan's quotas (``summary["sequential re-run equals prediction"]``).  ``GET /plan/{id}``: the
    status (OPTIMAL, FEASIBLE ... in the summary), objective, bound, gap, the quotas before and after
    (``quotas``) and the files: quotas.csv, plan.xlsx, summary.json and the re-run's files."""
    scenario = find_scenario(session, scenario_id)
    params = check_plan(body or PlanCreate(), settings.max_time_limit)
    return _queue(session, settings, jobs, response, "plan", scenario, scenario_id, params)


@router.post("/scenarios/{scenario_id}/compare", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_compare(scenario_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep, response: Response,
                   body: Annotated[CompareCreate | None, Body()] = None) -> AnalysisOut:
    """Queue a mechanism comparison (``zhaosheng compare``, 机制比较): the scenario under each of ``mechanisms``
    (boston, parallel, chen-kesten:E; every batch), on the same students and lists, with the sequential engine.
    ``GET /compare/{id}``: per mechanism its figures (``mechanisms``: placed, unplaced, justified envy,
    first-choice share, 普职比, enrollment rate), each pair's gains, losses and moves (``pairs``), and the files
    (mechanisms.csv, regions_by_mechanism.csv, schools_by_mechanism.csv, moves.csv, pairs.csv, compare.xlsx,
    compare.png, compare.html, summary.json).  The lists are the same under every mechanism: under boston they
    are strategic, so the comparison shows the mechanical difference, not the behavioural one (summary
    ``caveat``).  A bad mechanism is 422, nothing queued."""
    scenario = find_scenario(session, scenario_id)
    body = body or CompareCreate()
    mechanisms = check_mechanisms(body.mechanisms)
    return _queue(session, settings, jobs, response, "compare", scenario, scenario_id,
                  {"mechanisms": mechanisms, "band": body.band})


@router.post("/scenarios/{scenario_id}/montecarlo", status_code=status.HTTP_202_ACCEPTED, response_model=AnalysisOut,
             responses=QUEUED_OR_FULL)
def create_montecarlo(scenario_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep, response: Response,
                      body: Annotated[MonteCarloCreate | None, Body()] = None) -> AnalysisOut:
    """Queue a Monte Carlo of declines (``zhaosheng montecarlo``, issue #16.3): ``draws`` draws in which each
    student declines an offer of each batch with probability ``decline_rate`` (R9; the drawn declines replace
    the scenario's unless ``keep_declines``), each run with the rules; draw d is seeded from (``seed``, d).
    ``GET /montecarlo/{id}``: per school the vacancies after the last batch (mean, 5th and 95th percentile,
    chance of filling), per region the band of the 普职比 and of the enrollment rate (``regions``: the
    regions' rows), and the files (montecarlo_schools.csv, montecarlo_regions.csv, montecarlo_draws.csv,
    montecarlo.xlsx, montecarlo.png, summary.json).  A rate outside 0..1 is 422, nothing queued."""
    from solver.analysis.montecarlo import MonteCarloError, parse_rate

    scenario = find_scenario(session, scenario_id)
    body = body or MonteCarloCreate()
    try:
        rate = parse_rate(body.decline_rate)
    except MonteCarloError as exc:
        raise ProblemsError("invalid decline_rate; nothing was queued",
                            [_request_problem("body.decline_rate", body.decline_rate, str(exc))]) from None
    return _queue(session, settings, jobs, response, "montecarlo", scenario, scenario_id,
                  {"decline_rate": rate, "draws": body.draws, "seed": body.seed, "keep_declines": body.keep_declines})


# following, and the files --------------------------------------------------------------------------------

def _status_route(kind: AnalysisKind) -> None:
    def get_analysis(analysis_id: str, session: SessionDep, settings: SettingsDep) -> AnalysisOut:
        return analysis_out(session, _get(session, kind, analysis_id), settings.data_dir)

    get_analysis.__name__ = f"get_{kind}"
    get_analysis.__doc__ = (f"The {NAMES[kind]}'s status (queued, running, done, failed), progress, summary and "
                            "files; a failed one has its reason (and the problems of bad changes).")
    router.add_api_route(f"/{kind}/{{analysis_id}}", get_analysis, methods=["GET"], response_model=AnalysisOut,
                         summary=f"Get a {NAMES[kind]}", responses=NOT_FOUND)

    def cancel_analysis(analysis_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep) -> AnalysisOut:
        record = _get(session, kind, analysis_id)
        if not jobs.cancel(analysis_id, AnalysisRecord):
            raise HTTPException(409, f"the {NAMES[kind]} has already ended ({record.status})")
        session.refresh(record)
        return analysis_out(session, record, settings.data_dir)

    cancel_analysis.__name__ = f"cancel_{kind}"
    cancel_analysis.__doc__ = (f"Cancel a queued or running {NAMES[kind]} (its worker process is ended); it becomes "
                               "failed, cancelled.")
    router.add_api_route(f"/{kind}/{{analysis_id}}/cancel", cancel_analysis, methods=["POST"],
                         response_model=AnalysisOut, summary=f"Cancel a {NAMES[kind]}",
                         responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "it has ended"}})

    def delete_analysis(analysis_id: str, session: SessionDep, settings: SettingsDep) -> Response:
        record = _get(session, kind, analysis_id)
        if record.status in ACTIVE:
            raise HTTPException(409, f"the {NAMES[kind]} is {record.status}: cancel it first")
        conn = session.connection()
        a = AnalysisRecord
        if not conn.execute(delete(a).where(a.id == analysis_id, a.status.not_in(ACTIVE))).rowcount:
            session.rollback()
            raise HTTPException(409, f"the {NAMES[kind]} is active: cancel it first")
        session.commit()
        storage.remove_folders([storage.analysis_dir(settings.data_dir, analysis_id)])
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    delete_analysis.__name__ = f"delete_{kind}"
    delete_analysis.__doc__ = f"Delete an ended {NAMES[kind]} with its files (409 while it is queued or running)."
    router.add_api_route(f"/{kind}/{{analysis_id}}", delete_analysis, methods=["DELETE"],
                         status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
                         summary=f"Delete a {NAMES[kind]}",
                         responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "it is active"}})


def _file_route(kind: AnalysisKind, name: str, media_type: str, side: str | None = None) -> None:
    path_in = f"{side}/{name}" if side else name

    def download(analysis_id: str, session: SessionDep, settings: SettingsDep) -> Response:
        record = _get(session, kind, analysis_id)
        if record.status in (QUEUED, "running"):
            raise HTTPException(409, f"the {NAMES[kind]} is {record.status}; its files are there when it has ended")
        path = storage.analysis_dir(settings.data_dir, analysis_id) / path_in
        if path_in == "summary.json" and record.status == FAILED and not path.is_file():
            return JSONResponse(storage.failure_summary(record))  # failed by the server: the row says it all
        if (record.status == FAILED and (side or name not in FAILED_FILES)) or not path.is_file():
            raise HTTPException(404, f"this {NAMES[kind]} has no {path_in}"
                                + (f" (it failed: {record.reason})" if record.status == FAILED else ""))
        headers = {"Content-Security-Policy": "sandbox allow-scripts"} if name.endswith(".html") else None
        return FileResponse(path, media_type=media_type, filename=name, headers=headers)

    download.__name__ = f"download_{kind}_" + path_in.replace(".", "_").replace("/", "_")
    download.__doc__ = f"The {NAMES[kind]}'s {path_in}, exactly as `zhaosheng {kind}` writes it."
    router.add_api_route(f"/{kind}/{{analysis_id}}/{path_in}", download, methods=["GET"],
                         response_class=FileResponse, summary=f"Download the {NAMES[kind]}'s {path_in}",
                         responses={200: {"content": {media_type.split(";")[0]: {}}, "description": path_in},
                                    **NOT_ENDED})


for _kind in ANALYSIS_KINDS:
    _status_route(_kind)
    for _name, _media in {**FILES[_kind], "errors.csv": CSV}.items():
        _file_route(_kind, _name, _media)
for _side in SIDES:
    for _name, _media in SIDE_FILES.items():
        _file_route("whatif", _name, _media, _side)
