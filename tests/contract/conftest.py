"""What the fuzz tests share: this run's seed, new every run so that each run explores new inputs (printed at the
start and the end, so that a failure can be replayed with `ORDERDESK_FUZZ_SEED=<seed>`), and the real data
they address."""

from __future__ import annotations

import os
import random
import re
import time

import httpx
import pytest

from orderdesk.services import processors, webhooks
from tests.contract.test_schemathesis import FUZZ_WEBHOOK_URL
from tests.factories import make_shop, place

FUZZ_SEED = int(os.environ.get("ORDERDESK_FUZZ_SEED") or random.SystemRandom().getrandbits(64))
STRIPE_EVENTS = "receive-stripe-event"  # the operation a Stripe-Signature authenticates, not a token
UNREACHABLE = "http://127.0.0.1:9"  # the Stripe site's API base: nothing listens, so no refund leaves the machine

# The real ids the fuzz tests address, filled by `fuzz_data`. Schemathesis's hooks cannot take fixtures, so they
# read them here, when they draw.
REAL: dict = {}


def _seed_line() -> str:
    return f"orderdesk fuzz seed: {FUZZ_SEED} (replay with ORDERDESK_FUZZ_SEED={FUZZ_SEED})"


def pytest_report_header(config) -> str:
    # pytest asks only the conftest files it knows at start-up (a run of tests/contract or of a file in it);
    # the summary below is printed however the run was started.
    return _seed_line()


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(_seed_line())


def with_webhooks_kept_home(body):
    """The body, with any http(s) URL of a webhook (well formed or not) replaced by one nothing listens on: no
    generated webhook may reach a real host. The URL checks have tests of their own."""
    url = body.get("url") if isinstance(body, dict) else None
    if isinstance(url, str) and re.match(r"(?i)\s*https?:", url):
        return {**body, "url": FUZZ_WEBHOOK_URL}
    return body


@pytest.fixture(scope="session")
def fuzz_data(db, server):
    """A site with orders in every status, refunds, a webhook with deliveries and an email; another site the
    token may not see; a site that takes Stripe events, with a refund waiting for Stripe. Unlimited rate."""
    shop, other, stripe = make_shop(db, rate_limit=0), make_shop(db, rate_limit=0), make_shop(db, rate_limit=0)
    secret = "whsec_fuzz"
    processors.set_stripe_processor(db, stripe.site.id, "sk_test_fuzz", UNREACHABLE, secret)

    def webhook_ids(site_id: str, count: int, trigger: str = "ecomm_new_order") -> list[str]:
        return [webhooks.create_webhook(db, site_id, trigger, FUZZ_WEBHOOK_URL, None, True).id for _ in range(count)]

    delivered = webhook_ids(shop.site.id, 1, "ecomm_order_changed")
    statuses = ["unfulfilled", "unfulfilled", "fulfilled", "fulfilled", "pending", "disputed", "refunded"]
    own_orders = [place(db, shop, status=status).order_id for status in statuses]
    refunds = [create_refund(server, shop, body) for body in (
        {"orderId": own_orders[0], "currency": "USD", "percent": 10},
        {"orderId": place(db, shop, last4="4111").order_id, "currency": "USD", "amount": 1},  # fails: card_declined
    )]
    fulfilled = httpx.post(f"{server.api}/sites/{shop.site.id}/orders/{own_orders[1]}/fulfill", headers=shop.headers,
                           json={"sendOrderFulfilledEmail": True})
    assert fulfilled.status_code == 200
    REAL.update(
        base_url=server.url, headers=shop.headers, stripe_secret=secret, stripe_headers=stripe.headers,
        own_site=[shop.site.id], other_site=[other.site.id], stripe_site=[stripe.site.id],
        own_orders=own_orders, other_orders=[place(db, other).order_id],
        # For create-refund's bodies only: refund-order draws from own_orders and would leave nothing to refund.
        refundable_orders=[place(db, shop).order_id for _ in range(3)],
        own_refunds=refunds,
        other_refunds=[create_refund(server, other, {"orderId": place(db, other).order_id, "currency": "USD",
                                                     "percent": 10})],
        stripe_refunds=[create_refund(server, stripe, {"orderId": place(db, stripe).order_id, "currency": "USD",
                                                       "percent": 10})],
        delivered_webhook=delivered, deliveries=wait_for_deliveries(server, shop, delivered[0]),
        other_deliveries=["0"],  # delivery ids count from 1: this one names nothing
        own_webhooks=[*webhook_ids(shop.site.id, 2), *delivered], removable_webhooks=webhook_ids(shop.site.id, 3),
        other_webhooks=webhook_ids(other.site.id, 1),
    )
    yield REAL
    REAL.clear()


def create_refund(server, shop, body: dict) -> str:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/refunds", headers=shop.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_for_deliveries(server, shop, webhook_id: str) -> list[str]:
    """The ids of the webhook's deliveries the server's worker has tried (to a port nobody listens on: the first
    fails every attempt and deactivates the webhook, so the others wait)."""
    url = f"{server.api}/webhooks/{webhook_id}/deliveries"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = httpx.get(url, headers=shop.headers).json()["deliveries"]
        if found:
            return sorted({attempt["deliveryId"] for attempt in found})
        time.sleep(0.05)  # the test servers retry every 0.2 s
    raise AssertionError("the worker never tried the webhook's deliveries")
