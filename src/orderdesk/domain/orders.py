"""An order: its facts, the one table of status changes, and the methods that apply them.

The Webflow document has fifty fields; the domain keeps the ones rules read or write (statuses, the
moments they changed, money, items, what was captured and is held for refunds, tracking) and carries
the rest as `details`, opaque here: the store renders the facts back into the document it loaded.
Nobody outside this module assigns a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from operator import attrgetter

from orderdesk.domain.money import Money


class OrderStatus(StrEnum):
    PENDING = "pending"
    UNFULFILLED = "unfulfilled"
    FULFILLED = "fulfilled"
    DISPUTED = "disputed"
    DISPUTE_LOST = "dispute-lost"
    REFUNDED = "refunded"


class OrderAction(StrEnum):
    FULFILL = "fulfill"
    UNFULFILL = "unfulfill"
    REFUND = "refund"
    CAPTURE = "capture"
    OPEN_DISPUTE = "open_dispute"
    UPDATE_DISPUTE = "update_dispute"
    WIN_DISPUTE = "win_dispute"
    LOSE_DISPUTE = "lose_dispute"


class RefundReason(StrEnum):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED = "requested"


# How a refusal names the action: "Order abc-123 is refunded and cannot be fulfilled".
_PAST = {
    OrderAction.FULFILL: "fulfilled", OrderAction.UNFULFILL: "unfulfilled", OrderAction.REFUND: "refunded",
    OrderAction.CAPTURE: "captured", OrderAction.OPEN_DISPUTE: "disputed",
    OrderAction.UPDATE_DISPUTE: "given a dispute update", OrderAction.WIN_DISPUTE: "given a dispute outcome",
    OrderAction.LOSE_DISPUTE: "given a dispute outcome",
}


class TransitionNotAllowed(Exception):
    """The action cannot be applied to an order in its current status."""

    def __init__(self, order_id: str, status: OrderStatus, action: OrderAction) -> None:
        self.order_id = order_id
        self.status = status
        self.action = action
        super().__init__(f"Order {order_id} is {status} and cannot be {action_past(action)}")


def action_past(action: OrderAction) -> str:
    return _PAST[action]


_P, _U, _F = OrderStatus.PENDING, OrderStatus.UNFULFILLED, OrderStatus.FULFILLED
_D, _DL, _R = OrderStatus.DISPUTED, OrderStatus.DISPUTE_LOST, OrderStatus.REFUNDED
# A won dispute goes back to where the order was; the status before is not stored, `fulfilledOn` says it.
RESTORED = None

# action -> (statuses it may start from, the status it produces, or RESTORED). Unknown upstream: our table.
TRANSITIONS: dict[OrderAction, tuple[frozenset[OrderStatus], OrderStatus | None]] = {
    OrderAction.FULFILL: (frozenset({_U}), _F),
    OrderAction.UNFULFILL: (frozenset({_F}), _U),
    OrderAction.REFUND: (frozenset({_U, _F}), _R),
    OrderAction.CAPTURE: (frozenset({_P}), _U),
    OrderAction.OPEN_DISPUTE: (frozenset({_U, _F}), _D),
    OrderAction.UPDATE_DISPUTE: (frozenset({_D}), _D),
    OrderAction.WIN_DISPUTE: (frozenset({_D}), RESTORED),
    OrderAction.LOSE_DISPUTE: (frozenset({_D}), _DL),
}


def transition(order_id: str, status: OrderStatus, action: OrderAction,
               fulfilled: bool = False) -> OrderStatus | None:
    """The status `action` leads to, or None when the order is already there (a no-op).

    `fulfilled` (the order has a `fulfilledOn`) decides where a won dispute leads. A dispute update
    keeps the status, so it is a no-op here only outside a dispute's table: callers of
    UPDATE_DISPUTE decide by the dispute's own status. Raises TransitionNotAllowed outside the table.
    """
    sources, target = TRANSITIONS[action]
    if target is RESTORED:
        target = _F if fulfilled else _U
    if status == target and action != OrderAction.UPDATE_DISPUTE:
        return None
    if status not in sources:
        raise TransitionNotAllowed(order_id, status, action)
    return target


class CaptureOutOfRange(ValueError):
    """A capture names more than the order's total, or a negative amount."""

    def __init__(self, total: int) -> None:
        self.total = total
        super().__init__(f"must be between 0 and the order's total ({total})")


@dataclass(frozen=True, slots=True)
class Item:
    """A purchased item as refunds and emails see it."""

    sku_id: str  # the variant's id
    count: int
    row_total: Money
    name: str  # the variant's name, or the product's


@dataclass(frozen=True, slots=True)
class Extra:
    kind: str  # discount, discount-shipping, shipping, tax
    amount: Money


@dataclass(frozen=True, slots=True)
class Payment:
    """The processor's ids for the order's payment, its dispute and its refund."""

    card_last4: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    dispute_id: str | None = None
    refund_id: str | None = None
    refund_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Tracking:
    comment: str = ""
    shipping_provider: str | None = None
    shipping_tracking: str | None = None
    shipping_tracking_url: str | None = None


