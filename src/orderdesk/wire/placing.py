"""A placed order's document (our extension): compute what the client left out, refuse what is inconsistent.

The API decodes the client's document into a Draft; the service picks the order's id and hands it,
with the site and the time, to `Draft.complete`, which answers the domain's Order (its `details` the
completed document) or one ValidationFailed naming every problem.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import msgspec
from msgspec import UNSET

from orderdesk.domain import clock
from orderdesk.domain import placing as pricing
from orderdesk.domain.addresses import is_email, is_web_url
from orderdesk.domain.money import MAX_AMOUNT
from orderdesk.domain.orders import Order, OrderStatus
from orderdesk.domain.sites import Site
from orderdesk.errors import FieldProblem, ValidationFailed
from orderdesk.wire import orders as wire
from orderdesk.wire.money import MoneyDoc, display
from orderdesk.wire.order_facts import order_of
from orderdesk.wire.orders import OrderDoc
from orderdesk.wire.requests import MAX_ID

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)\Z")
MAX_COUNT = 1_000_000  # of one item in one order
_TIMESTAMPS = ("accepted_on", "fulfilled_on", "refunded_on", "disputed_on", "dispute_updated_on")
_STATUS_TIMESTAMP = {
    OrderStatus.FULFILLED: "fulfilled_on", OrderStatus.REFUNDED: "refunded_on",
    OrderStatus.DISPUTED: "disputed_on", OrderStatus.DISPUTE_LOST: "disputed_on",
}


@dataclass(frozen=True, slots=True)
class Draft:
    """An order as the client placed it, not checked yet (services see it as ports.OrderDraft)."""

    document: OrderDoc

    @property
    def wanted_id(self) -> str | None:
        """The orderId the client asked for, if any."""
        return None if self.document.order_id is UNSET else self.document.order_id

    def complete(self, site: Site, order_id: str | None, now: datetime) -> Order:
        """The order with every computed field filled in; `order_id` None when the wanted one is refused."""
        return complete_order(self.document, site, order_id, now)


class _Checker:
    """Collects every problem in the order, so that one 400 names them all."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.problems: list[FieldProblem] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append(FieldProblem(field, message))

    def amount(self, money: MoneyDoc, field: str) -> int:
        if money.unit != self.currency:
            self.fail(f"{field}.unit", f"must be the site's currency, {self.currency}")
        if not _INTEGER.match(money.value):
            self.fail(f"{field}.value", "must be a whole number of minor units, as a string")
            return 0
        # Length first: int() of thousands of digits is refused by Python (and slow before that).
        amount = int(money.value) if len(money.value) <= 20 else MAX_AMOUNT + 1
        if abs(amount) > MAX_AMOUNT:
            self.fail(f"{field}.value", f"must be at most {MAX_AMOUNT} minor units")
            return 0
        if money.string is not UNSET and money.unit == self.currency and money.string != display(amount, self.currency):
            self.fail(f"{field}.string", f"must be {display(amount, self.currency)!r}")
        return amount

    def computed(self, given: MoneyDoc | msgspec.UnsetType, expected: int, field: str) -> MoneyDoc:
        if given is not UNSET and self.amount(given, field) != expected:
            self.fail(field, f"must be {expected} (computed from the order)")
        return MoneyDoc(self.currency, str(expected), display(expected, self.currency))

    def money(self, given: MoneyDoc, field: str) -> tuple[MoneyDoc, int]:
        amount = self.amount(given, field)
        return MoneyDoc(self.currency, str(amount), display(amount, self.currency)), amount


