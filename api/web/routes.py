"""The planners' workbench (工作台, issue #13): one page in Chinese for every job of the service, served by the
service itself, with nothing from outside (a bureau intranet has no internet).

Two kinds of routes:

* the static shell — ``GET /`` (the page), ``GET /static/NAME`` (our CSS and plain JavaScript, package data
  under ``api/web/static/``) and ``GET /static/plotly.min.js`` (plotly.js exactly as the installed ``plotly``
  wheel ships it, read from that package's files: nothing third-party is copied into the repository).  They
  hold no data, so they are plain Starlette routes (`shell_routes`), outside the app's ``require_token``
  dependency, and `is_public` tells the token middleware to let them through: the page loads, then asks
  for the token once and sends it as the bearer token on every API call.
* ``GET /template.xlsx`` (`router`): the empty scenario workbook of `models.template`, behind the token like
  every other API route (the page downloads it with the token).

`install(app)` adds both to an application made by `api.service.create_app`.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
PLOTLY = "plotly.min.js"
PUBLIC_PREFIX = "/static/"
# The page may only load what this server serves (no CDN, no inline script): a browser refuses the rest.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(tags=["workbench"])


def is_public(scope: dict) -> bool:
    """A request for the static shell (the page and its scripts and styles), which needs no token: GET or
    HEAD of ``/``, ``/index.html`` or ``/static/...``.  Every API call still does."""
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return False
    path = scope.get("path", "")
    return path in ("/", "/index.html") or (path.startswith(PUBLIC_PREFIX) and ".." not in path)


@cache
def _asset(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a static file of ours or of plotly.js from the plotly package; None if none."""
    if name == PLOTLY:
        try:
            data = (resources.files("plotly") / "package_data" / PLOTLY).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            return None
        return data, TYPES[".js"]
    path = STATIC / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file() or path.suffix not in TYPES:
        return None
    return path.read_bytes(), TYPES[path.suffix]


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _send(request: Request, data: bytes, media_type: str, max_age: int) -> Response:
    tag = _etag(data)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache",
               "X-Content-Type-Options": "nosniff"}
    if media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = CSP
        headers["Referrer-Policy"] = "no-referrer"
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(b"" if request.method == "HEAD" else data, media_type=media_type, headers=headers)


async def page(request: Request) -> Response:
    """The workbench page (every view of it: the view is in the URL's fragment, #/results/RUN …).  It says
    whether the server has a token, so that the page asks for it before its first call instead of after a 401."""
    found = _asset("index.html")
    assert found is not None, "api/web/static/index.html is missing from the package"
    settings = getattr(request.app.state, "settings", None)
    required = "yes" if getattr(settings, "token", None) else "no"
    return _send(request, found[0].replace(b'content="token-required"', f'content="{required}"'.encode()),
                 found[1], 0)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    found = _asset(name)
    if found is None:
        return PlainTextResponse(f"no static file {name!r}", status_code=404)
    # plotly.js changes only with the installed package; ours with a new version of the service
    return _send(request, found[0], found[1], 86400 if name == PLOTLY else 0)


shell_routes: list[BaseRoute] = [
    Route("/", page, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/index.html", page, methods=["GET", "HEAD"], include_in_schema=False),
    Route("/static/{name}", static, methods=["GET", "HEAD"], include_in_schema=False),
]


@router.get("/template.xlsx", response_class=Response, summary="Download the empty scenario workbook",
            responses={200: {"content": {XLSX: {}}, "description": "模板.xlsx"}})
def download_template() -> Response:
    """The empty scenario workbook with Chinese headers (考生号, 学籍所在地, 中考成绩, 第一志愿 …) and a 说明 sheet
    explaining each column (`models.template`): fill it in Excel and upload it as a scenario."""
    from models.template import template_bytes

    return Response(template_bytes(), media_type=XLSX,
                    headers={"Content-Disposition": "attachment; filename=\"template.xlsx\"; "
                                                    "filename*=UTF-8''%E6%83%85%E6%99%AF%E6%A8%A1%E6%9D%BF.xlsx"})


def install(app: FastAPI) -> None:
    """Add the workbench to the service: the template route (behind the token) and the static shell."""
    app.include_router(router)
    app.router.routes.extend(shell_routes)
