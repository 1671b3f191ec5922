"""The Stripe adapter over real HTTP against tests/fake_stripe.py: no mocks, exact counts."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace

import pytest
import stripe

from orderdesk.payments.stripe import StripeProcessor, outcome_of
from orderdesk.services.ports import (
    PaymentFacts,
    ProcessorUnavailable,
    RefundOutcome,
    RefundRequest,
    RefundState,
)
from tests.fake_stripe import FakeStripe

KEY = "sk_test_orderdesk"


@pytest.fixture
def fake():
    with FakeStripe(secret_key=KEY) as running:
        yield running


def paid(fake: FakeStripe, amount: int = 5000, currency: str = "usd") -> PaymentFacts:
    """A new captured payment at the fake, as an order records it."""
    token = secrets.token_hex(6)
    fake.add_payment(f"pi_{token}", f"ch_{token}", amount, currency)
    return PaymentFacts("4242", f"pi_{token}", f"ch_{token}")


def asked(payment: PaymentFacts, amount: int = 1500, reason: str | None = "requested") -> RefundRequest:
    return RefundRequest(f"rf_{secrets.token_hex(8)}", amount, "USD", reason, payment, "site_1", "order_1")


def stripe_for(fake: FakeStripe, timeout: float = 5.0, key: str = KEY) -> StripeProcessor:
    return StripeProcessor(key, fake.url, timeout=timeout)


def test_a_refund_succeeds_once_under_our_refund_id(fake):
    payment = paid(fake)
    request = asked(payment, amount=1500, reason="requested")

    outcome = stripe_for(fake).refund(request)

    [refund] = fake.refunds()
    assert outcome == RefundOutcome(RefundState.SUCCEEDED, refund["id"], "requested_by_customer")
    assert fake.created_per_key() == {request.refund_id: 1}
    assert (refund["amount"], refund["currency"], refund["reason"], refund["status"]) == (
        1500, "usd", "requested_by_customer", "succeeded")
    assert (refund["payment_intent"], refund["charge"]) == (payment.payment_intent_id, payment.charge_id)
    assert refund["metadata"] == {
        "orderdesk_refund_id": request.refund_id, "orderdesk_order_id": "order_1", "orderdesk_site_id": "site_1",
    }


def test_a_payment_without_an_intent_is_refunded_through_its_charge_without_a_reason(fake):
    payment = paid(fake)
    request = asked(PaymentFacts("4242", None, payment.charge_id), amount=700, reason=None)

    outcome = stripe_for(fake).refund(request)

    [refund] = fake.refunds()
    assert outcome == RefundOutcome(RefundState.SUCCEEDED, refund["id"], None)
    assert (refund["charge"], refund["amount"], refund["reason"]) == (payment.charge_id, 700, None)


def test_an_order_without_a_stripe_payment_fails_without_calling_stripe(fake):
    request = asked(PaymentFacts("4242", None, None))

    outcome = stripe_for(fake).refund(request)

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="payment_missing")
    assert fake.requests == []


def test_the_same_refund_asked_twice_is_made_once(fake):
    request = asked(paid(fake))
    processor = stripe_for(fake)

    first = processor.refund(request)
    second = processor.refund(request)

    assert second == first
    assert fake.created_per_key() == {request.refund_id: 1}


def test_the_same_refund_asked_from_many_threads_at_once_is_made_once(fake):
    request = asked(paid(fake))
    start = threading.Barrier(8)
    outcomes: list[RefundOutcome] = []
    unavailable: list[ProcessorUnavailable] = []

    def ask() -> None:
        processor = stripe_for(fake)
        start.wait()
        try:
            outcomes.append(processor.refund(request))
        except ProcessorUnavailable as error:  # Stripe's 409: the same key is still in flight
            unavailable.append(error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [refund] = fake.refunds()
    assert fake.created_per_key() == {request.refund_id: 1}
    assert len(outcomes) + len(unavailable) == 8
    assert {outcome.processor_reference for outcome in outcomes} == {refund["id"]}
    assert stripe_for(fake).refresh(request, None).processor_reference == refund["id"]
    assert fake.created_per_key() == {request.refund_id: 1}


def test_asking_while_the_first_ask_is_in_flight_is_unavailable_and_makes_nothing(fake):
    request = asked(paid(fake))
    first: list[RefundOutcome] = []
    fake.pause()
    thread = threading.Thread(target=lambda: first.append(stripe_for(fake).refund(request)))
    thread.start()
    fake.wait_until_held(1)

    with pytest.raises(ProcessorUnavailable):
        stripe_for(fake).refund(request)

    fake.resume()
    thread.join()
    [refund] = fake.refunds()
    assert first == [RefundOutcome(RefundState.SUCCEEDED, refund["id"], "requested_by_customer")]
    assert fake.created_per_key() == {request.refund_id: 1}


def test_our_refund_id_reused_for_another_amount_is_unavailable_and_makes_nothing_more(fake):
    # Stripe refuses the key with other parameters; the first refund may stand, so nothing fails.
    request = asked(paid(fake), amount=1500)
    processor = stripe_for(fake)
    processor.refund(request)

    with pytest.raises(ProcessorUnavailable):
        processor.refund(replace(request, amount=1600))

    assert [refund["amount"] for refund in fake.refunds()] == [1500]
    assert fake.created_per_key() == {request.refund_id: 1}


def test_an_over_refund_fails_with_stripes_code_and_makes_nothing(fake):
    request = asked(paid(fake, amount=1000), amount=1001)

    outcome = stripe_for(fake).refund(request)

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="amount_too_large")
    assert fake.refunds() == []
    assert fake.created_per_key() == {}


def test_refunding_a_fully_refunded_charge_fails(fake):
    payment = paid(fake, amount=1000)
    processor = stripe_for(fake)
    full = asked(payment, amount=1000)
    processor.refund(full)
    again = asked(payment, amount=1)

    outcome = processor.refund(again)

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="charge_already_refunded")
    assert fake.created_per_key() == {full.refund_id: 1}


def test_a_declined_card_fails_with_the_decline_code(fake):
    payment = paid(fake)
    fake.decline(payment.payment_intent_id, code="card_declined")

    outcome = stripe_for(fake).refund(asked(payment))

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="card_declined")
    assert fake.refunds() == []


def test_a_payment_stripe_does_not_know_fails_as_missing(fake):
    request = asked(PaymentFacts("4242", "pi_unknown", None))

    outcome = stripe_for(fake).refund(request)

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="resource_missing")


def test_a_timeout_is_unavailable_and_the_retry_does_not_refund_again(fake):
    request = asked(paid(fake))
    fake.delay(0.6)

    with pytest.raises(ProcessorUnavailable):
        stripe_for(fake, timeout=0.3).refund(request)

    fake.wait_until_held(0)
    fake.delay(0)
    [refund] = fake.refunds()
    outcome = stripe_for(fake).refresh(request, None)
    assert outcome == RefundOutcome(RefundState.SUCCEEDED, refund["id"], "requested_by_customer")
    assert fake.created_per_key() == {request.refund_id: 1}


def test_a_server_error_is_unavailable_and_the_retry_refunds_once(fake):
    request = asked(paid(fake))
    fake.fail_next(1)

    with pytest.raises(ProcessorUnavailable):
        stripe_for(fake).refund(request)

    assert fake.created_per_key() == {}
    outcome = stripe_for(fake).refresh(request, None)
    [refund] = fake.refunds()
    assert outcome == RefundOutcome(RefundState.SUCCEEDED, refund["id"], "requested_by_customer")
    assert fake.created_per_key() == {request.refund_id: 1}


def test_a_refused_secret_key_is_unavailable_and_makes_nothing(fake):
    request = asked(paid(fake))

    with pytest.raises(ProcessorUnavailable):
        stripe_for(fake, key="sk_test_wrong").refund(request)

    assert fake.refunds() == []


def test_a_pending_refund_that_fails_later_is_seen_failed_on_refresh(fake):
    request = asked(paid(fake))
    fake.set_next_refund_status("pending")
    processor = stripe_for(fake)
    pending = processor.refund(request)
    fake.set_refund_status(pending.processor_reference, "failed", failure_reason="expired_or_canceled_card")

    outcome = processor.refresh(request, pending.processor_reference)

    assert pending == RefundOutcome(RefundState.PENDING, pending.processor_reference, "requested_by_customer")
    assert outcome == RefundOutcome(
        RefundState.FAILED, pending.processor_reference, "requested_by_customer", "expired_or_canceled_card",
    )
    assert fake.created_per_key() == {request.refund_id: 1}


def test_a_pending_refund_that_succeeds_later_is_seen_even_without_its_reference(fake):
    # Stripe replays the pending answer it saved for the key, so the adapter must fetch the refund.
    request = asked(paid(fake))
    fake.set_next_refund_status("pending")
    processor = stripe_for(fake)
    pending = processor.refund(request)
    fake.set_refund_status(pending.processor_reference, "succeeded")

    outcome = processor.refresh(request, None)

    assert outcome == RefundOutcome(RefundState.SUCCEEDED, pending.processor_reference, "requested_by_customer")
    assert fake.created_per_key() == {request.refund_id: 1}


def test_refreshing_a_reference_stripe_does_not_know_fails_as_missing(fake):
    request = asked(paid(fake))

    outcome = stripe_for(fake).refresh(request, "re_unknown")

    assert outcome == RefundOutcome(RefundState.FAILED, failure_reason="resource_missing")
    assert fake.refunds() == []


@pytest.mark.parametrize(("status", "failure_reason", "expected"), [
    ("pending", None, RefundOutcome(RefundState.PENDING, "re_1", "duplicate")),
    ("succeeded", None, RefundOutcome(RefundState.SUCCEEDED, "re_1", "duplicate")),
    ("failed", "lost_or_stolen_card", RefundOutcome(RefundState.FAILED, "re_1", "duplicate", "lost_or_stolen_card")),
    ("failed", None, RefundOutcome(RefundState.FAILED, "re_1", "duplicate", "unknown")),
    ("canceled", None, RefundOutcome(RefundState.FAILED, "re_1", "duplicate", "canceled")),
    ("a_status_from_the_future", None, RefundOutcome(RefundState.PENDING, "re_1", "duplicate")),
])
def test_each_stripe_refund_status_maps_to_our_state(status, failure_reason, expected):
    refund = {"id": "re_1", "object": "refund", "status": status, "reason": "duplicate"}
    if failure_reason:
        refund["failure_reason"] = failure_reason

    assert outcome_of(refund) == expected


def test_a_refund_awaiting_bank_details_carries_its_expiry_in_milliseconds():
    refund = {
        "id": "re_2", "object": "refund", "status": "requires_action", "reason": None,
        "next_action": {"type": "display_details", "display_details": {"expires_at": 1767225600}},
    }

    assert outcome_of(refund) == RefundOutcome(
        RefundState.PENDING_INFORMATION, "re_2", None, expires_on=1767225600000,
    )


def test_a_signed_event_passes_stripes_own_check(fake):
    processor = stripe_for(fake)
    refund_id = processor.refund(asked(paid(fake))).processor_reference
    payload = fake.refund_event(refund_id, "refund.updated")

    body, signature = FakeStripe.sign_event(payload, "whsec_test_secret")

    event = stripe.Webhook.construct_event(body, signature, "whsec_test_secret")
    assert (event.id, event.type, event.data.object.id) == (payload["id"], "refund.updated", refund_id)
    assert outcome_of(event.data.object.to_dict()) == outcome_of(fake.refund(refund_id))
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"succeeded", b"failed"), signature, "whsec_test_secret")
