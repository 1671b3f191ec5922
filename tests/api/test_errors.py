"""Every refusal over HTTP: Webflow's error envelope, exact status and headers, and nothing changed.

BEHAVIOUR.md section 2 is the table these tests follow. `externalReference` is "" because the
reference spec types it as a non-nullable string (the spec wins on shapes).
"""

from __future__ import annotations

import json

import httpx
import pytest

from orderdesk.services import access
from orderdesk.services import orders as order_service
from tests.factories import make_shop, order_body

MIB = 1024 * 1024
MALFORMED = "Bad Request: Request is malformed"
WRONG_CONTENT_TYPE = "Bad Request: Request is malformed (send Content-Type: application/json)"
NOT_AUTHORIZED = "Request not authorized"
SITE_NOT_FOUND = "Requested resource not found: The site cannot be found"
ORDER_NOT_FOUND = "Requested resource not found: The order cannot be found"
MISSING_WRITE = "OAuthForbidden: You are missing the following scopes - ecommerce:write"
MISSING_READ = "OAuthForbidden: You are missing the following scopes - ecommerce:read"
STATUSES = "pending, unfulfilled, fulfilled, disputed, dispute-lost, refunded"


def envelope(code: str, message: str, details: list[tuple[str, str]] = ()) -> bytes:
    """The exact compact bytes of Webflow's error body."""
    body = {"code": code, "message": message, "externalReference": "",
            "details": [{"field": field, "message": text} for field, text in details]}
    return json.dumps(body, separators=(",", ":")).encode()


def validation(*details: tuple[str, str]) -> bytes:
    summary = "; ".join(f"{field}: {text}" for field, text in details)
    return envelope("validation_error", f"Validation Error: {summary}", list(details))


def assert_validation_naming_every_field(response: httpx.Response, expected: set[tuple[str, str]]) -> None:
    """A validation_error with one details item per field, in whatever order the server lists them."""
    assert response.status_code == 400
    body = response.json()
    details = [(item["field"], item["message"]) for item in body["details"]]
    assert sorted(details) == sorted(expected)
    assert response.content == validation(*details)


def orders_url(server, site_id: str) -> str:
    return f"{server.api}/sites/{site_id}/orders"


def order_url(server, site_id: str, order_id: str) -> str:
    return f"{orders_url(server, site_id)}/{order_id}"


def place(server, shop, **body_fields) -> tuple[str, bytes]:
    """Place an order over HTTP; returns its id and its document bytes."""
    body = {**order_body(shop.site.currency, status=body_fields.pop("status", "unfulfilled")), **body_fields}
    response = httpx.post(orders_url(server, shop.site.id), json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()["orderId"], response.content


def read(server, shop, order_id: str) -> bytes:
    response = httpx.get(order_url(server, shop.site.id, order_id), headers=shop.headers)
    assert response.status_code == 200
    return response.content


def make_reader(db, shop) -> dict[str, str]:
    """Headers for a second token on the same site that may only read."""
    token, _ = access.create_token(db, shop.site.id, ["ecommerce:read"], 0)
    return {"Authorization": f"Bearer {token}"}


def order_count(db, site_id: str) -> int:
    return order_service.list_orders(db, site_id, None, 0, 100).total


JSON = {"content-type": "application/json"}
WRITES = [
    ("PATCH", ""),
    ("POST", "/fulfill"),
    ("POST", "/unfulfill"),
    ("POST", "/refund"),
]


# --- 400 bad_request: malformed JSON, wrong content type -----------------------------------------

@pytest.mark.parametrize(("method", "suffix"), WRITES)
def test_malformed_json_is_a_bad_request_and_changes_nothing(server, db, method, suffix):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.request(method, order_url(server, shop.site.id, order_id) + suffix,
                             content=b'{"comment": "unterminated', headers={**shop.headers, **JSON})

    assert response.status_code == 400
    assert response.content == envelope("bad_request", MALFORMED)
    assert response.headers["content-type"] == "application/json"
    assert read(server, shop, order_id) == before


def test_placing_malformed_json_is_a_bad_request_and_creates_nothing(server, db):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop.site.id), content=b'{"status": ',
                          headers={**shop.headers, **JSON})

    assert response.status_code == 400
    assert response.content == envelope("bad_request", MALFORMED)
    assert order_count(db, shop.site.id) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_with_a_wrong_content_type_is_a_bad_request_and_changes_nothing(server, db, content_type):
    shop = make_shop(db)
    order_id, before = place(server, shop)
    headers = {**shop.headers, **({"content-type": content_type} if content_type else {})}

    response = httpx.patch(order_url(server, shop.site.id, order_id), content=b'{"comment":"set"}', headers=headers)

    assert response.status_code == 400
    assert response.content == envelope("bad_request", WRONG_CONTENT_TYPE)
    assert read(server, shop, order_id) == before


