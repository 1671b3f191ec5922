"""Webhooks and their delivery attempts as the rest of the program sees them."""

from __future__ import annotations

from dataclasses import dataclass

NEW_ORDER = "ecomm_new_order"
ORDER_CHANGED = "ecomm_order_changed"
REFUND_CHANGED = "ecomm_refund_changed"  # ours: a refund created or changing state
TRIGGERS = (NEW_ORDER, ORDER_CHANGED, REFUND_CHANGED)


@dataclass(frozen=True, slots=True)
class WebhookRow:
    id: str
    site_id: str
    trigger_type: str
    url: str
    secret_key: str
    created_on: int
    last_triggered_on: int | None
    deactivated_on: int | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One delivery attempt, with the event it carried."""

    id: int
    delivery_id: int
    attempt: int
    status_code: int | None
    duration_ms: int
    error: str | None
    at: int
    event_id: str
    trigger_type: str
