"""Orders survive a restart byte for byte: what one server process wrote, the next one serves."""

from __future__ import annotations

import httpx

from tests.factories import make_shop, order_body
from tests.server import start_server

QUERIES = [
    {},
    {"limit": "2"},
    {"limit": "2", "offset": "2"},
    {"offset": "100"},
    {"status": "unfulfilled"},
    {"status": "fulfilled"},
    {"status": "refunded"},
    {"status": "pending"},
]


def snapshot(api: str, shop, order_ids: list[str]) -> dict:
    """Every order and every list view, as the exact bytes the server answers."""
    site_orders = f"{api}/sites/{shop.site.id}/orders"
    views = {}
    for order_id in order_ids:
        response = httpx.get(f"{site_orders}/{order_id}", headers=shop.headers)
        assert response.status_code == 200
        views[order_id] = response.content
    for query in QUERIES:
        response = httpx.get(site_orders, params=query, headers=shop.headers)
        assert response.status_code == 200
        views[tuple(sorted(query.items()))] = response.content
    return views


def test_every_order_and_the_list_come_back_identical_after_a_restart(database_url, db):
    shop, jpy_shop = make_shop(db), make_shop(db, currency="JPY")
    first = start_server(database_url)
    try:
        site_orders = f"{first.api}/sites/{shop.site.id}/orders"
        bodies = [
            order_body(),
            order_body(prices=(123450,), shipping=0, tax=0),
            {**order_body(), "acceptedOn": "2024-03-01T10:00:00.000Z", "orderId": "aaa-001"},
            {**order_body(), "acceptedOn": "2024-03-01T10:00:00.000Z", "orderId": "bbb-001"},
            order_body(status="pending"),
            order_body(last4="4111"),
        ]
        order_ids = []
        for body in bodies:
            placed = httpx.post(site_orders, json=body, headers=shop.headers)
            assert placed.status_code == 201
            order_ids.append(placed.json()["orderId"])
        plain, grand, tied_a, tied_b, pending, declining = order_ids
        changes = [
            httpx.patch(f"{site_orders}/{plain}", json={"comment": "Grüße aus Köln", "shippingProvider": "DHL",
                                                         "shippingTrackingURL": "https://www.dhl.com/track?id=1"},
                        headers=shop.headers),
            httpx.post(f"{site_orders}/{plain}/fulfill", headers=shop.headers),
            httpx.post(f"{site_orders}/{grand}/refund", json={"reason": "requested"}, headers=shop.headers),
            httpx.post(f"{site_orders}/{tied_a}/fulfill", headers=shop.headers),
            httpx.post(f"{site_orders}/{tied_a}/unfulfill", headers=shop.headers),
            httpx.post(f"{site_orders}/{tied_b}/fulfill", headers=shop.headers),
            httpx.post(f"{site_orders}/{tied_b}/refund", json={"reason": "duplicate"}, headers=shop.headers),
            httpx.patch(f"{site_orders}/{pending}", json={"shippingTracking": "1Z999"}, headers=shop.headers),
            httpx.post(f"{site_orders}/{declining}/refund", headers=shop.headers),
        ]
        assert [r.status_code for r in changes] == [200, 200, 200, 200, 200, 200, 200, 200, 400]
        yen = httpx.post(f"{first.api}/sites/{jpy_shop.site.id}/orders",
                         json=order_body("JPY", prices=(1200,)), headers=jpy_shop.headers)
        assert yen.status_code == 201
        before = snapshot(first.api, shop, order_ids)
        yen_before = snapshot(first.api, jpy_shop, [yen.json()["orderId"]])
    finally:
        first.stop()

    second = start_server(database_url)
    try:
        after = snapshot(second.api, shop, order_ids)
        yen_after = snapshot(second.api, jpy_shop, [yen.json()["orderId"]])
    finally:
        second.stop()

    assert after == before
    assert yen_after == yen_before
    assert before[()].count(b'"orderId"') == 6
