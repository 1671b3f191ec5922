"""The unit of work: one transaction that rolls back unless told to commit, and owns what it touched.

Services load orders through `work.orders` (locked, as domain Orders), change them with the domain's
methods, and commit. On commit the unit of work renders each order that changed to its stored
document once, saves it under its version, writes the history entry and the outbox rows, and tells
the webhooks of every refund it was told about: no service writes a document, a history row or an
outbox row by hand. Reservations go through `reserve` and `release`, conditional updates that the
database's CHECK (reserved <= captured) backs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import msgspec
import structlog
from sqlalchemy.engine import Connection

from orderdesk.domain import clock
from orderdesk.domain.clock import Clock
from orderdesk.domain.money import Money
from orderdesk.domain.orders import Order
from orderdesk.domain.refunds import RefundExceedsAvailable
from orderdesk.errors import Conflict, OrderNotFound
from orderdesk.store import outbox
from orderdesk.store.repositories.emails import EmailRepository
from orderdesk.store.repositories.faults import FaultRepository
from orderdesk.store.repositories.idempotency import IdempotencyKeys
from orderdesk.store.repositories.orders import NewOrder, OrderRepository, OrderRow, StaleOrder
from orderdesk.store.repositories.processor_events import ProcessorEventLog
from orderdesk.store.repositories.processors import SiteProcessorRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.repositories.site_data import SiteData
from orderdesk.store.repositories.sites import SiteRepository, TokenRepository
from orderdesk.store.repositories.webhooks import WebhookRepository
from orderdesk.wire import orders as wire
from orderdesk.wire.money import display, major_units
from orderdesk.wire.order_facts import history_entry, order_of, render
from orderdesk.wire.placing import payment_reference
from orderdesk.wire.refunds import refund_doc

log = structlog.get_logger("orderdesk.changes")
_json = msgspec.json.Encoder()


def read_order(connection: Connection, site_id: str, order_id: str) -> Order:
    """The order as stored, unlocked (for reads that change nothing); OrderNotFound if there is none."""
    row = OrderRepository(connection).row(site_id, order_id)
    if row is None:
        raise OrderNotFound()
    return _order_of(row)


def _order_of(row: OrderRow) -> Order:
    return order_of(wire.decode(row.document), row.site_id, row.captured_amount, row.refund_reserved)


@dataclass(slots=True)
class _Loaded:
    row: OrderRow
    order: Order
    loaded: Order  # a copy as read: what changed is what differs from it
    document: bytes


@dataclass(slots=True)
class _Added:
    order: Order
    document: bytes  # encoded once, when added
    written: bool = False


class TrackedOrders:
    """The orders of one unit of work, each read once, locked, and written back at most once."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work
        self.repository = OrderRepository(work.connection)
        self._loaded: dict[int, _Loaded] = {}  # by id(order)
        self._added: dict[int, _Added] = {}  # new orders, by id(order)

    def lock(self, site_id: str, order_id: str) -> Order:
        """The order, locked until the unit of work ends (SQLite: the write lock is already held)."""
        for entry in self._loaded.values():
            if entry.row.site_id == site_id and entry.row.order_id == order_id:
                return entry.order
        row = self.repository.lock(site_id, order_id)
        if row is None:
            raise OrderNotFound()
        order = _order_of(row)
        self._loaded[id(order)] = _Loaded(row, order, order.copy(), row.document)
        return order

    def document(self, order: Order) -> bytes:
        """The order's stored document: as loaded, or as written by the commit."""
        entry = self._loaded.get(id(order)) or self._added[id(order)]
        return entry.document

    def add(self, order: Order) -> None:
        """A new order (its `details` the whole document), inserted at commit with its history entry and
        NEW_ORDER webhook; the commit raises OrderIdTaken if a placement racing this one took its id."""
        self._added[id(order)] = _Added(order, wire.encode(order.details))

    def reserve(self, order: Order, amount: int) -> None:
        """Hold `amount` of the capture for a refund; RefundExceedsAvailable if that would exceed it."""
        if not self.repository.reserve_refund(self._loaded[id(order)].row.id, amount):
            raise RefundExceedsAvailable()  # the CHECK's twin: code above should never let this happen
        order.reserved = order.reserved + Money(amount, order.currency)
        self._loaded[id(order)].loaded.reserved = order.reserved  # written already

    def release(self, order: Order, amount: int) -> None:
        self.repository.release_refund(self._loaded[id(order)].row.id, amount)
        order.reserved = order.reserved - Money(amount, order.currency)
        self._loaded[id(order)].loaded.reserved = order.reserved

    def flush(self, action: str | None, token_id: str | None, at: int) -> None:
        for added in self._added.values():
            if not added.written:
                if action is None:
                    raise AssertionError("an order added in a unit of work committed without an action")
                self._insert(added, action, token_id, at)
        for entry in self._loaded.values():
            if entry.order != entry.loaded:
                if action is None:
                    raise AssertionError("an order changed in a unit of work committed without an action")
                self._write(entry, action, token_id, at)

    def _insert(self, added: _Added, action: str, token_id: str | None, at: int) -> None:
        order, document = added.order, added.document
        self.repository.add(NewOrder(
            site_id=order.site_id, order_id=order.order_id, status=order.status.value,
            accepted_on=clock.to_millis(order.accepted_on), currency=order.currency,
            captured_amount=order.captured.amount, refund_reserved=order.reserved.amount,
            document=document, updated_on=at, payment_reference=payment_reference(order.details),
        ))
        self.repository.record(order.site_id, order.order_id, action, "{}", f'{{"status":"{order.status.value}"}}',
                               token_id, at)
        outbox.emit(self.repository.connection, order.site_id, outbox.NEW_ORDER, document, at)
        added.written = True

    def _write(self, entry: _Loaded, action: str, token_id: str | None, at: int) -> None:
        row, order = entry.row, entry.order
        before = entry.loaded.details
        after = render(order, entry.loaded)
        document = wire.encode(after) if after is not before else entry.document
        try:
            self.repository.save(row, order.status.value, document, at)
        except StaleOrder:
            # Every writer locks the row before reading it, so a stale version means one wrote outside the
            # lock: a bug to see in the log. Not retried here (the unit of work rolls back); the client is
            # told to try again, and the official SDK retries a 409 by itself.
            log.warning("order changed outside its lock", site_id=row.site_id, order_id=row.order_id,
                        version=row.version)
            raise Conflict(f"Conflict: Order {row.order_id} was changed by another writer meanwhile; "
                           "nothing was changed, try again") from None
        if order.captured != entry.loaded.captured:
            self.repository.set_captured_amount(row.site_id, row.order_id, order.captured.amount)
        outbox.emit(self.repository.connection, row.site_id, outbox.ORDER_CHANGED, document, at)
        old, new = history_entry(before, after)
        self.repository.record(row.site_id, row.order_id, action, before=old, after=new, token_id=token_id, at=at)
        entry.document = document
        entry.row = OrderRow(row.id, row.site_id, row.order_id, order.status.value, row.version + 1, row.currency,
                             order.captured.amount, order.reserved.amount, document)
        entry.loaded = order.copy()


