"""The service's settings, from the environment (prefix ``ZHAOSHENG_``) through pydantic-settings.

    ZHAOSHENG_DATA_DIR       where the database (SQLite by default), uploaded scenarios, run results and
                             audits live; default ``$XDG_DATA_HOME/zhaosheng`` or ``~/.local/share/zhaosheng``
    ZHAOSHENG_DATABASE_URL   a SQLAlchemy URL; default a SQLite file ``zhaosheng.db`` in the data directory.
                             PostgreSQL: ``postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`` (a Unix socket:
                             ``postgresql+psycopg://USER@/DB?host=/run/postgresql``), a database that exists
                             (the tables are made and migrated on start).  Any number of ``zhaosheng serve``
                             and ``zhaosheng worker`` processes may share it and one data directory
                             (``ZHAOSHENG_DATA_DIR``, the same folder for all): they share its queue, each job
                             runs once (`api.service.jobs`)
    ZHAOSHENG_API_TOKEN      when set, every request needs ``Authorization: Bearer <token>``
    ZHAOSHENG_HOST / _PORT   where ``zhaosheng serve`` listens (127.0.0.1:8000)
    ZHAOSHENG_MAX_UPLOAD_BYTES, _MAX_UNZIPPED_BYTES, _MAX_ZIP_MEMBERS, _MAX_ZIP_RATIO   upload limits
    ZHAOSHENG_MAX_CONCURRENT_RUNS, _MAX_CONCURRENT_AUDITS   worker processes at once (others queue)
    ZHAOSHENG_DEFAULT_TIME_LIMIT, _MAX_TIME_LIMIT, _RUN_GRACE, _AUDIT_TIME_LIMIT   seconds
    ZHAOSHENG_MAX_QUEUED_JOBS   runs and analyses waiting at most; beyond, a new one is refused (429)
    ZHAOSHENG_VALIDATION_TIME_LIMIT, _VALIDATION_MEMORY, _MAX_CONCURRENT_VALIDATIONS   an upload is validated
                             in a worker process bounded in time (seconds) and address space (bytes)
    ZHAOSHENG_MAX_PROBLEMS   problems an upload's validation keeps (the rest are counted: "and N more")
    ZHAOSHENG_JOB_MEMORY     address space (bytes) of each run's or analysis' worker process; past it the job
                             fails "out of memory while <phase>" (default: no cap)
    ZHAOSHENG_DASK_SCHEDULER a Dask scheduler (``tcp://HOST:PORT``) whose cluster runs a sweep's steps and a Monte
                             Carlo's draws (`solver.analysis.distributed`; its workers need this project
                             installed); unset: they run one after another in the analysis' worker process
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "zhaosheng"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHAOSHENG_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    api_token: SecretStr | None = None
    host: str = "127.0.0.1"  # loopback unless told otherwise
    port: int = Field(8000, ge=1, le=65535)

    max_upload_bytes: int = Field(200 * 2**20, gt=0)  # a request body larger than this is refused (413)
    max_unzipped_bytes: int = Field(2 * 2**30, gt=0)  # a zip or workbook unpacking to more is refused (413)
    max_zip_members: int = Field(1000, gt=0)
    max_zip_ratio: float = Field(200.0, gt=1)  # uncompressed / compressed of a member above 1 MiB

    max_concurrent_runs: int = Field(2, ge=1)
    max_concurrent_audits: int = Field(1, ge=1)
    default_time_limit: float = Field(900.0, gt=0)  # seconds for the CP-SAT phases when a run names none
    max_time_limit: float = Field(6 * 3600.0, gt=0)
    run_grace: float = Field(120.0, ge=0)  # loading, sequential engine, checker, writing: added to the limit
    audit_time_limit: float = Field(900.0, gt=0)
    max_queued_jobs: int = Field(100, ge=1)  # runs and analyses queued together; a fuzzer once left 112

    # validating an upload is the loader's work on untrusted input: a worker process with limits, never the
    # server (a 50 MB CSV of junk once took 243 s and 4.7 GB in the server)
    validation_time_limit: float = Field(300.0, gt=0)
    validation_memory: int = Field(4 * 2**30, ge=256 * 2**20)  # RLIMIT_AS of the validating process
    max_concurrent_validations: int = Field(2, ge=1)
    max_problems: int = Field(1000, ge=1)
    job_memory: int | None = Field(None, ge=256 * 2**20)  # RLIMIT_AS of a run's or analysis' worker process
    dask_scheduler: str | None = None  # tcp://HOST:PORT: sweeps and Monte Carlo draws as tasks of that cluster

    @field_validator("dask_scheduler", mode="before")
    @classmethod
    def _scheduler_address(cls, value):
        from solver.analysis.distributed import parse_scheduler

        return parse_scheduler(value)  # None when empty; a bad address is a ValueError

    @field_validator("api_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value):
        return None if value in ("", None) else value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'zhaosheng.db').resolve()}"

    @property
    def token(self) -> str | None:
        return self.api_token.get_secret_value() if self.api_token else None
