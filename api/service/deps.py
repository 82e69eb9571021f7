"""Dependencies of the routes: the settings, a database session, the job manager, the bearer token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.service.config import Settings
from api.service.jobs import JobManager

bearer = HTTPBearer(auto_error=False, description="ZHAOSHENG_API_TOKEN, when the server has one")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def require_token(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """When the server has a token, every request must carry it as ``Authorization: Bearer <token>``.
    `app.TokenFirst` has checked it already, before routing and before the body; this dependency stays
    so that the OpenAPI document declares the scheme on every operation."""
    expected = request.app.state.settings.token
    if expected is None:
        return
    given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
