"""Stripe's webhook events over HTTP (BEHAVIOUR.md sections 4 and 8): signed as Stripe signs them.

https://docs.stripe.com/webhooks#verify-manually: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
"""

from __future__ import annotations

import re
import secrets
import time

import httpx
import pytest

from orderdesk.services import processors
from orderdesk.store.repositories.orders import OrderRepository
from tests.factories import Shop, make_shop, place
from tests.fake_stripe import FakeStripe

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
RECEIVED = b'{"received":true}'
BAD_SIGNATURE = (b'{"code":"bad_request","message":"Bad Request: The Stripe-Signature header does not match the '
                 b'body","externalReference":"","details":[]}')
SITE_NOT_FOUND = (b'{"code":"resource_not_found","message":"Requested resource not found: The site cannot be '
                  b'found","externalReference":"","details":[]}')
UNREACHABLE = "http://127.0.0.1:9"  # these tests never call Stripe's API


# --- helpers ----------------------------------------------------------------------------------------

def stripe_shop(db, api_base: str = UNREACHABLE, secret_key: str = "sk_test_events") -> tuple[Shop, str]:
    """A site refunding through Stripe; returns it and its webhook signing secret."""
    shop = make_shop(db)
    webhook_secret = "whsec_test_" + secrets.token_hex(16)
    processors.set_stripe_processor(db, shop.site.id, secret_key, api_base, webhook_secret)
    return shop, webhook_secret


def event(event_type: str, stripe_object: dict) -> dict:
    """A Stripe event as Stripe posts it to a webhook endpoint."""
    return {
        "id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2025-01-27.acacia",
        "created": int(time.time()), "livemode": False, "pending_webhooks": 1, "type": event_type,
        "request": {"id": None, "idempotency_key": None}, "data": {"object": stripe_object},
    }


def dispute(order, status: str, dispute_id: str = "dp_1QdisputeXYZ") -> dict:
    return {
        "id": dispute_id, "object": "dispute", "amount": 5898, "currency": "usd", "reason": "fraudulent",
        "charge": order.stripe_details.charge_id, "payment_intent": order.stripe_details.payment_intent_id,
        "status": status, "is_charge_refundable": False, "livemode": False, "metadata": {},
    }


def events_url(server, site_id: str) -> str:
    return f"{server.api}/processors/stripe/{site_id}/events"


def post_event(server, site_id: str, payload: dict, secret: str) -> httpx.Response:
    body, signature = FakeStripe.sign_event(payload, secret)
    return httpx.post(events_url(server, site_id), content=body,
                      headers={"Content-Type": "application/json", "Stripe-Signature": signature})


def read(server, shop, order_id: str) -> httpx.Response:
    response = httpx.get(f"{server.api}/sites/{shop.site.id}/orders/{order_id}", headers=shop.headers)
    assert response.status_code == 200
    return response


def history(db, shop, order_id: str) -> list[str]:
    with db.reading() as connection:
        return [entry["action"] for entry in OrderRepository(connection).history(shop.site.id, order_id)]


# --- disputes ---------------------------------------------------------------------------------------

