"""The Refunds resource (our extension, Digital River's shape, scoped by site)."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.params import FromPath, RawBody

from orderdesk.api.auth import authorize
from orderdesk.api.bodies import Query, decode
from orderdesk.api.idempotency import request_key
from orderdesk.api.threads import on_database, with_processor
from orderdesk.domain import clock
from orderdesk.domain.sites import Scope
from orderdesk.errors import FieldProblem, RefundNotFound, ValidationFailed
from orderdesk.services import refunds
from orderdesk.domain.refunds import RefundState
from orderdesk.store.repositories.refunds import RefundFilter
from orderdesk.wire import requests
from orderdesk.wire.refunds import RefundDoc, RefundListDoc, is_refund_id, parse_metadata, parse_new_refund, refund_doc

READ, WRITE = Scope.ECOMMERCE_READ, Scope.ECOMMERCE_WRITE
REFUNDS = "/v2/sites/{site_id:str}/refunds"
REFUND = REFUNDS + "/{refund_id:str}"
_TIME_BOUNDS = {"gt": 1, "gte": 0, "lt": -1, "lte": 0}


def _json(value: object, status: int = 200) -> Response:
    return Response(content=msgspec.json.encode(value), media_type=MediaType.JSON, status_code=status)


def _doc(view: refunds.RefundView) -> RefundDoc:
    return refund_doc(view.refund, view.items)


@post(REFUNDS)
async def create_refund(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    state = request.app.state
    return await with_processor(state.db, state.processors, site_id, _create_refund, request, site_id, body)


def _create_refund(request: Request, site_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE, site_id, ecommerce=True)
    new = parse_new_refund(decode(request, body, requests.NewRefund))
    state = request.app.state
    view = refunds.create_refund(state.db, state.processors, site_id, new, caller.token.id, request_key(request))
    return _json(_doc(view), status=201)


@get(REFUNDS)
async def list_refunds(request: Request, site_id: FromPath[str]) -> Response:
    return await on_database(request.app.state.db, _list_refunds, request, site_id)


def _list_refunds(request: Request, site_id: str) -> Response:
    authorize(request, READ, site_id, ecommerce=True)
    query = Query(request.query_params)
    limit = query.integer("limit", 10, minimum=1)
    if limit > 100:
        query.problems.append(FieldProblem("limit", "must be at most 100"))
    state = query.choice("state", RefundState)
    params = request.query_params
    after, before = params.get("startingAfter") or None, params.get("endingBefore") or None
    if after and before:
        query.problems.append(FieldProblem("endingBefore", "give startingAfter or endingBefore, not both"))
    ids = tuple(part for value in params.getall("ids", []) for part in value.split(",") if part)
    created_after, created_before = _created(params, query.problems)
    query.done()
    where = RefundFilter(
        states=(state.value,) if state else (), ids=ids, order_id=params.get("orderId") or None,
        sku_id=params.get("skuId") or None, reason=params.get("reason") or None,
        failure_reason=params.get("failureReason") or None, created_after=created_after,
        created_before=created_before,
    )
    page = refunds.list_refunds(request.app.state.db, site_id, refunds.RefundQuery(where, limit, after, before))
    return _json(RefundListDoc(page.has_more, [_doc(view) for view in page.refunds]))


def _created(params, problems: list[FieldProblem]) -> tuple[int | None, int | None]:
    """`createdTime[gt|gte|lt|lte]` as inclusive millisecond bounds."""
    low = high = None
    for bound, shift in _TIME_BOUNDS.items():
        name = f"createdTime[{bound}]"
        raw = params.get(name)
        if not raw:
            continue
        try:
            at = clock.to_millis(clock.from_wire(raw)) + shift
        except (ValueError, OverflowError):
            problems.append(FieldProblem(name, "must be an ISO 8601 timestamp"))
            continue
        if bound.startswith("g"):
            low = at if low is None else max(low, at)
        else:
            high = at if high is None else min(high, at)
    return low, high


@get(REFUND)
async def get_refund(request: Request, site_id: FromPath[str], refund_id: FromPath[str]) -> Response:
    return await on_database(request.app.state.db, _get_refund, request, site_id, refund_id)


def _get_refund(request: Request, site_id: str, refund_id: str) -> Response:
    authorize(request, READ, site_id, ecommerce=True)
    if not is_refund_id(refund_id):
        raise RefundNotFound()
    return _json(_doc(refunds.get_refund(request.app.state.db, site_id, refund_id)))


@post(REFUND)
async def update_refund(request: Request, site_id: FromPath[str], refund_id: FromPath[str], body: RawBody) -> Response:
    return await on_database(request.app.state.db, _update_refund, request, site_id, refund_id, body)


def _update_refund(request: Request, site_id: str, refund_id: str, body: bytes) -> Response:
    authorize(request, WRITE, site_id, ecommerce=True)
    problems: list[FieldProblem] = []
    changes = parse_metadata(decode(request, body, requests.UpdateRefund).metadata, problems)
    if problems:
        raise ValidationFailed(problems)
    if not is_refund_id(refund_id):
        raise RefundNotFound()
    return _json(_doc(refunds.update_metadata(request.app.state.db, site_id, refund_id, changes)))


ROUTES = [create_refund, list_refunds, get_refund, update_refund]
