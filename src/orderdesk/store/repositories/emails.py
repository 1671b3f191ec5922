"""Emails to customers: queued with the change, claimed with a lease, sent or captured. The only SQL for them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.store import leases
from orderdesk.store.leases import PENDING
from orderdesk.store.tables import emails

SENT, CAPTURED, FAILED = "sent", "captured", "failed"


@dataclass(frozen=True, slots=True)
class EmailRow:
    id: int
    site_id: str
    order_id: str
    recipient: str
    subject: str
    body: str
    state: str
    attempts: int
    error: str | None
    created_on: int
    sent_on: int | None


_columns = [getattr(emails.c, name) for name in EmailRow.__slots__]


class EmailRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, site_id: str, order_id: str, recipient: str, subject: str, body: str, at: int) -> int:
        """A pending email, due at once, in the caller's transaction."""
        return self.connection.execute(emails.insert().values(
            site_id=site_id, order_id=order_id, recipient=recipient, subject=subject, body=body, state=PENDING,
            attempts=0, next_attempt_on=at, claimed_until=0, created_on=at,
        ).returning(emails.c.id)).scalar_one()

    def newest(self, site_id: str, limit: int) -> list[EmailRow]:
        rows = self.connection.execute(
            sa.select(*_columns).where(emails.c.site_id == site_id).order_by(emails.c.id.desc()).limit(limit)
        )
        return [EmailRow(*row) for row in rows]

    # --- sending ---------------------------------------------------------------------------------

    def anything_due(self, now: int) -> bool:
        """A cheap read before claiming, so that an idle loop does not take the write lock."""
        return leases.anything_due(self.connection, emails, now)

    def claim(self, now: int, lease_ms: int, limit: int) -> list[EmailRow]:
        """Due emails, oldest first, leased to the caller until `now + lease_ms` (store/leases.py)."""
        ids = leases.claim(self.connection, emails, now, lease_ms, limit)
        if not ids:
            return []
        rows = self.connection.execute(sa.select(*_columns).where(emails.c.id.in_(ids)).order_by(emails.c.id))
        return [EmailRow(*row) for row in rows]

    def finished(self, email: EmailRow, state: str, at: int, error: str | None = None) -> None:
        """Sent, captured (no SMTP server configured) or failed for good."""
        self._update(email, state=state, attempts=email.attempts + 1, claimed_until=0, error=error,
                     sent_on=None if state == FAILED else at)

    def retry_later(self, email: EmailRow, next_attempt_on: int, error: str) -> None:
        self._update(email, attempts=email.attempts + 1, claimed_until=0, next_attempt_on=next_attempt_on,
                     error=error)

    def _update(self, email: EmailRow, **values) -> None:
        # Only a pending row moves: a worker whose lease ran out never undoes another's outcome.
        self.connection.execute(
            emails.update().where(emails.c.id == email.id, emails.c.state == PENDING).values(**values)
        )