def test_a_dispute_created_event_marks_the_order_disputed(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    before = read(server, shop, order.order_id).json()

    response = post_event(server, shop.site.id, event("charge.dispute.created", dispute(order, "needs_response")),
                          secret)

    after = read(server, shop, order.order_id).json()
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert TIMESTAMP.match(after["disputedOn"])
    assert after == {
        **before, "status": "disputed", "disputedOn": after["disputedOn"], "disputeUpdatedOn": after["disputedOn"],
        "disputeLastStatus": "needs_response",
        "stripeDetails": {**before["stripeDetails"], "disputeId": "dp_1QdisputeXYZ"},
    }


def test_a_dispute_updated_event_sets_the_last_status_and_its_time(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    post_event(server, shop.site.id, event("charge.dispute.created", dispute(order, "needs_response")), secret)
    opened = read(server, shop, order.order_id).json()

    response = post_event(server, shop.site.id, event("charge.dispute.updated", dispute(order, "under_review")),
                          secret)

    after = read(server, shop, order.order_id).json()
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert TIMESTAMP.match(after["disputeUpdatedOn"])
    assert after == {**opened, "disputeLastStatus": "under_review", "disputeUpdatedOn": after["disputeUpdatedOn"]}


def test_a_dispute_closed_lost_event_leaves_the_order_dispute_lost(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    post_event(server, shop.site.id, event("charge.dispute.created", dispute(order, "needs_response")), secret)
    opened = read(server, shop, order.order_id).json()

    response = post_event(server, shop.site.id, event("charge.dispute.closed", dispute(order, "lost")), secret)

    after = read(server, shop, order.order_id).json()
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert after == {**opened, "status": "dispute-lost", "disputeLastStatus": "lost",
                     "disputeUpdatedOn": after["disputeUpdatedOn"]}
    assert history(db, shop, order.order_id) == ["place", "open_dispute", "close_dispute"]


def test_a_dispute_closed_won_event_restores_the_fulfilled_status(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    fulfilled = httpx.post(f"{server.api}/sites/{shop.site.id}/orders/{order.order_id}/fulfill", headers=shop.headers)
    assert fulfilled.status_code == 200
    post_event(server, shop.site.id, event("charge.dispute.created", dispute(order, "needs_response")), secret)

    response = post_event(server, shop.site.id, event("charge.dispute.closed", dispute(order, "won")), secret)

    after = read(server, shop, order.order_id).json()
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert (after["status"], after["disputeLastStatus"]) == ("fulfilled", "won")


def test_the_same_event_delivered_twice_is_applied_once(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    post_event(server, shop.site.id, event("charge.dispute.created", dispute(order, "needs_response")), secret)
    reviewing = event("charge.dispute.updated", dispute(order, "under_review"))
    post_event(server, shop.site.id, reviewing, secret)
    post_event(server, shop.site.id, event("charge.dispute.updated", dispute(order, "warning_needs_response")), secret)
    before = read(server, shop, order.order_id).content

    replayed = post_event(server, shop.site.id, reviewing, secret)

    assert (replayed.status_code, replayed.content) == (200, RECEIVED)
    assert read(server, shop, order.order_id).content == before
    assert history(db, shop, order.order_id) == ["place", "open_dispute", "update_dispute", "update_dispute"]


# --- what is answered 200 and ignored ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["unknown type", "unknown order", "refused change"])
def test_events_about_nothing_we_can_change_are_acknowledged_and_change_nothing(server, db, kind):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    other_shop = make_shop(db)
    stranger = place(db, other_shop)  # another site's order: not this site's to change
    payload = {
        "unknown type": event("customer.created", {"id": "cus_1", "object": "customer"}),
        "unknown order": event("charge.dispute.created", dispute(stranger, "needs_response")),
        "refused change": event("charge.dispute.updated", dispute(order, "under_review")),
    }[kind]
    before = (read(server, shop, order.order_id).content, history(db, shop, order.order_id))

    response = post_event(server, shop.site.id, payload, secret)

    assert (response.status_code, response.content) == (200, RECEIVED)
    assert (read(server, shop, order.order_id).content, history(db, shop, order.order_id)) == before
    assert history(db, other_shop, stranger.order_id) == ["place"]


# --- refusals ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("forgery", ["other secret", "changed body", "too old", "no header", "garbled header"])
def test_a_bad_signature_is_a_400_and_changes_nothing(server, db, forgery):
    shop, secret = stripe_shop(db)
    order = place(db, shop)
    payload = event("charge.dispute.created", dispute(order, "needs_response"))
    body, signature = FakeStripe.sign_event(payload, secret)
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    if forgery == "other secret":
        body, headers["Stripe-Signature"] = FakeStripe.sign_event(payload, "whsec_someone_else")
    elif forgery == "changed body":
        body = body.replace(b"needs_response", b"under_review")
    elif forgery == "too old":
        body, headers["Stripe-Signature"] = FakeStripe.sign_event(payload, secret, int(time.time()) - 301)
    elif forgery == "no header":
        del headers["Stripe-Signature"]
    else:
        headers["Stripe-Signature"] = "v1=" + signature
    before = read(server, shop, order.order_id).content

    response = httpx.post(events_url(server, shop.site.id), content=body, headers=headers)

    assert (response.status_code, response.content) == (400, BAD_SIGNATURE)
    assert read(server, shop, order.order_id).content == before
    assert post_event(server, shop.site.id, payload, secret).status_code == 200  # the event id was not used up


@pytest.mark.parametrize("site", ["unknown", "simulated", "no webhook secret"])
def test_a_site_without_a_stripe_webhook_secret_has_no_endpoint(server, db, site):
    shop = make_shop(db)
    if site == "no webhook secret":
        processors.set_stripe_processor(db, shop.site.id, "sk_test_events", UNREACHABLE)
    site_id = "0" * 24 if site == "unknown" else shop.site.id

    response = post_event(server, site_id, event("customer.created", {"id": "cus_1"}), "whsec_guess")

    assert (response.status_code, response.content) == (404, SITE_NOT_FOUND)


# --- refunds and captures ---------------------------------------------------------------------------

def test_a_refund_event_settles_a_pending_refund(server, db):
    with FakeStripe() as fake:
        shop, secret = stripe_shop(db, fake.url, fake.secret_key)
        order = place(db, shop)
        fake.add_payment(order.stripe_details.payment_intent_id, order.stripe_details.charge_id, 5898, "usd")
        fake.set_next_refund_status("pending")
        created = httpx.post(f"{server.api}/sites/{shop.site.id}/refunds", headers=shop.headers,
                             json={"orderId": order.order_id, "currency": "USD", "amount": 5.00})
        assert (created.status_code, created.json()["state"]) == (201, "pending")
        [stripe_refund] = fake.refunds()
        fake.set_refund_status(stripe_refund["id"], "succeeded")

        response = post_event(server, shop.site.id, fake.refund_event(stripe_refund["id"], "charge.refund.updated"),
                              secret)

    refund = httpx.get(f"{server.api}/sites/{shop.site.id}/refunds/{created.json()['id']}", headers=shop.headers)
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert stripe_refund["metadata"]["orderdesk_refund_id"] == created.json()["id"]
    assert {key: refund.json()[key] for key in ("state", "amount", "refundedAmount", "failureReason")} == {
        "state": "succeeded", "amount": 5.0, "refundedAmount": 5.0, "failureReason": None,
    }


def test_a_refund_event_cannot_settle_another_sites_refund(server, db):
    with FakeStripe() as fake:
        shop, _ = stripe_shop(db, fake.url, fake.secret_key)
        intruder, intruder_secret = stripe_shop(db)
        order = place(db, shop)
        fake.add_payment(order.stripe_details.payment_intent_id, order.stripe_details.charge_id, 5898, "usd")
        fake.set_next_refund_status("pending")
        created = httpx.post(f"{server.api}/sites/{shop.site.id}/refunds", headers=shop.headers,
                             json={"orderId": order.order_id, "currency": "USD", "amount": 5.00})
        [stripe_refund] = fake.refunds()
        fake.set_refund_status(stripe_refund["id"], "succeeded")

        response = post_event(server, intruder.site.id, fake.refund_event(stripe_refund["id"]), intruder_secret)

    refund = httpx.get(f"{server.api}/sites/{shop.site.id}/refunds/{created.json()['id']}", headers=shop.headers)
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert refund.json() == created.json()


def test_a_payment_intent_succeeded_event_captures_a_pending_order(server, db):
    shop, secret = stripe_shop(db)
    order = place(db, shop, status="pending")
    intent = {"id": order.stripe_details.payment_intent_id, "object": "payment_intent", "amount": 5898,
              "amount_received": 5898, "currency": "usd", "status": "succeeded",
              "latest_charge": order.stripe_details.charge_id}
    before = read(server, shop, order.order_id).json()

    response = post_event(server, shop.site.id, event("payment_intent.succeeded", intent), secret)

    with db.reading() as connection:
        captured = OrderRepository(connection).lock(shop.site.id, order.order_id).captured_amount
    assert (response.status_code, response.content) == (200, RECEIVED)
    assert read(server, shop, order.order_id).json() == {**before, "status": "unfulfilled"}
    assert captured == 5898
    assert history(db, shop, order.order_id) == ["place", "capture"]


@pytest.mark.parametrize("next_action", [
    {"type": "display_details", "display_details": {"expires_at": "soon"}},
    {"type": "display_details", "display_details": {"expires_at": 2**63}},
    {"type": "display_details", "display_details": {"expires_at": -1}},
])
def test_a_signed_refund_event_with_fields_we_cannot_keep_is_refused_and_stores_nothing(server, db, next_action):
    with FakeStripe() as fake:
        shop, secret = stripe_shop(db, fake.url, fake.secret_key)
        order = place(db, shop)
        fake.add_payment(order.stripe_details.payment_intent_id, order.stripe_details.charge_id, 5898, "usd")
        fake.set_next_refund_status("pending")
        refunds_url = f"{server.api}/sites/{shop.site.id}/refunds"
        created = httpx.post(refunds_url, headers=shop.headers,
                             json={"orderId": order.order_id, "currency": "USD", "amount": 5.00})
        [stripe_refund] = fake.refunds()
        payload = fake.refund_event(stripe_refund["id"], "charge.refund.updated")
        payload["data"]["object"] = {**payload["data"]["object"], "status": "requires_action",
                                     "next_action": next_action}

        response = post_event(server, shop.site.id, payload, secret)

    assert response.status_code == 400
    assert response.json()["message"] == "Bad Request: The event is not a Stripe event this server understands"
    listed = httpx.get(refunds_url, headers=shop.headers)
    assert (listed.status_code, listed.json()["data"]) == (200, [created.json()])