@dataclass(slots=True)
class Order:
    site_id: str
    order_id: str
    status: OrderStatus
    currency: str
    customer_paid: Money
    total: Money
    captured: Money  # what the processor captured: refunds never exceed it
    reserved: Money  # held by pending and succeeded refunds (the database's CHECK keeps it <= captured)
    items: tuple[Item, ...] = ()
    extras: tuple[Extra, ...] = ()
    accepted_on: datetime | None = None
    fulfilled_on: datetime | None = None
    refunded_on: datetime | None = None
    disputed_on: datetime | None = None
    dispute_updated_on: datetime | None = None
    dispute_status: str | None = None
    payment: Payment = field(default_factory=Payment)
    tracking: Tracking = field(default_factory=Tracking)
    customer_name: str = ""
    customer_email: str = ""
    details: object = None  # everything else of the client's document, for the store to keep

    @property
    def refundable(self) -> Money:
        return self.captured - self.reserved

    def copy(self) -> Order:
        """A shallow copy (what it holds is immutable): the unit of work's record of the order as loaded."""
        return Order(*_ORDER_FIELDS(self))

    def _move(self, action: OrderAction) -> OrderStatus | None:
        target = transition(self.order_id, self.status, action, fulfilled=self.fulfilled_on is not None)
        if target is not None:
            self.status = target
        return target

    def fulfill(self, at: datetime) -> bool:
        """True when the order changed (the fulfilled email goes only then)."""
        if self._move(OrderAction.FULFILL) is None:
            return False
        self.fulfilled_on = at
        return True

    def unfulfill(self) -> bool:
        if self._move(OrderAction.UNFULFILL) is None:
            return False
        self.fulfilled_on = None
        return True

    def can_refund(self) -> bool:
        """Whether a refund may start: False when refunded already; raises outside the table."""
        return transition(self.order_id, self.status, OrderAction.REFUND) is not None

    def mark_refunded(self, at: datetime, refund_id: str | None = None, reason: str | None = None,
                      by_processor: bool = False) -> bool:
        """The whole capture is refunded. A dispute opened while the refund was out decides instead."""
        try:
            if self._move(OrderAction.REFUND) is None:
                return False
        except TransitionNotAllowed:
            return False
        self.refunded_on = at
        if by_processor:
            self.payment = replace(self.payment, refund_id=refund_id, refund_reason=reason)
        return True

    def capture(self, amount: int | None, at: datetime) -> bool:
        """A pending order's payment is captured: unfulfilled, `amount` (default customerPaid) refundable."""
        if self.status == _U:
            return False  # captured already
        if self.status != _P:
            raise TransitionNotAllowed(self.order_id, self.status, OrderAction.CAPTURE)
        captured = self.customer_paid.amount if amount is None else amount
        if not 0 <= captured <= self.total.amount:
            raise CaptureOutOfRange(self.total.amount)
        self._move(OrderAction.CAPTURE)
        self.captured = Money(captured, self.currency)
        return True

    def open_dispute(self, dispute_id: str, dispute_status: str, at: datetime) -> bool:
        if self.payment.dispute_id == dispute_id:
            return False  # this dispute is known already, whatever became of it since
        self._move(OrderAction.OPEN_DISPUTE)
        self.disputed_on = self.dispute_updated_on = at
        self.dispute_status = dispute_status
        self.payment = replace(self.payment, dispute_id=dispute_id)
        return True

    def update_dispute(self, dispute_status: str, at: datetime) -> bool:
        self._move(OrderAction.UPDATE_DISPUTE)
        if self.dispute_status == dispute_status:
            return False
        self.dispute_status, self.dispute_updated_on = dispute_status, at
        return True

    def close_dispute(self, won: bool, dispute_status: str, at: datetime) -> bool:
        action = OrderAction.WIN_DISPUTE if won else OrderAction.LOSE_DISPUTE
        if self.status != _D:
            target = transition(self.order_id, _D, action, fulfilled=self.fulfilled_on is not None)
            if self.status == target and self.dispute_status == dispute_status:
                return False  # the same outcome again
            raise TransitionNotAllowed(self.order_id, self.status, action)
        self._move(action)
        self.dispute_status, self.dispute_updated_on = dispute_status, at
        return True

    def update(self, changes: dict[str, str | None]) -> None:
        """PATCH: `changes` names Tracking's fields; a cleared comment is empty (the spec has no null)."""
        if "comment" in changes and changes["comment"] is None:
            changes = {**changes, "comment": ""}
        now = self.tracking  # (not `replace`, which costs four times this on every PATCH)
        self.tracking = Tracking(**{"comment": now.comment, "shipping_provider": now.shipping_provider,
                                    "shipping_tracking": now.shipping_tracking,
                                    "shipping_tracking_url": now.shipping_tracking_url, **changes})


# Every field of Order, in order, read in one C call (a copy made this way costs a fifth of `replace`).
_ORDER_FIELDS = attrgetter(*(field.name for field in fields(Order)))