class Repositories:
    """Every repository, on one connection, each made when first used."""

    def __init__(self, connection: Connection, time: Clock) -> None:
        self.connection = connection
        self.clock = time

    def now_millis(self) -> int:
        return clock.to_millis(self.clock.now())

    @cached_property
    def refunds(self) -> RefundRepository:
        return RefundRepository(self.connection)

    @cached_property
    def emails(self) -> EmailRepository:
        return EmailRepository(self.connection)

    @cached_property
    def sites(self) -> SiteRepository:
        return SiteRepository(self.connection)

    @cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self.connection)

    @cached_property
    def webhooks(self) -> WebhookRepository:
        return WebhookRepository(self.connection)

    @cached_property
    def idempotency_keys(self) -> IdempotencyKeys:
        return IdempotencyKeys(self.connection)

    @cached_property
    def processors(self) -> SiteProcessorRepository:
        return SiteProcessorRepository(self.connection)

    @cached_property
    def processor_events(self) -> ProcessorEventLog:
        return ProcessorEventLog(self.connection)

    @cached_property
    def site_data(self) -> SiteData:
        return SiteData(self.connection)

    @cached_property
    def faults(self) -> FaultRepository:
        return FaultRepository(self.connection)


class Reader(Repositories):
    """Reads in one transaction that changes nothing (`Database.reader()`)."""

    def order(self, site_id: str, order_id: str) -> Order:
        return read_order(self.connection, site_id, order_id)


class UnitOfWork(Repositories):
    def __init__(self, connection: Connection, time: Clock = clock.SYSTEM) -> None:
        super().__init__(connection, time)
        self.committed = False
        self.orders = TrackedOrders(self)
        self._refunds_changed: list[tuple[str, str]] = []

    @staticmethod
    def shown(money: Money) -> str:
        """An amount as the documents write it, `$ 118.73 USD`."""
        return display(money.amount, money.currency)

    @staticmethod
    def major_units(amount: int, currency: str) -> str:
        """`27.01` for 2701 USD, as the Refunds resource writes amounts."""
        return major_units(amount, currency)

    def refund_changed(self, site_id: str, refund_id: str) -> None:
        """Tell the site's `ecomm_refund_changed` webhooks about the refund as it stands at commit."""
        self._refunds_changed.append((site_id, refund_id))

    def commit(self, action: str | None = None, by: str | None = None) -> None:
        """Write what changed; `action` and `by` (a token id) name the orders' history entry."""
        at = self.now_millis()
        for site_id, refund_id in self._refunds_changed:
            outbox.emit(self.connection, site_id, outbox.REFUND_CHANGED, self._refund_document(refund_id), at)
        self._refunds_changed.clear()
        self.orders.flush(action, by, at)
        self.committed = True

    def _refund_document(self, refund_id: str):
        def document() -> bytes:
            refund = self.refunds.get(refund_id)
            return _json.encode(refund_doc(refund, self.refunds.items_of([refund_id]).get(refund_id, [])))

        return document
