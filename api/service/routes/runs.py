"""Runs: start one on a scenario, follow it, cancel it, download the CLI's files, page through the
admissions (by region, school, outcome) and the schools', regions' and sub-quotas' figures.

A run is ``queued`` until a worker slot is free, ``running`` in its worker process, then ``done`` (its
summary with the verification verdict when both engines ran, every file of the CLI, the tables in the
database) or ``failed`` with a reason (invalid input with its problems, CP-SAT without a result, the
time limit, a cancel, or an interrupted server).  A cancelled run is failed with ``cancelled: true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import delete, func, select

from api.service import storage
from api.service.db import ACTIVE, DONE, FAILED, QUEUED, AdmissionRecord, FigureRecord, RunRecord, utcnow
from api.service.deps import JobsDep, SessionDep, SettingsDep
from api.service.errors import ProblemsError
from api.service.routes.common import Responses, queue_job
from api.service.routes.scenarios import find_scenario
from api.service.schemas import AdmissionOut, ErrorOut, Page, RunCreate, RunOut, RunProgress, Status, elapsed_seconds

router = APIRouter(tags=["runs"])

CSV, XLSX, JSON = "text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", \
    "application/json"
FILES = {  # the CLI's files of a run (README, "Everyday use"), and errors.csv of a failed one
    "admissions.csv": CSV, "admissions.xlsx": XLSX, "offers.csv": CSV, "schools.csv": CSV, "subquotas.csv": CSV,
    "regions.csv": CSV,
    "progress.xlsx": XLSX, "summary.json": JSON, "warnings.csv": CSV, "violations.csv": CSV,
    "differences.csv": CSV, "errors.csv": CSV,
}
FAILED_FILES = ("errors.csv", "summary.json")
MAX_PAGE = 1000
Offset = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")]
Id = Annotated[str | None, Query(max_length=200)]
Sort = Annotated[str | None, Query(max_length=100, description="the column to sort by (-column: descending); "
                                  "ties in the id's order; without it, the file's order")]
Order = Annotated[Literal["asc", "desc"] | None, Query(description="the sort's direction (asc by default)")]
STUDENT_SORTS = ("student_id", "region_id", "outcome", "school_id", "batch", "choice_rank", "admit_date",
                 "confirm_date", "score")
NOT_FOUND: Responses = {404: {"model": ErrorOut}}
NOT_DONE: Responses = {404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "the run is not done"}}
QUEUE_FULL: Responses = {
    429: {"model": ErrorOut,
          "description": "max_queued_jobs runs and analyses are waiting: try again after Retry-After seconds"},
}


def run_out(run: RunRecord, data_dir, queue_position: int | None = None) -> RunOut:
    summary = run.summary or None
    progress = RunProgress.of(run.progress, run.status == DONE)
    elapsed = elapsed_seconds(run.started_at, run.finished_at, utcnow())
    files = {}
    if run.status in (DONE, FAILED):
        folder = storage.run_dir(data_dir, run.id)
        present = set(os.listdir(folder)) if folder.is_dir() else set()
        if run.status == FAILED:
            present.add("summary.json")  # from the row when the run has no files (`download_summary`)
        allowed = FILES if run.status == DONE else FAILED_FILES
        files = {name: f"/runs/{run.id}/{name}" for name in allowed if name in present}
    return RunOut(id=run.id, scenario_id=run.scenario_id, engine=run.engine, time_limit=run.time_limit,
                  hint=run.hint, status=run.status, cancelled=run.cancelled, created_at=run.created_at,
                  started_at=run.started_at, finished_at=run.finished_at, elapsed_seconds=elapsed,
                  queue_position=queue_position, progress=progress,
                  timings=(summary or {}).get("timings"), verification=(summary or {}).get("verification"),
                  summary=summary, reason=run.reason, problems=run.problems or [], files=files)


def _get_run(session, run_id: str) -> RunRecord:
    run = session.get(RunRecord, run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return run


def _done_run(session, run_id: str) -> RunRecord:
    run = _get_run(session, run_id)
    if run.status != DONE:
        raise HTTPException(409, f"the run is {run.status}" + (f" ({run.reason})" if run.reason else "")
                            + "; its results are there when it is done")
    return run


def _page_of_runs(session, settings, conditions, offset: int, limit: int) -> Page[RunOut]:
    total = session.scalar(select(func.count()).select_from(RunRecord).where(*conditions)) or 0
    rows = session.scalars(select(RunRecord).where(*conditions)
                           .order_by(RunRecord.created_at.desc(), RunRecord.id).offset(offset).limit(limit))
    return Page(total=total, offset=offset, limit=limit, items=[run_out(r, settings.data_dir) for r in rows])


# starting and following runs -------------------------------------------------------------------------------

@router.post("/scenarios/{scenario_id}/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut,
             responses={**NOT_FOUND, **QUEUE_FULL})
def create_run(scenario_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep, response: Response,
               body: Annotated[RunCreate | None, Body()] = None) -> RunOut:
    """Queue a run of the scenario (a bundled name or an uploaded id); it starts when a worker is free.
    Without ``time_limit`` the server's default applies.  429 when ``max_queued_jobs`` are waiting."""
    record = find_scenario(session, scenario_id)
    body = body or RunCreate()
    limit = body.time_limit or settings.default_time_limit
    if limit > settings.max_time_limit:
        raise ProblemsError("the time limit is above the server's maximum", [
            {"severity": "error", "file": "request", "row": None, "column": "body.time_limit", "value": str(limit),
             "clause": "API", "message": f"at most {settings.max_time_limit:g} seconds"}])
    run = RunRecord(id=storage.new_id(), scenario_id=scenario_id, engine=body.engine, time_limit=float(limit),
                    hint=body.hint, status=QUEUED, cancelled=False, created_at=utcnow())
    queue_job(session, settings, run, uploaded=record is not None)
    jobs.notify()
    response.headers["Location"] = f"/runs/{run.id}"
    return run_out(run, settings.data_dir, storage.queue_position(session, run))


