"""Realistic orders, the same for the same seed: for demos, tests and benchmarks.

A million orders is a benchmark's everyday size, which shapes this module:

- Orders are made in chunks. Each chunk has its own Random, made from the seed and the chunk's index, and
  its own slice of the two years the orders span, so worker processes can make chunks while this process
  writes them, and the orders do not depend on which worker made which chunk, or when.
- Order ids are drawn here, chunk after chunk, against the ids the site already has, and sent with the
  chunk: only this process knows every id taken.
- A chunk's orders come in time order, so the indexes that lead with acceptedOn grow at one end.
- Rows go to the database in bulk (store/bulk.py): executemany on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from orderdesk.domain import clock, ids
from orderdesk.domain import placing as pricing
from orderdesk.domain.money import percent_of
from orderdesk.domain.refunds import Refund, RefundState
from orderdesk.domain.sites import Site
from orderdesk.seed import words
from orderdesk.services.refunding import new_refund_id, whole_order_breakdown
from orderdesk.store import bulk, tables
from orderdesk.store.database import Database
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.wire import orders as wire
from orderdesk.wire.money import MoneyDoc, currency_digits, display
from orderdesk.wire.order_facts import order_of
from orderdesk.wire.placing import payment_reference

# Seeded orders end here, so that the same seed gives the same orders on any day.
DEFAULT_UNTIL = datetime(2026, 10, 1, tzinfo=UTC)
TWO_YEARS_MS = 2 * 365 * 24 * 3600 * 1000
DAY_MS = 86_400_000
_MAGIC_CARDS = {"4111", "5126", "0839"}  # the simulated processor's failure cards stay out of seeds
WORKERS = 2  # processes making orders while this one writes them
IN_PROCESS_UP_TO = 2000  # orders made faster here than by processes that have yet to start
_AHEAD = 2 * WORKERS  # chunks made but not yet written: bounds the memory a seed holds

ORDER_COLUMNS = ("site_id", "order_id", "status", "accepted_on", "currency", "captured_amount", "refund_reserved",
                 "version", "document", "updated_on", "payment_reference")
REFUND_COLUMNS = tuple(field.name for field in fields(Refund))


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


class Amounts(dict):
    """A MoneyDoc per amount, made once: a big seed names the same amounts over and over."""

    def __init__(self, currency: str) -> None:
        super().__init__()
        self.currency = currency

    def __missing__(self, amount: int) -> MoneyDoc:
        money = self[amount] = MoneyDoc(self.currency, str(amount), display(amount, self.currency))
        return money


def pick(chance: Callable[[], float], values):
    """A uniform pick with one float, several times faster than `Random.choice`."""
    return values[int(chance() * len(values))]


def between(chance: Callable[[], float], low: int, high: int) -> int:
    """`Random.randint(low, high)`, the fast way."""
    return low + int(chance() * (high - low + 1))


class OrderFactory:
    """Makes orders for one site; everything that does not vary per order is made once, up front."""

    def __init__(self, site: Site, seed: int) -> None:
        self.site = site
        self.variants = catalog(random.Random(f"{seed}/catalog"), site.currency)
        self.money = Amounts(site.currency)
        # Each variant bought 1, 2 or 3 times: the item and its row total.
        self.items = [[(self.item(variant, count), variant.price * count) for count in (1, 2, 3)]
                      for variant in self.variants]
        scale = 10 ** currency_digits(site.currency)
        self.shipping = [(wire.Extra("shipping", name, self.money[cents * scale // 100], ""), cents * scale // 100)
                         for name, cents in words.SHIPPING]

    def item(self, variant: Variant, count: int) -> wire.PurchasedItem:
        return wire.PurchasedItem(
            count=count, variant_price=self.money[variant.price], row_total=self.money[variant.price * count],
            product_id=variant.product_id, product_name=variant.product_name, product_slug=variant.product_slug,
            variant_id=variant.variant_id, variant_name=variant.name, variant_slug=variant.slug,
            variant_sku=variant.slug.upper()[:32], variant_image={}, weight=variant.weight,
            width=None, height=None, length=None,
        )

    def chunk(self, rng: random.Random, order_ids: list[str], start: int,
              end: int) -> list[tuple[wire.OrderDoc, int, int, int]]:
        """Orders for `order_ids` accepted between `start` and `end` (Unix ms), oldest first: each with the
        time it was accepted, the amount captured for it and the amount of that held by its refund."""
        chance = rng.random
        times = sorted(start + int(chance() * (end - start)) for _ in order_ids)
        made = []
        for order_id, accepted in zip(order_ids, times, strict=True):
            order, total = self.order(rng, order_id, accepted)
            made.append((order, accepted, *pricing.placed_amounts(order.status, total)))
        return made

    def order(self, rng: random.Random, order_id: str, accepted: int) -> tuple[wire.OrderDoc, int]:
        """One order and its total."""
        chance, bits, money = rng.random, rng.getrandbits, self.money
        country = pick(chance, words.COUNTRIES)
        code, tax_name, tax_bps, _, _ = country
        name = f"{pick(chance, words.FIRST_NAMES)} {pick(chance, words.LAST_NAMES)}"
        picked = [self.items[index][pick(chance, words.ITEM_COUNTS) - 1]
                  for index in _distinct(chance, len(self.variants), between(chance, 1, 5))]
        items = [item for item, _ in picked]
        subtotal = pricing.subtotal(row_total for _, row_total in picked)
        extras, discount = [], 0
        if chance() < 0.15:
            discount = -percent_of(subtotal, 1000)
            extras.append(wire.Extra("discount", "WELCOME10", money[discount], "10% off"))
        shipping_extra, shipping = pick(chance, self.shipping)
        tax = percent_of(subtotal + discount, tax_bps)
        extras += [shipping_extra, wire.Extra("tax", tax_name, money[tax], f"{tax_name} ({tax_bps / 100:.2f}%)")]
        total = pricing.order_total(subtotal, (discount, shipping, tax))
        fee = pricing.application_fee(total, self.site.application_fee_bps)
        net = pricing.net_amount(total, fee)
        status = pick(chance, words.STATUSES)
        shipping_address, billing = self.address(chance, "shipping", name, country), self.address(chance, "billing", name, country)
        order = wire.OrderDoc(
            order_id=order_id, status=status, comment="", order_comment=pick(chance, words.ORDER_COMMENTS),
            accepted_on=at(accepted), customer_paid=money[total], net_amount=money[net], application_fee=money[fee],
            all_addresses=[billing, shipping_address], shipping_address=shipping_address, billing_address=billing,
            customer_info=wire.CustomerInfo(name, f"{name.lower().replace(' ', '.')}{between(chance, 1, 99)}@example.com"),
            purchased_items=items, purchased_items_count=sum(item.count for item in items),
            stripe_card=self.card(chance, name), is_shipping_required=True, payment_processor="stripe",
            totals=wire.Totals(extras=extras, subtotal=money[subtotal], total=money[total]),
            **self.history(rng, status, accepted, {
                "payment_method": f"pm_{bits(96):024x}", "payment_intent_id": f"pi_{bits(96):024x}",
                "customer_id": f"cus_{bits(64):016x}", "charge_id": f"ch_{bits(96):024x}",
            }),
        )
        return order, total

    def address(self, chance: Callable[[], float], kind: str, name: str, country) -> wire.Address:
        code, _, _, places, streets = country
        city, state, postal = pick(chance, places)
        japan = pick(chance, ("kanji", "kana")) if code == "JP" else None
        line2 = pick(chance, words.LINE2)
        return wire.Address(kind, japan, name, f"{between(chance, 1, 999)} {pick(chance, streets)}",
                            f"{line2} {between(chance, 1, 40)}" if line2 else "", city, state, code, postal)

    def card(self, chance: Callable[[], float], name: str) -> wire.StripeCard:
        last4 = f"{int(chance() * 10000):04d}"
        while last4 in _MAGIC_CARDS:
            last4 = f"{int(chance() * 10000):04d}"
        return wire.StripeCard(last4, pick(chance, words.BRANDS), name,
                               wire.CardExpiry(between(chance, 2026, 2031), between(chance, 1, 12)))

    def history(self, rng: random.Random, status: str, accepted: int, stripe: dict) -> dict:
        """OrderDoc fields that the status implies: its timestamps, shipping, and the processor's details
        (`stripe`, with a refund or dispute id added when the status has one)."""
        chance, bits = rng.random, rng.getrandbits

        def later() -> int:
            return accepted + 1 + int(chance() * (14 * DAY_MS - 1))

        changes: dict = {}
        if status in ("fulfilled", "refunded") or (status.startswith("dispute") and chance() < 0.5):
            carrier, url = pick(chance, words.CARRIERS)
            tracking = f"1Z{bits(40):010X}"
            changes |= {"fulfilled_on": at(later()), "shipping_provider": carrier, "shipping_tracking": tracking,
                        "shipping_tracking_url": url + tracking}
        if status == "refunded":
            changes["refunded_on"] = at(later())
            stripe |= {"refund_id": f"re_{bits(96):024x}", "refund_reason": pick(chance, words.REFUND_REASONS)}
        if status in ("disputed", "dispute-lost"):
            disputed, updated = sorted((later(), later()))
            changes |= {"disputed_on": at(disputed), "dispute_updated_on": at(updated),
                        "dispute_last_status": "lost" if status == "dispute-lost" else pick(
                            chance, words.OPEN_DISPUTE_STATUSES)}
            stripe["dispute_id"] = f"dp_{bits(96):024x}"
        return changes | {"stripe_details": wire.StripeDetails(**stripe)}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


def at(millis: int) -> str:
    """`clock.to_wire(clock.from_millis(millis))` without a datetime per timestamp: a seed makes millions."""
    days, millis = divmod(millis, DAY_MS)
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_day(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def _distinct(chance: Callable[[], float], below: int, count: int) -> list[int]:
    """`count` different numbers under `below`, in the order drawn (`Random.sample`, the fast way)."""
    chosen: list[int] = []
    while len(chosen) < count:
        index = int(chance() * below)
        if index not in chosen:
            chosen.append(index)
    return chosen


# --- chunks: planned here, made in worker processes ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    order_ids: list[str]
    start: int  # its orders are accepted from here (Unix ms) ...
    end: int  # ... to here


def plan(taken: set[str], count: int, batch: int, seed: int, until: datetime = DEFAULT_UNTIL) -> Iterator[Chunk]:
    """The seed's chunks in order, each with fresh order ids (added to `taken`) and its slice of two years."""
    draw = random.Random(f"{seed}/ids").getrandbits
    chunks, first = -(-count // batch), clock.to_millis(until) - TWO_YEARS_MS
    for index in range(chunks):
        order_ids = [_new_order_id(taken, draw) for _ in range(min(batch, count - index * batch))]
        yield Chunk(index, order_ids, first + TWO_YEARS_MS * index // chunks,
                    first + TWO_YEARS_MS * (index + 1) // chunks)


def _new_order_id(taken: set[str], draw: Callable[[int], int]) -> str:
    order_id = ids.order_id(len(taken), draw)
    while order_id in taken:
        order_id = ids.order_id(len(taken), draw)
    taken.add(order_id)
    return order_id


_worker: tuple[OrderFactory, int] | None = None  # a worker process's factory and seed


def _start_worker(site: Site, seed: int) -> None:
    global _worker
    _worker = (OrderFactory(site, seed), seed)


def _make(chunk: Chunk) -> tuple[list[tuple], list[tuple]]:
    """The chunk's rows for `orders` and `refunds`, made in a worker from the chunk's own Random."""
    factory, seed = _worker
    return _make_with(factory, seed, chunk)


def _make_with(factory: OrderFactory, seed: int, chunk: Chunk) -> tuple[list[tuple], list[tuple]]:
    made = factory.chunk(random.Random(f"{seed}/{chunk.index}"), chunk.order_ids, chunk.start, chunk.end)
    return rows(factory.site, made, clock.to_millis(clock.now()))


def rows(site: Site, made: list[tuple[wire.OrderDoc, int, int, int]],
         now: int) -> tuple[list[tuple], list[tuple]]:
    """Rows in ORDER_COLUMNS and REFUND_COLUMNS order; a refunded order gets its succeeded whole refund."""
    orders, refunds = [], []
    for order, accepted, captured, reserved in made:
        orders.append((site.id, order.order_id, order.status, accepted, site.currency, captured, reserved, 1,
                       wire.encode(order), now, payment_reference(order)))
        if reserved:
            breakdown = whole_order_breakdown(order_of(order, site.id, captured, reserved))
            refunds.append(astuple(Refund(
                new_refund_id(), site.id, order.order_id, reserved, site.currency, RefundState.SUCCEEDED.value,
                "requested", order.stripe_details.refund_id, None, now, now, refunded_amount=reserved,
                breakdown=breakdown.to_json(),
            )))
    return orders, refunds


def _made(pool: ProcessPoolExecutor, chunks: Iterator[Chunk]) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Each chunk's rows, in order, with at most _AHEAD chunks in the making or waiting."""
    waiting: deque = deque()
    for chunk in chunks:
        waiting.append(pool.submit(_make, chunk))
        if len(waiting) >= _AHEAD:
            yield waiting.popleft().result()
    while waiting:
        yield waiting.popleft().result()


def seed_orders(db: Database, site: Site, count: int, seed: int = 0, batch: int = 5000,
                progress: Callable[[int], None] | None = None, in_processes: bool | None = None) -> int:
    """Write `count` seeded orders to `site`, `batch` to a transaction; returns how many were written.

    The same seed and batch give the same orders, ids included when the site starts with the same ones,
    whether they are made in worker processes (`in_processes`; by default for more than IN_PROCESS_UP_TO,
    where the processes' start pays for itself) or in this one (a server's threads must not be forked).
    """
    with db.reading() as connection:
        taken = OrderRepository(connection).order_ids(site.id)
    written = 0
    chunks = plan(taken, count, batch, seed)
    with ExitStack() as stack:
        if in_processes is None:
            in_processes = count > IN_PROCESS_UP_TO
        if in_processes:
            pool = stack.enter_context(ProcessPoolExecutor(WORKERS, initializer=_start_worker, initargs=(site, seed)))
            made = _made(pool, chunks)
        else:
            factory = OrderFactory(site, seed)
            made = (_make_with(factory, seed, chunk) for chunk in chunks)
        write = stack.enter_context(bulk.writer(db, (tables.orders, ORDER_COLUMNS), (tables.refunds, REFUND_COLUMNS)))
        for orders, refunds in made:
            write(orders, refunds)
            written += len(orders)
            if progress:
                progress(len(orders))
    return written
