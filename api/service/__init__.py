"""The HTTP service (issue #5): FastAPI over the same solver code as the CLI (`solver.run`,
`solver.audit`), with scenarios, runs and audits persisted through SQLAlchemy (`api.service.db`, Alembic
migrations in ``migrations/``) and solver work in worker processes (`api.service.jobs`).

    zhaosheng serve [--host 127.0.0.1] [--port 8000] [--database URL]

Layout as FastAPI's full-stack template: `config` (settings from the environment), `deps` (session,
bearer token), `routes/` by resource, `schemas` (request and response bodies) apart from `db` (storage).
"""

from api.service.app import create_app
from api.service.config import Settings

__all__ = ["Settings", "create_app"]
