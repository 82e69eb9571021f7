"""Errors as JSON, never with a stack trace: ``{"detail": ..., "problems": [...]}``.

A 422 lists its problems as the loader reports them (file, row, column, value, clause, message); a
request that does not match the API (a bad query parameter, an unknown engine) is listed the same way,
with file ``request`` and clause ``API``.  Anything unexpected is a 500 with an error id; the traceback
goes to the server's log only.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.service.uploads import UploadRejected

log = logging.getLogger("zhaosheng.service")
MAX_LISTED = 1000


class ProblemsError(Exception):
    """An input with problems (a scenario, a published result): 422 with every problem listed."""

    def __init__(self, detail: str, problems: list[dict], status: int = 422):
        super().__init__(detail)
        self.detail, self.problems, self.status = detail, problems, status


def problems_response(status: int, detail: str, problems: list[dict], headers: dict | None = None) -> JSONResponse:
    body = {"detail": detail, "problems": problems[:MAX_LISTED]}
    if len(problems) > MAX_LISTED:
        body["problems_total"] = len(problems)
    return JSONResponse(body, status_code=status, headers=headers)


def _short(value, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError):
        problems = [{"severity": "error", "file": "request", "row": None,
                     "column": ".".join(str(part) for part in e.get("loc", ())), "value": _short(e.get("input")),
                     "clause": "API", "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
        return problems_response(422, "the request does not match the API", problems)

    @app.exception_handler(ProblemsError)
    async def input_problems(request: Request, exc: ProblemsError):
        return problems_response(exc.status, exc.detail, exc.problems)

    @app.exception_handler(UploadRejected)
    async def upload_rejected(request: Request, exc: UploadRejected):
        problem = {"severity": "error", "file": exc.file, "row": None, "column": None, "value": None,
                   "clause": "upload", "message": exc.message}
        return problems_response(exc.status, exc.message, [problem])

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal server error", "error_id": error_id}, status_code=500)