def test_placing_with_a_wrong_content_type_is_a_bad_request_and_creates_nothing(server, db):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop.site.id), content=json.dumps(order_body()).encode(),
                          headers={**shop.headers, "content-type": "text/plain"})

    assert response.status_code == 400
    assert response.content == envelope("bad_request", WRONG_CONTENT_TYPE)
    assert order_count(db, shop.site.id) == 0


# --- 400 validation_error ---------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "field", "message"), [
    ({"status": "shipped"}, "status", f"must be one of {STATUSES}"),
    ({"status": "Fulfilled"}, "status", f"must be one of {STATUSES}"),
    ({"limit": "0"}, "limit", "must be at least 1"),
    ({"limit": "-5"}, "limit", "must be at least 1"),
    ({"offset": "-1"}, "offset", "must be at least 0"),
    ({"limit": "abc"}, "limit", "must be an integer"),
    ({"limit": "2.5"}, "limit", "must be an integer"),
    ({"offset": "ten"}, "offset", "must be an integer"),
])
def test_a_bad_list_query_is_a_validation_error_naming_the_parameter(server, db, query, field, message):
    shop = make_shop(db)

    response = httpx.get(orders_url(server, shop.site.id), params=query, headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation((field, message))


def test_a_list_query_with_several_bad_parameters_names_every_one(server, db):
    # BEHAVIOUR.md section 2: "one details item per field".
    shop = make_shop(db)

    response = httpx.get(orders_url(server, shop.site.id), params={"status": "shipped", "limit": "0", "offset": "-1"},
                         headers=shop.headers)

    assert_validation_naming_every_field(response, {
        ("status", f"must be one of {STATUSES}"),
        ("limit", "must be at least 1"),
        ("offset", "must be at least 0"),
    })


@pytest.mark.parametrize("field", ["status", "orderComment", "customerInfo", "shippingtrackingurl", "refundReason"])
def test_patching_a_field_that_cannot_be_updated_names_it_and_changes_nothing(server, db, field):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={field: "fulfilled"}, headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation((field, "is not a field that can be updated"))
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize("field", ["comment", "shippingProvider", "shippingTracking", "shippingTrackingURL"])
@pytest.mark.parametrize("value", [5, True, ["UPS"], {"name": "UPS"}])
def test_patching_a_non_string_value_names_the_field_and_changes_nothing(server, db, field, value):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={field: value}, headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation((field, "must be a string or null"))
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize("url", [
    "ftp://tracking.example.com/1Z999",
    "www.ups.com/track?tracknum=1Z999",
    "/track?tracknum=1Z999",
    "https://",
    "javascript:alert(1)",
    "https://www.ups.com/track?tracknum=1Z 999",
    "",
])
def test_patching_a_tracking_url_that_is_not_an_absolute_web_url_is_refused(server, db, url):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id), json={"shippingTrackingURL": url},
                           headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation(("shippingTrackingURL", "must be an absolute http(s) URL"))
    assert read(server, shop, order_id) == before


