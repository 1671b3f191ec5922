"""Issue 9: hostile input at every write route (item 5), and arbitrary JSON in every body field (item 4).

A hostile request must be refused with a 4xx in Webflow's envelope, carrying X-Request-Id, and leave its site
byte for byte as it was: its orders' documents as GET serves them, and its rows in every table a write touches
(orders, `order_history`, refunds and their items, emails, webhooks, events, deliveries and their attempts).
Each row of the table is a route's valid body (the first test shows that each is accepted as it stands) with
one hostile change, so a refusal is that change's doing.

The sites are built once per module and again only after a request changed one, so that one defect fails its
own row and not every row after it. Requests go over one keep-alive connection to the session's server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.domain import clock
from orderdesk.store import tables
from orderdesk.store.repositories.webhooks import WebhookRepository
from orderdesk.wire import requests
from orderdesk.wire.orders import OrderDoc
from tests.api.test_errors import MALFORMED, ORDER_NOT_FOUND, WRONG_CONTENT_TYPE, envelope, validation
from tests.api.test_webhooks_api import PUBLIC_URL, TRIGGERS, wait_for
from tests.factories import Shop, make_shop, order_body, place
from tests.webhooks.receiver import Receiver

MIB = 1024 * 1024
FIRST_SKU = f"{0:024x}"  # order_body's first item: count 1, 25.00; the order's total is 58.98
ENVELOPE = ["code", "message", "externalReference", "details"]

NO_NUL = "must not contain NUL characters"
# "\ud800" is valid JSON, but no UTF-8 text holds it: it can be neither stored nor echoed in an error. Refused
# like a NUL, naming the field.
NO_SURROGATE = "must not contain unpaired surrogates"
DUPLICATE = "appears more than once"
EXCEEDS = "The requested refund amount is greater than the available amount."
NOT_A_URL = "must be an absolute http(s) URL"
ONE_OF_THE_TRIGGERS = f"must be one of {TRIGGERS}"
NOT_A_TIMESTAMP = "must be an ISO 8601 timestamp from 1970 to 9999"
PERCENT_RANGE = "must be a number from 0.01 to 100, with at most 2 decimals"


# --- expected answers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    status: int
    body: bytes  # the exact envelope


def invalid(*details: tuple[str, str]) -> Expect:
    return Expect(400, validation(*details))


def malformed(*details: tuple[str, str], message: str = MALFORMED) -> Expect:
    return Expect(400, envelope("bad_request", message, list(details)))


REFUSED_AS_MALFORMED = malformed()
NOT_UTF8 = malformed(("body", "is not valid UTF-8"))
TOO_DEEP = malformed(("body", "nests deeper than 16 levels"))
NOT_AN_OBJECT_BODY = invalid(("body", "must be a JSON object"))
NOT_SENT_AS_JSON = malformed(message=WRONG_CONTENT_TYPE)
TOO_LARGE = Expect(413, envelope("bad_request", "Bad Request: Request body is larger than 1 MiB"))


# --- the routes, each with a body it accepts ----------------------------------------------------------------

@dataclass(frozen=True)
class OrdersSite:
    shop: Shop
    unfulfilled: str  # placed with order_body(); refunded 1.00 by `refund`
    fulfilled: str
    refund: str


@dataclass(frozen=True)
class HooksSite:
    shop: Shop
    webhook: str  # ecomm_new_order, delivered once
    delivery: str
    inactive: str  # deactivated, never triggered


@dataclass(frozen=True)
class Route:
    site: str  # "orders" or "hooks"
    method: str
    path: Callable[[Any], str]
    body: Callable[[Any], dict]  # a valid body
    struct: type
    created: int = 200  # the status of an accepted request
    exclusive: tuple[str, ...] = ()  # the body keeps one of these: the one a change names, else the first


def _site(site) -> str:
    return f"/sites/{site.shop.site.id}"


ROUTES = {
    "update": Route("orders", "PATCH", lambda s: f"{_site(s)}/orders/{s.unfulfilled}",
                    lambda s: {"comment": "Leave at the door"}, requests.UpdateOrder),
    "fulfill": Route("orders", "POST", lambda s: f"{_site(s)}/orders/{s.unfulfilled}/fulfill",
                     lambda s: {"sendOrderFulfilledEmail": False}, requests.FulfillOrder),
    "unfulfill": Route("orders", "POST", lambda s: f"{_site(s)}/orders/{s.fulfilled}/unfulfill",
                       lambda s: {}, requests.NoFields),
    "refund": Route("orders", "POST", lambda s: f"{_site(s)}/orders/{s.unfulfilled}/refund",
                    lambda s: {"reason": "requested"}, requests.RefundOrder),
    "place": Route("orders", "POST", lambda s: f"{_site(s)}/orders", lambda s: order_body(), OrderDoc, 201),
    "create_refund": Route(
        "orders", "POST", lambda s: f"{_site(s)}/refunds",
        lambda s: {"orderId": s.unfulfilled, "currency": "USD", "amount": 1, "percent": 10,
                   "items": [{"skuId": FIRST_SKU, "quantity": 1}], "reason": "damaged", "metadata": {"ticket": "7"}},
        requests.NewRefund, 201, exclusive=("amount", "percent", "items")),
    "update_refund": Route("orders", "POST", lambda s: f"{_site(s)}/refunds/{s.refund}",
                           lambda s: {"metadata": {"note": "gift"}}, requests.UpdateRefund),
    "create_webhook": Route("hooks", "POST", lambda s: f"{_site(s)}/webhooks",
                            lambda s: {"triggerType": "ecomm_order_changed", "url": PUBLIC_URL}, requests.NewWebhook,
                            201),
    "redeliver": Route("hooks", "POST", lambda s: f"/webhooks/{s.webhook}/deliveries/{s.delivery}/redeliver",
                       lambda s: {}, requests.NoFields, 202),
    "reactivate": Route("hooks", "POST", lambda s: f"/webhooks/{s.inactive}/reactivate", lambda s: {},
                        requests.NoFields),
}

_DUMMY = SimpleNamespace(unfulfilled="", refund="")  # enough of a site to list a body's fields
# A change: raw JSON for the value at a path, a function of the valid value's JSON giving it, or None (removed).
Change = bytes | Callable[[bytes], bytes] | None
_STEP = re.compile(r"\[(\d+)\]|([^.\[]+)")


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else key for index, key in _STEP.findall(path)] or [path]  # "": the empty key


def body_with(route: Route, site, changes: dict[str, Change]) -> bytes:
    """The route's valid body with `changes` written in as raw JSON (NaN, duplicate keys, invalid UTF-8...)."""
    body = route.body(site)
    changed = {_steps(path)[0] for path in changes}
    if route.exclusive:
        keep = [key for key in route.exclusive if key in changed] or [route.exclusive[0]]
        for key in set(route.exclusive) - set(keep):
            del body[key]
    holes = {}
    for index, (path, change) in enumerate(changes.items()):
        *parents, last = _steps(path)
        node = body
        for step in parents:
            node = node[step]
        if change is None:
            del node[last]
            continue
        present = last in node if isinstance(node, dict) else last < len(node)
        hole = f"@@hole{index}@@"
        valid, node[last] = json.dumps(node[last] if present else None).encode(), hole
        holes[hole] = change(valid) if callable(change) else change
    text = json.dumps(body, separators=(",", ":")).encode()
    for hole, raw in holes.items():
        text = text.replace(b'"%s"' % hole.encode(), raw)
    return text


