"""Applying a change to one order: lock, change the document, save, record history, tell webhooks."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import structlog

from orderdesk.domain import clock
from orderdesk.errors import Conflict, OrderNotFound
from orderdesk.services import outbox
from orderdesk.store.repositories.orders import OrderRepository, OrderRow, StaleOrder
from orderdesk.store.unit_of_work import UnitOfWork
from orderdesk.wire import orders as wire
from orderdesk.wire.orders import OrderDoc

_json = msgspec.json.Encoder()
log = structlog.get_logger("orderdesk.changes")


def lock_order(work: UnitOfWork, site_id: str, order_id: str) -> tuple[OrderRepository, OrderRow]:
    repository = OrderRepository(work.connection)
    row = repository.lock(site_id, order_id)
    if row is None:
        raise OrderNotFound()
    return repository, row


def save_change(repository: OrderRepository, row: OrderRow, before: OrderDoc, after: OrderDoc,
                action: str, token_id: str | None) -> bytes:
    """Store `after` and a history entry naming only the fields that changed."""
    at = clock.to_millis(clock.now())
    document = wire.encode(after)
    try:
        repository.save(row, after.status, document, at)
    except StaleOrder:
        # Every writer locks the row before reading it, so a stale version means one wrote outside the
        # lock: a bug to see in the log. Not retried here (the caller owns the unit of work, which rolls
        # back); the client is told to try again, and the official SDK retries a 409 by itself.
        log.warning("order changed outside its lock", site_id=row.site_id, order_id=row.order_id,
                    version=row.version)
        raise Conflict(f"Conflict: Order {row.order_id} was changed by another writer meanwhile; "
                       "nothing was changed, try again") from None
    outbox.emit(repository.connection, row.site_id, outbox.ORDER_CHANGED, document)
    old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
    changed = sorted(key for key in new if old.get(key) != new.get(key))
    repository.record(
        row.site_id, row.order_id, action,
        before=_json.encode({key: old.get(key) for key in changed}).decode(),
        after=_json.encode({key: new.get(key) for key in changed}).decode(),
        token_id=token_id, at=at,
    )
    return document


def change_order(work: UnitOfWork, site_id: str, order_id: str, action: str, token_id: str | None,
                 change: Callable[[OrderDoc], OrderDoc]) -> tuple[bytes, bool]:
    """Apply `change` to the stored order; returns the document and whether anything changed."""
    repository, row = lock_order(work, site_id, order_id)
    before = wire.decode(row.document)
    after = change(before)
    if after == before:
        return row.document, False
    return save_change(repository, row, before, after, action, token_id), True
