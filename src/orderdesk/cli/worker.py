"""`orderdesk worker`: the delivery worker on its own, for scaling webhook and email delivery out."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from orderdesk.cli.common import DatabaseOption, err, open_database, settings

RetryIntervalOption = Annotated[
    float | None,
    typer.Option("--webhook-retry-interval", envvar="ORDERDESK_WEBHOOK_RETRY_INTERVAL", show_envvar=True,
                 help="Seconds between delivery attempts (default 600; a few seconds to watch retries)."),
]


def worker(database: DatabaseOption = None, webhook_retry_interval: RetryIntervalOption = None) -> None:
    """Deliver webhooks and emails until stopped.

    Run as many as you like, beside `serve` started with ORDERDESK_DELIVERY_WORKER=false; they never
    send the same attempt twice.
    """
    from orderdesk.background import Background, delivery_jobs

    config = settings(database, webhook_retry_interval=webhook_retry_interval)
    db = open_database(config)
    loop = Background(delivery_jobs(db, config))
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    loop.start()
    err.print(f"orderdesk worker delivering from {config.database_url} "
              f"(retries every {config.webhook_retry_interval:g} s; Ctrl-C stops)")
    loop.wait()
    db.dispose()
