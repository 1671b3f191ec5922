"""The Refunds resource over HTTP (BEHAVIOUR.md section 5; section 8 for the simulated processor's cards)."""

from __future__ import annotations

import time

import httpx
import pytest

from orderdesk.services import orders
from tests.factories import make_shop, order_body
from tests.server import start_server

EXCEEDS = {"field": "amount", "message": "The requested refund amount is greater than the available amount."}


def refunds_url(server, shop) -> str:
    return f"{server.api}/sites/{shop.site.id}/refunds"


def place(server, shop, **kwargs) -> dict:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=order_body(**kwargs), headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()


def create(server, shop, **body) -> httpx.Response:
    return httpx.post(refunds_url(server, shop), json={"currency": "USD", **body}, headers=shop.headers)


def refund_facts(server, shop, order_id: str) -> list:
    response = httpx.get(refunds_url(server, shop), params={"orderId": order_id, "limit": 100}, headers=shop.headers)
    return [(r["amount"], r["state"]) for r in response.json()["data"]]


def test_a_partial_refund_by_amount_is_created_and_read_back(server, db):
    shop = make_shop(db)
    order = place(server, shop)

    created = create(server, shop, orderId=order["orderId"], amount=27.01, reason="late delivery",
                     metadata={"ticket": "T-1"})

    refund = created.json()
    assert created.status_code == 201
    assert created.content.count(b'"amount":27.01,') == 1  # a JSON number in major units, exact
    assert {key: refund[key] for key in ("orderId", "currency", "type", "amount", "refundedAmount", "items",
                                         "reason", "failureReason", "state", "expiresTime", "metadata")} == {
        "orderId": order["orderId"], "currency": "USD", "type": "product", "amount": 27.01, "refundedAmount": 27.01,
        "items": [], "reason": "late delivery", "failureReason": None, "state": "succeeded", "expiresTime": None,
        "metadata": {"ticket": "T-1"},
    }
    assert refund["id"].startswith("re_")
    fetched = httpx.get(f"{refunds_url(server, shop)}/{refund['id']}", headers=shop.headers)
    assert fetched.status_code == 200
    assert fetched.content == created.content
    assert httpx.get(f"{server.api}/sites/{shop.site.id}/orders/{order['orderId']}", headers=shop.headers).json()[
        "status"] == "unfulfilled"


def test_items_shipping_and_tax_refunds_follow_the_order(server, db):
    shop = make_shop(db)
    order = place(server, shop)  # 25.00 + 2 x 12.99, shipping 5.00, tax 3.00

    item = create(server, shop, orderId=order["orderId"], items=[{"skuId": f"{1:024x}", "quantity": 1}])
    shipping = create(server, shop, orderId=order["orderId"], type="shipping", percent=100)
    tax = create(server, shop, orderId=order["orderId"], type="tax", amount=2.03)

    assert (item.status_code, item.json()["amount"], item.json()["items"]) == (
        201, 13.69, [{"skuId": f"{1:024x}", "quantity": 1, "amount": 13.69}])
    assert (shipping.status_code, shipping.json()["amount"], shipping.json()["type"]) == (201, 5.27, "shipping")
    # The tax left after the item's share (0.70) and shipping's (0.27) is 2.03: all of it, or nothing.
    assert (tax.status_code, tax.json()["amount"]) == (201, 2.03)


def test_refunds_that_reach_the_capture_refund_the_order(server, db):
    shop = make_shop(db)
    order = place(server, shop)

    create(server, shop, orderId=order["orderId"], percent=50)
    last = create(server, shop, orderId=order["orderId"], amount=29.49)

    refunded = httpx.get(f"{server.api}/sites/{shop.site.id}/orders/{order['orderId']}", headers=shop.headers).json()
    assert last.status_code == 201
    assert refunded["status"] == "refunded"
    assert refunded["stripeDetails"]["refundId"].startswith("re_sim_")
    assert refund_facts(server, shop, order["orderId"]) == [(29.49, "succeeded"), (29.49, "succeeded")]


