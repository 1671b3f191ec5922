"""Money on the wire: `{"unit": "USD", "value": "11873", "string": "$ 118.73 USD"}`."""

from __future__ import annotations

from functools import lru_cache

import msgspec
from babel.numbers import get_currency_symbol

from orderdesk.domain.currencies import currency_digits


class MoneyDoc(msgspec.Struct, omit_defaults=True):
    unit: str
    value: str
    string: str | msgspec.UnsetType = msgspec.UNSET




@lru_cache(maxsize=512)
def _symbol(currency: str) -> str:
    return get_currency_symbol(currency, locale="en_US")




def display(amount: int, currency: str) -> str:
    """`$ 1,234.50 USD`, `¥ 1,200 JPY`, `CHF 12.00 CHF`; negative amounts lead with a minus."""
    digits = currency_digits(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    number = f"{major:,}" if digits == 0 else f"{major:,}.{minor:0{digits}d}"
    return f"{sign}{_symbol(currency)} {number} {currency}"


def major_units(amount: int, currency: str) -> str:
    """`27.01` for 2701 USD: a decimal string in major units, exact."""
    digits = currency_digits(currency)
    if digits == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    return f"{sign}{major}.{minor:0{digits}d}"
