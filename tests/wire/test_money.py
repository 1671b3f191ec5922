"""Money as the wire writes it: display strings and exact major-unit decimals."""

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.domain.currencies import DIGITS, currency_digits
from orderdesk.wire.money import MoneyDoc, display, major_units

amounts = st.integers(min_value=-10**12, max_value=10**12)


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (11873, "USD", "$ 118.73 USD"),
    (123450, "USD", "$ 1,234.50 USD"),
    (0, "USD", "$ 0.00 USD"),
    (5, "USD", "$ 0.05 USD"),
    (-11873, "USD", "-$ 118.73 USD"),
    (1200, "JPY", "¥ 1,200 JPY"),
    (-1200, "JPY", "-¥ 1,200 JPY"),
    (1200, "CHF", "CHF 12.00 CHF"),
    (1234567, "KWD", "KWD 1,234.567 KWD"),
    (-7, "KWD", "-KWD 0.007 KWD"),
    (-500, "EUR", "-€ 5.00 EUR"),
])
def test_display_strings_follow_webflow(amount, currency, text):
    assert display(amount, currency) == text


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (2701, "USD", "27.01"),
    (5, "USD", "0.05"),
    (-2701, "USD", "-27.01"),
    (-5, "USD", "-0.05"),
    (1200, "JPY", "1200"),
    (-1200, "JPY", "-1200"),
    (1234567, "KWD", "1234.567"),
    (-7, "KWD", "-0.007"),
    (0, "KWD", "0.000"),
])
def test_major_units_are_a_plain_decimal_string(amount, currency, text):
    assert major_units(amount, currency) == text


@given(amounts, st.sampled_from(sorted(DIGITS)))
def test_major_units_parse_back_to_exactly_the_amount(amount, currency):
    parsed = Decimal(major_units(amount, currency))

    assert parsed.scaleb(currency_digits(currency)) == amount
    assert parsed.as_tuple().exponent == -currency_digits(currency)


def test_a_money_document_leaves_out_a_display_string_it_does_not_have():
    assert msgspec.json.encode(MoneyDoc("USD", "2701")) == b'{"unit":"USD","value":"2701"}'
    assert msgspec.json.encode(MoneyDoc("USD", "2701", "$ 27.01 USD")) == (
        b'{"unit":"USD","value":"2701","string":"$ 27.01 USD"}')
