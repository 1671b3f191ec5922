"""What every command shares: the --database option, settings, a database, stderr output.

The command modules import what a command needs inside the command: `orderdesk --help` and the short
commands load typer and rich, not the server, the database layer or the migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import importlib.util
import sys
from types import ModuleType

import typer
from rich.console import Console

if TYPE_CHECKING:
    from orderdesk.config import Settings
    from orderdesk.store.database import Database

err = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", envvar="ORDERDESK_DATABASE_URL", show_envvar=True,
                 help="Database URL: sqlite:///./orderdesk.db (default) or postgresql://user@host/db."),
]


def settings(database: str | None, **overrides) -> Settings:
    from orderdesk.config import Settings
    from orderdesk.logs import configure_logging

    result = Settings.from_env(database_url=database, **overrides)
    configure_logging(result)
    return result


def open_database(settings: Settings, migrate: bool = True) -> Database:
    """The database, with pending migrations applied."""
    from orderdesk.store.database import Database
    from orderdesk.store.migrate import upgrade

    db = Database.connect(settings.database_url, settings.database_pool_size)
    if migrate:
        upgrade(db.engine)
    return db


def lazy_module(name: str) -> ModuleType:
    """Module `name`, loaded when one of its names is first used (importlib's LazyLoader): the commands'
    modules name the services they call at the top, and `--help` never loads them."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)
