"""Test data: sites, tokens and orders, each test making its own."""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.domain.sites import Scope, Site
from orderdesk.services import access, placing
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.money import MoneyDoc
from orderdesk.wire.placing import Draft

ALL_SCOPES = [scope.value for scope in Scope]


@dataclass(frozen=True)
class Shop:
    site: Site
    token: str
    token_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_shop(db: Database, scopes: list[str] | None = None, currency: str = "USD", ecommerce: bool = True,
              rate_limit: int | None = 0, name: str = "Test Shop") -> Shop:
    site = access.create_site(db, name, currency, ecommerce)
    token, record = access.create_token(db, site.id, scopes or ALL_SCOPES, rate_limit)
    return Shop(site, token, record.id)


def order_body(currency: str = "USD", prices: tuple[int, ...] = (2500, 1299), last4: str = "4242",
               status: str = "unfulfilled", shipping: int = 500, tax: int = 300) -> dict:
    """A minimal order as a client would place it: computed fields left out."""
    return {
        "status": status,
        "customerInfo": {"fullName": "Arthur Dent", "email": "arthur@example.com"},
        "purchasedItems": [
            {"count": index + 1, "productName": f"Product {index}", "variantId": f"{index:024x}",
             "variantPrice": {"unit": currency, "value": str(price)}}
            for index, price in enumerate(prices)
        ],
        "totals": {"extras": [
            {"type": "shipping", "name": "Flat", "price": {"unit": currency, "value": str(shipping)}},
            {"type": "tax", "name": "State Taxes", "price": {"unit": currency, "value": str(tax)}},
        ]},
        "stripeCard": {"last4": last4, "brand": "Visa", "ownerName": "Arthur Dent",
                       "expires": {"year": 2030, "month": 4}},
        "shippingAddress": {"type": "shipping", "addressee": "Arthur Dent", "line1": "1 Main St",
                            "city": "Cottington", "country": "GB", "postalCode": "CT1 1AA"},
        "billingAddress": {"type": "billing", "addressee": "Arthur Dent", "line1": "1 Main St",
                           "city": "Cottington", "country": "GB", "postalCode": "CT1 1AA"},
    }


def place(db: Database, shop: Shop, **kwargs) -> wire.OrderDoc:
    import msgspec

    order = msgspec.convert(order_body(shop.site.currency, **kwargs), wire.OrderDoc)
    return wire.decode(placing.place_order(db, shop.site, Draft(order), shop.token_id))


def money(amount: int, currency: str = "USD") -> MoneyDoc:
    return MoneyDoc(currency, str(amount))
