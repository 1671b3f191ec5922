"""The sandbox workbench's answers (api/routes/sandbox.py)."""

from __future__ import annotations

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.faults import Fault


class SandboxSiteDoc(msgspec.Struct, rename="camel"):
    """`POST /_orderdesk/sites`'s answer: the new site and its token, which holds every scope."""

    site_id: str
    token: str


class FaultDoc(msgspec.Struct, rename="camel"):
    id: str
    operation: str
    status: int | None
    delay_ms: int
    drop: bool
    times: int | None
    probability: float
    remaining: int | None  # requests it will still change; null: until deleted
    created_on: str
    outcome: str | None  # a processor fault's
    chaos: str | None  # a webhook-delivery fault's


class FaultListDoc(msgspec.Struct):
    faults: list[FaultDoc]


def fault_doc(fault: Fault) -> FaultDoc:
    return FaultDoc(fault.id, fault.operation, fault.status, fault.delay_ms, fault.drop, fault.times,
                    fault.probability, fault.remaining, clock.millis_to_wire(fault.created_on), fault.outcome,
                    fault.chaos)


class SnapshotDoc(msgspec.Struct, rename="camel"):
    name: str
    created_on: str
    orders: int  # how many orders it holds


class SnapshotListDoc(msgspec.Struct):
    snapshots: list[SnapshotDoc]


def snapshot_doc(name: str, created_on: int, orders: int) -> SnapshotDoc:
    return SnapshotDoc(name, clock.millis_to_wire(created_on), orders)
