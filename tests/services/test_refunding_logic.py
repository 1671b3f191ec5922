"""The refund path's rules on the fake unit of work: no database, so each rule is one fast test.

The same path against real databases, concurrently, is in test_refunds_service.py and tests/api.
"""

from datetime import UTC, datetime

import pytest

from orderdesk.domain.clock import ManualClock
from orderdesk.domain.money import Money
from orderdesk.domain.orders import Item, Order, OrderStatus, Payment
from orderdesk.domain.refunds import Pools, RefundState, Split
from orderdesk.errors import ValidationFailed
from orderdesk.services import disputes, refunding
from tests.fake_database import FakeDatabase
from tests.fakes import ScriptedProcessor

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _order(db: FakeDatabase, total: int = 5000) -> Order:
    usd = lambda amount: Money(amount, "USD")  # noqa: E731
    return db.add_order(Order(
        "site", "abc-123", OrderStatus.FULFILLED, "USD", customer_paid=usd(total), total=usd(total),
        captured=usd(total), reserved=usd(0), items=(Item("sku", 1, usd(total), "Towel"),),
        payment=Payment(card_last4="4242", payment_intent_id="pi_1"), fulfilled_on=START,
    ))


def _ask(amount: int, reason: str | None = "requested") -> refunding.Ask:
    return refunding.Ask("product", reason, "{}", lambda work, order: Split(Pools(products=amount)))


def test_a_success_that_completes_the_capture_refunds_the_order_at_the_clocks_time():
    db = FakeDatabase(ManualClock(START))
    order = _order(db)
    processor = ScriptedProcessor()

    requested = refunding.request_refund(db, processor, "site", "abc-123", _ask(5000), "tok", None)

    refund = db.state.refunds[requested.refund_id]
    assert (refund.state, refund.refunded_amount, refund.amount) == (RefundState.SUCCEEDED, 5000, 5000)
    assert (order.status, order.refunded_on, order.reserved) == (OrderStatus.REFUNDED, START, Money(5000, "USD"))
    assert (order.payment.refund_id, order.payment.refund_reason) == (
        "re_scripted_" + refund.id, "requested_by_customer")
    assert processor.asked == [refund.id]
    # The reservation's commit tells of the new refund; the settling one of its state, then the order.
    assert db.state.events == [("site", "ecomm_refund_changed", refund.id), ("site", "ecomm_refund_changed", refund.id),
                               ("site", "ecomm_order_changed", "abc-123")]
    assert db.state.history == [("site", "abc-123", "refund", "tok")]


def test_a_part_refund_holds_its_amount_and_leaves_the_status():
    db = FakeDatabase(ManualClock(START))
    order = _order(db)

    refunding.request_refund(db, ScriptedProcessor(), "site", "abc-123", _ask(1200), "tok", None)

    assert (order.status, order.reserved, order.refundable) == (
        OrderStatus.FULFILLED, Money(1200, "USD"), Money(3800, "USD"))
    assert db.state.history == []


def test_a_failed_refund_releases_its_amount():
    db = FakeDatabase(ManualClock(START))
    order = _order(db)

    requested = refunding.request_refund(db, ScriptedProcessor(RefundState.FAILED), "site", "abc-123", _ask(1200),
                                         "tok", None)

    refund = db.state.refunds[requested.refund_id]
    assert (refund.state, refund.failure_reason, refund.refunded_amount) == (RefundState.FAILED, "card_declined", 0)
    assert (order.status, order.reserved) == (OrderStatus.FULFILLED, Money(0, "USD"))


def test_no_answer_keeps_the_refund_pending_and_its_amount_held_until_asked_again():
    db = FakeDatabase(clock := ManualClock(START))
    order = _order(db)
    processor = ScriptedProcessor(None)

    requested = refunding.request_refund(db, processor, "site", "abc-123", _ask(1200), "tok", None)
    created = db.state.refunds[requested.refund_id]
    clock.advance(60)
    assert refunding.record_outcome(db, created.id, refunding.UNKNOWN) is False

    refund = db.state.refunds[created.id]
    assert (refund.state, order.reserved) == (RefundState.PENDING, Money(1200, "USD"))
    assert refund.updated_on == created.updated_on + 60_000  # only the time of asking moved
    answer = ScriptedProcessor().refund(refunding.refund_request(refund, order))  # the reconciler's next ask
    assert refunding.record_outcome(db, created.id, answer) is True
    assert db.state.refunds[created.id].state == RefundState.SUCCEEDED


def test_a_settled_refund_is_never_settled_again():
    db = FakeDatabase(ManualClock(START))
    order = _order(db)
    requested = refunding.request_refund(db, ScriptedProcessor(RefundState.FAILED), "site", "abc-123", _ask(1200),
                                         "tok", None)
    late_success = ScriptedProcessor().refund(refunding.refund_request(db.state.refunds[requested.refund_id], order))

    assert refunding.record_outcome(db, requested.refund_id, late_success) is False
    assert (db.state.refunds[requested.refund_id].state, order.reserved) == (RefundState.FAILED, Money(0, "USD"))


def test_a_retry_with_the_same_key_asks_the_processor_once():
    db = FakeDatabase(ManualClock(START))
    _order(db)
    processor = ScriptedProcessor()

    first = refunding.request_refund(db, processor, "site", "abc-123", _ask(1000), "tok", "tok:key-1")
    again = refunding.request_refund(db, processor, "site", "abc-123", _ask(1000), "tok", "tok:key-1")

    assert again.refund_id == first.refund_id
    assert (len(processor.asked), len(db.state.refunds)) == (1, 1)


def test_a_refused_plan_changes_nothing():
    db = FakeDatabase(ManualClock(START))
    order = _order(db)

    def refuse(work, locked):
        raise ValidationFailed.of("amount", "no")

    with pytest.raises(ValidationFailed):
        refunding.request_refund(db, ScriptedProcessor(), "site", "abc-123",
                                 refunding.Ask("product", None, "{}", refuse), "tok", None)
    assert (db.state.refunds, db.state.events, order.reserved) == ({}, [], Money(0, "USD"))


def test_a_dispute_event_moves_the_order_with_the_clocks_time_and_its_own_history_action():
    db = FakeDatabase(clock := ManualClock(START))
    order = _order(db)

    disputes.open_dispute(db, "site", "abc-123", "dp_1", "needs_response")
    clock.advance(3600)
    disputes.close_dispute(db, "site", "abc-123", True, "won")

    assert (order.status, order.disputed_on, order.dispute_updated_on, order.dispute_status) == (
        OrderStatus.FULFILLED, START, clock.now(), "won")
    assert [entry[2] for entry in db.state.history] == ["open_dispute", "close_dispute"]
