"""A database in memory for service tests that test logic: the unit of work's seam, hand-written.

`FakeDatabase().unit_of_work()` gives what services use of a real one (`orders`, `refunds`, `emails`,
`clock`, `commit`), holding domain Orders and Refunds in dicts; a unit of work that does not commit
leaves them as they were. What a commit wrote is in `history` and `events`, to assert on.
"""

from __future__ import annotations

import copy
import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass, field

from orderdesk.domain import clock
from orderdesk.domain.clock import Clock
from orderdesk.domain.money import Money
from orderdesk.domain.orders import Order
from orderdesk.domain.refunds import UNSETTLED, Refund, RefundExceedsAvailable
from orderdesk.errors import OrderNotFound


@dataclass
class State:
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    items: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    emails: list[tuple] = field(default_factory=list)
    history: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # site, order, action, token
    events: list[tuple[str, str, str]] = field(default_factory=list)  # site, trigger, order or refund id


class FakeOrders:
    def __init__(self, state: State) -> None:
        self._state = state
        self._loaded: dict[int, Order] = {}

    def lock(self, site_id: str, order_id: str) -> Order:
        order = self._state.orders.get((site_id, order_id))
        if order is None:
            raise OrderNotFound()
        if id(order) not in self._loaded:
            self._loaded[id(order)] = dataclasses.replace(order)
        return order

    def document(self, order: Order) -> bytes:
        return repr(order).encode()  # services hand it on; fake tests assert on the Order itself

    def reserve(self, order: Order, amount: int) -> None:
        if order.reserved.amount + amount > order.captured.amount:
            raise RefundExceedsAvailable()
        order.reserved = order.reserved + Money(amount, order.currency)
        self._loaded[id(order)].reserved = order.reserved

    def release(self, order: Order, amount: int) -> None:
        order.reserved = order.reserved - Money(amount, order.currency)
        self._loaded[id(order)].reserved = order.reserved

    def changed(self) -> list[Order]:
        return [order for order in self._state.orders.values()
                if id(order) in self._loaded and order != self._loaded[id(order)]]


class FakeRefunds:
    def __init__(self, state: State) -> None:
        self._state = state

    def add(self, refund: Refund) -> None:
        self._state.refunds[refund.id] = refund

    def add_items(self, refund_id: str, items: list[tuple[str, int, int]]) -> None:
        self._state.items[refund_id] = list(items)

    def items_of(self, refund_ids: list[str]) -> dict[str, list[tuple[str, int, int]]]:
        return {refund_id: self._state.items[refund_id] for refund_id in refund_ids if self._state.items.get(refund_id)}

    def get(self, refund_id: str, site_id: str | None = None) -> Refund | None:
        refund = self._state.refunds.get(refund_id)
        return refund if refund is not None and site_id in (None, refund.site_id) else None

    lock = get

    def by_request_key(self, request_key: str) -> Refund | None:
        return next((r for r in self._state.refunds.values() if r.request_key == request_key), None)

    def forget_request_key(self, refund_id: str) -> None:
        self._replace(refund_id, request_key=None)

    def for_order(self, site_id: str, order_id: str) -> list[Refund]:
        return sorted((r for r in self._state.refunds.values() if (r.site_id, r.order_id) == (site_id, order_id)),
                      key=lambda r: (r.created_on, r.id))

    def settle(self, refund_id: str, state: str, processor_reference: str | None, failure_reason: str | None,
               refunded_amount: int, expires_on: int | None, at: int) -> None:
        if self._state.refunds[refund_id].state in UNSETTLED:
            self._replace(refund_id, state=state, processor_reference=processor_reference,
                          failure_reason=failure_reason, refunded_amount=refunded_amount, expires_on=expires_on,
                          updated_on=at)

    def touch(self, refund_id: str, at: int) -> None:
        if self._state.refunds[refund_id].state in UNSETTLED:
            self._replace(refund_id, updated_on=at)

    def _replace(self, refund_id: str, **changes) -> None:
        self._state.refunds[refund_id] = dataclasses.replace(self._state.refunds[refund_id], **changes)


class FakeEmails:
    def __init__(self, state: State) -> None:
        self._state = state

    def add(self, site_id: str, order_id: str, recipient: str, subject: str, body: str, at: int) -> int:
        self._state.emails.append((site_id, order_id, recipient, subject, body, at))
        return len(self._state.emails)


class FakeUnitOfWork:
    def __init__(self, state: State, time: Clock) -> None:
        self.clock = time
        self.committed = False
        self.orders = FakeOrders(state)
        self.refunds = FakeRefunds(state)
        self.emails = FakeEmails(state)
        self._state = state
        self._refunds_changed: list[tuple[str, str]] = []

    def now_millis(self) -> int:
        return clock.to_millis(self.clock.now())

    @staticmethod
    def shown(money: Money) -> str:
        return f"{money.amount} {money.currency}"

    @staticmethod
    def major_units(amount: int, currency: str) -> str:
        return f"{amount} minor units of {currency}"

    def refund_changed(self, site_id: str, refund_id: str) -> None:
        self._refunds_changed.append((site_id, refund_id))

    def commit(self, action: str | None = None, by: str | None = None) -> None:
        for site_id, refund_id in self._refunds_changed:
            self._state.events.append((site_id, "ecomm_refund_changed", refund_id))
        for order in self.orders.changed():
            assert action is not None, "an order changed in a unit of work committed without an action"
            self._state.history.append((order.site_id, order.order_id, action, by))
            self._state.events.append((order.site_id, "ecomm_order_changed", order.order_id))
        self.committed = True


class FakeDatabase:
    def __init__(self, time: Clock = clock.SYSTEM) -> None:
        self.clock = time
        self.state = State()

    def add_order(self, order: Order) -> Order:
        self.state.orders[(order.site_id, order.order_id)] = order
        return order

    @contextmanager
    def unit_of_work(self):
        saved = copy.deepcopy(self.state)
        work = FakeUnitOfWork(self.state, self.clock)
        try:
            yield work
        except BaseException:
            self._restore(saved)
            raise
        if not work.committed:
            self._restore(saved)

    def _restore(self, saved: State) -> None:
        # In place: the Orders a test holds are the ones the next unit of work must see.
        for name in ("refunds", "items", "emails", "history", "events"):
            setattr(self.state, name, getattr(saved, name))
        for key, order in saved.orders.items():
            live = self.state.orders[key]
            for field_ in dataclasses.fields(order):
                setattr(live, field_.name, getattr(order, field_.name))