@router.get("/scenarios/{scenario_id}/runs", response_model=Page[RunOut], responses=NOT_FOUND)
def list_scenario_runs(scenario_id: str, session: SessionDep, settings: SettingsDep,
                       status_: Annotated[Status | None, Query(alias="status")] = None,
                       offset: Offset = 0, limit: Limit = 100) -> Page[RunOut]:
    """The runs of one scenario, newest first."""
    find_scenario(session, scenario_id)
    conditions = [RunRecord.scenario_id == scenario_id] + ([RunRecord.status == status_] if status_ else [])
    return _page_of_runs(session, settings, conditions, offset, limit)


@router.get("/runs", response_model=Page[RunOut])
def list_runs(session: SessionDep, settings: SettingsDep,
              status_: Annotated[Status | None, Query(alias="status")] = None,
              offset: Offset = 0, limit: Limit = 100) -> Page[RunOut]:
    """Every run, newest first (optionally of one status)."""
    conditions = [RunRecord.status == status_] if status_ else []
    return _page_of_runs(session, settings, conditions, offset, limit)


@router.get("/runs/{run_id}", response_model=RunOut, responses=NOT_FOUND)
def get_run(run_id: str, session: SessionDep, settings: SettingsDep) -> RunOut:
    """Status, progress, timings, and when done the summary with the verification verdict."""
    run = _get_run(session, run_id)
    return run_out(run, settings.data_dir, storage.queue_position(session, run))


@router.post("/runs/{run_id}/cancel", response_model=RunOut,
             responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "the run has ended"}})
def cancel_run(run_id: str, session: SessionDep, settings: SettingsDep, jobs: JobsDep) -> RunOut:
    """Cancel a queued or running run (its worker process is ended); it becomes failed, cancelled."""
    run = _get_run(session, run_id)
    if not jobs.cancel(run_id, RunRecord):
        raise HTTPException(409, f"the run has already ended ({run.status})")
    session.refresh(run)
    return run_out(run, settings.data_dir)