def test_a_patch_with_several_problems_names_every_field_and_changes_nothing(server, db):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id),
                           json={"status": "fulfilled", "comment": 5, "shippingTrackingURL": "nope",
                                 "shippingProvider": "UPS"},
                           headers=shop.headers)

    assert_validation_naming_every_field(response, {
        ("status", "is not a field that can be updated"),
        ("comment", "must be a string or null"),
        ("shippingTrackingURL", "must be an absolute http(s) URL"),
    })
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize("body", [[], ["comment"], "comment", 5, None])
def test_a_patch_body_that_is_not_an_object_is_a_validation_error(server, db, body):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id), content=json.dumps(body).encode(),
                           headers={**shop.headers, **JSON})

    assert response.status_code == 400
    assert response.content == validation(("body", "must be a JSON object"))
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize("reason", ["because", "requested_by_customer", "Requested", "", 3])
def test_a_refund_reason_outside_the_enum_is_refused_and_refunds_nothing(server, db, reason):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.post(order_url(server, shop.site.id, order_id) + "/refund", json={"reason": reason},
                          headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation(("reason", "must be one of duplicate, fraudulent, requested"))
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize(("suffix", "field"), [
    ("/fulfill", "sendEmail"),
    ("/fulfill", "status"),
    ("/unfulfill", "sendOrderFulfilledEmail"),
    ("/refund", "amount"),
])
def test_an_unknown_field_in_an_action_body_is_named_and_changes_nothing(server, db, suffix, field):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.post(order_url(server, shop.site.id, order_id) + suffix, json={field: True},
                          headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation((field, "is not a known field"))
    assert read(server, shop, order_id) == before


def test_a_fulfill_body_with_two_unknown_fields_names_both(server, db):
    # BEHAVIOUR.md section 2: "one details item per field".
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.post(order_url(server, shop.site.id, order_id) + "/fulfill",
                          json={"sendEmail": True, "notify": True}, headers=shop.headers)

    assert_validation_naming_every_field(response, {
        ("sendEmail", "is not a known field"), ("notify", "is not a known field"),
    })
    assert read(server, shop, order_id) == before


def test_a_refund_body_with_an_unknown_field_and_a_bad_reason_names_both(server, db):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.post(order_url(server, shop.site.id, order_id) + "/refund",
                          json={"reason": "because", "amount": 100}, headers=shop.headers)

    assert_validation_naming_every_field(response, {
        ("amount", "is not a known field"), ("reason", "must be one of duplicate, fraudulent, requested"),
    })
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize("value", ["true", 1, None, {}])
def test_a_send_email_flag_that_is_not_a_boolean_is_refused(server, db, value):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.post(order_url(server, shop.site.id, order_id) + "/fulfill",
                          json={"sendOrderFulfilledEmail": value}, headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation(("sendOrderFulfilledEmail", "must be a boolean"))
    assert read(server, shop, order_id) == before


@pytest.mark.parametrize(("extra", "field"), [
    ({"giftWrap": True}, "giftWrap"),
    ({"customerInfo": {"fullName": "Arthur Dent", "email": "arthur@example.com", "phone": "555"}},
     "customerInfo.phone"),
])
def test_placing_an_order_with_an_unknown_field_names_it_and_creates_nothing(server, db, extra, field):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop.site.id), json={**order_body(), **extra}, headers=shop.headers)

    assert response.status_code == 400
    assert response.content == validation((field, "is not a known field"))
    assert order_count(db, shop.site.id) == 0


def test_placing_an_order_with_two_unknown_fields_names_both(server, db):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop.site.id), json={**order_body(), "giftWrap": True, "coupon": "X"},
                          headers=shop.headers)

    assert_validation_naming_every_field(response, {
        ("giftWrap", "is not a known field"), ("coupon", "is not a known field"),
    })
    assert order_count(db, shop.site.id) == 0


# --- 401 not_authorized -----------------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [
    None,
    "Bearer",
    "Bearer not-a-token-anyone-was-given",
    "Basic YXJ0aHVyOmRlbnQ=",
    "not-even-a-scheme",
])
def test_a_missing_or_unknown_token_is_not_authorized(server, db, authorization):
    shop = make_shop(db)
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = httpx.get(orders_url(server, shop.site.id), headers=headers)

    assert response.status_code == 401
    assert response.content == envelope("not_authorized", NOT_AUTHORIZED)


