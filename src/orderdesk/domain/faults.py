"""The sandbox's faults: what a request to an operation answers instead, and whether this one is chosen.

A fault names an operation (an operationId of the API's document, or "*"), and what happens to a request
to it: another status (`status`), an answer held back (`delay_ms`), or the connection closed without one
(`drop`). A processor fault (`operation` "processor") gives the site's next refunds an `outcome` instead,
whatever card their order has, and a webhook-delivery fault gives its next deliveries a `chaos`
(duplicate, drop, delay); for the next `times` requests (None: until deleted), each with `probability`. Whether a request
is chosen is decided by a generator seeded with the fault's id and the request's number among those that
matched it, so a run can be repeated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ANY_OPERATION = "*"  # every request's operation (not the processor's)
PROCESSOR = "processor"  # the site's next refunds, whatever card their order has
OUTCOMES = ("declined", "pending", "pending_information", "timeout")
WEBHOOK_DELIVERY = "webhook-delivery"  # the site's next webhook deliveries
CHAOS = ("duplicate", "drop", "delay")
NOT_YET_CHAOS = ("reorder",)
MAX_DELAY_MS = 30_000


class FaultRefused(ValueError):
    """A fault that cannot be: `field` and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    site_id: str
    operation: str
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None  # the requests it applies to in all; None: until deleted
    probability: float = 1.0
    applied: int = 0  # requests it has changed so far
    created_on: int = 0
    outcome: str | None = None  # a processor fault's: one of OUTCOMES
    chaos: str | None = None  # a webhook-delivery fault's: one of CHAOS

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.applied, 0)

    def matches(self, operation: str) -> bool:
        if self.remaining == 0:
            return False
        return self.operation == operation or (self.operation == ANY_OPERATION and operation not in _OWN_KIND)

    def chosen(self, draw: int) -> bool:
        """Whether the `draw`-th request (from 1) that matched this fault is one it applies to."""
        if self.probability >= 1:
            return True
        return random.Random(f"{self.id}:{draw}").random() < self.probability


_OWN_KIND = (PROCESSOR, WEBHOOK_DELIVERY)  # what "*" does not reach


def check(operation: str, operations: frozenset[str], status: int | None, delay_ms: int, drop: bool,
          times: int | None, probability: float, outcome: str | None = None, chaos: str | None = None) -> None:
    """FaultRefused for the first thing wrong with a fault; `operations`: the ids a fault may name."""
    if operation == WEBHOOK_DELIVERY:
        if chaos in NOT_YET_CHAOS:
            raise FaultRefused("chaos", f"{chaos} is not served yet: one of {', '.join(CHAOS)}")
        if chaos not in CHAOS:
            raise FaultRefused("chaos", f"a webhook-delivery fault's chaos: one of {', '.join(CHAOS)}")
        if status is not None or drop or delay_ms or outcome is not None:
            raise FaultRefused("operation", "a webhook-delivery fault has a chaos, not a status, delayMs, drop or outcome")
        _check_share(times, probability)
        return
    if chaos is not None:
        raise FaultRefused("chaos", "only a webhook-delivery fault has a chaos")
    if operation == PROCESSOR:
        if outcome not in OUTCOMES:
            raise FaultRefused("outcome", f"a processor fault's outcome: one of {', '.join(OUTCOMES)}")
        if status is not None or drop or delay_ms:
            raise FaultRefused("operation", "a processor fault has an outcome, not a status, delayMs or drop")
        _check_share(times, probability)
        return
    if outcome is not None:
        raise FaultRefused("outcome", "only a processor fault has an outcome")
    if operation != ANY_OPERATION and operation not in operations:
        raise FaultRefused("operation", "must be an operationId of the API (see /openapi.json) or \"*\"")
    if status is not None and not 400 <= status <= 599:
        raise FaultRefused("status", "must be a 4xx or 5xx status")
    if not 0 <= delay_ms <= MAX_DELAY_MS:
        raise FaultRefused("delayMs", f"must be between 0 and {MAX_DELAY_MS}")
    if status is not None and drop:
        raise FaultRefused("drop", "a dropped connection has no status: give one or the other")
    if status is None and not drop and delay_ms == 0:
        raise FaultRefused("status", "give a status, a delayMs or drop: true")
    _check_share(times, probability)


def _check_share(times: int | None, probability: float) -> None:
    if times is not None and times < 1:
        raise FaultRefused("times", "must be 1 or more (leave it out: until deleted)")
    if not 0 <= probability <= 1:
        raise FaultRefused("probability", "must be between 0 and 1")
