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
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.service.uploads import UploadRejected

log = logging.getLogger("zhaosheng.service")
MAX_LISTED = 1000


class ProblemsError(Exception):
    """An input with problems (a scenario, a published result): 422 with its problems listed; ``total``
    counts those found beyond the list too (a validation stops keeping problems after a bound)."""

    def __init__(self, detail: str, problems: list[dict], status: int = 422, total: int | None = None):
        super().__init__(detail)
        self.detail, self.problems, self.status, self.total = detail, problems, status, total


def more_problems(n: int) -> dict:
    """The last row of a list that was cut: how many problems it does not show (as the loader says it)."""
    return {"severity": "error", "file": "", "row": None, "column": None, "value": None, "clause": "FORMATS",
            "message": f"and {n:,} more problems, not listed (fix the ones above first)"}


def problems_response(status: int, detail: str, problems: list[dict], headers: dict | None = None,
                      total: int | None = None) -> JSONResponse:
    """At most MAX_LISTED rows; when more problems were found, the last row says how many more and
    ``problems_total`` counts them all."""
    total = max(total or 0, len(problems))
    listed = problems[:MAX_LISTED]
    if total > len(listed):
        keep = min(len(problems), MAX_LISTED - 1)
        listed = problems[:keep] + [more_problems(total - keep)]
    body: dict[str, object] = {"detail": detail, "problems": listed}
    if total > len(problems[:MAX_LISTED]):
        body["problems_total"] = total
    return JSONResponse(body, status_code=status, headers=headers)


def _short(value, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path takes.  Starlette answers a wrong method with the methods of
    the first route whose path matches only (``Allow: GET`` for an audit, whose DELETE is another route),
    so each method is tried against every route."""
    allowed = []
    for method in METHOD_ORDER[:-1]:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed + ["OPTIONS"]


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
            if request.method == "OPTIONS":  # what may be done here: the answer OPTIONS exists for
                return Response(status_code=204, headers=headers)
        body: dict[str, object] = {"detail": str(exc.detail)}
        jobs = getattr(exc, "jobs", None)
        if jobs:  # a conflict names the jobs in the way (`routes.common.JobsInTheWay`)
            body["jobs"] = jobs
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError):
        problems = [{"severity": "error", "file": "request", "row": None,
                     "column": ".".join(str(part) for part in e.get("loc", ())), "value": _short(e.get("input")),
                     "clause": "API", "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
        return problems_response(422, "the request does not match the API", problems)

    @app.exception_handler(ProblemsError)
    async def input_problems(request: Request, exc: ProblemsError):
        return problems_response(exc.status, exc.detail, exc.problems, total=exc.total)

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
