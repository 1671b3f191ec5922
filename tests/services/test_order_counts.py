"""The order counters the triggers keep (migration 0004) always equal a count of the rows."""

import threading

import sqlalchemy as sa

from orderdesk.domain.orders import OrderStatus
from orderdesk.services import orders, refunding
from orderdesk.store.engine import create_engine
from orderdesk.store.tables import order_counts
from orderdesk.store.tables import orders as orders_table
from orderdesk.store.database import Database
from tests.factories import make_shop, place
from tests.fakes import ScriptedProcessor


def counted(db, site_id):
    """(what the counters say, what a scan of the rows says), by status, leaving out zeros."""
    with db.reading() as connection:
        kept = dict(connection.execute(
            sa.select(order_counts.c.status, order_counts.c.count).where(order_counts.c.site_id == site_id)
        ).all())
        scanned = dict(connection.execute(
            sa.select(orders_table.c.status, sa.func.count()).where(orders_table.c.site_id == site_id)
            .group_by(orders_table.c.status)
        ).all())
    return {status: n for status, n in kept.items() if n}, scanned


def test_counters_follow_placing_fulfilling_unfulfilling_and_refunding(db):
    shop = make_shop(db)
    placed = [place(db, shop) for _ in range(5)]
    orders.fulfill_order(db, shop.site.id, placed[0].order_id, shop.token_id)
    orders.fulfill_order(db, shop.site.id, placed[1].order_id, shop.token_id)
    orders.unfulfill_order(db, shop.site.id, placed[1].order_id, shop.token_id)
    orders.update_order(db, shop.site.id, placed[2].order_id, {"comment": "no status change"}, shop.token_id)
    refunding.refund_order(db, ScriptedProcessor(), shop.site.id, placed[3].order_id, None, shop.token_id, None)

    kept, scanned = counted(db, shop.site.id)

    assert kept == scanned == {"fulfilled": 1, "unfulfilled": 3, "refunded": 1}
    assert orders.list_orders(db, shop.site.id, None, 0, 100).total == 5
    assert orders.list_orders(db, shop.site.id, OrderStatus.UNFULFILLED, 0, 100).total == 3
    assert orders.list_orders(db, shop.site.id, OrderStatus.DISPUTED, 0, 100).total == 0


def test_a_rolled_back_placement_is_not_counted(db):
    shop = make_shop(db)
    place(db, shop)
    with db.unit_of_work() as work:  # inserted, then rolled back (never committed)
        work.connection.execute(sa.update(orders_table).where(orders_table.c.site_id == shop.site.id)
                                .values(status="fulfilled"))

    kept, scanned = counted(db, shop.site.id)

    assert kept == scanned == {"unfulfilled": 1}


def test_orders_moving_both_ways_at_once_keep_the_counters_exact(database_url):
    # Given two sets of orders, one unfulfilled and one fulfilled, and two threads per set
    db = Database(create_engine(database_url, pool_size=8))
    try:
        shop = make_shop(db)
        going = [place(db, shop).order_id for _ in range(12)]
        coming = [place(db, shop).order_id for _ in range(12)]
        for order_id in coming:
            orders.fulfill_order(db, shop.site.id, order_id, shop.token_id)
        errors: list[BaseException] = []

        def run(action, order_ids):
            try:
                for order_id in order_ids:
                    action(db, shop.site.id, order_id, shop.token_id)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        # When they fulfil one set and unfulfil the other at the same time (on PostgreSQL the two
        # directions take the same two counter rows, which must not deadlock)
        threads = [threading.Thread(target=run, args=(orders.fulfill_order, going[i::2])) for i in range(2)]
        threads += [threading.Thread(target=run, args=(orders.unfulfill_order, coming[i::2])) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        # Then every move happened and the counters equal the rows
        kept, scanned = counted(db, shop.site.id)
        assert errors == []
        assert kept == scanned == {"fulfilled": 12, "unfulfilled": 12}
    finally:
        db.dispose()
