"""``zhaosheng serve``: the HTTP service (api/service) in this process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from api.cli.common import err_console


@click.command()
@click.option("--host", help="Address to listen on [default: 127.0.0.1, or $ZHAOSHENG_HOST].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [default: 8000, or $ZHAOSHENG_PORT].")
@click.option("--database", "database_url", metavar="URL",
              help="SQLAlchemy URL [default: a SQLite file in the data directory, or $ZHAOSHENG_DATABASE_URL].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory [default: ~/.local/share/zhaosheng, or $ZHAOSHENG_DATA_DIR].")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve(host: str | None, port: int | None, database_url: str | None, data_dir: Path | None, log_level: str) -> None:
    """Start the HTTP service (OpenAPI docs at /docs).  Settings come from the environment
    (ZHAOSHENG_DATABASE_URL, ZHAOSHENG_API_TOKEN, limits: see the README) and these options."""
    import uvicorn
    from pydantic import ValidationError

    from api.service import Settings, create_app

    # the options given override the environment; pydantic checks each value against its field's type
    given: dict[str, Any] = {"host": host, "port": port, "database_url": database_url, "data_dir": data_dir}
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        err_console.print(f"[red]Invalid settings:[/] {exc}")
        sys.exit(2)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.token is None:
        err_console.print(f"[yellow]Listening on {settings.host} without ZHAOSHENG_API_TOKEN: anyone who reaches "
                          "this address can use the service.[/]")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level, workers=1,
                timeout_graceful_shutdown=10)
