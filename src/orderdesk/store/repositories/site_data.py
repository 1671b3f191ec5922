"""A site's data as a whole: what the sandbox's reset clears."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.store.tables import (
    deliveries,
    delivery_attempts,
    emails,
    events,
    idempotency_keys,
    order_counts,
    order_history,
    orders,
    processor_events,
    refund_items,
    refunds,
    sandbox_faults,
    tokens,
    webhooks,
)


class SiteData:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def clear(self, site_id: str) -> None:
        """Delete the site's orders, refunds, history, webhooks with their events, deliveries and attempts,
        processor events, emails, idempotency keys and faults; the site, its settings and tokens stay."""
        execute = self.connection.execute
        site_webhooks = sa.select(webhooks.c.id).where(webhooks.c.site_id == site_id)
        site_events = sa.select(events.c.id).where(events.c.site_id == site_id)
        execute(delivery_attempts.delete().where(delivery_attempts.c.webhook_id.in_(site_webhooks)))
        execute(deliveries.delete().where(deliveries.c.event_id.in_(site_events)))
        execute(deliveries.delete().where(deliveries.c.webhook_id.in_(site_webhooks)))
        execute(events.delete().where(events.c.site_id == site_id))
        execute(webhooks.delete().where(webhooks.c.site_id == site_id))
        site_refunds = sa.select(refunds.c.id).where(refunds.c.site_id == site_id)
        execute(refund_items.delete().where(refund_items.c.refund_id.in_(site_refunds)))
        execute(refunds.delete().where(refunds.c.site_id == site_id))
        execute(order_history.delete().where(order_history.c.site_id == site_id))
        execute(orders.delete().where(orders.c.site_id == site_id))
        execute(order_counts.delete().where(order_counts.c.site_id == site_id))
        execute(processor_events.delete().where(processor_events.c.site_id == site_id))
        execute(emails.delete().where(emails.c.site_id == site_id))
        site_tokens = sa.select(tokens.c.id).where(tokens.c.site_id == site_id)
        execute(idempotency_keys.delete().where(idempotency_keys.c.token_id.in_(site_tokens)))
        execute(sandbox_faults.delete().where(sandbox_faults.c.site_id == site_id))
