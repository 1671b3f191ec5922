from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain.money import Money
from orderdesk.domain.orders import (
    TRANSITIONS, CaptureOutOfRange, Order, OrderAction, OrderStatus, TransitionNotAllowed, transition,
)

P, U, F = OrderStatus.PENDING, OrderStatus.UNFULFILLED, OrderStatus.FULFILLED
D, DL, R = OrderStatus.DISPUTED, OrderStatus.DISPUTE_LOST, OrderStatus.REFUNDED
A = OrderAction
EXPECTED = {
    # (status, action): result; None = already there (a no-op); absent = refused. BEHAVIOUR.md sections 3-4.
    (U, A.FULFILL): F, (F, A.FULFILL): None,
    (F, A.UNFULFILL): U, (U, A.UNFULFILL): None,
    (U, A.REFUND): R, (F, A.REFUND): R, (R, A.REFUND): None,
    (P, A.CAPTURE): U, (U, A.CAPTURE): None,
    (U, A.OPEN_DISPUTE): D, (F, A.OPEN_DISPUTE): D, (D, A.OPEN_DISPUTE): None,
    (D, A.UPDATE_DISPUTE): D,
    (D, A.WIN_DISPUTE): U, (U, A.WIN_DISPUTE): None,  # not fulfilled before the dispute
    (D, A.LOSE_DISPUTE): DL, (DL, A.LOSE_DISPUTE): None,
}
WORDS = {A.FULFILL: "fulfilled", A.UNFULFILL: "unfulfilled", A.REFUND: "refunded", A.CAPTURE: "captured",
         A.OPEN_DISPUTE: "disputed", A.UPDATE_DISPUTE: "given a dispute update",
         A.WIN_DISPUTE: "given a dispute outcome", A.LOSE_DISPUTE: "given a dispute outcome"}
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("action", list(OrderAction))
def test_every_combination_matches_the_table_in_behaviour_md(status, action):
    key = (status, action)
    if key in EXPECTED:
        assert transition("abc-123", status, action) == EXPECTED[key]
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            transition("abc-123", status, action)
        assert str(refused.value) == f"Order abc-123 is {status} and cannot be {WORDS[action]}"


def test_a_won_dispute_goes_back_to_fulfilled_when_the_order_was():
    assert transition("abc-123", D, A.WIN_DISPUTE, fulfilled=True) == F
    assert transition("abc-123", F, A.WIN_DISPUTE, fulfilled=True) is None


@given(st.sampled_from(list(OrderStatus)), st.lists(st.sampled_from(list(OrderAction)), max_size=12), st.booleans())
def test_any_sequence_of_actions_only_visits_statuses_the_table_allows(start, actions, fulfilled):
    status = start
    for action in actions:
        sources, _ = TRANSITIONS[action]
        try:
            result = transition("abc-123", status, action, fulfilled=fulfilled)
        except TransitionNotAllowed:
            assert status not in sources
            continue
        if result is None:
            assert action != A.UPDATE_DISPUTE
        else:
            assert status in sources
            status = result
    # Nothing leads back into pending, and refunded and dispute-lost are the ends.
    if status == P:
        assert start == P
    if start in (R, DL):
        assert status == start


def _order(status=U, total=5898, fulfilled_on=None) -> Order:
    return Order("site", "abc-123", status, "USD", customer_paid=Money(total, "USD"), total=Money(total, "USD"),
                 captured=Money(0 if status == P else total, "USD"), reserved=Money(0, "USD"),
                 fulfilled_on=fulfilled_on)


def test_fulfil_sets_fulfilled_on_and_unfulfil_clears_it():
    order = _order()
    assert order.fulfill(AT) is True
    assert (order.status, order.fulfilled_on) == (F, AT)
    assert order.fulfill(AT + timedelta(days=1)) is False
    assert order.fulfilled_on == AT
    assert order.unfulfill() is True
    assert (order.status, order.fulfilled_on) == (U, None)


def test_capture_makes_a_pending_order_refundable_up_to_its_total():
    order = _order(P)
    with pytest.raises(CaptureOutOfRange):
        order.capture(5899, AT)
    assert (order.status, order.captured) == (P, Money(0, "USD"))
    assert order.capture(4000, AT) is True
    assert (order.status, order.captured, order.refundable) == (U, Money(4000, "USD"), Money(4000, "USD"))
    assert order.capture(None, AT) is False  # captured already


def test_a_dispute_is_known_by_its_id_and_a_won_one_restores_the_status():
    order = _order(F, fulfilled_on=AT)
    assert order.open_dispute("dp_1", "needs_response", AT) is True
    assert order.open_dispute("dp_1", "under_review", AT) is False  # the same dispute again
    assert order.update_dispute("under_review", AT + timedelta(hours=1)) is True
    assert order.update_dispute("under_review", AT + timedelta(hours=2)) is False
    assert order.close_dispute(True, "won", AT + timedelta(days=1)) is True
    assert (order.status, order.dispute_status, order.payment.dispute_id) == (F, "won", "dp_1")
    assert order.close_dispute(True, "won", AT + timedelta(days=2)) is False
    with pytest.raises(TransitionNotAllowed):
        order.close_dispute(False, "lost", AT)


def test_a_refund_that_lands_during_a_dispute_leaves_the_status_to_the_dispute():
    order = _order()
    order.open_dispute("dp_1", "needs_response", AT)
    assert order.mark_refunded(AT, "re_1", "requested_by_customer", by_processor=True) is False
    assert (order.status, order.refunded_on, order.payment.refund_id) == (D, None, None)


def test_a_processor_refund_records_its_ids_and_a_free_one_does_not():
    by_processor, free = _order(), _order(total=0)
    assert by_processor.mark_refunded(AT, "re_1", "requested_by_customer", by_processor=True) is True
    assert (by_processor.payment.refund_id, by_processor.payment.refund_reason) == ("re_1", "requested_by_customer")
    assert free.mark_refunded(AT) is True
    assert (free.status, free.refunded_on, free.payment.refund_id) == (R, AT, None)


def test_an_update_clears_a_comment_to_empty_and_other_fields_to_none():
    order = _order()
    order.update({"comment": "gift", "shipping_provider": "UPS"})
    order.update({"comment": None, "shipping_provider": None})
    assert (order.tracking.comment, order.tracking.shipping_provider) == ("", None)