# --- the rows -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    route: str
    label: str
    expect: Expect
    changes: dict[str, Change] = field(default_factory=dict)
    raw: bytes | Callable[[], bytes | Iterator[bytes]] | None = None  # the whole body instead of the changes
    content_type: str | None = "application/json"

    @property
    def id(self) -> str:
        return f"{self.route}:{self.label}"


def _show(raw: bytes | None) -> str:
    if raw is None:
        return "absent"
    text = raw[:28].decode("utf-8", "backslashreplace")
    return f"{text}…({len(raw)} bytes)" if len(raw) > 28 else text


def quoted(text: str) -> bytes:
    """A JSON string."""
    return json.dumps(text).encode()


def refused(route: str, path: str, expect: Expect, values: list[bytes]) -> list[Row]:
    return [Row(route, f"{path}={_show(value)}", expect, {path: value}) for value in values]


def named(route: str, path: str, message: str, values: list[bytes | None], field: str | None = None) -> list[Row]:
    """One row per value at `path`, each refused with one problem: `field` (`path` unless given) and `message`."""
    return refused(route, path, invalid((field or path, message)), values)


def anywhere(route: str, path: str, every: bool = True) -> list[Row]:
    """What no field takes, naming the field: a NUL character, a lone surrogate; and (`every`) a NUL inside a
    list, and a second value under the field's key."""
    key = str(_steps(path)[-1])
    rows = [*refused(route, path, invalid((path, NO_NUL)), [b'"a\\u0000b"']),
            *refused(route, path, invalid((path, NO_SURROGATE)), [b'"\\ud800"'])]
    if every:
        rows += [*refused(route, path, invalid((f"{path}[0]", NO_NUL)), [b'["\\u0000"]']),
                 Row(route, f"{path}=duplicate", malformed((key, DUPLICATE)),
                     {path: lambda valid: valid + b',"%s":{}' % key.encode()})]
    return rows


def not_json(route: str, path: str) -> list[Row]:
    """What the decoder refuses before any field is looked at: NaN, infinities, raw control characters, invalid
    UTF-8, a lone low surrogate, deep nesting, a number too long to read."""
    return [
        *refused(route, path, REFUSED_AS_MALFORMED, [b"NaN", b"-Infinity", b'"a\x00b"', b'"\x01"', b"1" * 5000]),
        *refused(route, path, NOT_UTF8, [b'"\xff"', b'"\xc3("', b'"\xed\xa0\x80"']),  # the last: CESU-8
        *refused(route, path, invalid((path, NO_SURROGATE)), [b'"a\\udfff"']),
        Row(route, f"{path}=deep", TOO_DEEP, {path: b"[" * 40 + b"]" * 40}),
    ]


OBJECTS = [b"{}", b'{"a":1}']
LISTS = [b"[]", b"[{}]", b"[[[]]]"]
HUGE = [b"9223372036854775807", b"18446744073709551616", b"-9223372036854775809", b"1e999999"]
NOT_A_STRING = [*OBJECTS, *LISTS, b"0", b"-1", b"1.5", *HUGE, b"true", b"false"]
NOT_A_STRING_NOR_NULL = [*NOT_A_STRING, b"null"]
NOT_A_BOOLEAN = [*OBJECTS, *LISTS, b"0", b"1", b"18446744073709551616", b"1e999999", b'"true"', b'""', b"null"]
NOT_AN_INTEGER = [*OBJECTS, *LISTS, b"true", b'"1"', b'""', b"1.5", b"1e999999", b"-1e999999"]
NOT_AN_OBJECT = [b"[]", b"[{}]", b"0", b"1e999999", b"true", b'"x"', b"null"]
NOT_A_LIST = [b"{}", b'{"0":{}}', b"0", b"1e999999", b"true", b'"x"', b"null"]
# For the many fields of an order that the same conversion serves: one of each kind.
FEW_NOT_STRING = [b"{}", b"[{}]", b"1.5", b"18446744073709551616", b"true"]
FEW_NOT_BOOLEAN = [b"{}", b"1", b'"true"', b"null"]
FEW_NOT_OBJECT = [b"[]", b"0", b'"x"', b"null"]
BAD_URLS = ["", "javascript:alert(1)", "data:text/html,x", "ftp://example.com/x", "file:///etc/passwd",
            "//example.com/x", "example.com", "http://", "http:///x", "http://[::1", "http://a..b/",
            "http://exa mple.com/", "http://example.com/\n", "http://-a.com/", f"http://{'a' * 64}.com/",
            "https://example.com/" + "a" * 2048]