def test_the_webflow_refund_refunds_the_remainder_through_the_same_path(server, db):
    shop = make_shop(db)
    order = place(server, shop)
    create(server, shop, orderId=order["orderId"], amount=10)

    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders/{order['orderId']}/refund",
                          json={"reason": "requested"}, headers=shop.headers)

    assert response.json()["status"] == "refunded"
    assert response.json()["stripeDetails"]["refundReason"] == "requested_by_customer"
    assert refund_facts(server, shop, order["orderId"]) == [(48.98, "succeeded"), (10, "succeeded")]


def test_more_than_is_available_is_refused_and_changes_nothing(server, db):
    shop = make_shop(db)
    order = place(server, shop)
    create(server, shop, orderId=order["orderId"], amount=50)
    before = (orders.get_order(db, shop.site.id, order["orderId"]), refund_facts(server, shop, order["orderId"]))

    response = create(server, shop, orderId=order["orderId"], amount=8.99)

    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error", "message": f"Validation Error: amount: {EXCEEDS['message']}",
        "externalReference": "", "details": [EXCEEDS],
    }
    assert (orders.get_order(db, shop.site.id, order["orderId"]), refund_facts(server, shop, order["orderId"])) == before


@pytest.mark.parametrize(("body", "details"), [
    ({"amount": 1.001}, [{"field": "amount", "message": "must have at most 2 decimal places in USD"}]),
    ({"amount": 0}, [{"field": "amount", "message": "must be more than zero"}]),
    ({"amount": "5.00"}, [{"field": "amount", "message": "must be a number in major units, e.g. 27.01"}]),
    ({"percent": 100.5}, [{"field": "percent", "message": "must be a number from 0.01 to 100, with at most 2 decimals"}]),
    ({"amount": 1, "percent": 5}, [{"field": "amount", "message": "give exactly one of amount, percent or items"}]),
    ({"amount": 1, "type": "duty"}, [{"field": "type", "message": "must be one of product, shipping, tax"}]),
    ({"amount": 1, "reason": "x" * 65}, [{"field": "reason", "message": "must be a string of at most 64 characters"}]),
    ({"amount": 1, "color": "red"}, [{"field": "color", "message": "is not a known field"}]),
    ({"amount": 1, "currency": "EUR"}, [{"field": "currency", "message": "must be the order's currency, USD"}]),
    ({"type": "tax", "amount": 1}, [{"field": "amount", "message": "A tax refund must be the whole remaining tax (3.00)."}]),
    ({"items": [{"skuId": "nope"}]}, [{"field": "items[0].skuId", "message": "is not an item of this order"}]),
    ({"items": [{"skuId": f"{1:024x}", "quantity": 3}]},
     [{"field": "items[0].quantity", "message": "must be between 1 and the ordered count (2)"}]),
])
def test_bad_refunds_name_the_field_and_create_nothing(server, db, body, details):
    shop = make_shop(db)
    order = place(server, shop)

    response = create(server, shop, orderId=order["orderId"], **body)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"] == details
    assert refund_facts(server, shop, order["orderId"]) == []


def test_an_unknown_order_or_refund_is_a_404(server, db):
    shop = make_shop(db)

    missing_order = create(server, shop, orderId="fff-fff", amount=1)
    missing_refund = httpx.get(f"{refunds_url(server, shop)}/re_000", headers=shop.headers)

    assert (missing_order.status_code, missing_order.json()["code"]) == (404, "order_not_found")
    assert missing_refund.status_code == 404
    assert missing_refund.json()["message"] == "Requested resource not found: The refund cannot be found"


def test_another_sites_refund_is_not_found_and_a_read_token_cannot_create(server, db):
    shop, other = make_shop(db), make_shop(db)
    order = place(server, shop)
    refund = create(server, shop, orderId=order["orderId"], amount=1).json()
    reader = make_shop(db, scopes=["ecommerce:read"])

    assert httpx.get(f"{refunds_url(server, other)}/{refund['id']}", headers=other.headers).status_code == 404
    forbidden = httpx.post(refunds_url(server, reader), json={"orderId": "abc-def", "currency": "USD", "amount": 1},
                           headers=reader.headers)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "missing_scopes")


