"""The Refunds resource on the wire (Digital River's shape): amounts are exact JSON numbers in major units."""

from __future__ import annotations

import re
from decimal import Context, Decimal

import msgspec
from msgspec import UNSET

from orderdesk.domain import clock
from orderdesk.domain.refunds import ItemAsk, NewRefund, Refund, RefundAsk, RefundType
from orderdesk.errors import FieldProblem, ValidationFailed
from orderdesk.wire import requests
from orderdesk.domain.currencies import currency_digits, is_known_currency
from orderdesk.wire.money import major_units
from orderdesk.wire.requests import MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_VALUE

_SAFE_ID = re.compile(r"[\x21-\x7e]{1,255}\Z")


class RefundItemDoc(msgspec.Struct, rename="camel"):
    sku_id: str
    quantity: int
    amount: msgspec.Raw


class RefundDoc(msgspec.Struct, rename="camel"):
    id: str
    created_time: str
    updated_time: str
    order_id: str
    currency: str
    type: str
    amount: msgspec.Raw
    refunded_amount: msgspec.Raw
    items: list[RefundItemDoc]
    reason: str | None
    failure_reason: str | None
    state: str
    expires_time: str | None
    metadata: dict[str, str]


class RefundListDoc(msgspec.Struct, rename="camel"):
    has_more: bool
    data: list[RefundDoc]


def number(amount: int, currency: str) -> msgspec.Raw:
    """2701 USD as the JSON number `27.01`, exact (never through a float)."""
    return msgspec.Raw(major_units(amount, currency).encode())


def timestamp(millis: int | None) -> str | None:
    return None if millis is None else clock.millis_to_wire(millis)


def parse_new_refund(body: requests.NewRefund) -> NewRefund:
    """The rules across fields of a create body (the decoder checked each field); one 400 names every problem."""
    problems = []
    currency: str | None = body.currency
    if not is_known_currency(body.currency):
        problems.append(FieldProblem("currency", "is required: the order's ISO 4217 currency code"))
        currency = None
    kind = RefundType(body.type)
    given = [key for key in ("amount", "percent", "items") if getattr(body, key) is not None]
    if len(given) != 1:
        problems.append(FieldProblem("amount", "give exactly one of amount, percent or items"))
    if "items" in given and kind != RefundType.PRODUCT:
        problems.append(FieldProblem("type", "items refunds are product refunds; leave type out"))
    amount = _amount(body.amount, currency, problems, "amount") if "amount" in given else None
    basis_points = _percent(body.percent, problems, "percent") if "percent" in given else None
    items = _items(body.items, currency, problems) if "items" in given else ()
    metadata = parse_metadata(body.metadata, problems)
    if problems:
        raise ValidationFailed(problems)
    return NewRefund(body.order_id, body.currency, RefundAsk(kind, amount, basis_points, items), body.reason,
                     metadata)


def _number(raw: object, field: str, problems: list[FieldProblem], not_number: str, absurd: str) -> Decimal | None:
    """A JSON number as an exact Decimal; None (and the problem named) for anything else or an absurd one."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        problems.append(FieldProblem(field, not_number))
        return None
    value = _bounded(raw)
    if value is None:
        problems.append(FieldProblem(field, absurd))
    return value


def _amount(raw: object, currency: str | None, problems: list[FieldProblem], field: str) -> int | None:
    value = _number(raw, field, problems, "must be a number in major units, e.g. 27.01", "is out of range")
    if value is None or currency is None:
        return None
    digits = currency_digits(currency)
    minor = value.scaleb(digits, _EXACT)
    if minor != minor.to_integral_value():
        problems.append(FieldProblem(field, f"must have at most {digits} decimal places in {currency}"))
        return None
    if minor <= 0:
        problems.append(FieldProblem(field, "must be more than zero"))
        return None
    return int(minor)


_PERCENT_RANGE = "must be a number from 0.01 to 100, with at most 2 decimals"
# Wide enough that no amount we accept is rounded on its way to minor units.
_EXACT = Context(prec=60)


def _bounded(raw: int | Decimal) -> Decimal | None:
    """The number as an exact Decimal, or None when it is absurd (1e999999, 40 decimals)."""
    value = Decimal(raw)
    if not value.is_finite() or value.adjusted() > 15 or value.as_tuple().exponent < -20:
        return None
    return value


def _percent(raw: object, problems: list[FieldProblem], field: str) -> int | None:
    value = _number(raw, field, problems, "must be a number from 0.01 to 100", _PERCENT_RANGE)
    if value is None:
        return None
    basis_points = value.scaleb(2, _EXACT)
    if basis_points != basis_points.to_integral_value() or not 1 <= basis_points <= 10000:
        problems.append(FieldProblem(field, _PERCENT_RANGE))
        return None
    return int(basis_points)


def _items(raw: list[requests.RefundItem], currency: str | None, problems: list[FieldProblem]) -> tuple[ItemAsk, ...]:
    asks = []
    for index, item in enumerate(raw):
        field = f"items[{index}]"
        sku = item.sku_id if item.sku_id is not UNSET else item.item_id
        if sku is UNSET:
            problems.append(FieldProblem(f"{field}.skuId", "is required: the purchased item's variantId"))
            continue
        if item.amount is not None and item.percent is not None:
            problems.append(FieldProblem(f"{field}.amount", "give amount or percent, not both"))
        amount = _amount(item.amount, currency, problems, f"{field}.amount") if item.amount is not None else None
        basis_points = _percent(item.percent, problems, f"{field}.percent") if item.percent is not None else None
        asks.append(ItemAsk(sku, item.quantity, amount, basis_points))
    return tuple(asks)


def parse_metadata(raw: dict[str, str | None], problems: list[FieldProblem]) -> dict[str, str | None]:
    """Metadata as Stripe limits it (the decoder checked the types; null deletes a key on update)."""
    if len(raw) > MAX_METADATA_KEYS:
        problems.append(FieldProblem("metadata", f"must have at most {MAX_METADATA_KEYS} keys"))
    for key, value in raw.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY:
            problems.append(FieldProblem(f"metadata.{key[:40]}", f"keys must be 1 to {MAX_METADATA_KEY} characters"))
        if value is not None and len(value) > MAX_METADATA_VALUE:
            problems.append(FieldProblem(f"metadata.{key[:40]}", f"must be a string of at most {MAX_METADATA_VALUE} characters"))
    return raw


def is_refund_id(text: str) -> bool:
    return bool(_SAFE_ID.match(text))


def refund_doc(refund: Refund, items: list[tuple[str, int, int]]) -> RefundDoc:
    """The refund as clients see it; `items` are (sku id, quantity, amount) of an item refund."""
    currency = refund.currency
    return RefundDoc(
        id=refund.id, created_time=timestamp(refund.created_on), updated_time=timestamp(refund.updated_on),
        order_id=refund.order_id, currency=currency, type=refund.refund_type,
        amount=number(refund.amount, currency), refunded_amount=number(refund.refunded_amount, currency),
        items=[RefundItemDoc(sku, quantity, number(amount, currency)) for sku, quantity, amount in items],
        reason=refund.reason, failure_reason=refund.failure_reason, state=refund.state,
        expires_time=timestamp(refund.expires_on), metadata=msgspec.json.decode(refund.metadata),
    )
