"""Money as integer minor units and a currency; conversion to text lives at the edge."""

from __future__ import annotations

from dataclasses import dataclass

# The largest amount, in minor units, an order or a refund may hold: fifteen digits (ten trillion dollars),
# so that the sums of an order's items and refunds stay far inside the database's 64-bit integers.
MAX_AMOUNT = 10**15 - 1


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError(f"money amounts are whole minor units, got {self.amount!r}")

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, count: int) -> Money:
        return Money(self.amount * count, self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)


def total(amounts: list[Money], currency: str) -> Money:
    """Sum of amounts, all in `currency`; an empty list sums to zero."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def percent_of(amount: int, basis_points: int) -> int:
    """`amount` times `basis_points`/10000, rounded half up, in whole minor units."""
    return (amount * basis_points * 2 + 10000) // 20000


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` in proportion to `weights` in whole units that add up exactly.

    Largest remainder method: each part gets its floor, then the units left over go to the parts
    with the largest remainders (earliest first on ties), so the result is deterministic.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights must have a positive sum")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    parts = [amount * weight // weight_sum for weight in weights]
    remainders = [amount * weight % weight_sum for weight in weights]
    left = amount - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: -remainders[i])[:left]:
        parts[index] += 1
    return parts
