from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain.money import CurrencyMismatch, Money, allocate, percent_of, total

amounts = st.integers(min_value=-10**12, max_value=10**12)


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_arithmetic_refuses_mixed_currencies():
    with pytest.raises(CurrencyMismatch):
        Money(100, "USD") + Money(100, "EUR")


@given(st.lists(amounts, max_size=20))
def test_total_is_the_sum_of_the_amounts(values):
    assert total([Money(v, "USD") for v in values], "USD") == Money(sum(values), "USD")


@given(st.integers(min_value=0, max_value=10**12), st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12))
def test_allocate_adds_up_exactly_and_stays_within_one_unit_of_the_exact_share(amount, weights):
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(amount) * weight / sum(weights)
        assert abs(Decimal(part) - exact) < 1


def test_allocate_gives_leftover_units_to_the_largest_remainders_first():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [5, 3, 2]) == [5, 3, 2]
    assert allocate(7, [0, 1]) == [0, 7]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_percent_of_rounds_half_up(amount, basis_points):
    exact = Decimal(amount) * basis_points / 10_000
    assert percent_of(amount, basis_points) == int(exact + Decimal("0.5"))
