"""Refund amounts: pools, splits, and the never-more-than-captured rule, as examples and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.domain.refunds import (
    InvalidItem, ItemAsk, NothingOfType, PartialTaxRefund, Pools, RefundAsk, RefundExceedsAvailable,
    RefundTooSmall, RefundType, Taken, order_amounts, plan_refund, remainder,
)

# Two items (25.00 x1, 12.99 x2), shipping 5.00, tax 3.00: 58.98 captured.
ORDER = order_amounts(5898, [("a", 1, 2500), ("b", 2, 2598)], 0, 500, 0, 300)


def test_an_orders_pools_split_tax_between_products_and_shipping():
    assert ORDER.pools == Pools(products=5098, shipping=500, product_tax=273, shipping_tax=27)
    assert [(line.sku_id, line.product, line.tax) for line in ORDER.lines] == [("a", 2500, 134), ("b", 2598, 139)]


def test_discounts_come_off_the_pool_they_discount():
    order = order_amounts(5098, [("a", 1, 5000)], -500, 700, -700, 598)

    assert order.pools == Pools(products=4500, shipping=0, product_tax=598, shipping_tax=0)


def test_pools_follow_the_capture_when_the_parts_do_not_add_up():
    order = order_amounts(1000, [("a", 1, 1500)], 0, 500, 0, 0)

    assert order.pools == Pools(products=750, shipping=250)
    assert order.pools.total == 1000


def test_an_amount_spreads_over_every_pool_in_proportion():
    split = plan_refund(ORDER, Taken(), RefundAsk(amount=1001))

    assert split.pools == Pools(products=865, shipping=85, product_tax=46, shipping_tax=5)
    assert split.total == 1001


def test_a_percent_is_of_the_captured_amount_rounded_half_up():
    assert plan_refund(ORDER, Taken(), RefundAsk(basis_points=2000)).total == 1180  # 20% of 58.98 = 11.796


def test_a_shipping_refund_takes_shipping_and_its_tax():
    split = plan_refund(ORDER, Taken(), RefundAsk(RefundType.SHIPPING, basis_points=10000))

    assert split.pools == Pools(shipping=500, shipping_tax=27)


def test_a_tax_refund_must_take_the_whole_remaining_tax():
    with pytest.raises(PartialTaxRefund) as partial:
        plan_refund(ORDER, Taken(), RefundAsk(RefundType.TAX, amount=100))

    assert partial.value.remaining == 300
    assert plan_refund(ORDER, Taken(), RefundAsk(RefundType.TAX, amount=300)).pools == Pools(
        product_tax=273, shipping_tax=27
    )


def test_a_type_the_order_has_nothing_of_is_refused():
    order = order_amounts(2500, [("a", 1, 2500)], 0, 0, 0, 0)

    with pytest.raises(NothingOfType):
        plan_refund(order, Taken(), RefundAsk(RefundType.SHIPPING, amount=1))
    with pytest.raises(NothingOfType):
        plan_refund(order, Taken(), RefundAsk(RefundType.TAX, basis_points=10000))


def test_an_item_refund_takes_its_product_amount_and_its_share_of_tax():
    split = plan_refund(ORDER, Taken(), RefundAsk(items=(ItemAsk("b", quantity=1),)))

    assert split.pools == Pools(products=1299, product_tax=70)
    assert split.items["b"].quantity == 1
    assert split.items["b"].amount == 1369


def test_an_item_cannot_be_refunded_past_its_value():
    taken = Taken().plus(plan_refund(ORDER, Taken(), RefundAsk(items=(ItemAsk("a"),))))

    with pytest.raises(RefundExceedsAvailable):
        plan_refund(ORDER, taken, RefundAsk(items=(ItemAsk("a", amount=1),)))


@pytest.mark.parametrize(("item", "field"), [
    (ItemAsk("zzz"), "items[0].skuId"),
    (ItemAsk("b", quantity=3), "items[0].quantity"),
])
def test_an_item_that_is_not_in_the_order_or_over_its_count_is_named(item, field):
    with pytest.raises(InvalidItem) as invalid:
        plan_refund(ORDER, Taken(), RefundAsk(items=(item,)))

    assert invalid.value.field == field


def test_more_than_is_left_is_refused_and_a_tiny_percent_comes_to_nothing():
    taken = Taken().plus(plan_refund(ORDER, Taken(), RefundAsk(amount=5000)))

    with pytest.raises(RefundExceedsAvailable):
        plan_refund(ORDER, taken, RefundAsk(amount=899))
    assert plan_refund(ORDER, taken, RefundAsk(amount=898)).total == 898
    with pytest.raises(RefundTooSmall):
        plan_refund(order_amounts(10, [("a", 1, 10)], 0, 0, 0, 0), Taken(), RefundAsk(basis_points=1))


def test_the_remainder_is_exactly_what_is_left_in_each_pool():
    taken = Taken().plus(plan_refund(ORDER, Taken(), RefundAsk(amount=1001)))

    assert remainder(ORDER, taken).pools == Pools(products=4233, shipping=415, product_tax=227, shipping_tax=22)
    assert remainder(ORDER, taken).total == 5898 - 1001


# --- properties ---------------------------------------------------------------------------------

@st.composite
def orders(draw):
    lines = [(f"sku{i}", draw(st.integers(1, 4)), draw(st.integers(0, 50_000))) for i in range(draw(st.integers(1, 4)))]
    discount = -draw(st.integers(0, sum(total for _, _, total in lines)))
    shipping = draw(st.integers(0, 3_000))
    shipping_discount = -draw(st.integers(0, shipping))
    tax = draw(st.integers(0, 5_000))
    parts = max(sum(t for _, _, t in lines) + discount, 0) + shipping + shipping_discount + tax
    captured = draw(st.sampled_from([parts, parts, draw(st.integers(0, 100_000))]))
    return order_amounts(captured, lines, discount, shipping, shipping_discount, tax)


def asks(order):
    skus = [line.sku_id for line in order.lines]
    item = st.builds(ItemAsk, st.sampled_from(skus), st.none() | st.integers(1, 4),
                     st.none() | st.integers(1, 20_000), st.none())
    return st.one_of(
        st.builds(RefundAsk, st.sampled_from(list(RefundType)), amount=st.integers(1, 30_000)),
        st.builds(RefundAsk, st.sampled_from(list(RefundType)), basis_points=st.integers(1, 10_000)),
        st.builds(RefundAsk, items=st.lists(item, min_size=1, max_size=3).map(tuple)),
    )


REFUSALS = (RefundExceedsAvailable, RefundTooSmall, NothingOfType, PartialTaxRefund, InvalidItem)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_sequence_of_refunds_exceeds_the_capture_and_every_split_adds_up(data):
    order = data.draw(orders())
    assert order.pools.total == order.captured
    assert sum(line.product for line in order.lines) == order.pools.products
    assert sum(line.tax for line in order.lines) == order.pools.product_tax
    taken = Taken()
    for ask in data.draw(st.lists(asks(order), max_size=12)):
        left = order.pools - taken.pools
        try:
            split = plan_refund(order, taken, ask)
        except REFUSALS:
            continue
        assert all(part >= 0 for part in split.pools.parts())
        assert left.covers(split.pools)
        assert sum(part.amount for part in split.items.values()) in (0, split.total)
        if ask.amount is not None and not ask.items:
            assert split.total == ask.amount
        taken = taken.plus(split)
        assert taken.pools.total <= order.captured
        assert order.pools.covers(taken.pools)
    assert remainder(order, taken).total == order.captured - taken.pools.total
