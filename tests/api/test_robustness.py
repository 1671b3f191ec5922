"""Issue 9's smaller defects, each over HTTP through a real server: methods (HEAD, OPTIONS), NUL characters
in paths and queries, absurd query integers, what placing refuses, concurrent metadata merges, a client that
hangs up mid-body."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from orderdesk.domain import clock
from orderdesk.store.repositories.orders import OrderRepository
from tests.factories import make_shop, order_body, place
from tests.server import start_server

ENVELOPE_KEYS = ["code", "message", "externalReference", "details"]
NUL_REFUSED = {"code": "bad_request", "externalReference": "", "details": [],
               "message": "Bad Request: Request is malformed (a NUL character in the path or query)"}


def orders_url(server, shop) -> str:
    return f"{server.api}/sites/{shop.site.id}/orders"


def validation(field: str, message: str) -> dict:
    return {"code": "validation_error", "message": f"Validation Error: {field}: {message}", "externalReference": "",
            "details": [{"field": field, "message": message}]}


# --- HEAD and OPTIONS -------------------------------------------------------------------------------

def test_head_answers_as_get_without_the_body(server, db):
    shop = make_shop(db)
    order = place(db, shop)
    url = f"{orders_url(server, shop)}/{order.order_id}"
    got = httpx.get(url, headers=shop.headers)

    response = httpx.head(url, headers=shop.headers)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(got.content))
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(("path", "allowed"), [
    ("/sites/{site}/orders", "GET, HEAD, OPTIONS, POST"),
    ("/sites/{site}/orders/{order}", "GET, HEAD, OPTIONS, PATCH"),
    ("/sites/{site}/orders/{order}/fulfill", "OPTIONS, POST"),
    ("/sites/{site}/refunds/re_1", "GET, HEAD, OPTIONS, POST"),
    ("/webhooks/0123", "DELETE, GET, HEAD, OPTIONS"),
])
def test_options_names_every_method_of_the_path(server, db, path, allowed):
    shop = make_shop(db)
    order = place(db, shop)

    response = httpx.options(server.api + path.format(site=shop.site.id, order=order.order_id))

    assert (response.status_code, response.headers["allow"], response.content) == (204, allowed, b"")
    assert response.headers["x-request-id"]


# --- NUL characters and absurd integers in queries --------------------------------------------------

@pytest.mark.parametrize("target", [
    "/sites/{site}/orders/{order}%00", "/sites/{site}%00/orders", "/sites/{site}/orders?status=%00",
    "/sites/{site}/refunds?orderId=ab%00cd", "/sites/{site}/refunds/re_%00",
])
def test_a_nul_character_in_a_path_or_query_is_a_bad_request(server, db, target):
    shop = make_shop(db)
    order = place(db, shop)

    response = httpx.get(server.api + target.format(site=shop.site.id, order=order.order_id), headers=shop.headers)

    assert (response.status_code, response.json()) == (400, NUL_REFUSED)
    assert response.headers["x-request-id"]


def test_a_limit_of_many_digits_is_capped_and_an_offset_of_many_digits_is_past_the_end(server, db):
    shop = make_shop(db)
    place(db, shop)

    capped = httpx.get(orders_url(server, shop), params={"limit": "9" * 30}, headers=shop.headers)
    past = httpx.get(orders_url(server, shop), params={"offset": "9" * 30}, headers=shop.headers)
    webhooks = httpx.get(f"{server.api}/sites/{shop.site.id}/webhooks", params={"offset": "9" * 25},
                         headers=shop.headers)

    assert (capped.status_code, len(capped.json()["orders"]), capped.json()["pagination"]) == (
        200, 1, {"limit": 100, "offset": 0, "total": 1})
    assert (past.status_code, past.json()["orders"], past.json()["pagination"]) == (
        200, [], {"limit": 100, "offset": 2**53 - 1, "total": 1})
    assert (webhooks.status_code, webhooks.json()["webhooks"]) == (200, [])


# --- what placing refuses ---------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field", "message"), [
    ({"shippingTrackingURL": "javascript:alert(1)"}, "shippingTrackingURL", "must be an absolute http(s) URL"),
    ({"shippingTrackingURL": "http://[::1"}, "shippingTrackingURL", "must be an absolute http(s) URL"),
    ({"shippingTrackingURL": "http://a..b/"}, "shippingTrackingURL", "must be an absolute http(s) URL"),
    ({"customerInfo": {"fullName": "A", "email": "not an email"}}, "customerInfo.email", "must be an email address"),
    ({"customerInfo": {"fullName": "A", "email": "a" * 400 + "@example.com"}}, "customerInfo.email",
     "must be an email address"),
    ({"acceptedOn": "0999-06-01T00:00:00.000Z"}, "acceptedOn", "must be an ISO 8601 timestamp from 1970 to 9999"),
    ({"acceptedOn": "0001-01-01T00:00:00+01:00"}, "acceptedOn", "must be an ISO 8601 timestamp from 1970 to 9999"),
])
def test_placing_refuses_what_could_not_be_served_or_used_later(server, db, change, field, message):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop), json={**order_body(), **change}, headers=shop.headers)

    assert (response.status_code, response.json()) == (400, validation(field, message))
    assert httpx.get(orders_url(server, shop), headers=shop.headers).json()["pagination"]["total"] == 0


@pytest.mark.parametrize(("count", "message"), [(2**63 - 1, "must be at most 1000000"), (2**64, "must be at most 1000000"),
                                                (0, "must be at least 1")])
def test_placing_refuses_a_count_the_database_could_not_hold(server, db, count, message):
    shop = make_shop(db)
    body = order_body()
    body["purchasedItems"][0]["count"] = count

    response = httpx.post(orders_url(server, shop), json=body, headers=shop.headers)

    assert (response.status_code, response.json()) == (400, validation("purchasedItems[0].count", message))
    assert httpx.get(orders_url(server, shop), headers=shop.headers).json()["pagination"]["total"] == 0


def test_a_year_before_1000_is_written_with_four_digits():
    moment = clock.from_wire("0999-06-01T12:00:00.123Z")

    assert clock.to_wire(moment) == "0999-06-01T12:00:00.123Z"


# --- concurrent metadata merges ---------------------------------------------------------------------

def test_concurrent_metadata_merges_on_one_refund_keep_every_key(server, db):
    shop = make_shop(db)
    order = place(db, shop)
    refunds = f"{server.api}/sites/{shop.site.id}/refunds"
    refund_id = httpx.post(refunds, json={"orderId": order.order_id, "currency": "USD", "amount": 1},
                           headers=shop.headers).json()["id"]

    def merge(index: int) -> int:
        return httpx.post(f"{refunds}/{refund_id}", json={"metadata": {f"key{index}": str(index)}},
                          headers=shop.headers, timeout=30).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(merge, range(20)))

    assert statuses == [200] * 20
    metadata = httpx.get(f"{refunds}/{refund_id}", headers=shop.headers).json()["metadata"]
    assert metadata == {f"key{index}": str(index) for index in range(20)}


# --- a client that hangs up mid-body ----------------------------------------------------------------

def test_a_client_that_hangs_up_mid_body_is_not_logged_as_a_server_error(database_url, db):
    shop = make_shop(db)
    order = place(db, shop)
    running = start_server(database_url, env={"ORDERDESK_DELIVERY_WORKER": "false", "ORDERDESK_LOG_FORMAT": "json",
                                              "ORDERDESK_LOG_LEVEL": "info"})
    try:
        path = f"/v2/sites/{shop.site.id}/orders/{order.order_id}"
        with socket.create_connection(("127.0.0.1", running.port)) as connection:
            connection.sendall(f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {shop.token}\r\n"
                               "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"comment\":".encode())
        deadline = time.monotonic() + 10
        while "before sending the whole body" not in running.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        after = httpx.get(f"{running.url}{path}", headers=shop.headers)
        output = running.output()
    finally:
        running.stop()

    assert "before sending the whole body" in output
    assert "unexpected error" not in output and "Traceback" not in output
    assert after.status_code == 200
    with db.reading() as connection:
        assert [entry["action"] for entry in OrderRepository(connection).history(shop.site.id, order.order_id)] == [
            "place"]


def test_the_body_limit_named_in_a_413_is_the_configured_one(database_url, db):
    shop = make_shop(db)
    order = place(db, shop)
    running = start_server(database_url, env={"ORDERDESK_DELIVERY_WORKER": "false", "ORDERDESK_MAX_BODY_BYTES": "2048"})
    try:
        url = f"{running.api}/sites/{shop.site.id}/orders/{order.order_id}"
        response = httpx.patch(url, json={"comment": "x" * 3000}, headers=shop.headers)
        after = httpx.get(url, headers=shop.headers)
    finally:
        running.stop()

    assert (response.status_code, response.json()["message"]) == (413, "Bad Request: Request body is larger than 2,048 bytes")
    assert after.json()["comment"] == ""


def test_a_clients_free_form_numbers_come_back_as_the_numbers_they_were(server, db):
    # Non-integers are decoded exactly (Decimal); they must be written back as numbers, not strings, so
    # that an order read with GET can be placed again unchanged.
    shop = make_shop(db)
    body = order_body()
    body["customData"] = [{"giftNote": 0.25, "ribbon": 1e-7, "count": 3}]
    body["purchasedItems"][0]["variantImage"] = {"width": 1.5, "height": "HEIGHT"}
    # More digits than a float holds: written by hand, since json.dumps would round it.
    content = json.dumps(body).replace('"HEIGHT"', "1234567890.123456789").encode()

    placed = httpx.post(orders_url(server, shop), content=content,
                        headers={**shop.headers, "Content-Type": "application/json"})

    assert placed.status_code == 201
    assert b'"customData":[{"giftNote":0.25,"ribbon":1E-7,"count":3}]' in placed.content
    assert b'"variantImage":{"width":1.5,"height":1234567890.123456789}' in placed.content


def test_an_order_with_a_huge_free_form_number_can_still_be_changed(server, db):
    # Stored as written (1E+400), it must be read back the same: a float would be out of range.
    shop = make_shop(db)
    body = order_body()
    body["customData"] = [{"big": "BIG", "fine": "FINE"}]
    content = (json.dumps(body).replace('"BIG"', "1e400").replace('"FINE"', "0.10000000000000000000001")).encode()
    placed = httpx.post(orders_url(server, shop), content=content,
                        headers={**shop.headers, "Content-Type": "application/json"})
    url = f"{orders_url(server, shop)}/{placed.json()['orderId']}"

    patched = httpx.patch(url, json={"comment": "still fine"}, headers=shop.headers)
    fulfilled = httpx.post(url + "/fulfill", headers=shop.headers)

    assert (placed.status_code, patched.status_code, fulfilled.status_code) == (201, 200, 200)
    assert b'"customData":[{"big":1E+400,"fine":0.10000000000000000000001}]' in fulfilled.content


def test_head_requests_are_counted_under_their_route(database_url, db):
    shop = make_shop(db)
    order = place(db, shop)
    running = start_server(database_url, env={"ORDERDESK_DELIVERY_WORKER": "false"})
    try:
        for _ in range(3):
            assert httpx.head(f"{running.api}/sites/{shop.site.id}/orders/{order.order_id}",
                              headers=shop.headers).status_code == 200
        scrape = httpx.get(f"{running.url}/metrics").text
    finally:
        running.stop()

    assert ('orderdesk_http_requests_total{method="HEAD",route="/v2/sites/{site_id}/orders/{order_id}",'
            'status="200"} 3.0') in scrape
