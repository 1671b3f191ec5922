"""Webhooks, the events outbox and deliveries: the only SQL for them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.domain.webhooks import AttemptRow, WebhookRow
from orderdesk.store import leases
from orderdesk.store.leases import PENDING
from orderdesk.store.prepared import Prepared
from orderdesk.store.tables import deliveries, delivery_attempts, events, sites, webhooks

DELIVERED, FAILED = "delivered", "failed"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds until `claimed_until`: what to send, and where."""

    delivery_id: int
    attempts: int
    webhook_id: str
    url: str
    secret_key: str
    event_id: str
    trigger_type: str
    body: bytes
    claimed_until: int  # the lease: outcomes are recorded only while this claim still holds the row
    site_id: str = ""  # the webhook's site


# Asked on every change of every order: compiled once (see store/prepared.py).
_SUBSCRIBERS = Prepared(sa.select(webhooks.c.id).where(
    webhooks.c.site_id == sa.bindparam("site_id"), webhooks.c.trigger_type == sa.bindparam("trigger_type"),
    webhooks.c.deactivated_on.is_(None),
).order_by(webhooks.c.id))


class WebhookRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- webhooks ---------------------------------------------------------------------------------

    def add(self, webhook: WebhookRow) -> None:
        self.connection.execute(webhooks.insert().values(**_values(webhook)))

    def get(self, webhook_id: str) -> WebhookRow | None:
        row = self.connection.execute(sa.select(webhooks).where(webhooks.c.id == webhook_id)).first()
        return WebhookRow(**row._mapping) if row else None

    def for_site(self, site_id: str, offset: int = 0, limit: int = 100) -> tuple[list[WebhookRow], int]:
        where = webhooks.c.site_id == site_id
        total = self.connection.execute(sa.select(sa.func.count()).select_from(webhooks).where(where)).scalar_one()
        rows = self.connection.execute(
            sa.select(webhooks).where(where).order_by(webhooks.c.created_on, webhooks.c.id).offset(offset).limit(limit)
        )
        return [WebhookRow(**row._mapping) for row in rows], total

    def lock_site(self, site_id: str) -> None:
        """Serialise webhook registrations of one site, so that two cannot both pass the limit."""
        self.connection.execute(sa.select(sites.c.id).where(sites.c.id == site_id).with_for_update())

    def count(self, site_id: str, trigger_type: str) -> int:
        return self.connection.execute(
            sa.select(sa.func.count()).select_from(webhooks)
            .where(webhooks.c.site_id == site_id, webhooks.c.trigger_type == trigger_type)
        ).scalar_one()

    def remove(self, webhook_id: str) -> None:
        self.connection.execute(delivery_attempts.delete().where(delivery_attempts.c.webhook_id == webhook_id))
        self.connection.execute(deliveries.delete().where(deliveries.c.webhook_id == webhook_id))
        self.connection.execute(webhooks.delete().where(webhooks.c.id == webhook_id))

    def set_deactivated(self, webhook_id: str, at: int | None) -> None:
        self.connection.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(deactivated_on=at))

    # --- the outbox ------------------------------------------------------------------------------

    def subscribers(self, site_id: str, trigger_type: str) -> list[str]:
        """The active webhooks of the site that want `trigger_type`."""
        return [row[0] for row in _SUBSCRIBERS.all(self.connection, {"site_id": site_id, "trigger_type": trigger_type})]

    def add_event(self, event_id: str, site_id: str, trigger_type: str, body: bytes, webhook_ids: list[str],
                  at: int) -> None:
        """The event, and one pending delivery of it per webhook, in the caller's transaction."""
        row_id = self.connection.execute(
            events.insert().values(event_id=event_id, site_id=site_id, trigger_type=trigger_type, body=body,
                                   created_on=at).returning(events.c.id)
        ).scalar_one()
        self.add_deliveries(row_id, webhook_ids, at)

    def add_deliveries(self, event_row_id: int, webhook_ids: list[str], at: int) -> list[int]:
        return [
            self.connection.execute(deliveries.insert().values(
                webhook_id=webhook_id, event_id=event_row_id, state=PENDING, attempts=0, next_attempt_on=at,
                claimed_until=0, created_on=at,
            ).returning(deliveries.c.id)).scalar_one()
            for webhook_id in webhook_ids
        ]

    # --- delivering ------------------------------------------------------------------------------

    def due_now(self, webhook_id: str, now: int) -> None:
        """Every pending delivery of the webhook that waits for a later attempt is due now (its lease, if one
        holds it, is left alone): a redelivery goes at once, and the queue's head goes before it, in order."""
        self.connection.execute(deliveries.update().where(
            deliveries.c.webhook_id == webhook_id, deliveries.c.state == PENDING, deliveries.c.next_attempt_on > now,
            deliveries.c.claimed_until <= now,
        ).values(next_attempt_on=now))

    def anything_due(self, now: int) -> bool:
        """A cheap read before claiming, so that an idle worker does not take the write lock."""
        return leases.anything_due(self.connection, deliveries, now)

    def claim(self, now: int, lease_ms: int, limit: int, webhook_id: str | None = None) -> list[Claimed]:
        """Due deliveries, each the oldest pending one of its (active) webhook, leased to the caller;
        with `webhook_id`, only that webhook's (store/leases.py).

        A later delivery of a webhook is never due while an earlier one is pending, so each webhook's
        events go in order.
        """
        # The head of each active webhook's queue: one index probe per webhook, however long the queues.
        head = (
            sa.select(deliveries.c.id)
            .where(deliveries.c.webhook_id == webhooks.c.id, deliveries.c.state == PENDING)
            .order_by(deliveries.c.id).limit(1).scalar_subquery()
        )
        active = sa.select(head).where(webhooks.c.deactivated_on.is_(None))
        if webhook_id is not None:
            active = active.where(webhooks.c.id == webhook_id)
        heads = [found for found in self.connection.execute(active).scalars() if found is not None]
        if not heads:
            return []
        ids = leases.claim(self.connection, deliveries, now, lease_ms, limit, deliveries.c.id.in_(heads))
        if not ids:
            return []
        rows = self.connection.execute(
            sa.select(deliveries.c.id, deliveries.c.attempts, webhooks.c.id, webhooks.c.url, webhooks.c.secret_key,
                      events.c.event_id, events.c.trigger_type, events.c.body, deliveries.c.claimed_until,
                      webhooks.c.site_id)
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .join(events, events.c.id == deliveries.c.event_id)
            .where(deliveries.c.id.in_(ids)).order_by(deliveries.c.id)
        )
        return [Claimed(*row) for row in rows]

    def record_attempt(self, claimed: Claimed, status_code: int | None, duration_ms: int, error: str | None,
                       at: int) -> None:
        self.connection.execute(delivery_attempts.insert().values(
            delivery_id=claimed.delivery_id, webhook_id=claimed.webhook_id, attempt=claimed.attempts + 1,
            status_code=status_code, duration_ms=duration_ms, error=error, at=at,
        ))

    def delivered(self, claimed: Claimed, at: int) -> bool:
        if not self._settle(claimed, state=DELIVERED, attempts=claimed.attempts + 1, claimed_until=0, finished_on=at):
            return False
        self.connection.execute(webhooks.update().where(webhooks.c.id == claimed.webhook_id)
                                .values(last_triggered_on=at))
        return True

    def retry_later(self, claimed: Claimed, next_attempt_on: int) -> bool:
        return self._settle(claimed, attempts=claimed.attempts + 1, claimed_until=0, next_attempt_on=next_attempt_on)

    def given_up(self, claimed: Claimed, at: int) -> bool:
        return self._settle(claimed, state=FAILED, attempts=claimed.attempts + 1, claimed_until=0, finished_on=at)

    def hold_back(self, claimed: Claimed, until: int) -> bool:
        """Give the delivery back unattempted, due again at `until` (a sandbox's delay chaos)."""
        return self._settle(claimed, claimed_until=0, next_attempt_on=until)

    def release(self, claimed: Claimed) -> bool:
        """Unclaimed and not attempted: due again at once, for any worker."""
        return self._settle(claimed, claimed_until=0)

    def _settle(self, claimed: Claimed, **values) -> bool:
        """Record an outcome only while our lease holds: a worker whose lease ran out changes nothing."""
        result = self.connection.execute(deliveries.update().where(
            deliveries.c.id == claimed.delivery_id, deliveries.c.state == PENDING,
            deliveries.c.claimed_until == claimed.claimed_until,
        ).values(**values))
        return result.rowcount == 1

    # --- looking back ----------------------------------------------------------------------------

    def attempts(self, webhook_id: str, limit: int = 100, before_id: int | None = None) -> list[AttemptRow]:
        """The webhook's delivery attempts, newest first."""
        query = (
            sa.select(delivery_attempts.c.id, delivery_attempts.c.delivery_id, delivery_attempts.c.attempt,
                      delivery_attempts.c.status_code, delivery_attempts.c.duration_ms, delivery_attempts.c.error,
                      delivery_attempts.c.at, events.c.event_id, events.c.trigger_type)
            .join(deliveries, deliveries.c.id == delivery_attempts.c.delivery_id)
            .join(events, events.c.id == deliveries.c.event_id)
            .where(delivery_attempts.c.webhook_id == webhook_id)
        )
        if before_id is not None:
            query = query.where(delivery_attempts.c.id < before_id)
        rows = self.connection.execute(query.order_by(delivery_attempts.c.id.desc()).limit(limit))
        return [AttemptRow(*row) for row in rows]

    def delivery(self, webhook_id: str, delivery_id: int) -> tuple[int, str] | None:
        """(event row id, state) of one of the webhook's deliveries."""
        row = self.connection.execute(
            sa.select(deliveries.c.event_id, deliveries.c.state)
            .where(deliveries.c.id == delivery_id, deliveries.c.webhook_id == webhook_id)
        ).first()
        return (row[0], row[1]) if row else None

    def pending_count(self) -> int:
        return self.connection.execute(
            sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.state == PENDING)
        ).scalar_one()


def _values(webhook: WebhookRow) -> dict:
    return {
        "id": webhook.id, "site_id": webhook.site_id, "trigger_type": webhook.trigger_type, "url": webhook.url,
        "secret_key": webhook.secret_key, "created_on": webhook.created_on,
        "last_triggered_on": webhook.last_triggered_on, "deactivated_on": webhook.deactivated_on,
    }
