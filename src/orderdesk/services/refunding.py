"""Refunding through the payment processor: reserve, call, settle (STYLE.md habit 4).

Both refund endpoints (Webflow's refund of the whole order, and our Refunds resource) take the one
path, `request_refund`: the amount is reserved in one short transaction (a conditional update that the
database's CHECK backs), the processor is called outside any transaction with our refund id as its
idempotency key, and the outcome is settled in a second transaction (`record_outcome`). A refund whose
outcome is unknown stays pending, holding its amount, until the reconciler asks the processor again
with the same key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from orderdesk.domain.orders import Order
from orderdesk.domain.refunds import (
    FINAL_FAILURES, UNSETTLED, ItemPart, OrderAmounts, Pools, Refund, RefundState, Split, Taken,
    order_amounts, pools_of,
)
from orderdesk.errors import Conflict, RefundDeclined
from orderdesk.services import orders
from orderdesk.services.idempotency import KEY_LIFETIME_MS
from orderdesk.services.ports import (
    PaymentFacts, PaymentProcessor, ProcessorUnavailable, RefundOutcome, RefundRequest,
)
from orderdesk.store.database import Database
from orderdesk.store.unit_of_work import UnitOfWork


def new_refund_id() -> str:
    return "re_" + secrets.token_hex(12)


# --- what an order has, and what its refunds hold ------------------------------------------------

def amounts_of(order: Order) -> OrderAmounts:
    """The order's refundable pools, from its items, extras and what was captured."""
    extras = {"discount": 0, "discount-shipping": 0, "shipping": 0, "tax": 0}
    for extra in order.extras:
        extras[extra.kind] += extra.amount.amount
    lines = [(item.sku_id, item.count, item.row_total.amount) for item in order.items]
    return order_amounts(order.captured.amount, lines, extras["discount"], extras["shipping"],
                         extras["discount-shipping"], extras["tax"])


def taken_by(work: UnitOfWork, order: Order) -> Taken:
    """What the order's pending and succeeded refunds hold, pool by pool and item by item."""
    holding = [refund for refund in work.refunds.for_order(order.site_id, order.order_id) if refund.holds_money]
    items = work.refunds.items_of([refund.id for refund in holding])
    taken = Taken()
    for refund in holding:
        parts = {sku: ItemPart(quantity, amount) for sku, quantity, amount in items.get(refund.id, [])}
        taken = taken.plus(Split(pools_of(refund.breakdown), parts))
    return taken


def made_for_key(work: UnitOfWork, request_key: str | None) -> Refund | None:
    """The refund an earlier try of this keyed request made, while the key lives (24 h).

    A key used again after that is a new request (BEHAVIOUR.md section 7): the old refund lets go of it.
    """
    if request_key is None:
        return None
    made = work.refunds.by_request_key(request_key)
    if made is not None and made.created_on < work.now_millis() - KEY_LIFETIME_MS:
        work.refunds.forget_request_key(made.id)
        return None
    return made


# --- reserve, call, settle -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ask:
    """What one request asks: `plan` says how much of the locked order (None: nothing to reserve)."""

    kind: str  # product, shipping, tax
    reason: str | None
    metadata: str  # JSON
    plan: Callable[[UnitOfWork, Order], Split | None]


@dataclass(frozen=True, slots=True)
class Requested:
    refund_id: str | None  # None: nothing was reserved (see `Ask.plan`)
    outcome: RefundOutcome | None  # None: the processor was not asked now (nothing reserved, or a retry)
    document: bytes | None  # the order's document when the processor was not asked; None: read it anew


def request_refund(db: Database, processor: PaymentProcessor, site_id: str, order_id: str, ask: Ask,
                   token_id: str | None, request_key: str | None) -> Requested:
    """Reserve what `ask` plans, ask the processor, record its answer."""
    with db.unit_of_work() as work:
        order = work.orders.lock(site_id, order_id)
        made = made_for_key(work, request_key)
        if made is not None:  # a retry of a request that made its refund already
            return Requested(made.id, None, work.orders.document(order))
        split = ask.plan(work, order)
        if split is None:
            work.commit("refund", by=token_id)
            return Requested(None, None, work.orders.document(order))
        refund = _reserve(work, order, split, processor.name, ask, request_key)
        work.commit()
    outcome = call(lambda: processor.refund(refund_request(refund, order)))
    record_outcome(db, refund.id, outcome, token_id)
    return Requested(refund.id, outcome, None)


