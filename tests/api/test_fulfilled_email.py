"""The order-fulfilled email over HTTP: sent through a real SMTP server, kept in the mailbox without one,
and sent once even when the server is killed before sending it (BEHAVIOUR.md section 4, the fulfil row).

The SMTP tests run their server processes on a database of their own: a server without SMTP on the
shared database would capture their emails before they could be sent.
"""

from __future__ import annotations

import errno
import os
import signal
import time

import httpx
import pytest

from orderdesk.domain import clock
from orderdesk.services import mail
from orderdesk.store.engine import create_engine
from orderdesk.store.database import Database
from tests.factories import make_shop, place
from tests.server import free_port, start_server
from tests.smtp import smtp_sink

MAIL_FROM = "Towel Shop <orders@towels.example>"


@pytest.fixture
def own_db(fresh_database_url) -> Database:
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


@pytest.fixture
def smtp():
    with smtp_sink() as sink:
        yield sink


def fulfil(server, shop, order_id: str, send_email: bool = True) -> httpx.Response:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders/{order_id}/fulfill",
                          json={"sendOrderFulfilledEmail": send_email}, headers=shop.headers)
    assert response.status_code == 200, response.text
    return response


def mailbox(server, shop, **query) -> httpx.Response:
    return httpx.get(f"{server.api}/sites/{shop.site.id}/mailbox", params=query, headers=shop.headers)


def expected_body(order_id: str, tracking: str) -> str:
    """The email for an order placed with tests.factories.order_body."""
    return (
        "Hello Arthur Dent,\n\n"
        f"Your order {order_id} has shipped.\n\n"
        "1 × Product 0 — $ 25.00 USD\n"
        "2 × Product 1 — $ 25.98 USD\n\n"
        "Total: $ 58.98 USD\n\n"
        f"{tracking}\n\n"
        "Thank you for your order.\n"
    )


def eventually(check, seconds: float = 20):
    """Poll `check` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not true after {seconds} s")


def test_a_fulfil_with_the_flag_sends_one_email_through_smtp(fresh_database_url, own_db, smtp):
    shop = make_shop(own_db)
    order = place(own_db, shop)
    server = start_server(fresh_database_url, env={"ORDERDESK_SMTP_URL": smtp.url, "ORDERDESK_MAIL_FROM": MAIL_FROM})
    try:
        tracked = httpx.patch(f"{server.api}/sites/{shop.site.id}/orders/{order.order_id}", headers=shop.headers,
                              json={"shippingProvider": "UPS", "shippingTracking": "1Z999AA10123456784",
                                    "shippingTrackingURL": "https://www.ups.com/track?tracknum=1Z999AA10123456784"})
        assert tracked.status_code == 200

        fulfil(server, shop, order.order_id)

        [received] = smtp.wait_for(1)
        assert received.mail_from == "orders@towels.example"
        assert received.rcpt_tos == ["arthur@example.com"]
        assert received.message["From"] == MAIL_FROM
        assert received.message["To"] == "arthur@example.com"
        assert received.message["Subject"] == f"Your order {order.order_id} has shipped"
        assert received.message.get_content_type() == "text/plain"
        assert received.text == expected_body(
            order.order_id,
            "Carrier: UPS\nTracking number: 1Z999AA10123456784\n"
            "Track it at: https://www.ups.com/track?tracknum=1Z999AA10123456784",
        )

        # When: the same fulfil again (a no-op), then a second order's email as a marker. Emails go
        # out oldest first, so once the marker arrives, anything the no-op had queued would have too.
        fulfil(server, shop, order.order_id)
        marker = place(own_db, shop)
        fulfil(server, shop, marker.order_id)

        subjects = [message.message["Subject"] for message in smtp.wait_for(2)]
        assert subjects == [f"Your order {order.order_id} has shipped", f"Your order {marker.order_id} has shipped"]
        assert [(email.order_id, email.state) for email in eventually(lambda: sent_emails(own_db, shop, 2))] == [
            (marker.order_id, "sent"), (order.order_id, "sent"),
        ]
    finally:
        server.stop()


def sent_emails(db: Database, shop, count: int) -> list:
    emails = mail.list_emails(db, shop.site.id, 100)
    return emails if [email.state for email in emails] == ["sent"] * count else []


def test_without_smtp_the_email_is_kept_in_the_mailbox(server, db):
    shop = make_shop(db)
    order = place(db, shop)

    fulfil(server, shop, order.order_id)

    [captured] = eventually(lambda: [e for e in mailbox(server, shop).json()["emails"] if e["state"] == "captured"])
    [row] = mail.list_emails(db, shop.site.id, 100)
    assert captured == {
        "id": str(row.id),
        "orderId": order.order_id,
        "to": "arthur@example.com",
        "from": "orders@orderdesk.invalid",
        "subject": f"Your order {order.order_id} has shipped",
        "body": expected_body(order.order_id, "We will send you the tracking details as soon as we have them."),
        "state": "captured",
        "createdOn": clock.to_wire(clock.from_millis(row.created_on)),
        "sentOn": clock.to_wire(clock.from_millis(row.sent_on)),
    }


def test_the_mailbox_lists_newest_first_up_to_the_limit(server, db):
    shop = make_shop(db)
    first, second = place(db, shop), place(db, shop)
    fulfil(server, shop, first.order_id)
    fulfil(server, shop, second.order_id)

    newest = mailbox(server, shop, limit="1")

    assert newest.status_code == 200
    assert [email["orderId"] for email in newest.json()["emails"]] == [second.order_id]
    assert [email["orderId"] for email in mailbox(server, shop).json()["emails"]] == [second.order_id, first.order_id]


@pytest.mark.parametrize(("limit", "message"), [("0", "must be at least 1"), ("101", "must be at most 100"),
                                                ("ten", "must be an integer")])
def test_a_bad_limit_is_refused_naming_it(server, db, limit, message):
    shop = make_shop(db)

    response = mailbox(server, shop, limit=limit)

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "limit", "message": message}]


def test_a_fulfil_without_the_flag_sends_nothing(server, db):
    shop = make_shop(db)
    order = place(db, shop)

    fulfil(server, shop, order.order_id, send_email=False)

    assert mailbox(server, shop).json() == {"emails": []}


def test_an_email_queued_before_a_crash_is_sent_once_after_restart(fresh_database_url, own_db, smtp):
    # Given: a server whose SMTP server is down (nothing listens on the port), so the email stays pending
    shop = make_shop(own_db)
    order = place(own_db, shop)
    doomed = start_server(fresh_database_url, env={"ORDERDESK_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    try:
        fulfil(doomed, shop, order.order_id)
        [pending] = eventually(lambda: [e for e in mail.list_emails(own_db, shop.site.id, 100) if e.attempts == 1])
        assert (pending.state, pending.error, pending.sent_on) == (
            "pending", f"ConnectionRefusedError: [Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}", None,
        )
    finally:
        # When: it dies without a chance to clean up
        doomed.stop(signal.SIGKILL)

    # Then: the next server sends it, once, when its retry is due
    revived = start_server(fresh_database_url, env={"ORDERDESK_SMTP_URL": smtp.url})
    try:
        [received] = smtp.wait_for(1, seconds=30)
        [sent] = eventually(lambda: sent_emails(own_db, shop, 1))
    finally:
        revived.stop()
    assert received.rcpt_tos == ["arthur@example.com"]
    assert received.message["Subject"] == f"Your order {order.order_id} has shipped"
    assert (sent.state, sent.attempts, sent.error) == ("sent", 2, None)
    assert len(smtp.received) == 1
