"""The body of every write, as a typed struct: the decoder (`orderdesk.api.bodies`) checks each field's
type, range and enum against these before any service code runs.

`messages` gives a top-level field's problem in our words (under `"*"`: an unknown field's); anything
deeper is named by its path in msgspec's words. Placing an order takes `OrderDoc` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType, field

from orderdesk.domain.addresses import is_web_url

# Stripe's limits for metadata, which refunds carry to it.
MAX_REASON = 64
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 50, 40, 500
MAX_ITEMS = 100
MAX_ID = 255  # ids a client names (orders, skus): what the database's id columns hold


# A JSON number: typed Any on purpose, since msgspec would also take the string "5.00" as a Decimal; the
# refund rules (`wire.refunds`) refuse anything but an int or the exact Decimal the decoder reads.
Number = Any
Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID)]
STRING_OR_NULL = "must be a string or null"
REFUND_REASONS = "must be one of duplicate, fraudulent, requested"


def web_url(url: str | None) -> str | None:
    return None if url is None or is_web_url(url) else "must be an absolute http(s) URL"


class Body(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    messages: ClassVar[dict[str, str]] = {}


class NoFields(Body):
    """unfulfill, redeliver, reactivate: an empty object, or no body at all."""


class UpdateOrder(Body):
    # UNSET: absent, unchanged; None: cleared.
    comment: str | None | UnsetType = UNSET
    shipping_provider: str | None | UnsetType = UNSET
    shipping_tracking: str | None | UnsetType = UNSET
    shipping_tracking_url: str | None | UnsetType = field(default=UNSET, name="shippingTrackingURL")
    messages: ClassVar[dict[str, str]] = {
        "*": "is not a field that can be updated",
        **dict.fromkeys(("comment", "shippingProvider", "shippingTracking", "shippingTrackingURL"), STRING_OR_NULL),
    }
    checks: ClassVar[dict[str, Callable[[Any], str | None]]] = {"shippingTrackingURL": web_url}

    def changes(self) -> dict[str, str | None]:
        """The fields given: absent = unchanged, null = cleared, a string = set (named as the domain's)."""
        return {name: value for name, value in msgspec.structs.asdict(self).items() if value is not UNSET}


class FulfillOrder(Body):
    send_order_fulfilled_email: bool = False
    messages: ClassVar[dict[str, str]] = {"sendOrderFulfilledEmail": "must be a boolean"}


class RefundOrder(Body):
    reason: Literal["duplicate", "fraudulent", "requested"] | None = None
    messages: ClassVar[dict[str, str]] = {"reason": REFUND_REASONS}


class RefundItem(Body):
    sku_id: Id | UnsetType = UNSET
    item_id: Id | UnsetType = UNSET  # a synonym of skuId
    quantity: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    amount: Number | None = None
    percent: Number | None = None


class NewRefund(Body):
    order_id: Id
    currency: Annotated[str, Meta(min_length=3, max_length=3)]
    amount: Number | None = None
    percent: Number | None = None
    items: Annotated[list[RefundItem], Meta(min_length=1, max_length=MAX_ITEMS)] | None = None
    type: Literal["product", "shipping", "tax"] = "product"
    reason: Annotated[str, Meta(max_length=MAX_REASON)] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    messages: ClassVar[dict[str, str]] = {
        "orderId": "is required (the order's orderId)",
        "currency": "is required: the order's ISO 4217 currency code",
        "amount": "must be a number in major units, e.g. 27.01",
        "percent": "must be a number from 0.01 to 100",
        "items": f"must be a list of 1 to {MAX_ITEMS} items",
        "type": "must be one of product, shipping, tax",
        "reason": f"must be a string of at most {MAX_REASON} characters",
        "metadata": "must be an object of strings",
    }


class UpdateRefund(Body):
    metadata: dict[str, str | None] = field(default_factory=dict)  # null deletes a key
    messages: ClassVar[dict[str, str]] = {"*": "only metadata can be updated",
                                          "metadata": "must be an object of strings or nulls"}


class NewWebhook(Body):
    trigger_type: Any = None  # the service names a missing, unknown or wrong-typed one, with the triggers it sends
    url: str | None = None
    filter: dict[str, Any] | None = None
    messages: ClassVar[dict[str, str]] = {"url": "must be an absolute http(s) URL", "filter": "must be an object"}


class NewSandboxSite(Body):
    """`POST /_orderdesk/sites`: a fresh site for a test."""

    name: Annotated[str, Meta(min_length=1, max_length=MAX_ID)]
    currency: str = "USD"  # checked by the service: an ISO 4217 code


class NewFault(Body):
    """`POST /_orderdesk/sites/{site_id}/faults` (domain/faults.py says what each field means)."""

    operation: str
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None
    probability: float = 1.0
    outcome: str | None = None  # a processor fault's
    chaos: str | None = None  # a webhook-delivery fault's


class SandboxDispute(Body):
    """`POST /_orderdesk/sites/{site_id}/orders/{order_id}/dispute`: open one, and close it with `outcome`."""

    outcome: Literal["won", "lost"] | None = None
    messages: ClassVar[dict[str, str]] = {"outcome": "must be won or lost"}


class SandboxCapture(Body):
    """`POST .../capture`: `amount` in minor units (as `orderdesk simulate capture`); default what was paid."""

    amount: Annotated[int, Meta(ge=0)] | None = None


class NewSnapshot(Body):
    """`POST /_orderdesk/sites/{site_id}/snapshots`."""

    name: str  # checked by the service: letters, digits, '.', '_', '-'


MAX_SEED_ORDERS = 10_000  # per call over HTTP (it runs in the server); `orderdesk seed` has no limit


class SandboxSeed(Body):
    """`POST /_orderdesk/sites/{site_id}/seed`: the same orders as `orderdesk seed --orders N --seed S`."""

    orders: Annotated[int, Meta(ge=1, le=MAX_SEED_ORDERS)]
    seed: int = 0
