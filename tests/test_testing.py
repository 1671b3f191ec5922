"""orderdesk.testing: the in-process sandbox server and the pytest plugin, as an integration's tests use them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import httpx
import pytest
from webflow.errors import InternalServerError

from orderdesk.testing import OrderdeskServer
from orderdesk.testing.server import OrderdeskError


@pytest.fixture(scope="module")
def od():
    started = time.perf_counter()
    with OrderdeskServer(orders=20, seed=1) as server:
        server.started_in = time.perf_counter() - started
        yield server


def orders_total(od) -> int:
    return httpx.get(f"{od.url}/sites/{od.site_id}/orders", headers=od.headers).json()["pagination"]["total"]


def test_it_starts_with_its_seeded_site_and_serves_the_api(od):
    assert od.url.startswith("http://127.0.0.1:") and od.url.endswith("/v2")
    assert od.started_in < 10  # the figure on an idle machine is in the closing note; this only catches a hang
    assert orders_total(od) == 20
    with OrderdeskServer(orders=20, seed=1) as again:  # the same seed, the same orders
        first = httpx.get(f"{od.url}/sites/{od.site_id}/orders?limit=3", headers=od.headers).json()["orders"]
        second = httpx.get(f"{again.url}/sites/{again.site_id}/orders?limit=3", headers=again.headers).json()["orders"]
        assert [o["orderId"] for o in first] == [o["orderId"] for o in second]
        assert again.port != od.port


def test_a_placed_order_is_what_get_returns_and_reset_empties_the_site(od):
    placed = od.place_order(comment="gift")
    fetched = httpx.get(f"{od.url}/sites/{od.site_id}/orders/{placed['orderId']}", headers=od.headers)
    assert fetched.json() == placed
    assert placed["comment"] == "gift"
    od.reset()
    assert orders_total(od) == 0


def test_snapshots_faults_and_the_sdk_through_the_helpers(od):
    od.reset()
    order = od.place_order()
    od.snapshot("one-order")
    od.place_order()
    od.restore("one-order")
    assert orders_total(od) == 1
    client = od.webflow_client()
    fault = od.add_fault(operation="get-order", status=429, times=1)
    assert fault["remaining"] == 1
    assert client.orders.get(od.site_id, order["orderId"]).order_id == order["orderId"]  # retried past the 429
    od.add_fault(operation="get-order", status=500)
    with pytest.raises(InternalServerError):
        client.orders.get(od.site_id, order["orderId"], request_options={"max_retries": 0})
    od.clear_faults()
    assert client.orders.get(od.site_id, order["orderId"]).order_id == order["orderId"]


def test_a_refused_helper_call_raises_with_the_servers_error(od):
    with pytest.raises(OrderdeskError) as refused:
        od.restore("no-such-snapshot")
    assert refused.value.status == 404
    assert refused.value.error["code"] == "resource_not_found"


def test_the_pytest_plugins_fixture_resets_the_site_before_each_test(tmp_path):
    (tmp_path / "test_integration.py").write_text(textwrap.dedent('''
        import httpx

        def total(od):
            return httpx.get(f"{od.url}/sites/{od.site_id}/orders", headers=od.headers).json()["pagination"]["total"]

        def test_first(orderdesk):
            assert total(orderdesk) == 0
            orderdesk.place_order(); orderdesk.place_order()
            assert total(orderdesk) == 2

        def test_second(orderdesk, orderdesk_server):
            assert orderdesk is orderdesk_server
            assert total(orderdesk) == 0
            orderdesk.place_order()
            assert total(orderdesk) == 1
    '''))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
