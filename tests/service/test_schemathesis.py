"""Schemathesis over the service's OpenAPI document (issues #5 and #12): requests generated from the schema,
a bounded number per operation, never answered with a 5xx, and answered only with the status codes,
content types and bodies the document describes; with a token set, the same with the token, and without
it every request is 401."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.service import Settings, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOKEN = "schemathesis-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _data_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="zhaosheng-schemathesis-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


app = create_app(Settings(data_dir=_data_dir(), max_upload_bytes=2_000_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
token_app = create_app(Settings(data_dir=_data_dir(), max_upload_bytes=2_000_000, api_token=TOKEN))
token_schema = schemathesis.openapi.from_asgi("/openapi.json", token_app, headers=AUTH)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case):
    case.call_and_validate(checks=CHECKS)


@token_schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_with_the_token(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)


@token_schema.parametrize()
@settings(max_examples=2, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_without_the_token_every_request_is_401(case):
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = headers
    response = case.call()
    assert response.status_code == 401, (case.method, case.path, response.status_code, response.text[:200])
    assert response.headers.get("www-authenticate") == ["Bearer"]
