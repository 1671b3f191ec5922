"""Reading, updating, fulfilling and unfulfilling orders."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from msgspec import UNSET

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderAction, OrderStatus, transition
from orderdesk.errors import OrderNotFound
from orderdesk.services import mail
from orderdesk.services.changes import change_order
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.orders import OrderDoc
from orderdesk.wire.requests import UpdateOrder

MAX_PAGE = 100
@dataclass(frozen=True, slots=True)
class OrderPage:
    documents: list[bytes]
    limit: int
    offset: int
    total: int


def list_orders(db: Database, site_id: str, status: OrderStatus | None, offset: int, limit: int) -> OrderPage:
    """Newest `acceptedOn` first, ties by `orderId`; `limit` is capped at 100 as Webflow does."""
    limit = min(limit, MAX_PAGE)
    documents, total = db.lookups.page(site_id, None if status is None else str(status), offset, limit)
    return OrderPage(documents, limit, offset, total)


def get_order(db: Database, site_id: str, order_id: str) -> bytes:
    document = db.lookups.document(site_id, order_id)
    if document is None:
        raise OrderNotFound()
    return document


def parse_update(body: UpdateOrder) -> dict[str, str | None]:
    """The PATCH's changes (the decoder checked them): absent = unchanged, null = cleared, a string = set."""
    return {name: value for name, value in msgspec.structs.asdict(body).items() if value is not UNSET}


def update_order(db: Database, site_id: str, order_id: str, changes: dict[str, str | None],
                 token_id: str | None) -> bytes:
    def apply(order: OrderDoc) -> OrderDoc:
        values = dict(changes)
        if "comment" in values and values["comment"] is None:
            values["comment"] = ""  # the spec does not let comment be null: cleared is empty
        return msgspec.structs.replace(order, **values)

    with db.unit_of_work() as work:
        document, changed = change_order(work, site_id, order_id, "update", token_id, apply)
        work.commit()
    return document


def _set_status(action: OrderAction, order_id: str):
    def apply(order: OrderDoc) -> OrderDoc:
        target = transition(order_id, OrderStatus(order.status), action)
        if target is None:
            return order
        fulfilled_on = clock.to_wire(clock.now()) if target == OrderStatus.FULFILLED else None
        return msgspec.structs.replace(order, status=target.value, fulfilled_on=fulfilled_on)

    return apply


def fulfill_order(db: Database, site_id: str, order_id: str, token_id: str | None,
                  send_email: bool = False) -> tuple[bytes, bool]:
    """Returns the document and whether the order changed (the fulfilled email goes only then)."""
    with db.unit_of_work() as work:
        document, changed = change_order(work, site_id, order_id, "fulfill", token_id,
                                         _set_status(OrderAction.FULFILL, order_id))
        if changed and send_email:
            mail.queue_fulfilled_email(work.connection, site_id, wire.decode(document))
        work.commit()
    return document, changed


def unfulfill_order(db: Database, site_id: str, order_id: str, token_id: str | None) -> bytes:
    with db.unit_of_work() as work:
        document, _ = change_order(
            work, site_id, order_id, "unfulfill", token_id, _set_status(OrderAction.UNFULFILL, order_id)
        )
        work.commit()
    return document
