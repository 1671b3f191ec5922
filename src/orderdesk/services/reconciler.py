"""Driving every unsettled refund to its end: at start-up, then periodically, in every server process.

A refund stays pending when its processor call was lost (a crash between reserve and settle, a
timeout, a processor that answers "pending"). The reconciler asks the same processor again with
the same idempotency key, so no refund is lost and none is paid twice; several processes doing
this at once is harmless, because the processor dedupes and settling is a conditional update.
"""

from __future__ import annotations

import threading

import structlog

from orderdesk.domain import clock
from orderdesk.services import refunding
from orderdesk.services.idempotency import purge_expired
from orderdesk.services.ports import ProcessorDirectory
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire

log = structlog.get_logger("orderdesk.reconciler")


def reconcile(db: Database, processors: ProcessorDirectory, quiet_for: float, limit: int = 100) -> int:
    """Ask again about unsettled refunds untouched for `quiet_for` seconds; how many changed."""
    cutoff = clock.to_millis(clock.now()) - int(quiet_for * 1000)
    with db.reading() as connection:
        waiting = RefundRepository(connection).unsettled(cutoff, limit)
        documents = {
            (refund.site_id, refund.order_id): OrderRepository(connection).document(refund.site_id, refund.order_id)
            for refund in waiting
        }
    changed = 0
    for refund in waiting:
        try:
            changed += _reconcile_one(db, processors, refund, documents[(refund.site_id, refund.order_id)])
        except Exception as error:  # noqa: BLE001 - one refund that cannot be asked about must not stall the rest
            log.exception("refund cannot be reconciled", refund_id=refund.id, reason=str(error))
            refunding.record_outcome(db, refund.id, refunding.UNKNOWN)  # asked again after `quiet_for`
    return changed


def _reconcile_one(db: Database, processors: ProcessorDirectory, refund, document: bytes) -> int:
    request = refunding.refund_request(refund, wire.decode(document))
    processor = processors.named(refund.site_id, refund.processor)
    outcome = refunding.call(processor, lambda: processor.refresh(request, refund.processor_reference))
    if not refunding.record_outcome(db, refund.id, outcome):
        return 0
    log.info("refund reconciled", refund_id=refund.id, state=outcome.state.value)
    return 1


class Reconciler:
    """A daemon thread that reconciles at start and then every `interval` seconds until stopped;
    it also deletes idempotency keys past their 24 hours."""

    def __init__(self, db: Database, processors: ProcessorDirectory, interval: float, quiet_for: float) -> None:
        self.db, self.processors = db, processors
        self.interval, self.quiet_for = interval, quiet_for
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orderdesk-reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while reconcile(self.db, self.processors, self.quiet_for) and not self._stop.is_set():
                    pass  # a full batch changed: there may be more waiting
                purge_expired(self.db)  # housekeeping that every process may do: deletes are idempotent
            except Exception:  # noqa: BLE001 - the loop must outlive a database hiccup
                log.exception("reconciler pass failed")
            self._stop.wait(self.interval)