@pytest.mark.parametrize(("method", "suffix"), WRITES)
def test_a_write_with_an_unknown_token_is_not_authorized_and_changes_nothing(server, db, method, suffix):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.request(method, order_url(server, shop.site.id, order_id) + suffix, json={},
                             headers={"Authorization": "Bearer " + "0" * 64})

    assert response.status_code == 401
    assert response.content == envelope("not_authorized", NOT_AUTHORIZED)
    assert read(server, shop, order_id) == before


def test_a_revoked_token_is_not_authorized_from_its_next_request(server, db):
    shop = make_shop(db)
    order_id, before = place(server, shop)
    reader_headers = make_reader(db, shop)
    assert httpx.get(orders_url(server, shop.site.id), headers=shop.headers).status_code == 200

    assert access.revoke_token(db, shop.token_id) is True
    listing = httpx.get(orders_url(server, shop.site.id), headers=shop.headers)
    fulfilling = httpx.post(order_url(server, shop.site.id, order_id) + "/fulfill", headers=shop.headers)

    assert listing.status_code == 401
    assert listing.content == envelope("not_authorized", NOT_AUTHORIZED)
    assert fulfilling.status_code == 401
    assert fulfilling.content == envelope("not_authorized", NOT_AUTHORIZED)
    assert httpx.get(order_url(server, shop.site.id, order_id), headers=reader_headers).content == before


# --- 403 missing_scopes -----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("PATCH", "", {"comment": "set"}),
    ("POST", "/fulfill", {}),
    ("POST", "/unfulfill", {}),
    ("POST", "/refund", {"reason": "requested"}),
])
def test_a_read_only_token_cannot_write_and_changes_nothing(server, db, method, suffix, body):
    shop = make_shop(db)
    order_id, before = place(server, shop)
    reader = make_reader(db, shop)

    response = httpx.request(method, order_url(server, shop.site.id, order_id) + suffix, json=body, headers=reader)

    assert response.status_code == 403
    assert response.content == envelope("missing_scopes", MISSING_WRITE)
    assert read(server, shop, order_id) == before


def test_a_read_only_token_cannot_place_an_order(server, db):
    shop = make_shop(db)

    response = httpx.post(orders_url(server, shop.site.id), json=order_body(), headers=make_reader(db, shop))

    assert response.status_code == 403
    assert response.content == envelope("missing_scopes", MISSING_WRITE)
    assert order_count(db, shop.site.id) == 0


def test_a_token_with_only_site_scopes_cannot_read_orders(server, db):
    shop = make_shop(db, scopes=["sites:read", "sites:write"])

    response = httpx.get(orders_url(server, shop.site.id), headers=shop.headers)

    assert response.status_code == 403
    assert response.content == envelope("missing_scopes", MISSING_READ)


def test_a_write_scope_implies_its_read_scope(server, db):
    shop = make_shop(db, scopes=["ecommerce:write"])

    response = httpx.get(orders_url(server, shop.site.id), headers=shop.headers)

    assert response.status_code == 200
    assert response.content == b'{"orders":[],"pagination":{"limit":100,"offset":0,"total":0}}'


# --- 404 resource_not_found / order_not_found -------------------------------------------------------

def test_another_sites_orders_look_exactly_like_a_missing_site(server, db):
    mine, theirs = make_shop(db), make_shop(db)
    their_order, before = place(server, theirs)
    missing_site = "0" * 24

    requests = [
        ("GET", orders_url(server, "{site}"), None),
        ("GET", order_url(server, "{site}", their_order), None),
        ("PATCH", order_url(server, "{site}", their_order), {"comment": "mine now"}),
        ("POST", order_url(server, "{site}", their_order) + "/fulfill", {}),
        ("POST", order_url(server, "{site}", their_order) + "/refund", {}),
        ("POST", orders_url(server, "{site}"), order_body()),
    ]
    for method, url, body in requests:
        other = httpx.request(method, url.format(site=theirs.site.id), json=body, headers=mine.headers)
        missing = httpx.request(method, url.format(site=missing_site), json=body, headers=mine.headers)

        assert (other.status_code, missing.status_code) == (404, 404), (method, url)
        assert other.content == missing.content == envelope("resource_not_found", SITE_NOT_FOUND)
    assert read(server, theirs, their_order) == before
    assert order_count(db, theirs.site.id) == 1


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), *WRITES])
def test_an_unknown_order_is_order_not_found(server, db, method, suffix):
    shop = make_shop(db)
    place(server, shop)

    response = httpx.request(method, order_url(server, shop.site.id, "fff-fff") + suffix,
                             json=None if method == "GET" else {}, headers=shop.headers)

    assert response.status_code == 404
    assert response.content == envelope("order_not_found", ORDER_NOT_FOUND)


