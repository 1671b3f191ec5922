"""The order-fulfilled email: composed from the order, queued in the transaction that fulfils it.

Like the webhooks outbox (services/outbox.py), the row is written with the change, so a fulfil
that commits is emailed at least once, even across a crash, and one that rolls back never is.
Sending happens after commit, in the background loop (webhooks/mailer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from orderdesk.domain import clock
from orderdesk.store.repositories.emails import EmailRepository, EmailRow
from orderdesk.store.database import Database
from orderdesk.wire.money import MoneyDoc, display
from orderdesk.wire.orders import OrderDoc

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Email:
    recipient: str
    subject: str
    body: str


def compose_fulfilled_email(order: OrderDoc) -> Email | None:
    """The plain-text email telling the customer their order has shipped; None without an address."""
    recipient = order.customer_info.email.strip()
    if not recipient:
        return None
    name = order.customer_info.full_name.strip()
    lines = [f"Hello {name}," if name else "Hello,", "", f"Your order {order.order_id} has shipped.", ""]
    for item in order.purchased_items:
        lines.append(f"{item.count} × {item.variant_name or item.product_name} — {_shown(item.row_total)}")
    lines += ["", f"Total: {_shown(order.totals.total)}", ""]
    if order.shipping_tracking or order.shipping_tracking_url:
        lines += [f"{label}: {value}" for label, value in (
            ("Carrier", order.shipping_provider), ("Tracking number", order.shipping_tracking),
            ("Track it at", order.shipping_tracking_url),
        ) if value]
    else:
        lines.append("We will send you the tracking details as soon as we have them.")
    lines += ["", "Thank you for your order."]
    return Email(recipient, f"Your order {order.order_id} has shipped", "\n".join(lines) + "\n")


def _shown(money: MoneyDoc) -> str:
    """The money's display `string`; stored orders always carry it, computed here only as a fallback."""
    return money.string if isinstance(money.string, str) else display(int(money.value), money.unit)


def queue_fulfilled_email(connection: Connection, site_id: str, order: OrderDoc) -> int | None:
    """Write the pending email in the caller's transaction; its id, or None if the order has no address."""
    email = compose_fulfilled_email(order)
    if email is None:
        return None
    return EmailRepository(connection).add(site_id, str(order.order_id), email.recipient, email.subject, email.body,
                                           clock.to_millis(clock.now()))


def list_emails(db: Database, site_id: str, limit: int) -> list[EmailRow]:
    """The site's emails, newest first (the mailbox)."""
    with db.reading() as connection:
        return EmailRepository(connection).newest(site_id, min(limit, MAX_PAGE))
