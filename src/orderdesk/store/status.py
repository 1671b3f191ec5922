"""What operators ask of the database itself: is it ready, and how many deliveries and refunds wait.

The answers are plain values, and a database that does not answer is one of them, so that the HTTP side
(`api/routes/health.py`, `api/metrics.py`) needs nothing of SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from orderdesk.store.database import Database
from orderdesk.store.migrate import is_current
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.repositories.webhooks import WebhookRepository

UNREACHABLE = "database unreachable"
NOT_CURRENT = "database migrations are not current"

log = structlog.get_logger("orderdesk.status")


@dataclass(frozen=True, slots=True)
class Backlog:
    pending_deliveries: int
    refunds_by_state: dict[str, int]


def not_ready_because(db: Database) -> str | None:
    """None when the database answers and is at the newest migration; otherwise why not, in words safe
    to show anyone."""
    try:
        current = is_current(db.engine)
    except SQLAlchemyError as error:
        log.warning("readiness: the database did not answer", error=str(error))
        return UNREACHABLE
    return None if current else NOT_CURRENT


def backlog(db: Database) -> Backlog | None:
    """Webhook deliveries waiting in the outbox and refunds by state; None when the database does not answer."""
    try:
        with db.reading() as connection:
            return Backlog(WebhookRepository(connection).pending_count(), RefundRepository(connection).count_by_state())
    except SQLAlchemyError as error:
        log.warning("metrics: the database did not answer", error=str(error))
        return None
