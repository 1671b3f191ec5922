"""Identifiers: 24-hex object ids and Webflow's `xxx-xxx` order ids."""

from __future__ import annotations

import secrets

SHORT_ORDER_ID_SPACE = 16**6
# Webflow: "Will usually be 6 hex characters, but can also be 9 hex characters if the site has a
# very large number of Orders." We switch once a site holds more than 1/16 of the short space.
LONG_ORDER_IDS_AFTER = SHORT_ORDER_ID_SPACE // 16


def object_id() -> str:
    return secrets.token_hex(12)


def order_id(order_count: int, randbits=secrets.randbits) -> str:
    """A random order id for a site that already holds `order_count` orders."""
    if order_count > LONG_ORDER_IDS_AFTER:
        digits = f"{randbits(36):09x}"
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    digits = f"{randbits(24):06x}"
    return f"{digits[:3]}-{digits[3:]}"
