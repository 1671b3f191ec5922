"""Refunds through Stripe end to end: our server, the official stripe library, and a fake Stripe server
that the test starts (stricter than Stripe's own mocks: it stops over-refunds and honours idempotency keys)."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from orderdesk.domain import clock
from orderdesk.store.repositories.processors import SiteProcessor, SiteProcessorRepository
from orderdesk.store.repositories.refunds import RefundRepository
from tests.factories import make_shop, order_body
from tests.fake_stripe import FakeStripe
from tests.server import start_server

QUICK = {"ORDERDESK_PROCESSOR_TIMEOUT": "0.5", "ORDERDESK_RECONCILE_AFTER": "1", "ORDERDESK_RECONCILE_INTERVAL": "0.2"}


@pytest.fixture
def fake():
    with FakeStripe() as running:
        yield running


@pytest.fixture(scope="module")
def stripe_server(database_url):
    running = start_server(database_url, env=QUICK)
    yield running
    running.stop()


def stripe_shop(db, fake):
    shop = make_shop(db)
    with db.unit_of_work() as work:
        SiteProcessorRepository(work.connection).put(SiteProcessor(
            shop.site.id, "stripe", fake.secret_key, fake.url, "whsec_test", clock.to_millis(clock.now())))
        work.commit()
    return shop


def place(server, fake, shop, captured_at_stripe: int = 5898) -> dict:
    body = {**order_body(), "stripeDetails": {"paymentIntentId": f"pi_{time.monotonic_ns()}",
                                              "chargeId": f"ch_{time.monotonic_ns()}"}}
    order = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=body, headers=shop.headers).json()
    details = order["stripeDetails"]
    fake.add_payment(details["paymentIntentId"], details["chargeId"], captured_at_stripe, "usd")
    return order


def refund(server, shop, order_id: str, amount, timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{server.api}/sites/{shop.site.id}/refunds", headers=shop.headers, timeout=timeout,
                      json={"orderId": order_id, "currency": "USD", "amount": amount, "reason": "duplicate"})


def wait_until_settled(db, shop, order_id: str, seconds: float = 20) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.reading() as connection:
            refunds = RefundRepository(connection).for_order(shop.site.id, order_id)
        if refunds and all(r.state not in ("pending", "pending_information") for r in refunds):
            return refunds
        time.sleep(0.1)
    raise AssertionError(f"refunds still unsettled: {refunds}")


def test_a_partial_refund_goes_to_stripe_once_with_our_id_as_the_idempotency_key(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop)

    response = refund(stripe_server, shop, order["orderId"], 12.5)

    made = response.json()
    at_stripe = fake.refunds()
    assert (response.status_code, made["state"], made["refundedAmount"]) == (201, "succeeded", 12.5)
    assert fake.created_per_key() == {made["id"]: 1}
    assert [(r["amount"], r["reason"], r["payment_intent"], r["metadata"]["orderdesk_refund_id"]) for r in at_stripe] == [
        (1250, "duplicate", order["stripeDetails"]["paymentIntentId"], made["id"])]


def test_the_webflow_refund_through_stripe_records_stripes_refund_id(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop)

    response = httpx.post(f"{stripe_server.api}/sites/{shop.site.id}/orders/{order['orderId']}/refund",
                          json={"reason": "fraudulent"}, headers=shop.headers)

    (at_stripe,) = fake.refunds()
    assert response.json()["status"] == "refunded"
    assert response.json()["stripeDetails"]["refundId"] == at_stripe["id"]
    assert response.json()["stripeDetails"]["refundReason"] == "fraudulent"
    assert at_stripe["amount"] == 5898


def test_stripes_refusal_fails_the_refund_and_releases_the_amount(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop, captured_at_stripe=1000)  # Stripe holds less than we think

    refused = refund(stripe_server, shop, order["orderId"], 20).json()
    fits = refund(stripe_server, shop, order["orderId"], 10).json()

    assert (refused["state"], refused["failureReason"], refused["refundedAmount"]) == ("failed", "amount_too_large", 0)
    assert fits["state"] == "succeeded"


def test_a_stripe_timeout_leaves_the_refund_pending_until_the_reconciler_settles_it_once(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop)
    fake.delay(1.5)  # longer than the server's 0.5 s processor timeout; Stripe still makes the refund

    response = refund(stripe_server, shop, order["orderId"], 7)
    fake.delay(0)
    settled = wait_until_settled(db, shop, order["orderId"])

    assert (response.status_code, response.json()["state"]) == (201, "pending")
    assert [(r.state, r.refunded_amount) for r in settled] == [("succeeded", 700)]
    assert fake.created_per_key() == {response.json()["id"]: 1}


def test_a_refund_stripe_leaves_pending_settles_when_stripe_decides(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop)
    fake.set_next_refund_status("pending")

    made = refund(stripe_server, shop, order["orderId"], 9).json()
    (at_stripe,) = fake.refunds()
    fake.set_refund_status(at_stripe["id"], "failed", failure_reason="expired_or_canceled_card")
    (settled,) = wait_until_settled(db, shop, order["orderId"])

    assert made["state"] == "pending"
    assert (settled.state, settled.failure_reason, settled.processor_reference) == (
        "failed", "expired_or_canceled_card", at_stripe["id"])


def test_a_server_killed_while_stripe_answers_refunds_each_once_after_restart(database_url, db, fake):
    victim = start_server(database_url, env={**QUICK, "ORDERDESK_PROCESSOR_TIMEOUT": "30",
                                             "ORDERDESK_RECONCILE_AFTER": "60"})
    shop = stripe_shop(db, fake)
    order = place(victim, fake, shop)
    fake.pause()  # Stripe makes each refund but holds its answer

    with ThreadPoolExecutor(5) as pool:
        for _ in range(5):
            pool.submit(_refund_quietly, victim, shop, order["orderId"])
        fake.wait_until_held(5, timeout=15)
        victim.stop(signal.SIGKILL)
    fake.resume()
    survivor = start_server(database_url, env=QUICK)
    try:
        settled = wait_until_settled(db, shop, order["orderId"])
    finally:
        survivor.stop()

    assert [(r.state, r.refunded_amount) for r in settled] == [("succeeded", 300)] * 5
    assert sorted(fake.created_per_key().values()) == [1] * 5
    assert set(fake.created_per_key()) == {r.id for r in settled}


def _refund_quietly(server, shop, order_id: str) -> None:
    try:
        refund(server, shop, order_id, 3, timeout=30)
    except httpx.TransportError:
        pass  # the server died under us, as intended


def test_a_reason_of_our_own_words_rides_in_stripes_metadata(stripe_server, db, fake):
    shop = stripe_shop(db, fake)
    order = place(stripe_server, fake, shop)

    response = httpx.post(f"{stripe_server.api}/sites/{shop.site.id}/refunds", headers=shop.headers,
                          json={"orderId": order["orderId"], "currency": "USD", "amount": 2,
                                "reason": "customer changed mind"})

    (at_stripe,) = fake.refunds()
    assert (response.status_code, response.json()["state"], response.json()["reason"]) == (
        201, "succeeded", "customer changed mind")
    assert (at_stripe["reason"], at_stripe["metadata"]["orderdesk_reason"]) == (None, "customer changed mind")
