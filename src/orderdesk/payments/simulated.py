"""The simulated processor (BEHAVIOUR.md section 8): refunds succeed except for magic card endings.

Its ledger lives in our database, so the same refund id gets the same answer from every process
and after a restart, and a refund that is pending settles on the clock: `5126` fails once
`fail_after` seconds have passed since the first ask, `0839` expires after `information_window`.
"""

from __future__ import annotations

import hashlib
import time

from orderdesk.payments.vocabulary import REASON_WORDS
from orderdesk.domain.refunds import RefundState
from orderdesk.services.ports import RefundOutcome, RefundRequest
from orderdesk.store.repositories.simulated import SimulatedLedger
from orderdesk.store.database import Database

DECLINES_AT_ONCE = "4111"  # fails at once: card_declined
FAILS_LATER = "5126"  # pending, then failed: expired_or_canceled_card
NEEDS_BANK_DETAILS = "0839"  # pending_information, then expired


class SimulatedProcessor:
    """Deterministic and idempotent: the same refund id always gets the same answer, refunded once."""

    name = "simulated"

    def __init__(self, db: Database, delay: float = 0.0, fail_after: float = 10.0,
                 information_window: float = 300.0) -> None:
        self.db = db
        self.delay = delay
        self.fail_after_ms = int(fail_after * 1000)
        self.information_window_ms = int(information_window * 1000)

    @property
    def answers_at_once(self) -> bool:
        """True when a refund's answer needs only the database: no simulated latency to wait out."""
        return not self.delay

    def refund(self, request: RefundRequest) -> RefundOutcome:
        if self.delay:
            time.sleep(self.delay)
        with self.db.unit_of_work() as work:
            now = work.now_millis()  # the database's clock: the delays are its time, not the wall's
            first_asked, _ = SimulatedLedger(work.connection).ask(
                request.refund_id, reference(request.refund_id), request.amount, request.currency,
                (request.payment.card_last4 or "")[:4] or None, request.reason, now,
            )
            work.commit()
        return self.answer(request, first_asked, now)

    def refresh(self, request: RefundRequest, reference: str | None) -> RefundOutcome:
        return self.refund(request)

    def answer(self, request: RefundRequest, first_asked: int, now: int) -> RefundOutcome:
        ref, reason = reference(request.refund_id), REASON_WORDS.get(request.reason or "", request.reason)
        last4 = request.payment.card_last4
        if last4 == DECLINES_AT_ONCE:
            return RefundOutcome(RefundState.FAILED, ref, reason, failure_reason="card_declined")
        if last4 == FAILS_LATER:
            if now - first_asked < self.fail_after_ms:
                return RefundOutcome(RefundState.PENDING, ref, reason)
            return RefundOutcome(RefundState.FAILED, ref, reason, failure_reason="expired_or_canceled_card")
        if last4 == NEEDS_BANK_DETAILS:
            expires_on = first_asked + self.information_window_ms
            if now < expires_on:
                return RefundOutcome(RefundState.PENDING_INFORMATION, ref, reason, expires_on=expires_on)
            return RefundOutcome(RefundState.EXPIRED, ref, reason, failure_reason="expired", expires_on=expires_on)
        return RefundOutcome(RefundState.SUCCEEDED, ref, reason)


def reference(refund_id: str) -> str:
    """The simulated processor's own id for our refund."""
    return "re_sim_" + hashlib.sha256(refund_id.encode()).hexdigest()[:24]
