"""The sandbox's faults of a site."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.domain.faults import Fault
from orderdesk.store.tables import sandbox_faults as faults

_COLUMNS = (faults.c.id, faults.c.site_id, faults.c.operation, faults.c.status, faults.c.delay_ms, faults.c.drop,
            faults.c.times, faults.c.probability, faults.c.applied, faults.c.created_on, faults.c.outcome, faults.c.chaos)


def _fault(row) -> Fault:
    return Fault(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8], row[9], row[10], row[11])


class FaultRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, fault: Fault) -> None:
        self.connection.execute(faults.insert().values(
            id=fault.id, site_id=fault.site_id, operation=fault.operation, status=fault.status,
            delay_ms=fault.delay_ms, drop=fault.drop, times=fault.times, probability=fault.probability,
            outcome=fault.outcome, chaos=fault.chaos, draws=0, applied=0, created_on=fault.created_on))

    def of_site(self, site_id: str) -> list[Fault]:
        """Oldest first: the order in which they are tried."""
        rows = self.connection.execute(sa.select(*_COLUMNS).where(faults.c.site_id == site_id)
                                       .order_by(faults.c.created_on, faults.c.id))
        return [_fault(row) for row in rows]

    def draw(self, fault_id: str) -> int:
        """Count one more request that matched the fault; its number, from 1."""
        return self.connection.execute(
            faults.update().where(faults.c.id == fault_id).values(draws=faults.c.draws + 1)
            .returning(faults.c.draws)).scalar_one()

    def apply(self, fault_id: str) -> bool:
        """Count a request the fault changes; False when its `times` are used up (another process took the
        last one)."""
        changed = self.connection.execute(
            faults.update().where(faults.c.id == fault_id,
                                  sa.or_(faults.c.times.is_(None), faults.c.applied < faults.c.times))
            .values(applied=faults.c.applied + 1))
        return changed.rowcount == 1

    def remove(self, site_id: str, fault_id: str) -> bool:
        removed = self.connection.execute(faults.delete().where(faults.c.site_id == site_id, faults.c.id == fault_id))
        return removed.rowcount == 1

    def clear(self, site_id: str) -> None:
        self.connection.execute(faults.delete().where(faults.c.site_id == site_id))
