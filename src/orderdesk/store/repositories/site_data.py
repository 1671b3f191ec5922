"""A site's data as a whole: what the sandbox's reset clears, and what its snapshots keep and restore.

The data is every row the site's API answers from: orders, refunds and their items, order history,
webhooks with their events, deliveries and attempts, processor events, emails and idempotency keys. A
restore writes the rows back as they were, ids included, so every answer is byte for byte what it was.
Not data: the site itself, its settings and tokens (kept by both), its snapshots, and its faults (a reset
clears them; a snapshot neither keeps nor restores them). The order counters follow the orders (their
triggers), so they are cleared and never kept.
"""

from __future__ import annotations

import msgspec
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
    sandbox_snapshots,
    tokens,
    webhooks,
)

SNAPSHOT_VERSION = 1


def _of_site(site_id: str) -> list[tuple[sa.Table, sa.ColumnElement]]:
    """The site's data tables and the rows of each that are the site's, in an order to delete them in
    (the reverse is an order to insert them in)."""
    site_webhooks = sa.select(webhooks.c.id).where(webhooks.c.site_id == site_id)
    site_events = sa.select(events.c.id).where(events.c.site_id == site_id)
    site_refunds = sa.select(refunds.c.id).where(refunds.c.site_id == site_id)
    site_tokens = sa.select(tokens.c.id).where(tokens.c.site_id == site_id)
    return [
        (delivery_attempts, delivery_attempts.c.webhook_id.in_(site_webhooks)),
        (deliveries, sa.or_(deliveries.c.event_id.in_(site_events), deliveries.c.webhook_id.in_(site_webhooks))),
        (events, events.c.site_id == site_id),
        (webhooks, webhooks.c.site_id == site_id),
        (refund_items, refund_items.c.refund_id.in_(site_refunds)),
        (refunds, refunds.c.site_id == site_id),
        (order_history, order_history.c.site_id == site_id),
        (orders, orders.c.site_id == site_id),
        (processor_events, processor_events.c.site_id == site_id),
        (emails, emails.c.site_id == site_id),
        (idempotency_keys, idempotency_keys.c.token_id.in_(site_tokens)),
    ]


class Snapshot(msgspec.Struct):
    version: int
    tables: dict[str, list[list]]  # each table's rows, its columns in the table's order


_encoder, _decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(Snapshot)


class SiteData:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def clear(self, site_id: str) -> None:
        """Delete the site's data (above), its order counters and its faults."""
        for table, rows in _of_site(site_id):
            self.connection.execute(table.delete().where(rows))
        self.connection.execute(order_counts.delete().where(order_counts.c.site_id == site_id))
        self.connection.execute(sandbox_faults.delete().where(sandbox_faults.c.site_id == site_id))

    def snapshot(self, site_id: str) -> tuple[bytes, int]:
        """The site's data as one value, and how many orders it holds."""
        tables = {}
        for table, rows in _of_site(site_id):
            order_by = [column for column in table.primary_key.columns]
            tables[table.name] = [list(row) for row in self.connection.execute(
                sa.select(*table.columns).where(rows).order_by(*order_by))]
        return _encoder.encode(Snapshot(SNAPSHOT_VERSION, tables)), len(tables[orders.name])

    def restore(self, site_id: str, data: bytes) -> None:
        """The site's data made what `snapshot` kept (its faults stay as they are)."""
        snapshot = _decoder.decode(data)
        if snapshot.version != SNAPSHOT_VERSION:
            raise ValueError(f"a snapshot of version {snapshot.version}; this orderdesk reads {SNAPSHOT_VERSION}")
        faults = self.connection.execute(sa.select(*sandbox_faults.columns)
                                         .where(sandbox_faults.c.site_id == site_id)).all()
        self.clear(site_id)
        for table, _ in reversed(_of_site(site_id)):
            names = [column.name for column in table.columns]
            rows = [dict(zip(names, row, strict=True)) for row in snapshot.tables.get(table.name, [])]
            if rows:
                self.connection.execute(table.insert(), rows)
        if faults:
            self.connection.execute(sandbox_faults.insert(), [row._asdict() for row in faults])

    # --- the snapshots themselves --------------------------------------------------------------------

    def save_snapshot(self, site_id: str, name: str, at: int) -> int | None:
        """Keep the site's data under `name`; how many orders it holds, or None when the site has a snapshot
        of that name already."""
        exists = self.connection.execute(sa.select(sandbox_snapshots.c.name).where(
            sandbox_snapshots.c.site_id == site_id, sandbox_snapshots.c.name == name)).first()
        if exists:
            return None
        data, order_count = self.snapshot(site_id)
        self.connection.execute(sandbox_snapshots.insert().values(
            site_id=site_id, name=name, created_on=at, orders=order_count, data=data))
        return order_count

    def snapshots(self, site_id: str) -> list[tuple[str, int, int]]:
        """(name, created_on, orders) of each of the site's snapshots, oldest first."""
        rows = self.connection.execute(
            sa.select(sandbox_snapshots.c.name, sandbox_snapshots.c.created_on, sandbox_snapshots.c.orders)
            .where(sandbox_snapshots.c.site_id == site_id)
            .order_by(sandbox_snapshots.c.created_on, sandbox_snapshots.c.name))
        return [tuple(row) for row in rows]

    def snapshot_data(self, site_id: str, name: str) -> bytes | None:
        return self.connection.execute(sa.select(sandbox_snapshots.c.data).where(
            sandbox_snapshots.c.site_id == site_id, sandbox_snapshots.c.name == name)).scalar()

    def delete_snapshot(self, site_id: str, name: str) -> bool:
        deleted = self.connection.execute(sandbox_snapshots.delete().where(
            sandbox_snapshots.c.site_id == site_id, sandbox_snapshots.c.name == name))
        return deleted.rowcount == 1
