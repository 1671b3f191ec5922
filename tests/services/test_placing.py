import dataclasses
import threading
import time

import msgspec
import pytest
import sqlalchemy as sa

from orderdesk.domain import ids
from orderdesk.errors import ValidationFailed
from orderdesk.services import placing
from orderdesk.store.repositories.orders import NewOrder, OrderRepository
from orderdesk.wire import orders as wire
from orderdesk.wire.placing import Draft
from tests.factories import make_shop, order_body, place


def _place(db, shop, body):
    return wire.decode(placing.place_order(db, shop.site, Draft(msgspec.convert(body, wire.OrderDoc)), shop.token_id))


def test_computed_fields_are_filled_in(db):
    shop = make_shop(db)

    order = place(db, shop)

    assert [i.row_total.value for i in order.purchased_items] == ["2500", "2598"]
    assert order.totals.subtotal.value == "5098"
    assert order.totals.total.string == "$ 58.98 USD"
    assert order.purchased_items_count == 3
    assert order.customer_paid.value == "5898"
    assert order.application_fee.value == "118"  # 2% of 58.98, half up
    assert order.net_amount.value == str(5898 - 118 - (171 + 30))  # 2.9% of 58.98 is 1.7104
    assert [a.type for a in order.all_addresses] == ["billing", "shipping"]
    assert order.stripe_details.payment_intent_id.startswith("pi_sim_")


def test_every_inconsistent_computed_field_is_named(db):
    shop = make_shop(db)
    body = order_body()
    body["purchasedItems"][0]["rowTotal"] = {"unit": "USD", "value": "1"}
    body["totals"]["total"] = {"unit": "USD", "value": "2"}
    body["purchasedItemsCount"] = 9

    with pytest.raises(ValidationFailed) as refused:
        _place(db, shop, body)

    assert [d.field for d in refused.value.details] == [
        "purchasedItems[0].rowTotal", "totals.total", "purchasedItemsCount",
    ]


def test_an_order_read_back_can_be_placed_again_elsewhere_unchanged(db):
    shop, other = make_shop(db), make_shop(db)
    original = place(db, shop)

    copy = _place(db, other, msgspec.to_builtins(original))

    assert wire.encode(copy) == wire.encode(original)


def test_money_in_another_currency_is_refused(db):
    shop = make_shop(db)
    body = order_body(currency="EUR")
    with pytest.raises(ValidationFailed) as refused:
        _place(db, shop, body)
    assert refused.value.details[0].field == "purchasedItems[0].variantPrice.unit"


@pytest.mark.parametrize("kind", ["shipping", "tax"])
def test_negative_shipping_or_tax_is_refused(db, kind):
    shop = make_shop(db)
    body = order_body(**{kind: -100})

    with pytest.raises(ValidationFailed) as refused:
        _place(db, shop, body)

    index = 0 if kind == "shipping" else 1
    assert [(d.field, d.message) for d in refused.value.details][0] == (
        f"totals.extras[{index}].price.value", f"must not be negative for {kind}")


def _waiting_on_a_lock(db) -> bool:
    with db.reading() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar_one() == 1


def _wait_until(check, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_an_order_id_taken_by_a_placement_racing_ours_is_refused_as_used(db):
    shop = make_shop(db)
    body = order_body()
    body["orderId"] = "abc-123"
    refused: list[ValidationFailed] = []

    def ours() -> None:
        try:
            _place(db, shop, body)
        except ValidationFailed as error:
            refused.append(error)

    with db.unit_of_work() as rival:
        # The rival holds the orderId uncommitted: PostgreSQL lets ours past the "is it free" check, then
        # makes its insert wait on the rival's; SQLite's one write lock makes ours wait from the start.
        OrderRepository(rival.connection).add(NewOrder(
            site_id=shop.site.id, order_id="abc-123", status="unfulfilled", accepted_on=1, currency="USD",
            captured_amount=0, refund_reserved=0, document=b'{"rival":true}', updated_on=1,
        ))
        thread = threading.Thread(target=ours)
        thread.start()
        if not db.is_sqlite:
            _wait_until(lambda: _waiting_on_a_lock(db))
        rival.commit()
    thread.join(10)

    # PostgreSQL: the unique constraint decided; SQLite: ours found the id taken when its turn came.
    message = "is already used on this site" + (" or is not of the form xxx-xxx" if db.is_sqlite else "")
    assert [[(d.field, d.message) for d in error.details] for error in refused] == [[("orderId", message)]]
    with db.reading() as connection:
        assert OrderRepository(connection).order_ids(shop.site.id) == {"abc-123"}
        assert OrderRepository(connection).document(shop.site.id, "abc-123") == b'{"rival":true}'
        assert OrderRepository(connection).history(shop.site.id, "abc-123") == []


def test_another_broken_constraint_is_not_reported_as_a_used_order_id(db):
    # A site gone between its lookup and the insert breaks the foreign key: our bug to see, not the client's.
    shop = make_shop(db)
    gone = dataclasses.replace(shop, site=dataclasses.replace(shop.site, id=ids.object_id()))

    with pytest.raises(db.engine.dialect.loaded_dbapi.IntegrityError) as failed:  # the driver's own, unwrapped
        _place(db, gone, order_body())

    words = "FOREIGN KEY constraint failed" if db.is_sqlite else 'violates foreign key constraint "orders_site_id_fkey"'
    assert words in str(failed.value)
    with db.reading() as connection:
        assert OrderRepository(connection).order_ids(gone.site.id) == set()