WITH_CREDENTIALS = "https://user:pw@example.com/"
BAD_PORT = "http://example.com:99999/"
NOT_WEB_URLS = [*BAD_URLS, WITH_CREDENTIALS, BAD_PORT]
BAD_EMAILS = ["arthur", "arthur@", "@example.com", "arthur@example", "arthur@@example.com", "arthur@example..com",
              "a" * 65 + "@example.com", "a" * 60 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com",
              "arthur@example.com\n", "Arthur <arthur@example.com>", "arthur@exa mple.com", "arthur@-example.com"]
BAD_TIMESTAMPS = ["", "yesterday", "0999-06-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2024-02-30T00:00:00.000Z",
                  "2024-03-29T25:00:00.000Z", "+10000-01-01T00:00:00.000Z", "99999-01-01T00:00:00Z"]
BAD_MINOR_UNITS = ["", "abc", "1.5", "25.00", "1e3", " 5", "5 ", "+5", "05", "0x10", "\u0665", "1_000"]


def unknown(route: str, keys: list[str], message: str = "is not a known field") -> list[Row]:
    return [Row(route, f"unknown {key!r}", invalid((key, message)), {key: b"1"}) for key in keys]


def money_rows(route: str, path: str) -> list[Row]:
    """A money object of the body: the currency must be the site's, the value whole minor units."""
    return [*named(route, path, "must be an object", FEW_NOT_OBJECT),
            *named(route, f"{path}.unit", "must be a string", [*FEW_NOT_STRING, b"null"]),
            *named(route, f"{path}.unit", "must be the site's currency, USD",
                   [quoted(text) for text in ("EUR", "usd", "", "US")]),
            *named(route, f"{path}.value", "must be a string", [*FEW_NOT_STRING, b"2500", b"-1", b"null"]),
            *named(route, f"{path}.value", "must be a whole number of minor units, as a string",
                   [quoted(text) for text in BAD_MINOR_UNITS]),
            *named(route, f"{path}.value", "must be at most 999999999999999 minor units",
                   [quoted("1000000000000000"), quoted("9" * 30), quoted("9" * 5000), quoted("-1000000000000000")])]


def body_rows(route: str) -> list[Row]:
    """Whole bodies no route takes, and the decoder's refusals in the route's first field."""
    first = next(iter(ROUTES[route].body(_DUMMY)), "note")
    return [
        Row(route, "invalid UTF-8", NOT_UTF8, raw=b"\xff"),
        Row(route, "invalid UTF-8 in a key", NOT_UTF8, raw=b'{"\xc3(":1}'),
        Row(route, "UTF-16", NOT_UTF8, raw="{}".encode("utf-16")),
        Row(route, "UTF-16 declared", NOT_UTF8, raw="{}".encode("utf-16"),
            content_type="application/json; charset=utf-16"),
        *[Row(route, f"body {_show(raw)}", NOT_AN_OBJECT_BODY, raw=raw)
          for raw in (b"[]", b"[{}]", b"0", b"18446744073709551616", b"1e999999", b'"x"', b"null", b"true")],
        *[Row(route, f"body {_show(raw)}", REFUSED_AS_MALFORMED, raw=raw)
          for raw in (b"NaN", b"\xef\xbb\xbf{}", b"{", b'{"a":1,}', b"{'a':1}", b'{"a":1}{"b":2}', b"\x00",
                      b"[" * 100_000 + b"]" * 100_000)],
        Row(route, "objects nested 40 deep", TOO_DEEP, raw=b'{"a":' * 40 + b"1" + b"}" * 40),
        Row(route, "NUL in a key", invalid(("body", NO_NUL)), raw=b'{"a\\u0000b":1}'),
        Row(route, "lone surrogate in a key", invalid(("body", NO_SURROGATE)), raw=b'{"\\ud800":1}'),
        Row(route, "duplicate key", malformed(("a", DUPLICATE)), raw=b'{"a":1,"a":{}}'),
        Row(route, "10 MB string", TOO_LARGE, {first: lambda _: b'"' + b"a" * 10_000_000 + b'"'}),
        Row(route, "1 MiB and a byte", TOO_LARGE, raw=lambda: b"{}" + b" " * (MIB - 1)),
        Row(route, "2 MiB streamed", TOO_LARGE, raw=lambda: iter([b" " * 65536] * 32)),
        *[Row(route, f"content type {content_type}", NOT_SENT_AS_JSON, content_type=content_type)
          for content_type in ("text/plain", "multipart/form-data; boundary=x", None)],
        *not_json(route, first),
    ]


def update_rows() -> list[Row]:
    rows = unknown("update", ["status", "orderId", "customerPaid", "fulfilledOn", "Comment", ""],
                   "is not a field that can be updated")
    for name in ("comment", "shippingProvider", "shippingTracking", "shippingTrackingURL"):
        wrong = NOT_A_STRING if name in ("comment", "shippingTrackingURL") else FEW_NOT_STRING
        rows += named("update", name, "must be a string or null", wrong) + anywhere("update", name)
    rows += named("update", "shippingTrackingURL", NOT_A_URL, [quoted(url) for url in NOT_WEB_URLS])
    rows.append(Row("update", "two bad fields", invalid(("status", "is not a field that can be updated"),
                                                         ("comment", "must be a string or null")),
                    {"status": quoted("refunded"), "comment": b"5"}))
    return rows


def order_action_rows() -> list[Row]:
    reasons = "must be one of duplicate, fraudulent, requested"
    return [*named("fulfill", "sendOrderFulfilledEmail", "must be a boolean", NOT_A_BOOLEAN),
            *anywhere("fulfill", "sendOrderFulfilledEmail"), *unknown("fulfill", ["notify", "reason"]),
            *named("refund", "reason", reasons, [*NOT_A_STRING, *(quoted(text) for text in (
                "", "REQUESTED", "requested_by_customer", "other", " requested", "requested\n"))]),
            *anywhere("refund", "reason"), *unknown("refund", ["amount", "sendOrderFulfilledEmail"]),
            *(row for route in ("unfulfill", "redeliver", "reactivate")
              for row in unknown(route, ["reason", "sendOrderFulfilledEmail", "note", ""]))]


