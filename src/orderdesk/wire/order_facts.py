"""Between the stored document and the domain's Order: read its facts, and write back the ones that changed.

Only facts that changed are written back, so every other byte of the client's document (a timestamp
written without milliseconds, an imported order's odd fields) stays exactly as it was stored.
"""

from __future__ import annotations

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


_STATUS = {status.value: status for status in OrderStatus}


def order_of(doc: OrderDoc, site_id: str, captured: int, reserved: int) -> Order:
    """The domain's Order from a stored document and the columns kept beside it. (Every write reads one:
    written out field by field, without generators, it costs half what it did.)"""
    totals = doc.totals
    currency = totals.total.unit if totals.total is not msgspec.UNSET else doc.customer_paid.unit
    details = doc.stripe_details
    customer = doc.customer_info
    return Order(
        site_id, str(doc.order_id), _STATUS.get(doc.status) or OrderStatus(doc.status), currency,
        _amount(doc.customer_paid, currency), _amount(totals.total, currency),
        Money(captured, currency), Money(reserved, currency),
        tuple([Item(item.variant_id, item.count, _amount(item.row_total, currency),
                    item.variant_name or item.product_name) for item in doc.purchased_items]),
        tuple([Extra(extra.type, Money(int(extra.price.value), currency)) for extra in totals.extras]),
        _moment(doc.accepted_on), _moment(doc.fulfilled_on), _moment(doc.refunded_on), _moment(doc.disputed_on),
        _moment(doc.dispute_updated_on), doc.dispute_last_status,
        Payment(doc.stripe_card.last4 or None, details.payment_intent_id, details.charge_id,
                details.dispute_id, details.refund_id, details.refund_reason),
        Tracking(doc.comment, doc.shipping_provider, doc.shipping_tracking, doc.shipping_tracking_url),
        customer.full_name, customer.email, doc,
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
        tracking = order.tracking  # its fields are named as the document's
        changes.update(comment=tracking.comment, shipping_provider=tracking.shipping_provider,
                       shipping_tracking=tracking.shipping_tracking, shipping_tracking_url=tracking.shipping_tracking_url)
    if order.payment != loaded.payment:
        payment, before = order.payment, loaded.payment
        stripe = {name: getattr(payment, name) for name in ("dispute_id", "refund_id", "refund_reason")
                  if getattr(payment, name) != getattr(before, name)}
        changes["stripe_details"] = msgspec.structs.replace(doc.stripe_details, **stripe)
    return msgspec.structs.replace(doc, **changes) if changes else doc



# The document's fields `render` may set, and their names on the wire.
_RENDERED = ("status", *_TIMES, "dispute_last_status", "comment", "shipping_provider", "shipping_tracking",
             "shipping_tracking_url", "stripe_details")
_WIRE_NAME = {field.name: field.encode_name for field in msgspec.structs.fields(OrderDoc)}
_json = msgspec.json.Encoder()


def _plain(value):
    return None if value is msgspec.UNSET else msgspec.to_builtins(value)


def history_entry(before: OrderDoc, after: OrderDoc) -> tuple[str, str]:
    """The history row's `before` and `after`: the fields `render` changed, by their wire names, in order.
    Every other field of `after` is the very object of `before`, so only these can differ."""
    changed = sorted((_WIRE_NAME[name], name) for name in _RENDERED
                     if getattr(after, name) is not msgspec.UNSET and getattr(before, name) != getattr(after, name))
    return (_json.encode({key: _plain(getattr(before, name)) for key, name in changed}).decode(),
            _json.encode({key: _plain(getattr(after, name)) for key, name in changed}).decode())
