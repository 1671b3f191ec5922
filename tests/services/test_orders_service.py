import json

import pytest

from orderdesk.api.bodies import convert
from orderdesk.domain.orders import TransitionNotAllowed
from orderdesk.errors import OrderNotFound, ValidationFailed
from orderdesk.services import orders
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.wire import orders as wire
from orderdesk.wire.requests import UpdateOrder
from tests.factories import make_shop, place


def _history(db, shop, order_id):
    with db.reading() as connection:
        return OrderRepository(connection).history(shop.site.id, order_id)


def test_fulfill_records_what_changed_who_changed_it_and_when(db):
    shop = make_shop(db)
    order = place(db, shop)

    document, changed = orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)

    fulfilled = wire.decode(document)
    assert changed is True
    assert fulfilled.status == "fulfilled"
    entry = _history(db, shop, order.order_id)[-1]
    assert entry["action"] == "fulfill"
    assert entry["token_id"] == shop.token_id
    assert json.loads(entry["before"]) == {"fulfilledOn": None, "status": "unfulfilled"}
    assert json.loads(entry["after"]) == {"fulfilledOn": fulfilled.fulfilled_on, "status": "fulfilled"}


def test_a_repeated_fulfill_changes_nothing_and_records_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    first, _ = orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)
    entries = len(_history(db, shop, order.order_id))

    again, changed = orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)

    assert changed is False
    assert again == first
    assert len(_history(db, shop, order.order_id)) == entries


def test_a_refused_transition_changes_nothing(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")
    before = orders.get_order(db, shop.site.id, order.order_id)

    with pytest.raises(TransitionNotAllowed):
        orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)

    assert orders.get_order(db, shop.site.id, order.order_id) == before
    assert [e["action"] for e in _history(db, shop, order.order_id)] == ["place"]


def test_update_sets_clears_and_leaves_fields(db):
    shop = make_shop(db)
    order = place(db, shop)
    orders.update_order(db, shop.site.id, order.order_id,
                        UpdateOrder(comment="gift", shipping_provider="UPS").changes(), shop.token_id)

    document = orders.update_order(db, shop.site.id, order.order_id,
                                   UpdateOrder(shipping_provider=None).changes(), shop.token_id)

    updated = wire.decode(document)
    assert (updated.comment, updated.shipping_provider, updated.shipping_tracking) == ("gift", None, None)


def test_update_refuses_unknown_fields_naming_each(db):
    with pytest.raises(ValidationFailed) as refused:
        convert({"status": "fulfilled", "comment": 3}, UpdateOrder)  # what the PATCH handler decodes with
    assert [(d.field, d.message) for d in refused.value.details] == [
        ("status", "is not a field that can be updated"), ("comment", "must be a string or null"),
    ]


def test_orders_of_another_site_are_not_found(db):
    shop, other = make_shop(db), make_shop(db)
    order = place(db, shop)
    with pytest.raises(OrderNotFound):
        orders.get_order(db, other.site.id, order.order_id)


def test_list_is_newest_first_and_counts_the_filter(db):
    shop = make_shop(db)
    placed = [place(db, shop) for _ in range(3)]
    orders.fulfill_order(db, shop.site.id, placed[0].order_id, shop.token_id)

    page = orders.list_orders(db, shop.site.id, None, 0, 2)
    fulfilled = orders.list_orders(db, shop.site.id, "fulfilled", 0, 100)

    expected = sorted(placed, key=lambda o: (-_ms(o.accepted_on), o.order_id))
    assert [wire.decode(d).order_id for d in page.documents] == [o.order_id for o in expected[:2]]
    assert (page.limit, page.offset, page.total) == (2, 0, 3)
    assert [wire.decode(d).order_id for d in fulfilled.documents] == [placed[0].order_id]
    assert fulfilled.total == 1


def _ms(text):
    from orderdesk.domain import clock

    return clock.to_millis(clock.from_wire(text))
