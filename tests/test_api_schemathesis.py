"""Schemathesis over the service's OpenAPI document (issue #5): requests generated from the schema, a
bounded number per operation, never answered with a 5xx, and answered only with the status codes, content
types and bodies the document describes."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api.service import Settings, create_app

DATA_DIR = Path(tempfile.mkdtemp(prefix="zhaosheng-schemathesis-"))
atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)
app = create_app(Settings(data_dir=DATA_DIR, max_upload_bytes=2_000_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case):
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
