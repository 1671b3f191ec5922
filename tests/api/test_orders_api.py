"""The orders endpoints over HTTP: listing, updating, the three transitions, and placing an order.

BEHAVIOUR.md sections 1 and 4 are the source of these expectations; section 8 for the simulated
processor's magic card endings.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from tests.factories import make_shop, order_body
from tests.factories import place as place_directly

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
ORDER_ID = re.compile(r"[0-9a-f]{3}-[0-9a-f]{3}\Z")


# --- helpers ----------------------------------------------------------------------------------------

def orders_url(server, site_id: str) -> str:
    return f"{server.api}/sites/{site_id}/orders"


def order_url(server, site_id: str, order_id: str) -> str:
    return f"{orders_url(server, site_id)}/{order_id}"


def place(server, shop, body: dict | None = None, **kwargs) -> httpx.Response:
    body = body if body is not None else order_body(shop.site.currency, **kwargs)
    response = httpx.post(orders_url(server, shop.site.id), json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return response


def body_with(order_id: str, accepted_on: str, status: str = "unfulfilled") -> dict:
    return {**order_body(status=status), "orderId": order_id, "acceptedOn": accepted_on}


def read(server, shop, order_id: str) -> bytes:
    response = httpx.get(order_url(server, shop.site.id, order_id), headers=shop.headers)
    assert response.status_code == 200
    return response.content


def listing(server, shop, **query) -> httpx.Response:
    response = httpx.get(orders_url(server, shop.site.id), params=query, headers=shop.headers)
    assert response.status_code == 200, response.text
    return response


def page_bytes(documents: list[bytes], limit: int, offset: int, total: int) -> bytes:
    """A list response as the server must splice it: the stored documents, compact, in order."""
    pagination = b'{"limit":%d,"offset":%d,"total":%d}' % (limit, offset, total)
    return b'{"orders":[' + b",".join(documents) + b'],"pagination":' + pagination + b"}"


def now_to_the_millisecond() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def assert_stamped_between(text: str, before: datetime, after: datetime) -> None:
    assert TIMESTAMP.match(text), text
    assert before <= datetime.fromisoformat(text.replace("Z", "+00:00")) <= after


def action(server, shop, order_id: str, name: str, body: dict | None = None) -> httpx.Response:
    return httpx.post(order_url(server, shop.site.id, order_id) + f"/{name}", json=body, headers=shop.headers)


def money(value: str, string: str, unit: str = "USD") -> dict:
    return {"unit": unit, "value": value, "string": string}


ADDRESS = {"japanType": None, "addressee": "Arthur Dent", "line1": "1 Main St", "line2": "", "city": "Cottington",
           "state": "", "country": "GB", "postalCode": "CT1 1AA"}
BILLING = {"type": "billing", **ADDRESS}
SHIPPING = {"type": "shipping", **ADDRESS}


def item(index: int, count: int, price: dict, row_total: dict) -> dict:
    return {
        "count": count, "variantPrice": price, "rowTotal": row_total, "productId": "",
        "productName": f"Product {index}", "productSlug": "", "variantId": f"{index:024x}", "variantName": "",
        "variantSlug": "", "variantSKU": "", "variantImage": {}, "weight": None, "width": None, "height": None,
        "length": None,
    }


# --- list -------------------------------------------------------------------------------------------

def test_the_list_is_newest_accepted_first_with_ties_by_order_id(server, db):
    shop = make_shop(db)
    # Placed in an order that is neither the expected one nor its reverse; bbb-001 and aaa-001 tie.
    for order_id, accepted_on in [
        ("bbb-001", "2024-03-01T10:00:00.000Z"),
        ("ccc-000", "2023-12-31T23:59:59.999Z"),
        ("aaa-001", "2024-03-01T10:00:00.000Z"),
        ("fff-fff", "2024-03-01T10:00:00.001Z"),
        ("ddd-000", "2024-03-01T10:30:00.000+01:00"),  # 09:30 UTC: later as text, earlier in time
        ("aaa-002", "2024-01-02T00:00:00.000Z"),
    ]:
        place(server, shop, body_with(order_id, accepted_on))
    expected = ["fff-fff", "aaa-001", "bbb-001", "ddd-000", "aaa-002", "ccc-000"]

    response = listing(server, shop)

    assert [order["orderId"] for order in response.json()["orders"]] == expected
    assert response.content == page_bytes([read(server, shop, order_id) for order_id in expected], 100, 0, 6)
    assert json.loads(read(server, shop, "ddd-000"))["acceptedOn"] == "2024-03-01T09:30:00.000Z"


def test_the_status_filter_narrows_the_list_and_its_total(server, db):
    shop = make_shop(db)
    for day, status in enumerate(
        ["unfulfilled", "fulfilled", "fulfilled", "refunded", "pending", "fulfilled", "unfulfilled"], start=1
    ):
        place(server, shop, body_with(f"000-00{day}", f"2024-01-0{day}T12:00:00.000Z", status))
    documents = {f"000-00{day}": read(server, shop, f"000-00{day}") for day in range(1, 8)}

    fulfilled = listing(server, shop, status="fulfilled")
    fulfilled_page = listing(server, shop, status="fulfilled", limit=2)
    fulfilled_rest = listing(server, shop, status="fulfilled", limit=2, offset=2)
    pending = listing(server, shop, status="pending")
    disputed = listing(server, shop, status="disputed")

    assert fulfilled.content == page_bytes([documents[i] for i in ("000-006", "000-003", "000-002")], 100, 0, 3)
    assert fulfilled_page.content == page_bytes([documents[i] for i in ("000-006", "000-003")], 2, 0, 3)
    assert fulfilled_rest.content == page_bytes([documents["000-002"]], 2, 2, 3)
    assert pending.content == page_bytes([documents["000-005"]], 100, 0, 1)
    assert disputed.content == page_bytes([], 100, 0, 0)


def test_the_status_filter_follows_a_transition(server, db):
    shop = make_shop(db)
    place(server, shop, body_with("000-001", "2024-01-01T12:00:00.000Z"))
    place(server, shop, body_with("000-002", "2024-01-02T12:00:00.000Z"))

    fulfilled = action(server, shop, "000-001", "fulfill")

    assert fulfilled.status_code == 200
    assert listing(server, shop, status="fulfilled").content == page_bytes([fulfilled.content], 100, 0, 1)
    assert listing(server, shop, status="unfulfilled").content == page_bytes(
        [read(server, shop, "000-002")], 100, 0, 1
    )


def test_pages_walk_the_list_with_exact_pagination_numbers(server, db):
    shop = make_shop(db)
    ids = [f"00{day}-000" for day in range(1, 6)]
    for day, order_id in enumerate(ids, start=1):
        place(server, shop, body_with(order_id, f"2024-02-0{day}T08:00:00.000Z"))
    newest_first = [read(server, shop, order_id) for order_id in reversed(ids)]

    pages = [listing(server, shop, limit=2, offset=offset) for offset in (0, 2, 4)]

    assert pages[0].content == page_bytes(newest_first[0:2], 2, 0, 5)
    assert pages[1].content == page_bytes(newest_first[2:4], 2, 2, 5)
    assert pages[2].content == page_bytes(newest_first[4:5], 2, 4, 5)


@pytest.mark.parametrize("offset", [3, 4, 1000])
def test_an_offset_past_the_end_gives_an_empty_page_with_the_right_total(server, db, offset):
    shop = make_shop(db)
    for _ in range(3):
        place(server, shop)

    response = listing(server, shop, offset=offset, limit=1)

    assert response.content == page_bytes([], 1, offset, 3)


def test_a_limit_over_100_is_capped_at_100_as_webflow_does(server, db):
    shop = make_shop(db)
    for _ in range(101):
        place_directly(db, shop)

    capped = listing(server, shop, limit=500)
    default = listing(server, shop)
    rest = listing(server, shop, limit=100, offset=100)

    assert capped.json()["pagination"] == {"limit": 100, "offset": 0, "total": 101}
    assert len(capped.json()["orders"]) == 100
    assert default.content == capped.content
    assert rest.json()["pagination"] == {"limit": 100, "offset": 100, "total": 101}
    assert len(rest.json()["orders"]) == 1
    seen = [order["orderId"] for order in capped.json()["orders"] + rest.json()["orders"]]
    assert len(set(seen)) == 101


def test_an_empty_site_lists_no_orders(server, db):
    shop = make_shop(db)

    response = listing(server, shop)

    assert response.content == b'{"orders":[],"pagination":{"limit":100,"offset":0,"total":0}}'
    assert response.headers["content-type"] == "application/json"


# --- PATCH ------------------------------------------------------------------------------------------

UPDATES = {
    "comment": "Leave it with the neighbour",
    "shippingProvider": "UPS",
    "shippingTracking": "1Z999AA10123456784",
    "shippingTrackingURL": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
}


def test_a_patch_sets_the_given_strings_and_nothing_else(server, db):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]

    response = httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers)

    assert response.status_code == 200
    assert response.json() == {**placed.json(), **UPDATES}
    assert read(server, shop, order_id) == response.content


def test_a_field_absent_from_a_patch_is_left_unchanged(server, db):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    updated = httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers).json()

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={"shippingTracking": "1Z000"},
                           headers=shop.headers)

    assert response.status_code == 200
    assert response.json() == {**updated, "shippingTracking": "1Z000"}
    assert read(server, shop, order_id) == response.content


def test_null_clears_a_field(server, db):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]
    httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers)

    response = httpx.patch(order_url(server, shop.site.id, order_id), json=dict.fromkeys(UPDATES),
                           headers=shop.headers)

    assert response.status_code == 200
    # The spec does not let `comment` be null, so a cleared comment is "": the order as placed.
    assert response.content == placed.content
    assert read(server, shop, order_id) == placed.content


def test_a_patched_comment_keeps_every_unicode_character_as_utf8(server, db):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    comment = "Grüße aus Köln — 東京へ 📦"

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={"comment": comment}, headers=shop.headers)

    assert response.status_code == 200
    assert response.json()["comment"] == comment
    assert f'"comment":"{comment}"'.encode() in response.content
    assert read(server, shop, order_id) == response.content


def test_an_empty_patch_is_a_no_op_returning_the_same_bytes(server, db):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    before = httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers).content

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={}, headers=shop.headers)
    repeated = httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers)

    assert response.status_code == 200
    assert response.content == before
    assert repeated.status_code == 200
    assert repeated.content == before
    assert read(server, shop, order_id) == before


# --- fulfill / unfulfill ----------------------------------------------------------------------------

@pytest.mark.parametrize("body", [None, {}, {"sendOrderFulfilledEmail": False}, {"sendOrderFulfilledEmail": True}])
def test_fulfilling_sets_the_status_and_fulfilled_on(server, db, body):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]

    before = now_to_the_millisecond()
    response = action(server, shop, order_id, "fulfill", body)
    after = datetime.now(UTC)

    assert response.status_code == 200
    fulfilled = response.json()
    assert_stamped_between(fulfilled["fulfilledOn"], before, after)
    assert fulfilled == {**placed.json(), "status": "fulfilled", "fulfilledOn": fulfilled["fulfilledOn"]}
    assert read(server, shop, order_id) == response.content


def test_unfulfilling_clears_fulfilled_on_and_restores_the_order_as_placed(server, db):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]
    assert action(server, shop, order_id, "fulfill").status_code == 200

    response = action(server, shop, order_id, "unfulfill")

    assert response.status_code == 200
    assert response.json()["status"] == "unfulfilled"
    assert response.json()["fulfilledOn"] is None
    assert response.content == placed.content
    assert read(server, shop, order_id) == placed.content


def test_repeating_fulfill_returns_the_same_bytes_and_keeps_the_first_fulfilled_on(server, db):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    first = action(server, shop, order_id, "fulfill")

    again = action(server, shop, order_id, "fulfill", {"sendOrderFulfilledEmail": True})

    assert again.status_code == 200
    assert again.content == first.content
    assert read(server, shop, order_id) == first.content


def test_unfulfilling_an_unfulfilled_order_returns_the_same_bytes(server, db):
    shop = make_shop(db)
    placed = place(server, shop)

    response = action(server, shop, placed.json()["orderId"], "unfulfill")

    assert response.status_code == 200
    assert response.content == placed.content


def test_a_full_fulfil_cycle_can_be_run_twice(server, db):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]

    statuses = []
    for name in ["fulfill", "unfulfill", "fulfill", "unfulfill"]:
        response = action(server, shop, order_id, name)
        statuses.append((response.status_code, response.json()["status"]))

    assert statuses == [(200, "fulfilled"), (200, "unfulfilled"), (200, "fulfilled"), (200, "unfulfilled")]
    assert read(server, shop, order_id) == placed.content


# --- refund -----------------------------------------------------------------------------------------

def test_refunding_refunds_the_order_with_the_processors_reason(server, db):
    shop = make_shop(db)
    placed = place(server, shop)
    order_id = placed.json()["orderId"]

    before = now_to_the_millisecond()
    response = action(server, shop, order_id, "refund", {"reason": "requested"})
    after = datetime.now(UTC)

    assert response.status_code == 200
    refunded = response.json()
    assert_stamped_between(refunded["refundedOn"], before, after)
    refund_id = refunded["stripeDetails"]["refundId"]
    assert refund_id.startswith("re_")
    expected = copy.deepcopy(placed.json())
    expected.update(status="refunded", refundedOn=refunded["refundedOn"])
    expected["stripeDetails"].update(refundId=refund_id, refundReason="requested_by_customer")
    assert refunded == expected
    assert read(server, shop, order_id) == response.content


@pytest.mark.parametrize(("reason", "processor_reason"), [
    ("requested", "requested_by_customer"),
    ("duplicate", "duplicate"),
    ("fraudulent", "fraudulent"),
    (None, None),
])
def test_refunding_a_fulfilled_order_keeps_its_fulfilled_on(server, db, reason, processor_reason):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    fulfilled = action(server, shop, order_id, "fulfill").json()

    response = action(server, shop, order_id, "refund", {} if reason is None else {"reason": reason})

    assert response.status_code == 200
    refunded = response.json()
    assert refunded["refundedOn"] is not None
    expected = copy.deepcopy(fulfilled)
    expected.update(status="refunded", refundedOn=refunded["refundedOn"])
    expected["stripeDetails"].update(refundId=refunded["stripeDetails"]["refundId"], refundReason=processor_reason)
    assert refunded == expected


@pytest.mark.parametrize("repeat", [None, {}, {"reason": "requested"}, {"reason": "duplicate"}])
def test_refunding_a_refunded_order_returns_the_same_bytes(server, db, repeat):
    shop = make_shop(db)
    order_id = place(server, shop).json()["orderId"]
    first = action(server, shop, order_id, "refund", {"reason": "requested"})

    again = action(server, shop, order_id, "refund", repeat)

    assert again.status_code == 200
    assert again.content == first.content
    assert read(server, shop, order_id) == first.content


def test_a_declined_refund_is_refused_and_leaves_the_order_unchanged(server, db):
    shop = make_shop(db)
    placed = place(server, shop, last4="4111")
    order_id = placed.json()["orderId"]
    declined = (b'{"code":"bad_request","message":"Bad Request: The payment processor declined the refund '
                b'(card_declined)","externalReference":"","details":[]}')

    first = action(server, shop, order_id, "refund", {"reason": "requested"})
    second = action(server, shop, order_id, "refund", {"reason": "requested"})

    # The first decline released its amount, so the second attempt reaches the processor again.
    assert (first.status_code, first.content) == (400, declined)
    assert (second.status_code, second.content) == (400, declined)
    assert read(server, shop, order_id) == placed.content


def test_refunding_a_free_order_refunds_it(server, db):
    # Nothing was captured, so nothing goes to the processor; the table still says
    # unfulfilled -> refunded, and no refund is "in progress".
    shop = make_shop(db)
    placed = place(server, shop, prices=(0,), shipping=0, tax=0)
    order_id = placed.json()["orderId"]

    before = now_to_the_millisecond()
    response = action(server, shop, order_id, "refund", {"reason": "requested"})
    after = datetime.now(UTC)

    assert response.status_code == 200, response.text
    refunded = response.json()
    assert_stamped_between(refunded["refundedOn"], before, after)
    expected = {**placed.json(), "status": "refunded", "refundedOn": refunded["refundedOn"],
                "stripeDetails": refunded["stripeDetails"]}
    assert refunded == expected
    assert read(server, shop, order_id) == response.content


def test_a_pending_order_cannot_be_refunded(server, db):
    shop = make_shop(db)
    placed = place(server, shop, status="pending")
    order_id = placed.json()["orderId"]

    response = action(server, shop, order_id, "refund", {"reason": "requested"})

    assert response.status_code == 409
    assert response.json() == {"code": "conflict", "message": f"Order {order_id} is pending and cannot be refunded",
                               "externalReference": "", "details": []}
    assert read(server, shop, order_id) == placed.content


# --- placing ----------------------------------------------------------------------------------------

def test_placing_fills_in_every_computed_field(server, db):
    shop = make_shop(db)
    body = order_body()
    del body["status"]  # defaults to unfulfilled

    before = now_to_the_millisecond()
    response = httpx.post(orders_url(server, shop.site.id), json=body, headers=shop.headers)
    after = datetime.now(UTC)

    assert response.status_code == 201
    placed = response.json()
    assert ORDER_ID.match(placed["orderId"])
    assert_stamped_between(placed["acceptedOn"], before, after)
    stripe = placed["stripeDetails"]
    assert isinstance(stripe["paymentIntentId"], str) and stripe["paymentIntentId"]  # a simulated charge
    assert isinstance(stripe["chargeId"], str) and stripe["chargeId"]
    assert placed == {
        "orderId": placed["orderId"], "status": "unfulfilled", "comment": "", "orderComment": "",
        "acceptedOn": placed["acceptedOn"], "fulfilledOn": None, "refundedOn": None, "disputedOn": None,
        "disputeUpdatedOn": None, "disputeLastStatus": None,
        "customerPaid": money("5898", "$ 58.98 USD"),
        # 5898 - 2% (117.96 -> 118) - (2.9% (171.042 -> 171) + 30)
        "netAmount": money("5579", "$ 55.79 USD"),
        "applicationFee": money("118", "$ 1.18 USD"),
        "allAddresses": [BILLING, SHIPPING], "shippingAddress": SHIPPING, "billingAddress": BILLING,
        "shippingProvider": None, "shippingTracking": None, "shippingTrackingURL": None,
        "customerInfo": {"fullName": "Arthur Dent", "email": "arthur@example.com"},
        "purchasedItems": [
            item(0, 1, money("2500", "$ 25.00 USD"), money("2500", "$ 25.00 USD")),
            item(1, 2, money("1299", "$ 12.99 USD"), money("2598", "$ 25.98 USD")),
        ],
        "purchasedItemsCount": 3,
        "stripeDetails": {"subscriptionId": None, "paymentMethod": None, "paymentIntentId": stripe["paymentIntentId"],
                          "customerId": None, "chargeId": stripe["chargeId"], "disputeId": None, "refundId": None,
                          "refundReason": None},
        "stripeCard": {"last4": "4242", "brand": "Visa", "ownerName": "Arthur Dent",
                       "expires": {"year": 2030, "month": 4}},
        "paypalDetails": {}, "customData": [], "metadata": {"isBuyNow": False}, "isCustomerDeleted": False,
        "isShippingRequired": False, "hasDownloads": False, "paymentProcessor": "stripe",
        "totals": {
            "extras": [
                {"type": "shipping", "name": "Flat", "price": money("500", "$ 5.00 USD"), "description": ""},
                {"type": "tax", "name": "State Taxes", "price": money("300", "$ 3.00 USD"), "description": ""},
            ],
            "subtotal": money("5098", "$ 50.98 USD"),
            "total": money("5898", "$ 58.98 USD"),
        },
        "downloadFiles": [],
    }
    assert response.content == json.dumps(placed, separators=(",", ":"), ensure_ascii=False).encode()
    assert read(server, shop, placed["orderId"]) == response.content


@pytest.mark.parametrize(("prices", "shipping", "tax", "total", "fee", "net"), [
    # 2% of 5825 = 116.5 -> 117 (half up); 2.9% = 168.925 -> 169; 5825 - 117 - 199 = 5509
    ((2500,), 3000, 325, ("5825", "$ 58.25 USD"), ("117", "$ 1.17 USD"), ("5509", "$ 55.09 USD")),
    # 2% of 1500 = 30; 2.9% = 43.5 -> 44 (half up); 1500 - 30 - 74 = 1396
    ((1000,), 400, 100, ("1500", "$ 15.00 USD"), ("30", "$ 0.30 USD"), ("1396", "$ 13.96 USD")),
    # grouping: 2% = 2469; 2.9% = 3580.05 -> 3580; 123450 - 2469 - 3610 = 117371
    ((123450,), 0, 0, ("123450", "$ 1,234.50 USD"), ("2469", "$ 24.69 USD"), ("117371", "$ 1,173.71 USD")),
])
def test_fees_are_rounded_half_up_in_whole_cents(server, db, prices, shipping, tax, total, fee, net):
    shop = make_shop(db)

    placed = place(server, shop, prices=prices, shipping=shipping, tax=tax).json()

    assert placed["totals"]["total"] == money(*total)
    assert placed["customerPaid"] == money(*total)
    assert placed["applicationFee"] == money(*fee)
    assert placed["netAmount"] == money(*net)


def test_a_jpy_site_writes_yen_without_decimals(server, db):
    shop = make_shop(db, currency="JPY")

    placed = place(server, shop, prices=(1200, 350), shipping=500, tax=100).json()

    assert [(i["variantPrice"], i["rowTotal"]) for i in placed["purchasedItems"]] == [
        (money("1200", "¥ 1,200 JPY", "JPY"), money("1200", "¥ 1,200 JPY", "JPY")),
        (money("350", "¥ 350 JPY", "JPY"), money("700", "¥ 700 JPY", "JPY")),
    ]
    assert [extra["price"] for extra in placed["totals"]["extras"]] == [
        money("500", "¥ 500 JPY", "JPY"), money("100", "¥ 100 JPY", "JPY"),
    ]
    assert placed["totals"]["subtotal"] == money("1900", "¥ 1,900 JPY", "JPY")
    assert placed["totals"]["total"] == money("2500", "¥ 2,500 JPY", "JPY")
    assert placed["customerPaid"] == money("2500", "¥ 2,500 JPY", "JPY")
    assert placed["applicationFee"] == money("50", "¥ 50 JPY", "JPY")
    # 2.9% of 2500 = 72.5 -> 73; 2500 - 50 - 103 = 2347
    assert placed["netAmount"] == money("2347", "¥ 2,347 JPY", "JPY")


def _set(path: str, value):
    """A change to an order body at a dotted path (list indexes as numbers)."""
    def change(body: dict) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return change


def _usd(value: str, string: str | None = None) -> dict:
    return {"unit": "USD", "value": value, **({"string": string} if string else {})}


@pytest.mark.parametrize(("change", "field", "message"), [
    (_set("purchasedItems.1.rowTotal", _usd("2599")), "purchasedItems[1].rowTotal",
     "must be 2598 (computed from the order)"),
    (_set("totals.subtotal", _usd("5000")), "totals.subtotal", "must be 5098 (computed from the order)"),
    (_set("totals.total", _usd("5098")), "totals.total", "must be 5898 (computed from the order)"),
    (_set("customerPaid", _usd("5899")), "customerPaid", "must be 5898 (computed from the order)"),
    (_set("purchasedItemsCount", 2), "purchasedItemsCount", "must be 3 (the sum of the items' counts)"),
    (_set("purchasedItems.0.variantPrice", _usd("2500", "$ 25 USD")), "purchasedItems[0].variantPrice.string",
     "must be '$ 25.00 USD'"),
    (_set("totals.total", _usd("5898", "$ 58.98")), "totals.total.string", "must be '$ 58.98 USD'"),
    (_set("totals.extras.0.price", _usd("500", "$ 5.00 EUR")), "totals.extras[0].price.string",
     "must be '$ 5.00 USD'"),
    (_set("purchasedItems.0.variantPrice", {"unit": "EUR", "value": "2500"}), "purchasedItems[0].variantPrice.unit",
     "must be the site's currency, USD"),
    (_set("allAddresses", [SHIPPING]), "allAddresses", "must hold the billing and the shipping address"),
    (_set("netAmount", _usd("5781")), "netAmount", "must be between 0 and customerPaid - applicationFee (5780)"),
    (_set("orderId", "order-1"), "orderId", "is already used on this site or is not of the form xxx-xxx"),
])
def test_an_inconsistent_computed_field_is_refused_naming_it(server, db, change, field, message):
    shop = make_shop(db)
    body = order_body()
    change(body)

    response = httpx.post(orders_url(server, shop.site.id), json=body, headers=shop.headers)

    assert response.status_code == 400
    assert response.json() == {"code": "validation_error", "message": f"Validation Error: {field}: {message}",
                               "externalReference": "", "details": [{"field": field, "message": message}]}
    assert listing(server, shop).json()["pagination"]["total"] == 0


@pytest.mark.parametrize("fee", ["-5", "5899", "999999"])
def test_an_application_fee_outside_what_the_customer_paid_is_refused(server, db, fee):
    # A negative fee, or one above customerPaid, would make netAmount exceed what was paid
    # or the fee exceed the payment: never a consistent order.
    shop = make_shop(db)
    body = {**order_body(), "applicationFee": _usd(fee)}

    response = httpx.post(orders_url(server, shop.site.id), json=body, headers=shop.headers)

    assert response.status_code == 400, response.text
    refused = response.json()
    assert [item["field"] for item in refused["details"]] == ["applicationFee"]
    assert refused == {"code": "validation_error",
                       "message": f"Validation Error: applicationFee: {refused['details'][0]['message']}",
                       "externalReference": "", "details": refused["details"]}
    assert listing(server, shop).json()["pagination"]["total"] == 0


def _placed_only(server, shop, order_id):
    pass


def _updated_and_fulfilled(server, shop, order_id):
    httpx.patch(order_url(server, shop.site.id, order_id), json=UPDATES, headers=shop.headers)
    action(server, shop, order_id, "fulfill")


def _refunded(server, shop, order_id):
    action(server, shop, order_id, "refund", {"reason": "fraudulent"})


@pytest.mark.parametrize("history", [_placed_only, _updated_and_fulfilled, _refunded])
def test_an_order_read_with_get_can_be_placed_unchanged_on_another_site(server, db, history):
    source, target = make_shop(db), make_shop(db)
    order_id = place(server, source).json()["orderId"]
    history(server, source, order_id)
    document = read(server, source, order_id)

    response = httpx.post(orders_url(server, target.site.id), content=document,
                          headers={**target.headers, "content-type": "application/json"})

    # Every field, computed or given, comes back as it was: same orderId, timestamps, charge, refund.
    assert response.status_code == 201
    assert response.content == document
    assert read(server, target, order_id) == document
    assert listing(server, target).content == page_bytes([document], 100, 0, 1)
    assert read(server, source, order_id) == document


def test_a_pending_order_read_with_get_can_be_placed_elsewhere_and_still_cannot_be_refunded(server, db):
    source, target = make_shop(db), make_shop(db)
    document = place(server, source, status="pending").content
    order_id = json.loads(document)["orderId"]

    cloned = httpx.post(orders_url(server, target.site.id), content=document,
                        headers={**target.headers, "content-type": "application/json"})
    refund = action(server, target, order_id, "refund")

    assert cloned.status_code == 201
    assert cloned.content == document
    assert refund.status_code == 409
    assert read(server, target, order_id) == document


def test_an_order_placed_again_on_its_own_site_is_refused_for_its_order_id(server, db):
    shop = make_shop(db)
    document = place(server, shop).content

    response = httpx.post(orders_url(server, shop.site.id), content=document,
                          headers={**shop.headers, "content-type": "application/json"})

    assert response.status_code == 400
    message = "is already used on this site or is not of the form xxx-xxx"
    assert response.json() == {"code": "validation_error", "message": f"Validation Error: orderId: {message}",
                               "externalReference": "", "details": [{"field": "orderId", "message": message}]}
    assert listing(server, shop).content == page_bytes([document], 100, 0, 1)


def test_a_pending_order_is_placed_without_timestamps_of_later_statuses(server, db):
    shop = make_shop(db)

    placed = place(server, shop, status="pending").json()

    assert (placed["status"], placed["fulfilledOn"], placed["refundedOn"]) == ("pending", None, None)
