"""Reading, updating, fulfilling and unfulfilling orders."""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.domain.orders import OrderStatus
from orderdesk.domain.pages import MAX_PAGE
from orderdesk.errors import OrderNotFound
from orderdesk.services import mail
from orderdesk.store.database import Database



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


def update_order(db: Database, site_id: str, order_id: str, changes: dict[str, str | None],
                 token_id: str | None) -> bytes:
    """`changes`: the PATCH's fields (comment and the shipping ones), a null clears one."""
    with db.unit_of_work() as work:
        order = work.orders.lock(site_id, order_id)
        order.update(changes)
        work.commit("update", by=token_id)
    return work.orders.document(order)


def fulfill_order(db: Database, site_id: str, order_id: str, token_id: str | None,
                  send_email: bool = False) -> tuple[bytes, bool]:
    """Returns the document and whether the order changed (the fulfilled email goes only then)."""
    with db.unit_of_work() as work:
        order = work.orders.lock(site_id, order_id)
        changed = order.fulfill(work.clock.now())
        if changed and send_email:
            mail.queue_fulfilled_email(work, order)
        work.commit("fulfill", by=token_id)
    return work.orders.document(order), changed


def unfulfill_order(db: Database, site_id: str, order_id: str, token_id: str | None) -> bytes:
    with db.unit_of_work() as work:
        order = work.orders.lock(site_id, order_id)
        order.unfulfill()
        work.commit("unfulfill", by=token_id)
    return work.orders.document(order)
