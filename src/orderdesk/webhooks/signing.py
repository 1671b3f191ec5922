"""Webflow's webhook signature: https://developers.webflow.com/data/docs/working-with-webhooks

`x-webflow-timestamp` is Unix milliseconds; `x-webflow-signature` is the lowercase hex
HMAC-SHA256 of `timestamp + ":" + body` under the webhook's secret key. The signed bytes are the
sent bytes.
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret_key: str, timestamp_ms: int, body: bytes) -> str:
    message = str(timestamp_ms).encode() + b":" + body
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret_key: str, timestamp_ms: int, body: bytes, event_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-webflow-timestamp": str(timestamp_ms),
        "x-webflow-signature": signature(secret_key, timestamp_ms, body),
        "X-Orderdesk-Event-Id": event_id,  # the same on every retry, so receivers can deduplicate
        "User-Agent": "orderdesk-webhooks/1",
    }
