"""The Refunds resource (BEHAVIOUR.md section 5): create, read, list, and update metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass

from orderdesk.domain.orders import Order, OrderAction, OrderStatus, TransitionNotAllowed, transition
from orderdesk.domain.refunds import (
    InvalidItem, NewRefund, NothingOfType, PartialTaxRefund, Refund, RefundExceedsAvailable, RefundTooSmall,
    Split, plan_refund,
)
from orderdesk.errors import Conflict, FieldProblem, RefundNotFound, ValidationFailed
from orderdesk.services import refunding
from orderdesk.services.ports import ProcessorDirectory
from orderdesk.store.database import Database
from orderdesk.store.repositories.refunds import RefundFilter, RefundRepository
from orderdesk.store.unit_of_work import UnitOfWork

EXCEEDS = "The requested refund amount is greater than the available amount."

# A refund and its items (sku id, quantity, amount) of an item refund: what the API shows of one.
Items = list[tuple[str, int, int]]


@dataclass(frozen=True, slots=True)
class RefundView:
    refund: Refund
    items: Items


@dataclass(frozen=True, slots=True)
class RefundPage:
    refunds: list[RefundView]
    has_more: bool


def create_refund(db: Database, processors: ProcessorDirectory, site_id: str, new: NewRefund,
                  token_id: str | None, request_key: str | None = None) -> RefundView:
    """Reserve, call the site's processor, settle; the refund as it stands afterwards."""
    processor = processors.for_site(site_id)

    def plan(work: UnitOfWork, order: Order) -> Split:
        if new.currency != order.currency:
            raise ValidationFailed.of("currency", f"must be the order's currency, {order.currency}")
        _check_refundable(order.order_id, order.status)
        try:
            return plan_refund(refunding.amounts_of(order), refunding.taken_by(work, order), new.ask)
        except RefundExceedsAvailable:
            raise ValidationFailed.of("amount", EXCEEDS) from None
        except RefundTooSmall:
            raise ValidationFailed.of("amount", "The requested refund comes to less than one minor unit.") from None
        except NothingOfType as error:
            raise ValidationFailed.of("type", str(error)) from None
        except PartialTaxRefund as error:
            remaining = work.major_units(error.remaining, order.currency)
            raise ValidationFailed.of("amount", f"A tax refund must be the whole remaining tax ({remaining}).") from None
        except InvalidItem as error:
            raise ValidationFailed.of(error.field, error.message) from None

    ask = refunding.Ask(new.ask.kind.value, new.reason, _encode(new.metadata), plan)
    requested = refunding.request_refund(db, processor, site_id, new.order_id, ask, token_id, request_key)
    return get_refund(db, site_id, requested.refund_id)


def _encode(metadata: dict[str, str]) -> str:
    return json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))


def _check_refundable(order_id: str, status: OrderStatus) -> None:
    """Partial refunds follow the Webflow refund's table: only unfulfilled and fulfilled orders."""
    if status == OrderStatus.REFUNDED:
        raise ValidationFailed.of("amount", EXCEEDS)
    try:
        transition(order_id, status, OrderAction.REFUND)
    except TransitionNotAllowed as error:
        raise Conflict(str(error)) from None


def get_refund(db: Database, site_id: str, refund_id: str) -> RefundView:
    with db.reader() as read:
        refunds = read.refunds
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


def list_refunds(db: Database, site_id: str, query: RefundQuery) -> RefundPage:
    """Newest first, a page at a time, after or before a refund id."""
    with db.reader() as read:
        refunds = read.refunds
        after = _cursor(refunds, site_id, "startingAfter", query.starting_after)
        before = _cursor(refunds, site_id, "endingBefore", query.ending_before)
        page, more = refunds.page(site_id, query.where, query.limit, after, before)
        items = refunds.items_of([refund.id for refund in page])
        return RefundPage([RefundView(refund, items.get(refund.id, [])) for refund in page], more)


def _cursor(refunds: RefundRepository, site_id: str, field: str, refund_id: str | None) -> Refund | None:
    if refund_id is None:
        return None
    found = refunds.get(refund_id, site_id)
    if found is None:
        raise ValidationFailed.of(field, "is not the id of a refund of this site")
    return found


def update_metadata(db: Database, site_id: str, refund_id: str, changes: dict[str, str | None]) -> RefundView:
    """Merge `changes` into the refund's metadata; a null value removes its key."""
    with db.unit_of_work() as work:
        refunds = work.refunds
        refund = refunds.lock(refund_id, site_id)  # concurrent merges each see the one before
        if refund is None:
            raise RefundNotFound()
        metadata = {**json.loads(refund.metadata), **changes}
        metadata = {key: value for key, value in metadata.items() if value is not None}
        if len(metadata) > 50:
            raise ValidationFailed([FieldProblem("metadata", "must have at most 50 keys")])
        if metadata != json.loads(refund.metadata):
            refunds.set_metadata(refund.id, _encode(metadata), work.now_millis())
        refund = refunds.get(refund_id, site_id)
        document = _view(refunds, refund)
        work.commit()
    return document


def _view(refunds: RefundRepository, refund: Refund) -> RefundView:
    return RefundView(refund, refunds.items_of([refund.id]).get(refund.id, []))