def place_rows() -> list[Row]:
    item = "purchasedItems[0]"
    extra = "totals.extras[0]"
    rows = [
        *named("place", "status", "must be a string", [*FEW_NOT_STRING, b"null"]),
        *named("place", "status", "is not one of the allowed values",
               [quoted(text) for text in ("shipped", "", "Unfulfilled")]),
        *named("place", "disputeLastStatus", "must be a string or null", FEW_NOT_STRING),
        *named("place", "disputeLastStatus", "is not one of the allowed values", [quoted("won!")]),
        *named("place", "purchasedItems", "must be a list", NOT_A_LIST),
        *named("place", "purchasedItems", "must list at least one item", [b"[]"]),
        *named("place", item, "must be an object", [b"5", b'"x"', b"null", b"[]"]),
        *named("place", "purchasedItems", "is required", [b"[{}]"], field=f"{item}.count"),
        *named("place", f"{item}.count", "is required", [None]),
        *named("place", f"{item}.count", "must be an integer", [*NOT_AN_INTEGER, b"null"]),  # the full list: a count
        *named("place", f"{item}.count", "must be at least 1", [b"0", b"-1", b"-9223372036854775809"]),
        *named("place", f"{item}.count", "must be at most 1000000",
               [b"1000001", b"9223372036854775807", b"9223372036854775808", b"18446744073709551616",
                b"1" + b"0" * 100]),
        *named("place", f"{item}.variantPrice.unit", "is required", [None]),
        *money_rows("place", f"{item}.variantPrice"),
        *named("place", f"{item}.variantPrice.value", "must not be negative", [quoted("-1")]),
        *named("place", f"{item}.variantPrice.string", "must be '$ 25.00 USD'", [quoted("$ 1.00 USD"), quoted("")]),
        *named("place", f"{item}.rowTotal", "must be 2500 (computed from the order)", [b'{"unit":"USD","value":"1"}']),
        *named("place", f"{item}.rowTotal", "must be an object", FEW_NOT_OBJECT),
        *named("place", f"{item}.variantId", "must have at most 255 characters", [quoted("a" * 256)]),
        *named("place", f"{item}.variantImage", "must be an object", FEW_NOT_OBJECT),
        *named("place", f"{item}.weight", "must be a number or null", [b"{}", b"[]", b'"1"', b"true"]),
        *named("place", f"{item}.weight", "must be at most 1000000000000000.0", [b"1e999999"]),
        *named("place", f"{item}.weight", "is out of range", [b"1" + b"0" * 400]),
        *named("place", f"{item}.weight", "must be at least -1000000000000000.0", [b"-1e999999"]),
        *named("place", f"{item}.foo", "is not a known field", [b"1"]),
        *named("place", "purchasedItemsCount", "must be an integer", [b"{}", b"[]", b'"3"', b"true", b"3.5", b"null"]),
        *named("place", "purchasedItemsCount", "must be 3 (the sum of the items' counts)",
               [b"4", b"0", b"-1", b"18446744073709551616"]),
        *named("place", "allAddresses", "must be a list", FEW_NOT_OBJECT[1:] + [b"{}"]),
        *named("place", "allAddresses", "must hold the billing and the shipping address", [b"[]"]),
        *named("place", "orderId", "must be a string", [*FEW_NOT_STRING, b"null"]),
        *named("place", "orderId", "is already used on this site or is not of the form xxx-xxx",
               [quoted(text) for text in ("zzz", "", "ABC-DEF", "abc-def-", "abc-defg")]),
        *named("place", "customerPaid", "must be an object", FEW_NOT_OBJECT),
        *named("place", "customerPaid", "must be 5898 (computed from the order)", [b'{"unit":"USD","value":"1"}']),
        *named("place", "customerPaid", "must be the site's currency, USD", [b'{"unit":"EUR","value":"5898"}'],
               field="customerPaid.unit"),
        *named("place", "applicationFee", "must be between 0 and the order's total (5898)",
               [b'{"unit":"USD","value":"-1"}', b'{"unit":"USD","value":"5899"}']),
        *named("place", "customerInfo", "must be an object", FEW_NOT_OBJECT),
        *named("place", "customerInfo.email", "must be an email address", [quoted(text) for text in BAD_EMAILS]),
        *named("place", "stripeCard.brand", "is not one of the allowed values", [quoted("Amex"), quoted("visa")]),
        *named("place", "stripeCard.expires", "must be an object", FEW_NOT_OBJECT),
        *named("place", "stripeCard.expires.month", "must be an integer", [b"{}", b'"4"', b"true", b"4.5", b"null"]),
        *named("place", "stripeCard.expires.month", "must be at least 1", [b"0", b"-1"]),
        *named("place", "stripeCard.expires.month", "must be at most 12", [b"13", b"18446744073709551616"]),
        *named("place", "stripeCard.expires.year", "must be at most 9999",
               [b"10000", b"9223372036854775807", b"18446744073709551616"]),
        *named("place", "shippingTrackingURL", "must be a string or null", FEW_NOT_STRING),
        *named("place", "shippingTrackingURL", NOT_A_URL,  # the check PATCH makes, tried there with every URL
               [quoted(url) for url in ("javascript:alert(1)", "http://[::1", "http://a..b/", WITH_CREDENTIALS)]),
        *named("place", "customData", "must be a list", FEW_NOT_OBJECT[1:] + [b"{}"]),
        *named("place", "customData", "must be an object", [b"[5]", b"[[]]"], field="customData[0]"),
        *named("place", "downloadFiles", "must be a list", FEW_NOT_OBJECT[1:] + [b"{}"]),
        *named("place", "downloadFiles", "must be an object", [b"[5]"], field="downloadFiles[0]"),
        *named("place", "downloadFiles", "is required", [b"[{}]"], field="downloadFiles[0].id"),
        *named("place", "metadata", "must be a boolean", [b'{"isBuyNow":%s}' % value for value in FEW_NOT_BOOLEAN],
               field="metadata.isBuyNow"),
        *named("place", "totals", "must be an object", FEW_NOT_OBJECT),
        *named("place", "totals.extras", "must be a list", FEW_NOT_OBJECT[1:] + [b"{}"]),
        *named("place", extra, "must be an object", [b"5", b"null"]),
        *named("place", f"{extra}.type", "is not one of the allowed values", [quoted("gift"), quoted("")]),
        *named("place", f"{extra}.type", "must be a string", [*FEW_NOT_STRING, b"null"]),
        *named("place", f"{extra}.price", "must be an object", FEW_NOT_OBJECT),
        *named("place", f"{extra}.price.unit", "must be the site's currency, USD", [quoted("EUR")]),
        *named("place", f"{extra}.price.value", "must be a string", FEW_NOT_STRING),
        *named("place", f"{extra}.price.value", "must be a whole number of minor units, as a string", [quoted("1.5")]),
        *named("place", f"{extra}.price.value", "must be at most 999999999999999 minor units", [quoted("9" * 5000)]),
        *named("place", f"{extra}.price.value", "must not be negative for shipping", [quoted("-1")]),
        *named("place", "totals.subtotal", "must be 5098 (computed from the order)", [b'{"unit":"USD","value":"1"}']),
        *named("place", "totals.total", "must be 5898 (computed from the order)", [b'{"unit":"USD","value":"1"}']),
        Row("place", "total over the bound", invalid(("totals.total", "must be at most 999999999999999 minor units")),
            {f"{item}.count": b"1000000", f"{item}.variantPrice.value": quoted("999999999999999")}),
        Row("place", "total negative", invalid(("totals.total", "must not be negative")),
            {f"{extra}.type": quoted("discount"), f"{extra}.price.value": quoted("-999999999999999")}),
        *unknown("place", ["foo", "purchased_items", "OrderId"]),
    ]
    rows += named("place", "acceptedOn", "must be a string or null", FEW_NOT_STRING)
    rows += named("place", "acceptedOn", NOT_A_TIMESTAMP, [quoted(text) for text in BAD_TIMESTAMPS])
    for name in ("fulfilledOn", "refundedOn", "disputedOn", "disputeUpdatedOn"):
        rows += named("place", name, "must be a string or null", FEW_NOT_STRING)
        rows += named("place", name, NOT_A_TIMESTAMP, [quoted(text) for text in BAD_TIMESTAMPS[:4]])
    for address in ("shippingAddress", "billingAddress"):
        rows += named("place", address, "must be an object", FEW_NOT_OBJECT)
        rows += named("place", f"{address}.type", "is not one of the allowed values", [quoted("home")])
        rows += named("place", f"{address}.japanType", "must be a string or null", [b"5", b"{}"])
        rows += named("place", f"{address}.zip", "is not a known field", [b"1"])
        for part in ("addressee", "line1", "line2", "city", "state", "country", "postalCode"):
            rows += named("place", f"{address}.{part}", "must be a string", [b"5", b"null"])
    rows += named("place", "customerInfo.email", "must be a string", [*FEW_NOT_STRING, b"null"])
    strings = ["comment", "orderComment", "paymentProcessor", "customerInfo.fullName", "stripeCard.last4",
               "stripeCard.ownerName", f"{item}.productId", f"{item}.productName", f"{item}.productSlug",
               f"{item}.variantId", f"{item}.variantName", f"{item}.variantSlug", f"{item}.variantSKU", f"{extra}.name",
               f"{extra}.description"]
    for name in strings:
        rows += named("place", name, "must be a string", [*FEW_NOT_STRING, b"null"])
    for name in ("paymentIntentId", "chargeId", "refundReason"):
        rows += named("place", "stripeDetails", "must be a string or null",
                      [b'{"%s":%s}' % (name.encode(), value) for value in FEW_NOT_STRING],
                      field=f"stripeDetails.{name}")
    for name in ("paymentIntentId", "chargeId"):
        # The orders table keeps the payment's id (64 characters) to find the order by the processor's events.
        rows += named("place", "stripeDetails", "must have at most 64 characters",
                      [b'{"%s":"%s"}' % (name.encode(), b"a" * 65)], field=f"stripeDetails.{name}")
    for name in ("shippingProvider", "shippingTracking"):
        rows += named("place", name, "must be a string or null", FEW_NOT_STRING)
    for name in ("isCustomerDeleted", "isShippingRequired", "hasDownloads"):
        rows += named("place", name, "must be a boolean", FEW_NOT_BOOLEAN)
    for name in ("stripeDetails", "stripeCard", "paypalDetails", "metadata", "netAmount", "applicationFee"):
        rows += named("place", name, "must be an object", FEW_NOT_OBJECT)
    top = [info.encode_name for info in msgspec.structs.fields(OrderDoc)]
    primary = ["status", "purchasedItems", f"{item}.count", f"{item}.variantPrice.value", "customerInfo.email",
               "shippingTrackingURL", "acceptedOn", f"{item}.variantImage", "customData", f"{extra}.name"]
    for name in dict.fromkeys([*primary, *top, "shippingAddress.city", "stripeCard.last4"]):
        rows += anywhere("place", name, every=name in primary)
    return rows + not_json("place", f"{item}.productName") + not_json("place", "customerInfo.email")


