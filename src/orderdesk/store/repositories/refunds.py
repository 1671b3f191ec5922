"""Refund rows: the record of every refund asked of a processor."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.store.tables import refunds


@dataclass(frozen=True, slots=True)
class RefundRow:
    id: str
    site_id: str
    order_id: str
    amount: int
    currency: str
    state: str
    reason: str | None
    processor_reference: str | None
    failure_reason: str | None
    created_on: int
    updated_on: int


class RefundRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, refund: RefundRow) -> None:
        self.add_many([refund])

    def add_many(self, rows: list[RefundRow]) -> None:
        if rows:
            self.connection.execute(refunds.insert(), [asdict(refund) for refund in rows])

    def get(self, refund_id: str) -> RefundRow | None:
        row = self.connection.execute(sa.select(refunds).where(refunds.c.id == refund_id)).first()
        return RefundRow(**row._mapping) if row else None

    def for_order(self, site_id: str, order_id: str) -> list[RefundRow]:
        rows = self.connection.execute(
            sa.select(refunds).where(refunds.c.site_id == site_id, refunds.c.order_id == order_id)
            .order_by(refunds.c.created_on, refunds.c.id)
        )
        return [RefundRow(**row._mapping) for row in rows]

    def settle(self, refund_id: str, state: str, processor_reference: str | None,
               failure_reason: str | None, at: int) -> bool:
        """Move a pending refund to its outcome; False if it was already settled."""
        result = self.connection.execute(
            refunds.update()
            .where(refunds.c.id == refund_id, refunds.c.state.in_(("pending", "pending_information")))
            .values(state=state, processor_reference=processor_reference, failure_reason=failure_reason,
                    updated_on=at)
        )
        return result.rowcount == 1