@router.delete("/runs/{run_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "the run is active"}})
def delete_run(run_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete a finished run with its tables and files (409 while it is queued or running: cancel it first)."""
    run = _get_run(session, run_id)
    if run.status in ACTIVE:
        raise HTTPException(409, f"the run is {run.status}: cancel it first")
    conn = session.connection()
    # conditional: a run that is active by now (it cannot be, once ended; but never delete one that is)
    if not conn.execute(delete(RunRecord).where(RunRecord.id == run_id, RunRecord.status.not_in(ACTIVE))).rowcount:
        session.rollback()
        raise HTTPException(409, "the run is active: cancel it first")
    folder = storage.delete_run(conn, settings.data_dir, run_id)
    session.commit()
    storage.remove_folders([folder])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# results as JSON -----------------------------------------------------------------------------------------

def parse_sort(sort: str | None, order: str | None, known: Iterable[str]) -> tuple[str, bool] | None:
    """(column, descending) of ``sort=column&order=asc|desc`` or ``sort=-column``; None without ``sort``.
    422 for a column that is not one of ``known``, or ``-column`` with ``order=asc``."""
    if sort is None:
        return None
    name, minus = sort.removeprefix("-"), sort.startswith("-")
    known = list(known)
    if name not in known:
        raise ProblemsError(f"cannot sort by {name!r}", [_query_problem("query.sort", sort, "unknown column; one of "
                                                                        + ", ".join(known))])
    if minus and order == "asc":
        raise ProblemsError("conflicting sort order", [_query_problem("query.order", order,
                                                                      "-column sorts descending; drop order=asc")])
    return name, minus or order == "desc"


def _query_problem(column: str, value: str, message: str) -> dict:
    return {"severity": "error", "file": "request", "row": None, "column": column, "value": value[:200],
            "clause": "API", "message": message}


def _ordered(expr, descending: bool):
    """A sort key with empty values as the lowest (first ascending, last descending) on every database."""
    return expr.desc().nulls_last() if descending else expr.asc().nulls_first()


@router.get("/runs/{run_id}/students", response_model=Page[AdmissionOut], responses=NOT_DONE)
def list_students(run_id: str, session: SessionDep,
                  region: Annotated[Id, Query(description="region_id (学籍所在地)")] = None,
                  school: Annotated[Id, Query(description="school_id of the admission")] = None,
                  outcome: Literal["general", "vocational", "unplaced", "ineligible", "none"] | None = None,
                  student: Annotated[Id, Query(description="one student_id")] = None,
                  sort: Sort = None, order: Order = None,
                  offset: Offset = 0, limit: Limit = 100) -> Page[AdmissionOut]:
    """admissions.csv as pages of JSON, filtered by region, school, outcome or student; in the file's order,
    or sorted by a column (``sort=score&order=desc`` or ``sort=-score``: student_id, region_id, outcome,
    school_id, batch, choice_rank, admit_date, confirm_date, score), ties by student_id, empty values lowest."""
    sorting = parse_sort(sort, order, STUDENT_SORTS)
    _done_run(session, run_id)
    a = AdmissionRecord
    if sorting is None:
        order_by = [a.pos]
    else:
        order_by = [_ordered(getattr(a, sorting[0]), sorting[1]), _ordered(a.student_id, sorting[1])]
    conditions = [a.run_id == run_id]
    for column, value in ((a.region_id, region), (a.school_id, school), (a.outcome, outcome), (a.student_id, student)):
        if value is not None:
            conditions.append(column == value)
    total = storage.totals.get(("students", run_id, region, school, outcome, student),
                               lambda: session.scalar(select(func.count()).select_from(a).where(*conditions)))
    rows = session.execute(select(a.student_id, a.region_id, a.outcome, a.school_id, a.batch, a.choice_rank,
                                  a.admit_date, a.confirm_date, a.score)
                           .where(*conditions).order_by(*order_by).offset(offset).limit(limit)).all()
    return Page(total=total, offset=offset, limit=limit, items=[AdmissionOut(**r._mapping) for r in rows])


def _figure_order(session, run_id: str, kind: str, sort: str | None, order: str | None) -> list:
    """The figures' order: the file's, or by one of their columns (a number or a text as the rows hold it),
    ties by the school or region id, then the file's order."""
    f = FigureRecord
    if sort is None:
        return [f.pos]
    columns = storage.figure_columns.get((kind, run_id), lambda: _column_types(session, run_id, kind))
    if not columns:  # no rows: nothing to sort
        return [f.pos]
    name, descending = parse_sort(sort, order, columns) or (sort, False)
    value = f.data[name].as_string() if columns[name] == "text" else f.data[name].as_float()
    return [_ordered(value, descending), _ordered(f.key, descending), _ordered(f.pos, descending)]


def _column_types(session, run_id: str, kind: str) -> dict[str, str]:
    """Each column of a run's figures of one kind: "number" or "text" (by the values the rows hold)."""
    f = FigureRecord
    types: dict[str, str] = {}
    for data in session.scalars(select(f.data).where(f.run_id == run_id, f.kind == kind)):
        for name, value in data.items():
            if value is not None and (isinstance(value, (str, bool)) or types.get(name) == "text"):
                types[name] = "text"
            else:
                types.setdefault(name, "number")
    return types


def _figures(session, run_id: str, kind: str, region: str | None, key: str | None, offset: int,
             limit: int, sort: str | None = None, order: str | None = None) -> Page[dict]:
    _done_run(session, run_id)
    order_by = _figure_order(session, run_id, kind, sort, order)
    f = FigureRecord
    conditions = [f.run_id == run_id, f.kind == kind]
    if region is not None:
        conditions.append(f.region_id == region)
    if key is not None:
        conditions.append(f.key == key)
    total = storage.totals.get((kind, run_id, region, key),
                               lambda: session.scalar(select(func.count()).select_from(f).where(*conditions)))
    rows = session.scalars(select(f.data).where(*conditions).order_by(*order_by).offset(offset).limit(limit)).all()
    return Page(total=total, offset=offset, limit=limit, items=list(rows))


@router.get("/runs/{run_id}/schools", response_model=Page[dict], responses=NOT_DONE)
def list_schools(run_id: str, session: SessionDep,
                 region: Annotated[Id, Query(description="the school's region")] = None,
                 school: Annotated[Id, Query(description="one school_id")] = None,
                 sort: Sort = None, order: Order = None,
                 offset: Offset = 0, limit: Limit = 100) -> Page[dict]:
    """schools.csv as pages of JSON: quota, applicants by batch and rank, offers, confirmed, vacancies,
    fill rate, cutoffs; in the file's order or sorted by any of its columns (``sort=fill_rate&order=desc``
    or ``sort=-fill_rate``), ties by school_id, empty values lowest."""
    return _figures(session, run_id, "schools", region, school, offset, limit, sort, order)


@router.get("/runs/{run_id}/regions", response_model=Page[dict], responses=NOT_DONE)
def list_regions(run_id: str, session: SessionDep, sort: Sort = None, order: Order = None, offset: Offset = 0,
                 limit: Limit = 100) -> Page[dict]:
    """regions.csv as JSON: graduates, general, vocational, unplaced, 普职比, enrollment rate per region;
    sorted by any of its columns as the schools are."""
    return _figures(session, run_id, "regions", None, None, offset, limit, sort, order)


@router.get("/runs/{run_id}/subquotas", response_model=Page[dict], responses=NOT_DONE)
def list_subquotas(run_id: str, session: SessionDep, region: Annotated[Id, Query()] = None,
                   school: Annotated[Id, Query()] = None, sort: Sort = None, order: Order = None,
                   offset: Offset = 0, limit: Limit = 100) -> Page[dict]:
    """subquotas.csv as JSON: per regional sub-quota, quota, confirmed and vacancies; sorted by any of its
    columns as the schools are."""
    return _figures(session, run_id, "subquotas", region, school, offset, limit, sort, order)


# the CLI's files ---------------------------------------------------------------------------------------------

def _file_route(name: str, media_type: str):
    def download(run_id: str, session: SessionDep, settings: SettingsDep) -> Response:
        run = _get_run(session, run_id)
        if run.status in ACTIVE:
            raise HTTPException(409, f"the run is {run.status}; its files are there when it has ended")
        path = storage.run_dir(settings.data_dir, run_id) / name
        if name == "summary.json" and run.status == FAILED and not path.is_file():
            # failed by the server (cancelled, out of time, interrupted): no files, the row says it all
            return JSONResponse(storage.failure_summary(run))
        if (run.status == FAILED and name not in FAILED_FILES) or not path.is_file():
            raise HTTPException(404, f"this run has no {name}" + (f" (it failed: {run.reason})"
                                                                  if run.status == FAILED else ""))
        return FileResponse(path, media_type=media_type, filename=name)

    download.__name__ = "download_" + name.replace(".", "_")
    download.__doc__ = f"The run's {name}, exactly as `zhaosheng run` writes it."
    router.add_api_route(f"/runs/{{run_id}}/{name}", download, methods=["GET"], response_class=FileResponse,
                         summary=f"Download {name}",
                         responses={200: {"content": {media_type.split(";")[0]: {}}, "description": name},
                                    **NOT_DONE})


for _name, _media in FILES.items():
    _file_route(_name, _media)
