"""The sandbox's faults: added, listed, removed, and the one a request to an operation meets, if any."""

from __future__ import annotations

from orderdesk.domain import clock, ids
from orderdesk.domain.faults import Fault, FaultRefused, check
from orderdesk.errors import FaultNotFound, ValidationFailed
from orderdesk.store.database import Database


def add_fault(db: Database, site_id: str, operations: frozenset[str], operation: str, status: int | None = None,
              delay_ms: int = 0, drop: bool = False, times: int | None = None, probability: float = 1.0,
              outcome: str | None = None, chaos: str | None = None) -> Fault:
    """A new fault of the site; ValidationFailed (naming the field) for one that cannot be."""
    try:
        check(operation, operations, status, delay_ms, drop, times, probability, outcome, chaos)
    except FaultRefused as refused:
        raise ValidationFailed.of(refused.field, refused.message) from None
    with db.unit_of_work() as work:
        fault = Fault(ids.object_id(), site_id, operation, status, delay_ms, drop, times, float(probability),
                      created_on=clock.to_millis(work.clock.now()), outcome=outcome, chaos=chaos)
        work.faults.add(fault)
        work.commit()
    return fault


def list_faults(db: Database, site_id: str) -> list[Fault]:
    with db.reader() as reader:
        return reader.faults.of_site(site_id)


def remove_fault(db: Database, site_id: str, fault_id: str) -> None:
    with db.unit_of_work() as work:
        if not work.faults.remove(site_id, fault_id):
            raise FaultNotFound()
        work.commit()


def clear_faults(db: Database, site_id: str) -> None:
    with db.unit_of_work() as work:
        work.faults.clear(site_id)
        work.commit()


def fault_for(db: Database, site_id: str, operation: str) -> Fault | None:
    """The fault a request to `operation` on the site meets: the oldest that matches and chooses it (each
    matching fault counts the request, chosen or not); None for most requests."""
    with db.reader() as reader:
        candidates = [fault for fault in reader.faults.of_site(site_id) if fault.matches(operation)]
    for fault in candidates:
        with db.unit_of_work() as work:
            draw = work.faults.draw(fault.id)
            applies = fault.chosen(draw) and work.faults.apply(fault.id)
            work.commit()
        if applies:
            return fault
    return None
