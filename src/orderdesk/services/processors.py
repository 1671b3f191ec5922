"""A site's payment processor: which one refunds its orders, and the events it sends us (BEHAVIOUR.md section 8)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import structlog

from orderdesk.domain import clock
from orderdesk.errors import AppError, FieldProblem, SiteNotFound, ValidationFailed
from orderdesk.services import disputes, refunding
from orderdesk.domain.addresses import is_web_url
from orderdesk.services.ports import RefundOutcome
from orderdesk.store.repositories.processors import SiteProcessor
from orderdesk.domain.refunds import Refund
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.database import Database

STRIPE = "stripe"
_SECRET_KEY = re.compile(r"(sk|rk)_\S+\Z")  # a secret or restricted key; never a publishable pk_
_WEBHOOK_SECRET = re.compile(r"whsec_\S+\Z")

log = structlog.get_logger("orderdesk.processors")


# --- configuration -------------------------------------------------------------------------------

def set_stripe_processor(db: Database, site_id: str, secret_key: str, api_base: str | None = None,
                         webhook_secret: str | None = None) -> SiteProcessor:
    """The site's refunds go to Stripe with `secret_key` from now on; its events are checked with `webhook_secret`."""
    problems = []
    if not _SECRET_KEY.match(secret_key):
        problems.append(FieldProblem("secretKey", "must be a Stripe secret key (sk_...) or restricted key (rk_...)"))
    if api_base is not None and not is_web_url(api_base):
        problems.append(FieldProblem("apiBase", "must be an absolute http(s) URL"))
    if webhook_secret is not None and not _WEBHOOK_SECRET.match(webhook_secret):
        problems.append(FieldProblem("webhookSecret", "must be a Stripe webhook signing secret (whsec_...)"))
    if problems:
        raise ValidationFailed(problems)
    config = SiteProcessor(site_id, STRIPE, secret_key, api_base, webhook_secret, clock.to_millis(db.clock.now()))
    with db.unit_of_work() as work:
        _check_site(work, site_id)
        work.processors.put(config)
        work.commit()
    return config


def use_simulated_processor(db: Database, site_id: str) -> bool:
    """Back to the simulated processor; False when the site used it already."""
    with db.unit_of_work() as work:
        _check_site(work, site_id)
        removed = work.processors.remove(site_id)
        work.commit()
    return removed


def _check_site(work: UnitOfWork, site_id: str) -> None:
    if work.sites.get(site_id) is None:
        raise ValidationFailed.of("site", f"no site {site_id}")


def stripe_webhook_secret(db: Database, site_id: str) -> str:
    """The secret the site's Stripe events are signed with; a site without one has no such endpoint."""
    with db.reader() as read:
        config = read.processors.get(site_id)
    if config is None or config.kind != STRIPE or not config.webhook_secret:
        raise SiteNotFound()
    return config.webhook_secret


# --- events --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """Something happened to a payment; the order is the one paid by any of `payment_references`."""

    payment_references: tuple[str, ...]
    change: disputes.OrderEvent


@dataclass(frozen=True, slots=True)
class RefundEvent:
    refund_id: str | None  # ours, when the processor kept it with the refund
    outcome: RefundOutcome  # its processor_reference is the processor's id for the refund


@dataclass(frozen=True, slots=True)
class ProcessorEvent:
    id: str  # the processor's, unique per event and the same on every delivery
    type: str
    processor: str
    subject: PaymentEvent | RefundEvent | None  # None: an event we do not act on


class Receipt(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"  # about nothing we know, or a change the order refuses: asking again changes nothing
    REPLAYED = "replayed"


def receive_event(db: Database, site_id: str, event: ProcessorEvent) -> Receipt:
    """Apply a processor's event to the site once, however often it is delivered."""
    # Per site: two sites on one Stripe account each receive the same event id.
    key = f"{site_id}/{event.id}"
    if isinstance(event.subject, RefundEvent):
        return _receive_refund_event(db, site_id, key, event, event.subject)
    try:
        with db.unit_of_work() as work:
            # Noted in the same transaction as the change: applied exactly once, even across a crash.
            if not work.processor_events.add(key, site_id, event.type, work.now_millis()):
                return Receipt.REPLAYED
            changed = event.subject is not None and _apply_payment_event(work, site_id, event.subject)
            work.commit(disputes.action_of(event.subject.change) if event.subject is not None else None)
    except AppError as refusal:
        log.warning("processor event refused", site_id=site_id, event_id=event.id, type=event.type,
                    reason=refusal.message)
        return Receipt.IGNORED if _note(db, key, site_id, event.type) else Receipt.REPLAYED
    return Receipt.APPLIED if changed else Receipt.IGNORED


def _apply_payment_event(work, site_id: str, event: PaymentEvent) -> bool:
    order_id = work.orders.repository.by_payment_reference(site_id, list(event.payment_references))
    if order_id is None:
        return False  # a payment that is not one of this site's orders
    return disputes.apply_order_event(work, site_id, order_id, event.change)[1]


def _receive_refund_event(db: Database, site_id: str, key: str, event: ProcessorEvent, subject: RefundEvent) -> Receipt:
    # Noted before it is applied: settling cannot share the transaction, and a refund whose event
    # is lost in between is settled by the reconciler, which asks the processor itself.
    if not _note(db, key, site_id, event.type):
        return Receipt.REPLAYED
    with db.reader() as read:
        refund = _refund_of(read.refunds, site_id, subject)
    if refund is None or refund.processor != event.processor:
        return Receipt.IGNORED
    changed = refunding.record_outcome(db, refund.id, subject.outcome)
    return Receipt.APPLIED if changed else Receipt.IGNORED


def _refund_of(refunds: RefundRepository, site_id: str, subject: RefundEvent) -> Refund | None:
    found = refunds.get(subject.refund_id, site_id) if subject.refund_id else None
    if found is None and subject.outcome.processor_reference:
        found = refunds.by_processor_reference(site_id, subject.outcome.processor_reference)
    return found


def _note(db: Database, key: str, site_id: str, event_type: str) -> bool:
    with db.unit_of_work() as work:
        added = work.processor_events.add(key, site_id, event_type, work.now_millis())
        work.commit()
    return added