def test_an_unknown_route_is_a_webflow_error_not_a_framework_page(server, db):
    shop = make_shop(db)

    response = httpx.get(f"{server.api}/sites/{shop.site.id}/invoices", headers=shop.headers)

    assert response.status_code == 404
    assert response.content == envelope("resource_not_found", "Requested resource not found: The route cannot be found")


# --- 409 ecommerce_not_enabled / conflict -----------------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None),
    ("GET", "/abc-123", None),
    ("PATCH", "/abc-123", {"comment": "set"}),
    ("POST", "/abc-123/fulfill", {}),
    ("POST", "", order_body()),
])
def test_a_site_without_ecommerce_refuses_order_requests(server, db, method, suffix, body):
    shop = make_shop(db, ecommerce=False)

    response = httpx.request(method, orders_url(server, shop.site.id) + suffix, json=body, headers=shop.headers)

    assert response.status_code == 409
    assert response.content == envelope("ecommerce_not_enabled", "Ecommerce is not yet initialized")
    assert order_count(db, shop.site.id) == 0


@pytest.mark.parametrize(("status", "action", "past"), [
    ("refunded", "fulfill", "fulfilled"),
    ("refunded", "unfulfill", "unfulfilled"),
    ("pending", "fulfill", "fulfilled"),
    ("pending", "unfulfill", "unfulfilled"),
    ("pending", "refund", "refunded"),
    ("disputed", "fulfill", "fulfilled"),
    ("disputed", "refund", "refunded"),
    ("dispute-lost", "unfulfill", "unfulfilled"),
    ("dispute-lost", "refund", "refunded"),
])
def test_a_transition_outside_the_table_is_a_conflict_and_changes_nothing(server, db, status, action, past):
    shop = make_shop(db)
    order_id, before = place(server, shop, status=status)

    response = httpx.post(order_url(server, shop.site.id, order_id) + f"/{action}", headers=shop.headers)

    assert response.status_code == 409
    assert response.content == envelope("conflict", f"Order {order_id} is {status} and cannot be {past}")
    assert read(server, shop, order_id) == before


def test_fulfilling_an_order_refunded_over_http_is_a_conflict(server, db):
    shop = make_shop(db)
    order_id, _ = place(server, shop)
    refunded = httpx.post(order_url(server, shop.site.id, order_id) + "/refund", headers=shop.headers)
    assert refunded.status_code == 200

    response = httpx.post(order_url(server, shop.site.id, order_id) + "/fulfill",
                          json={"sendOrderFulfilledEmail": True}, headers=shop.headers)

    assert response.status_code == 409
    assert response.content == envelope("conflict", f"Order {order_id} is refunded and cannot be fulfilled")
    assert read(server, shop, order_id) == refunded.content


# --- 413, 405 ---------------------------------------------------------------------------------------

def comment_body(size: int) -> bytes:
    """A valid PATCH body of exactly `size` bytes."""
    head, tail = b'{"comment":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_over_one_mebibyte_is_refused_and_changes_nothing(server, db):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.patch(order_url(server, shop.site.id, order_id), content=comment_body(MIB + 1),
                           headers={**shop.headers, **JSON})

    assert response.status_code == 413
    assert response.content == envelope("bad_request", "Bad Request: Request body is larger than 1 MiB")
    assert read(server, shop, order_id) == before


def test_a_chunked_body_over_one_mebibyte_is_refused_and_changes_nothing(server, db):
    shop = make_shop(db)
    order_id, before = place(server, shop)
    body = comment_body(MIB + 1)

    def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    response = httpx.patch(order_url(server, shop.site.id, order_id), content=chunks(),
                           headers={**shop.headers, **JSON})

    assert response.status_code == 413
    assert response.content == envelope("bad_request", "Bad Request: Request body is larger than 1 MiB")
    assert read(server, shop, order_id) == before