def refund_rows() -> list[Row]:
    route = "create_refund"
    item = "items[0]"
    rows = [
        *named(route, "orderId", "is required (the order's orderId)",
               [*NOT_A_STRING_NOR_NULL, quoted(""), quoted("a" * 256), None]),
        *refused(route, "orderId", Expect(404, envelope("order_not_found", ORDER_NOT_FOUND)),
                 [quoted("zzz-zzz"), quoted("ABC-DEF"), quoted("a" * 255)]),
        *named(route, "currency", "is required: the order's ISO 4217 currency code",
               [*NOT_A_STRING_NOR_NULL, *(quoted(text) for text in ("", "US", "USDD", "usd", "ZZZ")), None]),
        *named(route, "currency", "must be the order's currency, USD", [quoted("EUR")]),
        *named(route, "amount", "must be a number in major units, e.g. 27.01",
               [quoted("1"), quoted("1.00"), b"true", b"false", *OBJECTS, *LISTS]),
        *named(route, "amount", "give exactly one of amount, percent or items", [b"null"]),
        *named(route, "amount", "must be more than zero", [b"0", b"-1", b"-0.01", b"0.0"]),
        *named(route, "amount", "is out of range", [*HUGE, b"-1e999999", b"1e-999999", b"1e16", b"1e-21"]),
        *named(route, "amount", "must have at most 2 decimal places in USD", [b"1.001", b"0.001", b"1e-20"]),
        *named(route, "amount", EXCEEDS, [b"57.99", b"1e15", b"999999999999999"]),
        *named(route, "percent", "must be a number from 0.01 to 100", [quoted("50"), b"true", *OBJECTS, *LISTS]),
        *named(route, "percent", PERCENT_RANGE,
               [b"0", b"-1", b"100.01", b"0.001", b"101", *HUGE, b"-1e999999", b"1e-999999"]),
        *named(route, "items", f"must be a list of 1 to {requests.MAX_ITEMS} items",
               [*(value for value in NOT_A_LIST if value != b"null"), b"[]",
                b"[" + b",".join([b'{"skuId":"%s"}' % FIRST_SKU.encode()] * 101) + b"]"]),
        *named(route, "items", "give exactly one of amount, percent or items", [b"null"], field="amount"),
        *named(route, item, "must be an object", [b"[5]", b"[null]", b'["x"]', b"[[]]"]),
        *named(route, "items", "is required: the purchased item's variantId", [b"[{}]"], field=f"{item}.skuId"),
        *named(route, f"{item}.skuId", "is required: the purchased item's variantId", [None]),
        *named(route, f"{item}.skuId", "must be a string", [*FEW_NOT_STRING, b"null"]),
        *named(route, f"{item}.skuId", "must have at least 1 character", [quoted("")]),
        *named(route, f"{item}.skuId", "must have at most 255 characters", [quoted("a" * 256)]),
        *named(route, f"{item}.skuId", "is not an item of this order", [quoted("nope"), quoted(FIRST_SKU + " ")]),
        *named(route, f"{item}.quantity", "must be an integer or null", NOT_AN_INTEGER),
        *named(route, f"{item}.quantity", "must be at least 1", [b"0", b"-1", b"-9223372036854775809"]),
        *named(route, f"{item}.quantity", "must be at most 1000000",
               [b"1000001", b"9223372036854775807", b"18446744073709551616"]),
        *named(route, f"{item}.quantity", "must be between 1 and the ordered count (1)", [b"2"]),
        *named(route, f"{item}.amount", "must be a number in major units, e.g. 27.01", [quoted("1"), b"true", b"{}"]),
        *named(route, f"{item}.amount", "must be more than zero", [b"0", b"-1"]),
        *named(route, f"{item}.amount", "is out of range", HUGE),
        *named(route, f"{item}.percent", PERCENT_RANGE, [b"0", b"100.01", *HUGE]),
        *named(route, f"{item}.foo", "is not a known field", [b"1"]),
        *named(route, "type", "must be one of product, shipping, tax",
               [*FEW_NOT_STRING, b"null", *(quoted(text) for text in ("", "refund", "PRODUCT", "items"))]),
        *named(route, "reason", "must be a string of at most 64 characters", [*NOT_A_STRING, quoted("x" * 65)]),
        *metadata_rows(route, "must be an object of strings", "must be a string", [b'{"k":null}']),
        *unknown(route, ["state", "refundedAmount", "orderID"]),
    ]
    for name in ("orderId", "currency", "amount", "percent", "items", "type", "reason", "metadata",
                 f"{item}.skuId", f"{item}.quantity", f"{item}.amount", "metadata.ticket"):
        rows += anywhere(route, name)
    return rows


