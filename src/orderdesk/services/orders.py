"""Reading, updating, fulfilling and unfulfilling orders."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderAction, OrderStatus, transition
from orderdesk.errors import FieldProblem, OrderNotFound, ValidationFailed
from orderdesk.services import mail
from orderdesk.services.changes import change_order
from orderdesk.store.unit_of_work import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.orders import OrderDoc

MAX_PAGE = 100
UPDATABLE = {
    "comment": "comment",
    "shippingProvider": "shipping_provider",
    "shippingTracking": "shipping_tracking",
    "shippingTrackingURL": "shipping_tracking_url",
}


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


def parse_update(body: object) -> dict[str, str | None]:
    """Validate a PATCH body: absent = unchanged, null = cleared, a string = set."""
    if not isinstance(body, dict):
        raise ValidationFailed.of("body", "must be a JSON object")
    problems = [FieldProblem(key, "is not a field that can be updated") for key in body if key not in UPDATABLE]
    for key, value in body.items():
        if key in UPDATABLE and value is not None and not isinstance(value, str):
            problems.append(FieldProblem(key, "must be a string or null"))
    url = body.get("shippingTrackingURL")
    if isinstance(url, str) and not is_web_url(url):
        problems.append(FieldProblem("shippingTrackingURL", "must be an absolute http(s) URL"))
    if problems:
        raise ValidationFailed(problems)
    return {UPDATABLE[key]: value for key, value in body.items()}


def is_web_url(text: str) -> bool:
    """An absolute http(s) URL."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


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
