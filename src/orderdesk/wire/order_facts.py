"""Between the stored document and the domain's Order: read its facts, and write back the ones that changed.

Only facts that changed are written back, so every other byte of the client's document (a timestamp
written without milliseconds, an imported order's odd fields) stays exactly as it was stored.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.money import Money
from orderdesk.domain.orders import Extra, Item, Order, OrderStatus, Payment, Tracking
from orderdesk.wire.orders import OrderDoc

_TIMES = ("accepted_on", "fulfilled_on", "refunded_on", "disputed_on", "dispute_updated_on")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else clock.from_wire(text)


def _amount(money, currency: str) -> Money:
    return Money(int(money.value), currency) if money is not msgspec.UNSET else Money(0, currency)


def order_of(doc: OrderDoc, site_id: str, captured: int, reserved: int) -> Order:
    """The domain's Order from a stored document and the columns kept beside it."""
    currency = doc.totals.total.unit if doc.totals.total is not msgspec.UNSET else doc.customer_paid.unit
    details = doc.stripe_details
    return Order(
        site_id=site_id, order_id=str(doc.order_id), status=OrderStatus(doc.status), currency=currency,
        customer_paid=_amount(doc.customer_paid, currency), total=_amount(doc.totals.total, currency),
        captured=Money(captured, currency), reserved=Money(reserved, currency),
        items=tuple(Item(item.variant_id, item.count, _amount(item.row_total, currency),
                         item.variant_name or item.product_name) for item in doc.purchased_items),
        extras=tuple(Extra(extra.type, Money(int(extra.price.value), currency)) for extra in doc.totals.extras),
        **{name: _moment(getattr(doc, name)) for name in _TIMES},
        dispute_status=doc.dispute_last_status,
        payment=Payment(doc.stripe_card.last4 or None, details.payment_intent_id, details.charge_id,
                        details.dispute_id, details.refund_id, details.refund_reason),
        tracking=Tracking(doc.comment, doc.shipping_provider, doc.shipping_tracking, doc.shipping_tracking_url),
        customer_name=doc.customer_info.full_name, customer_email=doc.customer_info.email,
        details=doc,
    )


def render(order: Order, loaded: Order) -> OrderDoc:
    """The document of `order`: the one it was loaded from, with the facts changed since `loaded` set."""
    doc = order.details
    assert isinstance(doc, OrderDoc)
    changes: dict = {}
    if order.status != loaded.status:
        changes["status"] = order.status.value
    for name in _TIMES:
        moment = getattr(order, name)
        if moment != getattr(loaded, name):
            changes[name] = None if moment is None else clock.to_wire(moment)
    if order.dispute_status != loaded.dispute_status:
        changes["dispute_last_status"] = order.dispute_status
    if order.tracking != loaded.tracking:
        changes.update(dataclasses.asdict(order.tracking))  # named as the document's fields
    if order.payment != loaded.payment:
        payment, before = order.payment, loaded.payment
        stripe = {name: getattr(payment, name) for name in ("dispute_id", "refund_id", "refund_reason")
                  if getattr(payment, name) != getattr(before, name)}
        changes["stripe_details"] = msgspec.structs.replace(doc.stripe_details, **stripe)
    return msgspec.structs.replace(doc, **changes) if changes else doc

