"""Money under stress: concurrent partial refunds, and a server killed while refunds are in flight."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from orderdesk.store.engine import is_sqlite
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.repositories.simulated import SimulatedLedger
from tests.factories import make_shop, order_body
from tests.server import start_server

RACERS = 50


def place(server, shop, **kwargs) -> str:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=order_body(**kwargs), headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()["orderId"]


def money_facts(db, shop, order_id: str):
    with db.reading() as connection:
        row = OrderRepository(connection).lock(shop.site.id, order_id)
        refunds = RefundRepository(connection).for_order(shop.site.id, order_id)
    return row, refunds


@pytest.fixture
def servers(server, database_url):
    """The shared server; on PostgreSQL two more processes, so that the race crosses processes."""
    if is_sqlite(database_url):
        yield [server]
        return
    extra = [start_server(database_url) for _ in range(2)]
    yield [server, *extra]
    for running in extra:
        running.stop()


def test_fifty_concurrent_partial_refunds_never_exceed_the_capture(servers, db):
    shop = make_shop(db)
    order_id = place(servers[0], shop)  # 58.98 captured
    clients = [httpx.Client(timeout=60) for _ in servers]

    def refund(index: int) -> int:
        client, running = clients[index % len(servers)], servers[index % len(servers)]
        response = client.post(f"{running.api}/sites/{shop.site.id}/refunds", headers=shop.headers,
                               json={"orderId": order_id, "currency": "USD", "amount": 2})
        return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(refund, range(RACERS)))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()

    row, refunds = money_facts(db, shop, order_id)
    assert sorted(set(statuses)) == [201, 400]
    assert statuses.count(201) == 29  # 29 x 2.00 = 58.00 of 58.98; the 30th would exceed it
    assert [(r.amount, r.state) for r in refunds] == [(200, "succeeded")] * 29
    assert row.refund_reserved == sum(r.refunded_amount for r in refunds) == 5800
    print(f"\n{RACERS}-way refund race over {len(servers)} process(es): {elapsed:.2f} s")


def test_a_server_killed_mid_refund_settles_every_refund_once_after_restart(database_url, db):
    slow = {"ORDERDESK_SIMULATED_DELAY": "2", "ORDERDESK_RECONCILE_AFTER": "60"}
    victim = start_server(database_url, env=slow)
    shop = make_shop(db)
    order_id = place(victim, shop)

    def refund(_: int) -> None:
        try:
            httpx.post(f"{victim.api}/sites/{shop.site.id}/refunds", headers=shop.headers, timeout=10,
                       json={"orderId": order_id, "currency": "USD", "amount": 3})
        except httpx.TransportError:
            pass  # the server died under us, as intended

    with ThreadPoolExecutor(10) as pool:
        pool.map(refund, range(10))
        deadline = time.monotonic() + 10
        while len(money_facts(db, shop, order_id)[1]) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.stop(signal.SIGKILL)
    _, in_flight = money_facts(db, shop, order_id)
    assert [r.state for r in in_flight] == ["pending"] * 10

    survivor = start_server(database_url, env={"ORDERDESK_RECONCILE_AFTER": "0", "ORDERDESK_RECONCILE_INTERVAL": "0.2"})
    try:
        deadline = time.monotonic() + 20
        while any(r.state == "pending" for r in money_facts(db, shop, order_id)[1]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        survivor.stop()

    row, refunds = money_facts(db, shop, order_id)
    with db.reading() as connection:
        calls = [SimulatedLedger(connection).calls(refund.id) for refund in refunds]
    assert [r.state for r in refunds] == ["succeeded"] * 10
    assert calls == [1] * 10
    assert row.refund_reserved == sum(r.refunded_amount for r in refunds) == 3000
