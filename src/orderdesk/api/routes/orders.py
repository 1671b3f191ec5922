"""The six Webflow order endpoints, and placing an order (our extension).

GET one order and a shallow page of orders are answered by the pipeline itself, from `order_answer` and
`list_answer` (api/pipeline.py): their handlers here give the routes their place in the framework's
routing and their allowed methods, and serve what the answers leave to them (deep pages)."""

from __future__ import annotations

from functools import partial

import anyio
from litestar import MediaType, Request, Response, get, patch, post
from litestar._parsers import parse_query_string
from litestar.datastructures import MultiDict
from litestar.params import FromPath, RawBody

from orderdesk.api.auth import authorize, caller_of, check
from orderdesk.api.pipeline import ANSWER, Later
from orderdesk.api.threads import in_thread, on_database, with_processor
from orderdesk.api.bodies import Query, decode
from orderdesk.api.idempotency import request_key
from orderdesk.domain.orders import OrderStatus
from orderdesk.domain.sites import Scope
from orderdesk.services import orders, placing, refunding
from orderdesk.wire import requests
from orderdesk.wire.orders import OrderDoc
from orderdesk.wire.placing import Draft

READ, WRITE = Scope.ECOMMERCE_READ, Scope.ECOMMERCE_WRITE
ORDERS = "/v2/sites/{site_id:str}/orders"
ORDER = ORDERS + "/{order_id:str}"
# A page this deep walks its index for milliseconds; SQLite lets go of the GIL meanwhile, so it goes to
# a thread and the event loop keeps serving others. Two such threads at a time (there are two cores, and
# each thread keeps a SQLite connection and its page cache); more deep pages wait their turn.
DEEP_OFFSET = 2000
DEEP_READERS = 2
_deep_readers: anyio.CapacityLimiter | None = None


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content=content, media_type=MediaType.JSON, status_code=status)


def list_answer(asgi_scope: dict, state, site_id: str) -> bytes | Later:
    """A page of orders, read on the spot; a deep one is read in one of the deep readers' threads."""
    check(caller_of(asgi_scope), READ, site_id, ecommerce=True)
    status, offset, limit = _page_of(Query(MultiDict(parse_query_string(asgi_scope.get("query_string", b"")))))
    read = partial(_page_body, state.db, site_id, status, offset, limit)
    return Later(read, _deep_limiter) if offset >= DEEP_OFFSET else read()


def _page_body(db, site_id: str, status: OrderStatus | None, offset: int, limit: int) -> bytes:
    return page_body(orders.list_orders(db, site_id, status, offset, limit))


def _deep_limiter() -> anyio.CapacityLimiter:
    global _deep_readers
    if _deep_readers is None:  # made on the event loop that uses it
        _deep_readers = anyio.CapacityLimiter(DEEP_READERS)
    return _deep_readers


@get(ORDERS, opt={ANSWER: list_answer})
async def list_orders(request: Request, site_id: FromPath[str]) -> Response:
    authorize(request, READ, site_id, ecommerce=True)
    status, offset, limit = _page_of(Query(request.query_params))
    db = request.app.state.db
    if offset < DEEP_OFFSET:
        return _json(await on_database(db, _page_body, db, site_id, status, offset, limit))
    return _json(await in_thread(_page_body, db, site_id, status, offset, limit, limiter=_deep_limiter()))


def _page_of(query: Query) -> tuple[OrderStatus | None, int, int]:
    status, offset, limit = page_query(query)
    query.done()
    return status, offset, limit


def page_query(query: Query) -> tuple[OrderStatus | None, int, int]:
    """A list's `status`, `offset` and `limit`; problems wait in `query` for its `done()`."""
    return query.choice("status", OrderStatus), query.integer("offset", 0, minimum=0), \
        query.integer("limit", orders.MAX_PAGE, minimum=1, maximum=orders.MAX_PAGE)


def page_body(page: orders.OrderPage) -> bytes:
    return (b'{"orders":[' + b",".join(page.documents)
            + b'],"pagination":{"limit":%d,"offset":%d,"total":%d}}' % (page.limit, page.offset, page.total))


def order_answer(asgi_scope: dict, state, site_id: str, order_id: str) -> bytes:
    """GET one order: its stored document, as it is."""
    check(caller_of(asgi_scope), READ, site_id, ecommerce=True)
    return orders.get_order(state.db, site_id, order_id)


@get(ORDER, opt={ANSWER: order_answer})
async def get_order(request: Request, site_id: FromPath[str], order_id: FromPath[str]) -> Response:
    state = request.app.state
    return _json(await on_database(state.db, order_answer, request.scope, state, site_id, order_id))


@patch(ORDER)
async def update_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _update_order, request, site_id, order_id, body)


def _update_order(request: Request, site_id: str, order_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    changes = decode(request, body, requests.UpdateOrder).changes()
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
    draft = Draft(decode(request, body, OrderDoc))
    return _json(placing.place_order(request.app.state.db, caller.site, draft, caller.token.id), status=201)


ROUTES = [list_orders, get_order, update_order, fulfill_order, unfulfill_order, refund_order, place_order]