def _reserve(work: UnitOfWork, order: Order, split: Split, processor: str, ask: Ask,
             request_key: str | None) -> Refund:
    """Hold `split.total` of the order's capture for a new pending refund (the order is locked)."""
    work.orders.reserve(order, split.total)
    now = work.now_millis()
    refund = Refund(
        id=new_refund_id(), site_id=order.site_id, order_id=order.order_id, amount=split.total,
        currency=order.currency, state=RefundState.PENDING, reason=ask.reason, processor_reference=None,
        failure_reason=None, created_on=now, updated_on=now, refund_type=ask.kind,
        breakdown=split.pools.to_json(), metadata=ask.metadata, processor=processor, request_key=request_key,
    )
    work.refunds.add(refund)
    work.refunds.add_items(refund.id, [(sku, part.quantity, part.amount) for sku, part in split.items.items()])
    work.refund_changed(refund.site_id, refund.id)
    return refund


def refund_request(refund: Refund, order: Order) -> RefundRequest:
    payment = PaymentFacts(order.payment.card_last4, order.payment.payment_intent_id, order.payment.charge_id)
    return RefundRequest(refund.id, refund.amount, refund.currency, refund.reason, payment, refund.site_id,
                         refund.order_id)


# No answer: the refund stays as it is, and only the time of asking changes.
UNKNOWN = RefundOutcome(RefundState.PENDING)


def call(ask: Callable[[], RefundOutcome]) -> RefundOutcome:
    """The processor's answer; an unknown outcome leaves the refund pending for the reconciler."""
    try:
        return ask()
    except ProcessorUnavailable:
        return UNKNOWN


def record_outcome(db: Database, refund_id: str, outcome: RefundOutcome, token_id: str | None = None) -> bool:
    """Record the processor's answer for an unsettled refund; True when anything changed.

    A failed or expired refund releases its amount; a success that completes the capture refunds
    the order exactly as the Webflow refund endpoint does.
    """
    with db.unit_of_work() as work:
        changed = _record(work, refund_id, outcome)
        work.commit("refund", by=token_id)
    return changed


def _record(work: UnitOfWork, refund_id: str, outcome: RefundOutcome) -> bool:
    found = work.refunds.get(refund_id)
    if found is None or found.state not in UNSETTLED:
        return False
    # Lock order: the order row first, then its refunds, as every writer does.
    order = work.orders.lock(found.site_id, found.order_id)
    refund = work.refunds.get(refund_id)
    if refund is None or refund.state not in UNSETTLED:
        return False  # settled meanwhile by a retry, the reconciler or a processor event
    at = work.now_millis()
    if outcome.state == RefundState.PENDING and outcome.processor_reference is None:
        # The processor did not answer: nothing is known, so nothing changes but the time of asking.
        work.refunds.touch(refund.id, at)
        return False
    reference = outcome.processor_reference or refund.processor_reference
    if outcome.state in UNSETTLED and outcome.state == refund.state and reference == refund.processor_reference:
        work.refunds.touch(refund.id, at)
        return False
    refunded = refund.amount if outcome.state == RefundState.SUCCEEDED else 0
    failure = None if outcome.state in UNSETTLED else outcome.failure_reason
    work.refunds.settle(refund.id, outcome.state, reference, failure, refunded, outcome.expires_on, at)
    work.refund_changed(refund.site_id, refund.id)
    if outcome.state in FINAL_FAILURES:
        work.orders.release(order, refund.amount)
    elif outcome.state == RefundState.SUCCEEDED:
        succeeded = sum(r.refunded_amount for r in work.refunds.for_order(refund.site_id, refund.order_id))
        if succeeded >= order.captured.amount:
            order.mark_refunded(work.clock.now(), outcome.processor_reference, outcome.processor_reason,
                                by_processor=True)
    return True


# --- the Webflow refund endpoint: refund whatever is still available ----------------------------

def refund_order(db: Database, processor: PaymentProcessor, site_id: str, order_id: str,
                 reason: str | None, token_id: str | None, request_key: str | None = None) -> bytes:
    """Refund everything still refundable; an order already refunded is returned unchanged."""
    requested = request_refund(db, processor, site_id, order_id, Ask("product", reason, "{}", _remainder),
                               token_id, request_key)
    if requested.outcome is not None and requested.outcome.state in FINAL_FAILURES:
        raise RefundDeclined(requested.outcome.failure_reason or "refund_failed")
    return requested.document if requested.document is not None else orders.get_order(db, site_id, order_id)


def _remainder(work: UnitOfWork, order: Order) -> Split | None:
    if not order.can_refund():
        return None  # refunded already
    if order.captured.amount == 0:
        # Nothing was captured (a free order): there is nothing to ask a processor for.
        order.mark_refunded(work.clock.now())
        return None
    split = Split(amounts_of(order).pools - taken_by(work, order).pools)
    if split.total <= 0 or split.total != order.refundable.amount:
        raise Conflict(f"Order {order.order_id} has a refund in progress; nothing more is available to refund")
    return split


def whole_order_breakdown(order: Order) -> Pools:
    """The breakdown of a refund of the whole order (seeded refunded orders have one)."""
    return amounts_of(order).pools
