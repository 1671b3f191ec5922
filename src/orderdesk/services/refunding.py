"""Refunding through the payment processor: reserve, call, settle (STYLE.md habit 4).

The amount is reserved in one short transaction (a conditional update that the database's CHECK
backs), the processor is called outside any transaction with our refund id as its idempotency
key, and the outcome is settled in a second transaction. A refund whose outcome is unknown stays
pending, holding its amount, until the reconciler asks the processor again with the same key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderAction, OrderStatus, TransitionNotAllowed, transition
from orderdesk.domain.refunds import (
    ItemPart, OrderAmounts, Pools, RefundExceedsAvailable, Split, Taken, order_amounts,
)
from orderdesk.errors import Conflict, RefundDeclined
from orderdesk.services import outbox
from orderdesk.services.changes import lock_order, save_change
from orderdesk.services.idempotency import KEY_LIFETIME_MS
from orderdesk.services.ports import (
    PaymentFacts, PaymentProcessor, ProcessorUnavailable, RefundOutcome, RefundRequest, RefundState,
)
from orderdesk.store.repositories.orders import OrderRepository, OrderRow
from orderdesk.store.repositories.refunds import HOLDING, UNSETTLED, RefundRepository, RefundRow
from orderdesk.store.database import Database
from orderdesk.store.unit_of_work import UnitOfWork
from orderdesk.wire import orders as wire
from orderdesk.wire.refunds import refund_doc

_json = msgspec.json.Encoder()
_FINAL_FAILURES = (RefundState.FAILED, RefundState.EXPIRED)


def new_refund_id() -> str:
    return "re_" + secrets.token_hex(12)


# --- what an order has, and what its refunds hold ------------------------------------------------

def amounts_of(order: wire.OrderDoc, captured: int) -> OrderAmounts:
    """The order's refundable pools, from its document and what was captured."""
    extras = {"discount": 0, "discount-shipping": 0, "shipping": 0, "tax": 0}
    for extra in order.totals.extras:
        extras[extra.type] += int(extra.price.value)
    lines = [(item.variant_id, item.count, int(item.row_total.value)) for item in order.purchased_items]
    return order_amounts(captured, lines, extras["discount"], extras["shipping"], extras["discount-shipping"],
                         extras["tax"])


def encode_pools(pools: Pools) -> str:
    return _json.encode({"products": pools.products, "shipping": pools.shipping,
                         "productTax": pools.product_tax, "shippingTax": pools.shipping_tax}).decode()


def decode_pools(text: str) -> Pools:
    values = msgspec.json.decode(text)
    return Pools(values.get("products", 0), values.get("shipping", 0), values.get("productTax", 0),
                 values.get("shippingTax", 0))


def whole_order_breakdown(order: wire.OrderDoc, captured: int) -> str:
    """The breakdown of a refund of the whole order (seeded refunded orders have one)."""
    return encode_pools(amounts_of(order, captured).pools)


def taken_by(refunds: RefundRepository, site_id: str, order_id: str) -> Taken:
    """What the order's pending and succeeded refunds hold, pool by pool and item by item."""
    holding = [r for r in refunds.for_order(site_id, order_id) if r.state in HOLDING]
    items = refunds.items_of([r.id for r in holding])
    taken = Taken()
    for refund in holding:
        parts = {sku: ItemPart(quantity, amount) for sku, quantity, amount in items.get(refund.id, [])}
        taken = taken.plus(Split(decode_pools(refund.breakdown), parts))
    return taken


def made_for_key(refunds: RefundRepository, request_key: str | None) -> RefundRow | None:
    """The refund an earlier try of this keyed request made, while the key lives (24 h).

    A key used again after that is a new request (BEHAVIOUR.md section 7): the old refund lets go of it.
    """
    if request_key is None:
        return None
    made = refunds.by_request_key(request_key)
    if made is not None and made.created_on < clock.to_millis(clock.now()) - KEY_LIFETIME_MS:
        refunds.forget_request_key(made.id)
        return None
    return made


