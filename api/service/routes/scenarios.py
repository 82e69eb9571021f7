"""Scenarios: upload (a .zip of the docs/formats.md folder, an .xlsx workbook, or JSON), list, show, delete.

An upload is received into ``uploads/`` (a JSON body streamed to a file, never held whole), unpacked
there after the zip checks of `api.service.uploads`, and validated by the loader in a worker process
bounded in time and memory that keeps at most ``max_problems`` problems (`JobManager.validate`): the
loader on untrusted input never runs in the server, whose memory stays flat whatever is uploaded.  Only a
valid scenario is moved to ``scenarios/ID/``, in the transaction that adds its row.

Bundled scenarios are listed too; their id is their name (``jiaozuo-2022``) and they cannot be deleted.
Deleting an uploaded scenario deletes its finished runs, analyses and audits with it (their rows and
files); while any job of it (a run, a what-if, a sweep, a bound or an audit) is queued or running it is
refused with 409 naming them.  The check and the deletion hold the scenario's row
(`storage.lock_scenario`), as does queuing a job on it, so no job slips in between.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from starlette.datastructures import UploadFile

from api.service import storage
from api.service.config import Settings
from api.service.db import AnalysisRecord, AuditRecord, RunRecord, ScenarioRecord, utcnow
from api.service.deps import JobsDep, SessionDep, SettingsDep
from api.service.errors import ProblemsError
from api.service.routes.common import JobsInTheWay
from api.service.schemas import ErrorOut, Page, ScenarioOut
from api.service.uploads import ZipLimits, check_workbook, extract_zip, remove_tree, sniff

router = APIRouter(prefix="/scenarios", tags=["scenarios"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {
            "type": "string", "format": "binary",
            "description": "a .zip of the docs/formats.md folder, an .xlsx workbook or a .json file"}}}},
    "application/json": {"schema": {
        "type": "object", "description": "the JSON form of a scenario (docs/formats.md): {\"scenario\": {settings}, "
                                         "\"regions\": [...], \"schools\": [...], \"students\": [...], ...}",
        "additionalProperties": True}},
}}}


# helpers -------------------------------------------------------------------------------------------------

@cache
def _bundled_info(name: str) -> tuple[str, dict]:
    import scenarios

    folder = scenarios.bundled_path(name)
    readme = folder / "README.md"
    title = readme.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip() if readme.exists() else name
    settings = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")) or {}
    info = {"year": settings.get("year"), "max_choices": settings.get("max_choices"),
            "general_stage": settings.get("general_stage"),
            "batches": [{"id": b.get("id"), "name": b.get("name")} for b in settings.get("batches") or []]}
    return title, info


def bundled_names() -> list[str]:
    import scenarios

    return scenarios.bundled_names()


def bundled_out(name: str) -> ScenarioOut:
    title, info = _bundled_info(name)
    return ScenarioOut(id=name, name=name, bundled=True, format="bundled", title=title, info=info,
                       runs_url=f"/scenarios/{name}/runs")


def record_out(record: ScenarioRecord) -> ScenarioOut:
    return ScenarioOut(id=record.id, name=record.name, bundled=False, format=record.format, filename=record.filename,
                       created_at=record.created_at, info=record.info or {}, runs_url=f"/scenarios/{record.id}/runs")


def find_scenario(session, scenario_id: str) -> ScenarioRecord | None:
    """The stored record of an uploaded scenario, None for a bundled one; 404 for neither."""
    if scenario_id in bundled_names():
        return None
    record = session.get(ScenarioRecord, scenario_id)
    if record is None:
        raise HTTPException(404, f"no scenario {scenario_id!r}")
    return record


def _limits(settings: Settings) -> ZipLimits:
    return ZipLimits(settings.max_unzipped_bytes, settings.max_zip_members, settings.max_zip_ratio)


def _unpack(settings: Settings, upload: Path, unpacked: Path, filename: str | None,
            kind: str | None) -> tuple[Path, str]:
    """The scenario as the loader reads it (a folder, scenario.xlsx or scenario.json) under ``unpacked``,
    after the checks of `api.service.uploads`; and its format.  In a worker thread, never on the event loop."""
    label = Path(filename).name if filename else "upload"
    kind = kind or sniff(upload, filename)
    unpacked.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        return extract_zip(upload, unpacked / "folder", _limits(settings), label), "folder"
    if kind == "xlsx":
        check_workbook(upload, _limits(settings), label)
        root = unpacked / "scenario.xlsx"
    else:
        root = unpacked / "scenario.json"
    shutil.move(upload, root)
    return root, ("xlsx" if kind == "xlsx" else "json")


def _keep(settings: Settings, sessions, scenario_id: str, unpacked: Path, root: Path, fmt: str,
          filename: str | None, outcome: dict) -> ScenarioRecord:
    """Move the validated scenario to ``scenarios/ID/`` and add its row, the rename just before the commit
    (a server killed in between leaves a folder without a row, which the next start removes)."""
    target = storage.scenario_dir(settings.data_dir, scenario_id)
    record = ScenarioRecord(id=scenario_id, name=outcome["name"], format=fmt, filename=filename,
                            path=str((target / root.relative_to(unpacked)).relative_to(settings.data_dir)),
                            created_at=utcnow(), info=outcome["info"])
    with sessions() as session:
        session.add(record)
        session.flush()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(unpacked, target)
        try:
            session.commit()
        except BaseException:
            remove_tree(target)
            raise
    return record


def _invalid(outcome: dict) -> ProblemsError:
    problems, omitted = outcome.get("problems") or [], int(outcome.get("omitted") or 0)
    errors = sum(p.get("severity") == "error" for p in problems) + omitted
    return ProblemsError(f"the scenario is not valid: {errors:,} error(s), nothing was stored", problems,
                         total=len(problems) + omitted)


async def _receive_file(request: Request, staging: Path) -> tuple[str | None, Path]:
    form = await request.form(max_files=2, max_fields=20)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ProblemsError("the multipart field 'file' with the scenario is missing", [
                {"severity": "error", "file": "request", "row": None, "column": "file", "value": None,
                 "clause": "API", "message": "send the scenario as the multipart field 'file'"}])
        dest = staging / "upload"

        def copy():
            upload.file.seek(0)
            with open(dest, "wb") as out:
                shutil.copyfileobj(upload.file, out, 2**20)

        await run_in_threadpool(copy)
        return upload.filename, dest
    finally:
        await form.close()


async def _receive_body(request: Request, dest: Path) -> None:
    """A JSON body straight to a file, chunk by chunk (`app.BodyLimit` bounds its size)."""
    out = await run_in_threadpool(open, dest, "wb")
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(out.write, chunk)
    finally:
        await run_in_threadpool(out.close)


# routes --------------------------------------------------------------------------------------------------

@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScenarioOut, openapi_extra=UPLOAD_BODY,
             responses={413: {"model": ErrorOut, "description": "the upload, or what it unpacks to, is too large"},
                        415: {"model": ErrorOut, "description": "neither multipart/form-data nor JSON"}})
async def upload_scenario(request: Request, response: Response, settings: SettingsDep, jobs: JobsDep) -> ScenarioOut:
    """Upload a scenario as the multipart field ``file`` (a .zip of the docs/formats.md folder, an .xlsx
    workbook or a .json file) or as a JSON body.  It is validated as the CLI validates it: 422 lists its
    problems (file, row, column, value, clause, message; past ``max_problems`` the last row says how many
    more) and nothing is stored; 413 when it is too large to unpack or to validate within the limits."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data" and not (ctype == "application/json" or ctype.endswith("+json")):
        raise HTTPException(415, "send the scenario as multipart/form-data (field 'file') or as application/json")
    scenario_id = storage.new_id()
    staging = jobs.uploads_dir() / scenario_id
    await run_in_threadpool(staging.mkdir, parents=True, exist_ok=True)
    try:
        if ctype == "multipart/form-data":
            filename, path = await _receive_file(request, staging)
            kind = None
        else:
            path, filename, kind = staging / "upload.json", None, "json"
            await _receive_body(request, path)
        unpacked = staging / "scenario"
        root, fmt = await run_in_threadpool(_unpack, settings, path, unpacked, filename, kind)
        outcome = await jobs.validate(root, staging / "outcome.json", Path(filename).name if filename else "upload")
        if not outcome.get("valid"):
            raise _invalid(outcome)
        record = await run_in_threadpool(_keep, settings, request.app.state.sessions, scenario_id, unpacked, root,
                                         fmt, filename, outcome)
    finally:
        await run_in_threadpool(remove_tree, staging)
    response.headers["Location"] = f"/scenarios/{scenario_id}"
    return record_out(record)


