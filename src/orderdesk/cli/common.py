"""What every command shares: the --database option, settings, a database, stderr output."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from orderdesk.config import Settings
from orderdesk.logs import configure_logging
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database

err = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", envvar="ORDERDESK_DATABASE_URL", show_envvar=True,
                 help="Database URL: sqlite:///./orderdesk.db (default) or postgresql://user@host/db."),
]


def settings(database: str | None, **overrides) -> Settings:
    result = Settings.from_env(database_url=database, **overrides)
    configure_logging(result)
    return result


def open_database(settings: Settings, migrate: bool = True) -> Database:
    """The database, with pending migrations applied."""
    db = Database.connect(settings.database_url, settings.database_pool_size)
    if migrate:
        upgrade(db.engine)
    return db


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)
