"""`orderdesk serve` and `orderdesk seed`."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from functools import partial
from typing import Annotated

import typer

from orderdesk.cli.common import DatabaseOption, err, fail, lazy_module, open_database, settings
from orderdesk.cli.worker import RetryIntervalOption
from orderdesk.config import Settings

access = lazy_module("orderdesk.services.access")

HostOption = Annotated[str | None, typer.Option(help="Interface to listen on.", envvar="ORDERDESK_HOST")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on.", envvar="ORDERDESK_PORT")]
WorkersOption = Annotated[int | None, typer.Option(help="Worker processes.", envvar="ORDERDESK_WORKERS")]
SandboxOption = Annotated[bool | None, typer.Option(
    "--sandbox/--no-sandbox", help="Turn on the workbench's controls under /_orderdesk/ (reset, ...); off, "
    "every such path is a 404.", envvar="ORDERDESK_SANDBOX", show_default=False)]
StrictOption = Annotated[bool | None, typer.Option(
    "--strict-webflow/--no-strict-webflow", help="Serve only what Webflow serves: our extensions' routes are "
    "404s and Idempotency-Key is ignored (the sandbox's controls still work).", envvar="ORDERDESK_STRICT_WEBFLOW",
    show_default=False)]


def run_server(config: Settings) -> None:
    """Serve until interrupted; worker processes read their settings from the environment."""
    import uvicorn

    from orderdesk.api.server import BoundedHttpProtocol
    from orderdesk.logs import uvicorn_log_config

    refuse_unshared_rate_limits(config)
    os.environ.update(config.as_environment())
    # Several workers: each writes its metrics to files in one folder, and a scrape sums them. The folder
    # must start empty (or old processes' counts would be added in), so it is a new one unless the
    # operator chose one. Set before any worker starts: prometheus_client reads it when imported.
    metrics_dir = None
    if config.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="orderdesk-metrics-")
    try:
        uvicorn.run(
            "orderdesk.api.app:app_from_environment", factory=True, host=config.host, port=config.port,
            workers=config.workers if config.workers > 1 else None, loop="uvloop",
            # The protocol goes to each worker process pickled, its settings with it. No WebSockets: the API
            # has none, and an upgraded connection would leave these bounds behind.
            http=partial(BoundedHttpProtocol, settings=config), ws="none",
            timeout_keep_alive=config.keep_alive_timeout,  # type: ignore[arg-type]  # a float works: call_later
            log_level="warning", access_log=False, lifespan="on", log_config=uvicorn_log_config(config),
        )
    finally:
        if metrics_dir is not None:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
            shutil.rmtree(metrics_dir, ignore_errors=True)


def refuse_unshared_rate_limits(config: Settings) -> None:
    """Several workers count rate limits together only through Redis: without it each would allow a token
    its whole budget (N workers, N times the limit), so `serve` refuses to start."""
    if config.workers > 1 and not config.redis_url:
        err.print(f"error: --workers {config.workers} needs ORDERDESK_REDIS_URL: without Redis each worker process "
                  f"would count rate limits on its own, allowing {config.workers} times the limit", highlight=False)
        raise typer.Exit(code=2)


def serve(
    host: HostOption = None, port: PortOption = None, database: DatabaseOption = None, workers: WorkersOption = None,
    webhook_retry_interval: RetryIntervalOption = None, sandbox: SandboxOption = None,
    strict_webflow: StrictOption = None,
) -> None:
    """Serve the API (applies pending migrations first).

    Each process also delivers webhooks and emails, unless ORDERDESK_DELIVERY_WORKER=false (then run
    `orderdesk worker`).
    """
    config = settings(database, host=host, port=port, workers=workers, webhook_retry_interval=webhook_retry_interval,
                      sandbox=sandbox, strict_webflow=strict_webflow)
    refuse_unshared_rate_limits(config)  # before the migrations; run_server checks again for `demo`
    open_database(config).dispose()
    import structlog
    from sqlalchemy.engine import make_url

    database = make_url(config.database_url).render_as_string(hide_password=True)
    if config.log_format == "json":  # then every line on stderr is JSON, this one too
        structlog.get_logger("orderdesk.serve").info(
            "listening", url=f"http://{config.host}:{config.port}/v2", workers=config.workers, database=database)
    else:
        err.print(f"orderdesk listening on http://{config.host}:{config.port}/v2 ({config.workers} worker(s), "
                  f"database {database}{', sandbox on' if config.sandbox else ''}"
                  f"{', strict Webflow' if config.strict_webflow else ''})")
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from orderdesk.seed.orders import seed_orders

    started = time.perf_counter()
    with Progress(TextColumn("seeding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False) as bar:
        task = bar.add_task("seed", total=orders)
        written = seed_orders(db, target, orders, seed_value, progress=lambda n: bar.advance(task, n))
    elapsed = time.perf_counter() - started
    err.print(f"wrote {written} orders to {target.name} in {elapsed:.1f} s ({written / elapsed:,.0f} orders/s)")
