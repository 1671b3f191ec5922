"""The mailer: claims due emails with a lease and sends them over SMTP, or captures them in the mailbox.

At least once: an email is marked sent only after the SMTP server accepted it, so a process that
dies in between leaves it to be sent again when its lease runs out. Every resend carries the same
Message-ID, which lets a receiving server drop the duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

from orderdesk.config import Settings
from orderdesk.domain import clock
from orderdesk.store.repositories.emails import CAPTURED, FAILED, PENDING, SENT, EmailRepository, EmailRow
from orderdesk.store.database import Database

log = structlog.get_logger("orderdesk.mail")
SMTP_TIMEOUT = 10.0  # seconds, for every blocking step of a conversation with the SMTP server
BATCH = 5
# Sent one after another, so the lease covers a whole batch of slow conversations (about six
# blocking steps each); only a worker that died holds its emails that long.
LEASE_MS = int(BATCH * 6 * SMTP_TIMEOUT * 1000 + 30_000)
RETRY_DELAYS = (5, 30, 120, 600)  # seconds after the 1st, 2nd, 3rd and 4th failure; the 5th is final
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    user: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://[user:password@]host[:port][?starttls=true]` or `smtps://...` (TLS from the first byte)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("smtp_url must look like smtp://host:port or smtps://user:password@host:port")
    implicit_tls = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", ["false"])[-1].lower() in ("1", "true", "yes", "on")
    return SmtpServer(
        parts.hostname, parts.port or (465 if implicit_tls else 25), implicit_tls, starttls,
        unquote(parts.username) if parts.username else None, unquote(parts.password) if parts.password else None,
    )


def message(email: EmailRow, mail_from: str) -> EmailMessage:
    """The email as a well-formed plain-text message."""
    result = EmailMessage()
    result["From"] = mail_from
    result["To"] = Address(addr_spec=email.recipient)
    result["Subject"] = email.subject
    result["Date"] = format_datetime(clock.from_millis(email.created_on))
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "orderdesk.invalid"
    result["Message-ID"] = f"<email-{email.id}.{email.created_on}@{domain}>"
    result.set_content(email.body, cte="quoted-printable")  # 7-bit safe for any SMTP server
    return result


def send(server: SmtpServer, email: EmailRow, mail_from: str) -> None:
    """Hand the email to the SMTP server; raises OSError (smtplib's errors included) on failure."""
    letter = message(email, mail_from)
    context = ssl.create_default_context()
    if server.implicit_tls:
        connection = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        connection = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    with connection:
        if server.starttls:
            connection.starttls(context=context)
        if server.user:
            connection.login(server.user, server.password or "")
        connection.send_message(letter, from_addr=parseaddr(mail_from)[1], to_addrs=[email.recipient])


def send_due(db: Database, settings: Settings) -> int:
    """Send (or, without SMTP, capture) the emails due now; how many were handled."""
    now = clock.to_millis(db.clock.now())
    with db.reading() as connection:
        if not EmailRepository(connection).anything_due(now):
            return 0
    with db.unit_of_work() as work:
        claimed = EmailRepository(work.connection).claim(now, LEASE_MS, BATCH)
        work.commit()
    for email in claimed:
        _handle(db, settings, email)
    return len(claimed)


def _handle(db: Database, settings: Settings, email: EmailRow) -> None:
    error = None
    if settings.smtp_url:
        try:
            send(parse_smtp_url(settings.smtp_url), email, settings.mail_from)
        except (OSError, ValueError, MessageError) as failure:  # smtplib's and ssl's errors are OSErrors
            error = f"{type(failure).__name__}: {failure}"[:255]
    at = clock.to_millis(db.clock.now())
    attempt = email.attempts + 1
    if error is None:
        state = SENT if settings.smtp_url else CAPTURED
    else:
        state = FAILED if attempt >= MAX_ATTEMPTS else PENDING
    with db.unit_of_work() as work:
        repository = EmailRepository(work.connection)
        if state == PENDING:
            repository.retry_later(email, at + RETRY_DELAYS[attempt - 1] * 1000, error)
        else:
            repository.finished(email, state, at, error)
        work.commit()
    report = log.warning if state == FAILED else log.info
    report("email", email_id=email.id, order_id=email.order_id, attempt=attempt, state=state, error=error)
