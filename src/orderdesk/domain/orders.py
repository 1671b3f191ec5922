"""Order statuses and the one table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum


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


class RefundReason(StrEnum):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED = "requested"


class TransitionNotAllowed(Exception):
    """The action cannot be applied to an order in its current status."""

    def __init__(self, order_id: str, status: OrderStatus, action: OrderAction) -> None:
        self.order_id = order_id
        self.status = status
        self.action = action
        super().__init__(f"Order {order_id} is {status} and cannot be {action_past(action)}")


def action_past(action: OrderAction) -> str:
    return {"fulfill": "fulfilled", "unfulfill": "unfulfilled", "refund": "refunded"}[action]


_U, _F, _R = OrderStatus.UNFULFILLED, OrderStatus.FULFILLED, OrderStatus.REFUNDED

# action -> (statuses it may start from, the status it produces). Unknown upstream: our table.
TRANSITIONS: dict[OrderAction, tuple[frozenset[OrderStatus], OrderStatus]] = {
    OrderAction.FULFILL: (frozenset({_U}), _F),
    OrderAction.UNFULFILL: (frozenset({_F}), _U),
    OrderAction.REFUND: (frozenset({_U, _F}), _R),
}


def transition(order_id: str, status: OrderStatus, action: OrderAction) -> OrderStatus | None:
    """The status `action` leads to, or None when the order is already there (a no-op).

    Raises TransitionNotAllowed for any combination outside the table.
    """
    sources, target = TRANSITIONS[action]
    if status == target:
        return None
    if status not in sources:
        raise TransitionNotAllowed(order_id, status, action)
    return target
