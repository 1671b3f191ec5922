"""`orderdesk serve` and `orderdesk seed`."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from orderdesk.cli.common import DatabaseOption, err, fail, open_database, settings
from orderdesk.cli.worker import RetryIntervalOption
from orderdesk.config import Settings
from orderdesk.services import access
from orderdesk.services.seeding import seed_orders

HostOption = Annotated[str | None, typer.Option(help="Interface to listen on.", envvar="ORDERDESK_HOST")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on.", envvar="ORDERDESK_PORT")]
WorkersOption = Annotated[int | None, typer.Option(help="Worker processes.", envvar="ORDERDESK_WORKERS")]


def run_server(config: Settings) -> None:
    """Serve until interrupted; worker processes read their settings from the environment."""
    os.environ.update(config.as_environment())
    uvicorn.run(
        "orderdesk.api.app:app_from_environment", factory=True, host=config.host, port=config.port,
        workers=config.workers if config.workers > 1 else None, loop="uvloop", http="httptools",
        log_level="warning", access_log=False, lifespan="on",
    )


def serve(
    host: HostOption = None, port: PortOption = None, database: DatabaseOption = None, workers: WorkersOption = None,
    webhook_retry_interval: RetryIntervalOption = None,
) -> None:
    """Serve the API (applies pending migrations first).

    Each process also delivers webhooks and emails, unless ORDERDESK_DELIVERY_WORKER=false (then run
    `orderdesk worker`).
    """
    config = settings(database, host=host, port=port, workers=workers, webhook_retry_interval=webhook_retry_interval)
    open_database(config).dispose()
    err.print(f"orderdesk listening on http://{config.host}:{config.port}/v2 ({config.workers} worker(s), "
              f"database {config.database_url})")
    run_server(config)


def seed(
    site: Annotated[str, typer.Option(help="The site to fill.")],
    orders: Annotated[int, typer.Option(help="How many orders to write.", min=1)],
    seed_value: Annotated[int, typer.Option("--seed", help="The same seed writes the same orders.")] = 0,
    database: DatabaseOption = None,
) -> None:
    """Write realistic orders to a site, with a progress bar on stderr."""
    db = open_database(settings(database))
    target = access.get_site(db, site)
    if target is None:
        fail(f"no site {site}")
    started = time.perf_counter()
    with Progress(TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False) as bar:
        task = bar.add_task("seed", total=orders)
        written = seed_orders(db, target, orders, seed_value, progress=lambda n: bar.advance(task, n))
    elapsed = time.perf_counter() - started
    err.print(f"wrote {written} orders to {target.name} in {elapsed:.1f} s ({written / elapsed:,.0f} orders/s)")
