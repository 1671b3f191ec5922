"""The unit of work: what commit writes for a changed order, and what it refuses."""

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import structlog

from orderdesk.errors import Conflict, OrderNotFound
from orderdesk.services import orders
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.tables import order_history, orders as orders_table
from orderdesk.wire import orders as wire
from tests.factories import make_shop, place

AT = datetime(2026, 5, 4, 3, 2, 1, 987000, tzinfo=UTC)


def _history(db, shop, order_id):
    with db.reading() as connection:
        return OrderRepository(connection).history(shop.site.id, order_id)


def _stored(db, shop, order_id) -> bytes:
    return orders.get_order(db, shop.site.id, order_id)


def test_commit_writes_the_changed_facts_once_with_history_and_a_new_version(db):
    shop = make_shop(db)
    order = place(db, shop)
    before = _stored(db, shop, order.order_id)

    with db.unit_of_work() as work:
        loaded = work.orders.lock(shop.site.id, order.order_id)
        assert loaded.fulfill(AT) is True
        work.commit("fulfill", by=shop.token_id)
    document = work.orders.document(loaded)

    assert document == _stored(db, shop, order.order_id)
    stored = wire.decode(document)
    assert (stored.status, stored.fulfilled_on) == ("fulfilled", "2026-05-04T03:02:01.987Z")
    # Every other field is the document as it was: only the two facts moved.
    assert {**json.loads(before), "status": "fulfilled", "fulfilledOn": "2026-05-04T03:02:01.987Z"} == \
        json.loads(document)
    entry = _history(db, shop, order.order_id)[-1]
    assert (entry["action"], entry["token_id"]) == ("fulfill", shop.token_id)
    assert json.loads(entry["after"]) == {"fulfilledOn": "2026-05-04T03:02:01.987Z", "status": "fulfilled"}
    with db.reading() as connection:
        version = connection.execute(sa.select(orders_table.c.version).where(
            orders_table.c.site_id == shop.site.id, orders_table.c.order_id == order.order_id)).scalar_one()
    assert version == 2


def test_an_unchanged_order_is_not_written(db):
    shop = make_shop(db)
    order = place(db, shop)
    history = _history(db, shop, order.order_id)

    with db.unit_of_work() as work:
        loaded = work.orders.lock(shop.site.id, order.order_id)
        loaded.update({"comment": order.comment})  # the same value: no change
        work.commit("update", by=shop.token_id)

    assert _history(db, shop, order.order_id) == history


def test_a_unit_of_work_that_does_not_commit_writes_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    before = _stored(db, shop, order.order_id)

    with db.unit_of_work() as work:
        work.orders.lock(shop.site.id, order.order_id).fulfill(AT)

    assert _stored(db, shop, order.order_id) == before


def test_the_same_order_locked_twice_is_one_object(db):
    shop = make_shop(db)
    order = place(db, shop)
    with db.unit_of_work() as work:
        first = work.orders.lock(shop.site.id, order.order_id)
        assert work.orders.lock(shop.site.id, order.order_id) is first


def test_a_missing_order_is_not_found(db):
    shop = make_shop(db)
    with pytest.raises(OrderNotFound), db.unit_of_work() as work:
        work.orders.lock(shop.site.id, "fff-fff")


def test_a_change_based_on_a_stale_read_is_a_conflict_and_changes_nothing(db):
    # Every writer locks the row first, so only a writer outside the lock can get here (simulated by an
    # UPDATE of the version behind the unit of work's back): the unit of work rolls back and the client is
    # told to try again (409, which the official SDK retries by itself).
    shop = make_shop(db)
    order = place(db, shop)
    current, history = _stored(db, shop, order.order_id), _history(db, shop, order.order_id)

    with structlog.testing.capture_logs() as logs, pytest.raises(Conflict) as refused, db.unit_of_work() as work:
        loaded = work.orders.lock(shop.site.id, order.order_id)
        work.connection.execute(orders_table.update().where(
            orders_table.c.site_id == shop.site.id, orders_table.c.order_id == order.order_id,
        ).values(version=orders_table.c.version + 1))
        loaded.update({"comment": "lost"})
        work.commit("update", by=None)

    assert (refused.value.status, refused.value.code) == (409, "conflict")
    assert logs == [{"event": "order changed outside its lock", "log_level": "warning", "site_id": shop.site.id,
                     "order_id": order.order_id, "version": 1}]
    assert refused.value.message == (
        f"Conflict: Order {order.order_id} was changed by another writer meanwhile; nothing was changed, try again"
    )
    assert _stored(db, shop, order.order_id) == current
    assert _history(db, shop, order.order_id) == history


def test_a_change_committed_without_an_action_is_refused_before_anything_is_written(db):
    shop = make_shop(db)
    order = place(db, shop)
    before = _stored(db, shop, order.order_id)
    with pytest.raises(AssertionError), db.unit_of_work() as work:
        work.orders.lock(shop.site.id, order.order_id).fulfill(AT)
        work.commit()
    assert _stored(db, shop, order.order_id) == before
    with db.reading() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(order_history).where(
            order_history.c.order_id == order.order_id, order_history.c.site_id == shop.site.id)).scalar_one() == 1
