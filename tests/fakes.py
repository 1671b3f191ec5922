"""Hand-written fakes for the edge of the outside world (STYLE.md: fakes over mocks)."""

from __future__ import annotations

import threading

from orderdesk.domain.refunds import RefundState
from orderdesk.services.ports import ProcessorUnavailable, RefundOutcome, RefundRequest


class ScriptedProcessor:
    """A processor that answers every refund with one state, or cannot be reached; it records each ask."""

    def __init__(self, state: RefundState | None = RefundState.SUCCEEDED, name: str = "simulated") -> None:
        self.state = state  # None: unreachable, the outcome unknown
        self.name = name
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def refund(self, request: RefundRequest) -> RefundOutcome:
        with self._lock:
            self.asked.append(request.refund_id)
        if self.state is None:
            raise ProcessorUnavailable("scripted outage")
        failure = "card_declined" if self.state == RefundState.FAILED else None
        return RefundOutcome(self.state, "re_scripted_" + request.refund_id, "requested_by_customer", failure)

    def refresh(self, request: RefundRequest, reference: str | None) -> RefundOutcome:
        return self.refund(request)


class Directory:
    """Every site refunds through one processor."""

    def __init__(self, processor) -> None:
        self.processor = processor

    def for_site(self, site_id: str):
        return self.processor

    def named(self, site_id: str, name: str):
        return self.processor
