"""Webhook delivery end to end: a real server, a real receiver, signatures checked as Webflow documents
them and by the official JS SDK, retries, in-order delivery, crashes and several workers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from orderdesk.services import webhooks
from orderdesk.store.repositories.webhooks import DELIVERED, WebhookRepository
from orderdesk.store.tables import deliveries
from tests.api.test_webhooks_api import wait_for
from tests.factories import make_shop, order_body, place
from tests.server import start_server
from tests.webhooks.receiver import Receiver

QUICK = {"ORDERDESK_WEBHOOK_RETRY_INTERVAL": "0.2"}
JS_SDK = "webflow-api@3.3.4"
JS_DIR = Path(__file__).resolve().parents[2] / ".venv" / "js"
VERIFY_JS = """
const { WebflowClient } = require("webflow-api");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const { headers, body, secret } = JSON.parse(input);
  const client = new WebflowClient({ accessToken: "unused" });
  process.stdout.write((await client.webhooks.verifySignature({ headers, body, secret })) ? "valid" : "invalid");
});
"""


def verify_as_documented(secret: str, headers: dict[str, str], body: bytes, now_ms: int) -> bool:
    """Webflow's documented check: HMAC-SHA256(secret, timestamp + ":" + body) in hex, and no older than 5 min.
    https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures"""
    timestamp = headers["x-webflow-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}:{body.decode()}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-webflow-signature"]) and now_ms - int(timestamp) < 300_000


@pytest.fixture(scope="module")
def quick_server(database_url):
    running = start_server(database_url, env=QUICK)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def js_verifier():
    """The official JS SDK's verifySignature, run by node; skipped only where node is missing (outside CI)."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is required in CI for the JS SDK signature check")
        pytest.skip("node is not installed: the JS SDK signature check is skipped (outside CI only)")
    if not (JS_DIR / "node_modules" / "webflow-api").exists():
        JS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(JS_DIR), JS_SDK],
                       check=True, timeout=300, capture_output=True)
    script = JS_DIR / "verify.js"
    script.write_text(VERIFY_JS)

    def verify(secret: str, headers: dict[str, str], body: bytes) -> str:
        given = json.dumps({"headers": headers, "body": body.decode(), "secret": secret})
        done = subprocess.run(["node", str(script)], input=given, capture_output=True, text=True, timeout=60,
                              cwd=JS_DIR, check=True)
        return done.stdout

    return verify


def subscribe(db, shop, receiver, trigger: str, path: str = "/hook"):
    return webhooks.create_webhook(db, shop.site.id, trigger, receiver.url(path), None, allow_private=True)


def settled(db, *webhook_ids: str) -> Counter[str] | None:
    """The webhooks' deliveries counted by state, once none is pending: from then on no worker sends them
    anything more, so what their receiver holds is all it will ever get."""
    with db.reading() as connection:
        states = Counter(dict(connection.execute(
            sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.webhook_id.in_(webhook_ids))
            .group_by(deliveries.c.state)).all()))
    return None if states["pending"] else states


def api_place(server, shop) -> httpx.Response:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=order_body(), headers=shop.headers)
    assert response.status_code == 201
    return response


def test_a_placed_order_arrives_signed_as_webflow_signs(quick_server, db, js_verifier):
    shop = make_shop(db)
    with Receiver() as receiver:
        hook = subscribe(db, shop, receiver, "ecomm_new_order")

        placed = api_place(quick_server, shop)
        (delivery,) = receiver.wait_for(1)

    now_ms = int(time.time() * 1000)
    assert delivery.body == b'{"triggerType":"ecomm_new_order","payload":' + placed.content + b"}"
    assert delivery.headers["content-type"] == "application/json"
    assert len(delivery.headers["x-orderdesk-event-id"]) == 32
    assert verify_as_documented(hook.secret_key, delivery.headers, delivery.body, now_ms)
    assert not verify_as_documented("another secret", delivery.headers, delivery.body, now_ms)
    assert js_verifier(hook.secret_key, delivery.headers, delivery.body) == "valid"
    assert js_verifier(hook.secret_key, delivery.headers, delivery.body + b" ") == "invalid"


def test_every_visible_change_is_sent_and_no_op_changes_send_nothing(quick_server, db):
    shop = make_shop(db)
    order = place(db, shop)
    url = f"{quick_server.api}/sites/{shop.site.id}/orders/{order.order_id}"
    with Receiver() as receiver:
        hook = subscribe(db, shop, receiver, "ecomm_order_changed")

        fulfilled = httpx.post(url + "/fulfill", json={}, headers=shop.headers)
        httpx.post(url + "/fulfill", json={}, headers=shop.headers)  # already fulfilled: a no-op
        httpx.patch(url, json={}, headers=shop.headers)  # nothing to change
        updated = httpx.patch(url, json={"comment": "gift"}, headers=shop.headers)
        httpx.patch(url, json={"comment": "gift"}, headers=shop.headers)  # the same again
        received = receiver.wait_for(2)
        # Each change's deliveries are written with it, before its answer: once they are settled, a stray one
        # would have been sent already.
        states = wait_for(lambda: settled(db, hook.id), "the webhook's deliveries to settle")

    assert states == {DELIVERED: 2}
    assert [json.loads(r.body)["triggerType"] for r in receiver.received] == ["ecomm_order_changed"] * 2
    assert [r.body for r in received[:2]] == [
        b'{"triggerType":"ecomm_order_changed","payload":' + fulfilled.content + b"}",
        b'{"triggerType":"ecomm_order_changed","payload":' + updated.content + b"}",
    ]
    assert len(receiver.received) == 2


