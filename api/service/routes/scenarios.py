"""Scenarios: upload (a .zip of the FORMATS.md folder, an .xlsx workbook, or JSON), list, show, delete.

Bundled scenarios are listed too; their id is their name (``jiaozuo-2022``) and they cannot be deleted.
Deleting an uploaded scenario deletes its finished runs and audits with it (their rows and files); while
one of its runs is queued or running it is refused with 409 (cancel the run first).
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from starlette.datastructures import UploadFile

from api.service import storage
from api.service.config import Settings
from api.service.db import ACTIVE, AuditRecord, RunRecord, ScenarioRecord, utcnow
from api.service.deps import SessionDep, SettingsDep
from api.service.errors import ProblemsError
from api.service.worker import problem_dicts
from api.service.schemas import ErrorOut, Page, ScenarioOut
from api.service.uploads import ZipLimits, check_workbook, extract_zip, remove_tree, sniff

router = APIRouter(prefix="/scenarios", tags=["scenarios"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "a .zip of the FORMATS.md folder, an .xlsx workbook or a .json file"}}}},
    "application/json": {"schema": {
        "type": "object", "description": "the JSON form of a scenario (FORMATS.md): {\"scenario\": {settings}, "
                                         "\"regions\": [...], \"schools\": [...], \"students\": [...], ...}",
        "additionalProperties": True}},
}}}


# helpers -------------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
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


def scenario_info(sc) -> dict:
    s = sc.settings
    return {"year": s.year, "max_choices": s.max_choices, "general_stage": s.general_stage,
            "batches": [{"id": b.id, "name": b.name} for b in s.batches],
            "counts": {"students": len(sc.students), "regions": len(sc.regions), "schools": len(sc.schools),
                       "subquotas": len(sc.subquotas), "declines": len(sc.declines),
                       "interviews": len(sc.interviews)},
            "warnings": len(sc.warnings)}


def _limits(settings: Settings) -> ZipLimits:
    return ZipLimits(settings.max_unzipped_bytes, settings.max_zip_members, settings.max_zip_ratio)


def _store(settings: Settings, sessions, scenario_id: str, upload: Path, filename: str | None,
           kind: str | None) -> ScenarioRecord:
    """Unpack, validate with the loader, keep (runs in a worker thread, never on the event loop)."""
    from models import ScenarioError, load_scenario

    label = Path(filename).name if filename else "upload"
    kind = kind or sniff(upload, filename)
    target = storage.scenario_dir(settings.data_dir, scenario_id)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            root, fmt = extract_zip(upload, target / "folder", _limits(settings), label), "folder"
        elif kind == "xlsx":
            check_workbook(upload, _limits(settings), label)
            root, fmt = target / "scenario.xlsx", "xlsx"
            shutil.move(upload, root)
        else:
            root, fmt = target / "scenario.json", "json"
            shutil.move(upload, root)
        try:
            sc = load_scenario(root)
        except ScenarioError as exc:
            raise ProblemsError(f"the scenario is not valid: {len(exc.errors)} error(s), nothing was stored",
                                problem_dicts(exc.problems, limit=10**9)) from None
        record = ScenarioRecord(id=scenario_id, name=str(sc.name), format=fmt, filename=filename,
                                path=str(root.relative_to(settings.data_dir)), created_at=utcnow(),
                                info=scenario_info(sc))
        with sessions() as session:
            session.add(record)
            session.commit()
        return record
    except BaseException:
        remove_tree(target)
        raise


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


# routes --------------------------------------------------------------------------------------------------

@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScenarioOut, openapi_extra=UPLOAD_BODY,
             responses={413: {"model": ErrorOut, "description": "the upload, or what it unpacks to, is too large"},
                        415: {"model": ErrorOut, "description": "neither multipart/form-data nor JSON"}})
async def upload_scenario(request: Request, response: Response, settings: SettingsDep) -> ScenarioOut:
    """Upload a scenario as the multipart field ``file`` (a .zip of the FORMATS.md folder, an .xlsx
    workbook or a .json file) or as a JSON body.  It is validated as the CLI validates it: 422 lists
    every problem (file, row, column, value, clause, message) and nothing is stored."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    scenario_id = storage.new_id()
    staging = settings.data_dir / "uploads" / scenario_id
    await run_in_threadpool(staging.mkdir, parents=True, exist_ok=True)
    try:
        if ctype == "multipart/form-data":
            filename, path = await _receive_file(request, staging)
            kind = None
        elif ctype == "application/json" or ctype.endswith("+json"):
            body = await request.body()
            path, filename, kind = staging / "scenario.json", None, "json"
            await run_in_threadpool(path.write_bytes, body)
        else:
            raise HTTPException(415, "send the scenario as multipart/form-data (field 'file') or as application/json")
        record = await run_in_threadpool(_store, settings, request.app.state.sessions, scenario_id, path,
                                         filename, kind)
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
               responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def delete_scenario(scenario_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete an uploaded scenario with its finished runs and audits (409 while a run of it is queued or
    running, and for a bundled scenario)."""
    record = find_scenario(session, scenario_id)
    if record is None:
        raise HTTPException(409, f"{scenario_id!r} is a bundled scenario and cannot be deleted")
    active = session.scalar(select(func.count()).select_from(RunRecord)
                            .where(RunRecord.scenario_id == scenario_id, RunRecord.status.in_(ACTIVE)))
    if active:
        raise HTTPException(409, f"{active} run(s) of this scenario are queued or running: cancel them first")
    conn = session.connection()
    folders = [storage.delete_run(conn, settings.data_dir, run_id) for run_id in
               session.scalars(select(RunRecord.id).where(RunRecord.scenario_id == scenario_id)).all()]
    folders += [storage.delete_audit(conn, settings.data_dir, audit_id) for audit_id in
                session.scalars(select(AuditRecord.id).where(AuditRecord.scenario_id == scenario_id)).all()]
    folders.append(storage.delete_scenario(conn, settings.data_dir, scenario_id))
    session.commit()
    storage.remove_folders(folders)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
