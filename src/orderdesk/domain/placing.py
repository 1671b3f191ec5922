"""Placing an order: its sums and fees, in minor units. Placing (wire/placing.py) and seeding use these."""

from __future__ import annotations

from collections.abc import Iterable

from orderdesk.domain.money import percent_of
from orderdesk.domain.orders import OrderStatus

# Stripe's standard card pricing, which the reference spec's example orders follow:
# netAmount = customerPaid - applicationFee - (2.9% + 30 minor units).
PROCESSING_FEE_BPS, PROCESSING_FEE_FIXED = 290, 30


def subtotal(row_totals: Iterable[int]) -> int:
    """What the items come to (each row's total is its price times its count)."""
    return sum(row_totals)


def order_total(subtotal_amount: int, extras: Iterable[int]) -> int:
    """The subtotal with the extras (discounts negative; shipping, tax) added."""
    return subtotal_amount + sum(extras)


def application_fee(total: int, basis_points: int) -> int:
    """The site's fee on an order, `basis_points` of its total."""
    return percent_of(total, basis_points)


def processing_fee(total: int) -> int:
    """The processor's fee on a payment of `total`; nothing is charged on an order that costs nothing."""
    return percent_of(total, PROCESSING_FEE_BPS) + PROCESSING_FEE_FIXED if total else 0


def net_amount(total: int, fee: int) -> int:
    """What the site is paid: the total less the application fee and the processing fee, never below 0."""
    return max(total - fee - processing_fee(total), 0)


def placed_amounts(status: OrderStatus | str, total: int) -> tuple[int, int]:
    """What is captured for an order placed in `status`, and what of it is held by refunds.

    A pending order's payment is authorised only; an order placed refunded holds its whole capture.
    """
    captured = 0 if status == OrderStatus.PENDING else total
    return captured, captured if status == OrderStatus.REFUNDED else 0
