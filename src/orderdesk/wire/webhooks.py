"""Webhooks and their delivery attempts, in the spec's shapes (attempts are our extension)."""

from __future__ import annotations

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.webhooks import AttemptRow, WebhookRow
from orderdesk.wire.sites import derived_id


class WebhookDoc(msgspec.Struct, rename="camel"):
    id: str
    trigger_type: str
    url: str
    workspace_id: str
    site_id: str
    filter: dict
    last_triggered: str
    created_on: str
    active: bool  # ours: false once its deliveries kept failing
    secret_key: str | msgspec.UnsetType = msgspec.UNSET  # only in the answer that creates it


class Pagination(msgspec.Struct):
    limit: int
    offset: int
    total: int


class WebhookListDoc(msgspec.Struct):
    webhooks: list[WebhookDoc]
    pagination: Pagination


class AttemptDoc(msgspec.Struct, rename="camel"):
    id: str
    delivery_id: str
    event_id: str
    trigger_type: str
    attempt: int
    status_code: int | None
    duration_ms: int
    error: str | None
    created_on: str


class AttemptListDoc(msgspec.Struct):
    deliveries: list[AttemptDoc]


def webhook_doc(webhook: WebhookRow, with_secret: bool = False) -> WebhookDoc:
    # The spec does not let lastTriggered be null: a webhook never triggered shows its creation.
    return WebhookDoc(
        id=webhook.id, trigger_type=webhook.trigger_type, url=webhook.url,
        workspace_id=derived_id("workspace", webhook.site_id), site_id=webhook.site_id, filter={},
        last_triggered=clock.millis_to_wire(webhook.last_triggered_on or webhook.created_on),
        created_on=clock.millis_to_wire(webhook.created_on),
        active=webhook.deactivated_on is None, secret_key=webhook.secret_key if with_secret else msgspec.UNSET,
    )


def attempt_doc(attempt: AttemptRow) -> AttemptDoc:
    return AttemptDoc(
        id=str(attempt.id), delivery_id=str(attempt.delivery_id), event_id=attempt.event_id,
        trigger_type=attempt.trigger_type, attempt=attempt.attempt, status_code=attempt.status_code,
        duration_ms=attempt.duration_ms, error=attempt.error, created_on=clock.millis_to_wire(attempt.at),
    )
