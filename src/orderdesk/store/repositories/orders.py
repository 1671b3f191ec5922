"""Orders: stored as pre-encoded documents beside the columns lists filter and sort on."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.errors import OrderIdTaken
from orderdesk.store.prepared import DriverConnection, Prepared
from orderdesk.store.tables import order_counts, order_history, orders


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    site_id: str
    order_id: str
    status: str
    version: int
    currency: str
    captured_amount: int
    refund_reserved: int
    document: bytes


@dataclass(frozen=True, slots=True)
class NewOrder:
    site_id: str
    order_id: str
    status: str
    accepted_on: int
    currency: str
    captured_amount: int
    refund_reserved: int
    document: bytes
    updated_on: int
    payment_reference: str | None = None  # the processor's payment intent or charge id


# The statements every write runs, compiled once and run on the driver (see store/prepared.py).
_site_order = (orders.c.site_id == sa.bindparam("site_id"), orders.c.order_id == sa.bindparam("order_id"))
_ROW = sa.select(
    orders.c.id, orders.c.site_id, orders.c.order_id, orders.c.status, orders.c.version,
    orders.c.currency, orders.c.captured_amount, orders.c.refund_reserved, orders.c.document,
).where(*_site_order)
_LOCK = Prepared(_ROW.with_for_update())
_READ_ROW = Prepared(_ROW)
_EXISTS = Prepared(sa.select(orders.c.id).where(*_site_order))
_NEW_ORDER_COLUMNS = ("site_id", "order_id", "status", "accepted_on", "currency", "captured_amount",
                      "refund_reserved", "version", "document", "updated_on", "payment_reference")
_INSERT_ONE = Prepared(orders.insert().values({name: sa.bindparam(name) for name in _NEW_ORDER_COLUMNS}))
_SAVE = Prepared(
    orders.update()
    .where(orders.c.id == sa.bindparam("row_id"), orders.c.version == sa.bindparam("old_version"))
    .values(status=sa.bindparam("status"), document=sa.bindparam("document"), version=sa.bindparam("new_version"),
            updated_on=sa.bindparam("at"))
)
_RECORD = Prepared(order_history.insert().values({
    name: sa.bindparam(name) for name in ("site_id", "order_id", "action", "before", "after", "token_id", "at")
}))
_RESERVE = Prepared(
    orders.update()
    .where(orders.c.id == sa.bindparam("row_id"),
           orders.c.refund_reserved + sa.bindparam("amount") <= orders.c.captured_amount)
    .values(refund_reserved=orders.c.refund_reserved + sa.bindparam("amount"))
)
_RELEASE = Prepared(orders.update().where(orders.c.id == sa.bindparam("row_id")).values(
    refund_reserved=orders.c.refund_reserved - sa.bindparam("amount")))
# The reads every request makes run on the quick pool (store/quick.py) as well as in a transaction.
_DOCUMENT = Prepared(sa.select(orders.c.document).where(*_site_order))
_of_site = orders.c.site_id == sa.bindparam("site_id")
_PAGE = sa.select(orders.c.document).order_by(orders.c.accepted_on.desc(), orders.c.order_id) \
    .limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
_PAGE_ALL = Prepared(_PAGE.where(_of_site))
_PAGE_OF_STATUS = Prepared(_PAGE.where(_of_site, orders.c.status == sa.bindparam("status")))
_COUNT = sa.select(sa.func.coalesce(sa.func.sum(order_counts.c.count), 0)).where(
    order_counts.c.site_id == sa.bindparam("site_id"))
_COUNT_ALL = Prepared(_COUNT)
_COUNT_OF_STATUS = Prepared(_COUNT.where(order_counts.c.status == sa.bindparam("status")))


def _new_order_values(order: NewOrder) -> dict:
    return {
        "site_id": order.site_id, "order_id": order.order_id, "status": order.status,
        "accepted_on": order.accepted_on, "currency": order.currency, "captured_amount": order.captured_amount,
        "refund_reserved": order.refund_reserved, "version": 1, "document": order.document,
        "updated_on": order.updated_on, "payment_reference": order.payment_reference,
    }


class OrderRepository:
    def __init__(self, connection: Connection | DriverConnection) -> None:
        self.connection = connection  # a DriverConnection runs only the Prepared reads (store/quick.py)

    def document(self, site_id: str, order_id: str) -> bytes | None:
        # Both drivers give a BLOB or bytea as bytes: nothing to convert.
        row = _DOCUMENT.first(self.connection, {"site_id": site_id, "order_id": order_id})
        return None if row is None else row[0]

    def page(self, site_id: str, status: str | None, offset: int, limit: int) -> tuple[list[bytes], int]:
        """A page of documents, newest first, and how many the site has in all (of `status`, if given)."""
        total = self.count(site_id, status)
        if offset >= total:
            return [], total
        parameters = {"site_id": site_id, "status": status, "limit": limit, "offset": offset}
        rows = (_PAGE_OF_STATUS if status else _PAGE_ALL).all(self.connection, parameters)
        return [row[0] for row in rows], total

    def count(self, site_id: str, status: str | None = None) -> int:
        """From the counters the triggers keep: one row, not a scan of a million."""
        if status:
            return int(_COUNT_OF_STATUS.first(self.connection, {"site_id": site_id, "status": status})[0])
        return int(_COUNT_ALL.first(self.connection, {"site_id": site_id})[0])

    def order_ids(self, site_id: str) -> set[str]:
        return set(self.connection.execute(sa.select(orders.c.order_id).where(orders.c.site_id == site_id)).scalars())

    def exists(self, site_id: str, order_id: str) -> bool:
        return _EXISTS.first(self.connection, {"site_id": site_id, "order_id": order_id}) is not None

    def by_payment_reference(self, site_id: str, references: list[str]) -> str | None:
        """The orderId of the site's order paid by one of `references` (payment intent or charge ids)."""
        query = sa.select(orders.c.order_id).where(
            orders.c.payment_reference.in_(references), orders.c.site_id == site_id
        )
        return self.connection.execute(query.limit(1)).scalar_one_or_none()

    def row(self, site_id: str, order_id: str) -> OrderRow | None:
        """The order's row, unlocked: for reads that change nothing."""
        row = _READ_ROW.first(self.connection, {"site_id": site_id, "order_id": order_id})
        return OrderRow(*row) if row else None

    def lock(self, site_id: str, order_id: str) -> OrderRow | None:
        """The order's row, locked for this transaction (SQLite: the write lock is already held)."""
        row = _LOCK.first(self.connection, {"site_id": site_id, "order_id": order_id})
        return OrderRow(*row) if row else None

    def add(self, order: NewOrder) -> None:
        """Insert a new order; OrderIdTaken when the site has an order of that id (one placed meanwhile)."""
        try:
            _INSERT_ONE.rowcount(self.connection, _new_order_values(order))
        except (sa.exc.IntegrityError, self.connection.dialect.loaded_dbapi.IntegrityError) as error:
            # The insert runs on the driver (store/prepared.py), which raises its own error, not SQLAlchemy's.
            if not _is_order_id_taken(getattr(error, "orig", error)):
                raise  # any other constraint broken is our bug: a 500, logged with its cause
            raise OrderIdTaken(order.order_id) from None

    def save(self, row: OrderRow, status: str, document: bytes, at: int) -> None:
        """Write a changed document; the version check refuses a write based on a stale read."""
        saved = _SAVE.rowcount(self.connection, {"row_id": row.id, "old_version": row.version, "status": status,
                                                 "document": document, "new_version": row.version + 1, "at": at})
        if saved != 1:
            raise StaleOrder(row.order_id)

    def reserve_refund(self, row_id: int, amount: int) -> bool:
        """Hold `amount` of the captured money for a refund; False if that would exceed it."""
        return _RESERVE.rowcount(self.connection, {"row_id": row_id, "amount": amount}) == 1

    def release_refund(self, row_id: int, amount: int) -> None:
        _RELEASE.rowcount(self.connection, {"row_id": row_id, "amount": amount})

    def set_captured_amount(self, site_id: str, order_id: str, amount: int) -> None:
        """Record what the processor captured for a pending order (the caller holds its lock)."""
        self.connection.execute(
            orders.update().where(orders.c.site_id == site_id, orders.c.order_id == order_id)
            .values(captured_amount=amount)
        )

    def record(self, site_id: str, order_id: str, action: str, before: str, after: str,
               token_id: str | None, at: int) -> None:
        _RECORD.rowcount(self.connection, {"site_id": site_id, "order_id": order_id, "action": action,
                                           "before": before, "after": after, "token_id": token_id, "at": at})

    def history(self, site_id: str, order_id: str) -> list[dict]:
        rows = self.connection.execute(
            sa.select(order_history)
            .where(order_history.c.site_id == site_id, order_history.c.order_id == order_id)
            .order_by(order_history.c.id)
        )
        return [dict(row._mapping) for row in rows]


def _is_order_id_taken(error: Exception) -> bool:
    """True when the driver's error is the unique (site, orderId) constraint refusing the row."""
    diagnosis = getattr(error, "diag", None)
    if diagnosis is not None:  # psycopg names the constraint
        return diagnosis.constraint_name == "uq_orders_site_order"
    return str(error) == "UNIQUE constraint failed: orders.site_id, orders.order_id"  # SQLite names its columns


class StaleOrder(Exception):
    """The order changed between read and write: a writer outside the lock (services/changes.py answers 409)."""
