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
from orderdesk.services.ports import ProcessorUnavailable, RefundOutcome, RefundRequest
from orderdesk.store.repositories.simulated import SimulatedLedger
from orderdesk.store.database import Database

DECLINES_AT_ONCE = "4111"  # fails at once: card_declined
FAILS_LATER = "5126"  # pending, then failed: expired_or_canceled_card
NEEDS_BANK_DETAILS = "0839"  # pending_information, then expired
# A sandbox processor fault's outcome, as the card that gives it (or, for a timeout, no answer at all).
TIMEOUT = "timeout"
OUTCOME_CARDS = {"declined": DECLINES_AT_ONCE, "pending": FAILS_LATER, "pending_information": NEEDS_BANK_DETAILS}


class SimulatedProcessor:
    """Deterministic and idempotent: the same refund id always gets the same answer, refunded once."""

    name = "simulated"

    def __init__(self, db: Database, delay: float = 0.0, fail_after: float = 10.0,
                 information_window: float = 300.0, faults: bool = False) -> None:
        self.db = db
        self.faults = faults  # sandbox mode: a site's processor faults shape its next refunds
        self.delay = delay
        self.fail_after_ms = int(fail_after * 1000)
        self.information_window_ms = int(information_window * 1000)

    @property
    def answers_at_once(self) -> bool:
        """True when a refund's answer needs only the database: no simulated latency to wait out."""
        return not self.delay

    def refund(self, request: RefundRequest) -> RefundOutcome:
        card = request.payment.card_last4
        if self.faults and request.site_id:
            fault = self._fault(request)
            if fault is not None:
                if fault.outcome == TIMEOUT:
                    # Asked, and never answered: the refund stays pending, and the reconciler's next ask
                    # finds it made as the card says.
                    raise ProcessorUnavailable("the simulated processor timed out (a sandbox fault)")
                card = OUTCOME_CARDS[fault.outcome]
        return self._ask(request, card)

    def refresh(self, request: RefundRequest, reference: str | None) -> RefundOutcome:
        return self._ask(request, request.payment.card_last4)

    def _fault(self, request: RefundRequest):
        from orderdesk.domain.faults import PROCESSOR
        from orderdesk.services.faults import fault_for

        with self.db.reader() as read:
            if SimulatedLedger(read.connection).calls(request.refund_id):
                return None  # asked before: a fault shapes a refund only when it is first asked for
        return fault_for(self.db, request.site_id, PROCESSOR)

    def _ask(self, request: RefundRequest, card: str | None) -> RefundOutcome:
        if self.delay:
            time.sleep(self.delay)
        with self.db.unit_of_work() as work:
            now = work.now_millis()  # the database's clock: the delays are its time, not the wall's
            first_asked, _, first_card = SimulatedLedger(work.connection).ask(
                request.refund_id, reference(request.refund_id), request.amount, request.currency,
                (card or "")[:4] or None, request.reason, now,
            )
            work.commit()
        return self.answer(request, first_asked, now, first_card)

    def answer(self, request: RefundRequest, first_asked: int, now: int, last4: str | None) -> RefundOutcome:
        """The answer for the card the refund was first asked for: the same refund id, the same answer."""
        ref, reason = reference(request.refund_id), REASON_WORDS.get(request.reason or "", request.reason)
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
