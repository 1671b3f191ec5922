"""What every command shares: the --database option, settings, a database, stderr output."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from orderdesk.config import Settings
from orderdesk.logs import configure_logging
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.unit_of_work import Database

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
    engine = create_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Database(engine)


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)
