"""Audits of published results (`solver.audit`, as ``zhaosheng audit``): upload the published
``admissions.csv`` (field ``result``, CSV or .xlsx, Chinese headers accepted) and optionally
``offers.csv`` (field ``offers``); the answer is the audit with its violations (docs/formats.md, "An audit")
as JSON, and violations.csv, differences.csv, explanations.csv and audit.xlsx to download.  Bad input
is 422 with every problem of the scenario and the files, and nothing is stored.

An audit's row (running, with this server process as its owner) is committed before its files are
written, in a transaction that holds its scenario's row (`storage.lock_scenario`): the scenario cannot be
deleted while the audit runs (409), nor between the check and the row.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import delete, func, select, update

from api.service import storage
from api.service.db import FAILED, RUNNING, AuditRecord, ScenarioRecord, ViolationRecord, utcnow
from api.service.deps import JobsDep, SessionDep, SettingsDep
from api.service.errors import ProblemsError
from api.service.routes.scenarios import find_scenario
from api.service.schemas import AuditOut, ErrorOut, Page, ViolationOut
from api.service.worker import scenario_source

router = APIRouter(tags=["audits"])

CSV, XLSX, JSON = "text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", \
    "application/json"
FILES = {"violations.csv": CSV, "differences.csv": CSV, "explanations.csv": CSV, "audit.xlsx": XLSX,
         "summary.json": JSON}
SUFFIXES = (".csv", ".xlsx", ".xlsm", ".txt")
FIRST_PAGE = 100
Offset = Annotated[int, Query(ge=0, le=10**9)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Id = Annotated[str | None, Query(max_length=200)]


def _violations_page(session, audit_id: str, rule=None, school=None, student=None, offset: int = 0,
                     limit: int = FIRST_PAGE, finished: bool = True) -> Page[ViolationOut]:
    v = ViolationRecord
    conditions = [v.audit_id == audit_id]
    for column, value in ((v.rule, rule), (v.school_id, school), (v.student_id, student)):
        if value is not None:
            conditions.append(column == value)

    def count() -> int | None:
        return session.scalar(select(func.count()).select_from(v).where(*conditions))

    # an audit's violations are stored with its final status: counts of a finished audit never change
    total = storage.totals.get(("violations", audit_id, rule, school, student), count) if finished else count() or 0
    rows = session.execute(select(v.rule, v.student_id, v.school_id, v.batch, v.other_student_id, v.detail)
                           .where(*conditions).order_by(v.pos).offset(offset).limit(limit)).all()
    return Page(total=total, offset=offset, limit=limit, items=[ViolationOut(**r._mapping) for r in rows])


def audit_out(session, audit: AuditRecord, data_dir: Path, with_violations: bool = True) -> AuditOut:
    folder = storage.audit_dir(data_dir, audit.id)
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    done = audit.status not in (RUNNING, FAILED)
    return AuditOut(id=audit.id, scenario_id=audit.scenario_id, status=audit.status, created_at=audit.created_at,
                    finished_at=audit.finished_at, input=audit.files or {}, summary=audit.summary,
                    reason=audit.reason,
                    violations=_violations_page(session, audit.id) if with_violations and done else None,
                    files={n: f"/audits/{audit.id}/{n}" for n in FILES if done and n in present})


def _stored_name(upload: UploadFile, stem: str) -> str:
    """The uploaded file's name under ``input/``: fixed, only its suffix taken from the client's name."""
    suffix = Path(Path(upload.filename or "").name).suffix.lower()
    return f"{stem}{suffix if suffix in SUFFIXES else '.csv'}"


def _client_name(upload: UploadFile, stem: str) -> str:
    return Path(upload.filename or "").name or _stored_name(upload, stem)


def _save(upload: UploadFile, folder: Path, stem: str) -> Path:
    path = folder / _stored_name(upload, stem)
    upload.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 2**20)
    return path


def _get_audit(session, audit_id: str) -> AuditRecord:
    audit = session.get(AuditRecord, audit_id)
    if audit is None:
        raise HTTPException(404, f"no audit {audit_id!r}")
    return audit


@router.post("/scenarios/{scenario_id}/audits", status_code=status.HTTP_201_CREATED, response_model=AuditOut,
             responses={404: {"model": ErrorOut}, 413: {"model": ErrorOut},
                        409: {"model": ErrorOut, "description": "the audit was deleted while it ran"},
                        504: {"model": ErrorOut, "description": "the audit passed the server's time limit"}})
async def create_audit(scenario_id: str, request: Request, response: Response, settings: SettingsDep,
                       jobs: JobsDep,
                       result: Annotated[UploadFile, File(description="the published admissions.csv (or .xlsx)")],
                       offers: Annotated[UploadFile | None, File(description="the published offers.csv")] = None,
                       ) -> AuditOut:
    """Audit a published result against the rules R1-R12 (in a worker process); the answer holds the
    summary and the first violations, the files are linked."""
    sessions = request.app.state.sessions

    def prepare():
        with sessions() as session:
            record = find_scenario(session, scenario_id)
            stored = record.path if isinstance(record, ScenarioRecord) else None
            if record is not None and not storage.lock_scenario(session.connection(), scenario_id):
                raise HTTPException(404, f"no scenario {scenario_id!r}")
            audit_id, now = storage.new_id(), utcnow()
            session.add(AuditRecord(id=audit_id, scenario_id=scenario_id, status=RUNNING, created_at=now,
                                    files={"result": _client_name(result, "admissions"),
                                           "offers": _client_name(offers, "offers") if offers else None},
                                    owner=jobs.owner, heartbeat_at=now))
            session.commit()
        try:
            folder = storage.audit_dir(settings.data_dir, audit_id) / "input"
            folder.mkdir(parents=True, exist_ok=True)
            result_path = _save(result, folder, "admissions")
            offers_path = _save(offers, folder, "offers") if offers is not None else None
        except BaseException:
            _discard(audit_id)
            raise
        return audit_id, scenario_source(scenario_id, stored, settings.data_dir), result_path, offers_path

    def _discard(audit_id: str) -> None:
        with sessions() as session:
            folder = storage.delete_audit(session.connection(), settings.data_dir, audit_id)
            session.commit()
        storage.remove_folders([folder])

    audit_id, source, result_path, offers_path = await run_in_threadpool(prepare)
    stopped = await jobs.audit(audit_id, source, result_path, offers_path)

    def finish():
        with sessions() as session:
            if stopped is not None:
                session.execute(update(AuditRecord).where(AuditRecord.id == audit_id, AuditRecord.status == RUNNING)
                                .values(status=FAILED, reason=stopped, finished_at=utcnow()))
                session.commit()
            audit = session.get(AuditRecord, audit_id)
            if audit is None:  # deleted meanwhile (it cannot be while running; never leave its files behind)
                storage.remove_folders([storage.audit_dir(settings.data_dir, audit_id)])
                raise HTTPException(409, "the audit was deleted while it ran")
            if audit.status == FAILED and audit.problems:
                problems, reason = audit.problems, audit.reason
                folder = storage.delete_audit(session.connection(), settings.data_dir, audit_id)
                session.commit()
                storage.remove_folders([folder])
                raise ProblemsError(f"{reason}; nothing was audited", problems)
            return audit_out(session, audit, settings.data_dir)

    out = await run_in_threadpool(finish)
    if out.status == FAILED:
        raise HTTPException(504 if stopped and stopped.startswith("time limit") else 500,
                            f"the audit failed: {out.reason}")
    response.headers["Location"] = f"/audits/{audit_id}"
    return out


@router.get("/scenarios/{scenario_id}/audits", response_model=Page[AuditOut], responses={404: {"model": ErrorOut}})
def list_audits(scenario_id: str, session: SessionDep, settings: SettingsDep, offset: Offset = 0,
                limit: Limit = 100) -> Page[AuditOut]:
    """The audits of one scenario, newest first (without their violations: see each audit)."""
    find_scenario(session, scenario_id)
    condition = AuditRecord.scenario_id == scenario_id
    total = session.scalar(select(func.count()).select_from(AuditRecord).where(condition)) or 0
    rows = session.scalars(select(AuditRecord).where(condition)
                           .order_by(AuditRecord.created_at.desc(), AuditRecord.id).offset(offset).limit(limit))
    return Page(total=total, offset=offset, limit=limit,
                items=[audit_out(session, a, settings.data_dir, with_violations=False) for a in rows])


@router.get("/audits/{audit_id}", response_model=AuditOut, responses={404: {"model": ErrorOut}})
def get_audit(audit_id: str, session: SessionDep, settings: SettingsDep) -> AuditOut:
    return audit_out(session, _get_audit(session, audit_id), settings.data_dir)


@router.get("/audits/{audit_id}/violations", response_model=Page[ViolationOut], responses={404: {"model": ErrorOut}})
def list_violations(audit_id: str, session: SessionDep, rule: Annotated[Id, Query(description="R1 ... R12")] = None,
                    school: Id = None, student: Id = None, offset: Offset = 0,
                    limit: Limit = FIRST_PAGE) -> Page[ViolationOut]:
    """violations.csv as pages of JSON, filtered by rule, school or student."""
    audit = _get_audit(session, audit_id)
    return _violations_page(session, audit_id, rule, school, student, offset, limit,
                            finished=audit.status not in (RUNNING, FAILED))


@router.delete("/audits/{audit_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def delete_audit(audit_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    audit = _get_audit(session, audit_id)
    if audit.status == RUNNING:
        raise HTTPException(409, "the audit is running")
    conn = session.connection()
    a = AuditRecord
    if not conn.execute(delete(a).where(a.id == audit_id, a.status != RUNNING)).rowcount:
        session.rollback()
        raise HTTPException(409, "the audit is running")
    folder = storage.delete_audit(conn, settings.data_dir, audit_id)
    session.commit()
    storage.remove_folders([folder])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _file_route(name: str, media_type: str):
    def download(audit_id: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
        audit = _get_audit(session, audit_id)
        if audit.status == RUNNING:
            raise HTTPException(409, "the audit is running; its files are there when it has ended")
        path = storage.audit_dir(settings.data_dir, audit_id) / name
        if audit.status == FAILED or not path.is_file():  # a failed audit's files are no audit
            raise HTTPException(404, f"this audit has no {name}"
                                + (f" (it failed: {audit.reason})" if audit.status == FAILED else ""))
        return FileResponse(path, media_type=media_type, filename=name)

    download.__name__ = "download_audit_" + name.replace(".", "_")
    download.__doc__ = f"The audit's {name}, exactly as `zhaosheng audit` writes it."
    router.add_api_route(f"/audits/{{audit_id}}/{name}", download, methods=["GET"], response_class=FileResponse,
                         summary=f"Download the audit's {name}",
                         responses={200: {"content": {media_type.split(";")[0]: {}}, "description": name},
                                    404: {"model": ErrorOut}, 409: {"model": ErrorOut}})


for _name, _media in FILES.items():
    _file_route(_name, _media)
