"""orderdesk for an integration's tests: a real server in this process, in sandbox mode, on a temporary
database, with a site and a token of its own.

    from orderdesk.testing import OrderdeskServer

    with OrderdeskServer(orders=20, seed=1) as od:    # temp SQLite, free port, sandbox on
        od.url, od.site_id, od.token                   # od.url ends in /v2
        od.place_order(comment="gift") -> dict         # the order as GET returns it
        od.reset(); od.snapshot("x"); od.restore("x")
        od.add_fault(operation="get-order", status=429, times=1) -> dict; od.clear_faults()
        od.webflow_client()                            # the official SDK (pip install webflow), pointed here

The pytest plugin (installed with orderdesk) gives the fixtures `orderdesk_server`, one server for the
session, and `orderdesk`, the same server reset before each test.
"""

from __future__ import annotations

from orderdesk.testing.server import OrderdeskServer

__all__ = ["OrderdeskServer"]