def test_refunds_are_sent_as_they_are_created_and_settle(quick_server, db):
    shop = make_shop(db)
    order = place(db, shop)
    with Receiver() as receiver:
        subscribe(db, shop, receiver, "ecomm_refund_changed")

        created = httpx.post(f"{quick_server.api}/sites/{shop.site.id}/refunds", headers=shop.headers,
                             json={"orderId": order.order_id, "currency": "USD", "amount": 5})
        sent = receiver.wait_for(2)

    payloads = [json.loads(r.body)["payload"] for r in sent]
    assert [(p["id"], p["state"], p["refundedAmount"]) for p in payloads] == [
        (created.json()["id"], "pending", 0), (created.json()["id"], "succeeded", 5)]
    assert sent[1].body == b'{"triggerType":"ecomm_refund_changed","payload":' + created.content + b"}"


def test_a_failed_delivery_is_retried_and_later_events_wait_their_turn(quick_server, db):
    shop = make_shop(db)
    with Receiver() as receiver:
        receiver.answers = [500]
        subscribe(db, shop, receiver, "ecomm_new_order")

        first, second = api_place(quick_server, shop), api_place(quick_server, shop)
        sent = receiver.wait_for(3)

    first_id = json.loads(first.content)["orderId"]
    assert [json.loads(r.body)["payload"]["orderId"] for r in sent] == [
        first_id, first_id, json.loads(second.content)["orderId"]]
    assert sent[0].headers["x-orderdesk-event-id"] == sent[1].headers["x-orderdesk-event-id"]
    assert sent[1].body == sent[0].body
    assert sent[2].headers["x-orderdesk-event-id"] != sent[0].headers["x-orderdesk-event-id"]


def test_events_written_before_a_crash_are_delivered_after_restart(fresh_database_url, own_db):
    database_url, db = fresh_database_url, own_db
    shop = make_shop(db)
    with Receiver() as receiver:
        subscribe(db, shop, receiver, "ecomm_new_order")
        silent = start_server(database_url, env={**QUICK, "ORDERDESK_DELIVERY_WORKER": "false"})
        placed = [json.loads(api_place(silent, shop).content)["orderId"] for _ in range(5)]
        silent.stop(signal.SIGKILL)
        assert receiver.received == []

        restarted = start_server(database_url, env=QUICK)
        try:
            sent = receiver.wait_for(5)
        finally:
            restarted.stop()

    assert [json.loads(r.body)["payload"]["orderId"] for r in sent] == placed


WORKER_ORDERS = 1000


def test_two_workers_deliver_every_event_once_and_in_order(fresh_database_url, own_db):
    database_url, db = fresh_database_url, own_db
    shop = make_shop(db)
    with Receiver() as receiver:
        hooks = [subscribe(db, shop, receiver, "ecomm_new_order", path=f"/hook/{index}") for index in range(2)]
        placed = [place(db, shop).order_id for _ in range(WORKER_ORDERS)]  # 1,000 events, 2,000 deliveries
        environment = {**os.environ, **QUICK, "ORDERDESK_LOG_LEVEL": "warning", "ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "true"}
        workers = [subprocess.Popen([sys.executable, "-m", "orderdesk", "worker", "--database", database_url],
                                    env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        try:
            sent = receiver.wait_for(2 * WORKER_ORDERS, seconds=240)
            states = wait_for(lambda: settled(db, *(hook.id for hook in hooks)), "every delivery to settle")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)
        # Both workers have exited: whatever either of them sent, a duplicate included, has arrived.

    per_hook = {f"/hook/{index}": [json.loads(r.body)["payload"]["orderId"] for r in sent if r.path == f"/hook/{index}"]
                for index in range(2)}
    with db.reading() as connection:
        attempts = [len(WebhookRepository(connection).attempts(hook.id, limit=10_000)) for hook in hooks]
    assert states == {DELIVERED: 2 * WORKER_ORDERS}
    assert len(receiver.received) == 2 * WORKER_ORDERS
    assert Counter((r.path, r.headers["x-orderdesk-event-id"]) for r in receiver.received).most_common(1)[0][1] == 1
    assert per_hook == {"/hook/0": placed, "/hook/1": placed}
    assert attempts == [WORKER_ORDERS, WORKER_ORDERS]
