"""Refund rows: the record of every refund asked of a processor."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.domain.refunds import UNSETTLED, Refund
from orderdesk.store.prepared import Prepared
from orderdesk.store.tables import refund_items, refunds


@dataclass(frozen=True, slots=True)
class RefundFilter:
    states: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    order_id: str | None = None
    sku_id: str | None = None
    reason: str | None = None
    failure_reason: str | None = None
    created_after: int | None = None  # inclusive bounds, Unix ms
    created_before: int | None = None


# The statements every refund runs, compiled once and run on the driver (see store/prepared.py).
_ID = refunds.c.id == sa.bindparam("refund_id")
_UNSETTLED = sa.or_(*(refunds.c.state == state for state in sorted(UNSETTLED)))
_GET = sa.select(refunds).where(_ID)
_GET_ANY = Prepared(_GET)
_GET_OF_SITE = Prepared(_GET.where(refunds.c.site_id == sa.bindparam("site_id")))
# FOR UPDATE on PostgreSQL (SQLite's writers already hold the database's one write lock).
_LOCK_OF_SITE = Prepared(_GET.where(refunds.c.site_id == sa.bindparam("site_id")).with_for_update())
_FOR_ORDER = Prepared(sa.select(refunds).where(
    refunds.c.site_id == sa.bindparam("site_id"), refunds.c.order_id == sa.bindparam("order_id")
).order_by(refunds.c.created_on, refunds.c.id))
_ITEMS_OF = sa.select(refund_items).where(
    refund_items.c.refund_id.in_(sa.bindparam("refund_ids", expanding=True))
).order_by(refund_items.c.refund_id, refund_items.c.sku_id)
_ITEMS_OF_ONE = Prepared(sa.select(refund_items).where(refund_items.c.refund_id == sa.bindparam("refund_id"))
                         .order_by(refund_items.c.sku_id))
_INSERT_ONE = Prepared(refunds.insert().values({column.name: sa.bindparam(column.name) for column in refunds.c}))
_SETTLE = Prepared(refunds.update().where(_ID, _UNSETTLED).values(
    state=sa.bindparam("state"), processor_reference=sa.bindparam("processor_reference"),
    failure_reason=sa.bindparam("failure_reason"), refunded_amount=sa.bindparam("refunded_amount"),
    expires_on=sa.bindparam("expires_on"), updated_on=sa.bindparam("at"),
))
_TOUCH = Prepared(refunds.update().where(_ID, _UNSETTLED).values(updated_on=sa.bindparam("at")))
# Rows read by position: the dataclass lists the table's columns in order.
assert [column.name for column in refunds.c] == [field.name for field in fields(Refund)]


class RefundRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, refund: Refund) -> None:
        _INSERT_ONE.rowcount(self.connection, asdict(refund))

    def add_items(self, refund_id: str, items: list[tuple[str, int, int]]) -> None:
        """What an item refund took: (sku id, quantity, amount) per purchased item."""
        if items:
            self.connection.execute(refund_items.insert(), [
                {"refund_id": refund_id, "sku_id": sku, "quantity": quantity, "amount": amount}
                for sku, quantity, amount in items
            ])

    def items_of(self, refund_ids: list[str]) -> dict[str, list[tuple[str, int, int]]]:
        found: dict[str, list[tuple[str, int, int]]] = {}
        if not refund_ids:
            return found
        if len(refund_ids) == 1:  # the usual case, without an expanding IN to render
            rows = _ITEMS_OF_ONE.all(self.connection, {"refund_id": refund_ids[0]})
        else:
            rows = self.connection.execute(_ITEMS_OF, {"refund_ids": refund_ids}).all()
        for refund_id, sku_id, quantity, amount in rows:
            found.setdefault(refund_id, []).append((sku_id, quantity, amount))
        return found

    def get(self, refund_id: str, site_id: str | None = None) -> Refund | None:
        if site_id is None:
            row = _GET_ANY.first(self.connection, {"refund_id": refund_id})
        else:
            row = _GET_OF_SITE.first(self.connection, {"refund_id": refund_id, "site_id": site_id})
        return Refund(*row) if row else None

    def lock(self, refund_id: str, site_id: str) -> Refund | None:
        """The refund, locked until the transaction ends: read-modify-write without lost updates."""
        row = _LOCK_OF_SITE.first(self.connection, {"refund_id": refund_id, "site_id": site_id})
        return Refund(*row) if row else None

    def by_request_key(self, request_key: str) -> Refund | None:
        row = self.connection.execute(sa.select(refunds).where(refunds.c.request_key == request_key)).first()
        return Refund(**row._mapping) if row else None

    def forget_request_key(self, refund_id: str) -> None:
        self.connection.execute(refunds.update().where(refunds.c.id == refund_id).values(request_key=None))

    def by_processor_reference(self, site_id: str, reference: str) -> Refund | None:
        row = self.connection.execute(
            sa.select(refunds).where(refunds.c.processor_reference == reference, refunds.c.site_id == site_id)
        ).first()
        return Refund(**row._mapping) if row else None

    def for_order(self, site_id: str, order_id: str) -> list[Refund]:
        return [Refund(*row) for row in _FOR_ORDER.all(self.connection, {"site_id": site_id, "order_id": order_id})]

    def page(self, site_id: str, where: RefundFilter, limit: int, starting_after: Refund | None = None,
             ending_before: Refund | None = None) -> tuple[list[Refund], bool]:
        """Newest first; one page after (or before) a cursor, and whether more lie beyond it."""
        query = sa.select(refunds).where(refunds.c.site_id == site_id)
        for condition in _conditions(where):
            query = query.where(condition)
        key = sa.tuple_(refunds.c.created_on, refunds.c.id)
        if ending_before is not None:
            query = query.where(key > sa.tuple_(sa.literal(ending_before.created_on), sa.literal(ending_before.id)))
            rows = list(self.connection.execute(
                query.order_by(refunds.c.created_on, refunds.c.id).limit(limit + 1)
            ))
            more = len(rows) > limit
            return [Refund(**row._mapping) for row in reversed(rows[:limit])], more
        if starting_after is not None:
            query = query.where(key < sa.tuple_(sa.literal(starting_after.created_on), sa.literal(starting_after.id)))
        rows = list(self.connection.execute(
            query.order_by(refunds.c.created_on.desc(), refunds.c.id.desc()).limit(limit + 1)
        ))
        return [Refund(**row._mapping) for row in rows[:limit]], len(rows) > limit

    def unsettled(self, updated_before: int, limit: int = 100) -> list[Refund]:
        """Refunds still waiting for the processor, oldest first, untouched since `updated_before`."""
        rows = self.connection.execute(
            sa.select(refunds).where(refunds.c.state.in_(sorted(UNSETTLED)), refunds.c.updated_on < updated_before)
            .order_by(refunds.c.updated_on).limit(limit)
        )
        return [Refund(**row._mapping) for row in rows]

    def settle(self, refund_id: str, state: str, processor_reference: str | None,
               failure_reason: str | None, refunded_amount: int, expires_on: int | None, at: int) -> bool:
        """Move an unsettled refund to `state`; False if it was settled already."""
        return _SETTLE.rowcount(self.connection, {
            "refund_id": refund_id, "state": state, "processor_reference": processor_reference,
            "failure_reason": failure_reason, "refunded_amount": refunded_amount, "expires_on": expires_on, "at": at,
        }) == 1

    def touch(self, refund_id: str, at: int) -> None:
        """Note that the processor was asked again (the reconciler waits before asking once more)."""
        _TOUCH.rowcount(self.connection, {"refund_id": refund_id, "at": at})

    def set_metadata(self, refund_id: str, metadata: str, at: int) -> None:
        self.connection.execute(refunds.update().where(refunds.c.id == refund_id).values(metadata=metadata, updated_on=at))

    def count_by_state(self) -> dict[str, int]:
        rows = self.connection.execute(sa.select(refunds.c.state, sa.func.count()).group_by(refunds.c.state))
        return {state: count for state, count in rows}


def _conditions(where: RefundFilter) -> list:
    conditions = []
    if where.states:
        conditions.append(refunds.c.state.in_(where.states))
    if where.ids:
        conditions.append(refunds.c.id.in_(where.ids))
    if where.order_id is not None:
        conditions.append(refunds.c.order_id == where.order_id)
    if where.sku_id is not None:
        conditions.append(refunds.c.id.in_(
            sa.select(refund_items.c.refund_id).where(refund_items.c.sku_id == where.sku_id)
        ))
    if where.reason is not None:
        conditions.append(refunds.c.reason == where.reason)
    if where.failure_reason is not None:
        conditions.append(refunds.c.failure_reason == where.failure_reason)
    if where.created_after is not None:
        conditions.append(refunds.c.created_on >= where.created_after)
    if where.created_before is not None:
        conditions.append(refunds.c.created_on <= where.created_before)
    return conditions
