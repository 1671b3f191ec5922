"""The six Webflow order endpoints, and placing an order (our extension).

The two reads are nearly always answered ahead of the framework, in `orderdesk.api.reads`; their
handlers here answer what that skips (a trailing slash) and give the routes their allowed methods."""

from __future__ import annotations

from litestar import MediaType, Request, Response, get, patch, post
from litestar.params import FromPath, RawBody

from orderdesk.api.auth import authorize
from orderdesk.api.threads import on_database, with_processor
from orderdesk.api.bodies import Query, decode
from orderdesk.api.routes.refunds import request_key
from orderdesk.domain.orders import OrderStatus
from orderdesk.domain.sites import Scope
from orderdesk.services import orders, placing, refunding
from orderdesk.wire import requests
from orderdesk.wire.orders import OrderDoc

READ, WRITE = Scope.ECOMMERCE_READ, Scope.ECOMMERCE_WRITE
ORDERS = "/v2/sites/{site_id:str}/orders"
ORDER = ORDERS + "/{order_id:str}"


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content=content, media_type=MediaType.JSON, status_code=status)


@get(ORDERS)
async def list_orders(request: Request, site_id: FromPath[str]) -> Response:
    return await on_database(request.app.state.db, _list_orders, request, site_id)


def _list_orders(request: Request, site_id: str) -> Response:
    authorize(request, READ, site_id, ecommerce=True)
    query = Query(request.query_params)
    status, offset, limit = page_query(query)
    query.done()
    return _json(page_body(orders.list_orders(request.app.state.db, site_id, status, offset, limit)))


def page_query(query: Query) -> tuple[OrderStatus | None, int, int]:
    """A list's `status`, `offset` and `limit`; problems wait in `query` for its `done()`."""
    return query.choice("status", OrderStatus), query.integer("offset", 0, minimum=0), \
        query.integer("limit", orders.MAX_PAGE, minimum=1, maximum=orders.MAX_PAGE)


def page_body(page: orders.OrderPage) -> bytes:
    return (b'{"orders":[' + b",".join(page.documents)
            + b'],"pagination":{"limit":%d,"offset":%d,"total":%d}}' % (page.limit, page.offset, page.total))


@get(ORDER)
async def get_order(request: Request, site_id: FromPath[str], order_id: FromPath[str]) -> Response:
    return await on_database(request.app.state.db, _get_order, request, site_id, order_id)


def _get_order(request: Request, site_id: str, order_id: str) -> Response:
    authorize(request, READ, site_id, ecommerce=True)
    return _json(orders.get_order(request.app.state.db, site_id, order_id))


@patch(ORDER)
async def update_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _update_order, request, site_id, order_id, body)


def _update_order(request: Request, site_id: str, order_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    changes = orders.parse_update(decode(request, body, requests.UpdateOrder))
    return _json(orders.update_order(request.app.state.db, site_id, order_id, changes, caller.token.id))


@post(ORDER + "/fulfill")
async def fulfill_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _fulfill_order, request, site_id, order_id, body)


def _fulfill_order(request: Request, site_id: str, order_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    send_email = decode(request, body, requests.FulfillOrder).send_order_fulfilled_email
    document, _ = orders.fulfill_order(request.app.state.db, site_id, order_id, caller.token.id, send_email)
    return _json(document)


@post(ORDER + "/unfulfill")
async def unfulfill_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _unfulfill_order, request, site_id, order_id, body)


def _unfulfill_order(request: Request, site_id: str, order_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    decode(request, body, requests.NoFields)
    return _json(orders.unfulfill_order(request.app.state.db, site_id, order_id, caller.token.id))


@post(ORDER + "/refund")
async def refund_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    state = request.app.state
    return await with_processor(state.db, state.processors, site_id, _refund_order, request, site_id, order_id, body)


def _refund_order(request: Request, site_id: str, order_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    reason = decode(request, body, requests.RefundOrder).reason
    state = request.app.state
    processor = state.processors.for_site(site_id)
    return _json(refunding.refund_order(state.db, processor, site_id, order_id, reason, caller.token.id,
                                        request_key(request)))


@post(ORDERS)
async def place_order(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _place_order, request, site_id, body)


def _place_order(request: Request, site_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    order = decode(request, body, OrderDoc)
    return _json(placing.place_order(request.app.state.db, caller.site, order, caller.token.id), status=201)


ROUTES = [list_orders, get_order, update_order, fulfill_order, unfulfill_order, refund_order, place_order]
