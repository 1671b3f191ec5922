"""Refund amounts: what of an order may still be refunded, and how one refund splits over it.

An order's captured amount is split into four pools: products (after discounts), shipping (after
shipping discounts), and the tax on each. A refund takes whole minor units from the pools; items
take from products and product tax. Splits use the largest remainder method, so they add up exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from orderdesk.domain.money import allocate, percent_of


class RefundState(StrEnum):
    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


UNSETTLED = frozenset({RefundState.PENDING, RefundState.PENDING_INFORMATION})
HOLDING = UNSETTLED | {RefundState.SUCCEEDED}  # states whose amount is reserved
FINAL_FAILURES = frozenset({RefundState.FAILED, RefundState.EXPIRED})


class RefundSettled(Exception):
    """The refund reached its end already; nothing moves it again."""


def next_state(current: str, outcome: str) -> RefundState | None:
    """The state a processor's answer moves a refund to, or None when it stays as it is.

    Pending and pending_information move to any state; succeeded, failed and expired are final.
    """
    if current not in UNSETTLED:
        raise RefundSettled(current)
    return None if outcome == current else RefundState(outcome)


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund asked of a processor, as recorded (times in Unix ms)."""

    id: str
    site_id: str
    order_id: str
    amount: int
    currency: str
    state: str
    reason: str | None
    processor_reference: str | None
    failure_reason: str | None
    created_on: int
    updated_on: int
    refund_type: str = "product"
    refunded_amount: int = 0
    breakdown: str = "{}"  # JSON: how the amount splits over products, shipping, tax and items
    metadata: str = "{}"
    processor: str = "simulated"
    request_key: str | None = None
    expires_on: int | None = None

    @property
    def holds_money(self) -> bool:
        return self.state in HOLDING


class RefundType(StrEnum):
    PRODUCT = "product"
    SHIPPING = "shipping"
    TAX = "tax"


class RefundExceedsAvailable(Exception):
    """The refund asks for more than the order has left to refund."""


class RefundTooSmall(Exception):
    """The refund comes to nothing in whole minor units (a tiny percent of a small amount)."""


class NothingOfType(Exception):
    """The order has nothing of the refund's type (no shipping, no tax)."""

    def __init__(self, kind: RefundType) -> None:
        self.kind = kind
        super().__init__(f"The order has no {kind} to refund.")


