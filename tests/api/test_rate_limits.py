"""Per-token rate limits over HTTP (BEHAVIOUR.md section 3): headers, 429 and Retry-After.

The limiter counts in fixed one-minute windows of the wall clock, so each test first makes sure
that it starts well inside a window; otherwise a roll-over in the middle would reset the count.
"""

from __future__ import annotations

import math
import time

import httpx
import pytest

from orderdesk.services import access
from tests.factories import ALL_SCOPES, make_shop, order_body

WINDOW_SECONDS = 60
TOO_MANY = b'{"code":"too_many_requests","message":"Too Many Requests","externalReference":"","details":[]}'


def start_of_a_window(margin: float = 10.0) -> None:
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < margin:
        time.sleep(left + 0.05)


def orders_url(server, site_id: str) -> str:
    return f"{server.api}/sites/{site_id}/orders"


def budget(response: httpx.Response) -> tuple[str | None, str | None]:
    return response.headers.get("x-ratelimit-limit"), response.headers.get("x-ratelimit-remaining")


def unlimited_headers(db, shop) -> dict[str, str]:
    token, _ = access.create_token(db, shop.site.id, ALL_SCOPES, 0)
    return {"Authorization": f"Bearer {token}"}


def test_every_authenticated_response_counts_the_budget_down_exactly(server, db):
    shop = make_shop(db, rate_limit=7)
    other = make_shop(db)
    site_orders = orders_url(server, shop.site.id)
    start_of_a_window()

    responses = [httpx.get(site_orders, headers=shop.headers)]
    responses.append(httpx.post(site_orders, json=order_body(), headers=shop.headers))
    order = f"{site_orders}/{responses[-1].json()['orderId']}"
    responses += [
        httpx.get(order, headers=shop.headers),
        httpx.get(f"{site_orders}/fff-fff", headers=shop.headers),
        httpx.patch(order, json={"status": "refunded"}, headers=shop.headers),
        httpx.get(orders_url(server, other.site.id), headers=shop.headers),
        httpx.post(f"{order}/fulfill", headers=shop.headers),
    ]

    assert [r.status_code for r in responses] == [200, 201, 200, 404, 400, 404, 200]
    assert [budget(r) for r in responses] == [("7", str(left)) for left in range(6, -1, -1)]


def test_a_scope_refusal_is_counted_too(server, db):
    shop = make_shop(db, scopes=["ecommerce:read"], rate_limit=5)
    start_of_a_window()

    listing = httpx.get(orders_url(server, shop.site.id), headers=shop.headers)
    placing = httpx.post(orders_url(server, shop.site.id), json=order_body(), headers=shop.headers)

    assert (listing.status_code, budget(listing)) == (200, ("5", "4"))
    assert (placing.status_code, budget(placing)) == (403, ("5", "3"))


def test_a_token_over_its_limit_gets_429_with_retry_after(server, db):
    shop = make_shop(db, rate_limit=3)
    start_of_a_window()
    allowed = [httpx.get(orders_url(server, shop.site.id), headers=shop.headers) for _ in range(3)]

    sent = time.time()
    refused = httpx.get(orders_url(server, shop.site.id), headers=shop.headers)
    answered = time.time()

    assert [(r.status_code, budget(r)) for r in allowed] == [(200, ("3", "2")), (200, ("3", "1")), (200, ("3", "0"))]
    assert refused.status_code == 429
    assert refused.content == TOO_MANY
    assert budget(refused) == ("3", "0")
    retry_after = refused.headers["retry-after"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    # Whole seconds until the window the 429 fell in is over, as the wall clock says.
    window_end = (math.floor(sent / WINDOW_SECONDS) + 1) * WINDOW_SECONDS
    assert math.ceil(window_end - answered) <= int(retry_after) <= math.ceil(window_end - sent)
    assert "retry-after" not in {key.lower() for r in allowed for key in r.headers}


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("PATCH", "", {"comment": "set"}),
    ("POST", "/fulfill", {}),
    ("POST", "/refund", {"reason": "requested"}),
])
def test_a_write_refused_for_the_rate_limit_changes_nothing(server, db, method, suffix, body):
    shop = make_shop(db, rate_limit=1)
    reader = unlimited_headers(db, shop)
    placed = httpx.post(orders_url(server, shop.site.id), json=order_body(), headers=reader)
    order = f"{orders_url(server, shop.site.id)}/{placed.json()['orderId']}"
    start_of_a_window()
    assert httpx.get(order, headers=shop.headers).status_code == 200

    response = httpx.request(method, order + suffix, json=body, headers=shop.headers)

    assert response.status_code == 429
    assert response.content == TOO_MANY
    assert httpx.get(order, headers=reader).content == placed.content


def test_the_default_limit_is_120_a_minute(server, db):
    shop = make_shop(db, rate_limit=None)
    start_of_a_window()

    with httpx.Client(headers=shop.headers) as client:
        responses = [client.get(orders_url(server, shop.site.id)) for _ in range(121)]

    assert [r.status_code for r in responses] == [200] * 120 + [429]
    assert [budget(r) for r in responses] == [("120", str(left)) for left in range(119, -1, -1)] + [("120", "0")]
    assert responses[-1].content == TOO_MANY


def test_each_token_has_its_own_budget(server, db):
    shop = make_shop(db, rate_limit=2)
    token, _ = access.create_token(db, shop.site.id, ALL_SCOPES, 2)
    second = {"Authorization": f"Bearer {token}"}
    start_of_a_window()
    first_token = [httpx.get(orders_url(server, shop.site.id), headers=shop.headers) for _ in range(3)]

    response = httpx.get(orders_url(server, shop.site.id), headers=second)

    assert [r.status_code for r in first_token] == [200, 200, 429]
    assert (response.status_code, budget(response)) == (200, ("2", "1"))


def test_an_unlimited_token_is_never_refused(server, db):
    shop = make_shop(db, rate_limit=0)

    with httpx.Client(headers=shop.headers) as client:
        statuses = [client.get(orders_url(server, shop.site.id)).status_code for _ in range(130)]

    assert statuses == [200] * 130
