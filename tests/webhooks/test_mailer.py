"""The mailer job, run in this process against a real SMTP server: sent, captured, retried, given up."""

from __future__ import annotations

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from orderdesk.config import Settings
from orderdesk.services import mail, orders
from orderdesk.store.database import Database
from orderdesk.webhooks.mailer import RETRY_DELAYS, SmtpServer, parse_smtp_url, send_due
from tests.factories import make_shop, place
from tests.server import free_port
from tests.smtp import smtp_sink


def fulfilled_with_email(db: Database) -> tuple:
    shop = make_shop(db)
    order = place(db, shop)
    orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id, send_email=True)
    return shop, order


def test_a_due_email_is_sent_once_and_marked_sent(own_db):
    shop, order = fulfilled_with_email(own_db)
    with smtp_sink() as smtp:
        settings = Settings(database_url="", smtp_url=smtp.url, mail_from="orders@towels.example")

        handled = send_due(own_db, settings)

        assert (handled, send_due(own_db, settings)) == (1, 0)
        [received] = smtp.received
    assert (received.mail_from, received.rcpt_tos) == ("orders@towels.example", ["arthur@example.com"])
    [email] = mail.list_emails(own_db, shop.site.id, 100)
    assert (email.state, email.attempts, email.error, email.sent_on is not None) == ("sent", 1, None, True)
    assert received.message["Message-ID"] == f"<email-{email.id}.{email.created_on}@towels.example>"


def test_without_smtp_the_email_is_captured(own_db):
    shop, _ = fulfilled_with_email(own_db)

    handled = send_due(own_db, Settings(database_url="", smtp_url=""))

    [email] = mail.list_emails(own_db, shop.site.id, 100)
    assert (handled, email.state, email.attempts, email.error, email.sent_on is not None) == (
        1, "captured", 1, None, True,
    )


def test_a_failing_smtp_server_is_retried_after_each_delay_then_given_up(clocked_db):
    db, time = clocked_db
    shop, _ = fulfilled_with_email(db)
    settings = Settings(database_url="", smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    states = []

    for delay in (*RETRY_DELAYS, None):
        handled = send_due(db, settings)
        [email] = mail.list_emails(db, shop.site.id, 100)
        early = None
        if delay is not None:
            time.advance(delay - 1)
            early = send_due(db, settings)  # a second before the retry is due
            time.advance(1)
        states.append((handled, early, email.state, email.attempts))

    assert states == [(1, 0, "pending", 1), (1, 0, "pending", 2), (1, 0, "pending", 3), (1, 0, "pending", 4),
                      (1, None, "failed", 5)]
    time.advance(3600)
    assert send_due(db, settings) == 0
    assert email.error.startswith("ConnectionRefusedError: ")
    assert email.sent_on is None


def test_the_url_user_and_password_log_in(own_db):
    shop, _ = fulfilled_with_email(own_db)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data: LoginPassword) -> AuthResult:
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    with smtp_sink(authenticator=authenticator, auth_require_tls=False) as smtp:
        url = f"smtp://shop%40towels.example:p%40ss%3Aword@127.0.0.1:{smtp.port}"

        send_due(own_db, Settings(database_url="", smtp_url=url))

        assert len(smtp.received) == 1
    assert logins == [("shop@towels.example", "p@ss:word")]
    assert [email.state for email in mail.list_emails(own_db, shop.site.id, 100)] == ["sent"]


@pytest.mark.parametrize(("url", "server"), [
    ("smtp://mail.example", SmtpServer("mail.example", 25, False, False, None, None)),
    ("smtp://mail.example:587?starttls=true", SmtpServer("mail.example", 587, False, True, None, None)),
    ("smtps://me:secret@mail.example", SmtpServer("mail.example", 465, True, False, "me", "secret")),
])
def test_smtp_urls(url, server):
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_a_url_that_is_not_smtp_is_refused(url):
    with pytest.raises(ValueError, match="smtp_url must look like"):
        parse_smtp_url(url)


def test_an_unusable_smtp_url_is_recorded_on_the_email(own_db):
    shop, _ = fulfilled_with_email(own_db)

    send_due(own_db, Settings(database_url="", smtp_url="http://mail.example"))

    [email] = mail.list_emails(own_db, shop.site.id, 100)
    assert (email.state, email.attempts, email.error) == (
        "pending", 1, "ValueError: smtp_url must look like smtp://host:port or smtps://user:password@host:port",
    )

