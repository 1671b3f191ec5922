"""Disputes and captures: the order changes only a payment processor brings (BEHAVIOUR.md section 4)."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

from orderdesk.errors import Conflict, ValidationFailed
from orderdesk.payments.simulated import SimulatedProcessor
from orderdesk.services import disputes, orders, refunding
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.wire import orders as wire
from tests.factories import make_shop, place

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")


def _history(db, shop, order_id) -> list[dict]:
    with db.reading() as connection:
        return OrderRepository(connection).history(shop.site.id, order_id)


def _captured(db, shop, order_id) -> int:
    with db.reading() as connection:
        return OrderRepository(connection).lock(shop.site.id, order_id).captured_amount


def _stored(db, shop, order_id) -> tuple[bytes, int, int]:
    """Everything a refused change must leave alone: the document, the capture, the history."""
    return (orders.get_order(db, shop.site.id, order_id), _captured(db, shop, order_id),
            len(_history(db, shop, order_id)))


def _disputed(db, shop, order_id: str, dispute_id: str = "dp_1") -> wire.OrderDoc:
    return wire.decode(disputes.open_dispute(db, shop.site.id, order_id, dispute_id, "needs_response"))


# --- open ------------------------------------------------------------------------------------------

def test_opening_a_dispute_marks_the_order_disputed_with_the_dispute_id(db):
    shop = make_shop(db)
    order = place(db, shop)

    disputed = _disputed(db, shop, order.order_id, "dp_open")

    assert TIMESTAMP.match(disputed.disputed_on)
    assert disputed == msgspec.structs.replace(
        order, status="disputed", disputed_on=disputed.disputed_on, dispute_updated_on=disputed.disputed_on,
        dispute_last_status="needs_response",
        stripe_details=msgspec.structs.replace(order.stripe_details, dispute_id="dp_open"),
    )
    entry = _history(db, shop, order.order_id)[-1]
    assert entry["action"] == "open_dispute"
    assert entry["token_id"] is None
    assert json.loads(entry["after"])["status"] == "disputed"


def test_a_repeated_open_of_the_same_dispute_changes_nothing_and_records_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    _disputed(db, shop, order.order_id, "dp_again")
    before = _stored(db, shop, order.order_id)

    again = disputes.open_dispute(db, shop.site.id, order.order_id, "dp_again", "needs_response")

    assert again == before[0]
    assert _stored(db, shop, order.order_id) == before


@pytest.mark.parametrize("status", ["pending", "refunded"])
def test_an_order_that_is_not_unfulfilled_or_fulfilled_cannot_be_disputed(db, status):
    shop = make_shop(db)
    order = place(db, shop, status=status)
    before = _stored(db, shop, order.order_id)

    with pytest.raises(Conflict) as refused:
        disputes.open_dispute(db, shop.site.id, order.order_id, "dp_refused", "needs_response")

    assert refused.value.message == f"Order {order.order_id} is {status} and cannot be disputed"
    assert _stored(db, shop, order.order_id) == before


def test_a_dispute_status_outside_the_spec_is_refused_and_changes_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    before = _stored(db, shop, order.order_id)

    with pytest.raises(ValidationFailed) as refused:
        disputes.open_dispute(db, shop.site.id, order.order_id, "dp_x", "prevented")

    assert [problem.field for problem in refused.value.details] == ["disputeStatus"]
    assert _stored(db, shop, order.order_id) == before


# --- update ----------------------------------------------------------------------------------------

def test_an_update_sets_the_last_status_and_keeps_the_opening_time(db):
    shop = make_shop(db)
    order = place(db, shop)
    opened = _disputed(db, shop, order.order_id)

    updated = wire.decode(disputes.update_dispute(db, shop.site.id, order.order_id, "under_review"))

    assert TIMESTAMP.match(updated.dispute_updated_on)
    assert updated == msgspec.structs.replace(
        opened, dispute_last_status="under_review", dispute_updated_on=updated.dispute_updated_on,
    )
    assert _history(db, shop, order.order_id)[-1]["action"] == "update_dispute"


def test_a_repeated_update_changes_nothing_and_records_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    _disputed(db, shop, order.order_id)
    disputes.update_dispute(db, shop.site.id, order.order_id, "under_review")
    before = _stored(db, shop, order.order_id)

    disputes.update_dispute(db, shop.site.id, order.order_id, "under_review")

    assert _stored(db, shop, order.order_id) == before


def test_an_order_without_an_open_dispute_cannot_be_updated(db):
    shop = make_shop(db)
    order = place(db, shop)
    before = _stored(db, shop, order.order_id)

    with pytest.raises(Conflict) as refused:
        disputes.update_dispute(db, shop.site.id, order.order_id, "under_review")

    assert refused.value.message == f"Order {order.order_id} is unfulfilled and cannot be given a dispute update"
    assert _stored(db, shop, order.order_id) == before


# --- close -----------------------------------------------------------------------------------------

def test_a_won_dispute_of_an_unfulfilled_order_makes_it_unfulfilled_again(db):
    shop = make_shop(db)
    order = place(db, shop)
    opened = _disputed(db, shop, order.order_id)

    won = wire.decode(disputes.close_dispute(db, shop.site.id, order.order_id, True, "won"))

    assert won == msgspec.structs.replace(
        opened, status="unfulfilled", dispute_last_status="won", dispute_updated_on=won.dispute_updated_on,
    )
    assert won.fulfilled_on is None
    assert _history(db, shop, order.order_id)[-1]["action"] == "close_dispute"


def test_a_won_dispute_of_a_fulfilled_order_makes_it_fulfilled_again(db):
    shop = make_shop(db)
    order = place(db, shop)
    fulfilled, _ = orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)
    _disputed(db, shop, order.order_id)

    won = wire.decode(disputes.close_dispute(db, shop.site.id, order.order_id, True, "warning_closed"))

    assert (won.status, won.dispute_last_status) == ("fulfilled", "warning_closed")
    assert won.fulfilled_on == wire.decode(fulfilled).fulfilled_on


def test_a_lost_dispute_leaves_the_order_dispute_lost(db):
    shop = make_shop(db)
    order = place(db, shop)
    opened = _disputed(db, shop, order.order_id)

    lost = wire.decode(disputes.close_dispute(db, shop.site.id, order.order_id, False, "lost"))

    assert lost == msgspec.structs.replace(
        opened, status="dispute-lost", dispute_last_status="lost", dispute_updated_on=lost.dispute_updated_on,
    )


@pytest.mark.parametrize(("won", "status"), [(True, "won"), (False, "lost")])
def test_a_repeated_close_changes_nothing_and_records_nothing(db, won, status):
    shop = make_shop(db)
    order = place(db, shop)
    _disputed(db, shop, order.order_id)
    disputes.close_dispute(db, shop.site.id, order.order_id, won, status)
    before = _stored(db, shop, order.order_id)

    disputes.close_dispute(db, shop.site.id, order.order_id, won, status)

    assert _stored(db, shop, order.order_id) == before


def test_a_lost_dispute_cannot_be_won_afterwards(db):
    shop = make_shop(db)
    order = place(db, shop)
    _disputed(db, shop, order.order_id)
    disputes.close_dispute(db, shop.site.id, order.order_id, False, "lost")
    before = _stored(db, shop, order.order_id)

    with pytest.raises(Conflict) as refused:
        disputes.close_dispute(db, shop.site.id, order.order_id, True, "won")

    assert refused.value.message == f"Order {order.order_id} is dispute-lost and cannot be given a dispute outcome"
    assert _stored(db, shop, order.order_id) == before


def test_a_won_close_with_a_losing_status_is_refused(db):
    shop = make_shop(db)
    order = place(db, shop)
    _disputed(db, shop, order.order_id)
    before = _stored(db, shop, order.order_id)

    with pytest.raises(ValidationFailed) as refused:
        disputes.close_dispute(db, shop.site.id, order.order_id, True, "lost")

    assert refused.value.details[0].message == "must be one of won, warning_closed for a dispute won"
    assert _stored(db, shop, order.order_id) == before


# --- capture ---------------------------------------------------------------------------------------

def test_capturing_a_pending_order_makes_it_unfulfilled_and_refundable(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")
    assert _captured(db, shop, order.order_id) == 0

    captured = wire.decode(disputes.capture_payment(db, shop.site.id, order.order_id, None))
    refunded = wire.decode(refunding.refund_order(db, SimulatedProcessor(db), shop.site.id, order.order_id,
                                                  None, shop.token_id))

    assert captured == msgspec.structs.replace(order, status="unfulfilled")
    assert _captured(db, shop, order.order_id) == 5898
    assert _history(db, shop, order.order_id)[1]["action"] == "capture"
    assert refunded.status == "refunded"
    with db.reading() as connection:
        refunds = RefundRepository(connection).for_order(shop.site.id, order.order_id)
    assert [(refund.amount, refund.state) for refund in refunds] == [(5898, "succeeded")]


def test_a_partial_capture_is_all_a_refund_can_return(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")

    disputes.capture_payment(db, shop.site.id, order.order_id, 4000)
    refunding.refund_order(db, SimulatedProcessor(db), shop.site.id, order.order_id, None, shop.token_id)

    with db.reading() as connection:
        refunds = RefundRepository(connection).for_order(shop.site.id, order.order_id)
    assert _captured(db, shop, order.order_id) == 4000
    assert [(refund.amount, refund.state) for refund in refunds] == [(4000, "succeeded")]


def test_a_capture_above_the_total_is_refused_and_changes_nothing(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")
    before = _stored(db, shop, order.order_id)

    with pytest.raises(ValidationFailed) as refused:
        disputes.capture_payment(db, shop.site.id, order.order_id, 5899)

    assert refused.value.message == "Validation Error: amount: must be between 0 and the order's total (5898)"
    assert _stored(db, shop, order.order_id) == before


def test_a_repeated_capture_changes_nothing_and_records_nothing(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")
    disputes.capture_payment(db, shop.site.id, order.order_id, None)
    before = _stored(db, shop, order.order_id)

    disputes.capture_payment(db, shop.site.id, order.order_id, 100)

    assert _stored(db, shop, order.order_id) == before


def test_a_fulfilled_order_cannot_be_captured(db):
    shop = make_shop(db)
    order = place(db, shop)
    orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id)
    before = _stored(db, shop, order.order_id)

    with pytest.raises(Conflict) as refused:
        disputes.capture_payment(db, shop.site.id, order.order_id, None)

    assert refused.value.message == f"Order {order.order_id} is fulfilled and cannot be captured"
    assert _stored(db, shop, order.order_id) == before
