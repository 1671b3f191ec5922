"""Stripe's webhook events in our words: the signature check, then what each event means for an order or a refund.

https://docs.stripe.com/webhooks#verify-events and https://docs.stripe.com/api/events/types
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import stripe

from orderdesk.domain.money import MAX_AMOUNT
from orderdesk.errors import AppError, BadRequest
from orderdesk.payments.stripe import StripeProcessor, outcome_of
from orderdesk.services.disputes import (
    LOST_STATUSES, WON_STATUSES, DisputeClosed, DisputeOpened, DisputeUpdated, PaymentCaptured,
)
from orderdesk.services.processors import PaymentEvent, ProcessorEvent, RefundEvent
from orderdesk.wire import strict_json

REFUND_EVENTS = frozenset({"charge.refund.updated", "refund.created", "refund.updated", "refund.failed"})


class _Object(msgspec.Struct):
    """What Stripe's objects must hold for us to act on them; the rest is ignored."""


class _Event(_Object):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # kept per site in a 255-character column
    type: Annotated[str, msgspec.Meta(max_length=64)]
    data: dict


class _Dispute(_Object):
    id: StripeId
    status: Short
    charge: StripeId | None = None
    payment_intent: StripeId | None = None


Short = Annotated[str, msgspec.Meta(max_length=64)]  # what our columns for Stripe's words hold
StripeId = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class _DisplayDetails(_Object):
    expires_at: Annotated[int, msgspec.Meta(ge=0, le=2**40)] | None = None  # Unix seconds


class _NextAction(_Object):
    display_details: _DisplayDetails | None = None


class _Refund(_Object):
    """Checked before `outcome_of` reads the same object: what it keeps must fit our columns."""

    id: StripeId
    status: Short
    reason: Short | None = None
    failure_reason: Short | None = None
    next_action: _NextAction | None = None
    metadata: dict[str, str] = {}


Amount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]


class _PaymentIntent(_Object):
    id: StripeId
    amount_received: Amount
    latest_charge: StripeId | None = None


class _Charge(_Object):
    id: StripeId
    amount_captured: Amount
    payment_intent: StripeId | None = None


def verified_event(body: bytes, signature: str | None, secret: str) -> ProcessorEvent:
    """The event Stripe signed with `secret`, in our words; BadRequest if the signature or the body is not Stripe's."""
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise BadRequest("Bad Request: The Stripe-Signature header does not match the body") from None
    try:
        # Strict JSON first: a NUL character or a duplicate key is refused, signed or not.
        event = msgspec.convert(strict_json.decode(body), _Event)
        return ProcessorEvent(event.id, event.type, StripeProcessor.name, _subject(event))
    except (msgspec.ValidationError, KeyError, TypeError, AppError):
        raise BadRequest("Bad Request: The event is not a Stripe event this server understands") from None


def _subject(event: _Event) -> PaymentEvent | RefundEvent | None:
    found = event.data["object"]
    if event.type.startswith("charge.dispute."):
        return _dispute_event(event.type, msgspec.convert(found, _Dispute))
    if event.type in REFUND_EVENTS:
        refund = msgspec.convert(found, _Refund)
        return RefundEvent(refund.metadata.get("orderdesk_refund_id"), outcome_of(found))
    if event.type == "payment_intent.succeeded":
        intent = msgspec.convert(found, _PaymentIntent)
        return PaymentEvent(_references(intent.id, intent.latest_charge), PaymentCaptured(intent.amount_received))
    if event.type == "charge.captured":
        charge = msgspec.convert(found, _Charge)
        return PaymentEvent(_references(charge.payment_intent, charge.id), PaymentCaptured(charge.amount_captured))
    return None


def _dispute_event(event_type: str, dispute: _Dispute) -> PaymentEvent | None:
    if event_type == "charge.dispute.created":
        change = DisputeOpened(dispute.id, dispute.status)
    elif event_type == "charge.dispute.updated":
        change = DisputeUpdated(dispute.status)
    elif event_type == "charge.dispute.closed" and dispute.status in WON_STATUSES + LOST_STATUSES:
        change = DisputeClosed(dispute.status in WON_STATUSES, dispute.status)
    else:
        return None  # funds_withdrawn, funds_reinstated, and closing statuses the spec has no word for
    return PaymentEvent(_references(dispute.payment_intent, dispute.charge), change)


def _references(*ids: str | None) -> tuple[str, ...]:
    return tuple(found for found in ids if found)
