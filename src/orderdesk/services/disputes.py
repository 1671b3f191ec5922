"""What only the payment processor changes on an order: disputes and captures (BEHAVIOUR.md section 4).

Each change is one of the events below, applied to the locked order through `change_order`, so a
processor event can be applied in the same transaction that records it (see services/processors.py).
A repeat that would change nothing is a no-op: the processor delivers its events at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderStatus
from orderdesk.errors import Conflict, ValidationFailed
from orderdesk.services.changes import change_order
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.database import Database
from orderdesk.store.unit_of_work import UnitOfWork
from orderdesk.wire import orders as wire

DISPUTE_STATUSES = get_args(wire.DisputeStatusText)  # the spec's enum
WON_STATUSES = ("won", "warning_closed")  # an inquiry that closed without a chargeback is won too
LOST_STATUSES = ("lost",)
_DISPUTABLE = (OrderStatus.UNFULFILLED, OrderStatus.FULFILLED)


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


def open_dispute(db: Database, site_id: str, order_id: str, dispute_id: str, dispute_status: str) -> bytes:
    return _in_one_transaction(db, site_id, order_id, DisputeOpened(dispute_id, dispute_status))


def update_dispute(db: Database, site_id: str, order_id: str, dispute_status: str) -> bytes:
    return _in_one_transaction(db, site_id, order_id, DisputeUpdated(dispute_status))


def close_dispute(db: Database, site_id: str, order_id: str, won: bool, dispute_status: str) -> bytes:
    """Won: back to the status the order had before (derived from `fulfilledOn`); lost: `dispute-lost`."""
    return _in_one_transaction(db, site_id, order_id, DisputeClosed(won, dispute_status))


def capture_payment(db: Database, site_id: str, order_id: str, amount: int | None = None) -> bytes:
    """A pending order's payment is captured: it becomes unfulfilled, `amount` (default customerPaid) refundable."""
    return _in_one_transaction(db, site_id, order_id, PaymentCaptured(amount))


def _in_one_transaction(db: Database, site_id: str, order_id: str, event: OrderEvent) -> bytes:
    with db.unit_of_work() as work:
        document, _ = apply_order_event(work, site_id, order_id, event)
        work.commit()
    return document


def apply_order_event(work: UnitOfWork, site_id: str, order_id: str, event: OrderEvent) -> tuple[bytes, bool]:
    """Apply `event` inside `work` (the caller commits); the document and whether anything changed."""
    if isinstance(event, PaymentCaptured):
        document, changed = change_order(work, site_id, order_id, "capture", None,
                                         lambda order: _captured(order_id, order, event))
        if changed:
            amount = _capture_amount(wire.decode(document), event.amount)
            OrderRepository(work.connection).set_captured_amount(site_id, order_id, amount)
        return document, changed
    action, change = _CHANGES[type(event)]
    return change_order(work, site_id, order_id, action, None, lambda order: change(order_id, order, event))


def _opened(order_id: str, order: wire.OrderDoc, event: DisputeOpened) -> wire.OrderDoc:
    _check_status(event.dispute_status)
    if order.stripe_details.dispute_id == event.dispute_id:
        return order  # this dispute is known already, whatever became of it since
    if order.status not in _DISPUTABLE:
        raise _refused(order_id, order, "disputed")
    now = clock.to_wire(clock.now())
    return msgspec.structs.replace(
        order, status=OrderStatus.DISPUTED.value, disputed_on=now, dispute_updated_on=now,
        dispute_last_status=event.dispute_status,
        stripe_details=msgspec.structs.replace(order.stripe_details, dispute_id=event.dispute_id),
    )


def _updated(order_id: str, order: wire.OrderDoc, event: DisputeUpdated) -> wire.OrderDoc:
    _check_status(event.dispute_status)
    if order.status != OrderStatus.DISPUTED:
        raise _refused(order_id, order, "given a dispute update")
    if order.dispute_last_status == event.dispute_status:
        return order
    return msgspec.structs.replace(
        order, dispute_last_status=event.dispute_status, dispute_updated_on=clock.to_wire(clock.now()),
    )


def _closed(order_id: str, order: wire.OrderDoc, event: DisputeClosed) -> wire.OrderDoc:
    _check_status(event.dispute_status)
    closing = WON_STATUSES if event.won else LOST_STATUSES
    if event.dispute_status not in closing:
        raise ValidationFailed.of("disputeStatus", f"must be one of {', '.join(closing)} for a dispute "
                                                   f"{'won' if event.won else 'lost'}")
    if event.won:
        # The status before the dispute is not stored: fulfilledOn survives the dispute and says it.
        target = OrderStatus.FULFILLED if order.fulfilled_on else OrderStatus.UNFULFILLED
    else:
        target = OrderStatus.DISPUTE_LOST
    if order.status == target and order.dispute_last_status == event.dispute_status:
        return order
    if order.status != OrderStatus.DISPUTED:
        raise _refused(order_id, order, "given a dispute outcome")
    return msgspec.structs.replace(
        order, status=target.value, dispute_last_status=event.dispute_status,
        dispute_updated_on=clock.to_wire(clock.now()),
    )


def _captured(order_id: str, order: wire.OrderDoc, event: PaymentCaptured) -> wire.OrderDoc:
    if order.status == OrderStatus.UNFULFILLED:
        return order  # captured already
    if order.status != OrderStatus.PENDING:
        raise _refused(order_id, order, "captured")
    _capture_amount(order, event.amount)
    return msgspec.structs.replace(order, status=OrderStatus.UNFULFILLED.value)


def _capture_amount(order: wire.OrderDoc, amount: int | None) -> int:
    if amount is None:
        return int(order.customer_paid.value)
    total = int(order.totals.total.value)
    if not 0 <= amount <= total:
        raise ValidationFailed.of("amount", f"must be between 0 and the order's total ({total})")
    return amount


def _check_status(dispute_status: str) -> None:
    if dispute_status not in DISPUTE_STATUSES:
        raise ValidationFailed.of("disputeStatus", f"must be one of {', '.join(DISPUTE_STATUSES)}")


def _refused(order_id: str, order: wire.OrderDoc, action: str) -> Conflict:
    return Conflict(f"Order {order_id} is {order.status} and cannot be {action}")


_CHANGES: dict[type, tuple[str, Callable]] = {
    DisputeOpened: ("open_dispute", _opened),
    DisputeUpdated: ("update_dispute", _updated),
    DisputeClosed: ("close_dispute", _closed),
}
