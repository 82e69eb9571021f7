"""The FastAPI application: `create_app(settings)`.

On start it creates the data directory, applies the Alembic migrations, fails the runs an earlier
process left running, and starts the job manager (`api.service.jobs`); on shutdown it ends the workers.
When ``ZHAOSHENG_API_TOKEN`` is set, every request needs the bearer token: it is checked first, before
routing and before a byte of the body is read (`TokenFirst`), so without it an unknown path, a wrong
method, a malformed body and a 200 MB upload are all 401 alike.  The one exception is the workbench's
static shell (`api.web`: GET of ``/``, ``/index.html`` and ``/static/*``), which holds no data: the page
loads, asks for the token once, and sends it with every call.  Request bodies above ``max_upload_bytes``
are refused with 413 before they are read.
"""

from __future__ import annotations

import json
import secrets
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from api.service import errors
from api.service.config import Settings
from api.service.db import QUEUED, RUNNING, AnalysisRecord, RunRecord, make_engine, session_factory, upgrade
from api.service.deps import JobsDep, SessionDep, require_token
from api.service.jobs import JobManager
from api.service.routes import analysis, audits, runs, scenarios, trace
from api.service.schemas import ErrorOut, Health
from api.web.routes import install as install_workbench
from api.web.routes import is_public

DESCRIPTION = """Plan and check secondary vocational (中职/技工) admissions under the rules R1-R12 over HTTP:
upload a scenario (a .zip of the docs/formats.md folder, an .xlsx workbook or JSON), run it with the sequential
engine, CP-SAT or both (verified), follow its progress, download the CLI's files or page through the
admissions, audit a published result, and ask what-if, sweep and bound questions of a plan."""


def version() -> str:
    try:
        return metadata.version("zhaosheng")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class TokenFirst:
    """401 for a request without ``Authorization: Bearer <token>`` when the server has a token, answered
    before routing and without reading the body (the route's own check, `deps.require_token`, comes
    after FastAPI has parsed the body: a malformed one would be 422 or 400, a large one read whole)."""

    def __init__(self, app, token: str | None):
        self.app, self.expected = app, (token or "").encode()

    async def __call__(self, scope, receive, send):
        if not self.expected or scope["type"] not in ("http", "websocket") or is_public(scope):
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() == b"bearer" and secrets.compare_digest(given.strip(), self.expected):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # none is served; closed before it is accepted
            return await send({"type": "websocket.close", "code": 1008})
        await _json(send, 401, "a valid bearer token is required", [(b"www-authenticate", b"Bearer")])


class BodyLimit:
    """413 for a request body above ``limit`` bytes: at once by its Content-Length, or as soon as a body
    sent without one (chunked) passes the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                return await _json(send, 400, "invalid Content-Length")
            if too_large:
                return await _json(send, 413, self._message())
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.limit:,} bytes"


async def _json(send, status: int, detail: str, headers: list | None = None) -> None:
    """An error answered by a middleware; ``connection: close`` as the body it did not read is dropped."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.db_url)
        upgrade(engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.jobs = JobManager(settings, engine)
        app.state.jobs.start()
        try:
            yield
        finally:
            app.state.jobs.stop()
            engine.dispose()

    app = FastAPI(title="zhaosheng", version=version(), description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None, dependencies=[Depends(require_token)],
                  responses={400: {"model": ErrorOut, "description": "a malformed request body"},
                             401: {"model": ErrorOut, "description": "no valid bearer token"},
                             422: {"model": ErrorOut, "description": "invalid input, every problem listed"}})
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(TokenFirst, token=settings.token)  # added last: it runs first

    app.include_router(scenarios.router)
    app.include_router(runs.router)
    app.include_router(audits.router)
    app.include_router(analysis.router)
    app.include_router(trace.router)
    install_workbench(app)  # the planners' page at / (api.web), and GET /template.xlsx

    @app.get("/health", response_model=Health, tags=["service"])
    def health(session: SessionDep, jobs: JobsDep) -> Health:
        """The service is up; how many runs and analyses (what-if, sweep, bound) are running and queued."""
        def count(table, status):
            return session.scalar(select(func.count()).select_from(table).where(table.status == status)) or 0

        return Health(version=app.version, runs_running=count(RunRecord, RUNNING), runs_queued=count(RunRecord, QUEUED),
                      analyses_running=count(AnalysisRecord, RUNNING), analyses_queued=count(AnalysisRecord, QUEUED))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="zhaosheng - API")

    return app
