import msgspec
import pytest

from orderdesk.errors import ValidationFailed
from orderdesk.services import placing
from orderdesk.wire import orders as wire
from tests.factories import make_shop, order_body, place


def _place(db, shop, body):
    return wire.decode(placing.place_order(db, shop.site, msgspec.convert(body, wire.OrderDoc), shop.token_id))


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
        placing.place_order(db, shop.site, msgspec.convert(body, wire.OrderDoc), shop.token_id)

    index = 0 if kind == "shipping" else 1
    assert [(d.field, d.message) for d in refused.value.details][0] == (
        f"totals.extras[{index}].price.value", f"must not be negative for {kind}")
