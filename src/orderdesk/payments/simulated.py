"""The simulated processor (BEHAVIOUR.md section 8): refunds succeed except for magic card endings."""

from __future__ import annotations

import hashlib
import threading
import time

from orderdesk.services.ports import RefundOutcome, RefundRequest, RefundState

DECLINES_AT_ONCE = "4111"  # fails at once: card_declined
FAILS_LATER = "5126"  # pending, then failed: expired_or_canceled_card
NEEDS_BANK_DETAILS = "0839"  # pending_information, then expired

# Stripe's words for our reasons; the simulated processor speaks like Stripe.
_REASON_WORDS = {"requested": "requested_by_customer", "duplicate": "duplicate", "fraudulent": "fraudulent"}


class SimulatedProcessor:
    """Deterministic and idempotent: the same refund id always gets the same answer, counted once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._answers: dict[str, RefundOutcome] = {}
        self.calls: list[RefundRequest] = []

    def refund(self, request: RefundRequest) -> RefundOutcome:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls.append(request)
            known = self._answers.get(request.refund_id)
            if known is None:
                known = self._answers[request.refund_id] = _answer(request)
            return known


def _answer(request: RefundRequest) -> RefundOutcome:
    reference = "re_sim_" + hashlib.sha256(request.refund_id.encode()).hexdigest()[:24]
    reason = _REASON_WORDS.get(request.reason or "", request.reason)
    last4 = request.payment.card_last4
    if last4 == DECLINES_AT_ONCE:
        return RefundOutcome(RefundState.FAILED, reference, reason, failure_reason="card_declined")
    if last4 == FAILS_LATER:
        return RefundOutcome(RefundState.PENDING, reference, reason)
    if last4 == NEEDS_BANK_DETAILS:
        return RefundOutcome(RefundState.PENDING_INFORMATION, reference, reason)
    return RefundOutcome(RefundState.SUCCEEDED, reference, reason)
