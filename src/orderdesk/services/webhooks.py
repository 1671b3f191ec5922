"""Webhooks: registering, reading, removing and reactivating them; their deliveries, seen and replayed."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from orderdesk.domain import clock, ids
from orderdesk.domain.webhooks import AttemptRow, WebhookRow
from orderdesk.domain.pages import MAX_PAGE
from orderdesk.errors import IncompatibleFilter, UnsupportedTrigger, ValidationFailed, WebhookNotFound
from orderdesk.store.outbox import TRIGGERS
from orderdesk.store.database import Database
from orderdesk.webhooks.addresses import TargetRefused, check_url

MAX_PER_TRIGGER = 75
DELIVERY_NOT_FOUND = "Requested resource not found: The delivery cannot be found"
_DELIVERY_ID = re.compile(r"[0-9]{1,18}")  # delivery ids are 64-bit; a longer one names nothing
# Trigger types Webflow has (the reference spec's enum) that orderdesk does not serve.
WEBFLOW_ONLY = frozenset({
    "form_submission", "site_publish", "page_created", "page_metadata_updated", "page_deleted",
    "ecomm_inventory_changed", "collection_item_created", "collection_item_changed", "collection_item_deleted",
    "collection_item_published", "collection_item_unpublished", "comment_created",
})


def check_trigger(trigger_type: object) -> str:
    if isinstance(trigger_type, str) and trigger_type in WEBFLOW_ONLY:
        raise UnsupportedTrigger(f"Bad Request: orderdesk does not send {trigger_type} webhooks; it sends "
                                 f"{', '.join(TRIGGERS)}")
    if not isinstance(trigger_type, str) or trigger_type not in TRIGGERS:
        raise ValidationFailed.of("triggerType", f"must be one of {', '.join(TRIGGERS)}")
    return trigger_type


def create_webhook(db: Database, site_id: str, trigger_type: object, url: object, filter_: object,
                   allow_private: bool) -> WebhookRow:
    """A new webhook with a fresh secret (shown once, in the answer)."""
    trigger = check_trigger(trigger_type)
    if not isinstance(url, str) or len(url) > 2048:
        raise ValidationFailed.of("url", "must be an absolute http(s) URL")
    try:
        # What the URL itself says; names are resolved and checked at every delivery, never here, where
        # a client's DNS server would set how long the request takes (webhooks/addresses.py).
        check_url(url, allow_private)
    except TargetRefused as refused:
        raise ValidationFailed.of("url", str(refused)) from None
    if filter_ not in (None, {}):
        raise IncompatibleFilter()
    webhook = WebhookRow(ids.object_id(), site_id, trigger, url, secrets.token_hex(32),
                         clock.to_millis(db.clock.now()), None, None)
    with db.unit_of_work() as work:
        repository = work.webhooks
        repository.lock_site(site_id)
        if repository.count(site_id, trigger) >= MAX_PER_TRIGGER:
            raise ValidationFailed.of("triggerType", f"a site has at most {MAX_PER_TRIGGER} webhooks for {trigger}")
        repository.add(webhook)
        work.commit()
    return webhook


@dataclass(frozen=True, slots=True)
class WebhookPage:
    webhooks: list[WebhookRow]
    limit: int
    offset: int
    total: int


def list_webhooks(db: Database, site_id: str, offset: int, limit: int) -> WebhookPage:
    """Oldest first; `limit` is capped at 100 as Webflow does."""
    limit = min(limit, MAX_PAGE)
    with db.reader() as read:
        found, total = read.webhooks.for_site(site_id, offset, limit)
    return WebhookPage(found, limit, offset, total)


def get_webhook(db: Database, site_id: str, webhook_id: str) -> WebhookRow:
    """The webhook, if it belongs to `site_id`; another site's webhook is as missing as none."""
    with db.reader() as read:
        webhook = read.webhooks.get(webhook_id)
    if webhook is None or webhook.site_id != site_id:
        raise WebhookNotFound()
    return webhook


def delete_webhook(db: Database, site_id: str, webhook_id: str) -> None:
    get_webhook(db, site_id, webhook_id)
    with db.unit_of_work() as work:
        work.webhooks.remove(webhook_id)
        work.commit()


def reactivate_webhook(db: Database, site_id: str, webhook_id: str) -> WebhookRow:
    """Deliveries start again, in order, from the oldest one still pending."""
    get_webhook(db, site_id, webhook_id)
    with db.unit_of_work() as work:
        work.webhooks.set_deactivated(webhook_id, None)
        work.commit()
    return get_webhook(db, site_id, webhook_id)


def delivery_attempts(db: Database, site_id: str, webhook_id: str, limit: int = 100) -> list[AttemptRow]:
    get_webhook(db, site_id, webhook_id)
    with db.reader() as read:
        return read.webhooks.attempts(webhook_id, limit)


def redeliver(db: Database, site_id: str, webhook_id: str, delivery_id: str) -> int:
    """Queue the delivery's event once more for the webhook (same body, same event id), to go now: a pending
    delivery ahead of it that waits for its next attempt is made due now too, so the webhook's events stay
    in order. Returns the new delivery's id."""
    get_webhook(db, site_id, webhook_id)
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise WebhookNotFound(DELIVERY_NOT_FOUND)
    with db.unit_of_work() as work:
        repository = work.webhooks
        found = repository.delivery(webhook_id, int(delivery_id))
        if found is None:
            raise WebhookNotFound(DELIVERY_NOT_FOUND)
        now = work.now_millis()
        (new_id,) = repository.add_deliveries(found[0], [webhook_id], now)
        repository.due_now(webhook_id, now)  # sent now, not behind a head that waits for its retry
        work.commit()
    return new_id
