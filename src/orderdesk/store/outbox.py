"""Side effects leave through the outbox (STYLE.md habit 9): each event is written in the same
transaction as the change it tells of, with one delivery per subscribed webhook, so a change that
commits is delivered at least once, even across a crash, and one that rolls back never is."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.engine import Connection

# The triggers' names are the domain's (re-exported for the store's callers).
from orderdesk.domain.webhooks import NEW_ORDER, ORDER_CHANGED, REFUND_CHANGED, TRIGGERS  # noqa: F401
from orderdesk.store.repositories.webhooks import WebhookRepository


def emit(connection: Connection, site_id: str, trigger_type: str, payload: bytes | Callable[[], bytes],
         at: int) -> None:
    """Queue `{"triggerType": ..., "payload": <payload>}` for the site's webhooks on `trigger_type`.

    `payload` may be a function that makes it: then it is made only when someone listens.
    """
    repository = WebhookRepository(connection)
    subscribers = repository.subscribers(site_id, trigger_type)
    if not subscribers:
        return  # nobody listens: nothing to deliver, and a write the hot path need not make
    if callable(payload):
        payload = payload()
    body = b'{"triggerType":"' + trigger_type.encode() + b'","payload":' + payload + b"}"
    repository.add_event(uuid.uuid4().hex, site_id, trigger_type, body, subscribers, at)