@router.get("", response_model=Page[ScenarioOut])
def list_scenarios(session: SessionDep, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[ScenarioOut]:
    """The bundled scenarios, then the uploaded ones, oldest first."""
    bundled = bundled_names()
    total = len(bundled) + (session.scalar(select(func.count()).select_from(ScenarioRecord)) or 0)
    items = [bundled_out(n) for n in bundled[offset:offset + limit]]
    skip = max(offset - len(bundled), 0)
    if len(items) < limit:
        rows = session.scalars(select(ScenarioRecord).order_by(ScenarioRecord.created_at, ScenarioRecord.id)
                               .offset(skip).limit(limit - len(items)))
        items += [record_out(r) for r in rows]
    return Page(total=total, offset=offset, limit=limit, items=items)


@router.get("/{scenario_id}", response_model=ScenarioOut, responses={404: {"model": ErrorOut}})
def get_scenario(scenario_id: str, session: SessionDep) -> ScenarioOut:
    record = find_scenario(session, scenario_id)
    return bundled_out(scenario_id) if record is None else record_out(record)


@router.delete("/{scenario_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut, "description": "a bundled scenario, "
                                                          "or jobs of it are queued or running (named)"}})
def delete_scenario(scenario_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete an uploaded scenario with its finished runs, analyses and audits (409 while any job of it is
    queued or running, naming them, and for a bundled scenario)."""
    record = find_scenario(session, scenario_id)
    if record is None:
        raise HTTPException(409, f"{scenario_id!r} is a bundled scenario and cannot be deleted")
    conn = session.connection()
    if not storage.lock_scenario(conn, scenario_id):  # from here no job can be queued on it
        raise HTTPException(404, f"no scenario {scenario_id!r}")
    active = storage.active_jobs(conn, scenario_id)
    if active:
        session.rollback()
        raise JobsInTheWay("the scenario", active)
    folders = [storage.delete_run(conn, settings.data_dir, run_id) for run_id in
               session.scalars(select(RunRecord.id).where(RunRecord.scenario_id == scenario_id)).all()]
    folders += [storage.delete_analysis(conn, settings.data_dir, analysis_id) for analysis_id in
                session.scalars(select(AnalysisRecord.id).where(AnalysisRecord.scenario_id == scenario_id)).all()]
    folders += [storage.delete_audit(conn, settings.data_dir, audit_id) for audit_id in
                session.scalars(select(AuditRecord.id).where(AuditRecord.scenario_id == scenario_id)).all()]
    folders.append(storage.delete_scenario(conn, settings.data_dir, scenario_id))
    session.commit()
    storage.remove_folders(folders)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