# --- reserve -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Reservation:
    refund: RefundRow
    request: RefundRequest


def reserve(work: UnitOfWork, repository: OrderRepository, row: OrderRow, split: Split, processor: str,
            refund_type: str, reason: str | None, metadata: str, request_key: str | None) -> Reservation:
    """Hold `split.total` of the order's capture for a new pending refund (the order row is locked)."""
    if not repository.reserve_refund(row.id, split.total):
        raise RefundExceedsAvailable()  # the CHECK's twin: code above should never let this happen
    now = clock.to_millis(clock.now())
    refund = RefundRow(
        id=new_refund_id(), site_id=row.site_id, order_id=row.order_id, amount=split.total, currency=row.currency,
        state=RefundState.PENDING, reason=reason, processor_reference=None, failure_reason=None,
        created_on=now, updated_on=now, refund_type=refund_type, breakdown=encode_pools(split.pools),
        metadata=metadata, processor=processor, request_key=request_key,
    )
    refunds = RefundRepository(work.connection)
    refunds.add(refund)
    refunds.add_items(refund.id, [(sku, part.quantity, part.amount) for sku, part in split.items.items()])
    announce(refunds, refund.site_id, refund.id)
    return Reservation(refund, refund_request(refund, wire.decode(row.document)))


def announce(refunds: RefundRepository, site_id: str, refund_id: str) -> None:
    """Tell the site's `ecomm_refund_changed` webhooks about the refund as it now stands."""

    def document() -> bytes:
        refund = refunds.get(refund_id)
        return _json.encode(refund_doc(refund, refunds.items_of([refund_id]).get(refund_id, [])))

    outbox.emit(refunds.connection, site_id, outbox.REFUND_CHANGED, document)


def refund_request(refund: RefundRow, order: wire.OrderDoc) -> RefundRequest:
    payment = PaymentFacts(
        card_last4=order.stripe_card.last4 or None,
        payment_intent_id=order.stripe_details.payment_intent_id,
        charge_id=order.stripe_details.charge_id,
    )
    return RefundRequest(refund.id, refund.amount, refund.currency, refund.reason, payment, refund.site_id,
                         refund.order_id)


# --- call ----------------------------------------------------------------------------------------

# No answer: the refund stays as it is, and only the time of asking changes.
UNKNOWN = RefundOutcome(RefundState.PENDING)


def call(processor: PaymentProcessor, ask: Callable[[], RefundOutcome]) -> RefundOutcome:
    """The processor's answer; an unknown outcome leaves the refund pending for the reconciler."""
    try:
        return ask()
    except ProcessorUnavailable:
        return UNKNOWN


# --- settle --------------------------------------------------------------------------------------

def record_outcome(db: Database, refund_id: str, outcome: RefundOutcome, token_id: str | None = None) -> bool:
    """Record the processor's answer for an unsettled refund; True when anything changed.

    A failed or expired refund releases its amount; a success that completes the capture refunds
    the order exactly as the Webflow refund endpoint does.
    """
    with db.unit_of_work() as work:
        changed = _record(work, refund_id, outcome, token_id)
        work.commit()
    return changed


def _record(work: UnitOfWork, refund_id: str, outcome: RefundOutcome, token_id: str | None) -> bool:
    refunds = RefundRepository(work.connection)
    found = refunds.get(refund_id)
    if found is None or found.state not in UNSETTLED:
        return False
    # Lock order: the order row first, then its refunds, as every writer does.
    repository, row = lock_order(work, found.site_id, found.order_id)
    refund = refunds.get(refund_id)
    if refund is None or refund.state not in UNSETTLED:
        return False  # settled meanwhile by a retry, the reconciler or a processor event
    at = clock.to_millis(clock.now())
    if outcome.state == RefundState.PENDING and outcome.processor_reference is None:
        # The processor did not answer: nothing is known, so nothing changes but the time of asking.
        refunds.touch(refund.id, at)
        return False
    reference = outcome.processor_reference or refund.processor_reference
    if outcome.state in UNSETTLED:
        if outcome.state == refund.state and reference == refund.processor_reference:
            refunds.touch(refund.id, at)
            return False
        refunds.settle(refund.id, outcome.state, reference, None, 0, outcome.expires_on, at)
        announce(refunds, refund.site_id, refund.id)
        return True
    refunded = refund.amount if outcome.state == RefundState.SUCCEEDED else 0
    refunds.settle(refund.id, outcome.state, reference, outcome.failure_reason, refunded, outcome.expires_on, at)
    announce(refunds, refund.site_id, refund.id)
    if outcome.state != RefundState.SUCCEEDED:
        repository.release_refund(row.id, refund.amount)
        return True
    succeeded = sum(r.refunded_amount for r in refunds.for_order(refund.site_id, refund.order_id))
    if succeeded >= row.captured_amount:
        _mark_refunded(repository, row, outcome, token_id)
    return True


