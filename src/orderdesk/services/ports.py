"""What services ask of the outside world: a payment processor, found per site; an order to place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderdesk.domain.orders import Order
from orderdesk.domain.refunds import RefundState
from orderdesk.domain.sites import Site


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What a processor needs to find the original payment."""

    card_last4: str | None
    payment_intent_id: str | None
    charge_id: str | None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    refund_id: str  # also the processor's idempotency key
    amount: int
    currency: str
    reason: str | None  # our word: duplicate, fraudulent, requested
    payment: PaymentFacts
    site_id: str = ""
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    state: RefundState
    processor_reference: str | None = None
    processor_reason: str | None = None  # the processor's own word for the reason
    failure_reason: str | None = None
    expires_on: int | None = None  # Unix ms; when a pending_information refund expires


class ProcessorUnavailable(Exception):
    """The processor could not be reached or did not answer in time; the outcome is unknown."""


class PaymentProcessor(Protocol):
    name: str  # stored with each refund, so that the reconciler asks the same processor again

    def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund `request.amount`; the same refund_id twice must refund once."""
        ...

    def refresh(self, request: RefundRequest, reference: str | None) -> RefundOutcome:
        """The current state of a refund asked for before (`reference` is the processor's id, if known).

        Asks again with the same idempotency key when the processor never answered, so a refund
        whose first call was lost is made exactly once.
        """
        ...


class ProcessorDirectory(Protocol):
    def for_site(self, site_id: str) -> PaymentProcessor:
        """The processor that refunds this site's orders now."""
        ...

    def named(self, site_id: str, name: str) -> PaymentProcessor:
        """The processor called `name` for this site (the one an earlier refund went to)."""
        ...


class OrderDraft(Protocol):
    """An order as a client placed it, not checked yet (wire/placing.py's Draft)."""

    @property
    def wanted_id(self) -> str | None:
        """The orderId the client asked for, or None to have one made."""
        ...

    def complete(self, site: Site, order_id: str | None, now: datetime) -> Order:
        """The order with every computed field filled in; raises ValidationFailed naming every problem.

        `order_id` is None when the wanted id is taken or malformed: the refusal names it with the rest.
        """
        ...
