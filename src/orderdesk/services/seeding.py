"""Realistic orders, the same for the same seed: for demos, tests and benchmarks."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from orderdesk.domain import clock, ids
from orderdesk.domain.money import percent_of
from orderdesk.domain.sites import Site
from orderdesk.services import seed_data as words
from orderdesk.services.placing import PROCESSING_FEE_BPS, PROCESSING_FEE_FIXED, payment_reference
from orderdesk.services.refunding import new_refund_id, whole_order_breakdown
from orderdesk.store.repositories.orders import NewOrder, OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository, RefundRow
from orderdesk.store.unit_of_work import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.money import MoneyDoc, currency_digits, display

# Seeded orders end here, so that the same seed gives the same orders on any day.
DEFAULT_UNTIL = datetime(2026, 10, 1, tzinfo=UTC)
TWO_YEARS_MS = 2 * 365 * 24 * 3600 * 1000
_MAGIC_CARDS = {"4111", "5126", "0839"}  # the simulated processor's failure cards stay out of seeds


@dataclass(frozen=True, slots=True)
class Variant:
    product_id: str
    product_name: str
    product_slug: str
    variant_id: str
    name: str
    slug: str
    price: int
    weight: float


def catalog(rng: random.Random, currency: str) -> list[Variant]:
    scale = 10 ** currency_digits(currency)
    variants = []
    for index in range(12):
        name = f"{rng.choice(words.ADJECTIVES)} {words.NOUNS[index % len(words.NOUNS)]}"
        product_id, slug = f"{rng.getrandbits(96):024x}", name.lower().replace(" ", "-")
        for colour in rng.sample(words.COLOURS, rng.randint(2, 4)):
            size = rng.choice(words.SIZES)
            variants.append(Variant(
                product_id, name, slug, f"{rng.getrandbits(96):024x}", f"{name} {colour}: {size}",
                f"{slug}-{colour}-{size}".lower(), rng.randint(5, 250) * scale - rng.choice((0, 1, 5)),
                round(rng.uniform(0.1, 5.0), 2),
            ))
    return variants


class OrderFactory:
    def __init__(self, site: Site, seed: int, until: datetime = DEFAULT_UNTIL) -> None:
        self.site, self.currency = site, site.currency
        self.rng = random.Random(seed)
        self.variants = catalog(self.rng, site.currency)
        self.until_ms = clock.to_millis(until)

    def money(self, amount: int) -> MoneyDoc:
        return MoneyDoc(self.currency, str(amount), display(amount, self.currency))

    def address(self, kind: str, name: str, country) -> wire.Address:
        code, _, _, places, streets = country
        city, state, postal = self.rng.choice(places)
        japan = self.rng.choice(("kanji", "kana")) if code == "JP" else None
        return wire.Address(kind, japan, name, f"{self.rng.randint(1, 999)} {self.rng.choice(streets)}",
                            self.rng.choice(("", "", f"Unit {self.rng.randint(1, 40)}")), city, state, code, postal)

    def order(self, order_id: str) -> tuple[wire.OrderDoc, int]:
        """One order and the amount captured for it."""
        rng = self.rng
        country = rng.choices(words.COUNTRIES, words.COUNTRY_WEIGHTS)[0]
        name = f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.LAST_NAMES)}"
        items, subtotal = [], 0
        for variant in rng.sample(self.variants, rng.randint(1, 5)):
            count = rng.choice((1, 1, 1, 2, 3))
            subtotal += variant.price * count
            items.append(wire.PurchasedItem(
                count=count, variant_price=self.money(variant.price), row_total=self.money(variant.price * count),
                product_id=variant.product_id, product_name=variant.product_name, product_slug=variant.product_slug,
                variant_id=variant.variant_id, variant_name=variant.name, variant_slug=variant.slug,
                variant_sku=variant.slug.upper()[:32], variant_image={}, weight=variant.weight,
                width=None, height=None, length=None,
            ))
        extras, total = [], subtotal
        if rng.random() < 0.15:
            discount = -percent_of(subtotal, 1000)
            extras.append(wire.Extra("discount", "WELCOME10", self.money(discount), "10% off"))
            total += discount
        shipping_name, shipping = rng.choice(words.SHIPPING)
        shipping = shipping * 10 ** currency_digits(self.currency) // 100
        extras.append(wire.Extra("shipping", shipping_name, self.money(shipping), ""))
        tax = percent_of(total, country[2])
        extras.append(wire.Extra("tax", country[1], self.money(tax), f"{country[1]} ({country[2] / 100:.2f}%)"))
        total += shipping + tax
        fee = percent_of(total, self.site.application_fee_bps)
        net = max(total - fee - percent_of(total, PROCESSING_FEE_BPS) - PROCESSING_FEE_FIXED, 0)
        status = rng.choices([s for s, _ in words.STATUSES], [w for _, w in words.STATUSES])[0]
        accepted = self.until_ms - rng.randrange(TWO_YEARS_MS)
        shipping_address, billing = self.address("shipping", name, country), self.address("billing", name, country)
        order = wire.OrderDoc(
            order_id=order_id, status=status, comment="", order_comment=rng.choice(("", "", "", "Please gift wrap.")),
            accepted_on=_at(accepted), customer_paid=self.money(total), net_amount=self.money(net),
            application_fee=self.money(fee), all_addresses=[billing, shipping_address],
            shipping_address=shipping_address, billing_address=billing,
            customer_info=wire.CustomerInfo(name, f"{name.lower().replace(' ', '.')}{rng.randint(1, 99)}@example.com"),
            purchased_items=items, purchased_items_count=sum(i.count for i in items),
            stripe_details=wire.StripeDetails(
                payment_method=f"pm_{rng.getrandbits(96):024x}", payment_intent_id=f"pi_{rng.getrandbits(96):024x}",
                customer_id=f"cus_{rng.getrandbits(64):016x}", charge_id=f"ch_{rng.getrandbits(96):024x}",
            ),
            stripe_card=self.card(name), is_shipping_required=True, payment_processor="stripe",
            totals=wire.Totals(extras=extras, subtotal=self.money(subtotal), total=self.money(total)),
        )
        return self.with_history(order, accepted), (0 if status == "pending" else total)

    def card(self, name: str) -> wire.StripeCard:
        last4 = f"{self.rng.randrange(10000):04d}"
        while last4 in _MAGIC_CARDS:
            last4 = f"{self.rng.randrange(10000):04d}"
        brand = self.rng.choices(words.BRANDS, words.BRAND_WEIGHTS)[0]
        return wire.StripeCard(last4, brand, name, wire.CardExpiry(self.rng.randint(2026, 2031), self.rng.randint(1, 12)))

    def with_history(self, order: wire.OrderDoc, accepted: int) -> wire.OrderDoc:
        """Timestamps and details that the order's status implies."""
        rng, status, later = self.rng, order.status, lambda: _at(accepted + rng.randrange(1, 14 * 86_400_000))
        changes: dict = {}
        if status in ("fulfilled", "refunded") or (status.startswith("dispute") and rng.random() < 0.5):
            carrier, url = rng.choice(words.CARRIERS)
            tracking = f"1Z{rng.getrandbits(40):010X}"
            changes |= {"fulfilled_on": later(), "shipping_provider": carrier, "shipping_tracking": tracking,
                        "shipping_tracking_url": url + tracking}
        if status == "refunded":
            changes |= {"refunded_on": later(), "stripe_details": msgspec.structs.replace(
                order.stripe_details, refund_id=f"re_{rng.getrandbits(96):024x}",
                refund_reason=rng.choice(("requested_by_customer", "duplicate", "fraudulent")))}
        if status in ("disputed", "dispute-lost"):
            changes |= {"disputed_on": later(), "dispute_updated_on": later(),
                        "dispute_last_status": "lost" if status == "dispute-lost" else rng.choice(
                            ("needs_response", "under_review", "warning_needs_response")),
                        "stripe_details": msgspec.structs.replace(order.stripe_details, dispute_id=f"dp_{rng.getrandbits(96):024x}")}
        return msgspec.structs.replace(order, **changes) if changes else order


