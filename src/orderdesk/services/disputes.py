"""What only the payment processor changes on an order: disputes and captures (BEHAVIOUR.md section 4).

Each change is one of the events below, applied to the locked order through `change_order`, so a
processor event can be applied in the same transaction that records it (see services/processors.py).
A repeat that would change nothing is a no-op: the processor delivers its events at least once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from orderdesk.domain.orders import CaptureOutOfRange, Order, OrderStatus, TransitionNotAllowed
from orderdesk.errors import Conflict, ValidationFailed
from orderdesk.services import orders
from orderdesk.store.database import Database
from orderdesk.store.unit_of_work import UnitOfWork

# The spec's enum of a dispute's last status.
DISPUTE_STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
                    "under_review", "charge_refunded", "won", "lost")
WON_STATUSES = ("won", "warning_closed")  # an inquiry that closed without a chargeback is won too
LOST_STATUSES = ("lost",)


@dataclass(frozen=True, slots=True)
class DisputeOpened:
    dispute_id: str
    dispute_status: str


@dataclass(frozen=True, slots=True)
class DisputeUpdated:
    dispute_status: str


@dataclass(frozen=True, slots=True)
class DisputeClosed:
    won: bool
    dispute_status: str


@dataclass(frozen=True, slots=True)
class PaymentCaptured:
    amount: int | None = None  # minor units; None: what the customer paid


OrderEvent = DisputeOpened | DisputeUpdated | DisputeClosed | PaymentCaptured
# The history entry each event writes.
_ACTIONS = {DisputeOpened: "open_dispute", DisputeUpdated: "update_dispute", DisputeClosed: "close_dispute",
            PaymentCaptured: "capture"}


def open_dispute(db: Database, site_id: str, order_id: str, dispute_id: str, dispute_status: str) -> bytes:
    return _in_one_transaction(db, site_id, order_id, DisputeOpened(dispute_id, dispute_status))


def update_dispute(db: Database, site_id: str, order_id: str, dispute_status: str) -> bytes:
    return _in_one_transaction(db, site_id, order_id, DisputeUpdated(dispute_status))


def close_dispute(db: Database, site_id: str, order_id: str, won: bool, dispute_status: str) -> bytes:
    """Won: back to the status the order had before (derived from `fulfilledOn`); lost: `dispute-lost`."""
    return _in_one_transaction(db, site_id, order_id, DisputeClosed(won, dispute_status))


# What a card dispute starts as at Stripe, when a simulation opens one.
OPENING_STATUS = "needs_response"


def simulate_dispute(db: Database, site_id: str, order_id: str, outcome: str | None = None) -> tuple[bytes, str | None]:
    """`orderdesk simulate dispute` and the sandbox's dispute: the customer disputes the payment (unless a
    dispute is open already), and with `outcome` ("won" or "lost") it closes that way. Returns the order's
    document and the id of the dispute it opened (None when one was open)."""
    opened = None
    document = None
    if _status_of(db, site_id, order_id) != OrderStatus.DISPUTED:
        opened = "dp_sim_" + secrets.token_hex(12)
        document = open_dispute(db, site_id, order_id, opened, OPENING_STATUS)
    if outcome is not None:
        document = close_dispute(db, site_id, order_id, outcome == "won", outcome)
    return document if document is not None else orders.get_order(db, site_id, order_id), opened


def _status_of(db: Database, site_id: str, order_id: str) -> OrderStatus:
    with db.reader() as reader:
        return reader.order(site_id, order_id).status


def capture_payment(db: Database, site_id: str, order_id: str, amount: int | None = None) -> bytes:
    """A pending order's payment is captured: it becomes unfulfilled, `amount` (default customerPaid) refundable."""
    return _in_one_transaction(db, site_id, order_id, PaymentCaptured(amount))


def _in_one_transaction(db: Database, site_id: str, order_id: str, event: OrderEvent) -> bytes:
    with db.unit_of_work() as work:
        order, _ = apply_order_event(work, site_id, order_id, event)
        work.commit(_ACTIONS[type(event)])
    return work.orders.document(order)


def apply_order_event(work: UnitOfWork, site_id: str, order_id: str, event: OrderEvent) -> tuple[Order, bool]:
    """Apply `event` inside `work` (the caller commits with the event's action); the order and whether it
    changed."""
    order = work.orders.lock(site_id, order_id)
    if not isinstance(event, PaymentCaptured):
        _check_status(event.dispute_status)
    now = work.clock.now()
    try:
        if isinstance(event, PaymentCaptured):
            return order, order.capture(event.amount, now)
        if isinstance(event, DisputeOpened):
            return order, order.open_dispute(event.dispute_id, event.dispute_status, now)
        if isinstance(event, DisputeUpdated):
            return order, order.update_dispute(event.dispute_status, now)
        closing = WON_STATUSES if event.won else LOST_STATUSES
        if event.dispute_status not in closing:
            raise ValidationFailed.of("disputeStatus", f"must be one of {', '.join(closing)} for a dispute "
                                                       f"{'won' if event.won else 'lost'}")
        return order, order.close_dispute(event.won, event.dispute_status, now)
    except CaptureOutOfRange as error:
        raise ValidationFailed.of("amount", str(error)) from None
    except TransitionNotAllowed as error:
        raise Conflict(str(error)) from None


def action_of(event: OrderEvent) -> str:
    """The history entry's action for `event`."""
    return _ACTIONS[type(event)]


def _check_status(dispute_status: str) -> None:
    if dispute_status not in DISPUTE_STATUSES:
        raise ValidationFailed.of("disputeStatus", f"must be one of {', '.join(DISPUTE_STATUSES)}")