def update_refund_rows() -> list[Row]:
    route = "update_refund"
    return [*metadata_rows(route, "must be an object of strings or nulls", "must be a string or null", []),
            *unknown(route, ["amount", "state", "reason"], "only metadata can be updated"),
            *anywhere(route, "metadata"), *anywhere(route, "metadata.note")]


def metadata_rows(route: str, not_an_object: str, not_a_value: str, more_values: list[bytes]) -> list[Row]:
    keys = b"{" + b",".join(b'"k%d":"v"' % index for index in range(51)) + b"}"
    return [*named(route, "metadata", not_an_object, [b"[]", b'[{"k":"v"}]', b"0", b'"x"', b"true", b"null"]),
            *named(route, "metadata", not_a_value,
                   [b'{"k":5}', b'{"k":{}}', b'{"k":[]}', b'{"k":true}', b'{"k":1e999999}', *more_values],
                   field="metadata.k"),
            *named(route, "metadata", "must have at most 50 keys", [keys]),
            *named(route, "metadata", "keys must be 1 to 40 characters", [b'{"%s":"v"}' % (b"k" * 41)],
                   field="metadata." + "k" * 40),
            *named(route, "metadata", "keys must be 1 to 40 characters", [b'{"":"v"}'], field="metadata."),
            *named(route, "metadata", "must be a string of at most 500 characters", [b'{"k":"%s"}' % (b"v" * 501)],
                   field="metadata.k")]


