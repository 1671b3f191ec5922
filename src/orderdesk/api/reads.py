"""GET an order and GET a page of orders, answered ahead of the framework.

These two are most of an integration's traffic, and the framework's routing, parameter parsing and
response objects cost more than the work itself (an indexed read of stored bytes). Everything else (the
same checks in the same order, the same error envelope, the rate-limit headers, the route's name in the
metrics) is shared with the framework's handlers. A path these two do not match goes on to the app.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import anyio
from litestar import MediaType

from orderdesk.api.auth import check_caller
from orderdesk.api.bodies import Query
from orderdesk.api.errors import send_failure, send_response
from orderdesk.api.routes.orders import page_body, page_query
from orderdesk.api.threads import in_thread, on_database
from orderdesk.domain.sites import Scope
from orderdesk.services import orders

ORDERS_TEMPLATE = "/v2/sites/{site_id}/orders"
ORDER_TEMPLATE = ORDERS_TEMPLATE + "/{order_id}"
# A page this deep walks its index for milliseconds; SQLite lets go of the GIL meanwhile, so it goes to
# a thread and the event loop keeps serving others. Two such threads at a time (there are two cores, and
# each thread keeps a SQLite connection and its page cache); more deep pages wait their turn.
DEEP_OFFSET = 2000
DEEP_READERS = 2


class OrderReads:
    def __init__(self, app, state) -> None:
        self.app, self.state = app, state
        self._deep_readers: anyio.CapacityLimiter | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        parts = scope["path"].split("/")
        # ["", "v2", "sites", site, "orders"] or [..., "orders", order]
        if not (5 <= len(parts) <= 6 and parts[1] == "v2" and parts[2] == "sites" and parts[4] == "orders"
                and all(parts[3:])):
            await self.app(scope, receive, send)
            return
        site_id = parts[3]
        try:
            if len(parts) == 6:
                scope["path_template"] = ORDER_TEMPLATE
                body = await on_database(self.state.db, self._order, scope, site_id, parts[5])
            else:
                scope["path_template"] = ORDERS_TEMPLATE
                body = await self._page(scope, site_id)
        except Exception as error:
            await send_failure(scope, send, error)
        else:
            await send_response(send, 200, MediaType.JSON.value, body)

    def _order(self, scope, site_id: str, order_id: str) -> bytes:
        self._authorize(scope, site_id)
        return orders.get_order(self.state.db, site_id, order_id)

    async def _page(self, scope, site_id: str) -> bytes:
        query = Query(dict(reversed(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))))
        status, offset, limit = page_query(query)
        if offset >= DEEP_OFFSET:
            if self._deep_readers is None:  # made on the event loop, where it is used
                self._deep_readers = anyio.CapacityLimiter(DEEP_READERS)
            return await in_thread(self._read_page, scope, site_id, query, status, offset, limit,
                                   limiter=self._deep_readers)
        return await on_database(self.state.db, self._read_page, scope, site_id, query, status, offset, limit)

    def _read_page(self, scope, site_id: str, query: Query, status, offset: int, limit: int) -> bytes:
        self._authorize(scope, site_id)
        query.done()
        return page_body(orders.list_orders(self.state.db, site_id, status, offset, limit))

    def _authorize(self, scope, site_id: str) -> None:
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        check_caller(self.state, header.decode("latin-1"), scope, Scope.ECOMMERCE_READ, site_id, ecommerce=True)

