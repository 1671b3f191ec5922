"""Refunding an order through the payment processor: reserve, call, settle.

The amount is reserved in one short transaction (a conditional update that the database's CHECK
backs), the processor is called outside any transaction with our refund id as its idempotency
key, and the outcome is settled in a second transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderAction, OrderStatus, transition
from orderdesk.errors import Conflict, RefundDeclined
from orderdesk.services.changes import lock_order, save_change
from orderdesk.services.ports import (
    PaymentFacts, PaymentProcessor, ProcessorUnavailable, RefundOutcome, RefundRequest, RefundState,
)
from orderdesk.store.repositories.refunds import RefundRepository, RefundRow
from orderdesk.store.unit_of_work import Database
from orderdesk.wire import orders as wire


def new_refund_id() -> str:
    return "re_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class Reservation:
    refund: RefundRow
    payment: PaymentFacts


def refund_order(db: Database, processor: PaymentProcessor, site_id: str, order_id: str,
                 reason: str | None, token_id: str | None) -> bytes:
    """Refund everything still refundable; an order already refunded is returned unchanged."""
    reservation, document = _reserve_remainder(db, site_id, order_id, reason, token_id)
    if reservation is None:
        return document
    request = RefundRequest(
        reservation.refund.id, reservation.refund.amount, reservation.refund.currency, reason, reservation.payment
    )
    try:
        outcome = processor.refund(request)
    except ProcessorUnavailable:
        # The outcome is unknown: the refund stays pending, holding its amount, until the
        # processor answers the same idempotency key again.
        outcome = RefundOutcome(RefundState.PENDING)
    return settle_refund(db, reservation.refund, outcome, token_id)


def _reserve_remainder(db: Database, site_id: str, order_id: str, reason: str | None,
                       token_id: str | None) -> tuple[Reservation | None, bytes]:
    with db.unit_of_work() as work:
        repository, row = lock_order(work, site_id, order_id)
        if transition(order_id, OrderStatus(row.status), OrderAction.REFUND) is None:
            return None, row.document
        if row.captured_amount == 0:
            # Nothing was captured (a free order): there is nothing to ask a processor for.
            before = wire.decode(row.document)
            document = save_change(repository, row, before, _refunded(before), "refund", token_id)
            work.commit()
            return None, document
        available = row.captured_amount - row.refund_reserved
        if available <= 0:
            raise Conflict(f"Order {order_id} has a refund in progress; nothing more is available to refund")
        now = clock.to_millis(clock.now())
        refund = RefundRow(
            id=new_refund_id(), site_id=site_id, order_id=order_id, amount=available, currency=row.currency,
            state=RefundState.PENDING, reason=reason, processor_reference=None, failure_reason=None,
            created_on=now, updated_on=now,
        )
        if not repository.reserve_refund(row.id, available):
            raise Conflict(f"Order {order_id} has a refund in progress; nothing more is available to refund")
        RefundRepository(work.connection).add(refund)
        order = wire.decode(row.document)
        payment = PaymentFacts(
            card_last4=order.stripe_card.last4 or None,
            payment_intent_id=order.stripe_details.payment_intent_id,
            charge_id=order.stripe_details.charge_id,
        )
        work.commit()
    return Reservation(refund, payment), row.document


def settle_refund(db: Database, refund: RefundRow, outcome: RefundOutcome, token_id: str | None) -> bytes:
    """Record the processor's answer; a refund that covers the whole capture refunds the order.

    Raises RefundDeclined for a failed refund, once its release is committed.
    """
    with db.unit_of_work() as work:
        document = _settle(work, refund, outcome, token_id)
        work.commit()
    if outcome.state in (RefundState.FAILED, RefundState.EXPIRED):
        raise RefundDeclined(outcome.failure_reason or "refund_failed")
    return document


def _settle(work, refund: RefundRow, outcome: RefundOutcome, token_id: str | None) -> bytes:
    refunds = RefundRepository(work.connection)
    repository, row = lock_order(work, refund.site_id, refund.order_id)
    if outcome.state in (RefundState.PENDING, RefundState.PENDING_INFORMATION):
        return row.document
    at = clock.to_millis(clock.now())
    if not refunds.settle(refund.id, outcome.state, outcome.processor_reference, outcome.failure_reason, at):
        return row.document  # settled already (by a retry or the reconciler)
    if outcome.state != RefundState.SUCCEEDED:
        repository.release_refund(row.id, refund.amount)
        return row.document
    succeeded = sum(r.amount for r in refunds.for_order(refund.site_id, refund.order_id)
                    if r.state == RefundState.SUCCEEDED)
    if succeeded < row.captured_amount:
        return row.document
    before = wire.decode(row.document)
    return save_change(repository, row, before, _refunded(before, outcome), "refund", token_id)


def _refunded(order: wire.OrderDoc, outcome: RefundOutcome | None = None) -> wire.OrderDoc:
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
