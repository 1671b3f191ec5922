"""How long a 50-way race of partial refunds on one order takes (refunds per second are in bench/run.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import msgspec

from bench.harness import Server, sqlite_url
from bench.load import median
from orderdesk.domain.sites import Scope
from orderdesk.services import access, placing
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from orderdesk.wire.placing import Draft

ORDERS = 10


def order_body() -> dict:
    return {
        "customerInfo": {"fullName": "Bench Mark", "email": "bench@example.com"},
        "purchasedItems": [{"count": 1, "productName": "Thing", "variantId": "a" * 24,
                            "variantPrice": {"unit": "USD", "value": "100000"}}],
        "stripeCard": {"last4": "4242", "brand": "Visa", "ownerName": "Bench Mark", "expires": {"year": 2030, "month": 1}},
    }


def prepare(url: str) -> tuple[str, str, list[str]]:
    engine = create_engine(url)
    upgrade(engine)
    db = Database(engine)
    site = access.create_site(db, "Bench", "USD")
    token, _ = access.create_token(db, site.id, [scope.value for scope in Scope], rate_limit=0)
    order = Draft(msgspec.convert(order_body(), wire.OrderDoc))
    order_ids = [wire.decode(placing.place_order(db, site, order, None)).order_id for _ in range(ORDERS)]
    db.dispose()
    return site.id, token, order_ids


def race(server: Server, site_id: str, token: str, order_id: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(headers=headers, timeout=60) for _ in range(50)]
    for client in clients:  # connect first, so the race measures refunds rather than handshakes
        client.get(f"{server.api}/token/introspect")
    body = {"orderId": order_id, "currency": "USD", "amount": 30}
    started = time.perf_counter()
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda c: c.post(f"{server.api}/sites/{site_id}/refunds", json=body).status_code,
                                 clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    assert sorted(set(statuses)) == [201, 400] and statuses.count(201) == 33, statuses
    return elapsed


def main() -> None:
    url = sqlite_url()
    site_id, token, order_ids = prepare(url)
    with Server(url) as server:
        times = [race(server, site_id, token, order_ids[index]) for index in range(5)]
    print(f"50-way race on one 1,000.00 order (30.00 each, 33 win): median {median(times) * 1000:.0f} ms "
          f"of 5 ({', '.join(f'{t * 1000:.0f}' for t in times)} ms)")


if __name__ == "__main__":
    main()
