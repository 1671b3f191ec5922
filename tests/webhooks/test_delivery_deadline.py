"""Deliveries that cannot be held: every attempt ends by its deadline (`webhook_timeout`) whatever the
receiver does, a slow receiver holds neither other webhooks nor the emails, and two workers never send
the same attempt twice while one of them waits on a slow receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import ExitStack


from orderdesk.config import Settings
from orderdesk.services import orders, webhooks
from orderdesk.store.database import Database
from orderdesk.webhooks.delivery import Deliverer
from tests.api.test_webhooks_api import wait_for
from tests.factories import make_shop, place
from tests.server import start_server
from tests.smtp import smtp_sink
from tests.webhooks.fake_dns import FakeDns
from tests.webhooks.receiver import Drip, Receiver

HEAD = b"HTTP/1.1 200 OK\r\n"
TIMED_OUT = (None, "timed out after 1 s")
# How a receiver answers: the attempt's (status, error), and whether it lasts until the deadline.
RECEIVERS = {
    "a head sent a byte at a time": (Drip(slowly=HEAD + b"X-Slow: a\r\n" * 1000, interval=0.05), TIMED_OUT, True),
    "no answer at all": (Drip(), TIMED_OUT, True),
    "a head that stops halfway": (Drip(at_once=HEAD + b"X-Half: a"), TIMED_OUT, True),
    # Once the head has arrived its status is the answer; the body is read only to keep the connection.
    "a body sent a byte at a time": (Drip(at_once=HEAD + b"Content-Length: 1000\r\n\r\n", slowly=b"x" * 1000),
                                     (200, None), True),
    "a body of 8 MiB": (Drip(at_once=HEAD + b"Content-Length: 8388608\r\n\r\n" + b"x" * 8388608), (200, None), False),
    "a head of 1 MB": (Drip(at_once=HEAD + b"X-Huge: " + b"a" * 1_000_000),
                       (None, "RemoteProtocolError: Receive buffer too long"), False),  # h11 stops at 100 KiB
}


def attempts_of(db: Database, site_id: str, webhook_id: str, count: int) -> list:
    """The webhook's recorded attempts, oldest first, once `count` are recorded."""
    def recorded() -> list | None:
        found = webhooks.delivery_attempts(db, site_id, webhook_id)
        return found[::-1] if len(found) >= count else None

    return wait_for(recorded, f"{count} attempts of webhook {webhook_id}")


def test_every_attempt_ends_by_its_deadline_whatever_the_receiver_does(fresh_database_url, own_db):
    shop = make_shop(own_db)
    server = start_server(fresh_database_url, env={"ORDERDESK_WEBHOOK_TIMEOUT": "1",
                                                    "ORDERDESK_WEBHOOK_RETRIES": "0"})
    with ExitStack() as receivers:
        hooks = {}
        for name, (answer, _, _) in RECEIVERS.items():
            receiver = receivers.enter_context(Receiver())
            receiver.answers = [answer]
            hooks[name] = (receiver, webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order",
                                                              receiver.url(), None, allow_private=True))
        try:
            place(own_db, shop)
            outcomes = {name: attempts_of(own_db, shop.site.id, hook.id, 1) for name, (_, hook) in hooks.items()}
            hang_ups = {name: receiver.wait_for_hang_ups(1) for name, (receiver, _) in hooks.items()}
        finally:
            server.stop()

    for name, (_, outcome, until_the_deadline) in RECEIVERS.items():
        (attempt,) = outcomes[name]
        assert (attempt.status_code, attempt.error) == outcome, name
        if until_the_deadline:  # all of them at once: each webhook's attempt runs beside the others
            assert 1000 <= attempt.duration_ms < 1500, (name, attempt.duration_ms)
            assert 0.8 < hang_ups[name][0] < 1.5, (name, hang_ups)  # the connection was closed, not left open
        else:
            assert attempt.duration_ms < 1000, (name, attempt.duration_ms)
            assert hang_ups[name][0] < 1.0, (name, hang_ups)


