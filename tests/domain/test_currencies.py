from babel.numbers import get_currency_precision, list_currencies

from orderdesk.domain.currencies import DIGITS, currency_digits, is_known_currency


def test_the_table_is_the_installed_babels_currencies_and_digits():
    babel = {code: get_currency_precision(code) for code in list_currencies() if len(code) == 3 and code.isupper()}
    assert DIGITS == babel


def test_known_currencies_and_their_digits():
    assert [currency_digits(code) for code in ("USD", "JPY", "KWD", "EUR")] == [2, 0, 3, 2]
    assert [is_known_currency(code) for code in ("USD", "usd", "XYZ", "US", "")] == [True, False, False, False, False]
