import httpx

from tests.factories import make_shop, order_body


def test_a_placed_order_can_be_read_back(server, db):
    shop = make_shop(db)
    placed = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=order_body(), headers=shop.headers)
    assert placed.status_code == 201
    order_id = placed.json()["orderId"]

    fetched = httpx.get(f"{server.api}/sites/{shop.site.id}/orders/{order_id}", headers=shop.headers)

    assert fetched.status_code == 200
    assert fetched.content == placed.content
    assert fetched.json()["totals"]["total"] == {"unit": "USD", "value": "5898", "string": "$ 58.98 USD"}