def complete_order(order: OrderDoc, site: Site, order_id: str | None, now: datetime) -> Order:
    """The order with every computed field filled in, and what was captured for it."""
    check = _Checker(site.currency)
    items, row_amounts, count = [], [], 0
    for index, item in enumerate(order.purchased_items):
        field = f"purchasedItems[{index}]"
        if not 1 <= item.count <= MAX_COUNT:
            check.fail(f"{field}.count", "must be at least 1" if item.count < 1 else f"must be at most {MAX_COUNT}")
            continue
        if len(item.variant_id) > MAX_ID:
            check.fail(f"{field}.variantId", f"must have at most {MAX_ID} characters")
        price_doc, price = check.money(item.variant_price, f"{field}.variantPrice")
        if price < 0:
            check.fail(f"{field}.variantPrice.value", "must not be negative")
        row_total = check.computed(item.row_total, price * item.count, f"{field}.rowTotal")
        items.append(msgspec.structs.replace(item, variant_price=price_doc, row_total=row_total))
        row_amounts.append(price * item.count)
        count += item.count
    if not items:
        check.fail("purchasedItems", "must list at least one item")
    extras, extra_amounts = [], []
    for index, extra in enumerate(order.totals.extras):
        price_doc, price = check.money(extra.price, f"totals.extras[{index}].price")
        if extra.type in ("shipping", "tax") and price < 0:
            check.fail(f"totals.extras[{index}].price.value", f"must not be negative for {extra.type}")
        extras.append(msgspec.structs.replace(extra, price=price_doc))
        extra_amounts.append(price)
    subtotal = pricing.subtotal(row_amounts)
    total = pricing.order_total(subtotal, extra_amounts)
    if total < 0:
        check.fail("totals.total", "must not be negative")
    elif total > MAX_AMOUNT:
        check.fail("totals.total", f"must be at most {MAX_AMOUNT} minor units")
    # Required: the spec types it `format: email`, so an order without one would fail every client's schema.
    if not is_email(order.customer_info.email):
        check.fail("customerInfo.email", "must be an email address")
    if order.shipping_tracking_url is not None and not is_web_url(order.shipping_tracking_url):
        check.fail("shippingTrackingURL", "must be an absolute http(s) URL")
    totals = wire.Totals(
        extras=extras,
        subtotal=check.computed(order.totals.subtotal, subtotal, "totals.subtotal"),
        total=check.computed(order.totals.total, total, "totals.total"),
    )
    customer_paid = check.computed(order.customer_paid, total, "customerPaid")
    if order.application_fee is UNSET:
        fee = pricing.application_fee(total, site.application_fee_bps)
        application_fee = check.computed(UNSET, fee, "applicationFee")
    else:
        application_fee, fee = check.money(order.application_fee, "applicationFee")
        if not 0 <= fee <= total:
            check.fail("applicationFee", f"must be between 0 and the order's total ({total})")
    net_amount = _net_amount(check, order.net_amount, total, fee)
    if order.purchased_items_count is not UNSET and order.purchased_items_count != count:
        check.fail("purchasedItemsCount", f"must be {count} (the sum of the items' counts)")
    addresses = [order.billing_address, order.shipping_address]
    if order.all_addresses is not UNSET and sorted(order.all_addresses, key=_address_key) != sorted(
        addresses, key=_address_key
    ):
        check.fail("allAddresses", "must hold the billing and the shipping address")
    if order_id is None:
        check.fail("orderId", "is already used on this site or is not of the form xxx-xxx")
    status = OrderStatus(order.status)
    timestamps = _timestamps(check, order, status, now)
    if check.problems:
        raise ValidationFailed(check.problems)
    stripe = order.stripe_details
    if order.payment_processor == "stripe" and stripe.payment_intent_id is None and stripe.charge_id is None:
        # Every placed order gets a (simulated) charge that refunds can point at.
        stripe = msgspec.structs.replace(
            stripe, payment_intent_id="pi_sim_" + secrets.token_hex(12), charge_id="ch_sim_" + secrets.token_hex(12)
        )
    completed = msgspec.structs.replace(
        order, order_id=order_id, purchased_items=items, totals=totals, customer_paid=customer_paid,
        application_fee=application_fee, net_amount=net_amount, purchased_items_count=count,
        all_addresses=addresses, stripe_details=stripe, **timestamps,
    )
    captured, reserved = pricing.placed_amounts(status, total)
    return order_of(completed, site.id, captured, reserved)


def _net_amount(check: _Checker, given, total: int, fee: int) -> MoneyDoc:
    if given is UNSET:
        return check.computed(UNSET, pricing.net_amount(total, fee), "netAmount")
    ceiling = total - fee
    money, amount = check.money(given, "netAmount")
    if not 0 <= amount <= max(ceiling, 0):
        # Processor fees are not ours to know, so any net amount that fits is accepted.
        check.fail("netAmount", f"must be between 0 and customerPaid - applicationFee ({ceiling})")
    return money


def _address_key(address: wire.Address) -> bytes:
    return msgspec.json.encode(address)


def _timestamps(check: _Checker, order: OrderDoc, status: OrderStatus, now: datetime) -> dict[str, str | None]:
    now_text = clock.to_wire(now)
    values: dict[str, str | None] = {}
    for name in _TIMESTAMPS:
        text = getattr(order, name)
        if text is None:
            values[name] = None
            continue
        try:
            moment = clock.from_wire(text)
        except (ValueError, OverflowError):
            moment = None
        if moment is None or not clock.EARLIEST <= moment <= clock.LATEST:
            check.fail(_camel(name), f"must be an ISO 8601 timestamp from {clock.EARLIEST.year} to {clock.LATEST.year}")
            values[name] = None
        else:
            values[name] = clock.to_wire(moment)
    values["accepted_on"] = values["accepted_on"] or now_text
    needed = _STATUS_TIMESTAMP.get(status)
    if needed and values[needed] is None:
        values[needed] = now_text
    return values


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def payment_reference(order: OrderDoc) -> str | None:
    """The id a processor's events name the order's payment by."""
    return order.stripe_details.payment_intent_id or order.stripe_details.charge_id