def _mark_refunded(repository: OrderRepository, row: OrderRow, outcome: RefundOutcome | None,
                   token_id: str | None) -> bytes:
    try:
        if transition(row.order_id, OrderStatus(row.status), OrderAction.REFUND) is None:
            return row.document
    except TransitionNotAllowed:
        return row.document  # a dispute opened while the refund was out: the dispute decides
    before = wire.decode(row.document)
    return save_change(repository, row, before, _refunded(before, outcome), "refund", token_id)


def _refunded(order: wire.OrderDoc, outcome: RefundOutcome | None) -> wire.OrderDoc:
    """The order once refunded; `outcome` is the processor's answer, when one was asked."""
    stripe_details = order.stripe_details
    if outcome is not None:
        stripe_details = msgspec.structs.replace(
            stripe_details, refund_id=outcome.processor_reference, refund_reason=outcome.processor_reason,
        )
    return msgspec.structs.replace(
        order, status=OrderStatus.REFUNDED.value, refunded_on=clock.to_wire(clock.now()),
        stripe_details=stripe_details,
    )


# --- the Webflow refund endpoint: refund whatever is still available ----------------------------

def refund_order(db: Database, processor: PaymentProcessor, site_id: str, order_id: str,
                 reason: str | None, token_id: str | None, request_key: str | None = None) -> bytes:
    """Refund everything still refundable; an order already refunded is returned unchanged."""
    reservation, document = _reserve_remainder(db, processor, site_id, order_id, reason, token_id, request_key)
    if reservation is None:
        return document
    outcome = call(processor, lambda: processor.refund(reservation.request))
    record_outcome(db, reservation.refund.id, outcome, token_id)
    if outcome.state in _FINAL_FAILURES:
        raise RefundDeclined(outcome.failure_reason or "refund_failed")
    with db.reading() as connection:
        return OrderRepository(connection).document(site_id, order_id)


def _reserve_remainder(db: Database, processor: PaymentProcessor, site_id: str, order_id: str, reason: str | None,
                       token_id: str | None, request_key: str | None) -> tuple[Reservation | None, bytes]:
    with db.unit_of_work() as work:
        repository, row = lock_order(work, site_id, order_id)
        refunds = RefundRepository(work.connection)
        if made_for_key(refunds, request_key) is not None:
            return None, row.document  # a retry of a request that already made its refund
        if transition(order_id, OrderStatus(row.status), OrderAction.REFUND) is None:
            return None, row.document
        if row.captured_amount == 0:
            # Nothing was captured (a free order): there is nothing to ask a processor for.
            document = _mark_refunded(repository, row, None, token_id)
            work.commit()
            return None, document
        order = wire.decode(row.document)
        split = Split(amounts_of(order, row.captured_amount).pools - taken_by(refunds, site_id, order_id).pools)
        if split.total <= 0 or split.total != row.captured_amount - row.refund_reserved:
            raise Conflict(f"Order {order_id} has a refund in progress; nothing more is available to refund")
        reservation = reserve(work, repository, row, split, processor.name, "product", reason, "{}", request_key)
        work.commit()
    return reservation, row.document