def test_a_slow_receiver_holds_neither_another_sites_webhook_nor_the_emails(fresh_database_url, own_db):
    slow_shop, other_shop = make_shop(own_db), make_shop(own_db)
    with Receiver() as slow, Receiver() as other, smtp_sink() as smtp:
        slow.answers = [Drip()]
        slow_hook = webhooks.create_webhook(own_db, slow_shop.site.id, "ecomm_new_order", slow.url(), None, True)
        webhooks.create_webhook(own_db, other_shop.site.id, "ecomm_new_order", other.url(), None, True)
        server = start_server(fresh_database_url, env={"ORDERDESK_WEBHOOK_TIMEOUT": "4",
                                                        "ORDERDESK_SMTP_URL": smtp.url})
        try:
            place(own_db, slow_shop)
            slow.wait_for(1)  # the slow receiver now holds its attempt open

            other_order = place(own_db, other_shop)
            orders.fulfill_order(own_db, other_shop.site.id, other_order.order_id, other_shop.token_id,
                                 send_email=True)
            (delivered,) = other.wait_for(1)
            (email,) = smtp.wait_for(1)
            still_held = (list(slow.hang_ups), webhooks.delivery_attempts(own_db, slow_shop.site.id, slow_hook.id))

            (cut,) = attempts_of(own_db, slow_shop.site.id, slow_hook.id, 1)
        finally:
            server.stop()

    assert still_held == ([], [])  # both went out while the slow attempt was still open
    assert json.loads(delivered.body)["payload"]["orderId"] == other_order.order_id
    assert email.rcpt_tos == ["arthur@example.com"]
    assert (cut.status_code, cut.error) == (None, "timed out after 4 s")
    assert 4000 <= cut.duration_ms < 4500


def test_two_workers_never_send_an_attempt_twice_while_a_receiver_holds_it(fresh_database_url, own_db):
    shop = make_shop(own_db)
    environment = {**os.environ, "ORDERDESK_LOG_LEVEL": "warning", "ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "true",
                   "ORDERDESK_WEBHOOK_TIMEOUT": "1", "ORDERDESK_WEBHOOK_RETRIES": "2",
                   "ORDERDESK_WEBHOOK_RETRY_INTERVAL": "0.2"}
    with Receiver() as receiver:
        receiver.answers = [Drip(), Drip(), Drip()]  # every attempt held until the worker gives up on it
        hook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order", receiver.url(), None, True)
        place(own_db, shop)
        workers = [subprocess.Popen([sys.executable, "-m", "orderdesk", "worker", "--database", fresh_database_url],
                                    env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        try:
            attempts = attempts_of(own_db, shop.site.id, hook.id, 3)
            wait_for(lambda: webhooks.get_webhook(own_db, shop.site.id, hook.id).deactivated_on is not None,
                     "the webhook to be deactivated")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=30)
        hang_ups = receiver.wait_for_hang_ups(3)

    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (1, None, "timed out after 1 s"), (2, None, "timed out after 1 s"), (3, None, "timed out after 1 s")]
    assert len({a.delivery_id for a in attempts}) == 1
    assert len(receiver.received) == 3  # one request per attempt: none sent again by the other worker
    assert len({r.headers["x-orderdesk-event-id"] for r in receiver.received}) == 1
    assert len(hang_ups) == 3


def test_a_dns_lookup_that_never_answers_is_cut_at_the_deadline(own_db, monkeypatch):
    dns = FakeDns(monkeypatch, hanging={"hooks.slow-dns.example"})
    shop = make_shop(own_db)
    hook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order", "https://hooks.slow-dns.example/hook",
                                   None, allow_private=False)
    place(own_db, shop)
    deliverer = Deliverer(own_db, Settings(webhook_timeout=1, webhook_retries=0))
    try:
        handled = deliverer.deliver_due()
    finally:
        dns.release()
        deliverer.close()

    (attempt,) = webhooks.delivery_attempts(own_db, shop.site.id, hook.id)
    assert (handled, dns.lookups) == (1, ["hooks.slow-dns.example"])
    assert (attempt.status_code, attempt.error) == (None, "timed out after 1 s")
    assert 1000 <= attempt.duration_ms < 1500


def test_a_stopping_server_gives_back_the_attempt_it_could_not_finish(fresh_database_url, own_db):
    shop = make_shop(own_db)
    with Receiver() as receiver:
        receiver.answers = [Drip()]  # the first attempt is held; the next one is answered 200
        hook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order", receiver.url(), None, True)
        stopping = start_server(fresh_database_url, env={"ORDERDESK_WEBHOOK_TIMEOUT": "60"})  # a lease of 120 s
        place(own_db, shop)
        receiver.wait_for(1)

        stopping.stop()  # it cuts the attempt after its grace and gives the delivery back unattempted
        restarted = start_server(fresh_database_url)
        try:
            first, again = receiver.wait_for(2)  # at once, not when the 120 s lease runs out
            (attempt,) = attempts_of(own_db, shop.site.id, hook.id, 1)
        finally:
            restarted.stop()

    assert len(receiver.hang_ups) == 1
    assert (again.body, again.headers["x-orderdesk-event-id"]) == (first.body, first.headers["x-orderdesk-event-id"])
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 200, None)  # the cut one is not counted
