"""Seeded orders: the same for the same seed, however the work is shared, and as valid as placed ones."""

from __future__ import annotations

import random
from collections import Counter

import msgspec
import pytest
import sqlalchemy as sa
from msgspec import UNSET

from orderdesk.domain import clock
from orderdesk.seed import orders as seeding
from orderdesk.services import access
from orderdesk.store.engine import create_engine
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.tables import orders
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.placing import Draft

COUNT, BATCH = 450, 100  # several chunks, the last one short


def seeded(db: Database, count: int = COUNT, seed: int = 7):
    site = access.create_site(db, "Seeded", "USD")
    written = []
    assert seeding.seed_orders(db, site, count, seed=seed, batch=BATCH, progress=written.append) == count
    assert sum(written) == count and max(written) == BATCH
    return site


def rows_of(db: Database, site_id: str) -> list:
    with db.reading() as connection:
        return list(connection.execute(
            sa.select(orders.c.order_id, orders.c.status, orders.c.accepted_on, orders.c.captured_amount,
                      orders.c.refund_reserved, orders.c.document, orders.c.payment_reference)
            .where(orders.c.site_id == site_id).order_by(orders.c.order_id)
        ))


@pytest.fixture
def other_db(fresh_database_url):
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


def test_the_same_seed_writes_the_same_orders_in_another_database(db, other_db):
    assert rows_of(db, seeded(db).id) == rows_of(other_db, seeded(other_db).id)


def test_the_orders_do_not_depend_on_how_many_workers_make_them(db, monkeypatch):
    shared = rows_of(db, seeded(db).id)
    monkeypatch.setattr(seeding, "WORKERS", 1)
    assert rows_of(db, seeded(db).id) == shared


def test_another_seed_writes_other_orders(db):
    assert rows_of(db, seeded(db, seed=1).id) != rows_of(db, seeded(db, seed=2).id)


def test_the_counters_count_every_seeded_order(db):
    site = seeded(db)
    by_status = Counter(row.status for row in rows_of(db, site.id))
    with db.reading() as connection:
        repository = OrderRepository(connection)
        assert repository.count(site.id) == COUNT
        assert {status: repository.count(site.id, status) for status in by_status} == by_status
    assert set(by_status) == {"fulfilled", "unfulfilled", "refunded", "pending", "disputed", "dispute-lost"}


def test_each_refunded_order_has_one_succeeded_refund_of_what_was_captured(db):
    site = seeded(db)
    refunded = [row for row in rows_of(db, site.id) if row.status == "refunded"]
    assert refunded
    with db.reading() as connection:
        for row in refunded:
            [refund] = RefundRepository(connection).for_order(site.id, row.order_id)
            document = wire.decode(row.document)
            assert refund.state == "succeeded"
            assert refund.amount == refund.refunded_amount == row.captured_amount == row.refund_reserved
            assert refund.processor_reference == document.stripe_details.refund_id
            assert document.refunded_on is not None and document.stripe_details.refund_reason


def test_documents_decode_and_add_up(db):
    for row in rows_of(db, seeded(db).id):
        order = wire.decode(row.document)
        assert (order.order_id, order.status) == (row.order_id, row.status)
        assert clock.to_millis(clock.from_wire(order.accepted_on)) == row.accepted_on
        assert row.payment_reference == order.stripe_details.payment_intent_id
        for item in order.purchased_items:
            assert int(item.row_total.value) == int(item.variant_price.value) * item.count
        subtotal = sum(int(item.row_total.value) for item in order.purchased_items)
        assert int(order.totals.subtotal.value) == subtotal
        total = subtotal + sum(int(extra.price.value) for extra in order.totals.extras)
        assert int(order.totals.total.value) == int(order.customer_paid.value) == total
        assert order.purchased_items_count == sum(item.count for item in order.purchased_items)
        assert row.captured_amount == (0 if order.status == "pending" else total)
        assert order.all_addresses == [order.billing_address, order.shipping_address]
        assert (order.fulfilled_on is not None) == (order.shipping_tracking is not None)


def test_placing_a_seeded_order_without_its_computed_fields_computes_them_as_the_seed_did(db):
    site = seeded(db)
    for row in rows_of(db, site.id):
        seeded_order = wire.decode(row.document)
        bare = msgspec.structs.replace(
            seeded_order, order_id=UNSET, customer_paid=UNSET, net_amount=UNSET, application_fee=UNSET,
            purchased_items_count=UNSET, all_addresses=UNSET,
            totals=msgspec.structs.replace(seeded_order.totals, subtotal=UNSET, total=UNSET),
            purchased_items=[msgspec.structs.replace(item, row_total=UNSET) for item in seeded_order.purchased_items],
        )

        placed = Draft(bare).complete(site, row.order_id, clock.now())

        assert wire.encode(placed.details) == row.document
        assert (placed.captured.amount, placed.reserved.amount) == (row.captured_amount, row.refund_reserved)


def test_a_second_seed_adds_orders_with_new_ids(db):
    site = seeded(db)
    assert seeding.seed_orders(db, site, COUNT, seed=7, batch=BATCH) == COUNT
    order_ids = [row.order_id for row in rows_of(db, site.id)]
    assert len(order_ids) == len(set(order_ids)) == 2 * COUNT
    with db.reading() as connection:
        assert OrderRepository(connection).count(site.id) == 2 * COUNT


def test_timestamps_are_written_as_the_clock_writes_them():
    rng = random.Random(3)
    for millis in [0, 999, 86_399_999, *(rng.randrange(4_000_000_000_000) for _ in range(2000))]:
        assert seeding.at(millis) == clock.to_wire(clock.from_millis(millis))


def test_orders_made_in_this_process_are_the_ones_worker_processes_make(db):
    by_processes, here = access.create_site(db, "Processes", "USD"), access.create_site(db, "Here", "USD")
    seeding.seed_orders(db, by_processes, 120, seed=11, batch=50, in_processes=True)
    seeding.seed_orders(db, here, 120, seed=11, batch=50, in_processes=False)
    made_by_processes, made_here = rows_of(db, by_processes.id), rows_of(db, here.id)
    assert len(made_here) == 120
    assert made_here == made_by_processes
