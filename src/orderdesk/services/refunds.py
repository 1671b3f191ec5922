"""The Refunds resource (BEHAVIOUR.md section 5): create, read, list, and update metadata."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.orders import OrderAction, OrderStatus, TransitionNotAllowed, transition
from orderdesk.domain.refunds import (
    InvalidItem, NothingOfType, PartialTaxRefund, RefundExceedsAvailable, RefundTooSmall, plan_refund,
)
from orderdesk.errors import Conflict, FieldProblem, RefundNotFound, ValidationFailed
from orderdesk.services import refunding
from orderdesk.services.changes import lock_order
from orderdesk.services.ports import ProcessorDirectory
from orderdesk.store.repositories.refunds import RefundFilter, RefundRepository, RefundRow
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.money import major_units
from orderdesk.wire.refunds import NewRefund, RefundDoc, RefundListDoc, refund_doc

EXCEEDS = "The requested refund amount is greater than the available amount."
_json = msgspec.json.Encoder()


def create_refund(db: Database, processors: ProcessorDirectory, site_id: str, new: NewRefund,
                  token_id: str | None, request_key: str | None = None) -> RefundDoc:
    """Reserve, call the site's processor, settle; the refund as it stands afterwards."""
    processor = processors.for_site(site_id)
    with db.unit_of_work() as work:
        refunds = RefundRepository(work.connection)
        made = refunding.made_for_key(refunds, request_key)
        if made is not None:
            return _view(refunds, made)  # a retry after a crash: the refund already exists
        repository, row = lock_order(work, site_id, new.order_id)
        if new.currency != row.currency:
            raise ValidationFailed.of("currency", f"must be the order's currency, {row.currency}")
        _check_refundable(row.order_id, OrderStatus(row.status))
        order = wire.decode(row.document)
        amounts = refunding.amounts_of(order, row.captured_amount)
        try:
            split = plan_refund(amounts, refunding.taken_by(refunds, site_id, row.order_id), new.ask)
            reservation = refunding.reserve(
                work, repository, row, split, processor.name, new.ask.kind.value, new.reason,
                _json.encode(new.metadata).decode(), request_key,
            )
        except RefundExceedsAvailable:
            raise ValidationFailed.of("amount", EXCEEDS) from None
        except RefundTooSmall:
            raise ValidationFailed.of("amount", "The requested refund comes to less than one minor unit.") from None
        except NothingOfType as error:
            raise ValidationFailed.of("type", str(error)) from None
        except PartialTaxRefund as error:
            remaining = major_units(error.remaining, row.currency)
            raise ValidationFailed.of("amount", f"A tax refund must be the whole remaining tax ({remaining}).") from None
        except InvalidItem as error:
            raise ValidationFailed.of(error.field, error.message) from None
        work.commit()
    outcome = refunding.call(processor, lambda: processor.refund(reservation.request))
    refunding.record_outcome(db, reservation.refund.id, outcome, token_id)
    return get_refund(db, site_id, reservation.refund.id)


def _check_refundable(order_id: str, status: OrderStatus) -> None:
    """Partial refunds follow the Webflow refund's table: only unfulfilled and fulfilled orders."""
    if status == OrderStatus.REFUNDED:
        raise ValidationFailed.of("amount", EXCEEDS)
    try:
        transition(order_id, status, OrderAction.REFUND)
    except TransitionNotAllowed as error:
        raise Conflict(str(error)) from None


def get_refund(db: Database, site_id: str, refund_id: str) -> RefundDoc:
    with db.reading() as connection:
        refunds = RefundRepository(connection)
        refund = refunds.get(refund_id, site_id)
        if refund is None:
            raise RefundNotFound()
        return _view(refunds, refund)


@dataclass(frozen=True, slots=True)
class RefundQuery:
    where: RefundFilter
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


def list_refunds(db: Database, site_id: str, query: RefundQuery) -> RefundListDoc:
    """Newest first, a page at a time, after or before a refund id."""
    with db.reading() as connection:
        refunds = RefundRepository(connection)
        after = _cursor(refunds, site_id, "startingAfter", query.starting_after)
        before = _cursor(refunds, site_id, "endingBefore", query.ending_before)
        page, more = refunds.page(site_id, query.where, query.limit, after, before)
        items = refunds.items_of([refund.id for refund in page])
        return RefundListDoc(more, [refund_doc(refund, items.get(refund.id, [])) for refund in page])


def _cursor(refunds: RefundRepository, site_id: str, field: str, refund_id: str | None) -> RefundRow | None:
    if refund_id is None:
        return None
    found = refunds.get(refund_id, site_id)
    if found is None:
        raise ValidationFailed.of(field, "is not the id of a refund of this site")
    return found


def update_metadata(db: Database, site_id: str, refund_id: str, changes: dict[str, str | None]) -> RefundDoc:
    """Merge `changes` into the refund's metadata; a null value removes its key."""
    with db.unit_of_work() as work:
        refunds = RefundRepository(work.connection)
        refund = refunds.lock(refund_id, site_id)  # concurrent merges each see the one before
        if refund is None:
            raise RefundNotFound()
        metadata = {**msgspec.json.decode(refund.metadata), **changes}
        metadata = {key: value for key, value in metadata.items() if value is not None}
        if len(metadata) > 50:
            raise ValidationFailed([FieldProblem("metadata", "must have at most 50 keys")])
        encoded = _json.encode(metadata).decode()
        if encoded != refund.metadata:
            refunds.set_metadata(refund.id, encoded, clock.to_millis(clock.now()))
        refund = refunds.get(refund_id, site_id)
        document = _view(refunds, refund)
        work.commit()
    return document


def _view(refunds: RefundRepository, refund: RefundRow) -> RefundDoc:
    return refund_doc(refund, refunds.items_of([refund.id]).get(refund.id, []))
