"""``zhaosheng serve``: the HTTP service (api/service) in this process; ``zhaosheng worker``: its job queue
without HTTP, beside servers on the same database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from api.cli.common import err_console

if TYPE_CHECKING:
    from api.service import Settings


def _shared_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options `serve` and `worker` share: they must find the same database and data directory."""
    for option in reversed((
            click.option("--database", "database_url", metavar="URL", help="SQLAlchemy URL [default: a SQLite "
                         "file in the data directory, or $ZHAOSHENG_DATABASE_URL]."),
            click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                         help="Data directory [default: ~/.local/share/zhaosheng, or $ZHAOSHENG_DATA_DIR]."),
            click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
                         default="info", show_default=True))):
        command = option(command)
    return command


@click.command()
@click.option("--host", help="Address to listen on [default: 127.0.0.1, or $ZHAOSHENG_HOST].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [default: 8000, or $ZHAOSHENG_PORT].")
@_shared_options
def serve(host: str | None, port: int | None, database_url: str | None, data_dir: Path | None, log_level: str) -> None:
    """Start the HTTP service (OpenAPI docs at /docs).  Settings come from the environment
    (ZHAOSHENG_DATABASE_URL, ZHAOSHENG_API_TOKEN, limits: see the README) and these options."""
    import uvicorn

    from api.service import create_app

    settings = _settings({"host": host, "port": port, "database_url": database_url, "data_dir": data_dir})
    if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.token is None:
        err_console.print(f"[yellow]Listening on {settings.host} without ZHAOSHENG_API_TOKEN: anyone who reaches "
                          "this address can use the service.[/]")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level, workers=1,
                timeout_graceful_shutdown=10)


def _settings(given: dict[str, Any]) -> Settings:
    """The service's settings: the options given override the environment; pydantic checks each value
    against its field's type (exit 2 on a bad one)."""
    from pydantic import ValidationError

    from api.service import Settings

    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        err_console.print(f"[red]Invalid settings:[/] {exc}")
        sys.exit(2)


@click.command()
@_shared_options
def worker(database_url: str | None, data_dir: Path | None, log_level: str) -> None:
    """Run queued runs and analyses without serving HTTP: the job queue of the database that `zhaosheng
    serve` processes share (PostgreSQL; the same data directory), at most ZHAOSHENG_MAX_CONCURRENT_RUNS at
    once, until SIGTERM or Ctrl-C (its running jobs are then failed "interrupted", as a server's are)."""
    import logging
    import signal
    import threading

    from api.service.db import make_engine, upgrade
    from api.service.jobs import JobManager

    settings = _settings({"database_url": database_url, "data_dir": data_dir})
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    manager = JobManager(settings, engine)
    manager.start()
    logging.getLogger("zhaosheng.service").info("worker %s: taking jobs from %s", manager.owner,
                                                engine.url.render_as_string(hide_password=True))
    try:
        while not stop.wait(1.0):
            pass
    finally:
        manager.stop()
        engine.dispose()