def webhook_rows() -> list[Row]:
    route = "create_webhook"
    unsupported = Expect(400, envelope("unsupported_webhook_trigger_type", "Bad Request: orderdesk does not send "
                                       f"form_submission webhooks; it sends {TRIGGERS}"))
    rows = [
        *named(route, "triggerType", ONE_OF_THE_TRIGGERS, [*NOT_A_STRING_NOR_NULL, None, *(quoted(text) for text in (
            "", "nope", "ECOMM_NEW_ORDER", "ecomm_new_order ", "ecomm_new_order\u200b"))]),
        *refused(route, "triggerType", unsupported, [quoted("form_submission")]),
        *named(route, "url", NOT_A_URL, [*NOT_A_STRING_NOR_NULL, None, *(quoted(url) for url in BAD_URLS)]),
        *named(route, "url", "must not carry credentials", [quoted(WITH_CREDENTIALS)]),
        *named(route, "url", "has a port that is not a number from 0 to 65535", [quoted(BAD_PORT)]),
        *named(route, "url", "host a.invalid does not resolve", [quoted("https://a.invalid/hook")]),
        *named(route, "filter", "must be an object", [b"[]", b"[{}]", b"0", b'"x"', b"true", b"1e999999"]),
        *refused(route, "filter",
                 Expect(400, envelope("incompatible_webhook_filter", "Bad Request: Order webhooks take no filter")),
                 [b'{"a":1}']),
        *unknown(route, ["secretKey", "id", "siteId", "active"]),
    ]
    for name in ("triggerType", "url", "filter"):
        rows += anywhere(route, name)
    return rows


def empty_body_rows() -> list[Row]:
    """An empty body is `{}`: a 400 only where a field is required (elsewhere `{}` is a valid request)."""
    expected = {"place": invalid(("purchasedItems", "must list at least one item"),
                                 ("customerInfo.email", "must be an email address")),
                "create_refund": invalid(("orderId", "is required (the order's orderId)"),
                                         ("currency", "is required: the order's ISO 4217 currency code")),
                "create_webhook": invalid(("triggerType", ONE_OF_THE_TRIGGERS))}
    return [Row(route, f"empty body {raw!r} as {content_type}", expect, raw=raw, content_type=content_type)
            for route, expect in expected.items() for raw, content_type in (
                (b"", "application/json"), (b"", None), (b" \r\n\t", "application/json"))] + [
        # Whitespace is a body, if not a JSON value: sent without a JSON content type, that is the problem named.
        Row(route, "whitespace without a content type", NOT_SENT_AS_JSON, raw=b" \r\n\t", content_type=None)
        for route in expected]


ROWS = [*(row for route in ROUTES for row in body_rows(route)), *update_rows(), *order_action_rows(), *place_rows(),
        *refund_rows(), *update_refund_rows(), *webhook_rows(), *empty_body_rows()]


# --- the sites the requests go to ---------------------------------------------------------------------------

def stored_rows(db, site: OrdersSite | HooksSite) -> dict[str, list[tuple]]:
    """The site's rows in every table a write could touch, in a fixed order. Not the processor's ledger (written
    only for a refund, a row of its own), nor the events of the orders' site (written only for its webhooks, and
    it has none)."""
    site_id = site.shop.site.id
    if isinstance(site, OrdersSite):
        refund_ids = sa.select(tables.refunds.c.id).where(tables.refunds.c.site_id == site_id)
        where = {**{table: table.c.site_id == site_id for table in (
            tables.orders, tables.order_history, tables.refunds, tables.emails)},
            tables.refund_items: tables.refund_items.c.refund_id.in_(refund_ids)}
    else:
        webhook_ids = sa.select(tables.webhooks.c.id).where(tables.webhooks.c.site_id == site_id)
        where = {**{table: table.c.site_id == site_id for table in (tables.webhooks, tables.events)},
                 **{table: table.c.webhook_id.in_(webhook_ids)
                    for table in (tables.deliveries, tables.delivery_attempts)}}
    # Outside a transaction: nothing else writes to the site, and each BEGIN is one more round trip per row.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return {table.name: [tuple(row) for row in connection.execute(
            sa.select(table).where(condition).order_by(*table.primary_key.columns))]
            for table, condition in where.items()}


class Sites:
    """One site per kind, and the snapshot it had when built; a site a request changed is built anew."""

    def __init__(self, db, client: httpx.Client, receiver: Receiver) -> None:
        self.db, self.client, self.receiver = db, client, receiver
        self.built: dict[str, tuple[Any, tuple]] = {}

    def get(self, kind: str) -> tuple[Any, tuple]:
        if kind not in self.built:
            site = self._orders() if kind == "orders" else self._hooks()
            self.built[kind] = (site, self.snapshot(site))
        return self.built[kind]

    def spoil(self, kind: str) -> None:
        self.built.pop(kind, None)

    def accepted(self, name: str) -> None:
        """After an accepted write, the site as it now stands is the one to keep unchanged; but a site whose orders
        changed status (later writes of the kind would be no-ops or conflicts) or that has a redelivery to send
        (after the answer) is built anew."""
        kind = ROUTES[name].site
        if name in ("fulfill", "unfulfill", "refund", "redeliver"):
            self.spoil(kind)
        else:
            site, _ = self.built[kind]
            self.built[kind] = (site, self.snapshot(site))

    def snapshot(self, site) -> tuple:
        """Everything a write could change on the site: as served (its orders' documents, or its webhooks) and as
        stored (its rows in every table a write touches, from which its refunds and deliveries are served)."""
        served = f"{_site(site)}/orders" if isinstance(site, OrdersSite) else f"{_site(site)}/webhooks"
        return self._read(site.shop, served), stored_rows(self.db, site)

    def _read(self, shop: Shop, path: str) -> bytes:
        response = self.client.get(path, headers=shop.headers)
        assert response.status_code == 200, response.text
        return response.content

    def _orders(self) -> OrdersSite:
        shop = make_shop(self.db)
        unfulfilled = place(self.db, shop).order_id
        fulfilled = place(self.db, shop, status="fulfilled").order_id
        response = self.client.post(f"/sites/{shop.site.id}/refunds", headers=shop.headers,
                                    json={"orderId": unfulfilled, "currency": "USD", "amount": 1})
        assert (response.status_code, response.json()["state"]) == (201, "succeeded"), response.text
        return OrdersSite(shop, unfulfilled, fulfilled, response.json()["id"])

    def _hooks(self) -> HooksSite:
        shop = make_shop(self.db)
        webhook = self._webhook(shop, "ecomm_new_order", self.receiver.url())
        place(self.db, shop)
        attempt = wait_for(lambda: self._delivered(shop, webhook), "the new order's delivery")
        inactive = self._webhook(shop, "ecomm_order_changed", PUBLIC_URL)
        with self.db.unit_of_work() as work:
            WebhookRepository(work.connection).set_deactivated(inactive, clock.to_millis(clock.now()))
            work.commit()
        return HooksSite(shop, webhook, attempt["deliveryId"], inactive)

    def _webhook(self, shop: Shop, trigger: str, url: str) -> str:
        response = self.client.post(f"/sites/{shop.site.id}/webhooks", headers=shop.headers,
                                    json={"triggerType": trigger, "url": url})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def _delivered(self, shop: Shop, webhook: str) -> dict | None:
        """The delivery's one attempt, once it succeeded and the webhook shows it as its last trigger."""
        attempts = self.client.get(f"/webhooks/{webhook}/deliveries", headers=shop.headers).json()["deliveries"]
        shown = self.client.get(f"/webhooks/{webhook}", headers=shop.headers).json()
        done = len(attempts) == 1 and attempts[0]["statusCode"] == 200
        return attempts[0] if done and shown["lastTriggered"] == attempts[0]["createdOn"] else None