def _at(millis: int) -> str:
    return clock.to_wire(clock.from_millis(millis))


def seed_orders(db: Database, site: Site, count: int, seed: int = 0, batch: int = 2000,
                progress: Callable[[int], None] | None = None) -> int:
    """Write `count` seeded orders to `site`; returns how many were written."""
    factory = OrderFactory(site, seed)
    with db.reading() as connection:
        taken = OrderRepository(connection).order_ids(site.id)
    written = 0
    for chunk in _chunks(factory, taken, count, batch):
        now = clock.to_millis(clock.now())
        rows, refunds = [], []
        for order, captured in chunk:
            refunded = captured if order.status == "refunded" else 0
            rows.append(NewOrder(site.id, order.order_id, order.status,
                                 clock.to_millis(clock.from_wire(order.accepted_on)), site.currency, captured,
                                 refunded, wire.encode(order), now, payment_reference(order)))
            if refunded:
                refunds.append(RefundRow(new_refund_id(), site.id, order.order_id, refunded, site.currency,
                                         "succeeded", "requested", order.stripe_details.refund_id, None, now, now,
                                         refunded_amount=refunded, breakdown=whole_order_breakdown(order, refunded)))
        with db.unit_of_work() as work:
            OrderRepository(work.connection).add_many(rows)
            RefundRepository(work.connection).add_many(refunds)
            work.commit()
        written += len(rows)
        if progress:
            progress(len(rows))
    return written


def _chunks(factory: OrderFactory, taken: set[str], count: int, batch: int) -> Iterator[list]:
    chunk = []
    for _ in range(count):
        order_id = ids.order_id(len(taken), factory.rng.getrandbits)
        while order_id in taken:
            order_id = ids.order_id(len(taken), factory.rng.getrandbits)
        taken.add(order_id)
        chunk.append(factory.order(order_id))
        if len(chunk) == batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
