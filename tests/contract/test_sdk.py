"""The official Webflow Python SDK (2.0.0) against a real orderdesk: every order method and the SDK's
start-up calls parse into its typed models, and every refusal raises the SDK's error class."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pydantic
import pytest
from webflow import Order, OrderList, OrderPrice, Pagination, PaypalDetails, Webflow
from webflow.core.api_error import ApiError
from webflow.environment import WebflowEnvironment
from webflow.errors import (
    BadRequestError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, UnauthorizedError,
)

from orderdesk.services import access, orders
from tests.api.test_rate_limits import start_of_a_window
from tests.factories import ALL_SCOPES, make_shop, order_body, place

# The SDK retries 408, 409, 429 and 5xx twice (BEHAVIOUR.md section 3); a refusal is asserted on its first answer.
NO_RETRY = {"max_retries": 0}


@pytest.fixture
def sdk(server):
    """Makes official SDK clients for a token, pointed at the test server; their connections close after the test."""
    connections: list[httpx.Client] = []

    def client_for(token: str) -> Webflow:
        connection = httpx.Client(timeout=10)
        connections.append(connection)
        environment = WebflowEnvironment(base=server.api, data_api=server.api, content_delivery_api=server.api)
        return Webflow(access_token=token, environment=environment, httpx_client=connection)

    yield client_for
    for connection in connections:
        connection.close()


def place_over_http(server, shop, **fields) -> dict:
    """Places an order through our POST extension (the SDK has no such method) and returns its JSON."""
    body = {**order_body(shop.site.currency), **fields}
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=body, headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()


def stored(db, shop, order_id: str) -> bytes:
    """The order document as stored, read without a token (so without touching any rate limit)."""
    return orders.get_order(db, shop.site.id, order_id)


def error_body(error: ApiError) -> dict:
    """The SDK types some error bodies as its `Error` model and leaves others as plain dicts."""
    if isinstance(error.body, pydantic.BaseModel):
        return error.body.model_dump(by_alias=True)
    return error.body


def envelope(code: str, message: str, details: list | None = None) -> dict:
    # `externalReference` is "": the spec types it as a non-nullable string (its example's null is one of
    # the oddities the reference README lists), and the spec wins on shapes.
    return {"code": code, "message": message, "externalReference": "", "details": details or []}


# --- the SDK's start-up calls -------------------------------------------------------------------------


def test_start_up_calls_describe_the_token_and_its_one_site(db, sdk):
    shop = make_shop(db, name="Start Up Shop", rate_limit=60)
    client = sdk(shop.token)

    introspection = client.token.introspect()
    user = client.token.authorized_by()
    sites = client.sites.list()
    site = client.sites.get(shop.site.id)

    authorization = introspection.authorization
    assert authorization.grant_type == "site_token"
    assert authorization.rate_limit == 60
    assert authorization.scope == ",".join(ALL_SCOPES)
    assert authorization.authorized_to.site_ids == [shop.site.id]
    assert authorization.authorized_to.user_ids == [user.id]
    assert (user.first_name, user.last_name) == ("Site", "Owner")
    assert [listed.id for listed in sites.sites] == [shop.site.id]
    assert site == sites.sites[0]
    assert (site.display_name, site.short_name) == ("Start Up Shop", "start-up-shop")
    assert authorization.authorized_to.workspace_ids == [site.workspace_id]


def test_get_site_of_another_site_is_not_found(db, sdk):
    shop, other = make_shop(db), make_shop(db)

    with pytest.raises(NotFoundError) as refused:
        sdk(shop.token).sites.get(other.site.id, request_options=NO_RETRY)

    assert refused.value.status_code == 404
    assert error_body(refused.value) == envelope(
        "resource_not_found", "Requested resource not found: The site cannot be found")


# --- the six order methods ----------------------------------------------------------------------------


def test_list_returns_the_page_newest_first_with_its_pagination(db, server, sdk):
    shop = make_shop(db)
    march_1, march_3, march_2 = (
        place_over_http(server, shop, acceptedOn=when)["orderId"]
        for when in ("2024-03-01T10:00:00.000Z", "2024-03-03T10:00:00.000Z", "2024-03-02T10:00:00.000Z")
    )

    page = sdk(shop.token).orders.list(shop.site.id, offset=1, limit=2)  # skips march_3, the newest

    assert isinstance(page, OrderList)
    assert [order.order_id for order in page.orders] == [march_2, march_1]
    assert page.pagination == Pagination(limit=2, offset=1, total=3)
    assert page.orders[0].accepted_on == datetime(2024, 3, 2, 10, tzinfo=timezone.utc)


def test_list_filters_by_status_and_counts_the_filter(db, server, sdk):
    shop = make_shop(db)
    place_over_http(server, shop)
    fulfilled = place_over_http(server, shop, status="fulfilled")["orderId"]

    page = sdk(shop.token).orders.list(shop.site.id, status="fulfilled")

    assert [(order.order_id, order.status) for order in page.orders] == [(fulfilled, "fulfilled")]
    assert page.pagination == Pagination(limit=100, offset=0, total=1)


def test_list_caps_the_limit_at_100_and_an_offset_past_the_end_is_an_empty_page(db, sdk):
    shop = make_shop(db)
    place(db, shop)
    client = sdk(shop.token)

    capped = client.orders.list(shop.site.id, limit=500)
    past_the_end = client.orders.list(shop.site.id, offset=5)

    assert capped.pagination == Pagination(limit=100, offset=0, total=1)
    assert len(capped.orders) == 1
    assert past_the_end.orders == []
    assert past_the_end.pagination == Pagination(limit=100, offset=5, total=1)


def test_get_parses_the_whole_order_with_money_as_strings(db, sdk):
    shop = make_shop(db)
    order_id = place(db, shop).order_id

    order = sdk(shop.token).orders.get(shop.site.id, order_id)

    assert isinstance(order, Order)
    assert (order.order_id, order.status) == (order_id, "unfulfilled")
    assert (order.fulfilled_on, order.refunded_on, order.disputed_on) == (None, None, None)
    assert order.customer_paid == OrderPrice(unit="USD", value="5898", string="$ 58.98 USD")
    assert order.totals.subtotal == OrderPrice(unit="USD", value="5098", string="$ 50.98 USD")
    assert order.totals.total == OrderPrice(unit="USD", value="5898", string="$ 58.98 USD")
    assert [(extra.type, extra.price.value) for extra in order.totals.extras] == [("shipping", "500"), ("tax", "300")]
    assert [(item.count, item.row_total.string) for item in order.purchased_items] == [
        (1, "$ 25.00 USD"), (2, "$ 25.98 USD")]
    assert order.purchased_items_count == 3
    assert order.stripe_card.last_4 == "4242"
    assert order.paypal_details == PaypalDetails()  # a Stripe order's paypalDetails is {}
    assert (order.comment, order.shipping_provider, order.shipping_tracking_url) == ("", None, None)


@pytest.mark.parametrize(("currency", "minor_units", "expected"), [
    ("USD", 123450, "$ 1,234.50 USD"),
    ("JPY", 1200, "¥ 1,200 JPY"),
])
def test_money_strings_use_the_currency_digits_and_grouping(db, sdk, currency, minor_units, expected):
    shop = make_shop(db, currency=currency)
    order_id = place(db, shop, prices=(minor_units,), shipping=0, tax=0).order_id

    order = sdk(shop.token).orders.get(shop.site.id, order_id)

    assert order.totals.total == OrderPrice(unit=currency, value=str(minor_units), string=expected)


def test_update_sets_the_four_editable_fields(db, sdk):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    client = sdk(shop.token)

    updated = client.orders.update(
        shop.site.id, order_id, comment="Gift wrap", shipping_provider="Royal Mail",
        shipping_tracking="RM123456785GB", shipping_tracking_url="https://track.example/RM123456785GB",
    )

    assert (updated.comment, updated.shipping_provider, updated.shipping_tracking, updated.shipping_tracking_url) == (
        "Gift wrap", "Royal Mail", "RM123456785GB", "https://track.example/RM123456785GB")
    assert updated.status == "unfulfilled"
    assert client.orders.get(shop.site.id, order_id) == updated


def test_update_with_no_fields_changes_nothing(db, sdk):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    before = stored(db, shop, order_id)

    unchanged = sdk(shop.token).orders.update(shop.site.id, order_id)

    assert unchanged.order_id == order_id
    assert stored(db, shop, order_id) == before


def test_fulfill_then_unfulfill_round_trips_the_status(db, sdk):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    client = sdk(shop.token)

    fulfilled = client.orders.update_fulfill(shop.site.id, order_id, send_order_fulfilled_email=False)
    read_back = client.orders.get(shop.site.id, order_id)
    unfulfilled = client.orders.update_unfulfill(shop.site.id, order_id)

    assert fulfilled.status == "fulfilled"
    assert fulfilled.fulfilled_on is not None
    assert read_back == fulfilled
    assert (unfulfilled.status, unfulfilled.fulfilled_on) == ("unfulfilled", None)


def test_refund_refunds_the_order_and_records_the_processor_reason(db, sdk):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    client = sdk(shop.token)

    refunded = client.orders.refund(shop.site.id, order_id, reason="requested")

    assert refunded.status == "refunded"
    assert refunded.refunded_on is not None
    assert refunded.stripe_details.refund_reason == "requested_by_customer"
    assert refunded.stripe_details.refund_id is not None
    assert client.orders.get(shop.site.id, order_id) == refunded


@pytest.mark.parametrize("action", ["unfulfill an unfulfilled order", "fulfill a fulfilled order", "refund twice"])
def test_an_action_on_an_order_already_in_its_target_status_is_a_no_op(db, sdk, action):
    # BEHAVIOUR.md section 4: "already in its target status: 200, order unchanged, no side effect". (So
    # unfulfilling an unfulfilled order is a 200, not a 409; the 409 is for other combinations, below.)
    shop = make_shop(db)
    order_id = place(db, shop, status="fulfilled" if action.startswith("fulfill") else "unfulfilled").order_id
    client = sdk(shop.token)
    if action == "refund twice":
        client.orders.refund(shop.site.id, order_id)
    before = stored(db, shop, order_id)
    call = {
        "unfulfill an unfulfilled order": client.orders.update_unfulfill,
        "fulfill a fulfilled order": client.orders.update_fulfill,
        "refund twice": client.orders.refund,
    }[action]

    answer = call(shop.site.id, order_id, request_options=NO_RETRY)

    assert answer == Order.model_validate_json(before)
    assert stored(db, shop, order_id) == before


# --- refusals: each raises the SDK's error class, and nothing changes -----------------------------------


@pytest.mark.parametrize(("call", "expected"), [
    (lambda client, site, order: client.orders.list(site, limit=0, request_options=NO_RETRY),
     envelope("validation_error", "Validation Error: limit: must be at least 1",
              [{"field": "limit", "message": "must be at least 1"}])),
    (lambda client, site, order: client.orders.list(site, status="shipped", request_options=NO_RETRY),
     envelope("validation_error",
              "Validation Error: status: must be one of pending, unfulfilled, fulfilled, disputed, dispute-lost, refunded",
              [{"field": "status",
                "message": "must be one of pending, unfulfilled, fulfilled, disputed, dispute-lost, refunded"}])),
    (lambda client, site, order: client.orders.update(
        site, order, comment="kept?", shipping_tracking_url="track.example/RM1", request_options=NO_RETRY),
     envelope("validation_error", "Validation Error: shippingTrackingURL: must be an absolute http(s) URL",
              [{"field": "shippingTrackingURL", "message": "must be an absolute http(s) URL"}])),
    (lambda client, site, order: client.orders.refund(site, order, reason="changed-mind", request_options=NO_RETRY),
     envelope("validation_error", "Validation Error: reason: must be one of duplicate, fraudulent, requested",
              [{"field": "reason", "message": "must be one of duplicate, fraudulent, requested"}])),
], ids=["list limit 0", "list unknown status", "update relative tracking URL", "refund unknown reason"])
def test_an_invalid_value_is_a_bad_request(db, sdk, call, expected):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    before = stored(db, shop, order_id)

    with pytest.raises(BadRequestError) as refused:
        call(sdk(shop.token), shop.site.id, order_id)

    assert refused.value.status_code == 400
    assert error_body(refused.value) == expected
    assert stored(db, shop, order_id) == before


@pytest.mark.parametrize("token", ["unknown", "revoked"])
def test_an_unknown_or_revoked_token_is_not_authorized(db, sdk, token):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    before = stored(db, shop, order_id)
    if token == "revoked":
        access.revoke_token(db, shop.token_id)
    client = sdk(shop.token if token == "revoked" else "0" * 64)

    with pytest.raises(UnauthorizedError) as on_update:
        client.orders.update(shop.site.id, order_id, comment="intruder", request_options=NO_RETRY)
    with pytest.raises(UnauthorizedError) as on_introspect:
        client.token.introspect(request_options=NO_RETRY)

    for refused in (on_update, on_introspect):
        assert refused.value.status_code == 401
        assert error_body(refused.value) == envelope("not_authorized", "Request not authorized")
    assert stored(db, shop, order_id) == before


WRITES = {
    "update": lambda client, site, order: client.orders.update(site, order, comment="x", request_options=NO_RETRY),
    "fulfill": lambda client, site, order: client.orders.update_fulfill(site, order, request_options=NO_RETRY),
    "unfulfill": lambda client, site, order: client.orders.update_unfulfill(site, order, request_options=NO_RETRY),
    "refund": lambda client, site, order: client.orders.refund(site, order, request_options=NO_RETRY),
}
READS = {
    "list": lambda client, site, order: client.orders.list(site, request_options=NO_RETRY),
    "get": lambda client, site, order: client.orders.get(site, order, request_options=NO_RETRY),
}


@pytest.mark.parametrize("method", list(WRITES))
def test_a_token_without_ecommerce_write_is_forbidden_to_write(db, sdk, method):
    shop = make_shop(db, scopes=["ecommerce:read"])
    order_id = place(db, shop, status="fulfilled").order_id
    before = stored(db, shop, order_id)

    with pytest.raises(ForbiddenError) as refused:
        WRITES[method](sdk(shop.token), shop.site.id, order_id)

    assert refused.value.status_code == 403
    assert error_body(refused.value) == envelope(
        "missing_scopes", "OAuthForbidden: You are missing the following scopes - ecommerce:write")
    assert stored(db, shop, order_id) == before


@pytest.mark.parametrize("method", ["get", *WRITES])
def test_an_unknown_order_is_not_found(db, sdk, method):
    shop = make_shop(db)
    known = place(db, shop).order_id
    before = stored(db, shop, known)
    unknown = "fff-fff" if known != "fff-fff" else "eee-eee"

    with pytest.raises(NotFoundError) as refused:
        {**READS, **WRITES}[method](sdk(shop.token), shop.site.id, unknown)

    assert refused.value.status_code == 404
    assert error_body(refused.value) == envelope(
        "order_not_found", "Requested resource not found: The order cannot be found")
    assert stored(db, shop, known) == before


@pytest.mark.parametrize("method", [*READS, *WRITES])
def test_another_sites_orders_are_not_found(db, sdk, method):
    shop, other = make_shop(db), make_shop(db)
    theirs = place(db, other, status="fulfilled").order_id
    before = stored(db, other, theirs)

    with pytest.raises(NotFoundError) as refused:
        {**READS, **WRITES}[method](sdk(shop.token), other.site.id, theirs)

    assert refused.value.status_code == 404
    assert error_body(refused.value) == envelope(
        "resource_not_found", "Requested resource not found: The site cannot be found")
    assert stored(db, other, theirs) == before


@pytest.mark.parametrize(("method", "verb"), [("fulfill", "fulfilled"), ("unfulfill", "unfulfilled")])
def test_a_transition_the_status_table_refuses_is_a_conflict(db, sdk, method, verb):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    client = sdk(shop.token)
    client.orders.refund(shop.site.id, order_id)
    before = stored(db, shop, order_id)

    with pytest.raises(ConflictError) as refused:
        WRITES[method](client, shop.site.id, order_id)

    assert refused.value.status_code == 409
    assert error_body(refused.value) == envelope("conflict", f"Order {order_id} is refunded and cannot be {verb}")
    assert stored(db, shop, order_id) == before


@pytest.mark.parametrize("method", [*READS, *WRITES])
def test_a_site_without_ecommerce_is_a_conflict(db, sdk, method):
    shop = make_shop(db, ecommerce=False)

    with pytest.raises(ConflictError) as refused:
        {**READS, **WRITES}[method](sdk(shop.token), shop.site.id, "abc-123")

    assert refused.value.status_code == 409
    assert error_body(refused.value) == envelope("ecommerce_not_enabled", "Ecommerce is not yet initialized")


def test_the_call_past_the_rate_limit_is_too_many_requests(db, sdk):
    shop = make_shop(db, rate_limit=2)
    order_id = place(db, shop).order_id
    before = stored(db, shop, order_id)
    client = sdk(shop.token)
    start_of_a_window()  # the three calls must fall in one minute's window
    client.orders.get(shop.site.id, order_id)
    client.orders.list(shop.site.id)

    with pytest.raises(TooManyRequestsError) as refused:
        client.orders.update(shop.site.id, order_id, comment="one too many", request_options=NO_RETRY)

    error = refused.value
    assert error.status_code == 429
    assert error_body(error) == envelope("too_many_requests", "Too Many Requests")
    assert (error.headers["x-ratelimit-limit"], error.headers["x-ratelimit-remaining"]) == ("2", "0")
    # Whole seconds until the one-minute window lets a request through: the only value here that
    # depends on the clock, so it is held to its range.
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert stored(db, shop, order_id) == before