class PartialTaxRefund(Exception):
    """A tax refund must take the whole remaining tax."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        super().__init__(f"A tax refund must be the whole remaining tax ({remaining}).")


@dataclass(frozen=True, slots=True)
class NewRefund:
    """A request for a refund of part of an order (the Refunds resource's create)."""

    order_id: str
    currency: str
    ask: RefundAsk
    reason: str | None
    metadata: dict[str, str]


class InvalidItem(Exception):
    """An item of the refund names no purchased item, or asks for more than was bought."""

    def __init__(self, index: int, field_name: str, message: str) -> None:
        self.field = f"items[{index}].{field_name}"
        self.message = message
        super().__init__(f"{self.field}: {message}")


@dataclass(frozen=True, slots=True)
class Pools:
    products: int = 0
    shipping: int = 0
    product_tax: int = 0
    shipping_tax: int = 0

    @property
    def total(self) -> int:
        return self.products + self.shipping + self.product_tax + self.shipping_tax

    def parts(self) -> list[int]:
        return [self.products, self.shipping, self.product_tax, self.shipping_tax]

    def __add__(self, other: Pools) -> Pools:
        return Pools(*(a + b for a, b in zip(self.parts(), other.parts(), strict=True)))

    def __sub__(self, other: Pools) -> Pools:
        return Pools(*(a - b for a, b in zip(self.parts(), other.parts(), strict=True)))

    def covers(self, other: Pools) -> bool:
        return all(a >= b for a, b in zip(self.parts(), other.parts(), strict=True))

    def to_json(self) -> str:
        """As a refund row keeps its breakdown."""
        return json.dumps({"products": self.products, "shipping": self.shipping, "productTax": self.product_tax,
                           "shippingTax": self.shipping_tax}, separators=(",", ":"))


def pools_of(breakdown: str) -> Pools:
    """A refund row's breakdown (`Pools.to_json`) read back."""
    values = json.loads(breakdown)
    return Pools(values.get("products", 0), values.get("shipping", 0), values.get("productTax", 0),
                 values.get("shippingTax", 0))


@dataclass(frozen=True, slots=True)
class Line:
    """A purchased item: its share of the products pool and of the product tax."""

    sku_id: str
    count: int
    product: int
    tax: int

    @property
    def value(self) -> int:
        return self.product + self.tax


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    captured: int
    pools: Pools
    lines: tuple[Line, ...]

    def line(self, sku_id: str) -> Line | None:
        return next((line for line in self.lines if line.sku_id == sku_id), None)


@dataclass(frozen=True, slots=True)
class ItemPart:
    quantity: int
    amount: int  # product and tax together


@dataclass(frozen=True, slots=True)
class Split:
    """How one refund's amount splits over the pools (and over items, for an item refund)."""

    pools: Pools
    items: dict[str, ItemPart] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.pools.total


@dataclass(frozen=True, slots=True)
class Taken:
    """What the order's live refunds (pending or succeeded) already hold."""

    pools: Pools = Pools()
    items: dict[str, int] = field(default_factory=dict)  # sku -> amount

    def plus(self, split: Split) -> Taken:
        items = dict(self.items)
        for sku, part in split.items.items():
            items[sku] = items.get(sku, 0) + part.amount
        return Taken(self.pools + split.pools, items)


@dataclass(frozen=True, slots=True)
class ItemAsk:
    sku_id: str
    quantity: int | None = None
    amount: int | None = None
    basis_points: int | None = None  # percent x 100


@dataclass(frozen=True, slots=True)
class RefundAsk:
    """Exactly one of amount (minor units), basis_points (percent x 100) or items."""

    kind: RefundType = RefundType.PRODUCT
    amount: int | None = None
    basis_points: int | None = None
    items: tuple[ItemAsk, ...] = ()


def order_amounts(captured: int, lines: list[tuple[str, int, int]], discount: int, shipping: int,
                  shipping_discount: int, tax: int) -> OrderAmounts:
    """The pools of an order. `lines` are (sku, count, row total); discounts are negative amounts."""
    products = max(sum(total for _, _, total in lines) + discount, 0)
    shipping = max(shipping + shipping_discount, 0)
    product_tax, shipping_tax = _split(tax, [products, shipping]) if products + shipping else (tax, 0)
    pools = Pools(products, shipping, product_tax, shipping_tax)
    if pools.total != captured:
        # Imported or odd orders whose parts do not add up to what was captured: refunds follow
        # the money, so the pools are scaled to the capture.
        pools = Pools(*_split(captured, pools.parts())) if pools.total > 0 else Pools(products=captured)
    line_products = _split(pools.products, [total for _, _, total in lines])
    line_tax = _split(pools.product_tax, line_products)
    return OrderAmounts(captured, pools, tuple(
        Line(sku, count, product, tax_part)
        for (sku, count, _), product, tax_part in zip(lines, line_products, line_tax, strict=True)
    ))


def _split(amount: int, weights: list[int]) -> list[int]:
    """`allocate`, with everything to the first part when no weight is positive."""
    if sum(weights) > 0:
        return allocate(amount, weights)
    return [amount] + [0] * (len(weights) - 1) if weights else []


def plan_refund(order: OrderAmounts, taken: Taken, ask: RefundAsk) -> Split:
    """How `ask` splits over what the order has left; raises when it cannot be refunded."""
    left = order.pools - taken.pools
    if ask.items:
        return _plan_items(order, taken, left, ask.items)
    if ask.kind == RefundType.SHIPPING:
        base = order.pools.shipping + order.pools.shipping_tax
        if base == 0:
            raise NothingOfType(RefundType.SHIPPING)
        wanted = _wanted(ask, base)
        parts = _take(wanted, [left.shipping, left.shipping_tax])
        return Split(Pools(shipping=parts[0], shipping_tax=parts[1]))
    if ask.kind == RefundType.TAX:
        if order.pools.product_tax + order.pools.shipping_tax == 0:
            raise NothingOfType(RefundType.TAX)
        remaining = left.product_tax + left.shipping_tax
        wanted = _wanted(ask, order.pools.product_tax + order.pools.shipping_tax)
        if wanted <= 0:
            raise RefundTooSmall()
        if wanted > remaining:
            raise RefundExceedsAvailable()
        if wanted < remaining:
            raise PartialTaxRefund(remaining)
        return Split(Pools(product_tax=left.product_tax, shipping_tax=left.shipping_tax))
    return Split(Pools(*_take(_wanted(ask, order.captured), left.parts())))


def remainder(order: OrderAmounts, taken: Taken) -> Split:
    """Everything the order has left: the Webflow refund endpoint's refund."""
    return Split(order.pools - taken.pools)


def _wanted(ask: RefundAsk, base: int) -> int:
    return ask.amount if ask.amount is not None else percent_of(base, ask.basis_points or 0)


def _take(wanted: int, left: list[int]) -> list[int]:
    """`wanted` split over `left` in proportion; each part fits because wanted <= sum(left)."""
    if wanted <= 0:
        raise RefundTooSmall()
    if wanted > sum(left):
        raise RefundExceedsAvailable()
    return allocate(wanted, left)


def _plan_items(order: OrderAmounts, taken: Taken, left: Pools, asks: tuple[ItemAsk, ...]) -> Split:
    items: dict[str, ItemPart] = {}
    products = tax = 0
    for index, ask in enumerate(asks):
        line = order.line(ask.sku_id)
        if line is None:
            raise InvalidItem(index, "skuId", "is not an item of this order")
        if ask.sku_id in items:
            raise InvalidItem(index, "skuId", "is named twice")
        quantity = line.count if ask.quantity is None else ask.quantity
        if not 1 <= quantity <= line.count:
            raise InvalidItem(index, "quantity", f"must be between 1 and the ordered count ({line.count})")
        if ask.amount is not None:
            amount = ask.amount
        elif ask.basis_points is not None:
            amount = percent_of(line.value, ask.basis_points)
        else:
            amount = (2 * line.value * quantity + line.count) // (2 * line.count)
        if amount <= 0:
            raise RefundTooSmall()
        if amount > line.value - taken.items.get(ask.sku_id, 0):
            raise RefundExceedsAvailable()
        product, tax_part = _split(amount, [line.product, line.tax])
        products, tax = products + product, tax + tax_part
        items[ask.sku_id] = ItemPart(quantity, amount)
    pools = Pools(products=products, product_tax=tax)
    if not left.covers(pools):
        raise RefundExceedsAvailable()
    return Split(pools, items)
