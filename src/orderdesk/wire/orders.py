"""The Order document exactly as the reference spec shapes it.

Orders are stored as these documents, pre-encoded, and rewritten on every change, so reads never
re-serialize. Fields a client may omit when placing an order (computed ones) default to UNSET and
are filled in before the document is stored; every field is present in every stored document.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType, field

from orderdesk.wire.money import MoneyDoc

OrderStatusText = Literal["pending", "unfulfilled", "fulfilled", "disputed", "dispute-lost", "refunded"]
DisputeStatusText = Literal[
    "warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
    "under_review", "charge_refunded", "won", "lost",
]
CardBrand = Literal["Visa", "American Express", "MasterCard", "Discover", "JCB", "Diners Club", "Unknown"]
ExtraType = Literal["discount", "discount-shipping", "shipping", "tax"]


class Base(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    pass


class Address(Base):
    type: Literal["shipping", "billing"] = "shipping"
    japan_type: Literal["kana", "kanji"] | None = None
    addressee: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    postal_code: str = ""


class CustomerInfo(Base):
    full_name: str = ""
    email: str = ""


# A dimension or weight: finite (msgspec would read 1e999999 as infinity, which JSON writes as null).
Measure = Annotated[float, Meta(ge=-1e15, le=1e15)]


class PurchasedItem(Base):
    count: int
    variant_price: MoneyDoc
    row_total: MoneyDoc | UnsetType = UNSET
    product_id: str = ""
    product_name: str = ""
    product_slug: str = ""
    variant_id: str = ""
    variant_name: str = ""
    variant_slug: str = ""
    variant_sku: str = field(default="", name="variantSKU")
    variant_image: dict[str, Any] = field(default_factory=dict)
    weight: Measure | None = None
    width: Measure | None = None
    height: Measure | None = None
    length: Measure | None = None


# What the orders table keeps of a payment's id, to find the order by a processor's events.
PaymentId = Annotated[str, Meta(max_length=64)]


class StripeDetails(Base):
    subscription_id: str | None = None
    payment_method: str | None = None
    payment_intent_id: PaymentId | None = None
    customer_id: str | None = None
    charge_id: PaymentId | None = None
    dispute_id: str | None = None
    refund_id: str | None = None
    refund_reason: str | None = None


class CardExpiry(Base):
    year: Annotated[int, Meta(ge=1, le=9999)]
    month: Annotated[int, Meta(ge=1, le=12)]


class StripeCard(Base, omit_defaults=True):
    last4: str | UnsetType = UNSET
    brand: CardBrand | UnsetType = UNSET
    owner_name: str | UnsetType = UNSET
    expires: CardExpiry | UnsetType = UNSET


class PaypalDetails(Base, omit_defaults=True):
    order_id: str | UnsetType = UNSET
    payer_id: str | UnsetType = UNSET
    capture_id: str | UnsetType = UNSET
    refund_id: str | UnsetType = UNSET
    refund_reason: str | UnsetType = UNSET
    dispute_id: str | UnsetType = UNSET


class Metadata(Base):
    is_buy_now: bool = False


class Extra(Base):
    type: ExtraType
    name: str
    price: MoneyDoc
    description: str = ""


class Totals(Base):
    extras: list[Extra] = field(default_factory=list)
    subtotal: MoneyDoc | UnsetType = UNSET
    total: MoneyDoc | UnsetType = UNSET


class DownloadFile(Base):
    id: str
    name: str
    url: str


class OrderDoc(Base):
    order_id: str | UnsetType = UNSET
    status: OrderStatusText = "unfulfilled"
    comment: str = ""
    order_comment: str = ""
    accepted_on: str | None = None
    fulfilled_on: str | None = None
    refunded_on: str | None = None
    disputed_on: str | None = None
    dispute_updated_on: str | None = None
    dispute_last_status: DisputeStatusText | None = None
    customer_paid: MoneyDoc | UnsetType = UNSET
    net_amount: MoneyDoc | UnsetType = UNSET
    application_fee: MoneyDoc | UnsetType = UNSET
    all_addresses: list[Address] | UnsetType = UNSET
    shipping_address: Address = field(default_factory=lambda: Address(type="shipping"))
    billing_address: Address = field(default_factory=lambda: Address(type="billing"))
    shipping_provider: str | None = None
    shipping_tracking: str | None = None
    shipping_tracking_url: str | None = field(default=None, name="shippingTrackingURL")
    customer_info: CustomerInfo = field(default_factory=CustomerInfo)
    purchased_items: list[PurchasedItem] = field(default_factory=list)
    purchased_items_count: int | UnsetType = UNSET
    stripe_details: StripeDetails = field(default_factory=StripeDetails)
    stripe_card: StripeCard = field(default_factory=StripeCard)
    paypal_details: PaypalDetails = field(default_factory=PaypalDetails)
    custom_data: list[dict[str, Any]] = field(default_factory=list)
    metadata: Metadata = field(default_factory=Metadata)
    is_customer_deleted: bool = False
    is_shipping_required: bool = False
    has_downloads: bool = False
    payment_processor: str = "stripe"
    totals: Totals = field(default_factory=Totals)
    download_files: list[DownloadFile] = field(default_factory=list)


# decimal_format: a client's free-form numbers (customData, variantImage) are decoded exactly, as Decimal,
# and must be written back as the numbers they were, not as strings.
_encoder = msgspec.json.Encoder(decimal_format="number")
# float_hook: a stored document is read back as it was written; a free-form 1E+400 or 0.1000000000000000001
# would not survive a float (out of range, or rounded on the next write).
_decoder = msgspec.json.Decoder(OrderDoc, float_hook=Decimal)


def encode(order: OrderDoc) -> bytes:
    return _encoder.encode(order)


def decode(document: bytes) -> OrderDoc:
    return _decoder.decode(document)