def test_placing_an_order_over_one_mebibyte_is_refused_and_creates_nothing(server, db):
    shop = make_shop(db)
    body = order_body()
    body["orderComment"] = ""
    padding = MIB + 1 - len(json.dumps(body, separators=(",", ":")).encode())
    body["orderComment"] = "x" * padding
    content = json.dumps(body, separators=(",", ":")).encode()
    assert len(content) == MIB + 1

    response = httpx.post(orders_url(server, shop.site.id), content=content, headers={**shop.headers, **JSON})

    assert response.status_code == 413
    assert response.content == envelope("bad_request", "Bad Request: Request body is larger than 1 MiB")
    assert order_count(db, shop.site.id) == 0


def test_a_body_of_exactly_one_mebibyte_is_accepted(server, db):
    shop = make_shop(db)
    order_id, _ = place(server, shop)
    body = comment_body(MIB)

    response = httpx.patch(order_url(server, shop.site.id, order_id), content=body, headers={**shop.headers, **JSON})

    assert response.status_code == 200
    assert response.json()["comment"] == json.loads(body)["comment"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "", ["GET", "HEAD", "OPTIONS", "POST"]),
    ("PUT", "", ["GET", "HEAD", "OPTIONS", "POST"]),
    ("DELETE", "/{order}", ["GET", "HEAD", "OPTIONS", "PATCH"]),
    ("POST", "/{order}", ["GET", "HEAD", "OPTIONS", "PATCH"]),
    ("GET", "/{order}/fulfill", ["OPTIONS", "POST"]),
    ("PATCH", "/{order}/refund", ["OPTIONS", "POST"]),
])
def test_a_wrong_method_is_refused_with_an_allow_header_and_changes_nothing(server, db, method, path, allowed):
    shop = make_shop(db)
    order_id, before = place(server, shop)

    response = httpx.request(method, orders_url(server, shop.site.id) + path.format(order=order_id),
                             json={"comment": "set"}, headers=shop.headers)

    assert response.status_code == 405
    assert response.content == envelope("bad_request", "Bad Request: Method not allowed")
    assert sorted(method.strip() for method in response.headers["allow"].split(",")) == allowed
    assert read(server, shop, order_id) == before
    assert order_count(db, shop.site.id) == 1


# --- X-Request-Id -----------------------------------------------------------------------------------

def test_every_response_carries_its_own_request_id(server, db):
    shop = make_shop(db)
    order_id, _ = place(server, shop)
    site_orders, order = orders_url(server, shop.site.id), order_url(server, shop.site.id, order_id)
    json_headers = {**shop.headers, **JSON}

    responses = [
        httpx.post(site_orders, json=order_body(), headers=shop.headers),  # 201
        httpx.get(site_orders, headers=shop.headers),  # 200
        httpx.get(order, headers=shop.headers),  # 200
        httpx.get(order, headers=shop.headers),  # 200, the same request again
        httpx.patch(order, content=b"{", headers=json_headers),  # 400
        httpx.get(site_orders, params={"limit": "0"}, headers=shop.headers),  # 400
        httpx.get(site_orders),  # 401
        httpx.patch(order, json={}, headers=make_reader(db, shop)),  # 403
        httpx.get(orders_url(server, "0" * 24), headers=shop.headers),  # 404
        httpx.get(f"{server.api}/nowhere"),  # 404 route
        httpx.delete(site_orders, headers=shop.headers),  # 405
        httpx.post(order + "/unfulfill", content=b"", headers=shop.headers),  # 200 no-op
        httpx.patch(order, content=comment_body(MIB + 1), headers=json_headers),  # 413
    ]

    assert [r.status_code for r in responses] == [201, 200, 200, 200, 400, 400, 401, 403, 404, 404, 405, 200, 413]
    request_ids = [r.headers.get("x-request-id", "") for r in responses]
    assert all(request_ids), request_ids
    assert len(set(request_ids)) == len(responses)