@pytest.fixture(scope="module")
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as keep_alive:
        yield keep_alive


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def sites(db, client, receiver) -> Sites:
    return Sites(db, client, receiver)


@pytest.fixture(scope="module")
def playground(db, client, receiver) -> Sites:
    """Sites for requests that are accepted (valid bodies, hypothesis' examples), apart from the table's."""
    return Sites(db, client, receiver)


def send(client: httpx.Client, route: Route, site, content, content_type: str | None = "application/json"):
    headers = {**site.shop.headers, **({"content-type": content_type} if content_type else {})}
    return client.request(route.method, route.path(site), content=content, headers=headers)


# --- the tests ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROUTES))
def test_each_routes_valid_body_is_accepted(playground, client, name):
    """The rows below change one thing in these bodies: their refusals are that change's doing."""
    route = ROUTES[name]
    site, _ = playground.get(route.site)

    response = send(client, route, site, body_with(route, site, {}))

    playground.accepted(name)
    assert response.status_code == route.created, response.text


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_hostile_request_is_refused_in_the_envelope_and_changes_nothing(sites, client, row):
    route = ROUTES[row.route]
    site, pristine = sites.get(route.site)
    content = row.raw() if callable(row.raw) else row.raw
    content = body_with(route, site, row.changes) if content is None else content

    response = send(client, route, site, content, row.content_type)

    after = sites.snapshot(site)
    if after != pristine or response.status_code < 400:
        sites.spoil(route.site)
    assert (response.status_code, response.content) == (row.expect.status, row.expect.body)
    assert response.headers["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers.get("x-request-id", ""))
    assert after == pristine


# --- hypothesis: any JSON value in any field ----------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",))) | st.sampled_from(["\x00", "a\x00b", "\U0001f600"])
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
           | st.sampled_from([2**63 - 1, 2**63, 2**64, -2**63 - 1]) | st.floats(allow_nan=False, allow_infinity=False)
           | TEXT)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=10)


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every field of a body: each key, and the first element of each list."""
    if isinstance(value, dict):
        children = value.items()
    else:
        children = [(0, value[0])] if isinstance(value, list) and value else []
    for key, child in children:
        path = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else key
        yield path
        yield from _paths(child, path)


def body_fields(route: Route) -> list[str]:
    top = [info.encode_name for info in msgspec.structs.fields(route.struct)]
    return list(dict.fromkeys([*_paths(route.body(_DUMMY)), *top]))


FIELDS = [(name, path) for name, route in ROUTES.items() for path in body_fields(route)]
HYPOTHESIS = settings(max_examples=5, deadline=None, derandomize=False,
                      suppress_health_check=[HealthCheck.too_slow])


def answer_without_a_server_error(sites: Sites, client: httpx.Client, name: str, content: bytes) -> None:
    """A 2xx, or a 4xx in the envelope that changed nothing: never a 5xx."""
    route = ROUTES[name]
    site, pristine = sites.get(route.site)

    response = send(client, route, site, content)

    assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500, (content, response.text)
    if response.status_code < 300:
        sites.accepted(name)  # the site changed, as it should
        return
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert list(body) == ENVELOPE and body["externalReference"] == "", body
    assert isinstance(body["code"], str) and isinstance(body["message"], str)
    assert all(list(item) == ["field", "message"] and all(isinstance(v, str) for v in item.values())
               for item in body["details"]), body
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers.get("x-request-id", ""))
    after = sites.snapshot(site)
    if after != pristine:
        sites.spoil(route.site)
    assert after == pristine, (content, response.text)


@pytest.mark.parametrize(("name", "path"), FIELDS, ids=[f"{name}:{path}" for name, path in FIELDS])
@HYPOTHESIS
@given(value=JSON_VALUES)
def test_any_json_value_in_any_body_field_is_never_a_server_error(playground, client, name, path, value):
    route = ROUTES[name]
    site, _ = playground.get(route.site)
    content = body_with(route, site, {path: json.dumps(value, ensure_ascii=False).encode()})

    answer_without_a_server_error(playground, client, name, content)


@pytest.mark.parametrize("name", list(ROUTES))
@settings(HYPOTHESIS, max_examples=15)
@given(data=st.data())
def test_any_json_value_as_the_whole_body_is_never_a_server_error(playground, client, name, data):
    keys = st.sampled_from([info.encode_name for info in msgspec.structs.fields(ROUTES[name].struct)] or ["note"])
    value = data.draw(JSON_VALUES | st.dictionaries(keys | TEXT, JSON_VALUES, max_size=5))

    answer_without_a_server_error(playground, client, name, json.dumps(value, ensure_ascii=False).encode())
