"""Leases on the rows of a queue (emails, webhook deliveries): a worker claims due rows until a time;
meanwhile no other worker takes them, and once the lease runs out any worker may.

A queue's table has `id`, `state`, `next_attempt_on` and `claimed_until`; a row is due while it is
pending, its next attempt has come and no lease on it holds.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PENDING = "pending"


def due(table: sa.Table, now: int) -> tuple:
    """The conditions of a row of `table` that is due at `now`."""
    return table.c.state == PENDING, table.c.next_attempt_on <= now, table.c.claimed_until < now


def anything_due(connection: Connection, table: sa.Table, now: int) -> bool:
    """A cheap read before claiming, so that an idle worker does not take the write lock."""
    return connection.execute(sa.select(table.c.id).where(*due(table, now)).limit(1)).first() is not None


def claim(connection: Connection, table: sa.Table, now: int, lease_ms: int, limit: int, *where) -> list[int]:
    """The ids of up to `limit` due rows of `table` (that also meet `where`), oldest first, leased to the
    caller until `now + lease_ms`.

    On PostgreSQL rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED); on SQLite the
    write transaction already excludes every other writer.
    """
    rows = sa.select(table.c.id).where(*where, *due(table, now)).order_by(table.c.id).limit(limit)
    if connection.dialect.name == "postgresql":
        rows = rows.with_for_update(skip_locked=True)
    ids = list(connection.execute(rows).scalars())
    if ids:
        connection.execute(table.update().where(table.c.id.in_(ids)).values(claimed_until=now + lease_ms))
    return ids
