"""The order-fulfilled email: composed from the order, queued in the transaction that fulfils it.

Like the webhooks outbox (store/outbox.py), the row is written with the change, so a fulfil
that commits is emailed at least once, even across a crash, and one that rolls back never is.
Sending happens after commit, in the background loop (webhooks/mailer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Callable

from orderdesk.domain.money import Money
from orderdesk.domain.orders import Order
from orderdesk.domain.pages import MAX_PAGE
from orderdesk.store.database import Database
from orderdesk.store.repositories.emails import EmailRow
from orderdesk.store.unit_of_work import UnitOfWork



@dataclass(frozen=True, slots=True)
class Email:
    recipient: str
    subject: str
    body: str


def compose_fulfilled_email(order: Order, shown: Callable[[Money], str]) -> Email | None:
    """The plain-text email telling the customer their order has shipped; None without an address.

    `shown` writes an amount as the order's documents do (`$ 118.73 USD`)."""
    recipient = order.customer_email.strip()
    if not recipient:
        return None
    name = order.customer_name.strip()
    lines = [f"Hello {name}," if name else "Hello,", "", f"Your order {order.order_id} has shipped.", ""]
    for item in order.items:
        lines.append(f"{item.count} × {item.name} — {shown(item.row_total)}")
    lines += ["", f"Total: {shown(order.total)}", ""]
    tracking = order.tracking
    if tracking.shipping_tracking or tracking.shipping_tracking_url:
        lines += [f"{label}: {value}" for label, value in (
            ("Carrier", tracking.shipping_provider), ("Tracking number", tracking.shipping_tracking),
            ("Track it at", tracking.shipping_tracking_url),
        ) if value]
    else:
        lines.append("We will send you the tracking details as soon as we have them.")
    lines += ["", "Thank you for your order."]
    return Email(recipient, f"Your order {order.order_id} has shipped", "\n".join(lines) + "\n")


def queue_fulfilled_email(work: UnitOfWork, order: Order) -> int | None:
    """Write the pending email in the caller's unit of work; its id, or None if the order has no address."""
    email = compose_fulfilled_email(order, work.shown)
    if email is None:
        return None
    return work.emails.add(order.site_id, order.order_id, email.recipient, email.subject, email.body,
                           work.now_millis())


def list_emails(db: Database, site_id: str, limit: int) -> list[EmailRow]:
    """The site's emails, newest first (the mailbox)."""
    with db.reader() as read:
        return read.emails.newest(site_id, min(limit, MAX_PAGE))