def test_a_declined_card_makes_a_failed_refund_that_releases_its_amount(server, db):
    shop = make_shop(db)
    order = place(server, shop, last4="4111")

    response = create(server, shop, orderId=order["orderId"], amount=10)
    again = create(server, shop, orderId=order["orderId"], amount=58.98)

    assert response.status_code == 201
    assert (response.json()["state"], response.json()["failureReason"], response.json()["refundedAmount"]) == (
        "failed", "card_declined", 0)
    assert again.json()["state"] == "failed"  # the whole capture was available again


def test_list_pages_newest_first_with_cursors_and_filters(server, db):
    shop = make_shop(db)
    order, other = place(server, shop), place(server, shop)
    made = [create(server, shop, orderId=order["orderId"], amount=amount, reason="r" if amount == 2 else None).json()
            for amount in (1, 2, 3)]
    create(server, shop, orderId=other["orderId"], amount=4)
    url, ids = refunds_url(server, shop), [refund["id"] for refund in made]

    first = httpx.get(url, params={"orderId": order["orderId"], "limit": 2}, headers=shop.headers).json()
    second = httpx.get(url, params={"orderId": order["orderId"], "limit": 2, "startingAfter": ids[1]},
                       headers=shop.headers).json()
    back = httpx.get(url, params={"orderId": order["orderId"], "limit": 2, "endingBefore": ids[0]},
                     headers=shop.headers).json()
    by_ids = httpx.get(url, params={"ids": f"{ids[0]},{ids[2]}"}, headers=shop.headers).json()
    by_reason = httpx.get(url, params={"reason": "r"}, headers=shop.headers).json()
    created = made[1]["createdTime"]
    since = httpx.get(url, params={"orderId": order["orderId"], "createdTime[gte]": created}, headers=shop.headers).json()
    all_four = httpx.get(url, headers=shop.headers).json()

    assert ([r["id"] for r in first["data"]], first["hasMore"]) == ([ids[2], ids[1]], True)
    assert ([r["id"] for r in second["data"]], second["hasMore"]) == ([ids[0]], False)
    assert ([r["id"] for r in back["data"]], back["hasMore"]) == ([ids[2], ids[1]], False)
    assert [r["id"] for r in by_ids["data"]] == [ids[2], ids[0]]
    assert [r["id"] for r in by_reason["data"]] == [ids[1]]
    assert [r["id"] for r in since["data"]][-1] == ids[1]
    assert len(all_four["data"]) == 4


def test_list_filters_by_sku_and_state(server, db):
    shop = make_shop(db)
    order = place(server, shop)
    by_item = create(server, shop, orderId=order["orderId"], items=[{"itemId": f"{0:024x}", "percent": 10}]).json()
    create(server, shop, orderId=order["orderId"], amount=1)

    found = httpx.get(refunds_url(server, shop), params={"skuId": f"{0:024x}"}, headers=shop.headers).json()
    failed = httpx.get(refunds_url(server, shop), params={"state": "failed"}, headers=shop.headers).json()

    assert [r["id"] for r in found["data"]] == [by_item["id"]]
    assert failed == {"hasMore": False, "data": []}


@pytest.mark.parametrize(("query", "field"), [
    ({"limit": "101"}, "limit"), ({"limit": "0"}, "limit"), ({"state": "done"}, "state"),
    ({"startingAfter": "re_x", "endingBefore": "re_y"}, "endingBefore"), ({"startingAfter": "re_nope"}, "startingAfter"),
    ({"createdTime[gt]": "yesterday"}, "createdTime[gt]"),
])
def test_bad_list_queries_are_400s_naming_the_parameter(server, db, query, field):
    shop = make_shop(db)

    response = httpx.get(refunds_url(server, shop), params=query, headers=shop.headers)

    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == [field]


