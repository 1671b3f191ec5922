"""Driving every unsettled refund to its end: at start-up, then periodically, in every server process.

A refund stays pending when its processor call was lost (a crash between reserve and settle, a
timeout, a processor that answers "pending"). The reconciler asks the same processor again with
the same idempotency key, so no refund is lost and none is paid twice; several processes doing
this at once is harmless, because the processor dedupes and settling is a conditional update.
"""

from __future__ import annotations

import structlog

from orderdesk.domain import clock
from orderdesk.services import refunding
from orderdesk.services.idempotency import purge_expired
from orderdesk.services.ports import ProcessorDirectory
from orderdesk.domain.orders import Order
from orderdesk.domain.refunds import Refund
from orderdesk.store.database import Database

log = structlog.get_logger("orderdesk.reconciler")


def reconcile(db: Database, processors: ProcessorDirectory, quiet_for: float, limit: int = 100) -> int:
    """Ask again about unsettled refunds untouched for `quiet_for` seconds; how many changed."""
    cutoff = clock.to_millis(db.clock.now()) - int(quiet_for * 1000)
    with db.reader() as read:
        waiting = read.refunds.unsettled(cutoff, limit)
        found = {(refund.site_id, refund.order_id): read.order(refund.site_id, refund.order_id)
                 for refund in waiting}
    changed = 0
    for refund in waiting:
        try:
            changed += _reconcile_one(db, processors, refund, found[(refund.site_id, refund.order_id)])
        except Exception as error:  # noqa: BLE001 - one refund that cannot be asked about must not stall the rest
            log.exception("refund cannot be reconciled", refund_id=refund.id, reason=str(error))
            refunding.record_outcome(db, refund.id, refunding.UNKNOWN)  # asked again after `quiet_for`
    return changed


def _reconcile_one(db: Database, processors: ProcessorDirectory, refund: Refund, order: Order) -> int:
    request = refunding.refund_request(refund, order)
    processor = processors.named(refund.site_id, refund.processor)
    outcome = refunding.call(lambda: processor.refresh(request, refund.processor_reference))
    if not refunding.record_outcome(db, refund.id, outcome):
        return 0
    log.info("refund reconciled", refund_id=refund.id, state=outcome.state.value)
    return 1


def reconcile_and_purge(db: Database, processors: ProcessorDirectory, quiet_for: float) -> int:
    """The background reconciler's pass: a batch of unsettled refunds asked about again, then idempotency
    keys past their 24 hours deleted (housekeeping every process may do: deletes are idempotent); how
    many refunds changed, so that a pass that changed some is followed at once by the next."""
    changed = reconcile(db, processors, quiet_for)
    purge_expired(db)
    return changed
