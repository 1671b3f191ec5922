"""What services ask of the outside world: a payment processor."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class RefundState(StrEnum):
    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


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


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    state: RefundState
    processor_reference: str | None = None
    processor_reason: str | None = None  # the processor's own word for the reason
    failure_reason: str | None = None


class ProcessorUnavailable(Exception):
    """The processor could not be reached or did not answer in time; the outcome is unknown."""


class PaymentProcessor(Protocol):
    def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund `request.amount`; the same refund_id twice must refund once."""
        ...