def test_metadata_is_merged_and_a_null_removes_a_key(server, db):
    shop = make_shop(db)
    order = place(server, shop)
    refund = create(server, shop, orderId=order["orderId"], amount=1, metadata={"a": "1", "b": "2"}).json()
    url = f"{refunds_url(server, shop)}/{refund['id']}"

    updated = httpx.post(url, json={"metadata": {"b": None, "c": "3"}}, headers=shop.headers)
    refused = httpx.post(url, json={"amount": 5}, headers=shop.headers)

    assert updated.status_code == 200
    assert updated.json()["metadata"] == {"a": "1", "c": "3"}
    assert (updated.json()["amount"], updated.json()["state"]) == (1, "succeeded")
    assert refused.status_code == 400
    assert refused.json()["details"] == [{"field": "amount", "message": "only metadata can be updated"}]
    assert httpx.get(url, headers=shop.headers).json()["metadata"] == {"a": "1", "c": "3"}


@pytest.fixture(scope="module")
def quick_server(database_url):
    """A server whose simulated processor settles in a second and whose reconciler runs often."""
    running = start_server(database_url, env={
        "ORDERDESK_SIMULATED_FAIL_AFTER": "0.5", "ORDERDESK_SIMULATED_INFORMATION_WINDOW": "1",
        "ORDERDESK_RECONCILE_INTERVAL": "0.2", "ORDERDESK_RECONCILE_AFTER": "0.2",
    })
    yield running
    running.stop()


def wait_for_state(server, shop, refund_id: str, state: str) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        refund = httpx.get(f"{refunds_url(server, shop)}/{refund_id}", headers=shop.headers).json()
        if refund["state"] == state:
            return refund
        time.sleep(0.1)
    raise AssertionError(f"refund {refund_id} never became {state}: {refund}")


def test_a_card_that_fails_later_goes_pending_then_failed_and_releases(quick_server, db):
    shop = make_shop(db)
    order = place(quick_server, shop, last4="5126")

    created = create(quick_server, shop, orderId=order["orderId"], amount=10)
    failed = wait_for_state(quick_server, shop, created.json()["id"], "failed")

    assert created.json()["state"] == "pending"
    assert (failed["failureReason"], failed["refundedAmount"]) == ("expired_or_canceled_card", 0)
    assert create(quick_server, shop, orderId=order["orderId"], amount=58.98).json()["state"] == "pending"


def test_a_card_that_needs_bank_details_waits_then_expires(quick_server, db):
    shop = make_shop(db)
    order = place(quick_server, shop, last4="0839")

    created = create(quick_server, shop, orderId=order["orderId"], amount=10).json()
    expired = wait_for_state(quick_server, shop, created["id"], "expired")

    assert created["state"] == "pending_information"
    assert created["expiresTime"] is not None
    assert expired["expiresTime"] == created["expiresTime"]
    assert expired["refundedAmount"] == 0


@pytest.mark.parametrize("raw", [b'{"orderId":"%s","currency":"USD","amount":1e999999}',
                                 b'{"orderId":"%s","currency":"USD","percent":1e999999}',
                                 b'{"orderId":"%s","currency":"USD","amount":100000000000000000000}'])
def test_absurd_numbers_are_400s_not_500s(server, db, raw):
    shop = make_shop(db)
    order = place(server, shop)

    response = httpx.post(refunds_url(server, shop), content=raw % order["orderId"].encode(),
                          headers={**shop.headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert refund_facts(server, shop, order["orderId"]) == []


def test_a_tax_refund_that_comes_to_nothing_is_a_400(server, db):
    shop = make_shop(db)
    order = place(server, shop)
    create(server, shop, orderId=order["orderId"], type="tax", percent=100)

    response = create(server, shop, orderId=order["orderId"], type="tax", percent=0.01)

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "amount", "message": "The requested refund comes to less than one minor unit."}]


def test_a_created_time_out_of_range_is_a_400(server, db):
    shop = make_shop(db)

    response = httpx.get(refunds_url(server, shop), params={"createdTime[gte]": "0001-01-01T00:00:00+01:00"},
                         headers=shop.headers)

    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["createdTime[gte]"]
